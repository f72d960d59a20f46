//! The conv loop nest (cycle-model.md, "The loop nest (conv)"): groups one after the
//! other, then window sets, passes and steps, each sync unit's per-column costs fed to
//! the column timing.

use super::columns::Columns;
use super::operand::{act_layout, weight_layout, Bricks, Rule};
use super::{first_stage, step, window, Family, Operands};
use crate::arch::ArrayShape;
use crate::model::Conv;

/// Cycles of a conv layer.
pub fn cycles(
    conv: &Conv,
    ops: &Operands,
    family: Family,
    array: &ArrayShape,
    min_cycles: u32,
) -> u64 {
    let b = Bricks::conv(conv, array.lanes);
    let fg = conv.fg();
    let mut cols = Columns::new(array.columns, array.column_registers);
    for g in 0..conv.groups {
        let grp = Group::new(&b, g, g * fg, fg, ops, array);
        match family {
            Family::Step => grp.run_step(&mut cols, min_cycles),
            Family::Window => grp.run_window(&mut cols, min_cycles),
            Family::FirstStage { serial, bits } => {
                grp.run_first_stage(&mut cols, min_cycles, serial, bits)
            }
        }
    }
    cols.cycles()
}

/// One group's operands laid out as bricks, with the array it runs on.
pub(super) struct Group<'a> {
    pub b: Bricks,
    pub fg: usize,
    pub ops: &'a Operands,
    pub array: &'a ArrayShape,
    /// Activation cycle factors, channel-last, brick-padded.
    pub a_cf: Vec<u8>,
    /// Weight cycle factors `[f][t][lane]`.
    pub w_cf: Vec<u8>,
    /// Group index and first filter.
    pub g: usize,
    pub f0: usize,
}

