//! What the schemes of one group share: a [`Group`] holds a conv group's (or an FC
//! layer's) operands laid out for the array — terms as bricks, per-brick maxima,
//! per-pass weight maxima, the column maxima of lock-step schemes — each built on first
//! use and once for the schemes with the same term key; a [`StepCost`] is what a
//! step-synchronous family says a PE spends at one (window, step, pass).
//!
//! The families (`step`, `window`, `first_stage`) and the loop nests (`conv`, `fc`)
//! read these types; this file reads none of them.

use std::cell::OnceCell;

use super::operand::{act_layout, act_layout_bytes, weight_layout, weight_layout_bytes, Bricks};
use super::Operands;
use crate::arch::ArrayShape;
use crate::tensor::Values;

/// A column without a window in a window set.
pub(super) const IDLE: usize = usize::MAX;
/// A window reading the padding.
pub(super) const PAD: usize = usize::MAX - 1;

/// What a step-synchronous PE costs at one (window, step, pass), in one of three shapes.
pub(super) enum StepCost<'c> {
    /// Depends only on the activation brick: `brick[pos·chunks + k]`, `pad` for the
    /// padding brick (every pass alike).
    ///
    /// `by_max`: where the cost is that of the brick's max term (`brick[i] =
    /// by_max.1[brick_max(by_max.0)[i]]`, nondecreasing in it), the act key and that
    /// table: lock-step columns then read the layer's shared column maxima, and
    /// `brick` is built only if other columns ask for it (see [`StepCost::bricks`]).
    /// Without it, `brick` is set from the start.
    Act {
        brick: OnceCell<Vec<u32>>,
        pad: u32,
        by_max: Option<(usize, Box<[u32; 256]>)>,
    },
    /// Depends only on (pass, step): `[p·T + t]`, for every column with a window.
    Weight(Vec<u32>),
    /// Max over lanes of a[l]·w[l]: a = `la` of the activation terms of act key `key`
    /// (channel-last; the padding brick's terms are 0), `w` the pass maxima's factors
    /// `[p][t][lane]`. `a` itself is laid out on first use (lock-step columns map only
    /// the column maxima).
    Product {
        key: usize,
        la: Box<[u8; 256]>,
        a: OnceCell<Vec<u8>>,
        pad: Vec<u8>,
        w: Vec<u8>,
    },
    /// Anything else: f(offset of the activation brick in the channel-last layout, or
    /// None in the padding; t; p).
    General(Box<dyn Fn(Option<usize>, usize, usize) -> u32 + 'c>),
}

impl StepCost<'_> {
    /// `StepCost::Act`'s per-brick costs, built from `by_max` on first use.
    pub fn bricks(&self, grp: &Group) -> &[u32] {
        let StepCost::Act { brick, by_max, .. } = self else {
            unreachable!("per-brick costs of a StepCost::Act only")
        };
        brick.get_or_init(|| {
            let Some((a, cost)) = by_max else {
                unreachable!("a StepCost::Act has its bricks or their recipe")
            };
            grp.brick_max(*a)
                .iter()
                .map(|&m| cost[m as usize])
                .collect()
        })
    }

    /// The PE cost (before `min_cycles`) at step t of pass p for a window reading input
    /// position `pos` (or PAD).
    #[inline]
    pub fn raw(&self, grp: &Group, pos: usize, t: usize, p: usize) -> u32 {
        let k = t % grp.b.chunks;
        match self {
            StepCost::Act { pad, .. } => match pos {
                PAD => *pad,
                _ => self.bricks(grp)[pos * grp.b.chunks + k],
            },
            StepCost::Weight(c) => c[p * grp.b.steps + t],
            StepCost::Product { key, la, a, pad, w } => {
                let ln = grp.b.lanes;
                let w = &w[(p * grp.b.steps + t) * ln..][..ln];
                match pos {
                    PAD => brick_cost(pad, w),
                    _ => {
                        let a = a.get_or_init(|| {
                            let terms = grp.act_terms(*key);
                            terms.iter().map(|&t| la[t as usize]).collect()
                        });
                        brick_cost(&a[grp.brick_offset(pos, k)..][..ln], w)
                    }
                }
            }
            StepCost::General(f) => match pos {
                PAD => f(None, t, p),
                _ => f(Some(grp.brick_offset(pos, k)), t, p),
            },
        }
    }
}

/// The max of each brick of `N` values of `t` (whole bricks).
fn brick_maxima<const N: usize>(t: &[u8]) -> Vec<u8> {
    let (bricks, rest) = t.as_chunks::<N>();
    debug_assert!(rest.is_empty(), "whole bricks");
    bricks
        .iter()
        .map(|b| b.iter().copied().fold(0, u8::max))
        .collect()
}

