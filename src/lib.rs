//! `mltq`: a cycle-level simulator of bit-serial and sparse DNN accelerators running
//! multi-level ternary (MLTQ) and multi-level binary (MLB) networks.
//!
//! Data flows one way: a `.mltq` file (or a built-in network) → [`model::Network`] →
//! per layer and scheme, [`sim::LayerRun`] (cycles, work, counters) → [`report`].
//! See ARCHITECTURE.md for the module map.

// Lets code shared with the integration tests (src/sim/strategies.rs) say `mltq::`.
#[cfg(test)]
extern crate self as mltq;

pub mod arch;
pub mod budget;
pub mod cli;
pub mod cost;
pub mod encoding;
pub mod error;
pub mod files;
pub mod gen;
pub mod import;
pub mod inspect;
pub mod model;
pub mod output;
pub mod plot;
pub mod report;
pub mod run;
pub mod scheme;
pub mod sim;
pub mod sweep;
pub mod tensor;
pub mod zoo;

pub use error::{Error, ErrorKind, Result};
