//! Proptest strategies shared by the engine's two equality suites: `sim::fast_paths`
//! (unit tests: every sync unit against the direct loops) and tests/engine_reference.rs
//! (whole layers against the literal reference), which includes this file by path.
//! Written against `mltq::` paths (lib.rs names the crate `mltq` for itself too), so it
//! compiles in both.

use mltq::encoding::{Encoding, ScaleMode, TermEncoding};
use mltq::scheme::{PatternShape, Scheme, Serial, Skip, SyncMode, WeightSchedule, PRESETS};
use mltq::tensor::Tensor;
use proptest::prelude::*;

/// An encoding to draw.
#[derive(Clone, Copy, Debug)]
pub struct Enc {
    /// 0 ternary, 1 binary, 2 int.
    pub kind: u8,
    /// Levels of a ternary or binary tensor (1..=3).
    pub levels: u8,
    /// Bits of an int tensor (2..=8); its precision is `bits − levels / 2`.
    pub bits: u8,
    /// Signed ints (only weights may be).
    pub signed: bool,
}

// The unit tests draw the kinds themselves, with one `levels` and `bits` for both.
#[allow(dead_code)]
pub fn enc() -> impl Strategy<Value = Enc> {
    (0u8..3, 1u8..=3, 2u8..=8, any::<bool>()).prop_map(|(kind, levels, bits, signed)| Enc {
        kind,
        levels,
        bits,
        signed,
    })
}

/// A tensor of `shape` with values drawn from `seed`, with about `density` nonzero
/// words; a nonzero ternary word still has zero digits now and then (so word and term
/// skipping differ).
pub fn tensor(shape: &[usize], e: Enc, density: f64, seed: u64) -> Tensor {
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
            let bits = e.bits;
            let precision = bits.saturating_sub(e.levels / 2).max(1);
            let magnitude = 1u64 << (bits - e.signed as u8);
            let v: Vec<i32> = (0..n)
                .map(|_| {
                    let r = next();
                    if !keep(r) {
                        return 0;
                    }
                    let m = (next() % magnitude) as i32;
                    if e.signed && r % 2 == 0 {
                        -m
                    } else {
                        m
                    }
                })
                .collect();
            Tensor::int(shape, bits, e.signed, precision, None, v).unwrap()
        }
    }
}

/// A weight schedule: either shape, lookahead 1..=3, lookaside 1..=6 (some too wide for
/// small arrays: callers skip what `Scheme::check_array` refuses).
pub fn weight_schedule() -> impl Strategy<Value = WeightSchedule> {
    (any::<bool>(), 1u32..=3, 1u32..=6).prop_map(|(t, h, d)| WeightSchedule {
        shape: if t { PatternShape::T } else { PatternShape::L },
        lookahead: h,
        lookaside: d,
    })
}

/// `t` with the elements where `zero(i)` set to 0 (binary tensors have no zero: they
/// come back as they are).
#[allow(dead_code)]
pub fn zero_where(t: &Tensor, zero: impl Fn(usize) -> bool) -> Tensor {
    match *t.encoding() {
        Encoding::Ternary { levels, scale } => {
            let l = levels as usize;
            let d: Vec<i8> = (0..t.len())
                .flat_map(|i| (0..l).map(move |p| (i, p)))
                .map(|(i, p)| if zero(i) { 0 } else { t.digit(i, p) })
                .collect();
            Tensor::from_digits(t.shape(), false, levels, scale, &d, t.scales().to_vec()).unwrap()
        }
        Encoding::Binary { .. } => t.clone(),
        Encoding::Int {
            bits,
            signed,
            precision,
            scale,
        } => {
            let v = (0..t.len())
                .map(|i| if zero(i) { 0 } else { t.int_value(i).unwrap() })
                .collect();
            Tensor::int(t.shape(), bits, signed, precision, scale, v).unwrap()
        }
    }
}

/// A preset, or a custom scheme with any combination of the keys (some invalid: callers
/// skip what `Scheme::validate`, `Scheme::check_layer` and `Scheme::check_array`
/// refuse).
pub fn scheme() -> impl Strategy<Value = Scheme> {
    let preset = (0..PRESETS.len()).prop_map(|i| Scheme::preset(PRESETS[i]).unwrap());
    let custom = (
        (0u8..4, 0u8..3, 0u8..3, any::<bool>()),
        (0u32..=1, 0u8..3, prop::option::of(0u32..=3)),
        (prop::option::of(1u32..=5), prop::option::of(1u32..=5)),
        prop::option::weighted(0.3, weight_schedule()),
    )
        .prop_map(
            |((serial, sa, sw, window), (min_cycles, te, fsb), (pa, pw), ws)| {
                let skip = |k| [Skip::None, Skip::Word, Skip::Term][k as usize];
                Scheme {
                    serial: [Serial::None, Serial::Act, Serial::Weight, Serial::Both]
                        [serial as usize],
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
                    weight_schedule: ws,
                    ..Scheme::custom("custom")
                }
            },
        );
    prop_oneof![preset, custom]
}

/// A step-synchronous scheme with a weight schedule: a preset with one drawn, or any
/// drawn scheme made step-synchronous (some invalid, as for [`scheme`]).
#[allow(dead_code)]
pub fn scheduled_scheme() -> impl Strategy<Value = Scheme> {
    (scheme(), weight_schedule()).prop_map(|(s, ws)| Scheme {
        sync: SyncMode::Step,
        weight_schedule: Some(ws),
        ..s
    })
}
