//! The step-synchronous PE (DaDianNao, Stripes, Pragmatic, Laconic, MLB, MLTQ-bit):
//! a PE's cost for one step is the max over its lanes of the pair cost, the product of
//! the two cycle factors.
//!
//! All factors are nonnegative, so the max over the filters of a pass and over the
//! lanes of a PE, max_{f,l} w[f][l]·a[l], equals max_l a[l]·(max_f w[f][l]): the
//! weights of a pass collapse into one brick per step, computed once per pass, and a
//! column's cost is one pass over its activation brick — never once per filter.
//!
//! Every cycle factor is nondecreasing in the term count, so a max of factors is the
//! factor of the max term: the pass maxima are taken once per layer on terms and shared
//! by every scheme. When one operand's factor is a constant K, the cost no longer
//! couples the two operands:
//! - constant weights: K · (factor of the brick's max act term), a function of the
//!   activation brick alone — computed once per (input position, chunk), shared by the
//!   KH·KW windows and all passes that read it;
//! - constant activations: K · (factor of the max weight term of the pass at step t),
//!   the same for every window;
//! - both constant: every step of every window costs the same.
//!
//! Otherwise (`StepCost::Product`), with lock-step columns the same argument goes one
//! step further: the max over columns of max_l a_c[l]·w[l] is max_l w[l]·(max_c a_c[l]),
//! so a window set's bricks at a step are maxed once and costed once per pass.

use super::group::{Group, StepCost};
use super::operand::lut;
use super::SchemeOps;

/// The cost of a step-synchronous scheme on a group.
pub(super) fn cost<'c>(grp: &'c Group, s: &SchemeOps) -> StepCost<'c> {
    let (la, lw) = (lut(&s.act_rule), lut(&s.weight_rule));
    let lanes = grp.b.lanes;
    if let (Some(kw), Some(ka)) = (s.weight_rule.constant_cycle(), s.act_rule.constant_cycle()) {
        // Both constant (dadiannao, stripes, mlb): every step of a window costs kw·ka,
        // padding included.
        return StepCost::Weight(vec![kw * ka; grp.passes() * grp.b.steps]);
    }
    if s.weight_rule.constant_cycle().is_some() {
        let kw = lw[0] as u32;
        let cost: Box<[u32; 256]> = Box::new(std::array::from_fn(|m| kw * la[m] as u32));
        return StepCost::Act {
            brick: std::cell::OnceCell::new(),
            pad: cost[0],
            by_max: Some((s.a, cost)),
        };
    }
    if s.act_rule.constant_cycle().is_some() {
        let ka = la[0] as u32;
        return StepCost::Weight(
            grp.pass_max(s.w)
                .chunks_exact(lanes)
                .map(|w| ka * lw[w.iter().copied().max().unwrap_or(0) as usize] as u32)
                .collect(),
        );
    }
    StepCost::Product {
        key: s.a,
        la: Box::new(la),
        a: std::cell::OnceCell::new(),
        pad: vec![la[0]; lanes],
        w: grp.pass_max(s.w).iter().map(|&t| lw[t as usize]).collect(),
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Conv;
    use crate::sim::group::{brick_cost, pass_max_into};
    use crate::sim::operand::Bricks;
    use proptest::prelude::*;

    /// Per step and lane, the max over the filters `f0..f1` of a `[filter][step][lane]`
    /// layout: the direct loop `pass_max_into` replaces.
    fn pass_max(w: &[u8], steps: usize, lanes: usize, f0: usize, f1: usize) -> Vec<u8> {
        let per_filter = steps * lanes;
        let mut out = vec![0u8; per_filter];
        for f in f0..f1 {
            for (m, &x) in out.iter_mut().zip(&w[f * per_filter..(f + 1) * per_filter]) {
                *m = (*m).max(x);
            }
        }
        out
    }

    proptest! {
        #[test]
        fn pass_max_from_the_tensor_equals_the_layout_max(
            cg in 1usize..=20, kh in 1usize..=3, kw in 1usize..=3, lanes in 1usize..=9,
            f in 1usize..=6, split in 0usize..=6, seed in any::<u64>(),
        ) {
            let c = Conv { c: cg, h: kh, w: kw, f, kh, kw, sh: 1, sw: 1, ph: 0, pw: 0, groups: 1 };
            let b = Bricks::conv(&c, lanes);
            let n = f * cg * kh * kw;
            let terms: Vec<u8> = (0..n).map(|i| ((seed >> (i % 59)) as u8 ^ (i * 7) as u8) % 9).collect();
            let layout = super::super::operand::weight_layout(&b, 0, f, 0u8, |i| terms[i]);
            let (f0, f1) = (split.min(f), f);
            let mut out = vec![0u8; b.steps * lanes];
            pass_max_into(&b, &terms, f0, f1, &mut out);
            prop_assert_eq!(out, pass_max(&layout, b.steps, lanes, f0, f1));
        }

        #[test]
        fn sixteen_lane_brick_cost_equals_the_generic_max(
            a in proptest::collection::vec(any::<u8>(), 16),
            w in proptest::collection::vec(any::<u8>(), 16),
        ) {
            let direct = a.iter().zip(&w).map(|(&x, &y)| x as u32 * y as u32).max().unwrap();
            prop_assert_eq!(brick_cost(&a, &w), direct);
        }
    }
}
