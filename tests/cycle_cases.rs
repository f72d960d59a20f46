//! Hand-derived cycle counts, one named case per rule of the cycle model. Each number
//! is worked out in the comment above it; both the engine and the literal reference
//! must produce it.

use std::collections::BTreeMap;

use mltq::arch::ArrayShape;
use mltq::encoding::{ScaleMode, TermEncoding};
use mltq::model::{Conv, Geometry, Layer};
use mltq::scheme::{PatternShape, Scheme, Serial, Skip, WeightSchedule};
use mltq::sim::{reference, simulate_layer, LayerRun};
use mltq::tensor::Tensor;

fn arr(tiles: usize, rows: usize, columns: usize, lanes: usize, regs: usize) -> ArrayShape {
    ArrayShape {
        tiles,
        rows,
        columns,
        lanes,
        column_registers: regs,
    }
}

fn tern(shape: &[usize], levels: u8, digits: &[i8]) -> Tensor {
    Tensor::from_digits(
        shape,
        false,
        levels,
        ScaleMode::Tensor,
        digits,
        vec![1.0; levels as usize],
    )
    .unwrap()
}

fn uint8(shape: &[usize], v: &[i32]) -> Tensor {
    Tensor::int(shape, 8, false, 8, None, v.to_vec()).unwrap()
}

fn run(geom: Geometry, w: Tensor, a: &Tensor, s: &Scheme, ar: &ArrayShape) -> LayerRun {
    let layer = Layer {
        name: "l".into(),
        geom,
        weights: w,
        acts: BTreeMap::new(),
    };
    let fast = simulate_layer(&layer, a, s, ar).unwrap();
    let slow = reference::simulate_layer(&layer, a, s, ar);
    assert_eq!(fast, slow, "engine and reference disagree for {}", s.name);
    fast
}

fn preset(n: &str) -> Scheme {
    Scheme::preset(n).unwrap()
}

#[test]
fn spec_example_mltq_bit_two_lane_cycles_mlb_six() {
    // Weight digits (+1, 0), activation digits (+1, −1, 0), one lane, one PE.
    let g = Geometry::Fc { c: 1, f: 1 };
    let w = tern(&[1, 1], 2, &[1, 0]);
    let a = tern(&[1], 3, &[1, -1, 0]);
    let one = arr(1, 1, 1, 1, 0);
    let bit = run(g, w.clone(), &a, &preset("mltq-bit"), &one);
    // terms 1 · 2 = 2 cycles; work 1 · 2.
    assert_eq!((bit.cycles, bit.work), (2, 2));
    let mlb = run(g, w.clone(), &a, &preset("mlb"), &one);
    // planes 2 · 3 = 6, for cycles and work alike.
    assert_eq!((mlb.cycles, mlb.work), (6, 6));
    let dadn = run(g, w, &a, &preset("dadiannao"), &one);
    // Parallel: 1 cycle; work = levels · levels = 2 · 3.
    assert_eq!((dadn.cycles, dadn.work), (1, 6));
}

#[test]
fn fc_round_robin_with_idle_columns() {
    // C = 5, lanes 1: 5 steps dealt to 4 columns: 0,1,2,3,0. One issued per cycle.
    let g = Geometry::Fc { c: 5, f: 1 };
    let w = tern(&[1, 5], 1, &[1, 1, 1, 1, 1]);
    let a = uint8(&[5], &[1, 2, 3, 4, 5]);
    let ar = arr(1, 1, 4, 1, 0);
    // DaDianNao, cost 1: starts 0,1,2,3 then column 0 again at max(4, 1) = 4 → 5.
    assert_eq!(run(g, w.clone(), &a, &preset("dadiannao"), &ar).cycles, 5);
    // Stripes, cost 8: starts 0,1,2,3; column 0 is free at 8 → 8 + 8 = 16.
    assert_eq!(run(g, w, &a, &preset("stripes"), &ar).cycles, 16);
}

