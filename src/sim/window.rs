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
//!   lane) of the number of steps where both are nonzero, from bitsets of nonzero steps
//!   (AND and popcount), visiting the candidates most nonzero steps first and stopping
//!   as soon as neither side's count can beat the best found (see `word_both`);
//! - otherwise, the direct sum over steps.

use std::cell::OnceCell;

use super::columns::Units;
use super::group::{Group, IDLE, PAD};
use super::operand::{lut, Bricks, Linear};
use super::{Operands, SchemeOps};

/// What the window-synchronous schemes of one group share, built on first use, per term
/// key: the nonzero-chunk bitsets of the activations and the nonzero-step bitsets of the
/// weights.
pub(super) struct Shared {
    /// Per act term key: the nonzero chunks of each (input position, lane), as bitsets
    /// of ⌈chunks/64⌉ words at `[(pos·lanes + l)·words]`.
    act_flags: Vec<OnceCell<Vec<u64>>>,
    /// Per weight term key: the nonzero steps of each (filter, lane) as bitsets.
    weight_bits: Vec<OnceCell<WeightBits>>,
}

impl Shared {
    /// Nothing built yet, for the term keys of `ops`.
    pub fn new(ops: &Operands) -> Shared {
        Shared {
            act_flags: (0..ops.act_terms.len()).map(|_| OnceCell::new()).collect(),
            weight_bits: (0..ops.weight_terms.len())
                .map(|_| OnceCell::new())
                .collect(),
        }
    }

    /// Nonzero-chunk bitsets of the activations of act key `a` (see the field).
    pub fn act_flags(&self, grp: &Group, a: usize) -> &[u64] {
        self.act_flags[a].get_or_init(|| chunk_flags(grp, grp.act_terms(a)))
    }

    /// [`Shared::act_flags`] if a scheme has built them already.
    pub fn act_flags_built(&self, a: usize) -> Option<&[u64]> {
        self.act_flags[a].get().map(Vec::as_slice)
    }

    /// The nonzero steps of every (filter, lane) of weight key `w`, as bitsets.
    fn weight_bits(&self, grp: &Group, w: usize) -> &WeightBits {
        self.weight_bits[w].get_or_init(|| WeightBits::new(grp, w))
    }
}

/// Run one window-synchronous scheme's units (window set, pass) of a group.
pub(super) fn run(grp: &Group, win: &Shared, s: &SchemeOps, cols: &mut impl Units) {
    let (ra, rw) = (s.act_rule, s.weight_rule);
    if let Some(kw) = rw.constant_cycle() {
        constant_weights(grp, win, s, cols, kw);
    } else if let Some(ka) = ra.constant_cycle() {
        constant_acts(grp, s, cols, ka);
    } else if let (Some(kw), Some(ka)) = (rw.zero_or(), ra.zero_or()) {
        word_both(grp, win, s, cols, kw * ka);
    } else {
        general(grp, s, cols);
    }
}

/// Per position, the activation cycle factors (`f` of the channel-last terms of act
/// key `a`) summed over chunks, per lane, as an integral image: entry
/// `(iy·(W+1) + ix)·L + l` (L = [`integral_lanes`]) is the sum over the positions
/// above and left of (iy, ix). A factor is α + β·[t > 0] + γ·t, so a position's lane
/// sums are its chunks' nonzero counts and term sums per lane. Without γ (word
/// skipping, Cnvlutin), when a word-skipping scheme of the layer has built the
/// nonzero-chunk bitsets already, the counts are their popcounts; otherwise plain adds
/// over the lanes (vectorized; no table lookup per value).
#[inline(always)]
fn lane_integral(grp: &Group, win: &Shared, a: usize, f: Linear) -> Vec<u64> {
    let b = &grp.b;
    let (w1, ln, cp) = (b.w + 1, b.lanes, b.padded_channels());
    // Lanes of the image (the positions' flags and terms are the brick's).
    let il = integral_lanes(b);
    let mut integ = vec![0u64; (b.h + 1) * w1 * il];
    let (mut nz, mut ts) = (vec![0u32; il], vec![0u32; il]);
    // This position's lane sums, and their running sum along its row.
    let (mut ps, mut run) = (vec![0u64; il], vec![0u64; il]);
    let base = f.alpha * b.chunks as u64;
    let cw = b.chunks.div_ceil(64);
    let flags = (f.gamma == 0 && f.beta != 0)
        .then(|| win.act_flags_built(a))
        .flatten();
    // Terms only where the counts come from them (a constant factor needs neither).
    let terms = (flags.is_none() && (f.beta != 0 || f.gamma != 0)).then(|| grp.act_terms(a));
    for iy in 0..b.h {
        // Row iy + 1 of the image is row iy plus the running sums of input row iy.
        let (above, below) = integ.split_at_mut((iy + 1) * w1 * il);
        let (up, here) = (&above[iy * w1 * il..], &mut below[..w1 * il]);
        run.fill(0);
        for ix in 0..b.w {
            let pos = iy * b.w + ix;
            if let Some(fl) = flags {
                let lanes = &fl[pos * ln * cw..][..ln * cw];
                if cw == 1 {
                    for (p, &w) in ps.iter_mut().zip(lanes) {
                        *p = base + f.beta * w.count_ones() as u64;
                    }
                } else {
                    for (p, lane) in ps.iter_mut().zip(lanes.chunks_exact(cw)) {
                        let n: u32 = lane.iter().map(|w| w.count_ones()).sum();
                        *p = base + f.beta * n as u64;
                    }
                }
            } else if let Some(terms) = terms {
                nz.fill(0);
                ts.fill(0);
                for brick in terms[pos * cp..(pos + 1) * cp].chunks_exact(ln) {
                    for ((n, t), &v) in nz.iter_mut().zip(ts.iter_mut()).zip(brick) {
                        *n += (v != 0) as u32;
                        *t += v as u32;
                    }
                }
                for ((p, &n), &t) in ps.iter_mut().zip(&nz).zip(&ts) {
                    *p = base + f.beta * n as u64 + f.gamma * t as u64;
                }
            } else {
                ps.fill(base);
            }
            let at = (ix + 1) * il..(ix + 2) * il;
            for (((o, &u), r), &p) in here[at.clone()]
                .iter_mut()
                .zip(&up[at])
                .zip(run.iter_mut())
                .zip(&ps)
            {
                *r += p;
                *o = u + *r;
            }
        }
    }
    integ
}

