//! The CSV exporter (docs/cli.md): one row per (layer, scheme) in file order, then one
//! `total` row per scheme. The first eight columns are the contract; the project's
//! counters follow, then the weight schedule's (`kept_steps`, `promoted`: empty for a
//! scheme without one), then the cost model's columns (floats in shortest round-trip
//! form). With `simulate --gap` the lane-cycles by cause ([`GAP_HEADER`], integers)
//! come last; without it the file has [`HEADER`]'s columns only.

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

/// The columns `simulate --gap` appends: `gap_` and the keys of the JSON `gap` object
/// ([`crate::sim::gap::Gap::NAMES`]), in that order; they add up to `lane_cycles`.
pub const GAP_HEADER: [&str; 8] = [
    "gap_busy",
    "gap_floor",
    "gap_lane_wait",
    "gap_row_wait",
    "gap_column_wait",
    "gap_idle_columns",
    "gap_idle_rows",
    "gap_channel_padding",
];

/// Is `name` a column this exporter writes ([`HEADER`] or [`GAP_HEADER`])?
pub fn is_report_column(name: &str) -> bool {
    HEADER.contains(&name) || GAP_HEADER.contains(&name)
}

/// Write rows as CSV (header included when `header`), with the [`GAP_HEADER`] columns
/// when `gap` (cells empty for a row without a breakdown).
pub fn write(w: &mut dyn Write, rows: &[Row], header: bool, gap: bool) -> std::io::Result<()> {
    let mut out = ::csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(w);
    if header {
        if gap {
            out.write_record(HEADER.iter().chain(&GAP_HEADER))?;
        } else {
            out.write_record(HEADER)?;
        }
    }
    for r in rows {
        if gap {
            out.write_record(record(r).iter().chain(&gap_record(r)))?;
        } else {
            out.write_record(record(r))?;
        }
    }
    out.flush()
}

/// A row's [`GAP_HEADER`] cells: its lane-cycles by cause, empty without a breakdown.
pub fn gap_record(r: &Row) -> [String; 8] {
    match &r.gap {
        Some(g) => g.parts().map(|p| p.to_string()),
        None => Default::default(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_columns_are_the_json_keys_after_gap_() {
        let names: Vec<String> = crate::sim::gap::Gap::NAMES
            .iter()
            .map(|n| format!("gap_{n}"))
            .collect();
        assert_eq!(names, GAP_HEADER);
        assert!(GAP_HEADER.iter().all(|c| !HEADER.contains(c)));
    }
}
