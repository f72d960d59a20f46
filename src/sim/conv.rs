//! The conv loop nest (cycle-model.md, "The loop nest (conv)"): groups one after the
//! other, then window sets, passes and steps, each sync unit's per-column costs fed to
//! the column timing.
//!
//! A layer runs all of its schemes group by group: a [`Group`] holds what its schemes
//! share (the operands' terms laid out as bricks, per-brick maxima, per-pass weight
//! maxima, …), each built on first use and only once for the schemes with the same term
//! key. The families (`step`, `window`, `first_stage`) turn them into per-scheme costs;
//! the drivers here feed those costs to the column timing, unit by unit, or — with
//! `column_registers = 0`, where only the sum of the units' maxima counts — in whole runs.

use super::columns::{Columns, Units};
use super::group::{brick_cost, Group, StepCost, IDLE, PAD};
use super::operand::Bricks;
use super::{first_stage, schedule, step, window, Family, Operands, Scheduled, SchemeOps};
use crate::arch::ArrayShape;
use crate::model::Conv;

/// Cycles of a conv layer, per scheme of `ops`, and what the schedules of scheduled
/// schemes did (their schedules from `cache` if given: the layer's name and the run's
/// schedules).
pub(crate) fn cycles(
    conv: &Conv,
    ops: &Operands,
    array: &ArrayShape,
    cache: Option<(&schedule::ScheduleCache, &str)>,
) -> (Vec<u64>, Vec<Option<Scheduled>>) {
    let b = Bricks::conv(conv, array.lanes);
    let fg = conv.fg();
    let mut cols: Vec<Columns> = ops
        .schemes
        .iter()
        .map(|_| Columns::new(array.columns, array.column_registers))
        .collect();
    let mut scheduled: Vec<Option<Scheduled>> = ops
        .schemes
        .iter()
        .map(|s| {
            s.schedule.map(|_| Scheduled {
                removed: vec![0; conv.c * conv.kh * conv.kw],
                ..Scheduled::default()
            })
        })
        .collect();
    for g in 0..conv.groups {
        let grp = Group::new(&b, g, g * fg, fg, ops, array);
        let win = window::Shared::new(ops);
        let sch = schedule::Shared::new(ops, cache);
        for ((s, c), out) in ops.schemes.iter().zip(cols.iter_mut()).zip(&mut scheduled) {
            match out {
                Some(out) => {
                    let n = schedule::run(&grp, &sch, s, c, &mut out.removed);
                    out.counts = out.counts.add(&n);
                }
                None => run(&grp, &win, s, c),
            }
        }
    }
    (cols.iter().map(Columns::cycles).collect(), scheduled)
}

/// Run one scheme's units of a group; `win` is what the group's window-synchronous
/// schemes share.
pub(super) fn run(grp: &Group, win: &window::Shared, s: &SchemeOps, cols: &mut impl Units) {
    match s.family {
        Family::Step => grp.drive_step(cols, s.min_cycles, &step::cost(grp, s)),
        Family::FirstStage { serial, bits } => {
            grp.drive_step(cols, s.min_cycles, &first_stage::cost(grp, s, serial, bits))
        }
        Family::Window => window::run(grp, win, s, cols),
    }
}

