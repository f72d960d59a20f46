//! Test support: generators of fixtures (see each module).

pub mod onnx_gen;
