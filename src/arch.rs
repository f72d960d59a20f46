//! Architecture files (`arch/*.toml`, docs/arch-files.md): `RawArch` as parsed by serde,
//! validated once into an [`Arch`] the engine trusts.

use std::path::Path;

use crate::error::Result;
use crate::scheme::Scheme;

/// The PE array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ArrayShape {
    /// Tiles (filter sets dealt across them).
    pub tiles: usize,
    /// PE rows per tile (one filter each).
    pub rows: usize,
    /// PE columns (one window each).
    pub columns: usize,
    /// Multipliers per PE (channels per brick).
    pub lanes: usize,
    /// How many sync units a column may run ahead of the slowest (0: lock-step).
    pub column_registers: usize,
}

impl ArrayShape {
    /// Total lanes of the array.
    pub fn total_lanes(&self) -> u64 {
        (self.tiles * self.rows * self.columns * self.lanes) as u64
    }
}

/// A validated architecture: array plus the schemes to compare on it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Arch {
    /// `name`.
    pub name: String,
    /// `clock_ghz` (default 1.0).
    pub clock_ghz: f64,
    /// The array.
    pub array: ArrayShape,
    /// Schemes in the order of `schemes`.
    pub schemes: Vec<Scheme>,
    /// Index of the baseline in `schemes`.
    pub baseline: usize,
}

impl Arch {
    /// Read and validate an arch file.
    pub fn load(path: &Path) -> Result<Arch> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::error::Error::read(path, e))?;
        Arch::parse(&text, &path.display().to_string())
    }

    /// Parse and validate arch TOML; `path` is only used in messages.
    pub fn parse(text: &str, path: &str) -> Result<Arch> {
        let _ = (text, path);
        todo!("arch parsing")
    }

    /// The baseline scheme.
    pub fn baseline_scheme(&self) -> &Scheme {
        &self.schemes[self.baseline]
    }
}
