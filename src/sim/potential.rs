//! Potentials (cycle-model.md, "Potentials"): a scheme's work is the sum over every MAC
//! of work factor(weight) · work factor(act); busy lane-cycles, the same sum over cycle
//! factors, measure how much of the array's time does the scheme's own work.
//!
//! Three reductions make this a pass over each tensor rather than over the MACs:
//! - Both sums factor per (channel, ky, kx): Σ_f Σ_n w·a = (Σ_f w)·(Σ_n a).
//! - Every factor is α + β·[terms > 0] + γ·terms ([`Linear`]), so a sum of factors only
//!   needs the count, the nonzero count and the term sum of the values summed. Those
//!   statistics ([`Stats`]) depend on the tensor's terms, not on the scheme: a layer
//!   computes them once per term key and each scheme combines them in O(C·KH·KW).
//! - The windows reading a channel at (ky, kx) read each input position at most once,
//!   and the positions read form a grid: rows `first, first + SH, …` (the same for every
//!   kx) times columns likewise. Σ_n a(pos(n, ky, kx)) is a sum over that grid, taken
//!   with strided prefix sums (rows, then columns) instead of one term per window; the
//!   windows that fall in the padding add α each. With unit strides the grid is a
//!   rectangle: the plane's total (one vectorized pass) less the few rows and columns
//!   outside it, plus the corners outside both.

use super::operand::{Bricks, Linear};
use super::{Operands, Scheduled};
use crate::model::{Conv, Geometry};

/// Per (channel, kernel offset) — index `ch·KH·KW + ky·KW + kx`, with `ch` the layer's
/// channel (group-major) — the count of values summed, their nonzero count and their
/// term sum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Values summed at every index (filters of the group, or windows).
    pub count: u64,
    pub nonzero: Vec<u64>,
    pub terms: Vec<u64>,
}

/// (work, busy lane-cycles) of a layer, per scheme of `ops`; `scheduled[i]` is what
/// scheme i's weight schedule did, if it has one.
///
/// With a schedule a zero weight has work 0 (the ideal schedule skips every one), and
/// its lane-cycles count only where a kept step pairs it in place: busy lane-cycles
/// leave out `Scheduled::removed`.
pub(crate) fn sums(
    geom: &Geometry,
    ops: &Operands,
    scheduled: &[Option<Scheduled>],
) -> Vec<(u64, u64)> {
    let w_stats: Vec<Stats> = ops
        .weight_terms
        .iter()
        .map(|(_, t)| weight_stats(geom, t))
        .collect();
    let a_stats: Vec<Stats> = ops
        .act_terms
        .iter()
        .map(|(_, t)| act_stats(geom, t))
        .collect();
    ops.schemes
        .iter()
        .zip(scheduled)
        .map(|(s, sched)| {
            let (w, a) = (&w_stats[s.w], &a_stats[s.a]);
            let (mut wl, wc, al, ac) = (
                s.weight_rule.work_linear(),
                s.weight_rule.cycle_linear(),
                s.act_rule.work_linear(),
                s.act_rule.cycle_linear(),
            );
            let Some(sched) = sched else {
                return (combine(w, a, wl, al), combine(w, a, wc, ac));
            };
            // Zero weights: work 0 (α, what a zero spends, moves into β).
            wl = Linear {
                alpha: 0,
                beta: wl.alpha + wl.beta,
                gamma: wl.gamma,
            };
            // A zero weight's lane-cycles: its cycle factor (α) times the activation's,
            // for each window.
            let left_out: u64 = sched
                .removed
                .iter()
                .enumerate()
                .filter(|(_, &n)| n > 0)
                .map(|(i, &n)| n * ac.sum(a.count, a.nonzero[i], a.terms[i]))
                .sum();
            (
                combine(w, a, wl, al),
                combine(w, a, wc, ac) - wc.alpha * left_out,
            )
        })
        .collect()
}

/// Σ over indices of (Σ weight factors)·(Σ act factors).
pub fn combine(w: &Stats, a: &Stats, lw: Linear, la: Linear) -> u64 {
    (0..w.nonzero.len())
        .map(|i| {
            lw.sum(w.count, w.nonzero[i], w.terms[i]) * la.sum(a.count, a.nonzero[i], a.terms[i])
        })
        .sum()
}

