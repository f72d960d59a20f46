//! The window-synchronous PE (Cnvlutin, MLTQ-word): lanes run decoupled over all steps
//! of a window set, so a PE's cost is the max over lanes of the lane's summed pair cost.
//!
//! Four ways to compute a column's cost, all equal to the direct sum (tests):
//! - constant weights K: K times the max over lanes of the window's activation factors
//!   summed per lane. A window's steps read a KH×KW box of input positions (all chunks
//!   of each), so per lane the sum is a box sum of per-position lane sums: O(lanes) per
//!   window from an integral image, not O(steps · lanes); padding adds its factor.
//! - constant activations K: K times the per-lane sums of each filter's weights, the
//!   same for every window;
//! - both factors 0 or a constant (word skipping): K_w·K_a times the max over (filter,
//!   lane) of the number of steps where both are nonzero. The activation flags of 64
//!   consecutive windows (whole window sets: 4 on a 16-column array) are laid out side by
//!   side as bytes of eight u64 words, so adding one step's flags is eight word adds;
//!   a (filter, lane) walks only its nonzero steps and counts for all 64 windows at
//!   once: the work is the weights' nonzero count per 64 windows, MACs × weight
//!   density / 64 word-adds of 8 windows in all;
//! - otherwise, the direct sum over steps.

use super::columns::Units;
use super::conv::{Group, IDLE, PAD};
use super::operand::lut;
use super::SchemeOps;

/// Run one window-synchronous scheme's units (window set, pass) of a group.
pub(super) fn run(grp: &Group, s: &SchemeOps, cols: &mut impl Units) {
    let (ra, rw) = (s.act_rule, s.weight_rule);
    if let Some(kw) = rw.constant_cycle() {
        constant_weights(grp, s, cols, kw);
    } else if let Some(ka) = ra.constant_cycle() {
        constant_acts(grp, s, cols, ka);
    } else if let (Some(kw), Some(ka)) = (rw.zero_or(), ra.zero_or()) {
        word_both(grp, s, cols, kw * ka);
    } else {
        general(grp, s, cols);
    }
}

/// Per position, the activation factors summed over chunks, per lane, as an integral
/// image: `[(iy·(W+1) + ix)·lanes + l]` = Σ over positions above and left of (iy, ix).
pub(super) fn lane_integral(grp: &Group, a_cf: &[u8]) -> Vec<u64> {
    let b = &grp.b;
    let (w1, ln, cp) = (b.w + 1, b.lanes, b.padded_channels());
    let mut integ = vec![0u64; (b.h + 1) * w1 * ln];
    let mut ps = vec![0u64; ln];
    for iy in 0..b.h {
        for ix in 0..b.w {
            let pos = iy * b.w + ix;
            ps.fill(0);
            for brick in a_cf[pos * cp..(pos + 1) * cp].chunks_exact(ln) {
                for (s, &v) in ps.iter_mut().zip(brick) {
                    *s += v as u64;
                }
            }
            let (up, here) = (iy * w1 + ix, (iy + 1) * w1 + ix);
            for l in 0..ln {
                integ[(here + 1) * ln + l] =
                    ps[l] + integ[(up + 1) * ln + l] + integ[here * ln + l] - integ[up * ln + l];
            }
        }
    }
    integ
}

/// Per lane, the activation factors of window n summed over its steps, from the
/// integral image; `pad` is the factor of the padding.
pub(super) fn window_lane_sums(grp: &Group, integ: &[u64], pad: u8, n: usize, out: &mut [u64]) {
    let b = &grp.b;
    let (oy, ox) = b.window(n);
    let (ya, yb) = (
        (oy * b.sh).saturating_sub(b.ph),
        (oy * b.sh + b.kh).saturating_sub(b.ph).min(b.h),
    );
    let (xa, xb) = (
        (ox * b.sw).saturating_sub(b.pw),
        (ox * b.sw + b.kw).saturating_sub(b.pw).min(b.w),
    );
    let (w1, ln) = (b.w + 1, b.lanes);
    let inside = if ya < yb && xa < xb {
        (yb - ya) * (xb - xa)
    } else {
        0
    };
    let pads = ((b.kh * b.kw - inside) * b.chunks) as u64 * pad as u64;
    for (l, o) in out.iter_mut().enumerate() {
        *o = pads;
        if inside > 0 {
            let at = |y: usize, x: usize| integ[(y * w1 + x) * ln + l];
            *o += at(yb, xb) + at(ya, xa) - at(ya, xb) - at(yb, xa);
        }
    }
}

