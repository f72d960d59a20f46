//! What one operand costs under a scheme: per-value cycle and work factors
//! (cycle-model.md, "Operands and schemes"), and the brick layouts the loop nest reads.
//!
//! Activations of one group are laid out channel-last and padded to whole bricks
//! (`[iy][ix][chunk·lanes + lane]`), so the brick a step feeds to a column is one
//! contiguous slice. Weights are laid out `[filter][step][lane]`.

use crate::encoding::{Encoding, TermEncoding};
use crate::model::Conv;
use crate::scheme::{Operand, Scheme, Skip};
use crate::tensor::Tensor;

/// How a scheme treats one operand of one layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Fed digit by digit.
    pub serial: bool,
    /// What is skipped.
    pub skip: Skip,
    /// Serial planes (levels / precision, or the override).
    pub planes: u32,
    /// Parallel width in potentials (levels / bits, or the override).
    pub width: u32,
}

impl Rule {
    /// The rule for `op` of `scheme` on a tensor of encoding `enc`.
    pub fn new(scheme: &Scheme, op: Operand, enc: &Encoding) -> Rule {
        let over = scheme.planes_override(op);
        Rule {
            serial: scheme.is_serial(op),
            skip: scheme.skip(op),
            planes: over.unwrap_or(enc.serial_planes()),
            width: over.unwrap_or(enc.parallel_width()),
        }
    }

    /// Cycle factor of a value with `terms` nonzero digits (0 = zero word or padding).
    #[inline]
    pub fn cycle(&self, terms: u8) -> u32 {
        let nz = terms > 0;
        match (self.serial, self.skip) {
            (false, Skip::None) => 1,
            (false, _) => nz as u32,
            (true, Skip::None) => self.planes,
            (true, Skip::Word) => nz as u32 * self.planes,
            (true, Skip::Term) => terms as u32,
        }
    }

    /// Work factor (potentials) of a value with `terms` nonzero digits.
    #[inline]
    pub fn work(&self, terms: u8) -> u32 {
        let nz = terms > 0;
        match (self.serial, self.skip) {
            (false, Skip::None) => self.width,
            (false, _) => nz as u32 * self.width,
            (true, Skip::None) => self.planes,
            (true, Skip::Word) => nz as u32 * self.planes,
            (true, Skip::Term) => terms as u32,
        }
    }

    /// The work factor as α + β·[terms > 0] + γ·terms: every rule of the table is one of
    /// these three shapes, so a sum of work factors over any set of values only needs the
    /// set's size, its nonzero count and its term sum (potentials share those per layer).
    pub fn work_linear(&self) -> Linear {
        Linear::of(self.serial, self.skip, self.width, self.planes)
    }

    /// The cycle factor in the same linear form (uncapped).
    pub fn cycle_linear(&self) -> Linear {
        Linear::of(self.serial, self.skip, 1, self.planes)
    }

    /// True when the cycle factor does not depend on the value.
    pub fn constant_cycle(&self) -> Option<u32> {
        match self.skip {
            Skip::None => Some(self.cycle(0)),
            _ => None,
        }
    }

    /// True when every cycle factor is 0 or one constant K (word skipping).
    pub fn zero_or(&self) -> Option<u32> {
        match self.skip {
            Skip::Word => Some(self.cycle(1)),
            _ => None,
        }
    }
}

/// A factor written as α + β·[terms > 0] + γ·terms (see [`Rule::work_linear`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linear {
    pub alpha: u64,
    pub beta: u64,
    pub gamma: u64,
}

impl Linear {
    /// `parallel` is what a parallel operand spends (width for work, 1 for cycles).
    fn of(serial: bool, skip: Skip, parallel: u32, planes: u32) -> Linear {
        let (alpha, beta, gamma) = match (serial, skip) {
            (false, Skip::None) => (parallel, 0, 0),
            (false, _) => (0, parallel, 0),
            (true, Skip::None) => (planes, 0, 0),
            (true, Skip::Word) => (0, planes, 0),
            (true, Skip::Term) => (0, 0, 1),
        };
        Linear {
            alpha: alpha as u64,
            beta: beta as u64,
            gamma: gamma as u64,
        }
    }

    /// Σ of the factor over `count` values of which `nonzero` are nonzero, with term
    /// sum `terms`.
    #[inline]
    pub fn sum(&self, count: u64, nonzero: u64, terms: u64) -> u64 {
        self.alpha * count + self.beta * nonzero + self.gamma * terms
    }
}

