//! Where the lane-cycles go (src/sim/gap.rs): the parts add up to cycles × lanes
//! exactly, the literal reference (src/sim/reference.rs) and the fast path agree on
//! every part, and hand-derived layers give each cause its hand-computed value.

use std::collections::BTreeMap;

use mltq::arch::ArrayShape;
use mltq::model::{Conv, Geometry, Layer};
use mltq::scheme::{PatternShape, Scheme, WeightSchedule, PRESETS};
use mltq::sim::gap::Gap;
use mltq::sim::{reference, simulate_schemes_with, Options};
use proptest::prelude::*;

#[path = "../src/sim/strategies.rs"]
mod strategies;
use strategies::{enc, scheme, tensor, Enc};

fn geometry() -> impl Strategy<Value = Geometry> {
    let conv = (
        1usize..=6,
        1usize..=5,
        1usize..=6,
        1usize..=6,
        1usize..=3,
        1usize..=3,
        1usize..=2,
        0usize..=1,
        1usize..=3,
    )
        .prop_map(|(cg, fg, h, w, kh, kw, s, p, groups)| {
            let h = h.max(kh.saturating_sub(2 * p));
            let w = w.max(kw.saturating_sub(2 * p));
            Geometry::Conv(Conv {
                c: cg * groups,
                h,
                w,
                f: fg * groups,
                kh,
                kw,
                sh: s,
                sw: 1,
                ph: p,
                pw: p,
                groups,
            })
        });
    let fc = (1usize..=40, 1usize..=14).prop_map(|(c, f)| Geometry::Fc { c, f });
    prop_oneof![3 => conv, 1 => fc]
}

fn array() -> impl Strategy<Value = ArrayShape> {
    (1usize..=3, 1usize..=3, 1usize..=5, 1usize..=9, 0usize..=3).prop_map(
        |(tiles, rows, columns, lanes, column_registers)| ArrayShape {
            tiles,
            rows,
            columns,
            lanes,
            column_registers,
        },
    )
}

/// The engine with the breakdown.
const GAP: Options = Options {
    cache: None,
    gap: true,
};