#[test]
fn fc_passes_continue_the_round_robin() {
    // F = 3 filters on 1 tile × 2 rows: 2 passes of T = 2 steps (C = 3, lanes 2):
    // 4 steps on 3 columns: 0,1,2 then column 0. Stripes cost 8 each:
    // starts 0,1,2, then column 0 at 8 → 16.
    let g = Geometry::Fc { c: 3, f: 3 };
    let w = tern(&[3, 3], 1, &[1; 9]);
    let a = uint8(&[3], &[1, 1, 1]);
    assert_eq!(
        run(g, w, &a, &preset("stripes"), &arr(1, 2, 3, 2, 0)).cycles,
        16
    );
}

#[test]
fn dadiannao_conv_is_window_sets_times_passes_times_steps() {
    // C=3, 4×4, F=7, 2×2 kernel, stride 2: Oy = Ox = 2 → 4 windows; 3 columns → 2 window
    // sets. rows 2 × tiles 2: filter sets ⌈7/2⌉ = 4, passes ⌈4/2⌉ = 2. lanes 2: chunks 2,
    // T = 2·2·2 = 8. Cycles = 2 · 2 · 8 = 32; Stripes with precision 5: 160.
    let conv = Conv {
        c: 3,
        h: 4,
        w: 4,
        f: 7,
        kh: 2,
        kw: 2,
        sh: 2,
        sw: 2,
        ph: 0,
        pw: 0,
        groups: 1,
    };
    let g = Geometry::Conv(conv);
    let w = tern(&[7, 3, 2, 2], 1, &[1; 84]);
    let a = Tensor::int(&[3, 4, 4], 8, false, 5, None, vec![3; 48]).unwrap();
    let ar = arr(2, 2, 3, 2, 0);
    assert_eq!(run(g, w.clone(), &a, &preset("dadiannao"), &ar).cycles, 32);
    let st = run(g, w, &a, &preset("stripes"), &ar);
    assert_eq!(st.cycles, 160);
    // Work: MACs = 7 · 4 · 3 · 4 = 336, each precision 5 × levels 1.
    assert_eq!((st.macs, st.work), (336, 336 * 5));
}

#[test]
fn cnvlutin_sums_each_lane_over_the_window() {
    // 1×1 conv, C = 6, 1×3 input, F = 1; lanes 2 → chunks 3, T = 3; one column, so each
    // window is its own unit. Window 0: every channel nonzero → lane sums 3, 3 → 3.
    // Window 1: only channel 0 → lane 0 sums 1 → 1. Window 2: all zero → min_cycles 1.
    // Cnvlutin = 3 + 1 + 1 = 5; DaDianNao = 3 · 3 = 9.
    let conv = Conv {
        c: 6,
        h: 1,
        w: 3,
        f: 1,
        kh: 1,
        kw: 1,
        sh: 1,
        sw: 1,
        ph: 0,
        pw: 0,
        groups: 1,
    };
    let g = Geometry::Conv(conv);
    let w = tern(&[1, 6, 1, 1], 1, &[1; 6]);
    // A[ch][0][x]
    let mut v = vec![0; 18];
    for ch in 0..6 {
        v[ch * 3] = 1;
    }
    v[1] = 1;
    let a = uint8(&[6, 1, 3], &v);
    let ar = arr(1, 1, 1, 2, 0);
    let cnv = run(g, w.clone(), &a, &preset("cnvlutin"), &ar);
    assert_eq!(cnv.cycles, 5);
    // Work: 7 nonzero activations × 8 bits × weight levels 1.
    assert_eq!(cnv.work, 56);
    assert_eq!(run(g, w, &a, &preset("dadiannao"), &ar).cycles, 9);
}

