//! The cost model (docs/cost-model.md): footprints, DRAM and on-chip traffic, memory
//! cycles, energy and area.
//!
//! - The two worked examples in tests/data/cost/ (model, arch, and the numbers an
//!   independent implementation of the rules computed) are reproduced through the real
//!   binary: every integer exactly, every float within 1e-9 relative, in the JSON, the
//!   CSV (shortest round-trip floats) and `inspect --json`.
//! - A 1×1 conv on a 2×2 array, every number derived by hand in the comments.
//! - Property tests against a slow, literal reading of the rules (every window set,
//!   pass, step and column; every set's receptive fields as a set of positions), and
//!   the identities the rules imply.

mod common;

use std::collections::BTreeMap;

use common::{bin, repo};
use mltq::arch::{Arch, ArrayShape};
use mltq::cost::footprint::{Counts, Format, Width};
use mltq::cost::Bound;
use mltq::encoding::{Encoding, ScaleMode};
use mltq::model::{Conv, Geometry, Layer, Network};
use mltq::report::{self, Row};
use mltq::run::{self, ActSource};
use mltq::scheme::{Operand, Scheme, PRESETS};
use mltq::tensor::Tensor;
use proptest::prelude::*;
use serde_json::Value;

#[path = "../src/sim/strategies.rs"]
mod strategies;
use strategies::{tensor, Enc};

// --- The worked examples --------------------------------------------------------------

/// Integers exactly, floats within 1e-9 relative.
fn same(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Number(w), Value::Number(g)) if w.is_f64() || g.is_f64() => {
            let (w, g) = (w.as_f64().unwrap(), g.as_f64().unwrap());
            w == g || (w - g).abs() <= 1e-9 * w.abs().max(g.abs())
        }
        _ => want == got,
    }
}

fn example(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (json, csv) = (dir.path().join("r.json"), dir.path().join("r.csv"));
    let data = |ext: &str| repo(&format!("tests/data/cost/{name}.{ext}"));
    let out = bin()
        .args(["simulate", "--quiet", "--arch"])
        .arg(data("toml"))
        .arg("--model")
        .arg(data("mltq"))
        .arg("--json")
        .arg(&json)
        .arg("--csv")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(data("expected.json")).unwrap()).unwrap();
    let got: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();

    // JSON: every expected row and field.
    let rows: Vec<&Value> = got["layers"]
        .as_array()
        .unwrap()
        .iter()
        .chain(got["totals"].as_array().unwrap())
        .collect();
    let expected = want["samples"]["0"].as_array().unwrap();
    assert_eq!(rows.len(), expected.len());
    for (w, g) in expected.iter().zip(&rows) {
        for (k, v) in w.as_object().unwrap() {
            assert!(
                same(v, &g[k]),
                "{name} {} {} `{k}`: want {v}, got {}",
                w["layer"],
                w["scheme"],
                g[k]
            );
        }
    }
    // The parameters in force, defaults included.
    for table in ["memory", "energy", "area"] {
        for (k, v) in want["params"][table].as_object().unwrap() {
            assert!(same(v, &got[table][k]), "{table}.{k}");
        }
    }

    // CSV: the same numbers; floats read back as the same f64 as the JSON's.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    for (line, w) in lines.zip(expected) {
        let cells: BTreeMap<&str, &str> = header.iter().copied().zip(line.split(',')).collect();
        for (k, v) in w.as_object().unwrap() {
            let cell = cells[k.as_str()];
            match v {
                Value::String(s) => assert_eq!(cell, s),
                Value::Number(n) if n.is_u64() => assert_eq!(cell, n.to_string(), "{k}"),
                // The contract's ratios keep their six decimals.
                Value::Number(_) if k == "speedup" || k == "potential_speedup" => {}
                Value::Number(n) => {
                    let json_value = rows
                        .iter()
                        .find(|r| r["layer"] == w["layer"] && r["scheme"] == w["scheme"])
                        .unwrap()[k]
                        .as_f64()
                        .unwrap();
                    assert_eq!(cell.parse::<f64>().unwrap(), json_value, "{k}: {cell}");
                    assert!(same(v, &Value::from(json_value)), "{k}: {n}");
                }
                _ => unreachable!(),
            }
        }
    }

    // inspect --json: every layer's footprints in the four formats.
    let ij = dir.path().join("i.json");
    let out = bin()
        .arg("inspect")
        .arg(data("mltq"))
        .arg("--json")
        .arg(&ij)
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&ij).unwrap()).unwrap();
    let layers = doc["layers"].as_array().unwrap();
    for (w, g) in want["footprints"].as_array().unwrap().iter().zip(layers) {
        assert_eq!(w["name"], g["name"]);
        assert_eq!(w["weights"], g["footprint"]["weights"]);
        assert_eq!(w["acts"], g["footprint"]["acts"]);
    }
}

