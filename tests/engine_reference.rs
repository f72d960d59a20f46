//! The fast engine against the slow, literal reference (src/sim/reference.rs) on
//! proptest-generated layers, arrays and schemes: every cycle count, work and busy
//! lane-cycle count must be equal.

use std::collections::BTreeMap;

use mltq::arch::ArrayShape;
use mltq::model::{Conv, Geometry, Layer};
use mltq::scheme::{Scheme, PRESETS};
use mltq::sim::{reference, simulate_layer, simulate_schemes};
use proptest::prelude::*;

#[path = "../src/sim/strategies.rs"]
mod strategies;
use strategies::{enc, scheme, tensor, Enc};

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

/// Layers as wide as real ones where the engine takes its vector paths: 8, 16 or 24
/// lanes, channels over several bricks (3×3 kernels past 64 steps, 1×1 past 64
/// chunks), passes of up to 40 filters (past the blocks of 8 and 16 filters that
/// word skipping counts at once), few windows so that the literal reference stays
/// quick.
fn wide_layer() -> impl Strategy<Value = (Geometry, ArrayShape)> {
    (
        prop_oneof![Just(8usize), Just(16), Just(24)],
        1usize..=140,
        1usize..=60,
        1usize..=5,
        prop_oneof![Just(1usize), Just(3)],
        1usize..=2,
        1usize..=3,
        prop_oneof![1usize..=3, Just(9), Just(17), Just(20)],
    )
        .prop_map(|(lanes, c, f, hw, k, s, columns, rows)| {
            let c = if k == 1 { c * 10 } else { c };
            (
                Geometry::Conv(Conv {
                    c,
                    h: hw.max(k),
                    w: hw.max(k),
                    f,
                    kh: k,
                    kw: k,
                    sh: s,
                    sw: s,
                    ph: k / 2,
                    pw: k / 2,
                    groups: 1,
                }),
                ArrayShape {
                    tiles: 2,
                    rows,
                    columns,
                    lanes,
                    column_registers: (columns + rows) % 2,
                },
            )
        })
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
        prop_assume!(s.check_array(&arr).is_ok());
        let layer = Layer { name: "l".into(), geom, weights, acts: BTreeMap::new() };
        let fast = simulate_layer(&layer, &acts, &s, &arr).unwrap();
        let slow = reference::simulate_layer(&layer, &acts, &s, &arr);
        prop_assert_eq!(fast, slow);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Every preset plus a drawn scheme, simulated together as an arch's schemes are
    /// (sharing the layer's operands), each against the reference.
    #[test]
    fn engine_equals_reference_on_wide_layers(
        (geom, arr) in wide_layer(), drawn in scheme(),
        we in enc(), ae in enc(), wd in 0.0f64..=1.0, ad in 0.0f64..=1.0, seed in any::<u64>(),
    ) {
        let ae = Enc { signed: false, ..ae };
        let weights = tensor(&geom.weight_shape(), we, wd, seed);
        let acts = tensor(&geom.act_shape(), ae, ad, seed.wrapping_mul(31).wrapping_add(7));
        let schemes: Vec<Scheme> = PRESETS
            .iter()
            .map(|p| Scheme::preset(p).expect("a preset"))
            .chain([drawn])
            .filter(|s| {
                s.validate().is_ok()
                    && s.check_layer("l", weights.encoding(), acts.encoding()).is_ok()
                    && s.check_array(&arr).is_ok()
            })
            .collect();
        let layer = Layer { name: "l".into(), geom, weights, acts: BTreeMap::new() };
        let fast = simulate_schemes(&layer, &acts, &schemes, &arr).unwrap();
        for (s, fast) in schemes.iter().zip(fast) {
            let slow = reference::simulate_layer(&layer, &acts, s, &arr);
            prop_assert_eq!(fast, slow, "scheme {:?}", s);
        }
    }
}