#[test]
fn mltq_word_skips_pairs_with_a_zero_word_on_either_side() {
    // FC, lanes 2: lane 0 has a zero activation, lane 1 a zero weight → both pairs cost 0,
    // the PE spends min_cycles = 1. MLB spends 2 · 3 = 6.
    let g = Geometry::Fc { c: 2, f: 1 };
    let w = tern(&[1, 2], 2, &[1, -1, 0, 0]);
    let a = tern(&[2], 3, &[0, 0, 0, 1, 0, 1]);
    let ar = arr(1, 1, 1, 2, 0);
    let word = run(g, w.clone(), &a, &preset("mltq-word"), &ar);
    assert_eq!((word.cycles, word.work), (1, 0));
    assert_eq!(run(g, w, &a, &preset("mlb"), &ar).cycles, 6);
}

#[test]
fn mltq_word_finds_the_best_filter_past_denser_ones() {
    // 1×1 conv, one lane: C = 20 channels are 20 steps. Activations nonzero on
    // channels 0..10 (10 steps). Filters 0–7 are nonzero everywhere but channel 0
    // (19 steps each, 9 shared with the activations); filter 8 exactly on 0..10 (10
    // steps, all 10 shared). One PE row per filter, one pass: the unit costs the max
    // over filters of the shared steps, 10 (K = 1 · 1 plane); a search that stopped at
    // the denser filters would find 9. MLB: 20 steps · 1 · 1 plane = 20.
    let g = Geometry::Conv(Conv::square(20, (1, 1), 9, 1, 1, 0, 1));
    let mut w = Vec::new();
    for f in 0..9 {
        w.extend((0..20).map(|c| if f < 8 { (c > 0) as i8 } else { (c < 10) as i8 }));
    }
    let w = tern(&[9, 20, 1, 1], 1, &w);
    let a: Vec<i8> = (0..20).map(|c| (c < 10) as i8).collect();
    let a = tern(&[20, 1, 1], 1, &a);
    let ar = arr(1, 9, 1, 1, 0);
    let word = run(g, w.clone(), &a, &preset("mltq-word"), &ar);
    assert_eq!(word.cycles, 10);
    assert_eq!(run(g, w, &a, &preset("mlb"), &ar).cycles, 20);
}

#[test]
fn pragmatic_first_stage_limits_the_shift_reach() {
    // Activations 5 (terms at 0, 2) and 2 (term at 1) on two lanes of one step.
    // Pragmatic: max terms = 2. B = 0: rounds at base 0, 1, 2 → 3. B = 1: [0,1] then
    // [2,3] → 2.
    let g = Geometry::Fc { c: 2, f: 1 };
    let w = tern(&[1, 2], 1, &[1, 1]);
    let a = uint8(&[2], &[5, 2]);
    let ar = arr(1, 1, 1, 2, 0);
    assert_eq!(run(g, w.clone(), &a, &preset("pragmatic"), &ar).cycles, 2);
    let b = |bits| Scheme {
        serial: Serial::Act,
        skip_act: Skip::Term,
        first_stage_bits: Some(bits),
        ..Scheme::custom("p")
    };
    assert_eq!(run(g, w.clone(), &a, &b(0), &ar).cycles, 3);
    assert_eq!(run(g, w, &a, &b(1), &ar).cycles, 2);
}

#[test]
fn term_encodings_change_the_serial_cost() {
    // 7 = 0b111: plain 3 terms; NAF 8 − 1: 2; Booth (DNNsim) terms at 3 and 0: 2.
    let g = Geometry::Fc { c: 1, f: 1 };
    let w = tern(&[1, 1], 1, &[1]);
    let a = uint8(&[1], &[7]);
    let one = arr(1, 1, 1, 1, 0);
    let with = |te| Scheme {
        term_encoding: te,
        ..preset("pragmatic")
    };
    assert_eq!(
        run(g, w.clone(), &a, &with(TermEncoding::Plain), &one).cycles,
        3
    );
    assert_eq!(
        run(g, w.clone(), &a, &with(TermEncoding::Naf), &one).cycles,
        2
    );
    assert_eq!(run(g, w, &a, &with(TermEncoding::Booth), &one).cycles, 2);
}

