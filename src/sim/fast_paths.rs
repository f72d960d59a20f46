//! The engine's fast paths against the direct loops they replace, sync unit by sync
//! unit. For generated conv layers, arrays and schemes, every unit's per-column costs
//! from the engine's paths (per-brick step costs, pass maxima on terms, first-stage
//! round caches, integral-image lane sums, pruned maxima over nonzero-step bitsets,
//! constant operands factored out) equal the direct computation: per column, the max
//! over the pass's filters of the PE cost summed or maxed over every step and lane,
//! from plain factor layouts. And the lockstep shortcuts (R = 0) equal the sum of the
//! units' maxima. Geometries include strides above the kernel, padding above
//! kernel − 1, groups, one-window layers, tiny and wide arrays (more than 16 columns),
//! 16 lanes, more than 64 steps (bitsets of several words) and more than 64 chunks.

use proptest::prelude::*;

use super::columns::Units;
use super::conv::run;
use super::first_stage::rounds;
use super::group::Group;
use super::operand::{act_layout, lut, weight_layout, Bricks, TermKey};
use super::strategies::{scheme, tensor, Enc};
use super::window::Shared;
use super::{Family, Operands};
use crate::arch::ArrayShape;
use crate::model::Conv;
use crate::scheme::{Operand, Scheme};
use crate::tensor::{Tensor, Values};

/// Records every unit.
struct Recorder(Vec<Vec<u32>>);

impl Units for Recorder {
    fn lockstep(&self) -> bool {
        false
    }
    fn add_lockstep(&mut self, _: u64) {
        unreachable!("not lockstep")
    }
    fn unit(&mut self, cost: &[u32]) {
        self.0.push(cost.to_vec());
    }
}

/// Takes the lockstep shortcuts; sums the maxima of any unit it still gets.
struct Lockstep(u64);

impl Units for Lockstep {
    fn lockstep(&self) -> bool {
        true
    }
    fn add_lockstep(&mut self, cycles: u64) {
        self.0 += cycles;
    }
    fn unit(&mut self, cost: &[u32]) {
        self.0 += cost.iter().copied().max().unwrap_or(0) as u64;
    }
}

/// The units of one group, directly: every filter of the pass, every step, every lane.
fn direct_units(
    b: &Bricks,
    g: usize,
    fg: usize,
    w: &Tensor,
    a: &Tensor,
    s: &Scheme,
    arr: &ArrayShape,
) -> Vec<Vec<u32>> {
    let f0 = g * fg;
    let wr = super::operand::Rule::new(s, Operand::Weight, w.encoding());
    let ar = super::operand::Rule::new(s, Operand::Act, a.encoding());
    let (lw, la) = (lut(&wr), lut(&ar));
    let wt = TermKey::of(w, s, Operand::Weight).terms(w);
    let at = TermKey::of(a, s, Operand::Act).terms(a);
    let a_cf = act_layout(b, g, la[0], |i| la[at[i] as usize]);
    let w_cf = weight_layout(b, f0, fg, lw[0], |i| lw[wt[i] as usize]);
    let mask = |t: &Tensor, i: usize| match t.values() {
        Values::Int(v) => s.term_encoding.term_mask(v[i].unsigned_abs()),
        _ => 0,
    };
    let a_mask = act_layout(b, g, 0u64, |i| mask(a, i));
    let w_mask = weight_layout(b, f0, fg, 0u64, |i| mask(w, i));
    let (steps, ln) = (b.steps, b.lanes);
    let pad = vec![la[0]; ln];
    let brick = |n: usize, t: usize| -> (&[u8], Option<usize>) {
        match b.act_offset(n, t) {
            Some(o) => (&a_cf[o..o + ln], Some(o)),
            None => (&pad[..], None),
        }
    };
    let wb = |f: usize, t: usize| &w_cf[(f * steps + t) * ln..][..ln];
    let per_pass = arr.tiles * arr.rows;
    let passes = fg.div_ceil(arr.rows).div_ceil(arr.tiles);
    let sets = b.windows().div_ceil(arr.columns);
    let window = |set: usize, c: usize| {
        let n = set * arr.columns + c;
        (n < b.windows()).then_some(n)
    };
    let mut units = vec![];
    for set in 0..sets {
        for p in 0..passes {
            let filters = p * per_pass..((p + 1) * per_pass).min(fg);
            let pe = |n: usize, t: usize, f: usize| -> u32 {
                let (a, off) = brick(n, t);
                match Family::of(s) {
                    Family::FirstStage { serial, bits } => {
                        let mut pending: Vec<u64> = (0..ln)
                            .map(|l| match serial {
                                Operand::Act => match off {
                                    Some(o) if wb(f, t)[l] != 0 => a_mask[o + l],
                                    _ => 0,
                                },
                                Operand::Weight if a[l] != 0 => w_mask[(f * steps + t) * ln + l],
                                Operand::Weight => 0,
                            })
                            .collect();
                        rounds(&mut pending, bits)
                    }
                    _ => (0..ln)
                        .map(|l| a[l] as u32 * wb(f, t)[l] as u32)
                        .max()
                        .unwrap_or(0),
                }
            };
            if Family::of(s) == Family::Window {
                units.push(
                    (0..arr.columns)
                        .map(|c| match window(set, c) {
                            None => 0,
                            Some(n) => filters
                                .clone()
                                .map(|f| {
                                    (0..ln)
                                        .map(|l| {
                                            (0..steps)
                                                .map(|t| {
                                                    brick(n, t).0[l] as u32 * wb(f, t)[l] as u32
                                                })
                                                .sum::<u32>()
                                        })
                                        .max()
                                        .unwrap_or(0)
                                })
                                .max()
                                .unwrap_or(0)
                                .max(s.min_cycles),
                        })
                        .collect(),
                );
                continue;
            }
            for t in 0..steps {
                units.push(
                    (0..arr.columns)
                        .map(|c| match window(set, c) {
                            None => 0,
                            Some(n) => filters
                                .clone()
                                .map(|f| pe(n, t, f))
                                .max()
                                .unwrap_or(0)
                                .max(s.min_cycles),
                        })
                        .collect(),
                );
            }
        }
    }
    units
}

