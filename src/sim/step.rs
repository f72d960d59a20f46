//! The step-synchronous PE (DaDianNao, Stripes, Pragmatic, Laconic, MLB, MLTQ-bit):
//! a PE's cost for one step is the max over its lanes of the pair cost, the product of
//! the two cycle factors.
//!
//! All factors are nonnegative, so the max over the filters of a pass and over the
//! lanes of a PE, max_{f,l} w[f][l]·a[l], equals max_l a[l]·(max_f w[f][l]): the
//! weights of a pass collapse into one brick per step, computed once per pass, and a
//! column's cost is one pass over its activation brick — never once per filter.

/// Per step and lane, the max weight cycle factor over the filters `f0..f1` of a pass.
/// `w` is laid out `[filter][step][lane]`.
pub fn pass_max(w: &[u8], steps: usize, lanes: usize, f0: usize, f1: usize) -> Vec<u8> {
    let per_filter = steps * lanes;
    let mut out = vec![0u8; per_filter];
    for f in f0..f1 {
        for (m, &x) in out.iter_mut().zip(&w[f * per_filter..(f + 1) * per_filter]) {
            *m = (*m).max(x);
        }
    }
    out
}

/// max over lanes of a[l]·w[l].
#[inline]
pub fn brick_cost(a: &[u8], w: &[u8]) -> u32 {
    a.iter()
        .zip(w)
        .map(|(&x, &y)| x as u32 * y as u32)
        .max()
        .unwrap_or(0)
}
