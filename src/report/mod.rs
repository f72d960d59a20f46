//! Reports: a [`Run`] turned into rows once — speedups and potentials are computed
//! here and nowhere else — then written by one exporter per format (`table`, `csv`,
//! `json`).

pub mod columns;
pub mod csv;
pub mod json;
pub mod provenance;
pub mod table;

use crate::cost::{Bound, LayerCost};
use crate::run::Run;
use crate::sim::{LayerRun, ScheduleCounts};

/// One (layer, scheme) or (total, scheme) line of a report.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Row {
    /// Network name.
    pub network: String,
    /// Layer name, or `total`.
    pub layer: String,
    /// Scheme name.
    pub scheme: String,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Cycles on the array.
    pub cycles: u64,
    /// Baseline cycles / cycles.
    pub speedup: f64,
    /// Work (potentials).
    pub work: u64,
    /// Baseline work / work.
    pub potential_speedup: f64,
    /// Busy lane-cycles / all lane-cycles.
    pub utilization: f64,
    /// Σ over MACs of the pair cost.
    pub busy_lane_cycles: u64,
    /// cycles × lanes of the array.
    pub lane_cycles: u64,
    /// cycles at the arch's clock, in microseconds.
    pub time_us: f64,
    /// Sample simulated.
    pub sample: u32,
    /// What the weight schedule did (kept steps, steps, promotions), for a scheme with
    /// one (totals: sums over layers).
    pub schedule: Option<ScheduleCounts>,
    /// max(cycles, memory_cycles): transfers and compute overlap fully.
    pub total_cycles: u64,
    /// Cycles the DRAM traffic takes at the arch's bandwidth and clock.
    pub memory_cycles: u64,
    /// `compute` when cycles ≥ memory_cycles, else `memory` (totals: of the sums).
    pub bound: Bound,
    /// Weight footprint in the scheme's format (bits).
    pub weight_bits: u64,
    /// Activation footprint in the scheme's format (bits).
    pub act_bits: u64,
    /// DRAM traffic (bits).
    pub dram_bits: u64,
    /// On-chip buffer reads (bits).
    pub sram_bits: u64,
    /// Energy (pJ): the sum of the four parts below.
    pub energy_pj: f64,
    /// Lanes' energy (pJ).
    pub energy_compute_pj: f64,
    /// Buffer reads' energy (pJ).
    pub energy_sram_pj: f64,
    /// DRAM traffic's energy (pJ).
    pub energy_dram_pj: f64,
    /// Leakage (pJ).
    pub energy_static_pj: f64,
    /// Area of the scheme's hardware (mm²).
    pub area_mm2: f64,
    /// Baseline total_cycles / total_cycles.
    pub speedup_total: f64,
    /// Baseline energy / energy.
    pub energy_ratio: f64,
    /// (Baseline total_cycles · baseline area) / (total_cycles · area).
    pub perf_per_area: f64,
    /// `lane_cycles` by cause (`simulate --gap`); the parts add up to `lane_cycles`.
    pub gap: Option<crate::sim::gap::Gap>,
}

/// A ratio of integers as a float; x/0 is +∞ (0/0 is 1: nothing to do either way).
pub fn ratio(num: u64, den: u64) -> f64 {
    match (num, den) {
        (0, 0) => 1.0,
        (_, 0) => f64::INFINITY,
        _ => num as f64 / den as f64,
    }
}

/// [`ratio`] of two nonnegative floats.
pub fn ratio_f(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        if num == 0.0 {
            1.0
        } else {
            f64::INFINITY
        }
    } else {
        num / den
    }
}

/// What every row of one run shares: enough to turn one layer's results into rows as
/// soon as they are known (`simulate --csv-stream`), before the whole [`Run`] exists.
#[derive(Clone, Copy, Debug)]
pub struct RowCtx<'a> {
    /// Network name.
    pub network: &'a str,
    /// Scheme names, in the arch's order.
    pub schemes: &'a [String],
    /// Index of the baseline scheme.
    pub baseline: usize,
    /// Clock (GHz), for times.
    pub clock_ghz: f64,
    /// Sample simulated.
    pub sample: u32,
    /// Per scheme, the area of its hardware (mm²).
    pub areas: &'a [f64],
}

