//! The CSV exporter (docs/cli.md): one row per (layer, scheme) in file order, then one
//! `total` row per scheme. The first eight columns are the contract; the project's
//! counters follow, then the weight schedule's (`kept_steps`, `promoted`: empty for a
//! scheme without one), then the cost model's columns (floats in shortest round-trip
//! form).

use std::io::Write;

use super::{fmt_ratio, Row};

/// The header, contract columns first, then the project's, then the weight schedule's,
/// then the cost model's.
pub const HEADER: [&str; 31] = [
    "network",
    "layer",
    "scheme",
    "macs",
    "cycles",
    "speedup",
    "work",
    "potential_speedup",
    "utilization",
    "busy_lane_cycles",
    "lane_cycles",
    "time_us",
    "sample",
    "kept_steps",
    "promoted",
    "total_cycles",
    "memory_cycles",
    "bound",
    "weight_bits",
    "act_bits",
    "dram_bits",
    "sram_bits",
    "energy_pj",
    "energy_compute_pj",
    "energy_sram_pj",
    "energy_dram_pj",
    "energy_static_pj",
    "area_mm2",
    "speedup_total",
    "energy_ratio",
    "perf_per_area",
];

/// Write rows as CSV (header included when `header`).
pub fn write(w: &mut dyn Write, rows: &[Row], header: bool) -> std::io::Result<()> {
    let mut out = ::csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(w);
    if header {
        out.write_record(HEADER)?;
    }
    for r in rows {
        out.write_record(record(r))?;
    }
    out.flush()
}

/// A float of the cost model as CSV: the shortest form that reads back as the same f64
/// (`inf` for a division by zero).
pub fn fmt_float(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "inf".to_string()
    }
}

/// One row as CSV fields.
pub fn record(r: &Row) -> [String; 31] {
    let sched = |f: fn(&crate::sim::ScheduleCounts) -> u64| {
        r.schedule
            .as_ref()
            .map_or(String::new(), |s| f(s).to_string())
    };
    [
        r.network.clone(),
        r.layer.clone(),
        r.scheme.clone(),
        r.macs.to_string(),
        r.cycles.to_string(),
        fmt_ratio(r.speedup),
        r.work.to_string(),
        fmt_ratio(r.potential_speedup),
        format!("{:.6}", r.utilization),
        r.busy_lane_cycles.to_string(),
        r.lane_cycles.to_string(),
        format!("{:.3}", r.time_us),
        r.sample.to_string(),
        sched(|s| s.kept_steps),
        sched(|s| s.promoted),
        r.total_cycles.to_string(),
        r.memory_cycles.to_string(),
        r.bound.as_str().to_string(),
        r.weight_bits.to_string(),
        r.act_bits.to_string(),
        r.dram_bits.to_string(),
        r.sram_bits.to_string(),
        fmt_float(r.energy_pj),
        fmt_float(r.energy_compute_pj),
        fmt_float(r.energy_sram_pj),
        fmt_float(r.energy_dram_pj),
        fmt_float(r.energy_static_pj),
        fmt_float(r.area_mm2),
        fmt_float(r.speedup_total),
        fmt_float(r.energy_ratio),
        fmt_float(r.perf_per_area),
    ]
}