fn constant_weights(grp: &Group, s: &SchemeOps, cols: &mut impl Units, kw: u32) {
    let la = lut(&s.act_rule);
    let a_cf: Vec<u8> = grp.act_terms(s.a).iter().map(|&t| la[t as usize]).collect();
    let integ = lane_integral(grp, &a_cf);
    let cn = grp.array.columns;
    let mut sums = vec![0u64; grp.b.lanes];
    let mut per_col = vec![0u32; cn];
    for set in 0..grp.window_sets() {
        for (c, slot) in per_col.iter_mut().enumerate() {
            *slot = match grp.window_of(set, c) {
                None => 0,
                Some(n) => {
                    window_lane_sums(grp, &integ, la[0], n, &mut sums);
                    let m = sums.iter().copied().max().unwrap_or(0);
                    ((kw as u64 * m) as u32).max(s.min_cycles)
                }
            };
        }
        // Every pass of a set costs the same.
        cols.repeat(&per_col, grp.passes());
    }
}

fn constant_acts(grp: &Group, s: &SchemeOps, cols: &mut impl Units, ka: u32) {
    let lw = lut(&s.weight_rule);
    let b = &grp.b;
    let (ln, kk) = (b.lanes, b.kh * b.kw);
    let terms = &grp.ops.weight_terms[s.w].1;
    // Lanes past Cg hold the padding factor at every step of their chunks.
    let pad_steps: Vec<u64> = (0..ln)
        .map(|l| ((0..b.chunks).filter(|k| k * ln + l >= b.cg).count() * kk) as u64)
        .collect();
    let mut sums = vec![0u64; ln];
    let per_pass: Vec<u32> = (0..grp.passes())
        .map(|p| {
            let (f0, f1) = grp.pass_filters(p);
            let m = (f0..f1)
                .map(|f| {
                    let row = &terms[(grp.f0 + f) * b.cg * kk..][..b.cg * kk];
                    for (s, &n) in sums.iter_mut().zip(&pad_steps) {
                        *s = n * lw[0] as u64;
                    }
                    for (c, ts) in row.chunks_exact(kk).enumerate() {
                        sums[c % ln] += ts.iter().map(|&t| lw[t as usize] as u64).sum::<u64>();
                    }
                    sums.iter().copied().max().unwrap_or(0)
                })
                .max()
                .unwrap_or(0);
            ((ka as u64 * m) as u32).max(s.min_cycles)
        })
        .collect();
    if cols.lockstep() {
        // Every set has a window in column 0, and costs the same.
        let per_set: u64 = per_pass.iter().map(|&c| c as u64).sum();
        cols.add_lockstep(per_set * grp.window_sets() as u64);
        return;
    }
    let mut cost = vec![0u32; grp.array.columns];
    for set in 0..grp.window_sets() {
        for &pc in &per_pass {
            for (c, slot) in cost.iter_mut().enumerate() {
                *slot = if grp.window_of(set, c).is_some() {
                    pc
                } else {
                    0
                };
            }
            cols.unit(&cost);
        }
    }
}

/// The steps where each (filter, lane) of a group has a nonzero weight term, as
/// compressed lists: those of (f, l) are `steps[start[f·lanes + l]..start[f·lanes + l + 1]]`.
pub(super) struct NonzeroSteps {
    start: Vec<usize>,
    steps: Vec<u32>,
}

impl NonzeroSteps {
    /// Built from the tensor's own order, for weight key `w`.
    pub fn new(grp: &Group, w: usize) -> NonzeroSteps {
        let b = &grp.b;
        let (ln, kk) = (b.lanes, b.kh * b.kw);
        let terms = &grp.ops.weight_terms[w].1;
        // Step of kernel offset ky·KW + kx in chunk 0.
        let step0: Vec<u32> = (0..kk)
            .map(|i| (((i % b.kw) * b.kh + i / b.kw) * b.chunks) as u32)
            .collect();
        // Per lane, room for every step of a filter; the nonzero ones are kept without
        // a branch per weight, then appended lane by lane.
        let mut lists = vec![0u32; ln * b.steps];
        let mut lens = vec![0usize; ln];
        let mut start = Vec::with_capacity(grp.fg * ln + 1);
        let mut steps: Vec<u32> = Vec::with_capacity(grp.fg * b.cg * kk);
        start.push(0);
        for f in 0..grp.fg {
            let row = &terms[(grp.f0 + f) * b.cg * kk..][..b.cg * kk];
            lens.fill(0);
            if kk == 1 {
                // 1×1 kernels: step = chunk.
                for (k, chunk) in row.chunks(ln).enumerate() {
                    for ((&t, list), len) in chunk
                        .iter()
                        .zip(lists.chunks_exact_mut(b.steps))
                        .zip(lens.iter_mut())
                    {
                        list[*len] = k as u32;
                        *len += (t != 0) as usize;
                    }
                }
            } else {
                for (k, chunk) in row.chunks(ln * kk).enumerate() {
                    for ((ts, list), len) in chunk
                        .chunks_exact(kk)
                        .zip(lists.chunks_exact_mut(b.steps))
                        .zip(lens.iter_mut())
                    {
                        for (&t, &s0) in ts.iter().zip(&step0) {
                            list[*len] = s0 + k as u32;
                            *len += (t != 0) as usize;
                        }
                    }
                }
            }
            for (l, &len) in lens.iter().enumerate() {
                steps.extend_from_slice(&lists[l * b.steps..l * b.steps + len]);
                start.push(steps.len());
            }
        }
        NonzeroSteps { start, steps }
    }