/// Cycle factor of every possible term count, capped at 255 (no rule reaches it: planes
/// and terms are at most 32). Every rule's factor is nondecreasing in the term count, so
/// the max of the factors of a set of values is the factor of their max term count.
pub fn lut(r: &Rule) -> [u8; 256] {
    let mut t = [0u8; 256];
    for (i, v) in t.iter_mut().enumerate() {
        *v = r.cycle(i as u8).min(255) as u8;
    }
    t
}

/// How a scheme reads the terms of one tensor. Schemes with equal keys see equal
/// `terms(x)`, so a layer computes them once per key, not once per scheme: ternary terms
/// never depend on the scheme, binary ones only on the planes override, int ones only on
/// the term encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TermKey {
    Ternary,
    /// Terms of every element (the planes override, or the levels).
    Binary(u32),
    Int(TermEncoding),
}

impl TermKey {
    /// The key of operand `op` of `scheme` on tensor `t`.
    pub fn of(t: &Tensor, scheme: &Scheme, op: Operand) -> TermKey {
        match *t.encoding() {
            Encoding::Ternary { .. } => TermKey::Ternary,
            Encoding::Binary { levels, .. } => {
                TermKey::Binary(scheme.planes_override(op).unwrap_or(levels as u32))
            }
            Encoding::Int { .. } => TermKey::Int(scheme.term_encoding),
        }
    }

    /// `terms(x)` of every element of `t` (a tensor this key was made for).
    pub fn terms(self, t: &Tensor) -> Vec<u8> {
        match self {
            TermKey::Ternary => t.all_terms(TermEncoding::Plain, None),
            TermKey::Binary(n) => t.all_terms(TermEncoding::Plain, Some(n)),
            TermKey::Int(te) => t.all_terms(te, None),
        }
    }
}

/// Geometry of the bricks of one group (FC layers are a 1×1 conv on a 1×1 input).
#[derive(Clone, Copy, Debug)]
pub struct Bricks {
    /// Channels per group.
    pub cg: usize,
    /// Lanes per brick.
    pub lanes: usize,
    /// ⌈Cg/lanes⌉.
    pub chunks: usize,
    /// Steps per window: KH·KW·chunks.
    pub steps: usize,
    /// Input height and width.
    pub h: usize,
    pub w: usize,
    /// Kernel, stride, padding.
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
    /// Output rows and columns.
    pub oy: usize,
    pub ox: usize,
}

impl Bricks {
    /// Bricks of one group of a conv layer.
    pub fn conv(c: &Conv, lanes: usize) -> Bricks {
        let chunks = c.cg().div_ceil(lanes);
        Bricks {
            cg: c.cg(),
            lanes,
            chunks,
            steps: c.kh * c.kw * chunks,
            h: c.h,
            w: c.w,
            kh: c.kh,
            kw: c.kw,
            sh: c.sh,
            sw: c.sw,
            ph: c.ph,
            pw: c.pw,
            oy: c.oy(),
            ox: c.ox(),
        }
    }

    /// Bricks of an FC layer with `c` inputs.
    pub fn fc(c: usize, lanes: usize) -> Bricks {
        let chunks = c.div_ceil(lanes);
        Bricks {
            cg: c,
            lanes,
            chunks,
            steps: chunks,
            h: 1,
            w: 1,
            kh: 1,
            kw: 1,
            sh: 1,
            sw: 1,
            ph: 0,
            pw: 0,
            oy: 1,
            ox: 1,
        }
    }

    /// Windows Oy·Ox.
    pub fn windows(&self) -> usize {
        self.oy * self.ox
    }

    /// Padded channels per input position.
    pub fn padded_channels(&self) -> usize {
        self.chunks * self.lanes
    }

    /// (ky, kx, chunk) of step t.
    #[inline]
    pub fn step(&self, t: usize) -> (usize, usize, usize) {
        let kx = t / (self.kh * self.chunks);
        let ky = (t / self.chunks) % self.kh;
        (ky, kx, t % self.chunks)
    }

    /// (oy, ox) of window n: the output row varies fastest.
    #[inline]
    pub fn window(&self, n: usize) -> (usize, usize) {
        (n % self.oy, n / self.oy)
    }