fn conv() -> impl Strategy<Value = Conv> {
    (
        (1usize..=30, 1usize..=3, 1usize..=5),
        (1usize..=9, 1usize..=9, 1usize..=4, 1usize..=4),
        (1usize..=4, 1usize..=4, 0usize..=4, 0usize..=4),
    )
        .prop_filter_map(
            "valid geometry",
            |((cg, groups, fg), (h, w, kh, kw), (sh, sw, ph, pw))| {
                let c = Conv {
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
                };
                c.validate().is_ok().then_some(c)
            },
        )
}

fn array() -> impl Strategy<Value = ArrayShape> {
    (1usize..=3, 1usize..=4, 1usize..=20, 1usize..=17).prop_map(|(tiles, rows, columns, lanes)| {
        ArrayShape {
            tiles,
            rows,
            columns,
            lanes,
            column_registers: 0,
        }
    })
}

proptest! {
    // Cheap cases (well under a second for all): many, so that rare scheme corners
    // (first stage with min_cycles = 0 on padding, …) are drawn.
    #![proptest_config(ProptestConfig {
        cases: 3000,
        max_global_rejects: 100_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_unit_equals_the_direct_loops(
        c in conv(), arr in array(), s in scheme(),
        (wk, ak, levels, bits) in (0u8..3, 0u8..3, 1u8..=3, 2u8..=8),
        (wd, ad, seed) in (0.0f64..=1.0, 0.0f64..=1.0, any::<u64>()),
    ) {
        check_every_unit(c, arr, s, (wk, ak, levels, bits), (wd, ad, seed))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    /// More than 64 chunks (one or two lanes, many channels): a window's chunk flags
    /// then span several words, shifted into its steps across word boundaries.
    #[test]
    fn more_than_64_chunks_equal_the_direct_loops(
        (cg, h, w, k, lanes) in (60usize..=140, 1usize..=4, 1usize..=4, 1usize..=3, 1usize..=2),
        (tiles, rows, columns) in (1usize..=2, 1usize..=3, 1usize..=5),
        s in prop_oneof![Just(Scheme::preset("mltq-word").unwrap()), scheme()],
        (wd, ad, seed) in (0.0f64..=1.0, 0.0f64..=1.0, any::<u64>()),
    ) {
        let c = Conv { c: cg, h, w, f: 3, kh: k, kw: k, sh: 1, sw: 1, ph: 1, pw: 0, groups: 1 };
        prop_assume!(c.validate().is_ok());
        let arr = ArrayShape { tiles, rows, columns, lanes, column_registers: 0 };
        check_every_unit(c, arr, s, (0, 0, 2, 4), (wd, ad, seed))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 60, ..ProptestConfig::default() })]

    /// Kernels of more than 64 positions: a channel's run of weight bits then spans
    /// words in the bitsets of word skipping.
    #[test]
    fn kernels_past_64_positions_equal_the_direct_loops(
        (cg, kh, kw, extra, lanes) in (1usize..=5, 7usize..=11, 8usize..=11, 0usize..=2, 1usize..=4),
        (tiles, rows, columns) in (1usize..=2, 1usize..=3, 1usize..=5),
        s in prop_oneof![Just(Scheme::preset("mltq-word").unwrap()), scheme()],
        (wd, ad, seed) in (0.0f64..=1.0, 0.0f64..=1.0, any::<u64>()),
    ) {
        let c = Conv {
            c: cg, h: kh + extra, w: kw, f: 3, kh, kw, sh: 1, sw: 1, ph: 1, pw: 0, groups: 1,
        };
        prop_assume!(c.validate().is_ok());
        let arr = ArrayShape { tiles, rows, columns, lanes, column_registers: 0 };
        check_every_unit(c, arr, s, (0, 0, 2, 4), (wd, ad, seed))?;
    }
}

