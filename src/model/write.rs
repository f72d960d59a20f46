//! Writing a [`Network`] as a `.mltq` file.

use std::path::Path;

use super::Network;
use crate::error::Result;

/// Serialize a network to `.mltq` bytes.
pub fn to_bytes(net: &Network) -> Vec<u8> {
    let _ = net;
    todo!()
}

/// Write a network to `path` atomically.
pub fn save(net: &Network, path: &Path) -> Result<()> {
    crate::output::write_bytes(path, &to_bytes(net))
}