#[test]
fn worked_example_mltq_streaming() {
    example("mltq_streaming");
}

#[test]
fn worked_example_fixed_point_designs() {
    example("fixed_point_designs");
}

// --- A 1×1 conv on a 2×2 array, by hand -----------------------------------------------

/// C = 2 channels of 2×2 ternary:1 activations, F = 2 ternary:1 filters (1×1):
/// A[c0] = [[+1, 0], [0, −1]], A[c1] = [[0, 0], [+1, +1]]; W[f0] = (+1, 0),
/// W[f1] = (−1, +1).
fn hand_net() -> Network {
    let w = Tensor::from_digits(
        &[2, 2, 1, 1],
        false,
        1,
        ScaleMode::Tensor,
        &[1, 0, -1, 1],
        vec![1.0],
    )
    .unwrap();
    let a = Tensor::from_digits(
        &[2, 2, 2],
        false,
        1,
        ScaleMode::Tensor,
        &[1, 0, 0, -1, 0, 0, 1, 1],
        vec![1.0],
    )
    .unwrap();
    Network {
        name: "hand".into(),
        source: None,
        layers: vec![Layer {
            name: "c".into(),
            geom: Geometry::Conv(Conv::square(2, (2, 2), 2, 1, 1, 0, 1)),
            weights: w,
            acts: BTreeMap::from([(0, a)]),
        }],
    }
}

/// 1 tile × 2 rows × 2 columns × 2 lanes (8 lanes); `memory` is the [memory] table.
fn hand_arch(memory: &str) -> Arch {
    Arch::parse(
        &format!(
            "name = \"hand\"\nbaseline = \"mlb\"\nschemes = [\"mlb\", \"mltq-word\", \"planes\"]\n\
             [array]\ntiles = 1\nrows = 2\ncolumns = 2\nlanes = 2\n\
             [[scheme]]\nname = \"planes\"\nbase = \"mltq-word\"\nstore_act = \"planes\"\n\
             store_weight = \"packed\"\n{memory}"
        ),
        "hand.toml",
    )
    .unwrap()
}

fn rows_of(net: &Network, arch: &Arch) -> Vec<Row> {
    let run = run::simulate(net, arch, ActSource::Sample { sample: 0 }, &|| {}).unwrap();
    report::rows(&run)
}

