//! Reports: a [`Run`] turned into rows once — speedups and potentials are computed
//! here and nowhere else — then written by one exporter per format (`table`, `csv`,
//! `json`).

pub mod csv;
pub mod json;
pub mod table;

use crate::run::Run;

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

/// All rows of a run: per layer in file order, each scheme in arch order; then one
/// `total` row per scheme (sums of integers; ratios of the sums, never averages).
pub fn rows(run: &Run) -> Vec<Row> {
    let sample = run.acts.sample();
    let mut out = Vec::with_capacity((run.layers.len() + 1) * run.schemes.len());
    let row =
        |layer: &str, s: usize, macs, cycles, work, busy, lanes, base_cycles, base_work| Row {
            network: run.network.clone(),
            layer: layer.to_string(),
            scheme: run.schemes[s].clone(),
            macs,
            cycles,
            speedup: ratio(base_cycles, cycles),
            work,
            potential_speedup: ratio(base_work, work),
            utilization: if lanes == 0 {
                0.0
            } else {
                busy as f64 / lanes as f64
            },
            busy_lane_cycles: busy,
            lane_cycles: lanes,
            time_us: cycles as f64 / (run.clock_ghz * 1e3),
            sample,
        };
    for (info, runs) in run.layers.iter().zip(&run.runs) {
        let base = &runs[run.baseline];
        for (s, r) in runs.iter().enumerate() {
            out.push(row(
                &info.name,
                s,
                r.macs,
                r.cycles,
                r.work,
                r.busy_lane_cycles,
                r.lane_cycles,
                base.cycles,
                base.work,
            ));
        }
    }
    let sum = |s: usize, f: fn(&crate::sim::LayerRun) -> u64| {
        run.runs.iter().map(|l| f(&l[s])).sum::<u64>()
    };
    for s in 0..run.schemes.len() {
        out.push(row(
            "total",
            s,
            sum(s, |r| r.macs),
            sum(s, |r| r.cycles),
            sum(s, |r| r.work),
            sum(s, |r| r.busy_lane_cycles),
            sum(s, |r| r.lane_cycles),
            sum(run.baseline, |r| r.cycles),
            sum(run.baseline, |r| r.work),
        ));
    }
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