impl<'a> Group<'a> {
    pub fn new(
        b: &Bricks,
        g: usize,
        f0: usize,
        fg: usize,
        ops: &'a Operands,
        array: &'a ArrayShape,
    ) -> Group<'a> {
        let (ra, rw) = (ops.act_rule, ops.weight_rule);
        let a_lut = lut(&ra);
        let w_lut = lut(&rw);
        let a_cf = act_layout(b, g, a_lut[0], |i| a_lut[ops.act_terms[i] as usize]);
        let w_cf = weight_layout(b, f0, fg, w_lut[0], |i| w_lut[ops.weight_terms[i] as usize]);
        Group {
            b: *b,
            fg,
            ops,
            array,
            a_cf,
            w_cf,
            g,
            f0,
        }
    }

    fn window_sets(&self) -> usize {
        self.b.windows().div_ceil(self.array.columns)
    }

    fn per_pass(&self) -> usize {
        self.array.tiles * self.array.rows
    }

    fn passes(&self) -> usize {
        self.fg.div_ceil(self.array.rows).div_ceil(self.array.tiles)
    }

    /// Filters (within the group) of pass p.
    fn pass_filters(&self, p: usize) -> (usize, usize) {
        let tr = self.per_pass();
        (p * tr, ((p + 1) * tr).min(self.fg))
    }

    /// Window held by column c in window set s, if any.
    fn window_of(&self, s: usize, c: usize) -> Option<usize> {
        let n = s * self.array.columns + c;
        (n < self.b.windows()).then_some(n)
    }

    fn pad_brick(&self) -> Vec<u8> {
        vec![self.a_cf_pad(); self.b.lanes]
    }

    fn a_cf_pad(&self) -> u8 {
        self.ops.act_rule.cycle(0) as u8
    }

    fn run_step(&self, cols: &mut Columns, min_cycles: u32) {
        let (steps, lanes) = (self.b.steps, self.b.lanes);
        let wmax: Vec<Vec<u8>> = (0..self.passes())
            .map(|p| {
                let (f0, f1) = self.pass_filters(p);
                step::pass_max(&self.w_cf, steps, lanes, f0, f1)
            })
            .collect();
        let pad = self.pad_brick();
        let mut cost = vec![0u32; self.array.columns];
        for s in 0..self.window_sets() {
            for wm in &wmax {
                for t in 0..steps {
                    let w = &wm[t * lanes..(t + 1) * lanes];
                    for (c, slot) in cost.iter_mut().enumerate() {
                        *slot = match self.window_of(s, c) {
                            None => 0,
                            Some(n) => {
                                let a = match self.b.act_offset(n, t) {
                                    Some(off) => &self.a_cf[off..off + lanes],
                                    None => &pad[..],
                                };
                                step::brick_cost(a, w).max(min_cycles)
                            }
                        };
                    }
                    cols.unit(&cost);
                }
            }
        }
    }

    fn run_window(&self, cols: &mut Columns, min_cycles: u32) {
        let (steps, lanes) = (self.b.steps, self.b.lanes);
        let (ra, rw) = (self.ops.act_rule, self.ops.weight_rule);
        let passes = self.passes();
        let columns = self.array.columns;
        let a_pad = self.a_cf_pad();
        let act_at = |n: usize| move |t: usize| self.b.act_offset(n, t);
        let mut cost = vec![0u32; columns];
        if let Some(kw) = rw.constant_cycle() {
            // Constant weights: a column's cost is the same for every filter.
            for s in 0..self.window_sets() {
                let per_col: Vec<u32> = (0..columns)
                    .map(|c| match self.window_of(s, c) {
                        None => 0,
                        Some(n) => {
                            let sums =
                                window::lane_sums(steps, lanes, act_at(n), &self.a_cf, a_pad);
                            (kw * sums.into_iter().max().unwrap_or(0)).max(min_cycles)
                        }
                    })
                    .collect();
                cols.repeat(&per_col, passes);
            }
        } else if let Some(ka) = ra.constant_cycle() {
            // Constant activations: a pass costs the same on every column with a window.
            let per_pass: Vec<u32> = (0..passes)
                .map(|p| {
                    let (f0, f1) = self.pass_filters(p);
                    let m = (f0..f1)
                        .map(|f| {
                            let off = f * steps * lanes;
                            window::lane_sums(
                                steps,
                                lanes,
                                |t| Some(off + t * lanes),
                                &self.w_cf,
                                0,
                            )
                            .into_iter()
                            .max()
                            .unwrap_or(0)
                        })
                        .max()
                        .unwrap_or(0);
                    (ka * m).max(min_cycles)
                })
                .collect();
            for s in 0..self.window_sets() {
                for &pc in &per_pass {
                    for (c, slot) in cost.iter_mut().enumerate() {
                        *slot = if self.window_of(s, c).is_some() {
                            pc
                        } else {
                            0
                        };
                    }
                    cols.unit(&cost);
                }
            }
        } else if let (Some(kw), Some(ka)) = (rw.zero_or(), ra.zero_or()) {
            // Word skipping on both sides: AND of per-lane step masks.
            let words = steps.div_ceil(64);
            let w_masks: Vec<Vec<u64>> = (0..self.fg)
                .map(|f| {
                    let off = f * steps * lanes;
                    window::step_masks(steps, lanes, |t| Some(off + t * lanes), &self.w_cf, 0)
                })
                .collect();
            for s in 0..self.window_sets() {
                let a_masks: Vec<Option<Vec<u64>>> = (0..columns)
                    .map(|c| {
                        self.window_of(s, c)
                            .map(|n| window::step_masks(steps, lanes, act_at(n), &self.a_cf, a_pad))
                    })
                    .collect();
                for p in 0..passes {
                    let (f0, f1) = self.pass_filters(p);
                    for (c, slot) in cost.iter_mut().enumerate() {
                        *slot = match &a_masks[c] {
                            None => 0,
                            Some(am) => {
                                let m = (f0..f1)
                                    .map(|f| window::max_and_count(am, &w_masks[f], words))
                                    .max();
                                (kw * ka * m.unwrap_or(0)).max(min_cycles)
                            }
                        };
                    }
                    cols.unit(&cost);
                }
            }
        } else {
            // General: direct sums over steps.
            let pad = self.pad_brick();
            for s in 0..self.window_sets() {
                for p in 0..passes {
                    let (f0, f1) = self.pass_filters(p);
                    for (c, slot) in cost.iter_mut().enumerate() {
                        *slot = match self.window_of(s, c) {
                            None => 0,
                            Some(n) => {
                                let mut best = 0;
                                for f in f0..f1 {
                                    let mut sums = vec![0u32; lanes];
                                    for t in 0..steps {
                                        let a = match self.b.act_offset(n, t) {
                                            Some(off) => &self.a_cf[off..off + lanes],
                                            None => &pad[..],
                                        };
                                        let w = &self.w_cf
                                            [(f * steps + t) * lanes..(f * steps + t + 1) * lanes];
                                        for l in 0..lanes {
                                            sums[l] += a[l] as u32 * w[l] as u32;
                                        }
                                    }
                                    best = best.max(sums.into_iter().max().unwrap_or(0));
                                }
                                best.max(min_cycles)
                            }
                        };
                    }
                    cols.unit(&cost);
                }
            }
        }
    }

    fn run_first_stage(
        &self,
        cols: &mut Columns,
        min_cycles: u32,
        serial: crate::scheme::Operand,
        bits: u32,
    ) {
        let (steps, lanes) = (self.b.steps, self.b.lanes);
        let fs = first_stage::Stage::new(self, serial, bits);
        let mut cost = vec![0u32; self.array.columns];
        for s in 0..self.window_sets() {
            for p in 0..self.passes() {
                let (f0, f1) = self.pass_filters(p);
                for t in 0..steps {
                    for (c, slot) in cost.iter_mut().enumerate() {
                        *slot = match self.window_of(s, c) {
                            None => 0,
                            Some(n) => fs
                                .pe_max(self.b.act_offset(n, t), t, f0, f1, lanes)
                                .max(min_cycles),
                        };
                    }
                    cols.unit(&cost);
                }
            }
        }
    }
}

/// Cycle factor of every possible term count.
pub(super) fn lut(r: &Rule) -> [u8; 256] {
    let mut t = [0u8; 256];
    for (i, v) in t.iter_mut().enumerate() {
        *v = r.cycle(i as u8).min(255) as u8;
    }
    t
}
