//! FC layers (cycle-model.md, "FC layers"): one window, ⌈C/lanes⌉ steps per pass, the
//! steps of the whole sequence dealt round-robin to the columns, one issued per cycle.
//! FC layers always sync per step; column registers do not apply.
//!
//! An FC layer is a 1×1 conv on a 1×1 input: the step costs come from the same
//! [`StepCost`]s as conv layers (window-synchronous schemes take the step family's).

use super::group::{Group, StepCost};
use super::operand::Bricks;
use super::{first_stage, schedule, step, Family, Operands, Scheduled};
use crate::arch::ArrayShape;

/// Cycles of an FC layer with `c` inputs and `f` outputs, per scheme of `ops`, and what
/// the schedules of scheduled schemes did (their schedules from `cache` if given, as for
/// conv layers).
pub(crate) fn cycles(
    c: usize,
    f: usize,
    ops: &Operands,
    array: &ArrayShape,
    cache: Option<(&schedule::ScheduleCache, &str)>,
) -> (Vec<u64>, Vec<Option<Scheduled>>) {
    let b = Bricks::fc(c, array.lanes);
    let grp = Group::new(&b, 0, 0, f, ops, array);
    let sch = schedule::Shared::new(ops, cache);
    ops.schemes
        .iter()
        .map(|s| {
            if s.schedule.is_some() {
                let mut removed = vec![0; c];
                let (cycles, counts) = schedule::fc(&grp, &sch, s, &mut removed);
                return (cycles, Some(Scheduled { counts, removed }));
            }
            let cost = match s.family {
                Family::FirstStage { serial, bits } => first_stage::cost(&grp, s, serial, bits),
                Family::Step | Family::Window => step::cost(&grp, s),
            };
            (issue(&grp, &cost, s.min_cycles), None)
        })
        .unzip()
}

/// The round-robin issue of every (pass, step) of the layer.
fn issue(grp: &Group, cost: &StepCost, min_cycles: u32) -> u64 {
    let (steps, columns) = (grp.b.steps, grp.array.columns);
    let mut free = vec![0u64; columns];
    let mut issue = 0u64;
    let mut i = 0usize;
    for p in 0..grp.passes() {
        for t in 0..steps {
            // The one window reads position 0, chunk t; never padding.
            let cost = cost.raw(grp, 0, t, p).max(min_cycles) as u64;
            let col = i % columns;
            let start = issue.max(free[col]);
            free[col] = start + cost;
            issue = start + 1;
            i += 1;
        }
    }
    free.into_iter().max().unwrap_or(0)
}
