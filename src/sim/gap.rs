//! Where a scheme's lane-cycles go (docs/cycle-model.md, "Why achieved trails
//! potential"): a layer's cycles × every lane of the array, split exactly into the busy
//! lane-cycles (Σ over MACs of the pair cost, [`super::LayerRun::busy_lane_cycles`])
//! and seven causes of loss.
//!
//! Each part is the gap between two consecutive maxima of the cycle model, lane by lane:
//! a lane holding a channel spends, in a unit, its own pair costs (busy), then waits for
//! the PE's slowest lane (`lane_wait`; with `first_stage_bits`, for the shifter's
//! rounds), then for the `min_cycles` floor (`floor`), then for the column's slowest PE
//! (`row_wait`), then for the other columns (`column_wait`: lock-step, column registers,
//! FC issue). A lane with no channel in the unit (`channel_padding`), a PE with no filter
//! (`idle_rows`) and a column with no window (`idle_columns`) lose the whole time their
//! column spends in the unit, waits included. A column's time in a unit is its cost
//! plus the wait after it, until it starts its next unit (or the layer ends).
//!
//! With a weight schedule (docs/weight-scheduling.md) the unit is a call: each tile of
//! the pass runs its next kept step. A lane holds a pair unless its slot is one past
//! the channels still holding its own zero word (`channel_padding`); a slot a
//! promotion emptied pairs with nothing and costs 0, so its lane waits (`lane_wait`);
//! the PEs of a tile whose kept steps ran out wait for the call's slowest tile
//! (`row_wait`). Busy counts the pairs of kept steps; the steps a schedule removed
//! cost no cycle and so are no lane-cycles at all.
//!
//! This needs every PE's cost, which the engine never computes (it maxes the filters of
//! a pass before the lanes): the breakdown is a loop over (unit, column, filter) whose
//! cost is of the order of the MACs, so it is computed only when asked for
//! (`simulate --gap`). [`super::reference::gap`] is the same definition read literally;
//! tests prove them equal.

use std::collections::VecDeque;

use super::first_stage::rounds;
use super::group::{brick_cost, Group, IDLE, PAD};
use super::operand::{lut, Bricks};
use super::schedule::{Pattern, Rows, Schedule};
use super::{Family, Operands, SchemeOps};
use crate::arch::ArrayShape;
use crate::model::{Conv, Geometry};
use crate::scheme::{Operand, WeightSchedule};

/// A layer's (or a network's) lane-cycles by where they went; the parts add up to
/// cycles × the array's lanes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Gap {
    /// Σ over MACs of the pair cost: the scheme's own work.
    pub busy: u64,
    /// (a) PEs lifted to `min_cycles` (all of a PE's pairs cost 0 in the unit).
    pub floor: u64,
    /// (b) lanes waiting for their PE's slowest lane (or the first stage's rounds).
    pub lane_wait: u64,
    /// (c) PEs waiting for the slowest PE (row, tile) of their column.
    pub row_wait: u64,
    /// (d) columns waiting for the others (lock-step, column registers, FC issue).
    pub column_wait: u64,
    /// (e) columns without a window (the last window set; FC: columns never issued).
    pub idle_columns: u64,
    /// (f) PEs without a filter (the last pass's idle tiles and rows).
    pub idle_rows: u64,
    /// (g) lanes past the channel count (brick padding).
    pub channel_padding: u64,
}

impl Gap {
    /// The names of the parts, in the order of [`Gap::parts`]: the JSON `gap` object's
    /// keys (the CSV's columns are `gap_` and the name).
    pub const NAMES: [&'static str; 8] = [
        "busy",
        "floor",
        "lane_wait",
        "row_wait",
        "column_wait",
        "idle_columns",
        "idle_rows",
        "channel_padding",
    ];

    /// The parts, in the order of [`Gap::NAMES`].
    pub fn parts(&self) -> [u64; 8] {
        [
            self.busy,
            self.floor,
            self.lane_wait,
            self.row_wait,
            self.column_wait,
            self.idle_columns,
            self.idle_rows,
            self.channel_padding,
        ]
    }

    /// Sum of the parts (saturating): the lane-cycles.
    pub fn total(&self) -> u64 {
        self.parts().iter().fold(0u64, |a, &b| a.saturating_add(b))
    }