fn layer(geom: Geometry, w: mltq::tensor::Tensor) -> Layer {
    Layer {
        name: "l".into(),
        geom,
        weights: w,
        acts: BTreeMap::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Every preset plus a drawn scheme on a drawn layer and array: the reference's
    /// parts add up to its cycles × lanes, its busy part is the engine's busy
    /// lane-cycles, and the fast path gives the same parts.
    #[test]
    fn parts_add_up_and_the_fast_path_equals_the_reference(
        geom in geometry(), arr in array(), drawn in scheme(),
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
        let l = layer(geom, weights);
        let fast = simulate_schemes_with(&l, &acts, &schemes, &arr, GAP).unwrap();
        for (s, fast) in schemes.iter().zip(fast) {
            let (cycles, slow) = reference::gap(&l, &acts, s, &arr);
            prop_assert_eq!(cycles, fast.cycles, "scheme {:?}", s);
            prop_assert_eq!(slow.total(), cycles * arr.total_lanes(), "scheme {:?}", s);
            prop_assert_eq!(slow.busy, fast.busy_lane_cycles, "scheme {:?}", s);
            prop_assert_eq!(Some(slow), fast.gap, "scheme {:?}", s);
        }
    }
}

fn tern(shape: &[usize], levels: u8, digits: &[i8]) -> mltq::tensor::Tensor {
    mltq::tensor::Tensor::from_digits(
        shape,
        false,
        levels,
        mltq::encoding::ScaleMode::Tensor,
        digits,
        vec![1.0; levels as usize],
    )
    .unwrap()
}

fn conv(c: usize, h: usize, f: usize) -> Geometry {
    Geometry::Conv(Conv {
        c,
        h,
        w: 1,
        f,
        kh: 1,
        kw: 1,
        sh: 1,
        sw: 1,
        ph: 0,
        pw: 0,
        groups: 1,
    })
}

fn arr(tiles: usize, rows: usize, columns: usize, lanes: usize, regs: usize) -> ArrayShape {
    ArrayShape {
        tiles,
        rows,
        columns,
        lanes,
        column_registers: regs,
    }
}

/// The engine's breakdown, checked against the reference and the identity.
fn gap_of(
    geom: Geometry,
    w: mltq::tensor::Tensor,
    a: &mltq::tensor::Tensor,
    ar: &ArrayShape,
) -> (u64, Gap) {
    let s = Scheme::preset("mltq-bit").unwrap();
    let l = layer(geom, w);
    let fast = simulate_schemes_with(&l, a, std::slice::from_ref(&s), ar, GAP).unwrap();
    let (cycles, slow) = reference::gap(&l, a, &s, ar);
    assert_eq!(fast[0].gap, Some(slow));
    assert_eq!(slow.total(), cycles * ar.total_lanes());
    (cycles, slow)
}

#[test]
fn floor_lane_wait_and_channel_padding_on_one_two_lane_pe() {
    // mltq-bit, 1-level ternary; 3 channels on 2 lanes: 2 steps.
    // Step 0 (channels 0, 1): pairs 1·1 = 1 and 1·0 = 0: the PE costs 1; lane 1 waits
    // 1 for lane 0 (lane_wait 1), busy 1.
    // Step 1 (channel 2; lane 1 past the channels): pair 1·0 = 0, the PE is lifted to
    // min_cycles = 1 (floor 1 on lane 0); lane 1 holds no channel (padding 1).
    // 2 cycles × 2 lanes = 4 = 1 + 1 + 1 + 1.
    let (cycles, g) = gap_of(
        conv(3, 1, 1),
        tern(&[1, 3, 1, 1], 1, &[1, 1, 1]),
        &tern(&[3, 1, 1], 1, &[1, 0, 0]),
        &arr(1, 1, 1, 2, 0),
    );
    assert_eq!(cycles, 2);
    let want = Gap {
        busy: 1,
        lane_wait: 1,
        floor: 1,
        channel_padding: 1,
        ..Gap::default()
    };
    assert_eq!(g, want);
}

#[test]
fn row_wait_and_idle_rows_over_two_passes() {
    // Two rows, three filters: pass 0 holds filters 0 and 1, pass 1 filter 2 (row 1
    // idle). Weights of 2 levels with 2, 1 and 1 nonzero digits, one activation +1.
    // Pass 0: row 0 costs 2 (busy 2), row 1 costs 1 (busy 1) and waits 1 (row_wait 1).
    // Pass 1: row 0 costs 1 (busy 1), row 1 has no filter (idle_rows 1).
    // 3 cycles × 2 lanes = 6 = 4 + 1 + 1.
    let (cycles, g) = gap_of(
        conv(1, 1, 3),
        tern(&[3, 1, 1, 1], 2, &[1, 1, 1, 0, 0, 1]),
        &tern(&[1, 1, 1], 1, &[1]),
        &arr(1, 2, 1, 1, 0),
    );
    assert_eq!(cycles, 3);
    let want = Gap {
        busy: 4,
        row_wait: 1,
        idle_rows: 1,
        ..Gap::default()
    };
    assert_eq!(g, want);
}

#[test]
fn column_wait_and_idle_columns_in_lock_step() {
    // Three windows on two columns: set 0 holds windows 0 and 1, set 1 window 2
    // (column 1 idle). Activations of 2 levels with 2, 1, 2 nonzero digits; weight +1.
    // Set 0: column 0 costs 2, column 1 costs 1 and waits 1 (column_wait 1).
    // Set 1: column 0 costs 2, column 1 has no window for those 2 (idle_columns 2).
    // 4 cycles × 2 lanes = 8 = busy 5 + 1 + 2.
    let (cycles, g) = gap_of(
        conv(1, 3, 1),
        tern(&[1, 1, 1, 1], 1, &[1]),
        &tern(&[1, 3, 1], 2, &[1, 1, 1, 0, 1, 1]),
        &arr(1, 1, 2, 1, 0),
    );
    assert_eq!(cycles, 4);
    let want = Gap {
        busy: 5,
        column_wait: 1,
        idle_columns: 2,
        ..Gap::default()
    };
    assert_eq!(g, want);
}

#[test]
fn with_a_column_register_the_fast_column_runs_into_its_idle_unit() {
    // The layer above with one column register: column 1 finishes unit 0 at 1 and
    // starts its (empty) unit 1 at once, so it never waits after unit 0; it then
    // idles from 1 to the end at 4 without a window (idle_columns 3).
    // 4 cycles × 2 lanes = 8 = busy 5 + 3.
    let (cycles, g) = gap_of(
        conv(1, 3, 1),
        tern(&[1, 1, 1, 1], 1, &[1]),
        &tern(&[1, 3, 1], 2, &[1, 1, 1, 0, 1, 1]),
        &arr(1, 1, 2, 1, 1),
    );
    assert_eq!(cycles, 4);
    let want = Gap {
        busy: 5,
        idle_columns: 3,
        ..Gap::default()
    };
    assert_eq!(g, want);
}

#[test]
fn fc_issue_wait_counts_as_column_wait() {
    // FC, 1 input, 2 outputs on 2 columns of one row: pass 0 (filter 0, 2 digits) goes
    // to column 0 at cycle 0 and costs 2; pass 1 (filter 1, 1 digit) to column 1,
    // issued at cycle 1 (one issue per cycle): column 1 waits 1 (column_wait 1), then
    // costs 1. 2 cycles × 2 lanes = 4 = busy 3 + 1.
    let (cycles, g) = gap_of(
        Geometry::Fc { c: 1, f: 2 },
        tern(&[2, 1], 2, &[1, 1, 1, 0]),
        &tern(&[1], 1, &[1]),
        &arr(1, 1, 2, 1, 0),
    );
    assert_eq!(cycles, 2);
    let want = Gap {
        busy: 3,
        column_wait: 1,
        ..Gap::default()
    };
    assert_eq!(g, want);
}

/// `mltq-bit` with the weight schedule L(1, 1): a weight may come from one step ahead,
/// in its own lane or the lane below (wrapping).
fn mltq_bit_l11() -> Scheme {
    Scheme {
        weight_schedule: Some(WeightSchedule {
            shape: PatternShape::L,
            lookahead: 1,
            lookaside: 1,
        }),
        ..Scheme::preset("mltq-bit").unwrap()
    }
}

/// [`gap_of`] for `s`.
fn gap_with(
    s: &Scheme,
    geom: Geometry,
    w: mltq::tensor::Tensor,
    a: &mltq::tensor::Tensor,
    ar: &ArrayShape,
) -> (u64, Gap) {
    let l = layer(geom, w);
    let fast = simulate_schemes_with(&l, a, std::slice::from_ref(s), ar, GAP).unwrap();
    let (cycles, slow) = reference::gap(&l, a, s, ar);
    assert_eq!(fast[0].cycles, cycles);
    assert_eq!(fast[0].gap, Some(slow));
    assert_eq!(slow.total(), cycles * ar.total_lanes());
    assert_eq!(slow.busy, fast[0].busy_lane_cycles);
    (cycles, slow)
}

#[test]
fn with_a_schedule_a_tile_whose_kept_steps_ran_out_waits_for_the_other() {
    // FC, 4 inputs on 2 lanes (2 steps), 2 outputs on 2 tiles of one row, activations
    // +1. Filter 0 (tile 0) is dense: both steps kept, no promotion. Filter 1 (tile 1)
    // is (1, 0 | 0, 0): no candidate for its zero at step 0, step 1 a zero line
    // skipped: one kept step. The pass lasts 2 calls.
    // Call 0: both PEs cost 1 (busy 2 + 1), tile 1's lane 1 waits (lane_wait 1).
    // Call 1: tile 0 costs 1 (busy 2); tile 1 has no step left: its 2 lanes wait for
    // tile 0 (row_wait 2).
    // 2 cycles × 4 lanes = 8 = busy 5 + 1 + 2.
    let w = tern(&[2, 4], 1, &[1, 1, 1, 1, 1, 0, 0, 0]);
    let a = tern(&[4], 1, &[1, 1, 1, 1]);
    let s = mltq_bit_l11();
    let (cycles, g) = gap_with(
        &s,
        Geometry::Fc { c: 4, f: 2 },
        w.clone(),
        &a,
        &arr(2, 1, 1, 2, 0),
    );
    assert_eq!(cycles, 2);
    let want = Gap {
        busy: 5,
        lane_wait: 1,
        row_wait: 2,
        ..Gap::default()
    };
    assert_eq!(g, want);
    // Without the schedule tile 1 runs step 1 too: a PE with all pairs 0, lifted to
    // min_cycles = 1 (floor 2 instead of row_wait 2).
    let s = Scheme::preset("mltq-bit").unwrap();
    let (cycles, g) = gap_with(&s, Geometry::Fc { c: 4, f: 2 }, w, &a, &arr(2, 1, 1, 2, 0));
    assert_eq!(cycles, 2);
    let want = Gap {
        busy: 5,
        lane_wait: 1,
        floor: 2,
        ..Gap::default()
    };
    assert_eq!(g, want);
}

#[test]
fn with_a_schedule_the_steps_it_removed_are_no_lane_cycles() {
    // FC, 3 inputs on 2 lanes: step 0 holds channels 0 and 1, step 1 channel 2 and a
    // lane past the channels. Weights (0, 1 | 1, pad): step 0's zero takes channel 2's
    // weight from step 1 (straight ahead); step 1 is then a zero line and is removed.
    // One call: both lanes pair a weight with its own activation, 1 each.
    // 1 cycle × 2 lanes = 2 = busy 2: nothing is lost.
    let w = tern(&[1, 3], 1, &[0, 1, 1]);
    let a = tern(&[3], 1, &[1, 1, 1]);
    let (cycles, g) = gap_with(
        &mltq_bit_l11(),
        Geometry::Fc { c: 3, f: 1 },
        w.clone(),
        &a,
        &arr(1, 1, 1, 2, 0),
    );
    assert_eq!(cycles, 1);
    assert_eq!(
        g,
        Gap {
            busy: 2,
            ..Gap::default()
        }
    );
    // Without it: step 0's zero weight costs 0 and waits (lane_wait 1); step 1's
    // lane past the channels (channel_padding 1). 2 cycles × 2 lanes = 4.
    let s = Scheme::preset("mltq-bit").unwrap();
    let (cycles, g) = gap_with(&s, Geometry::Fc { c: 3, f: 1 }, w, &a, &arr(1, 1, 1, 2, 0));
    assert_eq!(cycles, 2);
    let want = Gap {
        busy: 2,
        lane_wait: 1,
        channel_padding: 1,
        ..Gap::default()
    };
    assert_eq!(g, want);
}

#[test]
fn with_a_schedule_a_slot_emptied_by_a_promotion_waits() {
    // FC, 4 inputs on 2 lanes, one output; weights (0, 1 | 1, 1), activations of 2
    // levels: channel 3 has 2 nonzero digits, the others 1.
    // Step 0's zero (lane 0) has two candidates, (1, −1) → step 1 lane 1 first: channel
    // 3's weight moves to step 0 lane 0, its slot at step 1 is left empty.
    // Call 0: lane 0 pairs channel 3 (1 · 2 = 2), lane 1 channel 1 (1): cost 2, lane 1
    // waits 1. Call 1: lane 0 pairs channel 2 (1), lane 1 is empty (0): cost 1, lane 1
    // waits 1. 3 cycles × 2 lanes = 6 = busy 4 + lane_wait 2.
    let w = tern(&[1, 4], 1, &[0, 1, 1, 1]);
    let a = tern(&[4], 2, &[1, 0, 1, 0, 1, 0, 1, -1]);
    let (cycles, g) = gap_with(
        &mltq_bit_l11(),
        Geometry::Fc { c: 4, f: 1 },
        w,
        &a,
        &arr(1, 1, 1, 2, 0),
    );
    assert_eq!(cycles, 3);
    let want = Gap {
        busy: 4,
        lane_wait: 2,
        ..Gap::default()
    };
    assert_eq!(g, want);
}

/// Arrays for weight schedules: 2 to 9 lanes, and 16 (the engine's 16-lane paths).
fn scheduled_array() -> impl Strategy<Value = ArrayShape> {
    let lanes = prop_oneof![2usize..=9, Just(16)];
    (1usize..=3, 1usize..=3, 1usize..=4, lanes, 0usize..=2).prop_map(
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
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// A drawn scheme with a drawn weight schedule (and both Bit-Tactical presets) on a
    /// drawn layer whose weights have whole zero kernel offsets and channel chunks now
    /// and then (zero lines, runs of them, tiles with fewer kept steps than others):
    /// the reference's parts add up, its busy is the engine's, the fast path equals it.
    #[test]
    fn with_a_schedule_the_parts_add_up_and_the_fast_path_equals_the_reference(
        geom in geometry(), arr in scheduled_array(), drawn in strategies::scheduled_scheme(),
        we in enc(), ae in enc(), wd in prop_oneof![0.0f64..=1.0, Just(0.05), Just(0.9)],
        ad in 0.0f64..=1.0, seed in any::<u64>(), zeros in (any::<u32>(), any::<u32>()),
    ) {
        let ae = Enc { signed: false, ..ae };
        let (cg, kh, kw) = match geom {
            Geometry::Conv(c) => (c.cg(), c.kh, c.kw),
            Geometry::Fc { c, .. } => (c, 1, 1),
        };
        let weights = strategies::zero_where(&tensor(&geom.weight_shape(), we, wd, seed), |i| {
            let (kx, ky, c) = (i % kw, (i / kw) % kh, (i / (kh * kw)) % cg);
            zeros.0 >> ((kx * kh + ky) % 32) & 1 == 1 || zeros.1 >> ((c / arr.lanes) % 32) & 1 == 1
        });
        let acts = tensor(&geom.act_shape(), ae, ad, seed.wrapping_mul(31).wrapping_add(7));
        let schemes: Vec<Scheme> = ["bittactical", "bittactical-e"]
            .iter()
            .map(|p| Scheme::preset(p).expect("a preset"))
            .chain([drawn])
            .filter(|s| {
                s.validate().is_ok()
                    && s.check_layer("l", weights.encoding(), acts.encoding()).is_ok()
                    && s.check_array(&arr).is_ok()
            })
            .collect();
        let l = layer(geom, weights);
        let fast = simulate_schemes_with(&l, &acts, &schemes, &arr, GAP).unwrap();
        for (s, fast) in schemes.iter().zip(fast) {
            let (cycles, slow) = reference::gap(&l, &acts, s, &arr);
            prop_assert!(fast.schedule.is_some());
            prop_assert_eq!(cycles, fast.cycles, "scheme {:?}", s);
            prop_assert_eq!(slow.total(), cycles * arr.total_lanes(), "scheme {:?}", s);
            prop_assert_eq!(slow.busy, fast.busy_lane_cycles, "scheme {:?}", s);
            prop_assert_eq!(Some(slow), fast.gap, "scheme {:?}", s);
        }
    }
}

/// An arch with every preset on `array` (int presets only on int models), and
/// `mltq-bit` with a weight schedule (on ternary models); the presets with a schedule
/// and the scheduled `mltq-bit` only where the array has lanes enough for their pattern.
fn all_presets(array: &ArrayShape, int: bool) -> mltq::arch::Arch {
    let int_only = [
        "dadiannao",
        "stripes",
        "pragmatic",
        "bittactical",
        "bittactical-e",
    ];
    let wide = array.lanes > 3;
    let mut names: Vec<&str> = PRESETS
        .iter()
        .copied()
        .filter(|p| int || !int_only.contains(p))
        .filter(|p| wide || !p.starts_with("bittactical"))
        .collect();
    let mut tables = "";
    if wide && !int {
        names.push("mltq-bit-t25");
        tables = "[[scheme]]\nname = \"mltq-bit-t25\"\nbase = \"mltq-bit\"\n\
                  weight_schedule = { shape = \"T\", lookahead = 2, lookaside = 5 }\n";
    }
    let text = format!(
        "name = \"all\"\nbaseline = \"mlb\"\nschemes = {:?}\n[array]\ntiles = {}\nrows = {}\ncolumns = {}\nlanes = {}\ncolumn_registers = {}\n{tables}",
        names, array.tiles, array.rows, array.columns, array.lanes, array.column_registers
    );
    mltq::arch::Arch::parse(&text, "all.toml").unwrap()
}

/// Every preset on the built-in resnet20 (generated: ternary, and int8 with pruned
/// weights so that schedules have zeros to fill) on arrays of every kind, the scheduled
/// ones included: the parts of every layer and of the network add up to its
/// lane-cycles, and busy is the engine's busy lane-cycles.
#[test]
fn parts_add_up_on_a_built_in_network_for_every_preset() {
    use mltq::gen::{generate, GenSpec};
    use mltq::run::{simulate_sample, ActSource};
    let arrays = [
        arr(16, 16, 16, 16, 0),
        arr(2, 3, 5, 7, 2),
        arr(1, 1, 1, 1, 0),
        arr(4, 8, 32, 8, 1),
    ];
    for (spec, int) in [
        (GenSpec::default(), false),
        (
            GenSpec {
                weights: "int:8".parse().unwrap(),
                acts: "int:8".parse().unwrap(),
                weight_density: 0.4,
                ..GenSpec::default()
            },
            true,
        ),
    ] {
        let net = generate("resnet20", &spec).unwrap();
        for a in &arrays {
            let arch = all_presets(a, int);
            let run = simulate_sample(
                &net,
                &arch,
                ActSource::Sample { sample: 0 },
                &|| {},
                None,
                GAP,
            )
            .unwrap();
            let mut scheduled = 0;
            for layer in &run.runs {
                for r in layer {
                    assert_eq!(r.gap.unwrap().total(), r.lane_cycles, "{a:?}");
                    assert_eq!(r.gap.unwrap().busy, r.busy_lane_cycles);
                    scheduled += r.schedule.is_some() as usize;
                }
            }
            if a.lanes > 3 {
                assert!(scheduled > 0, "{a:?}: scheduled schemes ran");
            }
            for row in mltq::report::rows(&run) {
                assert_eq!(
                    row.gap.unwrap().total(),
                    row.lane_cycles,
                    "{a:?} {}",
                    row.layer
                );
            }
        }
    }
}

/// Through the binary: `--gap` adds the report's table, a `gap` object of integers to
/// every JSON row and the `gap_` columns to every CSV row, each adding up to its
/// `lane_cycles`; without it the JSON rows have no `gap`, the report no table, and the
/// CSV is the same bytes as the first columns of the `--gap` one.
#[test]
fn simulate_gap_reports_the_parts_in_the_table_the_json_and_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let arch = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("arch/pe16.toml");
    let run = |gap: bool, name: &str| {
        let (json, csv) = (
            dir.path().join(format!("{name}.json")),
            dir.path().join(format!("{name}.csv")),
        );
        let mut c = assert_cmd::Command::cargo_bin("mltq").unwrap();
        c.args(["simulate", "--model", "resnet20", "-q", "--arch"])
            .arg(&arch)
            .arg("--json")
            .arg(&json)
            .arg("--csv")
            .arg(&csv);
        if gap {
            c.arg("--gap");
        }
        let out = c.assert().success().get_output().stdout.clone();
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        (
            String::from_utf8(out).unwrap(),
            doc,
            std::fs::read_to_string(&csv).unwrap(),
        )
    };
    let (text, doc, csv) = run(true, "with");
    assert!(text.contains("where the lane-cycles went"), "{text}");
    assert!(text.contains("channel padding"), "{text}");
    let mut rows = 0;
    for key in ["layers", "totals"] {
        for row in doc[key].as_array().unwrap() {
            let gap = row["gap"].as_object().expect("a gap object");
            assert_eq!(gap.len(), Gap::NAMES.len());
            let sum: u64 = Gap::NAMES.iter().map(|n| gap[*n].as_u64().unwrap()).sum();
            assert_eq!(sum, row["lane_cycles"].as_u64().unwrap());
            assert_eq!(gap["busy"], row["busy_lane_cycles"]);
            rows += 1;
        }
    }
    assert_eq!(
        rows,
        (22 + 1) * 6,
        "resnet20's 22 layers and the totals, six schemes"
    );
    let (text0, doc0, csv0) = run(false, "without");
    assert!(!text0.contains("where the lane-cycles went"));
    assert!(doc0["totals"][0].get("gap").is_none());
    // The CSV: the same rows and columns, then the gap_ columns, the JSON's numbers.
    let header = mltq::report::csv::HEADER.len();
    let (lines, lines0): (Vec<&str>, Vec<&str>) = (csv.lines().collect(), csv0.lines().collect());
    assert_eq!(lines.len(), lines0.len());
    let names: Vec<String> = Gap::NAMES.iter().map(|n| format!("gap_{n}")).collect();
    let json_rows: Vec<&serde_json::Value> = ["layers", "totals"]
        .iter()
        .flat_map(|k| doc[*k].as_array().unwrap())
        .collect();
    for (i, (l, l0)) in lines.iter().zip(&lines0).enumerate() {
        let cells: Vec<&str> = l.split(',').collect();
        assert_eq!(cells[..header].join(","), *l0, "line {}", i + 1);
        if i == 0 {
            assert_eq!(cells[header..], names);
            continue;
        }
        let gap = &json_rows[i - 1]["gap"];
        for (n, cell) in Gap::NAMES.iter().zip(&cells[header..]) {
            assert_eq!(
                gap[*n].as_u64().unwrap().to_string(),
                *cell,
                "line {}",
                i + 1
            );
        }
    }
}

/// `plot gap` through the binary: on a `--gap` CSV, the stacked parts per scheme (the
/// data CSV: network totals, the CSV's integers); on a plain CSV, today's scatter and a
/// `hint:` naming `simulate --gap`; on a CSV whose parts were edited so they no longer
/// add up, one error line and no figure.
#[test]
fn plot_gap_stacks_the_parts_of_a_gap_csv_and_hints_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let arch = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("arch/pe16.toml");
    let mltq = || assert_cmd::Command::cargo_bin("mltq").unwrap();
    let (with, without) = (dir.path().join("with.csv"), dir.path().join("without.csv"));
    for (csv, gap) in [(&with, true), (&without, false)] {
        let mut c = mltq();
        c.args(["simulate", "--model", "resnet20", "-q", "--arch"])
            .arg(&arch)
            .arg("--csv")
            .arg(csv);
        if gap {
            c.arg("--gap");
        }
        c.assert().success();
    }
    let plot = |from: &std::path::Path, out: &str| {
        mltq()
            .args(["plot", "gap", "--from"])
            .arg(from)
            .arg("--out")
            .arg(dir.path().join(out))
            .assert()
    };
    let out = plot(&with, "bars.svg")
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(!String::from_utf8(out).unwrap().contains("hint:"));
    let svg = std::fs::read_to_string(dir.path().join("bars.svg")).unwrap();
    assert!(svg.contains("Where the lane-cycles go"));
    let data = std::fs::read_to_string(dir.path().join("bars.csv")).unwrap();
    let mut lines = data.lines();
    assert_eq!(
        lines.next().unwrap(),
        "point,scheme,speedup,potential_speedup,lane_cycles,gap_busy,gap_floor,\
         gap_lane_wait,gap_row_wait,gap_column_wait,gap_idle_columns,gap_idle_rows,\
         gap_channel_padding"
    );
    // One bar per scheme, the numbers of the simulate CSV's total rows.
    let source = std::fs::read_to_string(&with).unwrap();
    let header: Vec<&str> = source.lines().next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|c| *c == n).unwrap();
    let totals: Vec<Vec<&str>> = source
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| c[1] == "total")
        .collect();
    let bars: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(bars.len(), 6);
    for (bar, t) in bars.iter().zip(&totals) {
        assert_eq!(bar[0], "total");
        assert_eq!(bar[1], t[col("scheme")]);
        assert_eq!(bar[2], t[col("speedup")]);
        assert_eq!(bar[4], t[col("lane_cycles")]);
        let parts: Vec<u64> = bar[5..].iter().map(|c| c.parse().unwrap()).collect();
        assert_eq!(parts.iter().sum::<u64>().to_string(), bar[4]);
        for (p, n) in parts.iter().zip(Gap::NAMES) {
            assert_eq!(p.to_string(), t[col(&format!("gap_{n}"))]);
        }
    }
    // Without the columns: the scatter, and a hint.
    let out = plot(&without, "dots.svg")
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("hint: ") && out.contains("mltq simulate --gap --csv FILE"),
        "{out}"
    );
    let svg = std::fs::read_to_string(dir.path().join("dots.svg")).unwrap();
    assert!(svg.contains("Achieved vs potential speedup"));
    // A part edited: refused, nothing written.
    let edited = dir.path().join("edited.csv");
    let mut text: Vec<String> = source.lines().map(String::from).collect();
    let last = text.len() - 1;
    let mut cells: Vec<String> = text[last].split(',').map(String::from).collect();
    let busy = col("gap_busy");
    cells[busy] = (cells[busy].parse::<u64>().unwrap() + 1).to_string();
    text[last] = cells.join(",");
    std::fs::write(&edited, text.join("\n") + "\n").unwrap();
    let err = plot(&edited, "bad.svg").code(2).get_output().stderr.clone();
    let err = String::from_utf8(err).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("the gap_ columns add up to"),
        "{err}"
    );
    assert!(!dir.path().join("bad.svg").exists());
    assert!(!dir.path().join("bad.csv").exists());
}
