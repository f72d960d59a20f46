//! The slow, literal reading of the cycle model, used by tests as the independent
//! reference for the fast engine. Every loop of the spec is a loop here: groups, window
//! sets, passes, steps, columns, tiles, rows, lanes; every MAC for the potentials. It
//! shares nothing with the engine but the tensors and the term encodings.

use crate::arch::ArrayShape;
use crate::encoding::Encoding;
use crate::model::{Geometry, Layer};
use crate::scheme::{Operand, Scheme, Skip, SyncMode};
use crate::sim::gap::Gap;
use crate::sim::LayerRun;
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
                let kx = t / (cv.kh * chunks);
                let ky = (t / chunks) % cv.kh;
                let k = t % chunks;
                let (oy, ox) = (n % oy_n, n / oy_n);
                let iy = (oy * cv.sh + ky) as i64 - cv.ph as i64;
                let ix = (ox * cv.sw + kx) as i64 - cv.pw as i64;
                (0..a.lanes)
                    .map(|l| {
                        let ch = k * a.lanes + l;
                        if ch >= cg {
                            return (None, None);
                        }
                        let wi = (((g * fg + f) * cg + ch) * cv.kh + ky) * cv.kw + kx;
                        let inside =
                            iy >= 0 && ix >= 0 && (iy as usize) < cv.h && (ix as usize) < cv.w;
                        let ai = inside
                            .then(|| ((g * cg + ch) * cv.h + iy as usize) * cv.w + ix as usize);
                        (Some(wi), ai)
                    })
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
                            let lanes: Lanes = (0..a.lanes)
                                .map(|l| {
                                    let ch = t * a.lanes + l;
                                    if ch < c {
                                        (Some(fi * c + ch), Some(ch))
                                    } else {
                                        (None, None)
                                    }
                                })
                                .collect();
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
    }
}

/// How the time a column waits after a unit is shared out: lane slots (tile, row,
/// lane) of the column per cause, summing to tiles·rows·lanes.
#[derive(Clone, Copy, Debug)]
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