/// Lanes of [`lane_integral`]'s image: with one chunk (a first layer's few colours),
/// only the lanes of the layer's channels. A lane past them has only the constant
/// part α of the factor (its values are 0), at most any real lane's sum, so it never
/// sets the max over lanes; leaving it out shrinks ResNet's first image from 6.5 MB
/// to 1.2 MB.
fn integral_lanes(b: &Bricks) -> usize {
    if b.chunks == 1 {
        b.cg.clamp(1, b.lanes)
    } else {
        b.lanes
    }
}

/// Per lane, the activation factors of window n summed over its steps, from the
/// integral image (`out`: one per lane of the image); `pad` is the factor of the
/// padding.
#[inline(always)]
fn window_lane_sums(grp: &Group, integ: &[u64], pad: u8, n: usize, out: &mut [u64]) {
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
    let (w1, ln) = (b.w + 1, out.len());
    let inside = if ya < yb && xa < xb {
        (yb - ya) * (xb - xa)
    } else {
        0
    };
    let pads = ((b.kh * b.kw - inside) * b.chunks) as u64 * pad as u64;
    if inside == 0 {
        out.fill(pads);
        return;
    }
    let at = |y: usize, x: usize| &integ[(y * w1 + x) * ln..][..ln];
    let (bb, aa, ab, ba) = (at(yb, xb), at(ya, xa), at(ya, xb), at(yb, xa));
    for ((((o, &bb), &aa), &ab), &ba) in out.iter_mut().zip(bb).zip(aa).zip(ab).zip(ba) {
        *o = pads + bb + aa - ab - ba;
    }
}

/// Cnvlutin-like: weights of one cycle factor `kw` (see the module).
fn constant_weights(grp: &Group, win: &Shared, s: &SchemeOps, cols: &mut impl Units, kw: u32) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512vpopcntdq") && has!("avx512vl") && has!("avx512bw") {
            // SAFETY: the CPU has these instructions (checked just above).
            return unsafe { constant_weights_avx512(grp, win, s, cols, kw) };
        }
        if has!("avx2") && has!("popcnt") {
            // SAFETY: as above.
            return unsafe { constant_weights_avx2(grp, win, s, cols, kw) };
        }
    }
    constant_weights_in(grp, win, s, cols, kw)
}