impl<'a> RowCtx<'a> {
    /// The context of a finished run.
    pub fn of(run: &'a Run) -> RowCtx<'a> {
        RowCtx {
            network: &run.network,
            schemes: &run.schemes,
            baseline: run.baseline,
            clock_ghz: run.clock_ghz,
            sample: run.acts.sample(),
            areas: &run.areas,
        }
    }

    /// One row from integer counters and costs, and the baseline's.
    fn row(
        &self,
        layer: &str,
        s: usize,
        (r, c): (&LayerRun, &LayerCost),
        (base, bc): (&LayerRun, &LayerCost),
    ) -> Row {
        let (area, base_area) = (self.areas[s], self.areas[self.baseline]);
        Row {
            network: self.network.to_string(),
            layer: layer.to_string(),
            scheme: self.schemes[s].clone(),
            macs: r.macs,
            cycles: r.cycles,
            speedup: ratio(base.cycles, r.cycles),
            work: r.work,
            potential_speedup: ratio(base.work, r.work),
            utilization: if r.lane_cycles == 0 {
                0.0
            } else {
                r.busy_lane_cycles as f64 / r.lane_cycles as f64
            },
            busy_lane_cycles: r.busy_lane_cycles,
            lane_cycles: r.lane_cycles,
            time_us: r.cycles as f64 / (self.clock_ghz * 1e3),
            sample: self.sample,
            schedule: r.schedule,
            total_cycles: c.total_cycles,
            memory_cycles: c.memory_cycles,
            bound: Bound::of(r.cycles, c.memory_cycles),
            weight_bits: c.weight_bits,
            act_bits: c.act_bits,
            dram_bits: c.dram_bits,
            sram_bits: c.sram_bits(),
            energy_pj: c.energy.total(),
            energy_compute_pj: c.energy.compute,
            energy_sram_pj: c.energy.sram,
            energy_dram_pj: c.energy.dram,
            energy_static_pj: c.energy.static_,
            area_mm2: area,
            speedup_total: ratio(bc.total_cycles, c.total_cycles),
            energy_ratio: ratio_f(bc.energy.total(), c.energy.total()),
            perf_per_area: ratio_f(
                bc.total_cycles as f64 * base_area,
                c.total_cycles as f64 * area,
            ),
            gap: r.gap,
        }
    }

    /// The rows of one layer, one per scheme in arch order (`runs[scheme]`,
    /// `costs[scheme]`).
    pub fn layer_rows(&self, layer: &str, runs: &[LayerRun], costs: &[LayerCost]) -> Vec<Row> {
        let b = self.baseline;
        runs.iter()
            .zip(costs)
            .enumerate()
            .map(|(s, r)| self.row(layer, s, r, (&runs[b], &costs[b])))
            .collect()
    }

    /// The `total` rows, one per scheme: sums of integers (saturating: never a panic on
    /// absurd sizes) and of energies in layer order, ratios of the sums, never averages.
    /// `runs[layer][scheme]`, `costs[layer][scheme]`.
    pub fn total_rows(&self, runs: &[Vec<LayerRun>], costs: &[Vec<LayerCost>]) -> Vec<Row> {
        let sum = |s: usize, f: fn(&LayerRun) -> u64| {
            runs.iter()
                .map(|l| f(&l[s]))
                .fold(0u64, u64::saturating_add)
        };
        let total = |s: usize| LayerRun {
            macs: sum(s, |r| r.macs),
            cycles: sum(s, |r| r.cycles),
            work: sum(s, |r| r.work),
            busy_lane_cycles: sum(s, |r| r.busy_lane_cycles),
            lane_cycles: sum(s, |r| r.lane_cycles),
            gap: runs
                .iter()
                .map(|l| l[s].gap)
                .try_fold(crate::sim::gap::Gap::default(), |acc, g| Some(acc.add(&g?))),
            schedule: runs
                .iter()
                .filter_map(|l| l[s].schedule)
                .reduce(|a, b| a.add(&b)),
        };
        let cost = |s: usize| {
            costs
                .iter()
                .fold(LayerCost::default(), |acc, l| acc.add(&l[s]))
        };
        let base = (total(self.baseline), cost(self.baseline));
        (0..self.schemes.len())
            .map(|s| self.row("total", s, (&total(s), &cost(s)), (&base.0, &base.1)))
            .collect()
    }
}

/// All rows of a run: per layer in file order, each scheme in arch order; then one
/// `total` row per scheme (sums of integers; ratios of the sums, never averages).
pub fn rows(run: &Run) -> Vec<Row> {
    let cx = RowCtx::of(run);
    let mut out = Vec::with_capacity((run.layers.len() + 1) * run.schemes.len());
    for ((info, runs), costs) in run.layers.iter().zip(&run.runs).zip(&run.costs) {
        out.extend(cx.layer_rows(&info.name, runs, costs));
    }
    out.extend(cx.total_rows(&run.runs, &run.costs));
    out
}

/// A ratio for humans and CSV: six decimals, `inf` for a division by zero.
pub fn fmt_ratio(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.6}")
    } else {
        "inf".to_string()
    }
}