/// The step-synchronous drivers.
impl Group<'_> {
    /// Σ over units of the max over columns, `StepCost::Act` with a cost by the brick's
    /// max term (`per_max`, nondecreasing): the max over columns is the cost of the
    /// column maxima's max over lanes (every pass alike).
    #[inline(never)]
    fn lockstep_act_by_max(&self, min_cycles: u32, a: usize, per_max: &[u32; 256]) -> u64 {
        let ln = self.b.lanes;
        let mut total = 0u64;
        self.each_column_max(a, |_, top| {
            for brick in top.chunks_exact(ln) {
                let m = brick.iter().copied().max().unwrap_or(0);
                total += per_max[m as usize].max(min_cycles) as u64;
            }
        });
        total * self.passes() as u64
    }

    /// Σ over units of the max over columns, `StepCost::Act` (every pass alike).
    #[inline(never)]
    fn lockstep_act(&self, min_cycles: u32, brick: &[u32], pad: u32) -> u64 {
        let (chunks, cn) = (self.b.chunks, self.array.columns);
        let mut total = 0u64;
        let mut buf = Vec::new();
        for s in 0..self.window_sets() {
            let slots = self.set_slots(s, &mut buf);
            for sl in slots.chunks_exact(cn) {
                for k in 0..chunks {
                    let mut m = 0;
                    for &pos in sl {
                        m = m.max(match pos {
                            IDLE => 0,
                            PAD => pad,
                            _ => brick[pos * chunks + k],
                        });
                    }
                    // Every set has a window in column 0.
                    total += m.max(min_cycles) as u64;
                }
            }
        }
        total * self.passes() as u64
    }

    /// Σ over units of the max over columns, `StepCost::Product`: factors are
    /// nonnegative, so the max over columns of max_l a[l]·w[l] is max_l w[l]·(max over
    /// columns of a[l]): the set's bricks at a step are maxed once (the column maxima,
    /// shared), for every pass.
    #[inline(never)]
    fn lockstep_product(&self, min_cycles: u32, a: usize, la: &[u8; 256], w: &[u8]) -> u64 {
        let (steps, chunks, ln) = (self.b.steps, self.b.chunks, self.b.lanes);
        let mut top_f = vec![0u8; ln];
        let mut total = 0u64;
        let passes = self.passes();
        self.each_column_max(a, |q, top| {
            for (k, brick) in top.chunks_exact(ln).enumerate() {
                let t = q * chunks + k;
                // Factors are nondecreasing in the terms.
                for (f, &m) in top_f.iter_mut().zip(brick) {
                    *f = la[m as usize];
                }
                // Every set has a window in column 0.
                for p in 0..passes {
                    let wb = &w[(p * steps + t) * ln..][..ln];
                    total += brick_cost(&top_f, wb).max(min_cycles) as u64;
                }
            }
        });
        total
    }

    /// Feed the step-synchronous units (window set, pass, step) to the columns.
    pub fn drive_step(&self, cols: &mut impl Units, min_cycles: u32, cost: &StepCost) {
        let (steps, chunks, cn) = (self.b.steps, self.b.chunks, self.array.columns);
        let (sets, passes) = (self.window_sets(), self.passes());
        let mut buf = Vec::new();
        if cols.lockstep() {
            // Only Σ over units of max over columns counts.
            let mut total = 0u64;
            match cost {
                StepCost::Act { pad, by_max, .. } => {
                    total = match by_max {
                        Some((a, per_max)) => self.lockstep_act_by_max(min_cycles, *a, per_max),
                        None => self.lockstep_act(min_cycles, cost.bricks(self), *pad),
                    };
                }
                StepCost::Weight(c) => {
                    // Every set costs the same.
                    let per_set: u64 = c.iter().map(|&x| x.max(min_cycles) as u64).sum();
                    total = per_set * sets as u64;
                }
                StepCost::Product { key, la, w, .. } => {
                    total = self.lockstep_product(min_cycles, *key, la, w);
                }
                StepCost::General(f) => {
                    for s in 0..sets {
                        let slots = self.set_slots(s, &mut buf);
                        for p in 0..passes {
                            for t in 0..steps {
                                let (sl, k) = (&slots[(t / chunks) * cn..][..cn], t % chunks);
                                let mut m = 0;
                                for &pos in sl {
                                    m = m.max(match pos {
                                        IDLE => 0,
                                        PAD => f(None, t, p),
                                        _ => f(Some(self.brick_offset(pos, k)), t, p),
                                    });
                                }
                                total += m.max(min_cycles) as u64;
                            }
                        }
                    }
                }
            }
            cols.add_lockstep(total);
            return;
        }
        let mut cost_v = vec![0u32; cn];
        for s in 0..sets {
            let slots = self.set_slots(s, &mut buf);
            for p in 0..passes {
                for t in 0..steps {
                    let sl = &slots[(t / chunks) * cn..][..cn];
                    for (slot, &pos) in cost_v.iter_mut().zip(sl) {
                        *slot = match pos {
                            IDLE => 0,
                            _ => cost.raw(self, pos, t, p).max(min_cycles),
                        };
                    }
                    cols.unit(&cost_v);
                }
            }
        }
    }
}