    /// Part-wise sum (saturating), for network totals.
    pub fn add(&self, o: &Gap) -> Gap {
        let (a, b) = (self.parts(), o.parts());
        let s = |i: usize| a[i].saturating_add(b[i]);
        Gap {
            busy: s(0),
            floor: s(1),
            lane_wait: s(2),
            row_wait: s(3),
            column_wait: s(4),
            idle_columns: s(5),
            idle_rows: s(6),
            channel_padding: s(7),
        }
    }
}

/// How a column's wait after a unit is shared out: lane slots per cause.
#[derive(Clone, Copy, Debug)]
struct Slots {
    idle_columns: u64,
    idle_rows: u64,
    padding: u64,
    column_wait: u64,
}

impl Slots {
    fn add(&self, gap: &mut Gap, cycles: u64) {
        let m = |n: u64| n.saturating_mul(cycles);
        gap.idle_columns = gap.idle_columns.saturating_add(m(self.idle_columns));
        gap.idle_rows = gap.idle_rows.saturating_add(m(self.idle_rows));
        gap.channel_padding = gap.channel_padding.saturating_add(m(self.padding));
        gap.column_wait = gap.column_wait.saturating_add(m(self.column_wait));
    }
}

/// Column timing with the waits shared out (conv units and FC issue).
struct Timing {
    free: Vec<u64>,
    last: Vec<Option<Slots>>,
    registers: usize,
    /// Finish times of the last R + 1 units.
    finished: VecDeque<u64>,
    /// tiles · rows · lanes of the real array.
    slots_all: u64,
}

impl Timing {
    fn new(columns: usize, registers: usize, slots_all: u64) -> Timing {
        Timing {
            free: vec![0; columns],
            last: vec![None; columns],
            registers,
            finished: VecDeque::with_capacity(registers + 2),
            slots_all,
        }
    }

    fn wait(&self, gap: &mut Gap, c: usize, cycles: u64) {
        match self.last[c] {
            Some(s) => s.add(gap, cycles),
            None => {
                gap.column_wait = gap
                    .column_wait
                    .saturating_add(self.slots_all.saturating_mul(cycles))
            }
        }
    }

    /// One conv unit: per column its cost and lane slots.
    fn unit(&mut self, gap: &mut Gap, cost: &[u32], slots: &[Slots]) {
        let ready = if self.finished.len() > self.registers {
            self.finished[0]
        } else {
            0
        };
        let mut finish = 0;
        for c in 0..self.free.len() {
            let start = self.free[c].max(ready);
            self.wait(gap, c, start - self.free[c]);
            self.free[c] = start + cost[c] as u64;
            self.last[c] = Some(slots[c]);
            finish = finish.max(self.free[c]);
        }
        if self.finished.len() > self.registers {
            self.finished.pop_front();
        }
        self.finished.push_back(finish);
    }

    /// Cycles, with every column's wait after its last unit shared out.
    fn end(self, gap: &mut Gap) -> u64 {
        let cycles = self.free.iter().copied().max().unwrap_or(0);
        let idle = Slots {
            idle_columns: self.slots_all,
            idle_rows: 0,
            padding: 0,
            column_wait: 0,
        };
        for (f, l) in self.free.iter().zip(&self.last) {
            l.unwrap_or(idle).add(gap, cycles - f);
        }
        cycles
    }
}

/// One scheme's PE costs on a group, per filter: the factor layouts it reads.
struct Pe<'g> {
    grp: &'g Group<'g>,
    s: SchemeOps,
    /// Activation cycle factors, channel-last (the engine's layout).
    af: Vec<u8>,
    /// The padding brick's factors.
    pad: Vec<u8>,
    /// Weight cycle factors `[f][t][lane]` (empty when constant).
    wf: Vec<u8>,
    /// The weights' constant factor, if any: every filter costs alike.
    wconst: Option<u8>,
}

