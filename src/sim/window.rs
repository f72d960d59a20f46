//! The window-synchronous PE (Cnvlutin, MLTQ-word): lanes run decoupled over all steps
//! of a window set, so a PE's cost is the max over lanes of the lane's summed pair cost.
//!
//! Three ways to compute a column's cost, all equal to the direct sum (tests):
//! - one operand's factor is a constant K: K times the other operand's per-lane sums
//!   (for constant weights, once per window, not per filter);
//! - both factors are 0 or a constant (word skipping): K_w·K_a·popcount of the AND of
//!   the per-lane step masks;
//! - otherwise, the direct sum over steps.

/// Per-lane bit masks over steps (bit t set = factor nonzero), `words` u64 per lane.
pub fn step_masks(
    steps: usize,
    lanes: usize,
    factor_at: impl Fn(usize) -> Option<usize>,
    data: &[u8],
    pad: u8,
) -> Vec<u64> {
    let words = steps.div_ceil(64);
    let mut out = vec![0u64; lanes * words];
    for t in 0..steps {
        let brick = factor_at(t);
        for l in 0..lanes {
            let v = match brick {
                Some(off) => data[off + l],
                None => pad,
            };
            if v != 0 {
                out[l * words + t / 64] |= 1 << (t % 64);
            }
        }
    }
    out
}

/// Per-lane summed factors over steps.
pub fn lane_sums(
    steps: usize,
    lanes: usize,
    factor_at: impl Fn(usize) -> Option<usize>,
    data: &[u8],
    pad: u8,
) -> Vec<u32> {
    let mut out = vec![0u32; lanes];
    for t in 0..steps {
        match factor_at(t) {
            Some(off) => {
                for (s, &v) in out.iter_mut().zip(&data[off..off + lanes]) {
                    *s += v as u32;
                }
            }
            None => {
                for s in out.iter_mut() {
                    *s += pad as u32;
                }
            }
        }
    }
    out
}

/// max over lanes of popcount(a[l] & w[l]) for per-lane masks of `words` words.
#[inline]
pub fn max_and_count(a: &[u64], w: &[u64], words: usize) -> u32 {
    a.chunks_exact(words)
        .zip(w.chunks_exact(words))
        .map(|(x, y)| {
            x.iter()
                .zip(y)
                .map(|(p, q)| (p & q).count_ones())
                .sum::<u32>()
        })
        .max()
        .unwrap_or(0)
}
