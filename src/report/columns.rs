//! What each CSV column holds, for readers that want typed columns rather than text:
//! the Python package turns a report's CSV records into int64, float64 and str numpy
//! arrays by these kinds, so a column added to [`super::csv::HEADER`] reaches Python
//! typed once it is listed here (a test fails until it is).

use super::csv::HEADER;

/// The type of a column's cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    /// Names: network, layer, scheme, and any label.
    Text,
    /// Counts (cycles, MACs, work, lane-cycles, sample numbers): integers, exact.
    Int,
    /// Ratios and physical quantities: decimals, `inf` for a division by zero.
    Float,
    /// Counts that only some schemes have (`kept_steps` and `promoted`: schemes with a
    /// weight schedule): an integer, or an empty cell where the row's scheme has none.
    OptInt,
}

/// Every column of [`HEADER`] (and of `csv::GAP_HEADER`) with its kind. Keep one entry per column: the test
/// `every_csv_column_has_a_kind` fails on a column missing here.
pub const KINDS: &[(&str, ColumnKind)] = &[
    ("network", ColumnKind::Text),
    ("layer", ColumnKind::Text),
    ("scheme", ColumnKind::Text),
    ("macs", ColumnKind::Int),
    ("cycles", ColumnKind::Int),
    ("speedup", ColumnKind::Float),
    ("work", ColumnKind::Int),
    ("potential_speedup", ColumnKind::Float),
    ("utilization", ColumnKind::Float),
    ("busy_lane_cycles", ColumnKind::Int),
    ("lane_cycles", ColumnKind::Int),
    ("time_us", ColumnKind::Float),
    ("sample", ColumnKind::Int),
    ("kept_steps", ColumnKind::OptInt),
    ("promoted", ColumnKind::OptInt),
    ("total_cycles", ColumnKind::Int),
    ("memory_cycles", ColumnKind::Int),
    ("bound", ColumnKind::Text),
    ("weight_bits", ColumnKind::Int),
    ("act_bits", ColumnKind::Int),
    ("dram_bits", ColumnKind::Int),
    ("sram_bits", ColumnKind::Int),
    ("energy_pj", ColumnKind::Float),
    ("energy_compute_pj", ColumnKind::Float),
    ("energy_sram_pj", ColumnKind::Float),
    ("energy_dram_pj", ColumnKind::Float),
    ("energy_static_pj", ColumnKind::Float),
    ("area_mm2", ColumnKind::Float),
    ("speedup_total", ColumnKind::Float),
    ("energy_ratio", ColumnKind::Float),
    ("perf_per_area", ColumnKind::Float),
    // `simulate --gap` only (csv::GAP_HEADER).
    ("gap_busy", ColumnKind::Int),
    ("gap_floor", ColumnKind::Int),
    ("gap_lane_wait", ColumnKind::Int),
    ("gap_row_wait", ColumnKind::Int),
    ("gap_column_wait", ColumnKind::Int),
    ("gap_idle_columns", ColumnKind::Int),
    ("gap_idle_rows", ColumnKind::Int),
    ("gap_channel_padding", ColumnKind::Int),
];

/// The kind of a report column, `None` for a name this table does not list.
pub fn kind(column: &str) -> Option<ColumnKind> {
    KINDS.iter().find(|(n, _)| *n == column).map(|&(_, k)| k)
}

/// The kinds of [`HEADER`]'s columns, in its order (`None` where [`KINDS`] has no entry).
pub fn header_kinds() -> Vec<Option<ColumnKind>> {
    HEADER.iter().map(|c| kind(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::csv::record;

    #[test]
    fn every_csv_column_has_a_kind() {
        for c in HEADER.iter().chain(&crate::report::csv::GAP_HEADER) {
            assert!(
                kind(c).is_some(),
                "CSV column `{c}` has no kind: add it to KINDS in src/report/columns.rs"
            );
        }
        for (n, _) in KINDS {
            assert!(
                crate::report::csv::is_report_column(n),
                "KINDS lists `{n}`, which is not a CSV column"
            );
        }
    }

    /// Int cells parse as integers and Float cells as floats, in every row of a real
    /// run (three schemes, a total row); OptInt cells are integers for the scheme with a
    /// weight schedule and empty for the others.
    #[test]
    fn cells_parse_as_their_kind() {
        use crate::gen::{synthesize, GenSpec};
        use crate::model::{Conv, Geometry};
        use crate::run::{simulate, ActSource};

        let layers = vec![
            (
                "c1".to_string(),
                Geometry::Conv(Conv::square(3, (6, 6), 4, 3, 1, 1, 1)),
            ),
            ("fc".to_string(), Geometry::Fc { c: 16, f: 5 }),
        ];
        let net = synthesize("tiny", layers, &GenSpec::default()).unwrap();
        let arch = crate::arch::Arch::parse(
            "name = \"t\"\nbaseline = \"mlb\"\nschemes = [\"mlb\", \"mltq-word\", \"bittactical\"]\n\
             [array]\ntiles = 1\nrows = 2\ncolumns = 2\nlanes = 4\n",
            "t.toml",
        )
        .unwrap();
        let run = simulate(&net, &arch, ActSource::Sample { sample: 0 }, &|| {}).unwrap();
        let rows = crate::report::rows(&run);
        assert_eq!(rows.len(), 9);
        for r in &rows {
            let cells: Vec<String> = record(r).into_iter().collect();
            assert_eq!(cells.len(), HEADER.len());
            for (c, cell) in HEADER.iter().zip(&cells) {
                match kind(c).unwrap() {
                    ColumnKind::Int => assert!(cell.parse::<i64>().is_ok(), "{c} = {cell}"),
                    ColumnKind::Float => assert!(cell.parse::<f64>().is_ok(), "{c} = {cell}"),
                    ColumnKind::Text => {}
                    ColumnKind::OptInt => assert_eq!(
                        cell.parse::<i64>().is_ok(),
                        r.scheme == "bittactical",
                        "{c} = {cell} for {}",
                        r.scheme
                    ),
                }
                if kind(c) == Some(ColumnKind::OptInt) && r.scheme != "bittactical" {
                    assert_eq!(cell, "", "{c} for {}", r.scheme);
                }
            }
        }
        // A division by zero is written `inf`, which reads back as a float.
        assert_eq!(
            crate::report::fmt_ratio(f64::INFINITY).parse::<f64>(),
            Ok(f64::INFINITY)
        );
    }
}