// `constant_weights_in` compiled for wider instruction sets, picked at run time: the
// per-lane counts (`popcnt`, `vpopcntq`) and the per-lane sums of the integral image
// and its window boxes, a vector of lanes at a time. Same code, same results.

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
fn constant_weights_avx2(grp: &Group, win: &Shared, s: &SchemeOps, cols: &mut impl Units, kw: u32) {
    constant_weights_in(grp, win, s, cols, kw)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq,avx512vl,avx512bw,avx2,popcnt")]
fn constant_weights_avx512(
    grp: &Group,
    win: &Shared,
    s: &SchemeOps,
    cols: &mut impl Units,
    kw: u32,
) {
    constant_weights_in(grp, win, s, cols, kw)
}

#[inline(always)]
fn constant_weights_in(grp: &Group, win: &Shared, s: &SchemeOps, cols: &mut impl Units, kw: u32) {
    let la = lut(&s.act_rule);
    let integ = lane_integral(grp, win, s.a, s.act_rule.cycle_linear());
    let cn = grp.array.columns;
    let mut sums = vec![0u64; integral_lanes(&grp.b)];
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

/// Filters per [`lane_flags`] call when the flags are rearranged after it (so that
/// its output stays small).
const FILTER_BLOCK: usize = 64;

/// The steps where each (filter, lane) of a group has a nonzero weight term, as bitsets
/// of ⌈T/64⌉ words (bit t mod 64 of word t div 64 for step t). The entries of (pass p,
/// lane l) are `base..base + n` with `(base, n) = entries(p, l)`.
///
/// - One word (up to 64 steps): per pass and lane, the filters sorted by their nonzero
///   count, most first; entry e has `count[e]` nonzero steps, flagged in `bits[e]`.
/// - More words: `by_word` only, the filters in their own order, word-major per (pass,
///   lane): word i of entry `base + j` at `base·words + i·n + j`, so that one
///   activation word meets the same word of every filter in one loop (every filter is
///   counted there, so no order is needed).
pub(super) struct WeightBits {
    words: usize,
    count: Vec<u32>,
    bits: Vec<u64>,
    by_word: Vec<u64>,
}

impl WeightBits {
    /// Built from the tensor's own order, for weight key `w`.
    pub fn new(grp: &Group, w: usize) -> WeightBits {
        // Compiled with `popcnt` too (the counts), picked at run time.
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU has `popcnt` (checked just above).
            return unsafe { WeightBits::new_popcnt(grp, w) };
        }
        WeightBits::new_in(grp, w)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn new_popcnt(grp: &Group, w: usize) -> WeightBits {
        WeightBits::new_in(grp, w)
    }

    #[inline(always)]
    fn new_in(grp: &Group, w: usize) -> WeightBits {
        let b = &grp.b;
        let (ln, kk) = (b.lanes, b.kh * b.kw);
        let words = b.steps.div_ceil(64).max(1);
        let terms = &grp.ops.weight_terms[w].1;
        let len = b.cg * kk;
        // Per (filter, lane), in filter order.
        let mut raw = vec![0u64; grp.fg * ln * words];
        let rows = &terms[grp.f0 * len..(grp.f0 + grp.fg) * len];
        if kk == 1 && words == 1 {
            // 1×1 kernels: a row is its chunks' bricks, and step = chunk; one word per
            // lane is the layout wanted.
            lane_flags(rows, len, ln, &mut raw);
        } else if kk == 1 {
            // Word-major per filter from `lane_flags`, lane-major here.
            let mut tmp = vec![0u64; FILTER_BLOCK * words * ln];
            for (fb, block) in rows.chunks(FILTER_BLOCK * len).enumerate() {
                let nf = block.len() / len;
                lane_flags(block, len, ln, &mut tmp[..nf * words * ln]);
                for (j, tmp) in tmp[..nf * words * ln].chunks_exact(words * ln).enumerate() {
                    let f = fb * FILTER_BLOCK + j;
                    for l in 0..ln {
                        for wi in 0..words {
                            raw[(f * ln + l) * words + wi] = tmp[wi * ln + l];
                        }
                    }
                }
            }
        } else {
            // A row is `[c][ky·KW + kx]`, c = k·lanes + l: bricks of lanes·KK values,
            // brick k holding (l, kyx) at l·KK + kyx. So its chunk flags per (l, kyx)
            // are one `lane_flags` with lanes·KK lanes, and each goes to its kernel
            // offset's steps q·chunks … (q = kx·KH + ky, the step order), as on the
            // activation side.
            let (lk, cw) = (ln * kk, b.chunks.div_ceil(64));
            let mut flags = vec![0u64; FILTER_BLOCK * cw * lk];
            let mut src = vec![0u64; cw];
            for f in 0..grp.fg {
                let j = f % FILTER_BLOCK;
                if j == 0 {
                    let block = &rows[f * len..(f + FILTER_BLOCK).min(grp.fg) * len];
                    lane_flags(block, len, lk, &mut flags[..block.len() / len * cw * lk]);
                }
                let tmp = &flags[j * cw * lk..][..cw * lk];
                for l in 0..ln {
                    let dst = &mut raw[(f * ln + l) * words..][..words];
                    for ky in 0..b.kh {
                        for kx in 0..b.kw {
                            let (q, lane) = (kx * b.kh + ky, l * kk + ky * b.kw + kx);
                            if cw == 1 && words == 1 {
                                dst[0] |= tmp[lane] << (q * b.chunks);
                            } else if cw == 1 {
                                or_word_at(dst, q * b.chunks, tmp[lane]);
                            } else {
                                for (wi, x) in src.iter_mut().enumerate() {
                                    *x = tmp[wi * lk + lane];
                                }
                                or_at(dst, q * b.chunks, &src);
                            }
                        }
                    }
                }
            }
        }
        if words > 1 {
            let mut by_word = vec![0u64; raw.len()];
            for p in 0..grp.passes() {
                let (f0, f1) = grp.pass_filters(p);
                let n = f1 - f0;
                for l in 0..ln {
                    let base = f0 * ln + l * n;
                    for j in 0..n {
                        let src = &raw[((f0 + j) * ln + l) * words..][..words];
                        for (i, &x) in src.iter().enumerate() {
                            by_word[base * words + i * n + j] = x;
                        }
                    }
                }
            }
            return WeightBits {
                words,
                count: Vec::new(),
                bits: Vec::new(),
                by_word,
            };
        }
        // One word per (filter, lane) from here.
        let count: Vec<u32> = raw.iter().map(|w| w.count_ones()).collect();
        let mut sorted_count = vec![0u32; grp.fg * ln];
        let mut bits = vec![0u64; grp.fg * ln];
        let (mut hist, mut order, mut lane_counts) = (Vec::new(), Vec::new(), Vec::new());
        let mut at = 0;
        for p in 0..grp.passes() {
            let (f0, f1) = grp.pass_filters(p);
            for l in 0..ln {
                lane_counts.clear();
                lane_counts.extend((f0..f1).map(|f| count[f * ln + l]));
                most_first(&lane_counts, b.steps, &mut hist, &mut order);
                let n = order.len();
                for ((&i, c), w) in order
                    .iter()
                    .zip(&mut sorted_count[at..at + n])
                    .zip(&mut bits[at..at + n])
                {
                    let f = f0 + i as usize;
                    (*c, *w) = (lane_counts[i as usize], raw[f * ln + l]);
                }
                at += n;
            }
        }
        WeightBits {
            words,
            count: sorted_count,
            bits,
            by_word: Vec::new(),
        }
    }

    /// max(`best`, the largest number of steps where any of pass p's filters and the
    /// activation lane `act` (`na` nonzero steps) are both nonzero): pruned up to 64
    /// steps, every filter counted above (see `best_overlap`, `max_overlap`).
    #[inline(always)]
    fn beat(&self, grp: &Group, p: usize, l: usize, act: &[u64], na: u32, best: u32) -> u32 {
        if self.words > 1 {
            best.max(self.max_overlap(grp, p, l, act))
        } else {
            self.best_overlap(grp, p, l, act[0], na, best)
        }
    }

    /// The largest number of steps where any of pass p's filters and an activation
    /// lane (`act`) are both nonzero, every filter counted (more than one word: there
    /// the counts' bound rarely prunes). Sixteen filters at a time, their counts kept
    /// in registers over the words (the word-major layout makes each word of sixteen
    /// filters one load), and a running max per filter slot.
    #[inline(always)]
    fn max_overlap(&self, grp: &Group, p: usize, l: usize, act: &[u64]) -> u32 {
        const B: usize = 16;
        let (base, n) = self.entries(grp, p, l);
        let by = &self.by_word[base * self.words..][..n * self.words];
        let full = n - n % B;
        let mut most = [0u64; B];
        for j in (0..full).step_by(B) {
            let mut sum = [0u64; B];
            for (i, &x) in act.iter().enumerate() {
                let Ok(w) = <&[u64; B]>::try_from(&by[i * n + j..i * n + j + B]) else {
                    unreachable!("a block of {B} filters")
                };
                for (s, &y) in sum.iter_mut().zip(w) {
                    *s += u64::from((x & y).count_ones());
                }
            }
            for (m, &s) in most.iter_mut().zip(&sum) {
                *m = (*m).max(s);
            }
        }
        let mut best = most.iter().copied().max().unwrap_or(0) as u32;
        for j in full..n {
            let c = act
                .iter()
                .enumerate()
                .map(|(i, &x)| (x & by[i * n + j]).count_ones())
                .sum::<u32>();
            best = best.max(c);
        }
        best
    }

    /// First entry and number of entries of pass p, lane l.
    #[inline]
    fn entries(&self, grp: &Group, p: usize, l: usize) -> (usize, usize) {
        let (f0, f1) = grp.pass_filters(p);
        let n = f1 - f0;
        (f0 * grp.b.lanes + l * n, n)
    }

    /// The largest number of steps where pass p's filters and an activation lane
    /// (`act`, one word: up to 64 steps, flagged like the weights; `na` of them) are
    /// both nonzero, if above `best`; `best` otherwise. Filters are visited most nonzero
    /// steps first, eight at a time (one AND and count of eight words, which the
    /// compiler vectorizes), and the walk stops at the first eight whose leading count
    /// cannot beat `best`: a filter's overlap is at most its count, so the filters
    /// counted past that point change nothing.
    #[inline(always)]
    fn best_overlap(
        &self,
        grp: &Group,
        p: usize,
        l: usize,
        act: u64,
        na: u32,
        mut best: u32,
    ) -> u32 {
        const B: usize = 8;
        let (base, n) = self.entries(grp, p, l);
        let (count, bits) = (&self.count[base..base + n], &self.bits[base..base + n]);
        let (blocks, rest) = bits.as_chunks::<B>();
        for (j, words) in blocks.iter().enumerate() {
            if count[j * B] <= best {
                return best;
            }
            let mut c = [0u64; B];
            for (c, &w) in c.iter_mut().zip(words) {
                *c = u64::from((act & w).count_ones());
            }
            best = best.max(c.iter().copied().max().unwrap_or(0) as u32);
            if best >= na {
                return best;
            }
        }
        for (&c, &w) in count[n - rest.len()..].iter().zip(rest) {
            if c <= best {
                break;
            }
            best = best.max((act & w).count_ones());
        }
        best
    }
}

/// Rounds of [`Walk`]'s scans before it sorts what is left.
const SCAN_ROUNDS: u32 = 4;

/// A walk over counted entries most count first (equal counts in index order) while
/// their counts beat a rising bound m: for a max over entries whose values are at most
/// their counts, such as word skipping's overlaps.
///
/// Where the bound prunes well (1×1 layers: the first entries reach their counts), a
/// few scans for the largest count left yield the entries in that order with no sort;
/// after `SCAN_ROUNDS` scans (many distinct counts above m) the rest are sorted by
/// [`most_first`]. Either way the entries come in the order of one sorted walk.
#[derive(Default)]
struct Walk {
    /// The counts not yet yielded (yielded ones are 0).
    left: Vec<u32>,
    hist: Vec<u32>,
    order: Vec<u32>,
    /// Scans begun; past `SCAN_ROUNDS`, `order` holds the rest sorted.
    round: u32,
    /// The count scanned for, and the next index to look at (scan), or the next place
    /// in `order` (sorted).
    top: u32,
    at: usize,
}

impl Walk {
    fn start(&mut self, counts: &[u32]) {
        self.left.clear();
        self.left.extend_from_slice(counts);
        (self.round, self.top, self.at) = (0, 0, counts.len());
    }

    /// The next entry and its count, if its count is above `m`.
    #[inline(always)]
    fn next(&mut self, m: u32, max: usize) -> Option<(usize, u32)> {
        const B: usize = 16;
        while self.round <= SCAN_ROUNDS {
            if self.top > m {
                // Past the entries seen this scan, the next with the count scanned for:
                // a block compare (vectorized) before looking at its entries.
                while self.at < self.left.len() {
                    let end = (self.at / B + 1) * B;
                    let block = &self.left[self.at..end.min(self.left.len())];
                    let top = self.top;
                    if block.iter().fold(false, |hit, &n| hit | (n == top)) {
                        let j = block.iter().position(|&n| n == top).expect("just seen");
                        let i = self.at + j;
                        (self.left[i], self.at) = (0, i + 1);
                        return Some((i, top));
                    }
                    self.at = end;
                }
            }
            if self.round == SCAN_ROUNDS {
                // Many distinct counts above m: sort the rest (the yielded ones are 0).
                most_first(&self.left, max, &mut self.hist, &mut self.order);
                (self.round, self.at) = (SCAN_ROUNDS + 1, 0);
                break;
            }
            self.round += 1;
            self.top = self.left.iter().copied().max().unwrap_or(0);
            self.at = 0;
            if self.top <= m {
                return None;
            }
        }
        let &i = self.order.get(self.at)?;
        let n = self.left[i as usize];
        self.at += 1;
        (n > m).then_some((i as usize, n))
    }
}

/// The indices of `counts` (each at most `max`) by count, most first, equal counts in
/// index order (a counting sort: O(n + max)).
fn most_first(counts: &[u32], max: usize, hist: &mut Vec<u32>, out: &mut Vec<u32>) {
    hist.clear();
    hist.resize(max + 2, 0);
    // Count n goes to bucket max − n (most first); hist[j + 1] counts bucket j, so that
    // after the prefix sum hist[j] is bucket j's first place.
    for &n in counts {
        hist[max - n as usize + 1] += 1;
    }
    for i in 1..hist.len() {
        hist[i] += hist[i - 1];
    }
    out.clear();
    out.resize(counts.len(), 0);
    for (i, &n) in counts.iter().enumerate() {
        let slot = &mut hist[max - n as usize];
        out[*slot as usize] = i as u32;
        *slot += 1;
    }
}

/// Per (input position, lane) of the channel-last activation terms `a`: bit k of its
/// ⌈chunks/64⌉ words set when chunk k's value is nonzero.
///
/// Under 8 chunks (a batch of `lane_flags`) a position's lanes are one word each,
/// OR-ed brick by brick: one loop over the lanes that the compiler vectorizes, with no
/// per-position setup. From 8, `lane_flags` per position.
pub(super) fn chunk_flags(grp: &Group, a: &[u8]) -> Vec<u64> {
    let b = &grp.b;
    let (ln, cp, cw) = (b.lanes, b.padded_channels(), b.chunks.div_ceil(64));
    let mut flags = vec![0u64; b.h * b.w * ln * cw];
    if b.chunks < 8 {
        for (out, bricks) in flags.chunks_exact_mut(ln).zip(a.chunks_exact(cp)) {
            for (k, brick) in bricks.chunks_exact(ln).enumerate() {
                for (w, &v) in out.iter_mut().zip(brick) {
                    *w |= ((v != 0) as u64) << k;
                }
            }
        }
        return flags;
    }
    if cw == 1 {
        // `lane_flags`' layout.
        lane_flags(a, cp, ln, &mut flags);
        return flags;
    }
    // Word-major per position from `lane_flags`, lane-major here.
    let mut tmp = vec![0u64; cw * ln];
    for (pos, out) in flags.chunks_exact_mut(ln * cw).enumerate() {
        lane_flags(&a[pos * cp..(pos + 1) * cp], cp, ln, &mut tmp);
        for (l, lane) in out.chunks_exact_mut(cw).enumerate() {
            for (wi, word) in lane.iter_mut().enumerate() {
                *word = tmp[wi * ln + l];
            }
        }
    }
    flags
}

/// Chunk flags of each row of `bricks` (rows of `row` bytes: consecutive bricks of `ln`
/// values, the last one maybe short): for brick k of row r, bit k mod 64 of
/// `out[r·w·ln + (k div 64)·ln + l]` set when its lane l is nonzero, where w =
/// max(1, ⌈⌈row/ln⌉/64⌉) words per lane and row.
///
/// Whole bricks of whole groups of eight lanes take [`lane_flags_vbmi`] where the CPU
/// has AVX-512 VBMI, [`lane_flags_portable`] otherwise. Many rows in one call: one
/// dispatch and setup for all.
#[inline]
fn lane_flags(bricks: &[u8], row: usize, ln: usize, out: &mut [u64]) {
    let w = row.div_ceil(ln).div_ceil(64).max(1);
    if bricks.is_empty() {
        out.fill(0);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if ln.is_multiple_of(8) && row.is_multiple_of(ln) && has_vbmi() {
        // SAFETY: the CPU has these instructions (checked just above).
        return unsafe { lane_flags_vbmi(bricks, row, ln, out) };
    }
    for (r, o) in bricks.chunks_exact(row).zip(out.chunks_exact_mut(w * ln)) {
        lane_flags_portable(r, ln, o);
    }
}

/// Whether the CPU has what [`lane_flags_vbmi`] is compiled for.
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_vbmi() -> bool {
    use std::arch::is_x86_feature_detected as has;
    has!("avx512f") && has!("avx512bw") && has!("avx512vbmi")
}

/// Byte 8i + j of the result is byte 8j + i of the source (`vpermb` index): the 8×8
/// transpose of a vector's bytes read as eight rows of eight.
#[cfg(target_arch = "x86_64")]
static TRANSPOSE8: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut p = 0;
    while p < 64 {
        t[p] = ((p % 8) * 8 + p / 8) as u8;
        p += 1;
    }
    t
};

/// `vpermt2b` indices for 16-lane bricks: byte 8i + j of the result is lane 8g + i of
/// brick j among the eight bricks of two vectors (source byte 16j + 8g + i), for
/// g = 0, 1.
#[cfg(target_arch = "x86_64")]
static GATHER16: [[u8; 64]; 2] = {
    let mut t = [[0u8; 64]; 2];
    let mut g = 0;
    while g < 2 {
        let mut p = 0;
        while p < 64 {
            t[g][p] = (16 * (p % 8) + 8 * g + p / 8) as u8;
            p += 1;
        }
        g += 1;
    }
    t
};

/// [`lane_flags`] of whole bricks of whole groups of eight lanes, with AVX-512: per
/// group of eight lanes and batch of eight bricks, the 64 bytes are put lane-major
/// (byte 8i + j: lane i of brick j; one `vpermt2b` straight from 16-lane bricks, else
/// the eight lanes of each brick and a `vpermb`), so that one `vptestmb` yields each
/// lane's flags of the batch as a byte. The eight batches of a word, transposed as
/// bytes (`vpermb`), are the group's eight lane words.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
fn lane_flags_vbmi(bricks: &[u8], row: usize, ln: usize, out: &mut [u64]) {
    // One build per brick width that loads differently.
    // SAFETY: this function has the features `lane_flags_in` uses.
    unsafe {
        match ln {
            8 => lane_flags_in::<8>(bricks, row, ln, out),
            16 => lane_flags_in::<16>(bricks, row, ln, out),
            _ => lane_flags_in::<0>(bricks, row, ln, out),
        }
    }
}

/// [`lane_flags_vbmi`] for bricks of `LN` lanes (0: any multiple of 8, `ln`).
///
/// # Safety
/// The CPU has AVX-512F, BW and VBMI; `ln` is a multiple of 8 that divides `row`
/// (and equals `LN` unless that is 0).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn lane_flags_in<const LN: usize>(bricks: &[u8], row: usize, ln: usize, out: &mut [u64]) {
    use std::arch::x86_64::{
        __m512i, _mm512_loadu_si512, _mm512_maskz_loadu_epi8, _mm512_permutex2var_epi8,
        _mm512_permutexvar_epi8, _mm512_setr_epi64, _mm512_setzero_si512, _mm512_storeu_si512,
        _mm512_test_epi8_mask,
    };
    // The low `n` bits set (n ≤ 64).
    let low = |n: usize| if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
    let nb = row / ln;
    let w = nb.div_ceil(64).max(1);
    // SAFETY (every access below): loads touch only the bytes of the batch's bricks
    // (masked loads mask the rest off), all inside the row; the tables are 64 bytes;
    // stores go to eight words of the row's `out`.
    unsafe {
        let tr = _mm512_loadu_si512(TRANSPOSE8.as_ptr().cast());
        let g16 = [
            _mm512_loadu_si512(GATHER16[0].as_ptr().cast()),
            _mm512_loadu_si512(GATHER16[1].as_ptr().cast()),
        ];
        let mut m = [0u64; 8];
        for (bricks, out) in bricks.chunks_exact(row).zip(out.chunks_exact_mut(w * ln)) {
            let src = bricks.as_ptr();
            // Eight lanes (bytes at `at`) of a brick, 0 past the batch's `n` bricks.
            let qword = |at: usize, j: usize, n: usize| -> i64 {
                if j < n {
                    i64::from_le_bytes(bricks[at + j * ln..][..8].try_into().expect("8"))
                } else {
                    0
                }
            };
            for word in 0..w {
                for g in 0..ln / 8 {
                    for (b, mb) in m.iter_mut().enumerate() {
                        let k0 = word * 64 + b * 8;
                        if k0 >= nb {
                            *mb = 0;
                            continue;
                        }
                        let n = (nb - k0).min(8);
                        let at = k0 * ln;
                        let lanes: __m512i = match LN {
                            8 => _mm512_permutexvar_epi8(
                                tr,
                                _mm512_maskz_loadu_epi8(low(8 * n), src.add(at).cast()),
                            ),
                            16 => {
                                let lo = _mm512_maskz_loadu_epi8(low(16 * n), src.add(at).cast());
                                let hi = match n {
                                    0..=4 => _mm512_setzero_si512(),
                                    _ => _mm512_maskz_loadu_epi8(
                                        low(16 * n - 64),
                                        src.add(at + 64).cast(),
                                    ),
                                };
                                _mm512_permutex2var_epi8(lo, g16[g], hi)
                            }
                            _ => {
                                let at = at + 8 * g;
                                let x = _mm512_setr_epi64(
                                    qword(at, 0, n),
                                    qword(at, 1, n),
                                    qword(at, 2, n),
                                    qword(at, 3, n),
                                    qword(at, 4, n),
                                    qword(at, 5, n),
                                    qword(at, 6, n),
                                    qword(at, 7, n),
                                );
                                _mm512_permutexvar_epi8(tr, x)
                            }
                        };
                        *mb = _mm512_test_epi8_mask(lanes, lanes);
                    }
                    // From registers: a load of the eight just-stored words would stall
                    // (no store forwarding from eight stores to one load).
                    let m = m.map(|x| x as i64);
                    let m = _mm512_setr_epi64(m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]);
                    let t = _mm512_permutexvar_epi8(tr, m);
                    let dst = &mut out[word * ln + g * 8..][..8];
                    _mm512_storeu_si512(dst.as_mut_ptr().cast(), t);
                }
            }
        }
    }
}

