//! The slow, literal reading of the cycle model, used by tests as the independent
//! reference for the fast engine. Every loop of the spec is a loop here: groups, window
//! sets, passes, steps, columns, tiles, rows, lanes; every MAC for the potentials. It
//! shares nothing with the engine but the tensors and the term encodings.
//!
//! With a weight schedule (docs/weight-scheduling.md) each buffer set is a table of
//! slots rescheduled by the greedy of the page, step by step and row by row, listing
//! every zero slot's candidates anew before each promotion; then units of calls over
//! the kept steps, each slot pairing its weight with the activation of its origin.

use crate::arch::ArrayShape;
use crate::encoding::Encoding;
use crate::model::{Conv, Geometry, Layer};
use crate::scheme::{Operand, PatternShape, Scheme, Skip, SyncMode, WeightSchedule};
use crate::sim::gap::Gap;
use crate::sim::{LayerRun, ScheduleCounts};
use crate::tensor::Tensor;

/// terms(x) of element `i` (None: padding or a lane past the channels).
fn terms(t: &Tensor, i: Option<usize>, scheme: &Scheme, op: Operand) -> u32 {
    let Some(i) = i else { return 0 };
    match *t.encoding() {
        Encoding::Ternary { levels, .. } => {
            (0..levels as usize).filter(|&p| t.digit(i, p) != 0).count() as u32
        }
        Encoding::Binary { levels, .. } => scheme.planes_override(op).unwrap_or(levels as u32),
        Encoding::Int { .. } => scheme
            .term_encoding
            .terms(t.int_value(i).unwrap().unsigned_abs()),
    }
}

fn mask(t: &Tensor, i: Option<usize>, scheme: &Scheme) -> Vec<u32> {
    let Some(i) = i else { return vec![] };
    let m = scheme
        .term_encoding
        .term_mask(t.int_value(i).unwrap().unsigned_abs());
    (0..64).filter(|b| m >> b & 1 == 1).collect()
}

fn planes(t: &Tensor, scheme: &Scheme, op: Operand) -> u32 {
    scheme.planes_override(op).unwrap_or(match *t.encoding() {
        Encoding::Ternary { levels, .. } | Encoding::Binary { levels, .. } => levels as u32,
        Encoding::Int { precision, .. } => precision as u32,
    })
}

fn width(t: &Tensor, scheme: &Scheme, op: Operand) -> u32 {
    scheme.planes_override(op).unwrap_or(match *t.encoding() {
        Encoding::Ternary { levels, .. } | Encoding::Binary { levels, .. } => levels as u32,
        Encoding::Int { bits, .. } => bits as u32,
    })
}

/// The spec's table: (cycle factor, work factor).
fn factors(t: &Tensor, i: Option<usize>, scheme: &Scheme, op: Operand) -> (u32, u32) {
    let tm = terms(t, i, scheme, op);
    let zero = tm == 0;
    let p = planes(t, scheme, op);
    let w = width(t, scheme, op);
    match (scheme.is_serial(op), scheme.skip(op)) {
        (false, Skip::None) => (1, w),
        (false, Skip::Word) => {
            if zero {
                (0, 0)
            } else {
                (1, w)
            }
        }
        (true, Skip::None) => (p, p),
        (true, Skip::Word) => {
            if zero {
                (0, 0)
            } else {
                (p, p)
            }
        }
        (true, Skip::Term) => (tm, tm),
        (false, Skip::Term) => unreachable!("validated"),
    }
}

/// Rounds of the two-stage shifter, literally.
fn rounds(mut lanes: Vec<Vec<u32>>, b: u32) -> u32 {
    let mut n = 0;
    loop {
        let base = lanes.iter().filter_map(|l| l.iter().min().copied()).min();
        let Some(base) = base else { return n };
        let top = base as u64 + (1u64 << b.min(40)) - 1;
        for l in lanes.iter_mut() {
            if let Some((k, &low)) = l.iter().enumerate().min_by_key(|(_, &v)| v) {
                if low as u64 <= top {
                    l.remove(k);
                }
            }
        }
        n += 1;
    }
}

/// One (filter, window) pair at one step: per lane (weight index, act index).
type Lanes = Vec<(Option<usize>, Option<usize>)>;

/// A lane's cost for one (weight, activation) pair: the product of the cycle factors.
fn pair(
    layer: &Layer,
    acts: &Tensor,
    scheme: &Scheme,
    (wi, ai): (Option<usize>, Option<usize>),
) -> u32 {
    factors(&layer.weights, wi, scheme, Operand::Weight).0
        * factors(acts, ai, scheme, Operand::Act).0
}

/// Cost of a PE for a set of steps (each a list of lanes).
fn pe_cost(layer: &Layer, acts: &Tensor, scheme: &Scheme, steps: &[Lanes]) -> u32 {
    pe_raw(layer, acts, scheme, steps).max(scheme.min_cycles)
}

