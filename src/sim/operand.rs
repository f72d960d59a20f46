//! What one operand costs under a scheme: per-value cycle and work factors
//! (cycle-model.md, "Operands and schemes"), and the brick layouts the loop nest reads.
//!
//! Activations of one group are laid out channel-last and padded to whole bricks
//! (`[iy][ix][chunk·lanes + lane]`), so the brick a step feeds to a column is one
//! contiguous slice. Weights are laid out `[filter][step][lane]`.

use crate::encoding::Encoding;
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

/// `terms(x)` of every element of a tensor under a scheme (binary operands take the
/// planes override as their digit count).
pub fn terms(t: &Tensor, scheme: &Scheme, op: Operand) -> Vec<u8> {
    t.all_terms(scheme.term_encoding, scheme.planes_override(op))
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

    /// Offset of the brick that window n reads at step t in a channel-last layout, or
    /// None when it lies in the padding.
    #[inline]
    pub fn act_offset(&self, n: usize, t: usize) -> Option<usize> {
        let (ky, kx, k) = self.step(t);
        let (iy, ix) = self.input_pos(n, ky, kx)?;
        Some((iy * self.w + ix) * self.padded_channels() + k * self.lanes)
    }
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

/// Per-value factors of the weights of filters `f0..f0+fg`, laid out `[f][t][lane]`;
/// lanes past Cg hold `pad`. Weights are F·Cg·KH·KW in C order (FC: F·C).
pub fn weight_layout<T: Copy>(
    b: &Bricks,
    f0: usize,
    fg: usize,
    pad: T,
    value: impl Fn(usize) -> T,
) -> Vec<T> {
    let (t_n, l_n) = (b.steps, b.lanes);
    let mut out = vec![pad; fg * t_n * l_n];
    for f in 0..fg {
        for t in 0..t_n {
            let (ky, kx, k) = b.step(t);
            for l in 0..l_n {
                let c = k * l_n + l;
                if c < b.cg {
                    let idx = (((f0 + f) * b.cg + c) * b.kh + ky) * b.kw + kx;
                    out[(f * t_n + t) * l_n + l] = value(idx);
                }
            }
        }
    }
    out
}