/// [`lane_flags`] without vector instructions.
///
/// Eight lanes of eight bricks at a time, in registers: each brick's eight lanes are
/// one u64 whose bytes' nonzero flags ([`nonzero_high`]) are shifted to bit j of each
/// byte for the batch's brick j, so that byte i ends up holding lane i's flags of the
/// eight chunks, then OR-ed into the lane's word (8 | 64: a batch never straddles two).
#[inline]
fn lane_flags_portable(bricks: &[u8], ln: usize, out: &mut [u64]) {
    out.fill(0);
    if ln.is_multiple_of(8) && bricks.len().is_multiple_of(ln) {
        // Whole bricks of whole groups of eight lanes: no edge to mind. Up to eight
        // groups (64 lanes) at a time.
        for g0 in (0..ln / 8).step_by(8) {
            let groups = (ln / 8 - g0).min(8);
            for (kb, batch) in bricks.chunks(8 * ln).enumerate() {
                let mut acc = [0u64; 8];
                for (j, brick) in batch.chunks_exact(ln).enumerate() {
                    let lanes = brick[g0 * 8..][..groups * 8].chunks_exact(8);
                    for (a, lanes) in acc.iter_mut().zip(lanes) {
                        let x = u64::from_le_bytes(lanes.try_into().expect("8"));
                        *a |= (nonzero_high(x) >> 7) << j;
                    }
                }
                let (word, sh) = (kb * 8 / 64, kb * 8 % 64);
                for (a, lanes) in acc[..groups]
                    .iter()
                    .zip(out[word * ln + g0 * 8..][..groups * 8].chunks_exact_mut(8))
                {
                    for (i, w) in lanes.iter_mut().enumerate() {
                        *w |= (a >> (8 * i) & 0xff) << sh;
                    }
                }
            }
        }
        return;
    }
    let nb = bricks.len().div_ceil(ln);
    for k0 in (0..nb).step_by(8) {
        let (word, sh) = (k0 / 64, k0 % 64);
        for g in (0..ln).step_by(8) {
            let mut acc = 0u64;
            for j in 0..(nb - k0).min(8) {
                let start = (k0 + j) * ln + g;
                let end = ((k0 + j) * ln + ln.min(g + 8)).min(bricks.len());
                let x = match bricks.get(start..start + 8) {
                    Some(b) if end == start + 8 => u64::from_le_bytes(b.try_into().expect("8")),
                    _ => {
                        let mut b = [0u8; 8];
                        if start < end {
                            b[..end - start].copy_from_slice(&bricks[start..end]);
                        }
                        u64::from_le_bytes(b)
                    }
                };
                acc |= (nonzero_high(x) >> 7) << j;
            }
            let lanes = &mut out[word * ln + g..][..(ln - g).min(8)];
            for (i, w) in lanes.iter_mut().enumerate() {
                *w |= (acc >> (8 * i) & 0xff) << sh;
            }
        }
    }
}