/// Cost of a PE for a set of steps before `min_cycles`.
fn pe_raw(layer: &Layer, acts: &Tensor, scheme: &Scheme, steps: &[Lanes]) -> u32 {
    let w = &layer.weights;
    let pair = |p| pair(layer, acts, scheme, p);
    let windowed = scheme.sync == SyncMode::Window && matches!(layer.geom, Geometry::Conv(_));
    let raw = if windowed {
        let lanes = steps[0].len();
        (0..lanes)
            .map(|l| steps.iter().map(|s| pair(s[l])).sum::<u32>())
            .max()
            .unwrap_or(0)
    } else if let (Some(op), Some(b)) = (scheme.first_stage_operand(), scheme.first_stage_bits) {
        assert_eq!(steps.len(), 1);
        let pending = steps[0]
            .iter()
            .map(|&(wi, ai)| match op {
                Operand::Act if factors(w, wi, scheme, Operand::Weight).0 != 0 => {
                    mask(acts, ai, scheme)
                }
                Operand::Weight if factors(acts, ai, scheme, Operand::Act).0 != 0 => {
                    mask(w, wi, scheme)
                }
                _ => vec![],
            })
            .collect();
        rounds(pending, b)
    } else {
        assert_eq!(steps.len(), 1);
        steps[0].iter().map(|&p| pair(p)).max().unwrap_or(0)
    };
    raw
}

/// Column timing, literally: lock-step sums of maxima, or drifting columns.
struct Timing {
    registers: usize,
    total: u64,
    free: Vec<u64>,
    finish: Vec<u64>,
}

impl Timing {
    fn unit(&mut self, cost: &[u32]) {
        if self.registers == 0 {
            self.total += *cost.iter().max().unwrap() as u64;
            return;
        }
        let u = self.finish.len();
        let ready = if u > self.registers {
            self.finish[u - 1 - self.registers]
        } else {
            0
        };
        for (free, &c) in self.free.iter_mut().zip(cost) {
            *free = (*free).max(ready) + c as u64;
        }
        self.finish.push(*self.free.iter().max().unwrap());
    }

    fn cycles(&self) -> u64 {
        if self.registers == 0 {
            self.total
        } else {
            *self.free.iter().max().unwrap()
        }
    }
}

