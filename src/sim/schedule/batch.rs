//! The 16-lane greedy of section 4 on 64 rows at once, with AVX-512: the rows of
//! every buffer set of a layer at one step are independent (a promotion only moves a
//! weight within its row), so 64 of them — several sets' — run in the 64 bytes of a
//! vector, one byte per row. Slot l's candidate set is byte i of vector `c[l]` for row
//! i (bit k: offset k holds a weight), so one pass over the 16 slot vectors finds, for
//! all 64 rows, the slot with the most candidates (the largest key `count·16 + 15 − l`,
//! ties to the lowest lane), its first candidate (the lowest bit, read by a Galois-field
//! affine map), and clears what the promotion took (the slot, and the moved weight from
//! every slot that had it as a candidate: a byte table lookup by Δt and lane distance).
//! A row with no candidate left has key < 16 and changes nothing.
//!
//! Steps run in order, as the page's walk does; the masks are kept `[step][row]`, u16
//! per (step, row), so a step's 64 rows are one load, and laid out as [`Schedule`]
//! wants them at the end. The result is the other schedulers' exactly (tests).

use super::{nonzero_mask, Pattern, Schedule, ZeroRun};

/// Whether this CPU runs the 64-row scheduler.
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        has!("avx512f")
            && has!("avx512bw")
            && has!("avx512vbmi")
            && has!("avx512bitalg")
            && has!("gfni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the 64-row scheduler takes `pat`: 16 lanes, at most 8 offsets, Δt ≤ 4 (its
/// kill table is 4 × 32 bytes).
pub(super) fn fits(pat: &Pattern) -> bool {
    pat.lanes == 16 && pat.offsets.len() <= 8 && pat.max_dt() <= 4
}

/// [`Schedule::new`] for a pattern that [`fits`], on a CPU where [`available`]; and
/// per (step, lane), over every set, the zeros the schedule leaves out of the busy
/// lane-cycles ([`super::removed_sums`]).
#[cfg(target_arch = "x86_64")]
pub(super) fn build(
    terms: &[u8],
    fg: usize,
    steps: usize,
    rows: usize,
    pat: &Pattern,
) -> (Schedule, Vec<u64>) {
    assert!(fits(pat) && available(), "the 64-row scheduler runs here");
    let sets = fg.div_ceil(rows);
    let nr = sets * rows;
    // Rows per step, padded to whole batches of 64.
    let fp = nr.div_ceil(64) * 64;
    let ndt = pat.max_dt();
    let mut orig = vec![0u16; steps * fp];
    for f in 0..fg {
        // SAFETY: `available()` was checked above.
        unsafe {
            nonzero_masks(
                &terms[f * steps * 16..(f + 1) * steps * 16],
                &mut orig[f..],
                fp,
            )
        };
    }
    let mut cur = orig.clone();
    let mut fixed = vec![u16::MAX; steps * fp];
    // Per Δt − 1: the lanes moved out of (step, row), the same layout.
    let mut moved = vec![0u16; ndt * steps * fp];
    let tables = Tables::new(pat);
    // Per set: zero lines skipped in a row so far; per row: 0xffff where its set is
    // scheduled at this step.
    let mut z = vec![ZeroRun::default(); sets];
    let mut act = vec![0u16; fp];
    let mut blocks = Vec::with_capacity(fp / 16);
    let mut promoted = 0u64;
    for t in 0..steps {
        let n = pat.offsets.partition_point(|&(dt, _)| t + dt < steps);
        let mut any = false;
        for j in 0..sets {
            let step = &cur[t * fp + j * rows..][..rows];
            let on = !z[j].skips(pat.lookahead, step) && n > 0;
            any |= on;
            act[j * rows..(j + 1) * rows].fill(if on { u16::MAX } else { 0 });
        }
        if !any {
            continue;
        }
        // The 16-row blocks with a row scheduled now, four to a batch: a set whose
        // step is a zero line left as it is takes no room.
        blocks.clear();
        blocks.extend((0..fp / 16).filter(|&b| act[16 * b..16 * b + 16].iter().any(|&a| a != 0)));
        for four in blocks.chunks(4) {
            // SAFETY: `available()` was checked above; every access is within the
            // slices (blocks below fp / 16, `t + Δt < steps` for the n usable offsets).
            promoted += unsafe {
                batch(
                    &mut cur,
                    &mut fixed,
                    &mut moved,
                    &act,
                    Batch {
                        t,
                        blocks: four,
                        fp,
                        steps,
                        n,
                        ndt,
                    },
                    &tables,
                )
            };
        }
    }
    // Laid out per (set, step, row), the promotions per (set, step, row) and Δt.
    let n_rows = sets * steps * rows;
    let mut s_orig = vec![0u64; n_rows];
    let mut s_fixed = vec![0u64; n_rows];
    let mut s_moved = vec![0u64; n_rows * ndt];
    let mut kept = Vec::new();
    let mut kept_start = Vec::with_capacity(sets + 1);
    kept_start.push(0);
    // Per (step, row): 0xffff where the row's set keeps the step.
    let mut keeps = vec![0u16; steps * fp];
    for j in 0..sets {
        let mut zl = ZeroRun::default();
        for t in 0..steps {
            let at = t * fp + j * rows;
            let o = (j * steps + t) * rows;
            for (x, &m) in s_orig[o..o + rows].iter_mut().zip(&orig[at..at + rows]) {
                *x = m as u64;
            }
            for (x, &m) in s_fixed[o..o + rows].iter_mut().zip(&fixed[at..at + rows]) {
                *x = m as u64;
            }
            let o = o * ndt;
            // Row by row, its Δt's side by side (ndt ≤ 4).
            let mut srcs: [&[u16]; 4] = [&[]; 4];
            for (d, src) in srcs.iter_mut().enumerate().take(ndt) {
                *src = &moved[d * steps * fp + at..][..rows];
            }
            for (r, out) in s_moved[o..o + rows * ndt]
                .chunks_exact_mut(ndt.max(1))
                .enumerate()
            {
                for (x, src) in out.iter_mut().zip(&srcs) {
                    *x = src[r] as u64;
                }
            }
            // Section 5's walk.
            if !zl.skips(pat.lookahead, &cur[at..at + rows]) {
                kept.push(t as u32);
                keeps[at..at + rows].fill(u16::MAX);
            }
        }
        kept_start.push(kept.len());
    }
    // Zeros left out: at a kept step those displaced by promotions into their slots
    // (neither nonzero at first nor fixed), at a skipped one every zero; real rows only.
    let mut sums = vec![0u64; steps * 16];
    let mut x = vec![0u16; fg];
    for t in 0..steps {
        let at = t * fp;
        for (i, x) in x.iter_mut().enumerate() {
            *x = !(orig[at + i] | (fixed[at + i] & keeps[at + i]));
        }
        // SAFETY: `available()` was checked above.
        unsafe { lane_counts(&x, &mut sums[t * 16..(t + 1) * 16]) };
    }
    let sch = Schedule {
        rows,
        steps,
        lanes: 16,
        words: 1,
        sets,
        real_rows: (0..sets).map(|j| (fg - j * rows).min(rows)).collect(),
        orig: s_orig,
        fixed: s_fixed,
        dts: ndt,
        moved: s_moved,
        promoted,
        kept,
        kept_start,
    };
    (sch, sums)
}

/// Per brick of `terms` (16 lanes each), the lanes holding a nonzero byte: brick t's
/// into `out[t·stride]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn nonzero_masks(terms: &[u8], out: &mut [u16], stride: usize) {
    use std::arch::x86_64::*;
    let mut chunks = terms.chunks_exact(64);
    let mut t = 0;
    for c in &mut chunks {
        let v = _mm512_loadu_si512(c.as_ptr().cast());
        let m = _mm512_test_epi8_mask(v, v);
        for i in 0..4 {
            out[(t + i) * stride] = (m >> (16 * i)) as u16;
        }
        t += 4;
    }
    let mut m = [0u64];
    for b in chunks.remainder().chunks_exact(16) {
        nonzero_mask(b, &mut m);
        out[t * stride] = m[0] as u16;
        t += 1;
    }
}