/// Statistics of the weights over the filters of each group (FC: over all filters).
pub fn weight_stats(geom: &Geometry, terms: &[u8]) -> Stats {
    // The same loops compiled for wider vectors when the CPU has them: two (AVX2) or
    // four (AVX-512BW) times the u16 adds per instruction of the baseline's SSE2.
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512bw") {
            // SAFETY: the CPU has AVX-512BW (checked just above).
            return unsafe { weight_stats_avx512(geom, terms) };
        }
        if has!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { weight_stats_avx2(geom, terms) };
        }
    }
    weight_stats_in(geom, terms)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw")]
fn weight_stats_avx512(geom: &Geometry, terms: &[u8]) -> Stats {
    weight_stats_in(geom, terms)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn weight_stats_avx2(geom: &Geometry, terms: &[u8]) -> Stats {
    weight_stats_in(geom, terms)
}

#[inline(always)]
fn weight_stats_in(geom: &Geometry, terms: &[u8]) -> Stats {
    let (groups, fg, row) = match *geom {
        Geometry::Conv(c) => (c.groups, c.fg(), c.cg() * c.kh * c.kw),
        Geometry::Fc { c, f } => (1, f, c),
    };
    let mut nonzero = vec![0u64; groups * row];
    let mut sum = vec![0u64; groups * row];
    // Summed in u16 over blocks of 255 filters (255 terms of at most 255 fit), a loop
    // the compiler vectorizes, then added up in u64.
    let mut nz16 = vec![0u16; row];
    let mut st16 = vec![0u16; row];
    for g in 0..groups {
        for start in (0..fg).step_by(255) {
            nz16.fill(0);
            st16.fill(0);
            for f in start..(start + 255).min(fg) {
                let r = &terms[(g * fg + f) * row..(g * fg + f + 1) * row];
                for ((n, s), &t) in nz16.iter_mut().zip(st16.iter_mut()).zip(r) {
                    *n += (t != 0) as u16;
                    *s += t as u16;
                }
            }
            let at = g * row;
            for i in 0..row {
                nonzero[at + i] += nz16[i] as u64;
                sum[at + i] += st16[i] as u64;
            }
        }
    }
    Stats {
        count: fg as u64,
        nonzero,
        terms: sum,
    }
}

/// Statistics of the activations over the windows reading each (channel, ky, kx)
/// (FC: each channel, read once).
pub fn act_stats(geom: &Geometry, terms: &[u8]) -> Stats {
    match *geom {
        Geometry::Fc { .. } => Stats {
            count: 1,
            nonzero: terms.iter().map(|&t| (t > 0) as u64).collect(),
            terms: terms.iter().map(|&t| t as u64).collect(),
        },
        Geometry::Conv(c) => conv_act_stats(&c, terms),
    }
}

fn conv_act_stats(c: &Conv, terms: &[u8]) -> Stats {
    let b = Bricks::conv(c, 1);
    let (h, w, kh, kw) = (c.h, c.w, c.kh, c.kw);
    let k = kh * kw;
    let rows: Vec<(usize, usize)> = (0..kh).map(|ky| b.rows_read(ky)).collect();
    let cols: Vec<(usize, usize)> = (0..kw).map(|kx| b.cols_read(kx)).collect();
    let mut nonzero = vec![0u64; c.c * k];
    let mut sum = vec![0u64; c.c * k];
    // A stride at or above the input's extent reads each input row (column) from at
    // most one window, so any stride ≥ the extent sums alike: capped there, the
    // prefix buffers stay the input's size whatever the file's stride.
    let (sw, sh) = (c.sw.min(w.max(1)), c.sh.min(h.max(1)));
    // q: strided prefix of one row; r[kx][iy]: the row's sum over the columns read at kx.
    let mut q = vec![(0u64, 0u64); w + sw];
    let mut r = vec![(0u64, 0u64); kw * h];
    let mut qc = vec![(0u64, 0u64); h + sh];
    let mut unit = (sw == 1 && sh == 1).then(|| UnitStride::new(h, w));
    // Strided: only the rows some kernel row reads, and only the residue classes (mod
    // the stride) some kernel offset reads, are summed (a 1×1 kernel of stride 2 reads a
    // quarter of the plane). Rows left out stay 0 in `r` and are in no range.
    let mut row_read = vec![false; h];
    for &(first, n) in &rows {
        for i in 0..n {
            row_read[first + i * sh] = true;
        }
    }
    let class = |reads: &[(usize, usize)], s: usize| {
        let mut used = vec![false; s];
        for &(first, n) in reads {
            if n > 0 {
                used[first % s] = true;
            }
        }
        used
    };
    let (col_class, row_class) = (class(&cols, sw), class(&rows, sh));
    for ch in 0..c.c {
        let plane = &terms[ch * h * w..(ch + 1) * h * w];
        if let Some(u) = unit.as_mut() {
            u.sum_plane(plane);
            for (ky, &ry) in rows.iter().enumerate() {
                for (kx, &rx) in cols.iter().enumerate() {
                    let (nz, st) = u.rect(plane, ry, rx);
                    nonzero[ch * k + ky * kw + kx] = nz;
                    sum[ch * k + ky * kw + kx] = st;
                }
            }
            continue;
        }
        for iy in (0..h).filter(|&iy| row_read[iy]) {
            let row = &plane[iy * w..(iy + 1) * w];
            strided_prefix(row, |t| ((t > 0) as u64, t as u64), sw, &col_class, &mut q);
            for (kx, &(first, n)) in cols.iter().enumerate() {
                r[kx * h + iy] = range(&q, first, n, sw);
            }
        }
        for kx in 0..kw {
            strided_prefix(&r[kx * h..(kx + 1) * h], |x| x, sh, &row_class, &mut qc);
            for (ky, &(first, n)) in rows.iter().enumerate() {
                let (nz, st) = range(&qc, first, n, sh);
                nonzero[ch * k + ky * kw + kx] = nz;
                sum[ch * k + ky * kw + kx] = st;
            }
        }
    }
    Stats {
        count: b.windows() as u64,
        nonzero,
        terms: sum,
    }
}

/// Unit stride both ways: the windows at (ky, kx) read one rectangle of the plane, its
/// sums taken as the plane's total less the rows and the columns outside it plus the
/// values outside both (the corners), or summed directly when the rectangle is the
/// smaller. The total is one reduction over the plane; the few rows and columns outside
/// some rectangle (the kernel's reach past the padding) are summed on first use.
struct UnitStride {
    h: usize,
    w: usize,
    total: (u64, u64),
    /// Per row, per column: (nonzero count, term sum), once summed.
    row: Vec<Option<(u64, u64)>>,
    col: Vec<Option<(u64, u64)>>,
}

/// (nonzero count, term sum) of some values.
fn value_sums(v: impl Iterator<Item = u8> + Clone) -> (u64, u64) {
    (
        v.clone().filter(|&t| t != 0).count() as u64,
        v.map(|t| t as u64).sum(),
    )
}

/// (nonzero count, term sum) of a slice.
fn byte_sums(v: &[u8]) -> (u64, u64) {
    // SAFETY: SSE2 is part of the x86-64 baseline, present on every such CPU.
    #[cfg(target_arch = "x86_64")]
    return unsafe { byte_sums_sse2(v) };
    #[cfg(not(target_arch = "x86_64"))]
    value_sums(v.iter().copied())
}

/// [`byte_sums`] 16 bytes per step with SSE2 (part of the x86-64 baseline): `psadbw`
/// sums the bytes, and the bytes of a compare with 0 (255 for each zero) summed alike
/// count the zeros.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn byte_sums_sse2(v: &[u8]) -> (u64, u64) {
    use std::arch::x86_64::*;
    let blocks = v.chunks_exact(16);
    let tail = value_sums(blocks.remainder().iter().copied());
    let zero = _mm_setzero_si128();
    let (mut zeros, mut sum) = (zero, zero);
    for b in blocks {
        // SAFETY: `b` is 16 readable bytes; the load is unaligned.
        let x = unsafe { _mm_loadu_si128(b.as_ptr().cast()) };
        sum = _mm_add_epi64(sum, _mm_sad_epu8(x, zero));
        zeros = _mm_add_epi64(zeros, _mm_sad_epu8(_mm_cmpeq_epi8(x, zero), zero));
    }
    let lanes = |x: __m128i| {
        let mut out = [0u64; 2];
        // SAFETY: `out` is 16 writable bytes; the store is unaligned.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), x) };
        out[0] + out[1]
    };
    let blocks_len = (v.len() - v.len() % 16) as u64;
    (
        blocks_len - lanes(zeros) / 255 + tail.0,
        lanes(sum) + tail.1,
    )
}

