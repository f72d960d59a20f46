//! Where the lane-cycles go (src/sim/gap.rs): the parts add up to cycles × lanes
//! exactly, the literal reference (src/sim/reference.rs) and the fast path agree on
//! every part, and hand-derived layers give each cause its hand-computed value.

use std::collections::BTreeMap;

use mltq::arch::ArrayShape;
use mltq::model::{Conv, Geometry, Layer};
use mltq::scheme::{Scheme, PRESETS};
use mltq::sim::gap::Gap;
use mltq::sim::{reference, simulate_schemes_with};
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
            })
            .collect();
        let l = layer(geom, weights);
        let fast = simulate_schemes_with(&l, &acts, &schemes, &arr, true).unwrap();
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
    let fast = simulate_schemes_with(&l, a, std::slice::from_ref(&s), ar, true).unwrap();
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

/// An arch with every preset on `array` (int presets only on int models: see below).
fn all_presets(array: &ArrayShape, int: bool) -> mltq::arch::Arch {
    let names: Vec<&str> = PRESETS
        .iter()
        .copied()
        .filter(|p| int || !matches!(*p, "dadiannao" | "stripes" | "pragmatic"))
        .collect();
    let text = format!(
        "name = \"all\"\nbaseline = \"mlb\"\nschemes = {:?}\n[array]\ntiles = {}\nrows = {}\ncolumns = {}\nlanes = {}\ncolumn_registers = {}\n",
        names, array.tiles, array.rows, array.columns, array.lanes, array.column_registers
    );
    mltq::arch::Arch::parse(&text, "all.toml").unwrap()
}

/// Every preset on the built-in resnet20 (generated: ternary, and int8) on arrays of
/// every kind: the parts of every layer and of the network add up to its lane-cycles.
#[test]
fn parts_add_up_on_a_built_in_network_for_every_preset() {
    use mltq::gen::{generate, GenSpec};
    use mltq::run::{simulate_opts, ActSource};
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
                ..GenSpec::default()
            },
            true,
        ),
    ] {
        let net = generate("resnet20", &spec).unwrap();
        for a in &arrays {
            let arch = all_presets(a, int);
            let run = simulate_opts(
                &net,
                &arch,
                ActSource::Sample { sample: 0 },
                &|| {},
                None,
                true,
            )
            .unwrap();
            for layer in &run.runs {
                for r in layer {
                    assert_eq!(r.gap.unwrap().total(), r.lane_cycles, "{a:?}");
                    assert_eq!(r.gap.unwrap().busy, r.busy_lane_cycles);
                }
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

/// Through the binary: `--gap` adds the report's table and a `gap` object of integers
/// to every JSON row, adding up to its `lane_cycles`; without it the JSON rows have no
/// `gap` and the report no table, and the CSV is the same bytes either way.
#[test]
fn simulate_gap_reports_the_parts_in_the_table_and_the_json() {
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
            std::fs::read(&csv).unwrap(),
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
    assert_eq!(csv, csv0);
}
