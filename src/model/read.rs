//! Decoding a `.mltq` file into a [`Network`].

use std::path::Path;

use super::Network;
use crate::error::Result;

/// Read a `.mltq` file.
pub fn load(path: &Path) -> Result<Network> {
    let _ = path;
    todo!()
}

/// Parse a whole `.mltq` file held in memory; `path` is only used in messages.
pub fn parse_bytes(bytes: &[u8], path: &str) -> Result<Network> {
    let _ = (bytes, path);
    todo!()
}
