//! Test support: generators of fixtures (see each module).

#[cfg(feature = "onnx")]
pub mod onnx_gen;