impl UnitStride {
    fn new(h: usize, w: usize) -> UnitStride {
        UnitStride {
            h,
            w,
            total: (0, 0),
            row: vec![None; h],
            col: vec![None; w],
        }
    }

    fn sum_plane(&mut self, plane: &[u8]) {
        self.total = byte_sums(plane);
        self.row.fill(None);
        self.col.fill(None);
    }

    /// (nonzero count, term sum) over rows `y0..y0 + ny` and columns `x0..x0 + nx`.
    fn rect(
        &mut self,
        plane: &[u8],
        (y0, ny): (usize, usize),
        (x0, nx): (usize, usize),
    ) -> (u64, u64) {
        let (h, w) = (self.h, self.w);
        if ny == 0 || nx == 0 {
            return (0, 0);
        }
        let (out_y, out_x) = (h - ny, w - nx);
        if ny * nx <= out_y * out_x + out_y * w + out_x * h {
            let rows = plane[y0 * w..(y0 + ny) * w].chunks_exact(w);
            return value_sums(rows.flat_map(|r| r[x0..x0 + nx].iter().copied()));
        }
        // Wrapping: the parts may cross zero, the result is exact.
        let sub = |v: (u64, u64), d: (u64, u64)| (v.0.wrapping_sub(d.0), v.1.wrapping_sub(d.1));
        let mut v = self.total;
        for iy in (0..y0).chain(y0 + ny..h) {
            let r = *self.row[iy].get_or_insert_with(|| byte_sums(&plane[iy * w..][..w]));
            v = sub(v, r);
        }
        for ix in (0..x0).chain(x0 + nx..w) {
            let c = *self.col[ix]
                .get_or_insert_with(|| value_sums(plane[ix..].iter().step_by(w).copied()));
            v = sub(v, c);
            for iy in (0..y0).chain(y0 + ny..h) {
                let t = plane[iy * w + ix];
                v = (
                    v.0.wrapping_add((t != 0) as u64),
                    v.1.wrapping_add(t as u64),
                );
            }
        }
        v
    }
}