/// Simulate one layer under one scheme, slowly and literally.
pub fn simulate_layer(layer: &Layer, acts: &Tensor, scheme: &Scheme, a: &ArrayShape) -> LayerRun {
    if let Some(ws) = scheme.weight_schedule {
        return scheduled_layer(layer, acts, scheme, &ws, a);
    }
    let w = &layer.weights;
    let (cycles, work, busy) = match layer.geom {
        Geometry::Conv(cv) => {
            let (cg, fg) = (cv.c / cv.groups, cv.f / cv.groups);
            let (oy_n, ox_n) = (cv.oy(), cv.ox());
            let chunks = cg.div_ceil(a.lanes);
            let t_n = cv.kh * cv.kw * chunks;
            let windows = oy_n * ox_n;
            let sets = windows.div_ceil(a.columns);
            let fsets = fg.div_ceil(a.rows);
            let passes = fsets.div_ceil(a.tiles);
            let mut timing = Timing {
                registers: a.column_registers,
                total: 0,
                free: vec![0; a.columns],
                finish: vec![],
            };
            // (filter, window, step) → lanes
            let lanes_of = |g: usize, f: usize, n: usize, t: usize| -> Lanes {
                (0..a.lanes)
                    .map(|l| conv_pair(&cv, a, (g, f, n), t, l))
                    .collect()
            };
            for g in 0..cv.groups {
                for s in 0..sets {
                    for p in 0..passes {
                        let pes = |c: usize| -> Vec<(usize, usize)> {
                            // (filter, window) of every PE of column c that has both.
                            let n = s * a.columns + c;
                            if n >= windows {
                                return vec![];
                            }
                            let mut v = vec![];
                            for tile in 0..a.tiles {
                                let set = p * a.tiles + tile;
                                if set >= fsets {
                                    continue;
                                }
                                for r in 0..a.rows {
                                    let f = set * a.rows + r;
                                    if f < fg {
                                        v.push((f, n));
                                    }
                                }
                            }
                            v
                        };
                        if scheme.sync == SyncMode::Window {
                            let cost: Vec<u32> = (0..a.columns)
                                .map(|c| {
                                    pes(c)
                                        .into_iter()
                                        .map(|(f, n)| {
                                            let steps: Vec<Lanes> =
                                                (0..t_n).map(|t| lanes_of(g, f, n, t)).collect();
                                            pe_cost(layer, acts, scheme, &steps)
                                        })
                                        .max()
                                        .unwrap_or(0)
                                })
                                .collect();
                            timing.unit(&cost);
                        } else {
                            for t in 0..t_n {
                                let cost: Vec<u32> = (0..a.columns)
                                    .map(|c| {
                                        pes(c)
                                            .into_iter()
                                            .map(|(f, n)| {
                                                pe_cost(
                                                    layer,
                                                    acts,
                                                    scheme,
                                                    &[lanes_of(g, f, n, t)],
                                                )
                                            })
                                            .max()
                                            .unwrap_or(0)
                                    })
                                    .collect();
                                timing.unit(&cost);
                            }
                        }
                    }
                }
            }
            // Work: every (filter, window, channel, ky, kx).
            let (mut work, mut busy) = (0u64, 0u64);
            for g in 0..cv.groups {
                for f in 0..fg {
                    for n in 0..windows {
                        for t in 0..t_n {
                            for (wi, ai) in lanes_of(g, f, n, t) {
                                if wi.is_some() {
                                    let (wc, ww) = factors(w, wi, scheme, Operand::Weight);
                                    let (ac, aw) = factors(acts, ai, scheme, Operand::Act);
                                    work += (ww * aw) as u64;
                                    busy += (wc * ac) as u64;
                                }
                            }
                        }
                    }
                }
            }
            (timing.cycles(), work, busy)
        }
        Geometry::Fc { c, f } => {
            let t_n = c.div_ceil(a.lanes);
            let fsets = f.div_ceil(a.rows);
            let passes = fsets.div_ceil(a.tiles);
            let mut free = vec![0u64; a.columns];
            let mut issue = 0u64;
            let mut i = 0;
            for p in 0..passes {
                for t in 0..t_n {
                    let mut cost = 0;
                    for tile in 0..a.tiles {
                        let set = p * a.tiles + tile;
                        for r in 0..a.rows {
                            let fi = set * a.rows + r;
                            if set >= fsets || fi >= f {
                                continue;
                            }
                            let lanes: Lanes =
                                (0..a.lanes).map(|l| fc_pair(c, a, fi, t, l)).collect();
                            let fc_scheme = Scheme {
                                sync: SyncMode::Step,
                                ..scheme.clone()
                            };
                            cost = cost.max(pe_cost(layer, acts, &fc_scheme, &[lanes]));
                        }
                    }
                    let col = i % a.columns;
                    let start = issue.max(free[col]);
                    free[col] = start + cost as u64;
                    issue = start + 1;
                    i += 1;
                }
            }
            let (mut work, mut busy) = (0u64, 0u64);
            for fi in 0..f {
                for ch in 0..c {
                    let (wc, ww) = factors(w, Some(fi * c + ch), scheme, Operand::Weight);
                    let (ac, aw) = factors(acts, Some(ch), scheme, Operand::Act);
                    work += (ww * aw) as u64;
                    busy += (wc * ac) as u64;
                }
            }
            (free.into_iter().max().unwrap(), work, busy)
        }
    };
    LayerRun {
        macs: layer.geom.macs(),
        cycles,
        work,
        busy_lane_cycles: busy,
        lane_cycles: cycles * a.total_lanes(),
        gap: None,
        schedule: None,
    }
}

/// zero(x): the value is 0 (binary values never are).
fn is_zero(t: &Tensor, i: Option<usize>) -> bool {
    let Some(i) = i else { return true };
    match *t.encoding() {
        Encoding::Ternary { levels, .. } => (0..levels as usize).all(|p| t.digit(i, p) == 0),
        Encoding::Binary { .. } => false,
        Encoding::Int { .. } => t.int_value(i).unwrap() == 0,
    }
}

/// A slot of a buffer set: does it hold a zero word, and the (step, lane) its weight
/// came from.
#[derive(Clone, Copy, Debug)]
struct Slot {
    zero: bool,
    origin: (usize, usize),
}

/// A buffer set after scheduling: slots `[t][r][l]`, the kept steps, the promotions.
struct Buffer {
    table: Vec<Vec<Vec<Slot>>>,
    kept: Vec<usize>,
    promoted: u64,
}

