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

use super::conv::Group;
use super::operand::{act_layout, weight_layout};
use crate::scheme::Operand;

/// The serial operand's term masks laid out as bricks, for one group.
pub(super) struct Stage<'g, 'a> {
    grp: &'g Group<'a>,
    serial: Operand,
    bits: u32,
    /// Masks of the serial operand: act layout (serial = act) or `[f][t][lane]`.
    masks: Vec<u64>,
    /// The parallel operand never has a zero cycle factor: every lane is active.
    all_active: bool,
}

impl<'g, 'a> Stage<'g, 'a> {
    pub fn new(grp: &'g Group<'a>, serial: Operand, bits: u32) -> Stage<'g, 'a> {
        let ops = grp.ops;
        let (masks, other) = match serial {
            Operand::Act => {
                let m = ops
                    .act_masks
                    .as_deref()
                    .expect("int act masks (checked by Scheme::check_layer)");
                (act_layout(&grp.b, grp.g, 0u64, |i| m[i]), ops.weight_rule)
            }
            Operand::Weight => {
                let m = ops
                    .weight_masks
                    .as_deref()
                    .expect("int weight masks (checked by Scheme::check_layer)");
                (
                    weight_layout(&grp.b, grp.f0, grp.fg, 0u64, |i| m[i]),
                    ops.act_rule,
                )
            }
        };
        let all_active = other.constant_cycle().is_some_and(|k| k > 0);
        Stage {
            grp,
            serial,
            bits,
            masks,
            all_active,
        }
    }

    /// Max over the filters `f0..f1` of the PE rounds at step t for the window whose
    /// brick sits at `act_off` (None: padding).
    pub fn pe_max(
        &self,
        act_off: Option<usize>,
        t: usize,
        f0: usize,
        f1: usize,
        lanes: usize,
    ) -> u32 {
        let g = self.grp;
        let steps = g.b.steps;
        let mut pending = vec![0u64; lanes];
        match self.serial {
            Operand::Act => {
                let Some(off) = act_off else { return 0 };
                let brick = &self.masks[off..off + lanes];
                if self.all_active {
                    pending.copy_from_slice(brick);
                    return rounds(&mut pending, self.bits);
                }
                let mut best = 0;
                for f in f0..f1 {
                    let w = &g.w_cf[(f * steps + t) * lanes..(f * steps + t + 1) * lanes];
                    for l in 0..lanes {
                        pending[l] = if w[l] != 0 { brick[l] } else { 0 };
                    }
                    best = best.max(rounds(&mut pending, self.bits));
                }
                best
            }
            Operand::Weight => {
                let a_pad = g.ops.act_rule.cycle(0) as u8;
                let mut best = 0;
                for f in f0..f1 {
                    let w = &self.masks[(f * steps + t) * lanes..(f * steps + t + 1) * lanes];
                    for l in 0..lanes {
                        let a = match act_off {
                            Some(off) => g.a_cf[off + l],
                            None => a_pad,
                        };
                        pending[l] = if a != 0 { w[l] } else { 0 };
                    }
                    best = best.max(rounds(&mut pending, self.bits));
                }
                best
            }
        }
    }
}