    /// The nonzero steps of filter f, lane l.
    #[inline]
    pub fn get(&self, lanes: usize, f: usize, l: usize) -> &[u32] {
        &self.steps[self.start[f * lanes + l]..self.start[f * lanes + l + 1]]
    }
}

/// Windows counted side by side: byte counters in 8 u64 words.
const GROUP: usize = 64;

/// Byte counters of 64 windows: byte i of word w counts window 8·w + i.
type Counts = [u64; 8];

#[inline(never)]
fn word_both(grp: &Group, s: &SchemeOps, cols: &mut impl Units, k: u32) {
    let b = &grp.b;
    let (steps, ln, chunks, cn) = (b.steps, b.lanes, b.chunks, grp.array.columns);
    let (sets, passes) = (grp.window_sets(), grp.passes());
    let nz = grp.nonzero_steps(s.w);
    let a = grp.act_terms(s.a);
    // Whole window sets at a time, as many as 64 windows hold (one when columns > 64),
    // so that each walk of a (filter, lane)'s nonzero steps counts for all of them.
    let per_group = (GROUP / cn).clamp(1, sets.max(1));
    let gn = (per_group * cn).div_ceil(GROUP);
    // acol[(l·steps + t)·gn + g]: byte (window mod 8) of word (window mod 64)/8 is 1
    // when the window's act factor at (t, l) is nonzero.
    let mut acol = vec![[0u64; 8]; ln * steps * gn];
    let mut best7 = vec![[0u64; 8]; gn];
    let mut wide = vec![0u32; gn * GROUP];
    let mut costs = vec![0u32; per_group * passes * cn];
    let mut slots = Vec::new();
    for s0 in (0..sets).step_by(per_group) {
        let s1 = (s0 + per_group).min(sets);
        acol.fill([0; 8]);
        for set in s0..s1 {
            grp.set_slots(set, &mut slots);
            for c in 0..cn {
                let i = (set - s0) * cn + c;
                let (g, w, shift) = (i / GROUP, (i % GROUP) / 8, 8 * (i % 8));
                for (kyx, sl) in slots.chunks_exact(cn).enumerate() {
                    let pos = sl[c];
                    if pos == IDLE || pos == PAD {
                        // The padding's factor is 0 under word skipping.
                        continue;
                    }
                    for kc in 0..chunks {
                        let t = kyx * chunks + kc;
                        let brick = &a[grp.brick_offset(pos, kc)..][..ln];
                        for (l, &v) in brick.iter().enumerate() {
                            acol[(l * steps + t) * gn + g][w] |= ((v != 0) as u64) << shift;
                        }
                    }
                }
            }
        }
        for p in 0..passes {
            let (f0, f1) = grp.pass_filters(p);
            best7.fill([0; 8]);
            wide.fill(0);
            for l in 0..ln {
                let col = &acol[l * steps * gn..(l + 1) * steps * gn];
                for f in f0..f1 {
                    let list = nz.get(ln, f, l);
                    if list.len() <= 127 {
                        count_max7(col, gn, list, &mut best7);
                    } else {
                        count_max32(col, gn, list, &mut wide);
                    }
                }
            }
            for set in s0..s1 {
                for c in 0..cn {
                    let i = (set - s0) * cn + c;
                    let byte = (best7[i / GROUP][(i % GROUP) / 8] >> (8 * (i % 8))) & 0xff;
                    let best = (byte as u32).max(wide[i]);
                    costs[((set - s0) * passes + p) * cn + c] = match grp.window_of(set, c) {
                        None => 0,
                        Some(_) => ((k as u64 * best as u64) as u32).max(s.min_cycles),
                    };
                }
            }
        }
        // Units in the loop nest's order: window set, then pass.
        for unit in costs[..(s1 - s0) * passes * cn].chunks_exact(cn) {
            cols.unit(unit);
        }
    }
}