impl<'g> Pe<'g> {
    fn new(grp: &'g Group<'g>, s: &SchemeOps) -> Pe<'g> {
        let (la, lw) = (lut(&s.act_rule), lut(&s.weight_rule));
        let af = grp.act_terms(s.a).iter().map(|&t| la[t as usize]).collect();
        let wconst = s.weight_rule.constant_cycle().map(|_| lw[0]);
        let wf = match wconst {
            Some(_) => vec![],
            None => grp
                .weight_terms(s.w)
                .iter()
                .map(|&t| lw[t as usize])
                .collect(),
        };
        Pe {
            grp,
            s: *s,
            af,
            pad: vec![la[0]; grp.b.lanes],
            wf,
            wconst,
        }
    }

    /// The weight factors of filter f at step t.
    fn w(&self, f: usize, t: usize, out: &mut [u8]) {
        match self.wconst {
            Some(k) => out.fill(k),
            None => {
                let ln = self.grp.b.lanes;
                out.copy_from_slice(&self.wf[(f * self.grp.b.steps + t) * ln..][..ln]);
            }
        }
    }

    /// The activation brick at offset `off` (None: padding).
    fn a(&self, off: Option<usize>) -> &[u8] {
        match off {
            Some(o) => &self.af[o..o + self.grp.b.lanes],
            None => &self.pad,
        }
    }

    /// Raw cost (before `min_cycles`) of the PE of filter f at step t reading `off`.
    fn step(&self, f: usize, off: Option<usize>, t: usize, wb: &mut [u8]) -> u32 {
        let grp = self.grp;
        if let Family::FirstStage { serial, bits } = self.s.family {
            let ln = grp.b.lanes;
            let (la, lw) = (lut(&self.s.act_rule), lut(&self.s.weight_rule));
            let te = self.s.term_encoding;
            let mut pending = vec![0u64; ln];
            match serial {
                Operand::Act => {
                    let masks = grp.act_masks(te);
                    let Some(off) = off else { return 0 };
                    let wt = grp.weight_terms(self.s.w);
                    for (l, m) in pending.iter_mut().enumerate() {
                        let w = wt[(f * grp.b.steps + t) * ln + l];
                        *m = if lw[w as usize] != 0 {
                            masks[off + l]
                        } else {
                            0
                        };
                    }
                }
                Operand::Weight => {
                    let masks = grp.weight_masks(te);
                    let at = grp.act_terms(self.s.a);
                    for (l, m) in pending.iter_mut().enumerate() {
                        let a = off.map_or(0, |o| at[o + l]);
                        *m = if la[a as usize] != 0 {
                            masks[(f * grp.b.steps + t) * ln + l]
                        } else {
                            0
                        };
                    }
                }
            }
            return rounds(&mut pending, bits);
        }
        self.w(f, t, wb);
        brick_cost(self.a(off), wb)
    }
}

/// Per column of a unit: what the column's PEs cost, summed as the parts need them.
#[derive(Default)]
struct Col {
    /// The column's cost: max over its PEs of max(min_cycles, raw).
    cost: u32,
    /// PEs with work in the unit (a filter and, with a schedule, a kept step).
    pes: u64,
    /// PEs with a filter whose schedule has no kept step left in this call.
    done: u64,
    /// Σ over PEs with work of their lanes holding a pair (a channel; with a schedule,
    /// every slot but an unmoved one past the channels).
    v: u64,
    /// Σ over PEs with work of raw × their lanes holding a pair.
    raw_v: u64,
    /// Σ over PEs with work of (max(min_cycles, raw) − raw) × their lanes holding a pair.
    lifted_v: u64,
}

impl Col {
    /// `times` PEs of raw cost `raw` (before `min_cycles`) with `v` lanes holding a pair.
    fn pe(&mut self, raw: u32, min: u32, v: u64, times: u64) {
        let c = raw.max(min);
        self.cost = self.cost.max(c);
        self.pes += times;
        self.v += v * times;
        self.raw_v += raw as u64 * v * times;
        self.lifted_v += (c - raw) as u64 * v * times;
    }
}

/// The shares of one column's unit: its work segment split, its lane slots returned.
/// Of `tr` PEs of `lanes` (real) lanes, `col.pes` have work and `col.done` a filter
/// but no kept step; the others have no filter.
fn share(gap: &mut Gap, col: &Col, tr: u64, lanes: u64) -> Slots {
    let cost = col.cost as u64;
    let sum = |x: &mut u64, y: u64| *x = x.saturating_add(y);
    let idle = (tr - col.pes - col.done) * lanes;
    let padding = col.pes * lanes - col.v;
    // The lanes holding a pair: Σ raw·v (their pairs and the wait for their PE's
    // slowest lane: busy is taken out at the end), the floor, then the wait for the
    // column's slowest PE; the lanes of a PE whose schedule ran out wait throughout.
    sum(&mut gap.lane_wait, col.raw_v);
    sum(&mut gap.floor, col.lifted_v);
    sum(
        &mut gap.row_wait,
        (col.v * cost - col.raw_v - col.lifted_v) + col.done * lanes * cost,
    );
    sum(&mut gap.idle_rows, idle * cost);
    sum(&mut gap.channel_padding, padding * cost);
    Slots {
        idle_columns: 0,
        idle_rows: idle,
        padding,
        column_wait: col.v + col.done * lanes,
    }
}