#[test]
fn one_by_one_conv_streaming_every_operand() {
    // No buffers: nothing fits, so the activations are streamed per window set and the
    // weights read once per window set (the second loop order needs a weight buffer).
    let arch = hand_arch("[memory]\nact_buffer_kib = 0\nweight_buffer_kib = 0\ndram_gbps = 1");
    let rows = rows_of(&hand_net(), &arch);
    let (mlb, word, planes) = (&rows[0], &rows[1], &rows[2]);

    // Footprints. Dense width b = 2 (ternary, one level). W: 4 elements, 3 nonzero,
    // 3 nonzero digits; A: 8 elements, 4 nonzero, 4 nonzero digits.
    assert_eq!((mlb.weight_bits, mlb.act_bits), (4 * 2, 8 * 2));
    // zvc: n + nnz·b.
    assert_eq!((word.weight_bits, word.act_bits), (4 + 3 * 2, 8 + 4 * 2));
    // packed weights: one ternary digit in p = 2 bits; planes acts: L·n + Σ terms.
    assert_eq!((planes.weight_bits, planes.act_bits), (4 * 2, 8 + 4));

    // On chip. Window sets S = ⌈4 windows / 2 columns⌉ = 2, passes = 1, one step (one
    // chunk of 2 lanes). Activations: each window's brick once: dense 4 · 2 · 2 = 16;
    // zvc per position (0,0): 2 + 1·2, (1,0): 2 + 1·2, (0,1): 2, (1,1): 2 + 2·2 → 16.
    // Weights: each filter's brick once per window set: dense 2 · (2 · 2 · 2) = 16;
    // zvc 2 · ((2 + 1·2) + (2 + 2·2)) = 20; packed as dense, 16.
    // planes acts: per position L·2 + terms: 3 + 2 + 3 + 4 = 12.
    assert_eq!(mlb.sram_bits, 16 + 16);
    assert_eq!(word.sram_bits, 16 + 20);
    assert_eq!(planes.sram_bits, 12 + 16);

    // DRAM: S·W + R + outputs. A 1×1 kernel's receptive fields do not overlap: R is the
    // activations once. Outputs: F · Oy · Ox · b = 2 · 4 · 2 = 16.
    assert_eq!(mlb.dram_bits, 2 * 8 + 16 + 16);
    assert_eq!(word.dram_bits, 2 * 10 + 16 + 16);
    assert_eq!(planes.dram_bits, 2 * 8 + 12 + 16);
    // Memory cycles at 1 GHz and 1 GB/s: ⌈bits / 8⌉.
    assert_eq!(
        (mlb.memory_cycles, word.memory_cycles, planes.memory_cycles),
        (6, 7, 6)
    );

    // Compute: mlb spends one cycle per step of each of the 2 window sets; mltq-word's
    // lanes each do at most one effectual pair per set, and min_cycles = 1.
    assert_eq!((mlb.cycles, word.cycles), (2, 2));
    assert_eq!((mlb.total_cycles, word.total_cycles), (6, 7));
    assert_eq!((mlb.bound, word.bound), (Bound::Memory, Bound::Memory));
    // Busy lane-cycles: mlb every MAC (2 · 4 · 2 = 16); mltq-word the pairs with both
    // nonzero: f0·c0 and f1·c0 at (0,0), (1,1); f1·c1 at (1,0), (1,1) → 6.
    assert_eq!((mlb.busy_lane_cycles, word.busy_lane_cycles), (16, 6));
    assert_eq!(mlb.lane_cycles, 2 * 8);

    // Energy (defaults): both operands serial, so a busy lane-cycle is one add, 0.1 pJ.
    // mlb: 16·0.1 + 32·0.16 + 48·20 + 6·8·0.01 = 1.6 + 5.12 + 960 + 0.48.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
    assert!(close(mlb.energy_compute_pj, 1.6));
    assert!(close(mlb.energy_sram_pj, 5.12));
    assert!(close(mlb.energy_dram_pj, 960.0));
    assert!(close(mlb.energy_static_pj, 0.48));
    assert!(close(mlb.energy_pj, 967.2));
    // mltq-word: 6·0.1 + 36·0.16 + 52·20 + 7·8·0.01.
    assert!(close(word.energy_pj, 0.6 + 5.76 + 1040.0 + 0.56));
    // Area: 8 lanes of one 137 µm² adder, no buffers.
    assert!(close(mlb.area_mm2, 8.0 * 137.0 / 1e6));
    // Ratios over mlb.
    assert!(close(word.speedup_total, 6.0 / 7.0));
    assert!(close(word.energy_ratio, 967.2 / 1046.92));
    assert!(close(word.perf_per_area, 6.0 / 7.0));
}

#[test]
fn one_by_one_conv_with_buffers_reads_each_operand_once() {
    // 1 KiB buffers hold everything: W + A + outputs.
    let arch = hand_arch("[memory]\nact_buffer_kib = 1\nweight_buffer_kib = 1\ndram_gbps = 1");
    let rows = rows_of(&hand_net(), &arch);
    assert_eq!(rows[0].dram_bits, 8 + 16 + 16);
    assert_eq!(rows[1].dram_bits, 10 + 16 + 16);
    // Area now includes 2 KiB of buffers at 0.006 mm² each.
    assert!((rows[0].area_mm2 - (8.0 * 137.0 / 1e6 + 2.0 * 0.006)).abs() < 1e-12);
    // Totals: one layer, so the same counts; `bound` of the sums.
    let total = &rows[3];
    assert_eq!(total.layer, "total");
    assert_eq!(total.dram_bits, rows[0].dram_bits);
    assert_eq!(total.memory_cycles, 5); // ⌈40 / 8⌉
    assert_eq!(total.total_cycles, 5);
    assert_eq!(total.bound, Bound::Memory);
}

// --- Property tests against a literal reading ---------------------------------------

