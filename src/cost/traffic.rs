//! Traffic: the bits a layer moves between DRAM, the on-chip buffers and the PEs.
//!
//! **DRAM.** The weights W and the activations are read once each when one of them
//! fits its buffer. Otherwise the cheaper of two loop orders: window sets outermost
//! (every group's weights streamed again per window set, S·W + R) or blocks of filters
//! outermost (the activations streamed again per block, W + ⌈W/Wbuf⌉·R). R is what
//! streaming the activations in the compute order reads: per window set of each group,
//! the channels of the group at every input position that some window of the set reads
//! (the union of the set's receptive fields), or the whole tensor once when it fits its
//! buffer. Outputs are written once, dense. See [`dram_bits`].
//!
//! **On chip.** Every step of every sync unit, each PE with a window and a filter reads
//! its bricks: activations once per column (broadcast along rows and tiles), weights
//! once per (tile, row) (broadcast along columns). Summed over a layer these are
//! closed forms in the counts of elements, nonzero elements and nonzero digits that
//! each position is read with (see [`Positions::read_counts`]).
//!
//! Receptive fields are summed from per-column prefix sums of the per-position counts
//! (over rows, or over blocks of KH rows when the stride is larger than the kernel), so
//! a window set costs O(input columns it touches), never O(its elements).

use super::footprint::{Cost, Counts};
use crate::model::Conv;

/// Per input position of a conv layer, over all channels: nonzero elements and nonzero
/// digits, with the prefix sums that receptive-field unions are read from.
pub struct Positions {
    conv: Conv,
    /// `[iy·W + ix]`: nonzero elements over the channels at (iy, ix).
    nonzero: Vec<u32>,
    /// `[iy·W + ix]`: nonzero digits over the channels.
    terms: Vec<u32>,
}

impl Positions {
    /// The per-position counts of a conv input, from its per-element digit counts
    /// (channel-major `C,H,W`; see `footprint::digit_counts`).
    pub fn of(conv: &Conv, digits: &[u8]) -> Positions {
        let hw = conv.h * conv.w;
        let mut nonzero = vec![0u32; hw];
        let mut terms = vec![0u32; hw];
        // Sums over blocks of channels in u16 (twice the values per vector instruction
        // of u32): a digit count is at most 32 (an int's bits), so 2047 channels stay
        // below 2^16.
        let (mut nz16, mut t16) = (vec![0u16; hw], vec![0u16; hw]);
        for block in digits[..(conv.c * hw).min(digits.len())].chunks(2047 * hw.max(1)) {
            nz16.fill(0);
            t16.fill(0);
            for plane in block.chunks_exact(hw.max(1)) {
                for ((n, t), &d) in nz16.iter_mut().zip(t16.iter_mut()).zip(plane) {
                    *n += (d > 0) as u16;
                    *t += d as u16;
                }
            }
            for (a, &b) in nonzero.iter_mut().zip(&nz16) {
                *a += b as u32;
            }
            for (a, &b) in terms.iter_mut().zip(&t16) {
                *a += b as u32;
            }
        }
        Positions {
            conv: *conv,
            nonzero,
            terms,
        }
    }

    /// The counts of the whole tensor: every position's, summed.
    pub fn totals(&self) -> Counts {
        let c = &self.conv;
        Counts {
            n: (c.c * c.h * c.w) as u64,
            nonzero: self.nonzero.iter().map(|&x| x as u64).sum(),
            terms: self.terms.iter().map(|&x| x as u64).sum(),
        }
    }

    /// Σ over every (window, ky, kx) that reads an input position (padding excluded) of
    /// that position's nonzero elements and nonzero digits: what a layer's activation
    /// bricks hold, summed over every step of every window. A position is read by
    /// cy(iy)·cx(ix) of them, cy(iy) the (oy, ky) with oy·SH + ky − PH = iy.
    pub fn read_counts(&self) -> (u64, u64) {
        let c = &self.conv;
        let cy = reads_per_index(c.h, c.oy(), c.kh, c.sh, c.ph);
        let cx = reads_per_index(c.w, c.ox(), c.kw, c.sw, c.pw);
        let (mut nz, mut ts) = (0u64, 0u64);
        for (iy, &ry) in cy.iter().enumerate() {
            if ry == 0 {
                continue;
            }
            let (mut rn, mut rt) = (0u64, 0u64);
            let row = iy * c.w;
            for (ix, &rx) in cx.iter().enumerate() {
                rn += self.nonzero[row + ix] as u64 * rx;
                rt += self.terms[row + ix] as u64 * rx;
            }
            nz += rn * ry;
            ts += rt * ry;
        }
        (nz, ts)
    }