#[test]
fn depthwise_groups_run_one_after_the_other() {
    // C = F = groups = 2, 1×1 kernel on 1×1: each group has 1 window, 1 pass, 1 step.
    // MLB with 2-level weights and 8-bit activations: 16 per group → 32.
    let conv = Conv {
        c: 2,
        h: 1,
        w: 1,
        f: 2,
        kh: 1,
        kw: 1,
        sh: 1,
        sw: 1,
        ph: 0,
        pw: 0,
        groups: 2,
    };
    let g = Geometry::Conv(conv);
    let w = tern(&[2, 1, 1, 1], 2, &[1, 0, -1, 1]);
    let a = uint8(&[2, 1, 1], &[3, 0]);
    let ar = arr(1, 1, 1, 4, 0);
    assert_eq!(run(g, w.clone(), &a, &preset("mlb"), &ar).cycles, 32);
    // Laconic: group 0: weight terms 1 × act popcount(3) = 2 → 2; group 1: act 0 → 0,
    // min_cycles → 1. Total 3.
    assert_eq!(run(g, w, &a, &preset("laconic"), &ar).cycles, 3);
}

#[test]
fn padding_costs_mlb_its_planes_but_not_mltq_bit() {
    // 1×1 input, 3×3 kernel, pad 1: one window whose 9 steps see 8 padding positions.
    // C = 1, lanes 1: T = 9. MLB (1-level weights, 2-level acts): 9 · 2 = 18.
    // MLTQ-bit: only the centre step has work (1 · 1); the 8 padding steps cost the
    // minimum 1 → 9.
    let conv = Conv {
        c: 1,
        h: 1,
        w: 1,
        f: 1,
        kh: 3,
        kw: 3,
        sh: 1,
        sw: 1,
        ph: 1,
        pw: 1,
        groups: 1,
    };
    let g = Geometry::Conv(conv);
    let w = tern(&[1, 1, 3, 3], 1, &[1; 9]);
    let a = tern(&[1, 1, 1], 2, &[1, 0]);
    let ar = arr(1, 1, 1, 1, 0);
    let mlb = run(g, w.clone(), &a, &preset("mlb"), &ar);
    assert_eq!((mlb.cycles, mlb.work), (18, 18));
    let bit = run(g, w, &a, &preset("mltq-bit"), &ar);
    assert_eq!((bit.cycles, bit.work), (9, 1));
}

#[test]
fn column_registers_let_columns_drift() {
    // Cnvlutin, 1×1 conv, C = 2 on lanes 1 (T = 2), 1×4 input, 2 columns → 2 window sets.
    // Window sums: x0 = 2, x1 = 0 → 1 (min), x2 = 0 → 1, x3 = 2.
    // Lock-step: unit 0 = max(2, 1) = 2, unit 1 = max(1, 2) = 2 → 4.
    // One register: col0 = 2 + 1 = 3, col1 = 1 + 2 = 3 → 3.
    let conv = Conv {
        c: 2,
        h: 1,
        w: 4,
        f: 1,
        kh: 1,
        kw: 1,
        sh: 1,
        sw: 1,
        ph: 0,
        pw: 0,
        groups: 1,
    };
    let g = Geometry::Conv(conv);
    let w = tern(&[1, 2, 1, 1], 1, &[1, 1]);
    let a = uint8(&[2, 1, 4], &[1, 0, 0, 1, 1, 0, 0, 1]);
    assert_eq!(
        run(g, w.clone(), &a, &preset("cnvlutin"), &arr(1, 1, 2, 1, 0)).cycles,
        4
    );
    assert_eq!(
        run(g, w, &a, &preset("cnvlutin"), &arr(1, 1, 2, 1, 1)).cycles,
        3
    );
}