/// One group's operands, with the array it runs on and what its schemes share.
pub(super) struct Group<'a> {
    pub b: Bricks,
    pub fg: usize,
    pub ops: &'a Operands<'a>,
    pub array: &'a ArrayShape,
    /// Group index and first filter.
    pub g: usize,
    pub f0: usize,
    /// Per act term key: terms channel-last, brick-padded (lanes past Cg: 0).
    act_terms: Vec<OnceCell<Vec<u8>>>,
    /// Per act term key: max term of each brick, `[pos·chunks + k]`.
    brick_max: Vec<OnceCell<Vec<u8>>>,
    /// Per weight term key: terms `[f][t][lane]` (lanes past Cg: 0).
    weight_terms: Vec<OnceCell<Vec<u8>>>,
    /// Per weight term key: per pass, max term over its filters `[p][t][lane]`.
    pass_max: Vec<OnceCell<Vec<u8>>>,
    /// Per term encoding: term positions of int activations, channel-last.
    act_masks: [OnceCell<Vec<u64>>; 3],
    /// Per term encoding: term positions of int weights, `[f][t][lane]`.
    weight_masks: [OnceCell<Vec<u64>>; 3],
    /// Per act term key: see `column_max`; None where it would not fit
    /// `COLUMN_MAX_CACHED` bytes.
    column_max: Vec<OnceCell<Option<Vec<u8>>>>,
}

/// The most bytes of column maxima a group keeps for its lock-step schemes to share
/// (4 MB; they are about KH·KW/(columns·stride²) of the act terms). Unit-test builds
/// keep only 64, so that both ways are exercised.
const COLUMN_MAX_CACHED: usize = if cfg!(test) { 64 } else { 1 << 22 };

