//! Pragmatic's two-stage shifter (`first_stage_bits = B`): in one round, every lane may
//! only retire a term within 2^B positions of the lowest pending term of the PE
//! (cycle-model.md, "Sync units and PE cost").

/// Rounds needed to retire every pending term. `pending` holds one term-position mask
/// per lane; it is consumed.
pub fn rounds(pending: &mut [u64], bits: u32) -> u32 {
    let reach = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut n = 0;
    loop {
        let any = pending.iter().fold(0u64, |a, &m| a | m);
        if any == 0 {
            return n;
        }
        let base = any.trailing_zeros() as u64;
        let limit = base.saturating_add(reach);
        for m in pending.iter_mut() {
            if *m != 0 && (m.trailing_zeros() as u64) <= limit {
                *m &= *m - 1;
            }
        }
        n += 1;
    }
}

use super::group::{Group, StepCost};
use super::operand::lut;
use super::SchemeOps;
use crate::scheme::Operand;
use crate::tensor::Values;

/// The cost of a first-stage scheme on a group: the max over the filters of a pass of
/// the PE rounds.
///
/// When the other operand's factor is a nonzero constant, every lane is active for
/// every filter, so the rounds depend on the serial operand alone: on the activation
/// brick (computed once per input position and chunk) or on the pass's weights at a
/// step (once per (pass, step)). Otherwise, the rounds of each filter, directly.
pub(super) fn cost<'c>(grp: &'c Group, s: &SchemeOps, serial: Operand, bits: u32) -> StepCost<'c> {
    let (steps, lanes) = (grp.b.steps, grp.b.lanes);
    let te = s.term_encoding;
    match serial {
        Operand::Act => {
            let masks = grp.act_masks(te);
            if s.weight_rule.constant_cycle().is_some_and(|k| k > 0) {
                let mut pending = vec![0u64; lanes];
                let brick: Vec<u32> = masks
                    .chunks_exact(lanes)
                    .map(|b| {
                        pending.copy_from_slice(b);
                        rounds(&mut pending, bits)
                    })
                    .collect();
                // The padding has nothing pending.
                return StepCost::Act {
                    brick: brick.into(),
                    pad: 0,
                    by_max: None,
                };
            }
            let lw = lut(&s.weight_rule);
            let w = grp.weight_terms(s.w);
            let pending = std::cell::RefCell::new(vec![0u64; lanes]);
            StepCost::General(Box::new(move |off, t, p| {
                let Some(off) = off else { return 0 };
                let brick = &masks[off..off + lanes];
                let (f0, f1) = grp.pass_filters(p);
                let mut pending = pending.borrow_mut();
                let mut best = 0;
                for f in f0..f1 {
                    let wt = &w[(f * steps + t) * lanes..][..lanes];
                    for l in 0..lanes {
                        pending[l] = if lw[wt[l] as usize] != 0 { brick[l] } else { 0 };
                    }
                    best = best.max(rounds(&mut pending, bits));
                }
                best
            }))
        }
        Operand::Weight => {
            let Values::Int(v) = grp.ops.weights.values() else {
                unreachable!("first-stage operands are int (Scheme::check_layer)")
            };
            if s.act_rule.constant_cycle().is_some_and(|k| k > 0) {
                // Each weight is read once: its mask is computed on the spot.
                let mut pending = vec![0u64; lanes];
                let mut cost = vec![0u32; grp.passes() * steps];
                for p in 0..grp.passes() {
                    let (f0, f1) = grp.pass_filters(p);
                    for t in 0..steps {
                        let mut best = 0;
                        for f in f0..f1 {
                            for (l, m) in pending.iter_mut().enumerate() {
                                *m = grp
                                    .weight_index(f, t, l)
                                    .map_or(0, |i| te.term_mask(v[i].unsigned_abs()));
                            }
                            best = best.max(rounds(&mut pending, bits));
                        }
                        cost[p * steps + t] = best;
                    }
                }
                return StepCost::Weight(cost);
            }
            // One window (FC): each weight is read once, no layout is worth building.
            let masks = (grp.b.windows() > 1).then(|| grp.weight_masks(te));
            let mask = move |f: usize, t: usize, l: usize| match masks {
                Some(m) => m[(f * steps + t) * lanes + l],
                None => grp
                    .weight_index(f, t, l)
                    .map_or(0, |i| te.term_mask(v[i].unsigned_abs())),
            };
            let la = lut(&s.act_rule);
            let a = grp.act_terms(s.a);
            let pending = std::cell::RefCell::new(vec![0u64; lanes]);
            StepCost::General(Box::new(move |off, t, p| {
                let (f0, f1) = grp.pass_filters(p);
                let mut pending = pending.borrow_mut();
                let mut best = 0;
                for f in f0..f1 {
                    for l in 0..lanes {
                        let a = match off {
                            Some(o) => la[a[o + l] as usize],
                            None => la[0],
                        };
                        pending[l] = if a != 0 { mask(f, t, l) } else { 0 };
                    }
                    best = best.max(rounds(&mut pending, bits));
                }
                best
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rounds;

    #[test]
    fn one_position_per_round_with_b0() {
        // Lanes with terms {0,2} and {1}: B = 0 → base 0 (lane 0), base 1 (lane 1),
        // base 2 (lane 0): 3 rounds. Without a limit: 2 rounds (max popcount).
        assert_eq!(rounds(&mut [0b101, 0b010], 0), 3);
        assert_eq!(rounds(&mut [0b101, 0b010], 32), 2);
        // B = 1: window [0,1] retires 0 and 1, then [2,3] retires 2.
        assert_eq!(rounds(&mut [0b101, 0b010], 1), 2);
        assert_eq!(rounds(&mut [0, 0], 0), 0);
    }

    #[test]
    fn far_apart_terms_need_extra_rounds() {
        // Lane 0 {0}, lane 1 {7}, B = 2 (reach 3): base 0 → lane 0; base 7 → lane 1.
        assert_eq!(rounds(&mut [1, 1 << 7], 2), 2);
        // Lane 0 {0, 1}, lane 1 {3}: B = 2: base 0: lane 0 retires 0, lane 1 retires 3;
        // base 1: lane 0 retires 1.
        assert_eq!(rounds(&mut [0b11, 0b1000], 2), 2);
    }
}