/// best = max(best, Σ over `list` of col[t]) per window, for flags of 0 or 1 and lists
/// of at most 127 steps: every count fits in 7 bits, so the counts are summed as bytes
/// of u64 words (no byte ever carries into the next) and the max is taken bytewise in
/// the words too. `col` holds `gn` groups of counters per step.
#[inline]
fn count_max7(col: &[Counts], gn: usize, list: &[u32], best: &mut [Counts]) {
    debug_assert!(list.len() <= 127);
    if gn == 1 {
        let mut acc = [0u64; 8];
        for &t in list {
            let v = &col[t as usize];
            for i in 0..8 {
                acc[i] = acc[i].wrapping_add(v[i]);
            }
        }
        for i in 0..8 {
            best[0][i] = max7(best[0][i], acc[i]);
        }
        return;
    }
    for (g, best) in best.iter_mut().enumerate() {
        let mut acc = [0u64; 8];
        for &t in list {
            let v = &col[t as usize * gn + g];
            for i in 0..8 {
                acc[i] = acc[i].wrapping_add(v[i]);
            }
        }
        for i in 0..8 {
            best[i] = max7(best[i], acc[i]);
        }
    }
}

/// Bytewise max of two words whose bytes are all below 128: (x | 0x80) − y keeps its
/// high bit exactly where x ≥ y, and never borrows across bytes.
#[inline]
fn max7(x: u64, y: u64) -> u64 {
    const H: u64 = 0x8080_8080_8080_8080;
    let ge = ((x | H) - y) & H;
    let m = (ge >> 7) * 0xff;
    (x & m) | (y & !m)
}

/// `count_max7` for lists of any length, counts in u32 per window.
fn count_max32(col: &[Counts], gn: usize, list: &[u32], best: &mut [u32]) {
    for (g, best) in best.chunks_exact_mut(GROUP).enumerate() {
        let mut acc = [0u32; GROUP];
        for &t in list {
            let v = &col[t as usize * gn + g];
            for (i, a) in acc.iter_mut().enumerate() {
                *a += ((v[i / 8] >> (8 * (i % 8))) & 0xff) as u32;
            }
        }
        for (b, &a) in best.iter_mut().zip(&acc) {
            *b = (*b).max(a);
        }
    }
}

fn general(grp: &Group, s: &SchemeOps, cols: &mut impl Units) {
    let b = &grp.b;
    let (steps, ln, chunks, cn) = (b.steps, b.lanes, b.chunks, grp.array.columns);
    let (la, lw) = (lut(&s.act_rule), lut(&s.weight_rule));
    let a_cf: Vec<u8> = grp.act_terms(s.a).iter().map(|&t| la[t as usize]).collect();
    let w_cf: Vec<u8> = grp
        .weight_terms(s.w)
        .iter()
        .map(|&t| lw[t as usize])
        .collect();
    let pad = vec![la[0]; ln];
    let mut cost = vec![0u32; cn];
    let mut slots = Vec::new();
    let mut sums = vec![0u32; ln];
    for set in 0..grp.window_sets() {
        grp.set_slots(set, &mut slots);
        for p in 0..grp.passes() {
            let (f0, f1) = grp.pass_filters(p);
            for (c, slot) in cost.iter_mut().enumerate() {
                if slots[c] == IDLE {
                    *slot = 0;
                    continue;
                }
                let mut best = 0;
                for f in f0..f1 {
                    sums.fill(0);
                    for t in 0..steps {
                        let pos = slots[(t / chunks) * cn + c];
                        let a = match pos {
                            PAD => &pad[..],
                            _ => &a_cf[grp.brick_offset(pos, t % chunks)..][..ln],
                        };
                        let w = &w_cf[(f * steps + t) * ln..][..ln];
                        for l in 0..ln {
                            sums[l] += a[l] as u32 * w[l] as u32;
                        }
                    }
                    best = best.max(sums.iter().copied().max().unwrap_or(0));
                }
                *slot = best.max(s.min_cycles);
            }
            cols.unit(&cost);
        }
    }
}