    /// Input position read by window n at kernel offset (ky, kx), None in the padding.
    #[inline]
    pub fn input_pos(&self, n: usize, ky: usize, kx: usize) -> Option<(usize, usize)> {
        let (oy, ox) = self.window(n);
        let iy = (oy * self.sh + ky).checked_sub(self.ph)?;
        let ix = (ox * self.sw + kx).checked_sub(self.pw)?;
        (iy < self.h && ix < self.w).then_some((iy, ix))
    }

    /// Index iy·W + ix of the input position read by window n at (ky, kx), None in the
    /// padding.
    #[inline]
    pub fn pos(&self, n: usize, ky: usize, kx: usize) -> Option<usize> {
        self.input_pos(n, ky, kx).map(|(iy, ix)| iy * self.w + ix)
    }

    /// The input rows read at kernel row ky, over all windows: (first row, count); rows
    /// are `sh` apart. Count 0 when every window reads padding there.
    pub fn rows_read(&self, ky: usize) -> (usize, usize) {
        read_range(self.h, self.oy, self.sh, self.ph, ky)
    }

    /// The input columns read at kernel column kx: (first column, count), `sw` apart.
    pub fn cols_read(&self, kx: usize) -> (usize, usize) {
        read_range(self.w, self.ox, self.sw, self.pw, kx)
    }

    /// Offset of the brick that window n reads at step t in a channel-last layout, or
    /// None when it lies in the padding.
    #[inline]
    pub fn act_offset(&self, n: usize, t: usize) -> Option<usize> {
        let (ky, kx, k) = self.step(t);
        let (iy, ix) = self.input_pos(n, ky, kx)?;
        Some((iy * self.w + ix) * self.padded_channels() + k * self.lanes)
    }
}

/// Of the positions o·s + k − p (o < out) those in [0, len): (first, count).
fn read_range(len: usize, out: usize, s: usize, p: usize, k: usize) -> (usize, usize) {
    // o·s + k ≥ p  ⇔  o ≥ ⌈(p − k)/s⌉.
    let lo = p.saturating_sub(k).div_ceil(s);
    // o·s + k − p ≤ len − 1  ⇔  o ≤ ⌊(len − 1 + p − k)/s⌋ (none when len − 1 + p < k).
    let Some(top) = (len + p).checked_sub(k + 1) else {
        return (0, 0);
    };
    let hi = (top / s).min(out.saturating_sub(1));
    if out == 0 || lo > hi {
        return (0, 0);
    }
    (lo * s + k - p, hi - lo + 1)
}

/// Per-value factors of group `g`'s activations, channel-last and brick-padded: lanes
/// past Cg hold `pad`. `value(i)` gives the factor of element i of the C·H·W tensor.
pub fn act_layout<T: Copy>(b: &Bricks, g: usize, pad: T, value: impl Fn(usize) -> T) -> Vec<T> {
    let cp = b.padded_channels();
    let hw = b.h * b.w;
    let mut out = vec![pad; hw * cp];
    for c in 0..b.cg {
        let base = (g * b.cg + c) * hw;
        for pos in 0..hw {
            out[pos * cp + c] = value(base + pos);
        }
    }
    out
}

/// [`act_layout`] of plain bytes (`src` is the whole tensor): 8×8 tiles of (channel,
/// position) are loaded as eight u64 rows, transposed in registers and stored as eight
/// rows of (position, channel); the edges that fill no whole tile go one by one.
pub fn act_layout_bytes(b: &Bricks, g: usize, src: &[u8]) -> Vec<u8> {
    let cp = b.padded_channels();
    let hw = b.h * b.w;
    let mut out = vec![0u8; hw * cp];
    let plane = |c: usize| &src[(g * b.cg + c) * hw..][..hw];
    let (c8, p8) = (b.cg - b.cg % 8, hw - hw % 8);
    for c0 in (0..c8).step_by(8) {
        for p0 in (0..p8).step_by(8) {
            let mut rows = [0u64; 8];
            for (i, r) in rows.iter_mut().enumerate() {
                *r = u64::from_le_bytes(plane(c0 + i)[p0..p0 + 8].try_into().expect("8"));
            }
            transpose8(&mut rows);
            for (j, r) in rows.iter().enumerate() {
                out[(p0 + j) * cp + c0..][..8].copy_from_slice(&r.to_le_bytes());
            }
        }
        for c in c0..c0 + 8 {
            for (pos, &v) in plane(c).iter().enumerate().skip(p8) {
                out[pos * cp + c] = v;
            }
        }
    }
    for c in c8..b.cg {
        for (pos, &v) in plane(c).iter().enumerate() {
            out[pos * cp + c] = v;
        }
    }
    out
}