/// Layers and arrays for weight schedules: conv layers with strides, padding, groups
/// (depthwise too) and FC layers with several passes, on arrays of 2 to 16 lanes.
fn scheduled_problem() -> impl Strategy<Value = (Geometry, ArrayShape)> {
    let conv = (
        (1usize..=6, 1usize..=6, 1usize..=5, 1usize..=5),
        (
            1usize..=3,
            1usize..=3,
            1usize..=2,
            1usize..=2,
            0usize..=1,
            0usize..=1,
        ),
        (1usize..=3, any::<bool>()),
    )
        .prop_map(
            |((cg, fg, h, w), (kh, kw, sh, sw, ph, pw), (groups, depthwise))| {
                let (cg, fg, groups) = if depthwise {
                    (1, 1, groups + 2)
                } else {
                    (cg, fg, groups)
                };
                Geometry::Conv(Conv {
                    c: cg * groups,
                    h: h.max(kh),
                    w: w.max(kw),
                    f: fg * groups,
                    kh,
                    kw,
                    sh,
                    sw,
                    ph,
                    pw,
                    groups,
                })
            },
        );
    let fc = (1usize..=48, 1usize..=24).prop_map(|(c, f)| Geometry::Fc { c, f });
    // 16 lanes often: the engine has paths for 16-lane bricks.
    let lanes = prop_oneof![2usize..=16, Just(16)];
    let array = (1usize..=3, 1usize..=4, 1usize..=4, lanes, 0usize..=2).prop_map(
        |(tiles, rows, columns, lanes, column_registers)| ArrayShape {
            tiles,
            rows,
            columns,
            lanes,
            column_registers,
        },
    );
    (prop_oneof![3 => conv, 2 => fc], array)
}