/// The high bit of each byte of x set when the byte is nonzero, every other bit 0.
#[inline]
fn nonzero_high(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    ((x & LOW7).wrapping_add(LOW7) | x) & !LOW7
}

/// [`or_at`] of one word of up to 64 chunk flags: it lands in at most two words of
/// `dst`, the second only where bits land (at + chunks ≤ T), so no bounds to test but
/// the last word's.
#[inline]
fn or_word_at(dst: &mut [u64], at: usize, x: u64) {
    let (w0, sh) = (at / 64, at % 64);
    dst[w0] |= x << sh;
    if sh != 0 && w0 + 1 < dst.len() {
        dst[w0 + 1] |= x >> (64 - sh);
    }
}

/// dst |= src << at, over bitsets of u64 words (every bit that would land past `dst`
/// is 0).
#[inline]
fn or_at(dst: &mut [u64], at: usize, src: &[u64]) {
    let (w0, sh) = (at / 64, at % 64);
    for (j, &x) in src.iter().enumerate() {
        // Words past the last chunk of `src` or past `dst` hold no set bit.
        if let Some(d) = dst.get_mut(w0 + j) {
            *d |= x << sh;
        }
        if sh != 0 {
            if let Some(d) = dst.get_mut(w0 + j + 1) {
                *d |= x >> (64 - sh);
            }
        }
    }
}