impl Buffer {
    /// Schedule a buffer set of `steps` × `rows` × `lanes` slots whose weight at (t, r,
    /// l) is zero when `zero(t, r, l)`, as the page's sections 3–5 say.
    fn new(
        steps: usize,
        rows: usize,
        lanes: usize,
        ws: &WeightSchedule,
        zero: impl Fn(usize, usize, usize) -> bool,
    ) -> Buffer {
        let mut table: Vec<Vec<Vec<Slot>>> = (0..steps)
            .map(|t| {
                (0..rows)
                    .map(|r| {
                        (0..lanes)
                            .map(|l| Slot {
                                zero: zero(t, r, l),
                                origin: (t, l),
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        // Section 3: the offsets, ascending (Δt, Δl), duplicates once. (Δt past the
        // steps never names a slot.)
        let (h, d) = (ws.lookahead as i64, ws.lookaside as i64);
        let mut offsets: Vec<(i64, i64)> = (1..=h.min(steps as i64)).map(|k| (k, 0)).collect();
        match ws.shape {
            PatternShape::L => offsets.extend((1..=d).map(|k| (1, -k))),
            PatternShape::T => {
                for i in 0..d {
                    let dt = (i / 2) % h + 1;
                    let dl = i / 2 + 1;
                    offsets.push((dt, if i % 2 == 0 { dl } else { -dl }));
                }
            }
        }
        offsets.sort();
        offsets.dedup();
        let candidates = |table: &Vec<Vec<Vec<Slot>>>, t: usize, r: usize, l: usize| {
            let mut c: Vec<(usize, usize)> = Vec::new();
            for &(dt, dl) in &offsets {
                let t2 = t + dt as usize;
                if t2 >= steps {
                    continue;
                }
                let mut l2 = l as i64 + dl;
                if l2 >= lanes as i64 {
                    l2 -= lanes as i64;
                } else if l2 < 0 {
                    l2 += lanes as i64;
                }
                let l2 = l2 as usize;
                if !table[t2][r][l2].zero && !c.contains(&(t2, l2)) {
                    c.push((t2, l2));
                }
            }
            c
        };
        // Section 4.
        let mut promoted = 0;
        let mut z = 0;
        for t in 0..steps {
            let zero_line = table[t].iter().all(|row| row.iter().all(|s| s.zero));
            if (z as i64) < h && zero_line {
                z += 1;
                continue;
            }
            z = 0;
            for r in 0..rows {
                loop {
                    let list: Vec<(usize, Vec<(usize, usize)>)> = (0..lanes)
                        .filter(|&l| table[t][r][l].zero)
                        .map(|l| (l, candidates(&table, t, r, l)))
                        .collect();
                    let most = list.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
                    if most == 0 {
                        break;
                    }
                    let (l, c) = list.iter().find(|(_, c)| c.len() == most).unwrap();
                    let (t2, l2) = c[0];
                    let moved = table[t2][r][l2];
                    table[t2][r][l2] = table[t][r][*l];
                    table[t][r][*l] = moved;
                    promoted += 1;
                }
            }
        }
        // Section 5.
        let mut kept = Vec::new();
        let mut z = 0;
        for (t, step) in table.iter().enumerate() {
            if (z as i64) < h && step.iter().all(|row| row.iter().all(|s| s.zero)) {
                z += 1;
            } else {
                z = 0;
                kept.push(t);
            }
        }
        Buffer {
            table,
            kept,
            promoted,
        }
    }

    /// The slot (t, r, l) at kept step t: None when empty (a zero moved there from an
    /// earlier step), else the origin its weight pairs with.
    fn pair_origin(&self, t: usize, r: usize, l: usize) -> Option<(usize, usize)> {
        let s = self.table[t][r][l];
        (!(s.zero && s.origin.0 < t)).then_some(s.origin)
    }
}

/// (weight index, act index) of filter f of group g, window n, at step t, lane l of a
/// conv layer (None: padding or past the channels).
fn conv_pair(
    cv: &Conv,
    a: &ArrayShape,
    (g, f, n): (usize, usize, usize),
    t: usize,
    l: usize,
) -> (Option<usize>, Option<usize>) {
    let (cg, fg) = (cv.c / cv.groups, cv.f / cv.groups);
    let chunks = cg.div_ceil(a.lanes);
    let oy_n = cv.oy();
    let kx = t / (cv.kh * chunks);
    let ky = (t / chunks) % cv.kh;
    let k = t % chunks;
    let ch = k * a.lanes + l;
    if ch >= cg {
        return (None, None);
    }
    let (oy, ox) = (n % oy_n, n / oy_n);
    let iy = (oy * cv.sh + ky) as i64 - cv.ph as i64;
    let ix = (ox * cv.sw + kx) as i64 - cv.pw as i64;
    let wi = (((g * fg + f) * cg + ch) * cv.kh + ky) * cv.kw + kx;
    let inside = iy >= 0 && ix >= 0 && (iy as usize) < cv.h && (ix as usize) < cv.w;
    let ai = inside.then(|| ((g * cg + ch) * cv.h + iy as usize) * cv.w + ix as usize);
    (Some(wi), ai)
}

/// (weight index, act index) of filter fi at step t, lane l of an FC layer with c
/// inputs (None past the channels).
fn fc_pair(
    c: usize,
    a: &ArrayShape,
    fi: usize,
    t: usize,
    l: usize,
) -> (Option<usize>, Option<usize>) {
    let ch = t * a.lanes + l;
    if ch < c {
        (Some(fi * c + ch), Some(ch))
    } else {
        (None, None)
    }
}

/// A conv layer's buffer sets, scheduled: `[group][set]`.
fn conv_buffers(cv: &Conv, w: &Tensor, ws: &WeightSchedule, a: &ArrayShape) -> Vec<Vec<Buffer>> {
    let (cg, fg) = (cv.c / cv.groups, cv.f / cv.groups);
    let t_n = cv.kh * cv.kw * cg.div_ceil(a.lanes);
    (0..cv.groups)
        .map(|g| {
            (0..fg.div_ceil(a.rows))
                .map(|j| {
                    Buffer::new(t_n, a.rows, a.lanes, ws, |t, r, l| {
                        let f = j * a.rows + r;
                        f >= fg || is_zero(w, conv_pair(cv, a, (g, f, 0), t, l).0)
                    })
                })
                .collect()
        })
        .collect()
}

/// An FC layer's buffer sets, scheduled.
fn fc_buffers(c: usize, f: usize, w: &Tensor, ws: &WeightSchedule, a: &ArrayShape) -> Vec<Buffer> {
    (0..f.div_ceil(a.rows))
        .map(|j| {
            Buffer::new(c.div_ceil(a.lanes), a.rows, a.lanes, ws, |t, r, l| {
                let fi = j * a.rows + r;
                fi >= f || is_zero(w, fc_pair(c, a, fi, t, l).0)
            })
        })
        .collect()
}

/// A scheduled scheme on one layer, literally: schedules, calls, pairs.
fn scheduled_layer(
    layer: &Layer,
    acts: &Tensor,
    scheme: &Scheme,
    ws: &WeightSchedule,
    a: &ArrayShape,
) -> LayerRun {
    let w = &layer.weights;
    let pair_cost = |(wi, ai): (Option<usize>, Option<usize>)| {
        factors(w, wi, scheme, Operand::Weight).0 * factors(acts, ai, scheme, Operand::Act).0
    };
    let mut counts = ScheduleCounts::default();
    let (mut work, mut busy) = (0u64, 0u64);
    let cycles = match layer.geom {
        Geometry::Conv(cv) => {
            let (cg, fg) = (cv.c / cv.groups, cv.f / cv.groups);
            let (oy_n, ox_n) = (cv.oy(), cv.ox());
            let chunks = cg.div_ceil(a.lanes);
            let t_n = cv.kh * cv.kw * chunks;
            let windows = oy_n * ox_n;
            let sets = windows.div_ceil(a.columns);
            let fsets = fg.div_ceil(a.rows);
            let passes = fsets.div_ceil(a.tiles);
            let mut timing = Timing {
                registers: a.column_registers,
                total: 0,
                free: vec![0; a.columns],
                finish: vec![],
            };
            let pair = |g: usize, f: usize, n: usize, t: usize, l: usize| {
                conv_pair(&cv, a, (g, f, n), t, l)
            };
            // buffers[g][j]
            let buffers = conv_buffers(&cv, w, ws, a);
            for bs in &buffers {
                counts.promoted += bs.iter().map(|b| b.promoted).sum::<u64>();
            }
            for (g, bs) in buffers.iter().enumerate() {
                for s in 0..sets {
                    for p in 0..passes {
                        let tiles: Vec<usize> = (0..a.tiles)
                            .map(|i| p * a.tiles + i)
                            .filter(|&j| j < fsets)
                            .collect();
                        let calls = tiles.iter().map(|&j| bs[j].kept.len()).max().unwrap_or(0);
                        counts.kept_steps += calls as u64;
                        counts.steps += t_n as u64;
                        for call in 0..calls {
                            let cost: Vec<u32> = (0..a.columns)
                                .map(|c| {
                                    let n = s * a.columns + c;
                                    if n >= windows {
                                        return 0;
                                    }
                                    let mut m = 0;
                                    for &j in &tiles {
                                        let Some(&t) = bs[j].kept.get(call) else {
                                            continue;
                                        };
                                        for r in 0..a.rows {
                                            let f = j * a.rows + r;
                                            if f >= fg {
                                                continue;
                                            }
                                            let lanes: Lanes = (0..a.lanes)
                                                .filter_map(|l| bs[j].pair_origin(t, r, l))
                                                .map(|(o, lo)| pair(g, f, n, o, lo))
                                                .collect();
                                            m = m.max(pe_cost(layer, acts, scheme, &[lanes]));
                                        }
                                    }
                                    m
                                })
                                .collect();
                            timing.unit(&cost);
                        }
                    }
                }
            }
            // Work: every MAC, zero weights none; busy: the pairs of kept steps.
            for (g, bs) in buffers.iter().enumerate() {
                for f in 0..fg {
                    for n in 0..windows {
                        for t in 0..t_n {
                            for l in 0..a.lanes {
                                let (wi, ai) = pair(g, f, n, t, l);
                                if wi.is_some() && !is_zero(w, wi) {
                                    let ww = factors(w, wi, scheme, Operand::Weight).1;
                                    work += (ww * factors(acts, ai, scheme, Operand::Act).1) as u64;
                                }
                            }
                        }
                    }
                }
                for (j, b) in bs.iter().enumerate() {
                    for &t in &b.kept {
                        for r in 0..a.rows {
                            let f = j * a.rows + r;
                            if f >= fg {
                                continue;
                            }
                            for l in 0..a.lanes {
                                let Some((o, lo)) = b.pair_origin(t, r, l) else {
                                    continue;
                                };
                                for n in 0..windows {
                                    let p = pair(g, f, n, o, lo);
                                    if p.0.is_some() {
                                        busy += pair_cost(p) as u64;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            timing.cycles()
        }
        Geometry::Fc { c, f } => {
            let t_n = c.div_ceil(a.lanes);
            let fsets = f.div_ceil(a.rows);
            let passes = fsets.div_ceil(a.tiles);
            let pair = |fi: usize, t: usize, l: usize| fc_pair(c, a, fi, t, l);
            let buffers = fc_buffers(c, f, w, ws, a);
            counts.promoted = buffers.iter().map(|b| b.promoted).sum();
            let fc_scheme = Scheme {
                sync: SyncMode::Step,
                ..scheme.clone()
            };
            let mut free = vec![0u64; a.columns];
            let mut issue = 0u64;
            let mut i = 0;
            for p in 0..passes {
                let tiles: Vec<usize> = (0..a.tiles)
                    .map(|x| p * a.tiles + x)
                    .filter(|&j| j < fsets)
                    .collect();
                let calls = tiles
                    .iter()
                    .map(|&j| buffers[j].kept.len())
                    .max()
                    .unwrap_or(0);
                counts.kept_steps += calls as u64;
                counts.steps += t_n as u64;
                for call in 0..calls {
                    let mut cost = 0;
                    for &j in &tiles {
                        let Some(&t) = buffers[j].kept.get(call) else {
                            continue;
                        };
                        for r in 0..a.rows {
                            let fi = j * a.rows + r;
                            if fi >= f {
                                continue;
                            }
                            let lanes: Lanes = (0..a.lanes)
                                .filter_map(|l| buffers[j].pair_origin(t, r, l))
                                .map(|(o, lo)| pair(fi, o, lo))
                                .collect();
                            cost = cost.max(pe_cost(layer, acts, &fc_scheme, &[lanes]));
                        }
                    }
                    let col = i % a.columns;
                    let start = issue.max(free[col]);
                    free[col] = start + cost as u64;
                    issue = start + 1;
                    i += 1;
                }
            }
            for fi in 0..f {
                for ch in 0..c {
                    let wi = Some(fi * c + ch);
                    if !is_zero(w, wi) {
                        let ww = factors(w, wi, scheme, Operand::Weight).1;
                        work += (ww * factors(acts, Some(ch), scheme, Operand::Act).1) as u64;
                    }
                }
            }
            for (j, b) in buffers.iter().enumerate() {
                for &t in &b.kept {
                    for r in 0..a.rows {
                        let fi = j * a.rows + r;
                        if fi >= f {
                            continue;
                        }
                        for l in 0..a.lanes {
                            if let Some((o, lo)) = b.pair_origin(t, r, l) {
                                let p = pair(fi, o, lo);
                                if p.0.is_some() {
                                    busy += pair_cost(p) as u64;
                                }
                            }
                        }
                    }
                }
            }
            free.into_iter().max().unwrap()
        }
    };
    LayerRun {
        macs: layer.geom.macs(),
        cycles,
        work,
        busy_lane_cycles: busy,
        lane_cycles: cycles * a.total_lanes(),
        schedule: Some(counts),
        gap: None,
    }
}

/// How the time a column waits after a unit is shared out: lane slots (tile, row,
/// lane) of the column per cause, summing to tiles·rows·lanes.
#[derive(Clone, Copy, Debug, Default)]
struct Slots {
    idle_columns: u64,
    idle_rows: u64,
    padding: u64,
    column_wait: u64,
}

impl Slots {
    fn add(&self, gap: &mut Gap, cycles: u64) {
        gap.idle_columns += self.idle_columns * cycles;
        gap.idle_rows += self.idle_rows * cycles;
        gap.channel_padding += self.padding * cycles;
        gap.column_wait += self.column_wait * cycles;
    }
}

/// One step of a PE's slots: per lane the (weight, act) pair of its slot, None for a
/// slot a promotion emptied.
type Slotted = Vec<Option<(Option<usize>, Option<usize>)>>;

/// One PE of a column (which has a window) in one sync unit, as the breakdown sees it.
enum Pe {
    /// No filter.
    Idle,
    /// A filter, but no kept step left in this call (its tile's schedule ran out).
    Done,
    /// The unit's steps, each a list of the PE's lanes: the (weight, act) pair of the
    /// lane's slot, None for a slot a promotion emptied (it pairs with nothing).
    Work(Vec<Slotted>),
}

/// One column's share of a unit, literally: every (tile, row, lane) of the column, its
/// work segment (the column's cost) split into the parts, and how its wait afterwards
/// is shared. `pes[tile·rows + row]`.
fn column_share(
    layer: &Layer,
    acts: &Tensor,
    scheme: &Scheme,
    pes: &[Pe],
    lanes: usize,
    gap: &mut Gap,
) -> (u32, Slots) {
    // What a PE's cost reads: its slots holding a pair.
    let paired = |steps: &[Slotted]| -> Vec<Lanes> {
        steps
            .iter()
            .map(|s| s.iter().flatten().copied().collect())
            .collect()
    };
    let cost = pes
        .iter()
        .filter_map(|pe| match pe {
            Pe::Work(steps) => Some(pe_cost(layer, acts, scheme, &paired(steps))),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut slots = Slots::default();
    for pe in pes {
        let steps = match pe {
            Pe::Idle => {
                gap.idle_rows += cost as u64 * lanes as u64;
                slots.idle_rows += lanes as u64;
                continue;
            }
            Pe::Done => {
                gap.row_wait += cost as u64 * lanes as u64;
                slots.column_wait += lanes as u64;
                continue;
            }
            Pe::Work(steps) => steps,
        };
        let raw = pe_raw(layer, acts, scheme, &paired(steps));
        let pe = raw.max(scheme.min_cycles);
        for l in 0..lanes {
            // A lane that holds a pair at some step of the unit: a channel, or an empty
            // slot (which a promotion emptied of a weight of a channel).
            if !steps
                .iter()
                .any(|s| matches!(s[l], None | Some((Some(_), _))))
            {
                gap.channel_padding += cost as u64;
                slots.padding += 1;
                continue;
            }
            let (mut own, mut pad) = (0u64, 0u64);
            for s in steps {
                let Some(p) = s[l] else { continue };
                let c = pair(layer, acts, scheme, p) as u64;
                if p.0.is_some() {
                    own += c;
                } else {
                    pad += c;
                }
            }
            gap.busy += own;
            gap.channel_padding += pad;
            gap.lane_wait += (raw as u64).checked_sub(own + pad).expect("PE ≥ its lanes");
            gap.floor += (pe - raw) as u64;
            gap.row_wait += (cost - pe) as u64;
            slots.column_wait += 1;
        }
    }
    (cost, slots)
}

/// The columns' time, literally: when each is free, what it did last, and the units'
/// finish times (column registers).
struct Columns {
    free: Vec<u64>,
    /// What each column did last (None: nothing yet).
    last: Vec<Option<Slots>>,
    finish: Vec<u64>,
    registers: usize,
    slots_all: u64,
    /// FC issue: the cycle the next unit may issue at, and units issued.
    issue: u64,
    issued: usize,
}

impl Columns {
    fn new(a: &ArrayShape) -> Columns {
        Columns {
            free: vec![0; a.columns],
            last: vec![None; a.columns],
            finish: vec![],
            registers: a.column_registers,
            slots_all: (a.tiles * a.rows * a.lanes) as u64,
            issue: 0,
            issued: 0,
        }
    }

    /// Column c starts a unit at `start` (not before it is free), costing `cost`.
    fn start(&mut self, gap: &mut Gap, c: usize, start: u64, cost: u32, now: Slots) {
        let start = start.max(self.free[c]);
        // The wait before, shared out as what the column did last; before its first
        // unit (FC issue) a wait for the other columns.
        let cycles = start - self.free[c];
        match self.last[c] {
            Some(s) => s.add(gap, cycles),
            None => gap.column_wait += self.slots_all * cycles,
        }
        self.free[c] = start + cost as u64;
        self.last[c] = Some(now);
    }

    /// A conv unit: the column timing, R = 0 included: a column starts unit u once
    /// every column finished unit u − 1 − R.
    fn unit(&mut self, gap: &mut Gap, cost: &[u32], now: &[Slots]) {
        let u = self.finish.len();
        let ready = if u > self.registers {
            self.finish[u - 1 - self.registers]
        } else {
            0
        };
        for c in 0..self.free.len() {
            self.start(gap, c, ready, cost[c], now[c]);
        }
        self.finish.push(*self.free.iter().max().unwrap());
    }

    /// An FC unit: dealt round-robin, issued one per cycle.
    fn issue(&mut self, gap: &mut Gap, cost: u32, now: Slots) {
        let c = self.issued % self.free.len();
        self.start(gap, c, self.issue, cost, now);
        self.issue = self.free[c] - cost as u64 + 1;
        self.issued += 1;
    }

    /// The layer's cycles; after its last unit a column waits for the layer's end, and
    /// a column that never had a unit idles throughout.
    fn end(self, gap: &mut Gap) -> u64 {
        let cycles = self.free.iter().copied().max().unwrap_or(0);
        let idle = Slots {
            idle_columns: self.slots_all,
            ..Slots::default()
        };
        for (f, l) in self.free.iter().zip(&self.last) {
            l.unwrap_or(idle).add(gap, cycles - f);
        }
        cycles
    }
}

/// Where the lane-cycles of one layer under one scheme went, slowly and literally (see
/// [`crate::sim::gap`] for the definitions), with the layer's cycles. With a weight
/// schedule the sync unit is a call: each tile of the pass at its own next kept step.
pub fn gap(layer: &Layer, acts: &Tensor, scheme: &Scheme, a: &ArrayShape) -> (u64, Gap) {
    let idle = Slots {
        idle_columns: (a.tiles * a.rows * a.lanes) as u64,
        ..Slots::default()
    };
    let mut gap = Gap::default();
    let mut cols = Columns::new(a);
    let ws = scheme.weight_schedule;
    match layer.geom {
        Geometry::Conv(cv) => {
            let (cg, fg) = (cv.c / cv.groups, cv.f / cv.groups);
            let windows = cv.oy() * cv.ox();
            let t_n = cv.kh * cv.kw * cg.div_ceil(a.lanes);
            let sets = windows.div_ceil(a.columns);
            let fsets = fg.div_ceil(a.rows);
            let passes = fsets.div_ceil(a.tiles);
            let buffers = ws.map(|ws| conv_buffers(&cv, &layer.weights, &ws, a));
            for g in 0..cv.groups {
                for s in 0..sets {
                    for p in 0..passes {
                        // Per unit, the PE of (tile, row) in the column of window n.
                        let units: usize = match &buffers {
                            Some(b) => (0..a.tiles)
                                .filter_map(|i| b[g].get(p * a.tiles + i))
                                .map(|b| b.kept.len())
                                .max()
                                .unwrap_or(0),
                            None if scheme.sync == SyncMode::Window => 1,
                            None => t_n,
                        };
                        for u in 0..units {
                            let mut cost = vec![0u32; a.columns];
                            let mut now = vec![idle; a.columns];
                            for c in 0..a.columns {
                                let n = s * a.columns + c;
                                if n >= windows {
                                    continue;
                                }
                                let mut pes = vec![];
                                for tile in 0..a.tiles {
                                    for r in 0..a.rows {
                                        let j = p * a.tiles + tile;
                                        let f = j * a.rows + r;
                                        let at =
                                            |t: usize, l: usize| conv_pair(&cv, a, (g, f, n), t, l);
                                        pes.push(if j >= fsets || f >= fg {
                                            Pe::Idle
                                        } else {
                                            unit_pe(
                                                &buffers.as_ref().map(|b| &b[g][j]),
                                                scheme,
                                                t_n,
                                                u,
                                                r,
                                                a.lanes,
                                                at,
                                            )
                                        });
                                    }
                                }
                                (cost[c], now[c]) =
                                    column_share(layer, acts, scheme, &pes, a.lanes, &mut gap);
                            }
                            cols.unit(&mut gap, &cost, &now);
                        }
                    }
                }
            }
        }
        Geometry::Fc { c, f } => {
            let t_n = c.div_ceil(a.lanes);
            let fsets = f.div_ceil(a.rows);
            let passes = fsets.div_ceil(a.tiles);
            let fc_scheme = Scheme {
                sync: SyncMode::Step,
                ..scheme.clone()
            };
            let buffers = ws.map(|ws| fc_buffers(c, f, &layer.weights, &ws, a));
            for p in 0..passes {
                let units = match &buffers {
                    Some(b) => (0..a.tiles)
                        .filter_map(|i| b.get(p * a.tiles + i))
                        .map(|b| b.kept.len())
                        .max()
                        .unwrap_or(0),
                    None => t_n,
                };
                for u in 0..units {
                    let mut pes = vec![];
                    for tile in 0..a.tiles {
                        for r in 0..a.rows {
                            let j = p * a.tiles + tile;
                            let fi = j * a.rows + r;
                            let at = |t: usize, l: usize| fc_pair(c, a, fi, t, l);
                            pes.push(if j >= fsets || fi >= f {
                                Pe::Idle
                            } else {
                                unit_pe(
                                    &buffers.as_ref().map(|b| &b[j]),
                                    &fc_scheme,
                                    t_n,
                                    u,
                                    r,
                                    a.lanes,
                                    at,
                                )
                            });
                        }
                    }
                    let (cost, now) =
                        column_share(layer, acts, &fc_scheme, &pes, a.lanes, &mut gap);
                    cols.issue(&mut gap, cost, now);
                }
            }
        }
    }
    (cols.end(&mut gap), gap)
}

/// The PE of row r holding a filter in unit u: without a schedule the unit's steps
/// (every step with window sync, step u otherwise), each lane at its own pair `at(t,
/// l)`; with the buffer set `buffer`, call u: its u-th kept step t, each slot paired
/// with its origin (None when empty), or [`Pe::Done`] past its last kept step.
fn unit_pe(
    buffer: &Option<&Buffer>,
    scheme: &Scheme,
    t_n: usize,
    u: usize,
    r: usize,
    lanes: usize,
    at: impl Fn(usize, usize) -> (Option<usize>, Option<usize>),
) -> Pe {
    let step = |t: usize| (0..lanes).map(|l| Some(at(t, l))).collect::<Vec<_>>();
    match buffer {
        None if scheme.sync == SyncMode::Window => Pe::Work((0..t_n).map(step).collect()),
        None => Pe::Work(vec![step(u)]),
        Some(b) => match b.kept.get(u) {
            None => Pe::Done,
            Some(&t) => Pe::Work(vec![(0..lanes)
                .map(|l| b.pair_origin(t, r, l).map(|(o, lo)| at(o, lo)))
                .collect()]),
        },
    }
}