/// Weights of `geom` drawn at density `wd`, then zero at every kernel offset of
/// `offsets` (bit kx·KH + ky) and every channel chunk of `chunks` (bit ⌊c/lanes⌋):
/// whole zero steps in every buffer set, and runs of them.
fn sparse_weights(
    geom: &Geometry,
    e: Enc,
    wd: f64,
    seed: u64,
    lanes: usize,
    (offsets, chunks): (u32, u32),
) -> mltq::tensor::Tensor {
    let t = tensor(&geom.weight_shape(), e, wd, seed);
    let (cg, kh, kw) = match *geom {
        Geometry::Conv(c) => (c.cg(), c.kh, c.kw),
        Geometry::Fc { c, .. } => (c, 1, 1),
    };
    strategies::zero_where(&t, |i| {
        let (kx, ky, c) = (i % kw, (i / kw) % kh, (i / (kh * kw)) % cg);
        offsets >> ((kx * kh + ky) % 32) & 1 == 1 || chunks >> ((c / lanes) % 32) & 1 == 1
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// A scheme with a weight schedule against the literal reference: schedule, calls,
    /// pairs, potentials and the schedule's counts.
    #[test]
    fn scheduled_engine_equals_reference(
        (geom, arr) in scheduled_problem(), s in strategies::scheduled_scheme(),
        we in enc(), ae in enc(), wd in prop_oneof![0.0f64..=1.0, Just(0.05), Just(0.9)],
        ad in 0.0f64..=1.0, seed in any::<u64>(), zeros in (any::<u32>(), any::<u32>()),
        whole in any::<bool>(),
    ) {
        prop_assume!(s.validate().is_ok() && s.check_array(&arr).is_ok());
        let ae = Enc { signed: false, ..ae };
        let zeros = if whole { zeros } else { (0, 0) };
        let weights = sparse_weights(&geom, we, wd, seed, arr.lanes, zeros);
        let acts = tensor(&geom.act_shape(), ae, ad, seed.wrapping_mul(31).wrapping_add(7));
        prop_assume!(s.check_layer("l", weights.encoding(), acts.encoding()).is_ok());
        let layer = Layer { name: "l".into(), geom, weights, acts: BTreeMap::new() };
        let fast = simulate_layer(&layer, &acts, &s, &arr).unwrap();
        let slow = reference::simulate_layer(&layer, &acts, &s, &arr);
        prop_assert!(fast.schedule.is_some());
        prop_assert_eq!(fast, slow);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Both Bit-Tactical presets, two drawn scheduled schemes and the presets without
    /// a schedule, simulated together (sharing one schedule per pattern), each against
    /// the reference.
    #[test]
    fn scheduled_schemes_together_equal_the_reference(
        (geom, arr) in scheduled_problem(),
        drawn in proptest::collection::vec(strategies::scheduled_scheme(), 2),
        we in enc(), ae in enc(), wd in 0.0f64..=1.0, ad in 0.0f64..=1.0, seed in any::<u64>(),
        zeros in (any::<u32>(), any::<u32>()),
    ) {
        let arr = ArrayShape { lanes: arr.lanes.max(4), ..arr };
        let ae = Enc { signed: false, ..ae };
        let weights = sparse_weights(&geom, we, wd, seed, arr.lanes, zeros);
        let acts = tensor(&geom.act_shape(), ae, ad, seed.wrapping_mul(31).wrapping_add(7));
        let schemes: Vec<Scheme> = PRESETS
            .iter()
            .map(|p| Scheme::preset(p).expect("a preset"))
            .chain(drawn)
            .filter(|s| {
                s.validate().is_ok()
                    && s.check_layer("l", weights.encoding(), acts.encoding()).is_ok()
                    && s.check_array(&arr).is_ok()
            })
            .collect();
        let layer = Layer { name: "l".into(), geom, weights, acts: BTreeMap::new() };
        let fast = simulate_schemes(&layer, &acts, &schemes, &arr).unwrap();
        for (s, fast) in schemes.iter().zip(fast) {
            let slow = reference::simulate_layer(&layer, &acts, s, &arr);
            prop_assert_eq!(fast, slow, "scheme {:?}", s);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// PEs of more than 64 lanes (lane masks of several words): FC layers and 1×1
    /// convs over a few bricks.
    #[test]
    fn scheduled_engine_equals_reference_past_64_lanes(
        lanes in 65usize..=130, c in 1usize..=300, f in 1usize..=5, conv in any::<bool>(),
        s in strategies::scheduled_scheme(), we in enc(), ae in enc(),
        wd in 0.0f64..=1.0, ad in 0.0f64..=1.0, seed in any::<u64>(), tiles in 1usize..=2,
    ) {
        let geom = if conv {
            Geometry::Conv(Conv { c, h: 2, w: 1, f, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0, groups: 1 })
        } else {
            Geometry::Fc { c, f }
        };
        let arr = ArrayShape { tiles, rows: 2, columns: 2, lanes, column_registers: 0 };
        prop_assume!(s.validate().is_ok() && s.check_array(&arr).is_ok());
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// A run of zero lines longer than h: the weights of channel chunks `start` to
    /// `start + n − 1` (n from h + 1 to 3h + 2) are zero in every filter, the others
    /// drawn, in an FC layer (several passes) or a 1×1 conv; the engine against the
    /// reference.
    #[test]
    fn runs_of_zero_lines_longer_than_h_equal_the_reference(
        s in strategies::scheduled_scheme(), steps in 4usize..=20, f in 1usize..=12,
        (tiles, rows, columns, lanes) in (1usize..=3, 1usize..=4, 1usize..=4, 2usize..=16),
        extra in 0usize..=1, start in 0usize..20, more in 1usize..=20, conv in any::<bool>(),
        we in enc(), ae in enc(), wd in 0.3f64..=1.0, ad in 0.0f64..=1.0, seed in any::<u64>(),
    ) {
        let arr = ArrayShape { tiles, rows, columns, lanes, column_registers: extra };
        prop_assume!(s.validate().is_ok() && s.check_array(&arr).is_ok());
        let h = s.weight_schedule.unwrap().lookahead as usize;
        let n = h + 1 + (more - 1) % (2 * h + 2);
        let start = start % steps;
        let c = lanes * steps;
        let geom = if conv {
            Geometry::Conv(Conv { c, h: 2, w: 2, f, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0, groups: 1 })
        } else {
            Geometry::Fc { c, f }
        };
        let ae = Enc { signed: false, ..ae };
        let t = tensor(&geom.weight_shape(), we, wd, seed);
        let weights = strategies::zero_where(&t, |i| {
            let k = (i % c) / lanes;
            k >= start && k < start + n
        });
        let acts = tensor(&geom.act_shape(), ae, ad, seed.wrapping_mul(31).wrapping_add(7));
        prop_assume!(s.check_layer("l", weights.encoding(), acts.encoding()).is_ok());
        let layer = Layer { name: "l".into(), geom, weights, acts: BTreeMap::new() };
        let fast = simulate_layer(&layer, &acts, &s, &arr).unwrap();
        let slow = reference::simulate_layer(&layer, &acts, &s, &arr);
        prop_assert_eq!(fast, slow);
    }
}