/// Transpose an 8×8 matrix of bytes held as eight u64 rows (byte j of row i is
/// element (i, j)): swap the off-diagonal 1×1, then 2×2, then 4×4 blocks.
#[inline]
fn transpose8(r: &mut [u64; 8]) {
    const MASKS: [u64; 3] = [
        0x00ff_00ff_00ff_00ff,
        0x0000_ffff_0000_ffff,
        0x0000_0000_ffff_ffff,
    ];
    for (level, mask) in MASKS.into_iter().enumerate() {
        let d = 1 << level;
        for i in (0..8).filter(|i| i & d == 0) {
            let sh = 8 * d as u32;
            let t = ((r[i] >> sh) ^ r[i + d]) & mask;
            r[i + d] ^= t;
            r[i] ^= t << sh;
        }
    }
}

/// Per-value factors of the weights of filters `f0..f0+fg`, laid out `[f][t][lane]`;
/// lanes past Cg hold `pad`. Weights are F·Cg·KH·KW in C order (FC: F·C), read in that
/// order.
pub fn weight_layout<T: Copy>(
    b: &Bricks,
    f0: usize,
    fg: usize,
    pad: T,
    value: impl Fn(usize) -> T,
) -> Vec<T> {
    let (t_n, l_n) = (b.steps, b.lanes);
    let kk = b.kh * b.kw;
    let mut out = vec![pad; fg * t_n * l_n];
    for f in 0..fg {
        let dst = &mut out[f * t_n * l_n..(f + 1) * t_n * l_n];
        let base = (f0 + f) * b.cg * kk;
        // Brick by brick: each written in lane order, its weights read KH·KW apart.
        for ky in 0..b.kh {
            for kx in 0..b.kw {
                let o = base + ky * b.kw + kx;
                for k in 0..b.chunks {
                    let t = (kx * b.kh + ky) * b.chunks + k;
                    let c0 = k * l_n;
                    let n = b.cg.saturating_sub(c0).min(l_n);
                    for (l, d) in dst[t * l_n..t * l_n + n].iter_mut().enumerate() {
                        *d = value(o + (c0 + l) * kk);
                    }
                }
            }
        }
    }
    out
}

/// [`weight_layout`] of a byte tensor: on 16 lanes with 9 kernel positions and whole
/// bricks (3×3 kernels, channels a multiple of 16) a brick is 16 bytes 9 apart in the
/// tensor, gathered by byte permutes where the CPU has them (AVX-512 VBMI).
pub fn weight_layout_bytes(b: &Bricks, f0: usize, fg: usize, terms: &[u8]) -> Vec<u8> {
    #[cfg(target_arch = "x86_64")]
    if b.lanes == 16
        && b.kh * b.kw == 9
        && b.cg.is_multiple_of(16)
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vbmi")
    {
        let mut out = vec![0u8; fg * b.steps * 16];
        // SAFETY: the features were checked just above.
        unsafe { layout_9x16(b, f0, fg, terms, &mut out) };
        return out;
    }
    weight_layout(b, f0, fg, 0, |i| terms[i])
}