/// Bits of one element in `format`: `digits` nonzero digits (ternary) or 0 / nonzero;
/// the literal table of the rules.
fn element_bits(
    enc: &Encoding,
    planes: Option<u32>,
    format: Format,
    zero: bool,
    digits: u32,
) -> u64 {
    let (ternary, l) = match *enc {
        Encoding::Ternary { levels, .. } => (true, planes.unwrap_or(levels as u32)),
        Encoding::Binary { levels, .. } => (false, planes.unwrap_or(levels as u32)),
        Encoding::Int { bits, .. } => (false, planes.unwrap_or(bits as u32)),
    };
    let b = if ternary { 2 * l } else { l } as u64;
    match format {
        Format::Dense => b,
        Format::Zvc => 1 + if zero { 0 } else { b },
        Format::Planes if ternary => l as u64 + digits as u64,
        Format::Packed if ternary => (0..).find(|&p| 1u128 << p >= 3u128.pow(l)).unwrap(),
        _ => b,
    }
}

/// (zero, nonzero digits) of element i, read digit by digit.
fn element(t: &Tensor, i: usize) -> (bool, u32) {
    match t.encoding() {
        Encoding::Int { .. } => (t.int_value(i) == Some(0), 0),
        Encoding::Binary { .. } => (false, 0),
        Encoding::Ternary { levels, .. } => {
            let d = (0..*levels as usize)
                .filter(|&p| t.digit(i, p) != 0)
                .count() as u32;
            (d == 0, d)
        }
    }
}

/// One conv layer and its costs, read literally: every (window set, pass, step, column)
/// and (tile, row); every window set's receptive fields as a set of positions.
struct Literal {
    weight_bits: u64,
    act_bits: u64,
    act_sram: u64,
    weight_sram: u64,
    streamed: u64,
}

fn literal(c: &Conv, w: &Tensor, a: &Tensor, arr: &ArrayShape, fa: Format, fw: Format) -> Literal {
    let (ea, ew) = (a.encoding(), w.encoding());
    let abits = |i: Option<usize>| match i {
        Some(i) => {
            let (z, d) = element(a, i);
            element_bits(ea, None, fa, z, d)
        }
        None => element_bits(ea, None, fa, true, 0),
    };
    let wbits = |i: Option<usize>| match i {
        Some(i) => {
            let (z, d) = element(w, i);
            element_bits(ew, None, fw, z, d)
        }
        None => element_bits(ew, None, fw, true, 0),
    };
    let (oy, ox, cg, fg) = (c.oy(), c.ox(), c.cg(), c.fg());
    let chunks = cg.div_ceil(arr.lanes);
    let steps = c.kh * c.kw * chunks;
    let sets = (oy * ox).div_ceil(arr.columns);
    let passes = fg.div_ceil(arr.rows).div_ceil(arr.tiles);
    let (mut act_sram, mut weight_sram, mut streamed) = (0u64, 0u64, 0u64);
    for g in 0..c.groups {
        for s in 0..sets {
            let mut seen = std::collections::BTreeSet::new();
            for p in 0..passes {
                for t in 0..steps {
                    let (kx, ky, k) = (t / (c.kh * chunks), (t / chunks) % c.kh, t % chunks);
                    for col in 0..arr.columns {
                        let n = s * arr.columns + col;
                        if n >= oy * ox {
                            continue;
                        }
                        let (y, x) = (n % oy, n / oy);
                        let iy = (y * c.sh + ky).checked_sub(c.ph).filter(|&v| v < c.h);
                        let ix = (x * c.sw + kx).checked_sub(c.pw).filter(|&v| v < c.w);
                        for l in 0..arr.lanes {
                            let ch = k * arr.lanes + l;
                            let i = match (iy, ix) {
                                (Some(iy), Some(ix)) if ch < cg => {
                                    if p == 0 {
                                        seen.insert((iy, ix));
                                    }
                                    Some(((g * cg + ch) * c.h + iy) * c.w + ix)
                                }
                                _ => None,
                            };
                            act_sram += abits(i);
                        }
                    }
                    for tile in 0..arr.tiles {
                        for r in 0..arr.rows {
                            let f = (p * arr.tiles + tile) * arr.rows + r;
                            if f >= fg {
                                continue;
                            }
                            for l in 0..arr.lanes {
                                let ch = k * arr.lanes + l;
                                let i = (ch < cg)
                                    .then(|| (((g * fg + f) * cg + ch) * c.kh + ky) * c.kw + kx);
                                weight_sram += wbits(i);
                            }
                        }
                    }
                }
            }
            for (iy, ix) in seen {
                for ch in 0..cg {
                    streamed += abits(Some(((g * cg + ch) * c.h + iy) * c.w + ix));
                }
            }
        }
    }
    Literal {
        weight_bits: (0..w.len()).map(|i| wbits(Some(i))).sum(),
        act_bits: (0..a.len()).map(|i| abits(Some(i))).sum(),
        act_sram,
        weight_sram,
        streamed,
    }
}

