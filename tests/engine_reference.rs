//! The fast engine against the slow, literal reference (src/sim/reference.rs) on
//! proptest-generated layers, arrays and schemes: every cycle count, work and busy
//! lane-cycle count must be equal.

use std::collections::BTreeMap;

use mltq::arch::ArrayShape;
use mltq::model::{Conv, Geometry, Layer};
use mltq::sim::{reference, simulate_layer};
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