/// [`weight_layout_bytes`]'s permutes: per filter and group of 16 channels (144 bytes,
/// `[c][ky][kx]`), kernel position o's brick is bytes o, o + 9, … o + 135.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn layout_9x16(b: &Bricks, f0: usize, fg: usize, terms: &[u8], out: &mut [u8]) {
    use std::arch::x86_64::*;
    // Per o: indexes into the first 128 bytes, into the last 16, and the lanes that
    // read the last 16.
    let mut lo = [[0u8; 64]; 9];
    let mut hi = [[0u8; 64]; 9];
    let mut sel = [0u64; 9];
    for o in 0..9 {
        for l in 0..16 {
            let i = o + 9 * l;
            lo[o][l] = (i & 127) as u8;
            hi[o][l] = (i.saturating_sub(128) & 63) as u8;
            if i >= 128 {
                sel[o] |= 1 << l;
            }
        }
    }
    let lo: [__m512i; 9] = std::array::from_fn(|o| _mm512_loadu_si512(lo[o].as_ptr().cast()));
    let hi: [__m512i; 9] = std::array::from_fn(|o| _mm512_loadu_si512(hi[o].as_ptr().cast()));
    let (steps, chunks) = (b.steps, b.chunks);
    for f in 0..fg {
        let src = &terms[(f0 + f) * b.cg * 9..][..b.cg * 9];
        let dst = &mut out[f * steps * 16..][..steps * 16];
        for k in 0..chunks {
            let block = &src[k * 144..k * 144 + 144];
            let x = _mm512_loadu_si512(block.as_ptr().cast());
            let y = _mm512_loadu_si512(block[64..].as_ptr().cast());
            let z = _mm512_maskz_loadu_epi8(0xffff, block[128..].as_ptr().cast());
            for o in 0..9 {
                let (ky, kx) = (o / b.kw, o % b.kw);
                let t = (kx * b.kh + ky) * chunks + k;
                let v = _mm512_mask_blend_epi8(
                    sel[o],
                    _mm512_permutex2var_epi8(x, lo[o], y),
                    _mm512_permutexvar_epi8(hi[o], z),
                );
                let d = &mut dst[t * 16..t * 16 + 16];
                _mm_storeu_si128(d.as_mut_ptr().cast(), _mm512_castsi512_si128(v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn weight_bytes_layout_equals_the_generic_layout(
            groups16 in 1usize..=5, f in 1usize..=6, f0 in 0usize..=2,
            shape in prop_oneof![Just((3usize, 3usize)), Just((1, 9)), Just((9, 1)), Just((2, 2))],
            seed in any::<u64>(),
        ) {
            // 3×3 (and 1×9, 9×1) kernels on 16 lanes take the permutes where the CPU
            // has them; a 2×2 kernel, the generic loop.
            let (kh, kw) = shape;
            let c = Conv {
                c: 16 * groups16, h: 9, w: 9, f: f0 + f, kh, kw,
                sh: 1, sw: 1, ph: 0, pw: 0, groups: 1,
            };
            let b = Bricks::conv(&c, 16);
            let mut x = seed | 1;
            let terms: Vec<u8> = (0..(f0 + f) * c.c * kh * kw)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 7) as u8
                })
                .collect();
            prop_assert_eq!(
                weight_layout_bytes(&b, f0, f, &terms),
                weight_layout(&b, f0, f, 0u8, |i| terms[i])
            );
        }

        #[test]
        fn byte_layout_equals_the_generic_layout(
            (cg, groups, h, w, lanes) in (1usize..=20, 1usize..=3, 1usize..=6, 1usize..=7, 1usize..=9),
            seed in any::<u64>(),
        ) {
            let c = Conv {
                c: cg * groups, h, w, f: groups, kh: 1, kw: 1,
                sh: 1, sw: 1, ph: 0, pw: 0, groups,
            };
            let b = Bricks::conv(&c, lanes);
            let src: Vec<u8> = (0..c.c * h * w)
                .map(|i| (seed.rotate_left(i as u32) as u8) ^ i as u8)
                .collect();
            for g in 0..groups {
                prop_assert_eq!(act_layout_bytes(&b, g, &src), act_layout(&b, g, 0, |i| src[i]));
            }
        }
    }

    #[test]
    fn cycle_linear_equals_the_factor_table_of_every_rule() {
        for serial in [false, true] {
            for skip in [Skip::None, Skip::Word, Skip::Term] {
                for planes in [1, 2, 3, 8, 32] {
                    let r = Rule {
                        serial,
                        skip,
                        planes,
                        width: planes,
                    };
                    let (t, f) = (lut(&r), r.cycle_linear());
                    for v in 0..=255u8 {
                        assert_eq!(
                            t[v as usize] as u64,
                            f.sum(1, (v > 0) as u64, v as u64),
                            "{r:?} terms {v}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn transpose8_moves_each_byte_across_the_diagonal() {
        let mut r = [0u64; 8];
        for (i, row) in r.iter_mut().enumerate() {
            *row = u64::from_le_bytes(std::array::from_fn(|j| (i * 8 + j) as u8));
        }
        transpose8(&mut r);
        for (j, row) in r.iter().enumerate() {
            let want: [u8; 8] = std::array::from_fn(|i| (i * 8 + j) as u8);
            assert_eq!(row.to_le_bytes(), want, "row {j}");
        }
    }
}