/// Per scheme of `ops` (the engine's unique views), the layer's cycles and its
/// lane-cycles by cause on the real array `real`, simulated on `used`
/// ([`super::used_array`]); `busy[i]` is scheme i's busy lane-cycles (the potentials').
pub fn gaps(
    geom: &Geometry,
    ops: &Operands,
    used: &ArrayShape,
    real: &ArrayShape,
    busy: &[u64],
) -> Vec<(u64, Gap)> {
    let slots_all = (real.tiles * real.rows * real.lanes) as u64;
    ops.schemes
        .iter()
        .zip(busy)
        .map(|(s, &busy)| {
            let mut gap = Gap::default();
            let (cycles, gpad) = match *geom {
                Geometry::Conv(c) => conv(&c, ops, s, used, real, &mut gap),
                Geometry::Fc { c, f } => (fc(c, f, ops, s, used, real, &mut gap), 0),
            };
            // Columns the engine leaves out never have a window (or an FC step).
            let extra = (real.columns - used.columns) as u64;
            gap.idle_columns = gap
                .idle_columns
                .saturating_add(extra.saturating_mul(slots_all).saturating_mul(cycles));
            // Σ raw·v counted every pair of the lanes with a channel: theirs (busy) and
            // the padding steps' (window sync).
            gap.lane_wait = gap.lane_wait.saturating_sub(busy.saturating_add(gpad));
            gap.busy = busy;
            gap.channel_padding += gpad;
            (cycles, gap)
        })
        .collect()
}

/// A conv layer: (cycles, the padding steps' pair costs of lanes with a channel).
fn conv(
    cv: &Conv,
    ops: &Operands,
    s: &SchemeOps,
    used: &ArrayShape,
    real: &ArrayShape,
    gap: &mut Gap,
) -> (u64, u64) {
    if s.schedule.is_some() {
        return (conv_scheduled(cv, ops, s, used, real, gap), 0);
    }
    let b = Bricks::conv(cv, used.lanes);
    let fg = cv.fg();
    let (tr, lanes) = ((real.tiles * real.rows) as u64, real.lanes as u64);
    let mut timing = Timing::new(used.columns, used.column_registers, tr * lanes);
    let (cn, chunks, steps) = (used.columns, b.chunks, b.steps);
    let windowed = s.family == Family::Window;
    let mut gpad = 0u64;
    // Lanes with a channel over a whole window.
    let v_win = b.cg.min(b.lanes) as u64;
    // Window sync: the padding steps of the lanes with a channel, per PE and unit.
    let pad_pair = {
        let (la, lw) = (lut(&s.act_rule), lut(&s.weight_rule));
        la[0] as u64 * lw[0] as u64
    };
    let pad_steps = if chunks > 1 {
        let r = b.cg - (chunks - 1) * b.lanes;
        ((b.lanes - r) * b.kh * b.kw) as u64
    } else {
        0
    };
    let mut buf = Vec::new();
    let mut wb = vec![0u8; b.lanes];
    let mut cost = vec![0u32; cn];
    let mut slots = vec![IDLE_SLOTS; cn];
    let idle = idle_slots(tr * lanes);
    for g in 0..cv.groups {
        let grp = Group::new(&b, g, g * fg, fg, ops, used);
        let pe = Pe::new(&grp, s);
        for set in 0..grp.window_sets() {
            let sl = grp.set_slots(set, &mut buf);
            for p in 0..grp.passes() {
                let (f0, f1) = grp.pass_filters(p);
                let np = (f1 - f0) as u64;
                let units = if windowed { 1 } else { steps };
                for u in 0..units {
                    for c in 0..cn {
                        if sl[c] == IDLE {
                            cost[c] = 0;
                            slots[c] = idle;
                            continue;
                        }
                        let mut col = Col::default();
                        let off = |t: usize| match sl[(t / chunks) * cn + c] {
                            PAD => None,
                            pos => Some(grp.brick_offset(pos, t % chunks)),
                        };
                        if windowed {
                            gpad += np * pad_steps * pad_pair;
                            for f in f0..f1 {
                                let raw = window_raw(&pe, f, &off, &mut wb);
                                if pe.wconst.is_some() {
                                    // Every filter costs alike.
                                    col.pe(raw, s.min_cycles, v_win, np);
                                    break;
                                }
                                col.pe(raw, s.min_cycles, v_win, 1);
                            }
                        } else {
                            let v = channels_at(&b, u) as u64;
                            let same = pe.wconst.is_some()
                                && !matches!(
                                    s.family,
                                    Family::FirstStage {
                                        serial: Operand::Weight,
                                        ..
                                    }
                                );
                            for f in f0..f1 {
                                let raw = pe.step(f, off(u), u, &mut wb);
                                if same {
                                    col.pe(raw, s.min_cycles, v, np);
                                    break;
                                }
                                col.pe(raw, s.min_cycles, v, 1);
                            }
                        }
                        cost[c] = col.cost;
                        slots[c] = share(gap, &col, tr, lanes);
                    }
                    timing.unit(gap, &cost, &slots);
                }
            }
        }
    }
    (timing.end(gap), gpad)
}

