//! The fast engine against the slow, literal reference (src/sim/reference.rs) on
//! proptest-generated layers, arrays and schemes: every cycle count, work and busy
//! lane-cycle count must be equal.

use std::collections::BTreeMap;

use mltq::arch::ArrayShape;
use mltq::encoding::{ScaleMode, TermEncoding};
use mltq::model::{Conv, Geometry, Layer};
use mltq::scheme::{Scheme, Serial, Skip, SyncMode, PRESETS};
use mltq::sim::{reference, simulate_layer};
use mltq::tensor::Tensor;
use proptest::prelude::*;

/// An encoding to draw: 0 ternary, 1 binary, 2 int.
#[derive(Clone, Copy, Debug)]
struct Enc {
    kind: u8,
    levels: u8,
    signed: bool,
}

fn enc() -> impl Strategy<Value = Enc> {
    (0u8..3, 1u8..=3, any::<bool>()).prop_map(|(kind, levels, signed)| Enc {
        kind,
        levels,
        signed,
    })
}

/// A tensor of `shape` with values drawn from `seed`, with about `density` nonzero words.
fn tensor(shape: &[usize], e: Enc, density: f64, seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let keep = |x: u64| ((x >> 11) as f64 / (1u64 << 53) as f64) < density;
    match e.kind {
        0 | 1 => {
            let l = e.levels as usize;
            let binary = e.kind == 1;
            let mut d = Vec::with_capacity(n * l);
            for _ in 0..n {
                let nz = keep(next());
                for _ in 0..l {
                    let r = next();
                    d.push(match (binary, nz, r % 3) {
                        (true, _, 0) => -1,
                        (true, _, _) => 1,
                        (false, false, _) => 0,
                        (false, true, 0) => 0,
                        (false, true, 1) => 1,
                        (false, true, _) => -1,
                    });
                }
            }
            Tensor::from_digits(shape, binary, e.levels, ScaleMode::Tensor, &d, vec![1.0; l])
                .unwrap()
        }
        _ => {
            let bits = 4 + 4 * (e.levels % 2);
            let prec = bits - (e.levels / 2);
            let v: Vec<i32> = (0..n)
                .map(|_| {
                    let r = next();
                    if !keep(r) {
                        return 0;
                    }
                    let m = (next() % (1 << (bits - 1))) as i32;
                    if e.signed && r % 2 == 0 {
                        -m
                    } else {
                        m
                    }
                })
                .collect();
            Tensor::int(shape, bits, e.signed, prec, None, v).unwrap()
        }
    }
}

fn geometry() -> impl Strategy<Value = Geometry> {
    let conv = (
        1usize..=4,
        1usize..=4,
        1usize..=7,
        1usize..=7,
        1usize..=3,
        1usize..=3,
        1usize..=2,
        1usize..=2,
        0usize..=2,
        0usize..=1,
        1usize..=3,
    )
        .prop_map(|(cg, fg, h, w, kh, kw, sh, sw, ph, pw, groups)| {
            let (cg, fg) = (cg * (1 + (kh % 2) * 2), fg + kw);
            let h = h.max(kh.saturating_sub(2 * ph));
            let w = w.max(kw.saturating_sub(2 * pw));
            Geometry::Conv(Conv {
                c: cg * groups,
                h,
                w,
                f: fg * groups,
                kh,
                kw,
                sh,
                sw,
                ph,
                pw,
                groups,
            })
        });
    let fc = (1usize..=40, 1usize..=14).prop_map(|(c, f)| Geometry::Fc { c, f });
    prop_oneof![3 => conv, 1 => fc]
}

fn array() -> impl Strategy<Value = ArrayShape> {
    (1usize..=3, 1usize..=3, 1usize..=4, 1usize..=9, 0usize..=3).prop_map(
        |(tiles, rows, columns, lanes, column_registers)| ArrayShape {
            tiles,
            rows,
            columns,
            lanes,
            column_registers,
        },
    )
}

fn scheme() -> impl Strategy<Value = Scheme> {
    let preset = (0..PRESETS.len()).prop_map(|i| Scheme::preset(PRESETS[i]).unwrap());
    let custom = (
        0u8..4,
        0u8..3,
        0u8..3,
        any::<bool>(),
        0u32..=1,
        0u8..3,
        prop::option::of(0u32..=3),
        prop::option::of(1u32..=5),
        prop::option::of(1u32..=5),
    )
        .prop_map(|(serial, sa, sw, window, min_cycles, te, fsb, pa, pw)| {
            let skip = |k| [Skip::None, Skip::Word, Skip::Term][k as usize];
            Scheme {
                serial: [Serial::None, Serial::Act, Serial::Weight, Serial::Both][serial as usize],
                skip_act: skip(sa),
                skip_weight: skip(sw),
                sync: if window {
                    SyncMode::Window
                } else {
                    SyncMode::Step
                },
                min_cycles,
                term_encoding: [TermEncoding::Plain, TermEncoding::Booth, TermEncoding::Naf]
                    [te as usize],
                first_stage_bits: fsb,
                planes_act: pa,
                planes_weight: pw,
                ..Scheme::custom("custom")
            }
        });
    prop_oneof![preset, custom]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn engine_equals_reference(
        geom in geometry(), arr in array(), s in scheme(),
        we in enc(), ae in enc(), wd in 0.0f64..=1.0, ad in 0.0f64..=1.0, seed in any::<u64>(),
    ) {
        // Schemes that cannot apply (term skipping of a parallel operand, first stage
        // on a non-int operand, …) are refused before simulation: skip those draws.
        prop_assume!(s.validate().is_ok());
        let ae = Enc { signed: false, ..ae };
        let weights = tensor(&geom.weight_shape(), we, wd, seed);
        let acts = tensor(&geom.act_shape(), ae, ad, seed.wrapping_mul(31).wrapping_add(7));
        prop_assume!(s.check_layer("l", weights.encoding(), acts.encoding()).is_ok());
        let layer = Layer { name: "l".into(), geom, weights, acts: BTreeMap::new() };
        let fast = simulate_layer(&layer, &acts, &s, &arr).unwrap();
        let slow = reference::simulate_layer(&layer, &acts, &s, &arr);
        prop_assert_eq!(fast, slow);
    }
}