#[test]
fn planes_overrides_replace_levels_everywhere() {
    // MLB with 4 activation and 3 weight planes on 1-level data: 12 per step, work 12.
    let g = Geometry::Fc { c: 1, f: 1 };
    let w = tern(&[1, 1], 1, &[1]);
    let a = tern(&[1], 1, &[1]);
    let s = Scheme {
        planes_act: Some(4),
        planes_weight: Some(3),
        ..preset("mlb")
    };
    let r = run(g, w, &a, &s, &arr(1, 1, 1, 1, 0));
    assert_eq!((r.cycles, r.work), (12, 12));
}

// Weight scheduling (docs/weight-scheduling.md): hand-derived cases.

fn scheduled(base: &str, shape: PatternShape, h: u32, d: u32) -> Scheme {
    Scheme {
        name: format!("{base}-sched"),
        weight_schedule: Some(WeightSchedule {
            shape,
            lookahead: h,
            lookaside: d,
        }),
        ..preset(base)
    }
}

#[test]
fn spec_example_promoted_mltq_weight_costs_one_times_two() {
    // FC, C = 4 on 2 lanes: step 0 holds channels 0, 1, step 1 channels 2, 3; one PE.
    // Weights (2-level ternary): ch0 (+1, 0), ch1 zero, ch2 (+1, 0), ch3 zero.
    // L(1,1): slot (0, lane 1) is zero; its candidates in order are (1, −1) → step 1,
    // lane 0 (nonzero) and (1, 0) → step 1, lane 1 (zero): it takes step 1's lane 0,
    // "from step t + 1, lane l − 1". Step 1 is then a zero line and is skipped.
    // Activations (3-level ternary): ch0 (+1, 0, 0): 1 term; ch2 (+1, −1, 0): 2 terms.
    // The one call: lane 0 pairs ch0: 1·1; lane 1 pairs the promoted weight with
    // step 1, lane 0's activation ch2: 1·2 = 2. PE cost 2 → 2 cycles.
    let g = Geometry::Fc { c: 4, f: 1 };
    let w = tern(&[1, 4], 2, &[1, 0, 0, 0, 1, 0, 0, 0]);
    let a = tern(&[4], 3, &[1, 0, 0, 0, 0, 0, 1, -1, 0, 1, 1, 1]);
    let one = arr(1, 1, 1, 2, 0);
    let bt = run(
        g,
        w.clone(),
        &a,
        &scheduled("mltq-bit", PatternShape::L, 1, 1),
        &one,
    );
    assert_eq!(bt.cycles, 2);
    let c = bt.schedule.unwrap();
    assert_eq!((c.kept_steps, c.steps, c.promoted), (1, 2, 1));
    // Work and busy: 1·1 + 1·2; zero weights none (ch3's activation has 3 terms).
    assert_eq!((bt.work, bt.busy_lane_cycles), (3, 3));
    // Without the schedule: step 0 costs 1, step 1 costs 2, one column: 1 + 2 = 3.
    let plain = run(g, w, &a, &preset("mltq-bit"), &one);
    assert_eq!((plain.cycles, plain.schedule), (3, None));
}

#[test]
fn promotion_wraps_around_the_lanes() {
    // FC, C = 8 on 4 lanes, one PE: step 0 = ch 0..3, step 1 = ch 4..7.
    // Weights (1-level ternary, x = nonzero): step 0 ". x x x", step 1 ". . . x".
    // L(1,1): slot (0, lane 0)'s candidates are (1, −1) → lane −1 + 4 = 3 of step 1
    // (nonzero) and (1, 0) → lane 0 of step 1 (zero): it takes step 1's lane 3, across
    // the wrap. Step 1 is then a zero line, skipped. DaDianNao + schedule: one call of
    // 1 cycle; without: 2.
    let g = Geometry::Fc { c: 8, f: 1 };
    let w = tern(&[1, 8], 1, &[0, 1, 1, 1, 0, 0, 0, 1]);
    let a = uint8(&[8], &[1; 8]);
    let one = arr(1, 1, 1, 4, 0);
    let bt = run(
        g,
        w.clone(),
        &a,
        &scheduled("dadiannao", PatternShape::L, 1, 1),
        &one,
    );
    assert_eq!(bt.cycles, 1);
    assert_eq!(bt.schedule.unwrap().promoted, 1);
    // With T(1,1) the only lookaside is (1, +1): lane 0 looks at step 1's lane 1 (zero)
    // and takes nothing; lane 3 is not zero. Both steps stay: 2 cycles.
    let t11 = run(
        g,
        w,
        &a,
        &scheduled("dadiannao", PatternShape::T, 1, 1),
        &one,
    );
    assert_eq!((t11.cycles, t11.schedule.unwrap().promoted), (2, 0));
}

