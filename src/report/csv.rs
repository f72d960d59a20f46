//! The CSV exporter (docs/cli.md): one row per (layer, scheme) in file order, then one
//! `total` row per scheme. The first eight columns are the contract; more follow.

use std::io::Write;

use super::{fmt_ratio, Row};

/// The header, contract columns first.
pub const HEADER: [&str; 13] = [
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

/// One row as CSV fields.
pub fn record(r: &Row) -> [String; 13] {
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
    ]
}