impl<'a> Group<'a> {
    pub fn new(
        b: &Bricks,
        g: usize,
        f0: usize,
        fg: usize,
        ops: &'a Operands<'a>,
        array: &'a ArrayShape,
    ) -> Group<'a> {
        let (na, nw) = (ops.act_terms.len(), ops.weight_terms.len());
        Group {
            b: *b,
            fg,
            ops,
            array,
            g,
            f0,
            act_terms: (0..na).map(|_| OnceCell::new()).collect(),
            brick_max: (0..na).map(|_| OnceCell::new()).collect(),
            weight_terms: (0..nw).map(|_| OnceCell::new()).collect(),
            pass_max: (0..nw).map(|_| OnceCell::new()).collect(),
            act_masks: Default::default(),
            weight_masks: Default::default(),
            column_max: (0..na).map(|_| OnceCell::new()).collect(),
        }
    }

    pub fn window_sets(&self) -> usize {
        self.b.windows().div_ceil(self.array.columns)
    }

    pub fn passes(&self) -> usize {
        self.fg.div_ceil(self.array.rows).div_ceil(self.array.tiles)
    }

    /// Filters (within the group) of pass p.
    pub fn pass_filters(&self, p: usize) -> (usize, usize) {
        let tr = self.array.tiles * self.array.rows;
        (p * tr, ((p + 1) * tr).min(self.fg))
    }

    /// Window held by column c in window set s, if any.
    pub fn window_of(&self, s: usize, c: usize) -> Option<usize> {
        let n = s * self.array.columns + c;
        (n < self.b.windows()).then_some(n)
    }

    /// Per kernel offset kyx = kx·KH + ky and column c, at `[kyx·columns + c]`: the input
    /// position (iy·W + ix) the column's window reads in set s, PAD or IDLE, in `buf`.
    /// Computed on each call: the set's windows are consecutive (down the output
    /// columns), so each is the last one moved by a row; a window wholly inside the
    /// input reads positions `base + ky·W + kx`, with no padding checks. (A copy kept for
    /// the layer's schemes cost more in first touches of its memory, 2.4 MB on ResNet's
    /// first layer, than it saved: the lock-step schemes read the slots once, through
    /// the shared column maxima.)
    pub fn set_slots<'s>(&self, s: usize, out: &'s mut Vec<usize>) -> &'s [usize] {
        let (cn, kh, kw) = (self.array.columns, self.b.kh, self.b.kw);
        out.clear();
        out.resize(kh * kw * cn, IDLE);
        let b = &self.b;
        let first = s * cn;
        let n = b.windows().min(first + cn).saturating_sub(first);
        if n == 0 {
            return out;
        }
        let (mut oy, mut ox) = b.window(first);
        for c in 0..n {
            let (y0, x0) = (oy * b.sh, ox * b.sw);
            if y0 >= b.ph && x0 >= b.pw && y0 - b.ph + kh <= b.h && x0 - b.pw + kw <= b.w {
                let base = (y0 - b.ph) * b.w + (x0 - b.pw);
                for kx in 0..kw {
                    let row = &mut out[kx * kh * cn + c..];
                    for ky in 0..kh {
                        row[ky * cn] = base + ky * b.w + kx;
                    }
                }
            } else {
                for kx in 0..kw {
                    // Input column, None in the padding.
                    let ix = (x0 + kx).checked_sub(b.pw).filter(|&x| x < b.w);
                    for ky in 0..kh {
                        let iy = (y0 + ky).checked_sub(b.ph).filter(|&y| y < b.h);
                        out[(kx * kh + ky) * cn + c] = match (iy, ix) {
                            (Some(iy), Some(ix)) => iy * b.w + ix,
                            _ => PAD,
                        };
                    }
                }
            }
            oy += 1;
            if oy == b.oy {
                (oy, ox) = (0, ox + 1);
            }
        }
        out
    }

    /// Index in the weight tensor of filter f (of the group) at step t, lane l; None for
    /// lanes past Cg.
    pub fn weight_index(&self, f: usize, t: usize, l: usize) -> Option<usize> {
        let (ky, kx, k) = self.b.step(t);
        let c = k * self.b.lanes + l;
        (c < self.b.cg).then(|| (((self.f0 + f) * self.b.cg + c) * self.b.kh + ky) * self.b.kw + kx)
    }

    /// Offset of chunk k of position `pos` in the channel-last layout.
    #[inline]
    pub fn brick_offset(&self, pos: usize, k: usize) -> usize {
        pos * self.b.padded_channels() + k * self.b.lanes
    }

    /// Activation terms of act key `a`, channel-last and brick-padded.
    pub fn act_terms(&self, a: usize) -> &[u8] {
        self.act_terms[a]
            .get_or_init(|| act_layout_bytes(&self.b, self.g, &self.ops.act_terms[a].1))
    }

    /// Max term of each activation brick of act key `a`, `[pos·chunks + k]`.
    pub fn brick_max(&self, a: usize) -> &[u8] {
        self.brick_max[a].get_or_init(|| {
            let t = self.act_terms(a);
            // Bricks of a known width reduce in a few vector instructions each.
            match self.b.lanes {
                8 => brick_maxima::<8>(t),
                16 => brick_maxima::<16>(t),
                32 => brick_maxima::<32>(t),
                l => t
                    .chunks_exact(l)
                    .map(|brick| brick.iter().copied().fold(0, u8::max))
                    .collect(),
            }
        })
    }

    /// Weight terms of weight key `w`, `[f][t][lane]`. With a 1×1 kernel (FC layers
    /// too) and whole bricks that is the tensor's own order, read in place.
    pub fn weight_terms(&self, w: usize) -> &[u8] {
        let t = &self.ops.weight_terms[w].1;
        let b = &self.b;
        if b.kh * b.kw == 1 && b.cg.is_multiple_of(b.lanes) {
            return &t[self.f0 * b.cg..(self.f0 + self.fg) * b.cg];
        }
        self.weight_terms[w].get_or_init(|| weight_layout_bytes(b, self.f0, self.fg, t))
    }

    /// Per pass, the max weight term over its filters, `[p][t][lane]`. Read straight
    /// from the tensor: no `[f][t][lane]` copy of the weights is needed.
    pub fn pass_max(&self, w: usize) -> &[u8] {
        self.pass_max[w].get_or_init(|| {
            let terms = &self.ops.weight_terms[w].1;
            let (tn, ln) = (self.b.steps, self.b.lanes);
            let mut out = vec![0u8; self.passes() * tn * ln];
            for p in 0..self.passes() {
                let (f0, f1) = self.pass_filters(p);
                pass_max_into(
                    &self.b,
                    terms,
                    self.f0 + f0,
                    self.f0 + f1,
                    &mut out[p * tn * ln..(p + 1) * tn * ln],
                );
            }
            out
        })
    }

    /// Term positions of the (int) activations under `te`, channel-last.
    pub fn act_masks(&self, te: crate::encoding::TermEncoding) -> &[u64] {
        self.act_masks[te as usize].get_or_init(|| {
            let Values::Int(v) = self.ops.acts.values() else {
                unreachable!("first-stage operands are int (Scheme::check_layer)")
            };
            act_layout(&self.b, self.g, 0u64, |i| te.term_mask(v[i].unsigned_abs()))
        })
    }

    /// Term positions of the (int) weights under `te`, `[f][t][lane]`.
    pub fn weight_masks(&self, te: crate::encoding::TermEncoding) -> &[u64] {
        self.weight_masks[te as usize].get_or_init(|| {
            let Values::Int(v) = self.ops.weights.values() else {
                unreachable!("first-stage operands are int (Scheme::check_layer)")
            };
            weight_layout(&self.b, self.f0, self.fg, 0u64, |i| {
                te.term_mask(v[i].unsigned_abs())
            })
        })
    }

    /// Per window set and kernel offset q, the max over the set's columns of act key
    /// a's terms at the positions they read (the padding's and idle columns' are 0),
    /// channel by channel: `[(set·KH·KW + q)·Cp + c]`. Lock-step costs are
    /// nondecreasing in the terms, so the max over columns of a cost is the cost of
    /// these maxima; the layer's lock-step schemes of key a (Pragmatic, Laconic,
    /// term skipping) share them. None where they would not fit `COLUMN_MAX_CACHED`.
    fn column_max(&self, a: usize) -> Option<&[u8]> {
        self.column_max[a]
            .get_or_init(|| {
                let (kk, cp) = (self.b.kh * self.b.kw, self.b.padded_channels());
                let n = self.window_sets().checked_mul(kk)?.checked_mul(cp)?;
                (n <= COLUMN_MAX_CACHED).then(|| {
                    let mut out = vec![0u8; n];
                    let mut it = out.chunks_exact_mut(cp);
                    self.each_column_max_computed(a, |_, top| {
                        it.next()
                            .expect("one row per (set, q)")
                            .copy_from_slice(top);
                    });
                    out
                })
            })
            .as_deref()
    }

    /// `f(q, maxima)` for every (window set, kernel offset q) in order, with
    /// [`Group::column_max`]'s maxima: read from the shared copy, or computed.
    pub fn each_column_max(&self, a: usize, mut f: impl FnMut(usize, &[u8])) {
        let (kk, cp) = (self.b.kh * self.b.kw, self.b.padded_channels());
        match self.column_max(a) {
            Some(all) => {
                for (i, top) in all.chunks_exact(cp).enumerate() {
                    f(i % kk, top);
                }
            }
            None => self.each_column_max_computed(a, f),
        }
    }

    /// [`Group::each_column_max`], computed: a kernel offset's steps read every chunk
    /// of the same positions, so the max is taken over the positions' whole channel
    /// rows at once (one long vector max per column).
    fn each_column_max_computed(&self, a: usize, mut f: impl FnMut(usize, &[u8])) {
        let (cn, cp) = (self.array.columns, self.b.padded_channels());
        let terms = self.act_terms(a);
        let mut buf = Vec::new();
        let mut top = vec![0u8; cp];
        for s in 0..self.window_sets() {
            let slots = self.set_slots(s, &mut buf);
            for (q, sl) in slots.chunks_exact(cn).enumerate() {
                top.fill(0);
                for &pos in sl {
                    if pos != IDLE && pos != PAD {
                        let row = &terms[self.brick_offset(pos, 0)..][..cp];
                        for (m, &x) in top.iter_mut().zip(row) {
                            *m = (*m).max(x);
                        }
                    }
                }
                f(q, &top);
            }
        }
    }
}