    /// The counts R is made of when the activations are streamed in the compute order
    /// on an array of `columns` columns: Σ over window sets of the union of the set's
    /// receptive fields (positions inside the input, every channel).
    pub fn streamed(&self, columns: usize) -> Counts {
        let c = &self.conv;
        let (oy, ox) = (c.oy(), c.ox());
        let windows = oy * ox;
        let pre = Prefix::new(self);
        let (mut pos, mut nz, mut ts) = (0u64, 0u64, 0u64);
        let columns = columns.max(1);
        let (w, kw, sw, pw) = (c.w as i64, c.kw as i64, c.sw as i64, c.pw as i64);
        for first in (0..windows).step_by(columns) {
            let last = (first + columns).min(windows) - 1;
            let (ox0, oy0) = ((first / oy) as i64, first % oy);
            let (ox1, oy1) = ((last / oy) as i64, last % oy);
            let xlo = (ox0 * sw - pw).max(0);
            let xhi = (ox1 * sw - pw + kw - 1).min(w - 1);
            for x in xlo..=xhi {
                // The ox whose windows read column x: ox·SW − PW ≤ x ≤ ox·SW − PW + KW − 1.
                let lo = div_ceil_i64(x + pw - kw + 1, sw).max(ox0);
                let hi = (x + pw).div_euclid(sw).min(ox1);
                if lo > hi {
                    continue;
                }
                // Output rows read at this column, as at most two intervals.
                let full = (0, oy - 1);
                let ivs: [Option<(usize, usize)>; 2] = if ox0 == ox1 {
                    [Some((oy0, oy1)), None]
                } else {
                    let (has_first, has_last) = (lo == ox0, hi == ox1);
                    let has_mid = lo.max(ox0 + 1) <= hi.min(ox1 - 1);
                    if has_mid || (has_first && has_last && oy0 <= oy1 + 1) {
                        [Some(full), None]
                    } else if has_first && has_last {
                        [Some((0, oy1)), Some((oy0, oy - 1))]
                    } else if has_first {
                        [Some((oy0, oy - 1)), None]
                    } else {
                        [Some((0, oy1)), None]
                    }
                };
                let (p, n, t) = pre.sum(x as usize, &ivs);
                pos += p;
                nz += n;
                ts += t;
            }
        }
        Counts {
            n: pos * c.c as u64,
            nonzero: nz,
            terms: ts,
        }
    }
}

/// ⌈a / b⌉ for b > 0 and any a.
fn div_ceil_i64(a: i64, b: i64) -> i64 {
    -((-a).div_euclid(b))
}

/// Per index i of an input axis of length `len`: how many (o, k) with o < `out`,
/// k < `k`, o·s + k − p = i (the windows and kernel offsets that read it).
fn reads_per_index(len: usize, out: usize, k: usize, s: usize, p: usize) -> Vec<u64> {
    let mut r = vec![0u64; len];
    for o in 0..out {
        for kk in 0..k {
            if let Some(i) = (o * s + kk).checked_sub(p).filter(|&i| i < len) {
                r[i] += 1;
            }
        }
    }
    r
}

/// Column-wise prefix sums of (positions, nonzero, terms): over rows when SH ≤ KH (the
/// rows an interval of output rows reads are one interval), else over blocks of the KH
/// rows each output row reads (disjoint blocks).
struct Prefix<'a> {
    p: &'a Positions,
    /// True when prefixes run over output-row blocks.
    blocks: bool,
    /// Entries per column (H + 1, or Oy + 1).
    len: usize,
    /// `[x·len + i]`: sums over rows (blocks) before i of column x.
    sums: Vec<[u64; 3]>,
}