/// Adds to `sums[l]` how many of `x` have bit l set.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,popcnt")]
unsafe fn lane_counts(x: &[u16], sums: &mut [u64]) {
    use std::arch::x86_64::*;
    let mut n = [0u64; 16];
    let mut chunks = x.chunks_exact(32);
    for c in &mut chunks {
        let v = _mm512_loadu_si512(c.as_ptr().cast());
        for (l, n) in n.iter_mut().enumerate() {
            *n += _mm512_test_epi16_mask(v, _mm512_set1_epi16(1 << l)).count_ones() as u64;
        }
    }
    for &m in chunks.remainder() {
        for (l, n) in n.iter_mut().enumerate() {
            *n += (m >> l & 1) as u64;
        }
    }
    for (s, n) in sums.iter_mut().zip(n) {
        *s += n;
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(super) fn build(_: &[u8], _: usize, _: usize, _: usize, _: &Pattern) -> (Schedule, Vec<u64>) {
    unreachable!("the 64-row scheduler is x86-64 only")
}

/// The pattern's offsets as the kernel reads them.
struct Tables {
    /// Per offset k (< 8): Δt, lane offset.
    dt: [usize; 8],
    dl: [u8; 8],
    /// `kill[(Δt − 1)·32 + d]` and `[… + 16 + d]`: the candidate bits a promotion of Δt
    /// clears in the slot d lanes before the moved weight's lane (bit k2 for each
    /// offset k2 with that Δt and lane offset d).
    kill: [u8; 128],
}

impl Tables {
    fn new(pat: &Pattern) -> Tables {
        let mut t = Tables {
            dt: [1; 8],
            dl: [0; 8],
            kill: [0; 128],
        };
        for (k, &(dt, dl)) in pat.offsets.iter().enumerate() {
            t.dt[k] = dt;
            t.dl[k] = dl as u8;
            // Lane distances d and d + 16 (the kernel indexes 16 + src − l2).
            t.kill[(dt - 1) * 32 + dl] |= 1 << k;
            t.kill[(dt - 1) * 32 + 16 + dl] |= 1 << k;
        }
        t
    }
}

/// Where a batch is: step t, up to four blocks of 16 rows (`16·b..16·b + 16` of `fp`
/// per step), `n` usable offsets, Δt up to `ndt`.
struct Batch<'a> {
    t: usize,
    blocks: &'a [usize],
    fp: usize,
    steps: usize,
    n: usize,
    ndt: usize,
}

/// One step of up to 64 rows; returns the promotions made.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512bitalg,gfni,popcnt")]
unsafe fn batch(
    cur: &mut [u16],
    fixed: &mut [u16],
    moved: &mut [u16],
    act: &[u16],
    at: Batch<'_>,
    tab: &Tables,
) -> u64 {
    use std::arch::x86_64::*;
    let Batch {
        t,
        blocks,
        fp,
        steps,
        n,
        ndt,
    } = at;
    let nb = blocks.len();
    // Rows 16q..16q + 16 of the vectors are block q's; past the blocks, zeros.
    let load2 = |v: &[u16], i: usize| -> [__m512i; 2] {
        let y = |q: usize| {
            if q < nb {
                let b = &v[i + 16 * blocks[q]..][..16];
                _mm256_loadu_si256(b.as_ptr().cast())
            } else {
                _mm256_setzero_si256()
            }
        };
        [
            _mm512_inserti64x4::<1>(_mm512_castsi256_si512(y(0)), y(1)),
            _mm512_inserti64x4::<1>(_mm512_castsi256_si512(y(2)), y(3)),
        ]
    };
    let store2 = |v: &mut [u16], i: usize, x: [__m512i; 2]| {
        for (q, &b) in blocks.iter().enumerate() {
            let y = if q % 2 == 0 {
                _mm512_castsi512_si256(x[q / 2])
            } else {
                _mm512_extracti64x4_epi64::<1>(x[q / 2])
            };
            _mm256_storeu_si256(v[i + 16 * b..][..16].as_mut_ptr().cast(), y);
        }
    };
    let row = |s: usize| s * fp;
    let zero = _mm512_setzero_si512();
    // Zero slots of each row (of the sets scheduled now), as u16 lane masks.
    let here = load2(cur, row(t));
    let on = load2(act, 0);
    let zt = [
        _mm512_andnot_si512(here[0], on[0]),
        _mm512_andnot_si512(here[1], on[1]),
    ];
    // Candidate bytes per slot: bit k of byte i of c[l] ⇔ row i's slot l is zero and
    // (t + Δt_k, l + dl_k) holds a weight.
    let mut c = [zero; 16];
    for k in 0..n {
        let m = load2(cur, row(t + tab.dt[k]));
        let (r, lft) = (
            _mm_cvtsi32_si128(tab.dl[k] as i32),
            _mm_cvtsi32_si128(16 - tab.dl[k] as i32),
        );
        let cand: [__m512i; 2] = std::array::from_fn(|h| {
            let rot = _mm512_or_si512(_mm512_srl_epi16(m[h], r), _mm512_sll_epi16(m[h], lft));
            _mm512_and_si512(rot, zt[h])
        });
        let bit = _mm512_set1_epi8(1 << k);
        for (l, cl) in c.iter_mut().enumerate() {
            let lane = _mm512_set1_epi16(1 << l);
            let lo = _mm512_test_epi16_mask(cand[0], lane) as u64;
            let hi = _mm512_test_epi16_mask(cand[1], lane) as u64;
            *cl = _mm512_mask_add_epi8(*cl, lo | hi << 32, *cl, bit);
        }
    }
    // Lowest set bit's index of a one-hot byte: bit i of the index is the parity of
    // the byte with the lanes whose index has bit i.
    let log2 = _mm512_set1_epi64(0xaacc_f000_0000_0000u64 as i64);
    // Bit i of the result is bit i − 4 of the byte.
    let shl4 = _mm512_set1_epi64(0x0102_0408);
    let mut lut_dl = [0u8; 16];
    let mut lut_dt = [0u8; 16];
    for k in 0..8 {
        lut_dl[k] = tab.dl[k];
        lut_dt[k] = ((tab.dt[k] - 1) << 5) as u8;
    }
    let bcast = |x: &[u8; 16]| _mm512_broadcast_i32x4(_mm_loadu_si128(x.as_ptr().cast()));
    let (lut_dl, lut_dt) = (bcast(&lut_dl), bcast(&lut_dt));
    let kill_lo = _mm512_loadu_si512(tab.kill.as_ptr().cast());
    let kill_hi = _mm512_loadu_si512(tab.kill[64..].as_ptr().cast());
    let bit_lo = bcast(&std::array::from_fn(|l| if l < 8 { 1 << l } else { 0 }));
    let bit_hi = bcast(&std::array::from_fn(
        |l| if l >= 8 { 1 << (l - 8) } else { 0 },
    ));
    let lanes15 = _mm512_set1_epi8(15);
    let mut dst = [zero; 2];
    let mut out = [[zero; 2]; 8];
    let mut promoted = 0u64;
    loop {
        // Per row the largest key count·16 + 15 − l, four chains of max.
        // count·16 + 15 − l in one Galois-field affine map: the count shifted up four
        // bits, the constant added.
        let mut m4 = [zero; 4];
        macro_rules! keys {
            ($($l:literal)*) => {$(
                let key = _mm512_gf2p8affine_epi64_epi8::<{ 15 - $l }>(
                    _mm512_popcnt_epi8(c[$l]),
                    shl4,
                );
                m4[$l % 4] = _mm512_max_epu8(m4[$l % 4], key);
            )*};
        }
        keys!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
        let best = _mm512_max_epu8(_mm512_max_epu8(m4[0], m4[1]), _mm512_max_epu8(m4[2], m4[3]));
        let valid = _mm512_cmpge_epu8_mask(best, _mm512_set1_epi8(16));
        if valid == 0 {
            break;
        }
        promoted += valid.count_ones() as u64;
        // The chosen slot (15 − the key's low nibble), its candidates, and the slot
        // emptied of them.
        let ln = _mm512_and_si512(best, lanes15);
        let mut x4 = [zero; 4];
        for (l, cl) in c.iter_mut().enumerate() {
            let s = _mm512_cmpeq_epi8_mask(ln, _mm512_set1_epi8(15 - l as i8));
            x4[l % 4] = _mm512_mask_mov_epi8(x4[l % 4], s, *cl);
            *cl = _mm512_mask_mov_epi8(*cl, s, zero);
        }
        let x = _mm512_or_si512(_mm512_or_si512(x4[0], x4[1]), _mm512_or_si512(x4[2], x4[3]));
        let low = _mm512_and_si512(x, _mm512_sub_epi8(zero, x));
        let k = _mm512_gf2p8affine_epi64_epi8::<0>(low, log2);
        let l = _mm512_sub_epi8(lanes15, ln);
        let g32 = _mm512_shuffle_epi8(lut_dt, k);
        let src = _mm512_and_si512(_mm512_add_epi8(l, _mm512_shuffle_epi8(lut_dl, k)), lanes15);
        // Slot l2 loses the bits of the offsets of this Δt that name src from l2:
        // kill[32·(Δt − 1) + 16 + src − l2].
        let base = _mm512_add_epi8(src, g32);
        for (l2, cl) in c.iter_mut().enumerate() {
            let idx = _mm512_add_epi8(base, _mm512_set1_epi8(16 - l2 as i8));
            // Δt ≤ 2: the table's first 64 bytes, one single-source permute.
            let kill = if ndt <= 2 {
                _mm512_maskz_permutexvar_epi8(valid, idx, kill_lo)
            } else {
                _mm512_maskz_permutex2var_epi8(valid, kill_lo, idx, kill_hi)
            };
            *cl = _mm512_andnot_si512(kill, *cl);
        }
        let src_g = g32;
        dst[0] = _mm512_mask_add_epi8(dst[0], valid, dst[0], _mm512_shuffle_epi8(bit_lo, l));
        dst[1] = _mm512_mask_add_epi8(dst[1], valid, dst[1], _mm512_shuffle_epi8(bit_hi, l));
        let (slo, shi) = (
            _mm512_shuffle_epi8(bit_lo, src),
            _mm512_shuffle_epi8(bit_hi, src),
        );
        for (g, o) in out.iter_mut().enumerate().take(ndt) {
            let mg = _mm512_mask_cmpeq_epi8_mask(valid, src_g, _mm512_set1_epi8((g << 5) as i8));
            o[0] = _mm512_mask_add_epi8(o[0], mg, o[0], slo);
            o[1] = _mm512_mask_add_epi8(o[1], mg, o[1], shi);
        }
    }
    if promoted == 0 {
        return 0;
    }
    // Bytes (lanes 0..8, 8..16) of 64 rows → u16 masks of rows 0..32, 32..64.
    let words = |v: [__m512i; 2]| -> [__m512i; 2] {
        std::array::from_fn(|h| {
            let half = |x: __m512i| {
                if h == 0 {
                    _mm512_castsi512_si256(x)
                } else {
                    _mm512_extracti64x4_epi64::<1>(x)
                }
            };
            _mm512_or_si512(
                _mm512_cvtepu8_epi16(half(v[0])),
                _mm512_slli_epi16::<8>(_mm512_cvtepu8_epi16(half(v[1]))),
            )
        })
    };
    let dst = words(dst);
    let f = load2(fixed, row(t));
    store2(
        cur,
        row(t),
        [
            _mm512_or_si512(here[0], dst[0]),
            _mm512_or_si512(here[1], dst[1]),
        ],
    );
    store2(
        fixed,
        row(t),
        [
            _mm512_andnot_si512(dst[0], f[0]),
            _mm512_andnot_si512(dst[1], f[1]),
        ],
    );
    for (g, o) in out.iter().enumerate().take(ndt) {
        let m = words(*o);
        let from = row(t + g + 1);
        if from >= steps * fp {
            continue;
        }
        let (cu, fx) = (load2(cur, from), load2(fixed, from));
        store2(
            cur,
            from,
            [
                _mm512_andnot_si512(m[0], cu[0]),
                _mm512_andnot_si512(m[1], cu[1]),
            ],
        );
        store2(
            fixed,
            from,
            [
                _mm512_andnot_si512(m[0], fx[0]),
                _mm512_andnot_si512(m[1], fx[1]),
            ],
        );
        store2(moved, g * steps * fp + row(t), m);
    }
    promoted
}