/// Every unit of the engine's path for `s` (recorded, and summed by the lockstep
/// shortcuts) against the direct loops.
fn check_every_unit(
    c: Conv,
    arr: ArrayShape,
    s: Scheme,
    (wk, ak, levels, bits): (u8, u8, u8, u8),
    (wd, ad, seed): (f64, f64, u64),
) -> Result<(), TestCaseError> {
    // Scheduled schemes have their own driver (sim::schedule), checked against the
    // reference in tests/engine_reference.rs.
    prop_assume!(s.validate().is_ok() && s.weight_schedule.is_none());
    let geom = crate::model::Geometry::Conv(c);
    let e = |kind| Enc {
        kind,
        levels,
        bits,
        signed: false,
    };
    let w = tensor(&geom.weight_shape(), e(wk), wd, seed);
    let a = tensor(&geom.act_shape(), e(ak), ad, seed ^ 0x9e37);
    prop_assume!(s.check_layer("l", w.encoding(), a.encoding()).is_ok());
    let ops = Operands::new(&w, &a, std::slice::from_ref(&s));
    let b = Bricks::conv(&c, arr.lanes);
    let fg = c.fg();
    let (mut fast, mut direct, mut lockstep) = (vec![], vec![], Lockstep(0));
    let (mut shared, mut shared_lockstep) = (vec![], Lockstep(0));
    for g in 0..c.groups {
        let grp = Group::new(&b, g, g * fg, fg, &ops, &arr);
        let win = Shared::new(&ops);
        let mut rec = Recorder(vec![]);
        run(&grp, &win, &ops.schemes[0], &mut rec);
        fast.extend(rec.0);
        run(&grp, &win, &ops.schemes[0], &mut lockstep);
        direct.extend(direct_units(&b, g, fg, &w, &a, &s, &arr));
        // Again with what word skipping shares built first (as another scheme of the
        // layer would have): the nonzero-chunk bitsets.
        let grp = Group::new(&b, g, g * fg, fg, &ops, &arr);
        let win = Shared::new(&ops);
        win.act_flags(&grp, ops.schemes[0].a);
        let mut rec = Recorder(vec![]);
        run(&grp, &win, &ops.schemes[0], &mut rec);
        shared.extend(rec.0);
        run(&grp, &win, &ops.schemes[0], &mut shared_lockstep);
    }
    let sum: u64 = direct.iter().map(|u| *u.iter().max().unwrap() as u64).sum();
    prop_assert_eq!(&fast, &direct);
    prop_assert_eq!(lockstep.0, sum);
    prop_assert_eq!(&shared, &direct);
    prop_assert_eq!(shared_lockstep.0, sum);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// A layer's schemes share terms, layouts and statistics, and equal views are
    /// simulated once: the results are those of each scheme alone.
    #[test]
    fn simulating_schemes_together_equals_each_alone(
        c in conv(), arr in array(), regs in 0usize..3,
        mut schemes in prop::collection::vec(scheme(), 1..8),
        (wk, ak, levels, bits) in (0u8..3, 0u8..3, 1u8..=3, 2u8..=8),
        (wd, ad, seed) in (0.0f64..=1.0, 0.0f64..=1.0, any::<u64>()),
    ) {
        let geom = crate::model::Geometry::Conv(c);
        let e = |kind| Enc { kind, levels, bits, signed: false };
        let w = tensor(&geom.weight_shape(), e(wk), wd, seed);
        let a = tensor(&geom.act_shape(), e(ak), ad, seed ^ 0x9e37);
        schemes.retain(|s| {
            s.validate().is_ok()
                && s.check_layer("l", w.encoding(), a.encoding()).is_ok()
                && s.check_array(&arr).is_ok()
        });
        // Duplicates, as arch files may hold under different names.
        if let Some(s) = schemes.first().cloned() {
            schemes.push(Scheme { name: "again".into(), ..s });
        }
        let arr = ArrayShape { column_registers: regs, ..arr };
        let layer = crate::model::Layer {
            name: "l".into(),
            geom,
            weights: w,
            acts: Default::default(),
        };
        let together = super::simulate_schemes(&layer, &a, &schemes, &arr).unwrap();
        let alone: Vec<_> = schemes
            .iter()
            .map(|s| super::simulate_layer(&layer, &a, s, &arr).unwrap())
            .collect();
        prop_assert_eq!(together, alone);
    }
}
