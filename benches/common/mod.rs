//! Shared fixtures of the benchmarks: the issue's layer (3×3 conv, 64→64 channels,
//! 56×56 input, pad 1) with seeded synthetic operands, pe16's array, the schemes.

#![allow(dead_code)]

use std::collections::BTreeMap;

use mltq::arch::ArrayShape;
use mltq::encoding::EncSpec;
use mltq::gen;
use mltq::model::{Conv, Geometry, Layer};
use mltq::scheme::Scheme;
use mltq::tensor::Tensor;

/// pe16's array: 16 tiles × 16 rows × 16 columns × 16 lanes, no column registers.
pub fn pe16() -> ArrayShape {
    ArrayShape {
        tiles: 16,
        rows: 16,
        columns: 16,
        lanes: 16,
        column_registers: 0,
    }
}

/// A 3×3, pad 1, stride 1 conv of `c`→`f` channels on an `h`×`w` input.
pub fn conv3x3(c: usize, f: usize, h: usize, w: usize) -> Geometry {
    Geometry::Conv(Conv {
        c,
        h,
        w,
        f,
        kh: 3,
        kw: 3,
        sh: 1,
        sw: 1,
        ph: 1,
        pw: 1,
        groups: 1,
    })
}

/// The issue's layer: 64→64, 3×3, 56×56, pad 1.
pub fn issue_layer() -> Geometry {
    conv3x3(64, 64, 56, 56)
}

/// A layer with seeded synthetic weights (density 0.35, gen's default) and its input
/// activations (density 0.5: about half zeros).
pub fn layer(geom: Geometry, weights: EncSpec, acts: EncSpec) -> (Layer, Tensor) {
    let w = gen::synthetic_weights(&geom, weights, 0.35, 11).unwrap();
    let a = gen::synthetic_acts(&geom, acts, 0.5, 12).unwrap();
    (
        Layer {
            name: "l".into(),
            geom,
            weights: w,
            acts: BTreeMap::new(),
        },
        a,
    )
}

/// int8 weights and activations (the fixed-point presets).
pub fn int8_layer(geom: Geometry) -> (Layer, Tensor) {
    layer(geom, EncSpec::Int(8), EncSpec::Int(8))
}

/// ternary:2 weights and activations (mlb, mltq-word, mltq-bit).
pub fn ternary_layer(geom: Geometry) -> (Layer, Tensor) {
    layer(geom, EncSpec::Ternary(2), EncSpec::Ternary(2))
}

/// `pragmatic` with Pragmatic's two-stage shifter, first stage of 2^2 positions.
pub fn pragmatic_fs2() -> Scheme {
    Scheme {
        name: "pragmatic-fs2".into(),
        first_stage_bits: Some(2),
        ..Scheme::preset("pragmatic").unwrap()
    }
}

/// (scheme, int operands?) of every benchmarked scheme.
pub fn schemes() -> Vec<(Scheme, bool)> {
    let p = |n: &str| Scheme::preset(n).unwrap();
    vec![
        (p("dadiannao"), true),
        (p("stripes"), true),
        (p("cnvlutin"), true),
        (p("pragmatic"), true),
        (pragmatic_fs2(), true),
        (p("laconic"), true),
        (p("mlb"), false),
        (p("mltq-word"), false),
        (p("mltq-bit"), false),
    ]
}