/// Lane slots of a column without a window.
const IDLE_SLOTS: Slots = Slots {
    idle_columns: 0,
    idle_rows: 0,
    padding: 0,
    column_wait: 0,
};

/// A column without a window: all its `slots` idle.
fn idle_slots(slots: u64) -> Slots {
    Slots {
        idle_columns: slots,
        ..IDLE_SLOTS
    }
}

/// Raw cost of the window-synchronous PE of filter f: max over lanes of the lane's
/// pair costs summed over the window's steps.
fn window_raw(pe: &Pe, f: usize, off: &dyn Fn(usize) -> Option<usize>, wb: &mut [u8]) -> u32 {
    let b = &pe.grp.b;
    let mut sums = vec![0u32; b.lanes];
    for t in 0..b.steps {
        pe.w(f, t, wb);
        for ((s, &a), &w) in sums.iter_mut().zip(pe.a(off(t))).zip(wb.iter()) {
            *s += a as u32 * w as u32;
        }
    }
    sums.into_iter().max().unwrap_or(0)
}

/// An FC layer: cycles (the round-robin issue of cycle-model.md's FC rule).
fn fc(
    c: usize,
    f: usize,
    ops: &Operands,
    s: &SchemeOps,
    used: &ArrayShape,
    real: &ArrayShape,
    gap: &mut Gap,
) -> u64 {
    let b = Bricks::fc(c, used.lanes);
    let grp = Group::new(&b, 0, 0, f, ops, used);
    let (tr, lanes) = ((real.tiles * real.rows) as u64, real.lanes as u64);
    let mut issue = Issue::new(used.columns, tr * lanes);
    if let Some(ws) = s.schedule {
        let sch = schedule_of(&grp, &ws, s.w);
        let calls = Calls::new(&grp, &sch, s);
        for p in 0..grp.passes() {
            for call in 0..calls.sch.calls(p, used.tiles) {
                let col = calls.column(&grp, s, p, call, None, tr);
                let slots = share(gap, &col, tr, lanes);
                issue.next(gap, col.cost, slots);
            }
        }
        return issue.timing.end(gap);
    }
    let pe = Pe::new(&grp, s);
    let mut wb = vec![0u8; b.lanes];
    for p in 0..grp.passes() {
        let (f0, f1) = grp.pass_filters(p);
        for t in 0..b.steps {
            let mut col = Col::default();
            let off = Some(grp.brick_offset(0, t));
            let v = channels_at(&b, t) as u64;
            for fi in f0..f1 {
                col.pe(pe.step(fi, off, t, &mut wb), s.min_cycles, v, 1);
            }
            let slots = share(gap, &col, tr, lanes);
            issue.next(gap, col.cost, slots);
        }
    }
    issue.timing.end(gap)
}

/// FC issue: the layer's units dealt round-robin to the columns, one issued per cycle.
struct Issue {
    timing: Timing,
    /// The cycle the next unit may issue at.
    at: u64,
    /// Units issued.
    i: usize,
}