/// Word skipping on both operands: a lane's summed pair cost is K_w·K_a times the number
/// of steps where both are nonzero, and a column's cost K_w·K_a times the max of that
/// over (filter, lane). The nonzero steps of each (window, lane) and (filter, lane) are
/// bitsets, so one (window, filter, lane) is ⌈T/64⌉ ANDs and popcounts; and since that
/// number is at most the smaller of the two counts, (window, lane)s are visited most
/// nonzero steps first and each walks its pass's filters most nonzero first, both
/// walks stopping as soon as no count can beat the best found. The max is exact; the
/// work, on typical tensors, a small fraction of every (window, filter, lane).
fn word_both(grp: &Group, win: &Shared, s: &SchemeOps, cols: &mut impl Units, k: u32) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512vpopcntdq") && has!("avx512vl") && has!("avx512bw") {
            // SAFETY: the CPU has these instructions (checked just above).
            return unsafe { word_both_avx512(grp, win, s, cols, k) };
        }
        if has!("avx2") && has!("popcnt") {
            // SAFETY: the CPU has these instructions (checked just above).
            return unsafe { word_both_avx2(grp, win, s, cols, k) };
        }
        if has!("popcnt") {
            // SAFETY: as above.
            return unsafe { word_both_popcnt(grp, win, s, cols, k) };
        }
    }
    word_both_in(grp, win, s, cols, k)
}

