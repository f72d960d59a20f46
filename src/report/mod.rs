//! Reports: a [`Run`] turned into rows once — speedups and potentials are computed
//! here and nowhere else — then written by one exporter per format (`table`, `csv`,
//! `json`).

pub mod csv;
pub mod json;
pub mod table;

use crate::run::Run;
use crate::sim::LayerRun;

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
}

/// A ratio of integers as a float; x/0 is +∞ (0/0 is 1: nothing to do either way).
pub fn ratio(num: u64, den: u64) -> f64 {
    match (num, den) {
        (0, 0) => 1.0,
        (_, 0) => f64::INFINITY,
        _ => num as f64 / den as f64,
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
        }
    }

    /// One row from integer counters and the baseline's cycles and work.
    fn row(&self, layer: &str, s: usize, r: &LayerRun, base: &LayerRun) -> Row {
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
        }
    }

    /// The rows of one layer, one per scheme in arch order (`runs[scheme]`).
    pub fn layer_rows(&self, layer: &str, runs: &[LayerRun]) -> Vec<Row> {
        let base = &runs[self.baseline];
        runs.iter()
            .enumerate()
            .map(|(s, r)| self.row(layer, s, r, base))
            .collect()
    }

    /// The `total` rows, one per scheme: sums of integers (saturating: never a panic on
    /// absurd sizes), ratios of the sums, never averages. `runs[layer][scheme]`.
    pub fn total_rows(&self, runs: &[Vec<LayerRun>]) -> Vec<Row> {
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
        };
        let base = total(self.baseline);
        (0..self.schemes.len())
            .map(|s| self.row("total", s, &total(s), &base))
            .collect()
    }
}

/// All rows of a run: per layer in file order, each scheme in arch order; then one
/// `total` row per scheme (sums of integers; ratios of the sums, never averages).
pub fn rows(run: &Run) -> Vec<Row> {
    let cx = RowCtx::of(run);
    let mut out = Vec::with_capacity((run.layers.len() + 1) * run.schemes.len());
    for (info, runs) in run.layers.iter().zip(&run.runs) {
        out.extend(cx.layer_rows(&info.name, runs));
    }
    out.extend(cx.total_rows(&run.runs));
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