impl Issue {
    fn new(columns: usize, slots_all: u64) -> Issue {
        Issue {
            timing: Timing::new(columns, 0, slots_all),
            at: 0,
            i: 0,
        }
    }

    /// Issue the next unit, costing `cost`, with its lane slots.
    fn next(&mut self, gap: &mut Gap, cost: u32, slots: Slots) {
        let t = &mut self.timing;
        let k = self.i % t.free.len();
        let start = self.at.max(t.free[k]);
        t.wait(gap, k, start - t.free[k]);
        t.free[k] = start + cost as u64;
        t.last[k] = Some(slots);
        self.at = start + 1;
        self.i += 1;
    }
}

/// A scheme with a weight schedule on a conv layer: units of calls
/// (docs/weight-scheduling.md), each call a sync unit in which every tile of the pass
/// runs its next kept step, if it has one.
fn conv_scheduled(
    cv: &Conv,
    ops: &Operands,
    s: &SchemeOps,
    used: &ArrayShape,
    real: &ArrayShape,
    gap: &mut Gap,
) -> u64 {
    let ws = s.schedule.expect("a scheduled scheme");
    let b = Bricks::conv(cv, used.lanes);
    let fg = cv.fg();
    let (tr, lanes) = ((real.tiles * real.rows) as u64, real.lanes as u64);
    let mut timing = Timing::new(used.columns, used.column_registers, tr * lanes);
    let cn = used.columns;
    let mut buf = Vec::new();
    let mut cost = vec![0u32; cn];
    let mut slots = vec![IDLE_SLOTS; cn];
    let idle = idle_slots(tr * lanes);
    for g in 0..cv.groups {
        let grp = Group::new(&b, g, g * fg, fg, ops, used);
        let sch = schedule_of(&grp, &ws, s.w);
        let calls = Calls::new(&grp, &sch, s);
        for set in 0..grp.window_sets() {
            let sl = grp.set_slots(set, &mut buf);
            for p in 0..grp.passes() {
                for call in 0..calls.sch.calls(p, used.tiles) {
                    for c in 0..cn {
                        if sl[c] == IDLE {
                            cost[c] = 0;
                            slots[c] = idle;
                            continue;
                        }
                        let col = calls.column(&grp, s, p, call, Some((sl, c)), tr);
                        cost[c] = col.cost;
                        slots[c] = share(gap, &col, tr, lanes);
                    }
                    timing.unit(gap, &cost, &slots);
                }
            }
        }
    }
    timing.end(gap)
}

/// A group's schedule for one scheme, with what each of its PEs reads at each kept
/// step: per entry e of the schedule (set j, kept step t) and real row r, the weight
/// factors it pairs with each step's activations and how many of its lanes hold a pair.
struct Calls<'g> {
    sch: &'g Schedule,
    /// Activation cycle factors, channel-last (the group's layout).
    af: Vec<u8>,
    /// The padding brick's factors.
    pad: Vec<u8>,
    /// Per (entry, real row), in order: its bricks `start[i]..start[i + 1]`.
    start: Vec<usize>,
    /// Per brick: the step of the activations it meets (t or t + Δt).
    step: Vec<usize>,
    /// Per brick, `lanes` weight factors: the slot's factor where its weight came from
    /// that step and lane, 0 elsewhere (a slot emptied by a promotion pairs with
    /// nothing).
    bricks: Vec<u8>,
    /// Per (entry, real row): its lanes holding a pair (every slot but those past the
    /// channels still holding their own zero word).
    v: Vec<u64>,
    /// Per entry: the index of its first row in `start` and `v`.
    row0: Vec<usize>,
    /// Pragmatic's first stage: rounds per row instead of bricks.
    rows: Option<Rows>,
}