// `word_both_in` compiled for wider instruction sets, picked at run time: without
// `popcnt` (the x86-64 baseline) `count_ones` is a dozen instructions, and with AVX2
// the all-filters count of `max_overlap` runs several filters per instruction; with
// AVX-512's `vpopcntq` eight filters per AND and count (on a layer of 144 steps, 0.73
// ms against AVX2's 1.03). Same code, same results. Valgrind hides AVX-512, so
// callgrind counts the AVX2 build.

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
fn word_both_avx2(grp: &Group, win: &Shared, s: &SchemeOps, cols: &mut impl Units, k: u32) {
    word_both_in(grp, win, s, cols, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq,avx512vl,avx512bw,avx2,popcnt")]
fn word_both_avx512(grp: &Group, win: &Shared, s: &SchemeOps, cols: &mut impl Units, k: u32) {
    word_both_in(grp, win, s, cols, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn word_both_popcnt(grp: &Group, win: &Shared, s: &SchemeOps, cols: &mut impl Units, k: u32) {
    word_both_in(grp, win, s, cols, k)
}

#[inline(always)]
fn word_both_in(grp: &Group, win: &Shared, s: &SchemeOps, cols: &mut impl Units, k: u32) {
    let b = &grp.b;
    let (ln, chunks, cn) = (b.lanes, b.chunks, grp.array.columns);
    let (sets, passes) = (grp.window_sets(), grp.passes());
    let wb = win.weight_bits(grp, s.w);
    let words = wb.words;
    let cost_of = |best: u32| ((k as u64 * best as u64) as u32).max(s.min_cycles);
    let lockstep = cols.lockstep();
    let cw = chunks.div_ceil(64);
    // One chunk (a first layer's few colours) and at most 64 kernel offsets: per
    // position, its lanes' nonzero flags as one word (bit l for lane l), read for each
    // of the window's KH·KW steps; straight from the terms (a brick per position). A
    // word per position, where the chunk flags take a word per lane (6.4 MB on
    // ResNet's first layer): it stays in cache, and the lanes past the layer's
    // channels stay 0.
    // With the lanes that can hold a nonzero value (those of the channels).
    let masks = (chunks == 1 && words == 1 && ln <= 64).then(|| {
        let live = b.cg.min(ln);
        let masks: Vec<u64> = grp
            .act_terms(s.a)
            .chunks_exact(ln)
            .map(|brick| {
                brick[..live]
                    .iter()
                    .enumerate()
                    .fold(0, |m, (l, &x)| m | u64::from(x != 0) << l)
            })
            .collect();
        (live, masks)
    });
    // Otherwise per (input position, lane): its chunks' nonzero flags, ⌈chunks/64⌉
    // words (shared with the layer's other schemes).
    let flags = match masks {
        Some(_) => &[][..],
        None => win.act_flags(grp, s.a),
    };
    // Per column: the nonzero steps of its window's lanes as bitsets, word-major (word i
    // of lane l at i·lanes + l), so that placing one position's flags is a loop over
    // the lanes, as is counting.
    let mut abits = vec![0u64; cn * ln * words];
    // One (column, lane)'s words, gathered for the weights' side.
    let mut act = vec![0u64; words];
    // One word of chunk flags per lane, where a position's flags span words.
    let mut lane_word = vec![0u64; if cw > 1 { ln } else { 0 }];
    // Per (column, lane), its count; the (column, lane)s by count, most first.
    let (mut acount, mut cand, mut walk) = (vec![0u32; cn * ln], Vec::new(), Walk::default());
    let mut best = vec![0u32; cn];
    let mut cost = vec![0u32; cn];
    let mut buf = Vec::new();
    let mut total = 0u64;
    for set in 0..sets {
        let slots = grp.set_slots(set, &mut buf);
        abits.fill(0);
        if let Some((live, masks)) = &masks {
            one_chunk_bits(slots, cn, masks, *live, &mut abits);
        } else {
            // A window's steps at kernel offset kyx are steps kyx·chunks … of its
            // lanes: the position's chunk flags, shifted there.
            for (kyx, sl) in slots.chunks_exact(cn).enumerate() {
                for (c, &pos) in sl.iter().enumerate() {
                    if pos == IDLE || pos == PAD {
                        // The padding's factor is 0 under word skipping.
                        continue;
                    }
                    let col = &mut abits[c * ln * words..][..ln * words];
                    let src = &flags[pos * ln * cw..][..ln * cw];
                    let at = kyx * chunks;
                    if words == 1 {
                        // Then cw = 1 too. Sixteen lanes: two vectors, no loop.
                        match (<&mut [u64; 16]>::try_from(col), <&[u64; 16]>::try_from(src)) {
                            (Ok(dst), Ok(src)) => {
                                for (d, &x) in dst.iter_mut().zip(src) {
                                    *d |= x << at;
                                }
                            }
                            (Err(_), _) | (_, Err(_)) => {
                                let col = &mut abits[c * ln..][..ln];
                                for (d, &x) in col.iter_mut().zip(src) {
                                    *d |= x << at;
                                }
                            }
                        }
                    } else if cw == 1 {
                        or_lanes_at(col, ln, at, src);
                    } else {
                        // Word k of every lane's flags lands at step at + 64·k.
                        for k in 0..cw {
                            for (w, lane) in lane_word.iter_mut().zip(src.chunks_exact(cw)) {
                                *w = lane[k];
                            }
                            or_lanes_at(col, ln, at + 64 * k, &lane_word);
                        }
                    }
                }
            }
        }
        for (counts, col) in acount
            .chunks_exact_mut(ln)
            .zip(abits.chunks_exact(ln * words))
        {
            let mut words = col.chunks_exact(ln);
            for (n, &x) in counts.iter_mut().zip(words.next().into_iter().flatten()) {
                *n = x.count_ones();
            }
            for word in words {
                for (n, &x) in counts.iter_mut().zip(word) {
                    *n += x.count_ones();
                }
            }
        }
        if lockstep {
            // Only the max over columns counts.
            for p in 0..passes {
                let mut m = 0;
                walk.start(&acount);
                while let Some((i, na)) = walk.next(m, b.steps) {
                    gather(&abits, ln, words, i, &mut act);
                    m = wb.beat(grp, p, i % ln, &act, na, m);
                }
                // Every set has a window in column 0.
                total += cost_of(m) as u64;
            }
            continue;
        }
        most_first(&acount, b.steps, &mut walk.hist, &mut cand);
        // Lanes without a nonzero step cannot beat anything.
        while cand.last().is_some_and(|&i| acount[i as usize] == 0) {
            cand.pop();
        }
        for p in 0..passes {
            best.fill(0);
            for &i in &cand {
                let (i, na) = (i as usize, acount[i as usize]);
                let c = i / ln;
                if na > best[c] {
                    gather(&abits, ln, words, i, &mut act);
                    best[c] = wb.beat(grp, p, i % ln, &act, na, best[c]);
                }
            }
            for (c, slot) in cost.iter_mut().enumerate() {
                *slot = match grp.window_of(set, c) {
                    None => 0,
                    Some(_) => cost_of(best[c]),
                };
            }
            cols.unit(&cost);
        }
    }
    if lockstep {
        cols.add_lockstep(total);
    }
}

/// The window bitsets of a set (`abits`, a word per (column, lane)) where the layer
/// has one chunk, so that step kyx is kernel offset kyx: from the positions' lane
/// `masks` (bit l for lane l), column by column, the first `live` lanes (the others are
/// 0), the column's bits gathered in registers over its KH·KW offsets.
#[inline(always)]
fn one_chunk_bits(slots: &[usize], cn: usize, masks: &[u64], live: usize, abits: &mut [u64]) {
    // Four lanes at a time, kept in registers over the offsets.
    const G: usize = 4;
    let ln = abits.len() / cn;
    for (c, col) in abits.chunks_exact_mut(ln).enumerate() {
        for (g, out) in col[..live].chunks_mut(G).enumerate() {
            let mut acc = [0u64; G];
            for (kyx, &pos) in slots.iter().skip(c).step_by(cn).enumerate() {
                // IDLE and PAD: the padding's factor is 0 under word skipping.
                let m = masks.get(pos).map_or(0, |&m| m >> (g * G));
                for (l, a) in acc.iter_mut().enumerate() {
                    *a |= (m >> l & 1) << kyx;
                }
            }
            // Bits of lanes past `live` are 0 in the masks.
            out.copy_from_slice(&acc[..out.len()]);
        }
    }
}

/// Per lane l, the word `x[l]` OR-ed in at step `at` of the word-major bitsets `dst`
/// (word i of lane l at i·`ln` + l): one or two words per lane, the same for every
/// lane, so a loop over the lanes.
#[inline(always)]
fn or_lanes_at(dst: &mut [u64], ln: usize, at: usize, x: &[u64]) {
    let (i, sh) = (at / 64, at % 64);
    for (d, &v) in dst[i * ln..][..ln].iter_mut().zip(x) {
        *d |= v << sh;
    }
    if sh != 0 {
        if let Some(dst) = dst.get_mut((i + 1) * ln..(i + 2) * ln) {
            for (d, &v) in dst.iter_mut().zip(x) {
                *d |= v >> (64 - sh);
            }
        }
    }
}

/// The words of (column, lane) `i` (= column·`ln` + lane) of word-major window bitsets.
#[inline(always)]
fn gather(abits: &[u64], ln: usize, words: usize, i: usize, out: &mut [u64]) {
    if words == 1 {
        // The layouts agree (and no division by the lanes).
        out[0] = abits[i];
        return;
    }
    let col = &abits[i / ln * ln * words..][..ln * words];
    for (o, w) in out.iter_mut().zip(col.chunks_exact(ln)) {
        *o = w[i % ln];
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
    let mut buf = Vec::new();
    let mut sums = vec![0u32; ln];
    for set in 0..grp.window_sets() {
        let slots = grp.set_slots(set, &mut buf);
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The walk yields exactly the sorted walk's entries (most count first, equal
        /// counts in index order, stopping at the first count ≤ the bound), whether it
        /// stops within its scans or sorts the rest, and so folds to the true max.
        #[test]
        fn walk_yields_the_sorted_walk(
            (max, pairs) in (0usize..=70).prop_flat_map(|max| (
                Just(max),
                proptest::collection::vec(
                    (0..=max as u32).prop_flat_map(|n| (Just(n), 0..=n)),
                    0..300,
                ),
            )),
        ) {
            let (counts, values): (Vec<u32>, Vec<u32>) = pairs.into_iter().unzip();
            let (mut hist, mut order) = (Vec::new(), Vec::new());
            most_first(&counts, max, &mut hist, &mut order);
            let mut want = Vec::new();
            let mut m = 0;
            for &i in &order {
                let i = i as usize;
                if counts[i] <= m {
                    break;
                }
                want.push(i);
                m = m.max(values[i]);
            }
            prop_assert_eq!(m, values.iter().copied().max().unwrap_or(0));
            let mut walk = Walk::default();
            walk.start(&counts);
            let (mut got, mut m) = (Vec::new(), 0);
            while let Some((i, n)) = walk.next(m, max) {
                prop_assert_eq!(n, counts[i]);
                got.push(i);
                m = m.max(values[i]);
            }
            prop_assert_eq!(got, want);
        }

        #[test]
        fn lane_flags_flag_each_nonzero_lane_of_each_brick(
            (ln, rows, v) in (1usize..=20, 1usize..=3).prop_flat_map(|(ln, rows)| (
                Just(ln),
                Just(rows),
                (1usize..ln * 140).prop_flat_map(move |row| proptest::collection::vec(
                    prop_oneof![Just(0u8), any::<u8>()], rows * row,
                )),
            )),
        ) {
            check_lane_flags(ln, v.len() / rows, &v)?;
        }

        #[test]
        fn lane_flags_of_whole_bricks_of_eight_lane_groups(
            (ln, rows, v) in (
                prop_oneof![Just(8usize), Just(16), Just(24), Just(64), Just(72), Just(144)],
                1usize..=3,
            ).prop_flat_map(|(ln, rows)| (
                Just(ln),
                Just(rows),
                (1usize..140).prop_flat_map(move |n| proptest::collection::vec(
                    prop_oneof![Just(0u8), any::<u8>()], rows * n * ln,
                )),
            )),
        ) {
            check_lane_flags(ln, v.len() / rows, &v)?;
        }
    }

    /// `lane_flags` of rows of `row` bytes of `v`, dispatched and portable, against the
    /// definition.
    fn check_lane_flags(ln: usize, row: usize, v: &[u8]) -> Result<(), TestCaseError> {
        let words = row.div_ceil(ln).div_ceil(64).max(1);
        for portable in [false, true] {
            let mut out = vec![u64::MAX; v.len() / row * words * ln];
            if portable {
                for (r, o) in v.chunks_exact(row).zip(out.chunks_exact_mut(words * ln)) {
                    lane_flags_portable(r, ln, o);
                }
            } else {
                lane_flags(v, row, ln, &mut out);
            }
            for (r, out) in out.chunks_exact(words * ln).enumerate() {
                for k in 0..words * 64 {
                    for l in 0..ln {
                        let want = (k * ln + l < row && v[r * row + k * ln + l] != 0) as u64;
                        prop_assert_eq!(
                            out[(k / 64) * ln + l] >> (k % 64) & 1,
                            want,
                            "row {} brick {} lane {} (portable: {})",
                            r,
                            k,
                            l,
                            portable
                        );
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn nonzero_high_of_words() {
        assert_eq!(nonzero_high(0), 0);
        assert_eq!(nonzero_high(u64::MAX), 0x8080_8080_8080_8080);
        assert_eq!(nonzero_high(0x0000_7f00_0080_0001), 0x0000_8000_0080_0080);
    }
}