/// q[j + s] = q[j] + f(v[j]), q[0..s] = 0: a prefix sum along each residue class mod
/// s for which `used[class]` (the others' entries are left as they were). Each class
/// is summed in registers (a running sum through `q` would wait on the store of the
/// element s before at every element).
#[inline]
fn strided_prefix<T: Copy>(
    v: &[T],
    f: impl Fn(T) -> (u64, u64),
    s: usize,
    used: &[bool],
    q: &mut [(u64, u64)],
) {
    q[..s].fill((0, 0));
    let q = &mut q[s..][..v.len()];
    for r in (0..s.min(v.len())).filter(|&r| used[r]) {
        let mut acc = (0u64, 0u64);
        // Chunks of s from r: element r of each (a plain loop; the iterator adapters'
        // skip/step_by cost more than the sums).
        for (x, q) in v[r..].chunks(s).zip(q[r..].chunks_mut(s)) {
            let (a, b) = f(x[0]);
            acc = (acc.0 + a, acc.1 + b);
            q[0] = acc;
        }
    }
}

/// Σ v[first + i·s] for i < n, from a strided prefix q.
#[inline]
fn range(q: &[(u64, u64)], first: usize, n: usize, s: usize) -> (u64, u64) {
    if n == 0 {
        return (0, 0);
    }
    let (hi, lo) = (q[first + n * s], q[first]);
    (hi.0 - lo.0, hi.1 - lo.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The direct sums: one term per (window, channel, ky, kx), padding included.
    fn act_stats_direct(c: &Conv, terms: &[u8]) -> Stats {
        let b = Bricks::conv(c, 1);
        let k = c.kh * c.kw;
        let mut nonzero = vec![0u64; c.c * k];
        let mut sum = vec![0u64; c.c * k];
        for ch in 0..c.c {
            for ky in 0..c.kh {
                for kx in 0..c.kw {
                    for n in 0..b.windows() {
                        if let Some((iy, ix)) = b.input_pos(n, ky, kx) {
                            let t = terms[(ch * c.h + iy) * c.w + ix];
                            nonzero[ch * k + ky * c.kw + kx] += (t > 0) as u64;
                            sum[ch * k + ky * c.kw + kx] += t as u64;
                        }
                    }
                }
            }
        }
        Stats {
            count: b.windows() as u64,
            nonzero,
            terms: sum,
        }
    }

    fn conv() -> impl Strategy<Value = Conv> {
        // Strides above the kernel and above the input, padding above kernel − 1, groups.
        (
            1usize..=3,
            1usize..=9,
            1usize..=9,
            1usize..=4,
            1usize..=4,
            1usize..=12,
            1usize..=12,
            0usize..=4,
            0usize..=3,
            1usize..=2,
        )
            .prop_filter_map(
                "valid geometry",
                |(cg, h, w, kh, kw, sh, sw, ph, pw, groups)| {
                    let c = Conv {
                        c: cg * groups,
                        h,
                        w,
                        f: groups,
                        kh,
                        kw,
                        sh,
                        sw,
                        ph,
                        pw,
                        groups,
                    };
                    (h + 2 * ph >= kh && w + 2 * pw >= kw).then_some(c)
                },
            )
    }

    /// A file may give any stride up to 2^32 − 1: the sums still take memory of the
    /// input's size (a mutant once asked for 64 GiB here), and equal the direct ones.
    #[test]
    fn huge_strides_sum_like_the_direct_loop() {
        let c = Conv {
            c: 2,
            h: 5,
            w: 4,
            f: 2,
            kh: 3,
            kw: 1,
            sh: u32::MAX as usize,
            sw: 2,
            ph: 1,
            pw: 0,
            groups: 2,
        };
        let terms: Vec<u8> = (0..c.c * c.h * c.w).map(|i| (i % 3) as u8).collect();
        let s = conv_act_stats(&c, &terms);
        assert_eq!(s, act_stats_direct(&c, &terms));
        // One window row (oy = 0 reads rows ky − 1), two window columns (ox = 0, 1):
        // at (ky, kx) = (0, 0) only padding; at (1, 0) row 0, columns 0 and 2.
        assert_eq!(s.count, 2);
        assert_eq!(s.terms[0], 0);
        // Channel 0, row 0: terms i % 3 at i = 0, 2 → 0 + 2.
        assert_eq!((s.nonzero[1], s.terms[1]), (1, 2));
    }

    proptest! {
        #[test]
        fn counting_equals_the_im2col_sum(c in conv(), seed in any::<u64>()) {
            let n = c.c * c.h * c.w;
            // Terms up to 255 in some channels.
            let terms: Vec<u8> = (0..n)
                .map(|i| ((seed >> (i % 61)) as u8 ^ i as u8) % if i % 5 == 0 { 255 } else { 4 })
                .collect();
            prop_assert_eq!(conv_act_stats(&c, &terms), act_stats_direct(&c, &terms));
        }

        #[test]
        fn unit_strides_equal_the_im2col_sum(
            c in conv().prop_map(|c| Conv { sh: 1, sw: 1, ..c }), seed in any::<u64>(),
        ) {
            let n = c.c * c.h * c.w;
            let terms: Vec<u8> = (0..n)
                .map(|i| ((seed >> (i % 53)) as u8 ^ (i * 3) as u8) % if i % 7 == 0 { 255 } else { 3 })
                .collect();
            prop_assert_eq!(conv_act_stats(&c, &terms), act_stats_direct(&c, &terms));
        }

        #[test]
        fn byte_sums_count_and_add_every_byte(
            v in proptest::collection::vec(prop_oneof![Just(0u8), Just(255u8), any::<u8>()], 0..100),
        ) {
            prop_assert_eq!(byte_sums(&v), value_sums(v.iter().copied()));
        }

        #[test]
        fn weight_sums_equal_the_direct_loop(
            (groups, fg, row) in (1usize..=3, 1usize..=600, 1usize..=12),
            big in any::<bool>(), seed in any::<u64>(),
        ) {
            // With `big`, terms near 255: the u16 block sums at their limit.
            let terms: Vec<u8> = (0..groups * fg * row)
                .map(|i| {
                    let x = (seed >> (i % 59)) as u8 ^ (i * 7) as u8;
                    if big { x | 0xf0 } else { x % 3 }
                })
                .collect();
            let geom = Geometry::Conv(Conv {
                c: groups * row, h: 1, w: 1, f: groups * fg, kh: 1, kw: 1,
                sh: 1, sw: 1, ph: 0, pw: 0, groups,
            });
            let s = weight_stats(&geom, &terms);
            prop_assert_eq!(s.count, fg as u64);
            for g in 0..groups {
                for i in 0..row {
                    let vals = (0..fg).map(|f| terms[(g * fg + f) * row + i]);
                    let nz = vals.clone().filter(|&t| t != 0).count() as u64;
                    let st: u64 = vals.map(|t| t as u64).sum();
                    prop_assert_eq!((s.nonzero[g * row + i], s.terms[g * row + i]), (nz, st));
                }
            }
        }

        #[test]
        fn linear_forms_equal_the_factor_tables(
            serial in any::<bool>(), skip in 0usize..3, planes in 1u32..=8, width in 1u32..=8,
            t in 0u8..=40,
        ) {
            use crate::scheme::Skip;
            let r = super::super::operand::Rule {
                serial,
                skip: [Skip::None, Skip::Word, Skip::Term][skip],
                planes,
                width,
            };
            let nz = (t > 0) as u64;
            prop_assert_eq!(r.work_linear().sum(1, nz, t as u64), r.work(t) as u64);
            prop_assert_eq!(r.cycle_linear().sum(1, nz, t as u64), r.cycle(t) as u64);
        }
    }
}