impl<'g> Calls<'g> {
    fn new(grp: &Group, sch: &'g Schedule, s: &SchemeOps) -> Calls<'g> {
        let (la, lw) = (lut(&s.act_rule), lut(&s.weight_rule));
        let b = &grp.b;
        let (lanes, steps) = (b.lanes, b.steps);
        let wt = grp.weight_terms(s.w);
        let mut c = Calls {
            sch,
            af: grp.act_terms(s.a).iter().map(|&t| la[t as usize]).collect(),
            pad: vec![la[0]; lanes],
            start: vec![0],
            step: Vec::new(),
            bricks: Vec::new(),
            v: Vec::new(),
            row0: Vec::with_capacity(sch.kept.len()),
            rows: Rows::new(s),
        };
        for j in 0..sch.sets {
            for &t in sch.kept(j) {
                let t = t as usize;
                c.row0.push(c.v.len());
                // Lanes past the channels at step t.
                let held = channels_at(b, t);
                for r in 0..sch.real_rows[j] {
                    let f = j * sch.rows + r;
                    let fixed = &sch.fixed[sch.at(j, t, r)..][..sch.words];
                    let unmoved_pad = (held..lanes).filter(|&l| bit(fixed, l)).count();
                    c.v.push((lanes - unmoved_pad) as u64);
                    if c.rows.is_none() {
                        let mut add = |dt: usize, m: &[u64]| {
                            let w = &wt[(f * steps + t + dt) * lanes..][..lanes];
                            c.step.push(t + dt);
                            c.bricks.extend(w.iter().enumerate().map(|(l, &x)| {
                                if bit(m, l) {
                                    lw[x as usize]
                                } else {
                                    0
                                }
                            }));
                        };
                        add(0, fixed);
                        for (dt, m) in sch.into(j, t, r) {
                            add(dt, m);
                        }
                    }
                    c.start.push(c.step.len());
                }
            }
        }
        c
    }

    /// One column of call `call` of pass p: column c of the window set with `slots`
    /// (None: an FC layer's one window). `tr`: the PEs of a column (tiles × rows).
    fn column(
        &self,
        grp: &Group,
        s: &SchemeOps,
        p: usize,
        call: usize,
        col: Option<(&[usize], usize)>,
        tr: u64,
    ) -> Col {
        let sch = self.sch;
        let lanes = grp.b.lanes;
        let mut out = Col::default();
        for j in sch.pass_sets(p, grp.array.tiles) {
            let kept = sch.kept(j);
            if call >= kept.len() {
                // The tile's schedule ran out: its PEs with a filter wait.
                out.done += sch.real_rows[j] as u64;
                continue;
            }
            let e = sch.kept_start[j] + call;
            let i0 = self.row0[e];
            match &self.rows {
                Some(rows) => rows.each_row(grp, sch, e, col, |r, raw| {
                    out.pe(raw, s.min_cycles, self.v[i0 + r], 1)
                }),
                None => {
                    for r in 0..sch.real_rows[j] {
                        let i = i0 + r;
                        let raw = (self.start[i]..self.start[i + 1])
                            .map(|k| {
                                let a = self.act(grp, col, self.step[k]);
                                brick_cost(a, &self.bricks[k * lanes..][..lanes])
                            })
                            .max()
                            .unwrap_or(0);
                        out.pe(raw, s.min_cycles, self.v[i], 1);
                    }
                }
            }
        }
        debug_assert!(out.pes + out.done <= tr);
        out
    }

    /// The activation factors that `col`'s window (None: an FC layer's) reads at `step`.
    fn act(&self, grp: &Group, col: Option<(&[usize], usize)>, step: usize) -> &[u8] {
        let (chunks, cn) = (grp.b.chunks, grp.array.columns);
        let off = match col {
            None => Some(grp.brick_offset(0, step)),
            Some((slots, c)) => match slots[(step / chunks) * cn + c] {
                PAD => None,
                pos => Some(grp.brick_offset(pos, step % chunks)),
            },
        };
        match off {
            Some(o) => &self.af[o..o + grp.b.lanes],
            None => &self.pad,
        }
    }
}

/// The group's schedule for `ws`, built as the engine builds it (its own copy: the
/// engine's may sit in a cache shared by samples, which counts its uses).
fn schedule_of(grp: &Group, ws: &WeightSchedule, w: usize) -> Schedule {
    let b = &grp.b;
    Schedule::new(
        grp.weight_terms(w),
        grp.fg,
        b.steps,
        grp.array.rows,
        &Pattern::new(ws, b.lanes, b.steps),
    )
}

/// Lanes holding a channel at step t (the rest are past the channel count).
fn channels_at(b: &Bricks, t: usize) -> usize {
    let k = t % b.chunks;
    b.cg.min((k + 1) * b.lanes) - k * b.lanes
}

/// Lane l of a lane mask.
fn bit(m: &[u64], l: usize) -> bool {
    m[l / 64] >> (l % 64) & 1 == 1
}