/// One column's share of a unit, literally: every (tile, row, lane) of the column, its
/// work segment (the column's cost) split into the parts, and how its wait afterwards
/// is shared. `pes[tile·rows + row]` holds the PE's steps (each a list of lanes) when
/// the PE has a filter (the column has a window).
fn column_share(
    layer: &Layer,
    acts: &Tensor,
    scheme: &Scheme,
    pes: &[Option<Vec<Lanes>>],
    lanes: usize,
    gap: &mut Gap,
) -> (u32, Slots) {
    let cost = pes
        .iter()
        .flatten()
        .map(|steps| pe_cost(layer, acts, scheme, steps))
        .max()
        .unwrap_or(0);
    let mut slots = Slots {
        idle_columns: 0,
        idle_rows: 0,
        padding: 0,
        column_wait: 0,
    };
    for pe in pes {
        let Some(steps) = pe else {
            gap.idle_rows += cost as u64 * lanes as u64;
            slots.idle_rows += lanes as u64;
            continue;
        };
        let raw = pe_raw(layer, acts, scheme, steps);
        let pe = raw.max(scheme.min_cycles);
        for l in 0..lanes {
            // A lane that holds a channel at some step of the unit.
            if !steps.iter().any(|s| s[l].0.is_some()) {
                gap.channel_padding += cost as u64;
                slots.padding += 1;
                continue;
            }
            let (mut own, mut pad) = (0u64, 0u64);
            for s in steps {
                let c = pair(layer, acts, scheme, s[l]) as u64;
                if s[l].0.is_some() {
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

/// Where the lane-cycles of one layer under one scheme went, slowly and literally (see
/// [`crate::sim::gap`] for the definitions), with the layer's cycles.
pub fn gap(layer: &Layer, acts: &Tensor, scheme: &Scheme, a: &ArrayShape) -> (u64, Gap) {
    let slots_all = (a.tiles * a.rows * a.lanes) as u64;
    let idle = Slots {
        idle_columns: slots_all,
        idle_rows: 0,
        padding: 0,
        column_wait: 0,
    };
    let mut gap = Gap::default();
    let mut free = vec![0u64; a.columns];
    // What each column did last (None: nothing yet).
    let mut last: Vec<Option<Slots>> = vec![None; a.columns];
    match layer.geom {
        Geometry::Conv(cv) => {
            let (cg, fg) = (cv.c / cv.groups, cv.f / cv.groups);
            let windows = cv.oy() * cv.ox();
            let chunks = cg.div_ceil(a.lanes);
            let t_n = cv.kh * cv.kw * chunks;
            let sets = windows.div_ceil(a.columns);
            let fsets = fg.div_ceil(a.rows);
            let passes = fsets.div_ceil(a.tiles);
            let mut finish: Vec<u64> = vec![];
            for g in 0..cv.groups {
                for s in 0..sets {
                    for p in 0..passes {
                        let units: Vec<Vec<usize>> = if scheme.sync == SyncMode::Window {
                            vec![(0..t_n).collect()]
                        } else {
                            (0..t_n).map(|t| vec![t]).collect()
                        };
                        for steps in units {
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
                                        let set = p * a.tiles + tile;
                                        let f = set * a.rows + r;
                                        pes.push((set < fsets && f < fg).then(|| {
                                            steps
                                                .iter()
                                                .map(|&t| conv_lanes(&cv, a, g, f, n, t))
                                                .collect::<Vec<Lanes>>()
                                        }));
                                    }
                                }
                                (cost[c], now[c]) =
                                    column_share(layer, acts, scheme, &pes, a.lanes, &mut gap);
                            }
                            // The column timing, R = 0 included: a column starts unit u
                            // once every column finished unit u − 1 − R.
                            let u = finish.len();
                            let ready = if u > a.column_registers {
                                finish[u - 1 - a.column_registers]
                            } else {
                                0
                            };
                            for c in 0..a.columns {
                                let start = free[c].max(ready);
                                wait(&mut gap, last[c], start - free[c], slots_all);
                                free[c] = start + cost[c] as u64;
                                last[c] = Some(now[c]);
                            }
                            finish.push(*free.iter().max().unwrap());
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
            let mut issue = 0u64;
            let mut i = 0;
            for p in 0..passes {
                for t in 0..t_n {
                    let mut pes = vec![];
                    for tile in 0..a.tiles {
                        for r in 0..a.rows {
                            let set = p * a.tiles + tile;
                            let fi = set * a.rows + r;
                            pes.push((set < fsets && fi < f).then(|| {
                                let lanes: Lanes = (0..a.lanes)
                                    .map(|l| {
                                        let ch = t * a.lanes + l;
                                        if ch < c {
                                            (Some(fi * c + ch), Some(ch))
                                        } else {
                                            (None, None)
                                        }
                                    })
                                    .collect();
                                vec![lanes]
                            }));
                        }
                    }
                    let (cost, now) =
                        column_share(layer, acts, &fc_scheme, &pes, a.lanes, &mut gap);
                    let col = i % a.columns;
                    let start = issue.max(free[col]);
                    wait(&mut gap, last[col], start - free[col], slots_all);
                    free[col] = start + cost as u64;
                    last[col] = Some(now);
                    issue = start + 1;
                    i += 1;
                }
            }
        }
    }
    let cycles = free.iter().copied().max().unwrap_or(0);
    for c in 0..a.columns {
        // After its last unit a column waits for the layer's end; a column that never
        // had a unit idles throughout.
        last[c].unwrap_or(idle).add(&mut gap, cycles - free[c]);
    }
    (cycles, gap)
}

/// A column's wait before a unit, shared out as what it did last; before its first
/// unit (FC issue) a wait for the other columns.
fn wait(gap: &mut Gap, last: Option<Slots>, cycles: u64, slots_all: u64) {
    match last {
        Some(s) => s.add(gap, cycles),
        None => gap.column_wait += slots_all * cycles,
    }
}

/// Lanes of PE (filter f of group g, window n) at step t of a conv layer.
fn conv_lanes(
    cv: &crate::model::Conv,
    a: &ArrayShape,
    g: usize,
    f: usize,
    n: usize,
    t: usize,
) -> Lanes {
    let (cg, fg) = (cv.c / cv.groups, cv.f / cv.groups);
    let chunks = cg.div_ceil(a.lanes);
    let oy_n = cv.oy();
    let kx = t / (cv.kh * chunks);
    let ky = (t / chunks) % cv.kh;
    let k = t % chunks;
    let (oy, ox) = (n % oy_n, n / oy_n);
    let iy = (oy * cv.sh + ky) as i64 - cv.ph as i64;
    let ix = (ox * cv.sw + kx) as i64 - cv.pw as i64;
    (0..a.lanes)
        .map(|l| {
            let ch = k * a.lanes + l;
            if ch >= cg {
                return (None, None);
            }
            let wi = (((g * fg + f) * cg + ch) * cv.kh + ky) * cv.kw + kx;
            let inside = iy >= 0 && ix >= 0 && (iy as usize) < cv.h && (ix as usize) < cv.w;
            let ai = inside.then(|| ((g * cg + ch) * cv.h + iy as usize) * cv.w + ix as usize);
            (Some(wi), ai)
        })
        .collect()
}