#[test]
fn run_of_zero_lines_costs_n_div_h_plus_one_calls() {
    // 1×1 conv, C = 2·(1 + n) on 2 lanes, 2×2 input, one filter, 4 columns: one window
    // set, one pass, T = 1 + n steps. Only step 0 (ch 0, 1) has weights: then n zero
    // lines with nothing to promote. Kept: step 0 and ⌊n/(h+1)⌋ of the run, so
    // bittactical (DaDianNao + schedule, 1 cycle per call) takes 1 + ⌊n/(h+1)⌋ cycles.
    for n in 0..=7usize {
        for h in 1..=3u32 {
            let c = 2 * (1 + n);
            let conv = Conv {
                c,
                h: 2,
                w: 2,
                f: 1,
                kh: 1,
                kw: 1,
                sh: 1,
                sw: 1,
                ph: 0,
                pw: 0,
                groups: 1,
            };
            let mut d = vec![0i8; c];
            d[0] = 1;
            d[1] = -1;
            let w = tern(&[1, c, 1, 1], 1, &d);
            let a = uint8(&[c, 2, 2], &vec![1; c * 4]);
            let s = scheduled("dadiannao", PatternShape::T, h, 1);
            let r = run(Geometry::Conv(conv), w, &a, &s, &arr(1, 1, 4, 2, 0));
            let want = 1 + n as u64 / (h as u64 + 1);
            assert_eq!(r.cycles, want, "n {n} h {h}");
            assert_eq!(r.schedule.unwrap().kept_steps, want);
        }
    }
}

#[test]
fn tiles_of_a_pass_take_their_own_kept_steps_in_each_call() {
    // FC, C = 6 on 2 lanes (T = 3), F = 2 filters on 2 tiles × 1 row: one pass, each
    // tile its own buffer set. Filter 0 has weights at steps 0 and 2 (ch 0, ch 4),
    // filter 1 only at step 1 (ch 3). T(1,1) (offsets (1,0), (1,+1)):
    // set 0: step 0's zero lane 1 looks at (1, lane 1) and (1, lane 2 − 2 = 0): both
    //   zero; step 1 is a zero line, skipped (z = 0 < h = 1); step 2 kept: K = [0, 2].
    // set 1: step 0 is a zero line, skipped; step 1 (ch 3 in lane 1): its zero lane 0
    //   looks at (2, lane 0) and (2, lane 1), both zero; step 2 is skipped: K = [1].
    // Calls: max(2, 1) = 2. Stripes (act precision 8, weights parallel): each call
    // costs 8 wherever a tile has a step: 2 · 8 = 16; without the schedule 3 · 8 = 24.
    let g = Geometry::Fc { c: 6, f: 2 };
    let w = tern(&[2, 6], 1, &[1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0]);
    let a = uint8(&[6], &[1; 6]);
    let ar = arr(2, 1, 1, 2, 0);
    let st = run(
        g,
        w.clone(),
        &a,
        &scheduled("stripes", PatternShape::T, 1, 1),
        &ar,
    );
    assert_eq!(st.cycles, 16);
    assert_eq!(st.schedule.unwrap().kept_steps, 2);
    assert_eq!(run(g, w, &a, &preset("stripes"), &ar).cycles, 24);
}