impl<'a> Prefix<'a> {
    fn new(p: &'a Positions) -> Prefix<'a> {
        let c = &p.conv;
        let blocks = c.sh > c.kh;
        let len = if blocks { c.oy() + 1 } else { c.h + 1 };
        let mut sums = vec![[0u64; 3]; c.w * len];
        for x in 0..c.w {
            let col = &mut sums[x * len..(x + 1) * len];
            let at = |y: usize| -> [u64; 3] {
                let i = y * c.w + x;
                [1, p.nonzero[i] as u64, p.terms[i] as u64]
            };
            for i in 0..len - 1 {
                let add = if blocks {
                    let mut s = [0u64; 3];
                    for ky in 0..c.kh {
                        if let Some(y) = (i * c.sh + ky).checked_sub(c.ph).filter(|&y| y < c.h) {
                            let v = at(y);
                            for j in 0..3 {
                                s[j] += v[j];
                            }
                        }
                    }
                    s
                } else {
                    at(i)
                };
                let prev = col[i];
                col[i + 1] = [prev[0] + add[0], prev[1] + add[1], prev[2] + add[2]];
            }
        }
        Prefix {
            p,
            blocks,
            len,
            sums,
        }
    }

    /// Sums at column x over the rows read by the output-row intervals `ivs`
    /// (inclusive, ascending, disjoint).
    fn sum(&self, x: usize, ivs: &[Option<(usize, usize)>; 2]) -> (u64, u64, u64) {
        let c = &self.p.conv;
        let col = &self.sums[x * self.len..(x + 1) * self.len];
        let range = |lo: usize, hi: usize| -> [u64; 3] {
            // Sum over entries lo..hi (exclusive end).
            let (a, b) = (col[lo], col[hi]);
            [b[0] - a[0], b[1] - a[1], b[2] - a[2]]
        };
        let mut total = [0u64; 3];
        let mut add = |v: [u64; 3]| {
            for j in 0..3 {
                total[j] += v[j];
            }
        };
        if self.blocks {
            // Disjoint blocks: output-row intervals map to disjoint row sets.
            for &(a, b) in ivs.iter().flatten() {
                add(range(a, b + 1));
            }
        } else {
            // Row intervals of the output-row intervals, clipped to the input, merged.
            let rows = |(a, b): (usize, usize)| -> Option<(usize, usize)> {
                let lo = (a * c.sh).saturating_sub(c.ph);
                let hi = (b * c.sh + c.kh).checked_sub(c.ph + 1)?.min(c.h - 1);
                (lo <= hi && lo < c.h).then_some((lo, hi))
            };
            let mut r: Vec<(usize, usize)> =
                ivs.iter().flatten().filter_map(|&i| rows(i)).collect();
            if r.len() == 2 && r[1].0 <= r[0].1 + 1 {
                r = vec![(r[0].0, r[0].1.max(r[1].1))];
            }
            for (lo, hi) in r {
                add(range(lo, hi + 1));
            }
        }
        (total[0], total[1], total[2])
    }
}

/// The sizes the DRAM rule reads, per layer and scheme.
#[derive(Clone, Copy, Debug)]
pub struct DramInput {
    /// Weight footprint W (bits).
    pub weights: u64,
    /// Activation footprint `act_bits`.
    pub acts: u64,
    /// R when the activations are streamed (conv layers; unused when they fit).
    pub streamed: u64,
    /// Window sets S = ⌈Oy·Ox / columns⌉ (1 for fc layers).
    pub window_sets: u64,
    /// Output bits F·Oy·Ox·b.
    pub out_bits: u64,
    /// True for fc layers (one window: nothing is read twice).
    pub fc: bool,
}

/// DRAM traffic in bits of one layer under one scheme (module docs).
pub fn dram_bits(d: &DramInput, act_buffer_bits: u64, weight_buffer_bits: u64) -> u64 {
    let input = if d.fc {
        d.weights.saturating_add(d.acts)
    } else {
        let fits = d.acts <= act_buffer_bits;
        let r = if fits { d.acts } else { d.streamed };
        if d.weights <= weight_buffer_bits || fits {
            d.weights.saturating_add(r)
        } else {
            let sets_outer = d.window_sets.saturating_mul(d.weights).saturating_add(r);
            if weight_buffer_bits > 0 {
                let blocks = d.weights.div_ceil(weight_buffer_bits);
                sets_outer.min(d.weights.saturating_add(blocks.saturating_mul(r)))
            } else {
                sets_outer
            }
        }
    };
    input.saturating_add(d.out_bits)
}

/// ⌈dram_bits · clock_ghz / (8 · dram_gbps)⌉, in IEEE f64 in exactly this order, so
/// that every implementation rounds alike.
pub fn memory_cycles(dram_bits: u64, clock_ghz: f64, dram_gbps: f64) -> u64 {
    ((dram_bits as f64) * clock_ghz / (8.0 * dram_gbps)).ceil() as u64
}

/// Bits an operand's bricks hold over a layer: `bricks` bricks of `lanes` elements (n
/// = bricks·lanes, padding and lanes past the channels as zero elements) with `nonzero`
/// nonzero elements and `terms` nonzero digits among them, times `times`.
pub fn brick_bits(cost: Cost, elements: u64, nonzero: u64, terms: u64, times: u64) -> u64 {
    cost.bits(Counts {
        n: elements,
        nonzero,
        terms,
    })
    .saturating_mul(times)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct reading: every window set's union of receptive fields as a set of
    /// positions, counted element by element.
    fn streamed_direct(c: &Conv, p: &Positions, columns: usize) -> (u64, u64, u64) {
        let (oy, ox) = (c.oy(), c.ox());
        let n = oy * ox;
        let (mut pos, mut nz, mut ts) = (0u64, 0u64, 0u64);
        for first in (0..n).step_by(columns) {
            let mut seen = vec![false; c.h * c.w];
            for win in first..(first + columns).min(n) {
                let (y, x) = (win % oy, win / oy);
                for ky in 0..c.kh {
                    for kx in 0..c.kw {
                        let iy = (y * c.sh + ky).checked_sub(c.ph).filter(|&v| v < c.h);
                        let ix = (x * c.sw + kx).checked_sub(c.pw).filter(|&v| v < c.w);
                        if let (Some(iy), Some(ix)) = (iy, ix) {
                            seen[iy * c.w + ix] = true;
                        }
                    }
                }
            }
            for (i, _) in seen.iter().enumerate().filter(|(_, s)| **s) {
                pos += c.c as u64;
                nz += p.nonzero[i] as u64;
                ts += p.terms[i] as u64;
            }
        }
        (pos, nz, ts)
    }

    fn read_counts_direct(c: &Conv, p: &Positions) -> (u64, u64) {
        let (mut nz, mut ts) = (0u64, 0u64);
        for y in 0..c.oy() {
            for x in 0..c.ox() {
                for ky in 0..c.kh {
                    for kx in 0..c.kw {
                        let iy = (y * c.sh + ky).checked_sub(c.ph).filter(|&v| v < c.h);
                        let ix = (x * c.sw + kx).checked_sub(c.pw).filter(|&v| v < c.w);
                        if let (Some(iy), Some(ix)) = (iy, ix) {
                            nz += p.nonzero[iy * c.w + ix] as u64;
                            ts += p.terms[iy * c.w + ix] as u64;
                        }
                    }
                }
            }
        }
        (nz, ts)
    }

    use proptest::prelude::*;

    fn conv() -> impl Strategy<Value = Conv> {
        (
            1usize..4,
            1usize..9,
            1usize..9,
            1usize..5,
            1usize..5,
            1usize..4,
            1usize..4,
            0usize..3,
            0usize..3,
        )
            .prop_filter_map("kernel fits", |(c, h, w, kh, kw, sh, sw, ph, pw)| {
                (h + 2 * ph >= kh && w + 2 * pw >= kw).then_some(Conv {
                    c,
                    h,
                    w,
                    f: 1,
                    kh,
                    kw,
                    sh,
                    sw,
                    ph,
                    pw,
                    groups: 1,
                })
            })
    }

    proptest! {
        #[test]
        fn streamed_and_read_counts_equal_the_direct_sums(
            c in conv(),
            columns in 1usize..12,
            seed in any::<u64>(),
        ) {
            // Digits 0..=3 per element from a simple seeded generator.
            let mut s = seed | 1;
            let digits: Vec<u8> = (0..c.c * c.h * c.w)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    (s % 4) as u8
                })
                .collect();
            let p = Positions::of(&c, &digits);
            prop_assert_eq!(p.totals(), Counts::of_digits(&digits));
            let got = p.streamed(columns);
            prop_assert_eq!((got.n, got.nonzero, got.terms), streamed_direct(&c, &p, columns));
            prop_assert_eq!(p.read_counts(), read_counts_direct(&c, &p));
        }
    }

    #[test]
    fn dram_rule_by_hand() {
        let d = DramInput {
            weights: 13824,
            acts: 13824,
            streamed: 17280,
            window_sets: 7,
            out_bits: 3600,
            fc: false,
        };
        // Neither fits an 8192-bit buffer: min(7·13824 + 17280, 13824 + 2·17280).
        assert_eq!(dram_bits(&d, 8192, 8192), 13824 + 2 * 17280 + 3600);
        // Weights fit: each operand once, the activations streamed.
        assert_eq!(dram_bits(&d, 8192, 16384), 13824 + 17280 + 3600);
        // Activations fit: read once, whole.
        assert_eq!(dram_bits(&d, 16384, 8192), 13824 + 13824 + 3600);
        // No weight buffer: only the window-sets-outer order.
        assert_eq!(dram_bits(&d, 8192, 0), 7 * 13824 + 17280 + 3600);
        // fc: weights and activations once.
        let fc = DramInput { fc: true, ..d };
        assert_eq!(dram_bits(&fc, 0, 0), 13824 + 13824 + 3600);
        assert_eq!(memory_cycles(25344, 1.0, 25.6), 124);
        assert_eq!(memory_cycles(0, 1.0, 25.6), 0);
    }
}