/// Per step and lane, the max over the filters `f0..f1` (of the whole layer) of their
/// terms, into `out` laid out `[t][lane]`, read from the tensor in its own order.
pub fn pass_max_into(b: &Bricks, terms: &[u8], f0: usize, f1: usize, out: &mut [u8]) {
    let (ln, kk) = (b.lanes, b.kh * b.kw);
    let row = b.cg * kk;
    // The max over the filters in the tensor's own order (one vectorized pass over the
    // weights), then laid out [t][lane] once.
    let mut m = vec![0u8; row];
    for r in terms[f0 * row..f1 * row].chunks_exact(row) {
        for (m, &x) in m.iter_mut().zip(r) {
            *m = (*m).max(x);
        }
    }
    if kk == 1 {
        // 1×1 kernels and FC layers: [t][lane] is the channel order.
        for (o, &x) in out.iter_mut().zip(&m) {
            *o = (*o).max(x);
        }
        return;
    }
    for c in 0..b.cg {
        let (k, l) = (c / ln, c % ln);
        for ky in 0..b.kh {
            for kx in 0..b.kw {
                let t = (kx * b.kh + ky) * b.chunks + k;
                let o = &mut out[t * ln + l];
                *o = (*o).max(m[c * kk + ky * b.kw + kx]);
            }
        }
    }
}

/// max over lanes of a[l]·w[l].
#[inline]
pub fn brick_cost(a: &[u8], w: &[u8]) -> u32 {
    if let (Ok(a), Ok(w)) = (<&[u8; 16]>::try_from(a), <&[u8; 16]>::try_from(w)) {
        // 16 lanes (the usual brick): a shape the compiler vectorizes.
        let mut m = 0u16;
        for l in 0..16 {
            m = m.max(a[l] as u16 * w[l] as u16);
        }
        return m as u32;
    }
    a.iter()
        .zip(w)
        .map(|(&x, &y)| x as u32 * y as u32)
        .max()
        .unwrap_or(0)
}