fn conv() -> impl Strategy<Value = Conv> {
    (
        (1usize..=3, 1usize..=3, 1usize..=2),
        (1usize..=6, 1usize..=6, 1usize..=3, 1usize..=3),
        (1usize..=3, 1usize..=3, 0usize..=2, 0usize..=1),
    )
        .prop_filter_map(
            "kernel fits",
            |((cg, fg, groups), (h, w, kh, kw), (sh, sw, ph, pw))| {
                (h + 2 * ph >= kh && w + 2 * pw >= kw).then_some(Conv {
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
            },
        )
}

fn array() -> impl Strategy<Value = ArrayShape> {
    (1usize..=2, 1usize..=3, 1usize..=5, 1usize..=4).prop_map(|(tiles, rows, columns, lanes)| {
        ArrayShape {
            tiles,
            rows,
            columns,
            lanes,
            column_registers: 0,
        }
    })
}

fn encoding() -> impl Strategy<Value = Enc> {
    (0u8..3, 1u8..=3, 2u8..=8).prop_map(|(kind, levels, bits)| Enc {
        kind,
        levels,
        bits,
        signed: false,
    })
}

fn format() -> impl Strategy<Value = Format> {
    (0usize..4).prop_map(|i| Format::ALL[i])
}

fn one_layer(c: Conv, w: Tensor, a: Tensor) -> Network {
    Network {
        name: "p".into(),
        source: None,
        layers: vec![Layer {
            name: "l".into(),
            geom: Geometry::Conv(c),
            weights: w,
            acts: BTreeMap::from([(0, a)]),
        }],
    }
}

/// An arch of `mlb` and one custom scheme storing its operands in `fa`, `fw`, with
/// no buffers (everything streamed) and the given DRAM.
fn arch_with(arr: &ArrayShape, fa: Format, fw: Format, memory: &str) -> Arch {
    Arch::parse(
        &format!(
            "name = \"p\"\nbaseline = \"mlb\"\nschemes = [\"mlb\", \"x\"]\n\
             [array]\ntiles = {}\nrows = {}\ncolumns = {}\nlanes = {}\n\
             [[scheme]]\nname = \"x\"\nbase = \"mltq-word\"\nstore_act = \"{}\"\nstore_weight = \"{}\"\n{memory}",
            arr.tiles,
            arr.rows,
            arr.columns,
            arr.lanes,
            fa.as_str(),
            fw.as_str()
        ),
        "p.toml",
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Footprints, on-chip reads and streamed DRAM traffic equal the literal reading.
    #[test]
    fn traffic_equals_the_literal_reading(
        c in conv(),
        arr in array(),
        (ew, ea) in (encoding(), encoding()),
        (fa, fw) in (format(), format()),
        (dw, da, seed) in (0.0f64..=1.0, 0.0f64..=1.0, any::<u64>()),
    ) {
        let w = tensor(&[c.f, c.cg(), c.kh, c.kw], ew, dw, seed);
        let a = tensor(&[c.c, c.h, c.w], ea, da, seed ^ 0x51);
        let lit = literal(&c, &w, &a, &arr, fa, fw);
        let net = one_layer(c, w, a);
        // No buffers, so the streamed traffic shows: DRAM = S·W + R + outputs.
        let arch = arch_with(&arr, fa, fw, "[memory]\nact_buffer_kib = 0\nweight_buffer_kib = 0");
        let rows = rows_of(&net, &arch);
        let x = &rows[1];
        prop_assert_eq!(x.weight_bits, lit.weight_bits);
        prop_assert_eq!(x.act_bits, lit.act_bits);
        prop_assert_eq!(x.sram_bits, lit.act_sram + lit.weight_sram);
        let sets = (c.oy() * c.ox()).div_ceil(arr.columns) as u64;
        let b = Width::of(net.layers[0].acts[&0].encoding(), None).dense as u64;
        let out = (c.f * c.oy() * c.ox()) as u64 * b;
        let want = if lit.act_bits == 0 {
            // An empty activation footprint fits a buffer of 0 bits: read once.
            lit.weight_bits + out
        } else if lit.weight_bits == 0 {
            lit.streamed + out
        } else {
            sets * lit.weight_bits + lit.streamed + out
        };
        prop_assert_eq!(x.dram_bits, want);
    }

    /// With buffers that hold everything and a DRAM far faster than the array, a layer
    /// is never memory-bound: total_cycles == cycles.
    #[test]
    fn fast_memory_leaves_the_compute_cycles(
        c in conv(),
        arr in array(),
        (ew, ea) in (encoding(), encoding()),
        (dw, da, seed) in (0.0f64..=1.0, 0.0f64..=1.0, any::<u64>()),
        scheme in 0usize..PRESETS.len(),
    ) {
        let w = tensor(&[c.f, c.cg(), c.kh, c.kw], ew, dw, seed);
        let a = tensor(&[c.c, c.h, c.w], ea, da, seed ^ 0x51);
        let s = Scheme::preset(PRESETS[scheme]).unwrap();
        prop_assume!(s.check_layer("l", w.encoding(), a.encoding()).is_ok());
        // Bit-Tactical's T(2,5) needs 4 lanes.
        prop_assume!(s.check_array(&arr).is_ok());
        let net = one_layer(c, w, a);
        let mut arch = Arch::new("p", 1.0, arr, vec![s], 0);
        arch.cost.memory.act_buffer_kib = 1 << 30;
        arch.cost.memory.weight_buffer_kib = 1 << 30;
        arch.cost.memory.dram_gbps = 1e15;
        for r in rows_of(&net, &arch) {
            prop_assert!(r.memory_cycles <= 1);
            // A layer a weight schedule empties entirely (every weight zero) takes no
            // compute cycle; writing its outputs still takes the one memory cycle.
            prop_assert_eq!(r.total_cycles, r.cycles.max(r.memory_cycles));
            if r.cycles > 0 {
                prop_assert_eq!(r.total_cycles, r.cycles);
            }
        }
    }

    /// zvc costs at most one bit per element over dense; every format of a tensor is
    /// the sum of its bricks' (lanes consecutive channels at one position).
    #[test]
    fn zvc_bound_and_bricks_add_up(
        e in encoding(),
        (c, hw, lanes) in (1usize..=9, 1usize..=9, 1usize..=5),
        (d, seed) in (0.0f64..=1.0, any::<u64>()),
        planes in prop::option::of(1u32..=4),
    ) {
        let t = tensor(&[c, hw], e, d, seed);
        let width = Width::of(t.encoding(), planes);
        let digits = mltq::cost::footprint::digit_counts(&t);
        let whole = Counts::of_digits(&digits);
        let dense = width.cost(Format::Dense).bits(whole);
        prop_assert!(width.cost(Format::Zvc).bits(whole) <= dense + whole.n);
        for f in Format::ALL {
            let cost = width.cost(f);
            let mut sum = 0;
            for pos in 0..hw {
                for k in 0..c.div_ceil(lanes) {
                    let brick: Vec<u8> = (k * lanes..((k + 1) * lanes).min(c))
                        .map(|ch| digits[ch * hw + pos])
                        .collect();
                    sum += cost.bits(Counts::of_digits(&brick));
                }
            }
            prop_assert_eq!(sum, cost.bits(whole));
            // And the literal per-element table.
            let lit: u64 = (0..t.len())
                .map(|i| {
                    let (z, dg) = element(&t, i);
                    element_bits(t.encoding(), planes, f, z, dg)
                })
                .sum();
            prop_assert_eq!(cost.bits(whole), lit);
        }
    }
}

/// Without `store_*`, an operand skipped at word level is stored `zvc`, any other `dense`.
#[test]
fn default_formats_follow_the_skip_level() {
    let arch = Arch::parse(
        "name = \"d\"\nbaseline = \"mlb\"\nschemes = [\"mlb\", \"mltq-word\", \"cnvlutin\", \"mltq-bit\"]\n\
         [array]\ntiles = 1\nrows = 1\ncolumns = 1\nlanes = 1\n",
        "d.toml",
    )
    .unwrap();
    let stores: Vec<(Format, Format)> = arch
        .designs
        .iter()
        .map(|d| (d.store(Operand::Act), d.store(Operand::Weight)))
        .collect();
    assert_eq!(
        stores,
        [
            (Format::Dense, Format::Dense),
            (Format::Zvc, Format::Zvc),
            (Format::Zvc, Format::Dense),
            (Format::Dense, Format::Dense),
        ]
    );
}

/// The CSV header: the contract's eight, the project's counters, the cost columns.
#[test]
fn csv_header_snapshot() {
    insta::assert_snapshot!(mltq::report::csv::HEADER.join(","));
}
