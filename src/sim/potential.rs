//! Potentials (cycle-model.md, "Potentials"): a scheme's work is the sum over every MAC
//! of work factor(weight) · work factor(act); busy lane-cycles, the same sum over cycle
//! factors, measure how much of the array's time does the scheme's own work.
//!
//! Both sums factor per (channel, ky, kx): Σ_f Σ_n w·a = (Σ_f w)·(Σ_n a), so the cost
//! is one pass over the weights plus one over the im2col positions, not one per MAC.

use super::operand::{Bricks, Rule};
use super::Operands;
use crate::model::Conv;

/// (work, busy lane-cycles) of a layer.
pub fn sums(conv: Option<&Conv>, fc: Option<(usize, usize)>, ops: &Operands) -> (u64, u64) {
    let (ra, rw) = (ops.act_rule, ops.weight_rule);
    let (aw, ac) = (table(&ra, Rule::work), table(&ra, Rule::cycle));
    let (ww, wc) = (table(&rw, Rule::work), table(&rw, Rule::cycle));
    let mut work = 0u64;
    let mut busy = 0u64;
    if let Some((c, f)) = fc {
        for ch in 0..c {
            let (mut sw, mut sc) = (0u64, 0u64);
            for fi in 0..f {
                let t = ops.weight_terms[fi * c + ch] as usize;
                sw += ww[t];
                sc += wc[t];
            }
            let t = ops.act_terms[ch] as usize;
            work += sw * aw[t];
            busy += sc * ac[t];
        }
        return (work, busy);
    }
    let conv = conv.expect("conv or fc geometry");
    let b = Bricks::conv(conv, 1);
    let (cg, fg, k) = (conv.cg(), conv.fg(), conv.kh * conv.kw);
    let hw = conv.h * conv.w;
    for g in 0..conv.groups {
        // Σ over windows of the act factors at each (channel, ky, kx); padding counted.
        let mut a_work = vec![0u64; cg * k];
        let mut a_cyc = vec![0u64; cg * k];
        for ky in 0..conv.kh {
            for kx in 0..conv.kw {
                let kk = ky * conv.kw + kx;
                let mut pads = 0u64;
                for n in 0..b.windows() {
                    match b.input_pos(n, ky, kx) {
                        None => pads += 1,
                        Some((iy, ix)) => {
                            for ch in 0..cg {
                                let t =
                                    ops.act_terms[(g * cg + ch) * hw + iy * conv.w + ix] as usize;
                                a_work[ch * k + kk] += aw[t];
                                a_cyc[ch * k + kk] += ac[t];
                            }
                        }
                    }
                }
                for ch in 0..cg {
                    a_work[ch * k + kk] += pads * aw[0];
                    a_cyc[ch * k + kk] += pads * ac[0];
                }
            }
        }
        // Σ over the group's filters of the weight factors at each (channel, ky, kx).
        let mut w_work = vec![0u64; cg * k];
        let mut w_cyc = vec![0u64; cg * k];
        for f in g * fg..(g + 1) * fg {
            let row = &ops.weight_terms[f * cg * k..(f + 1) * cg * k];
            for (i, &t) in row.iter().enumerate() {
                w_work[i] += ww[t as usize];
                w_cyc[i] += wc[t as usize];
            }
        }
        work += w_work.iter().zip(&a_work).map(|(x, y)| x * y).sum::<u64>();
        busy += w_cyc.iter().zip(&a_cyc).map(|(x, y)| x * y).sum::<u64>();
    }
    (work, busy)
}

fn table(r: &Rule, f: fn(&Rule, u8) -> u32) -> [u64; 256] {
    let mut t = [0u64; 256];
    for (i, v) in t.iter_mut().enumerate() {
        *v = f(r, i as u8) as u64;
    }
    t
}
