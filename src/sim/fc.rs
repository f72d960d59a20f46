//! FC layers (cycle-model.md, "FC layers"): one window, ⌈C/lanes⌉ steps per pass, the
//! steps of the whole sequence dealt round-robin to the columns, one issued per cycle.
//! FC layers always sync per step; column registers do not apply.

use super::conv::Group;
use super::operand::Bricks;
use super::{first_stage, step, Family, Operands};
use crate::arch::ArrayShape;

/// Cycles of an FC layer with `c` inputs and `f` outputs.
pub fn cycles(
    c: usize,
    f: usize,
    ops: &Operands,
    family: Family,
    array: &ArrayShape,
    min_cycles: u32,
) -> u64 {
    let b = Bricks::fc(c, array.lanes);
    let grp = Group::new(&b, 0, 0, f, ops, array);
    let (steps, lanes) = (b.steps, b.lanes);
    let per_pass = array.tiles * array.rows;
    let passes = f.div_ceil(array.rows).div_ceil(array.tiles);
    let stage = match family {
        Family::FirstStage { serial, bits } => Some(first_stage::Stage::new(&grp, serial, bits)),
        _ => None,
    };
    let mut free = vec![0u64; array.columns];
    let mut issue = 0u64;
    let mut i = 0usize;
    for p in 0..passes {
        let (f0, f1) = (p * per_pass, ((p + 1) * per_pass).min(f));
        let wmax = step::pass_max(&grp.w_cf, steps, lanes, f0, f1);
        for t in 0..steps {
            let off = b.act_offset(0, t);
            let raw = match &stage {
                Some(st) => st.pe_max(off, t, f0, f1, lanes),
                None => {
                    let a = &grp.a_cf[off.expect("fc bricks are never padding")..][..lanes];
                    step::brick_cost(a, &wmax[t * lanes..(t + 1) * lanes])
                }
            };
            let cost = raw.max(min_cycles) as u64;
            let col = i % array.columns;
            let start = issue.max(free[col]);
            free[col] = start + cost;
            issue = start + 1;
            i += 1;
        }
    }
    free.into_iter().max().unwrap_or(0)
}
