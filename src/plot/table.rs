//! A CSV held as text: the report CSV of `simulate`, the tidy CSV of a sweep, or the
//! rows of a run in memory. Figures select rows with `COL=VALUE` filters and read
//! numbers from named columns; every lookup error names the file and the column.
//!
//! A CSV file is read with a bound ([`crate::files::Limit::Data`], 1 GiB unless
//! `MLTQ_MAX_INPUT` says otherwise; lines of at most [`crate::files::MAX_LINE`]), and a
//! regular file's size is checked against the memory budget before it is read.

use std::path::Path;

use crate::error::{did_you_mean, Error, Result};
use crate::files::{self, Bounded, Limit, MAX_LINE};
use crate::report::{self, Row};

/// Bytes of memory a CSV's table takes per byte of the file, at most (each cell is a
/// `String`, each row a `Vec`): for the memory budget.
const MEMORY_PER_BYTE: u64 = 6;

/// Columns and rows of a CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Where it came from, for messages.
    pub source: String,
    /// Header.
    pub columns: Vec<String>,
    /// Records.
    pub rows: Vec<Vec<String>>,
}

/// Does a cell match a filter value? Equal text, or equal numbers (`0.5` = `0.50`).
fn matches(cell: &str, want: &str) -> bool {
    cell == want || matches!((cell.parse::<f64>(), want.parse::<f64>()), (Ok(a), Ok(b)) if a == b)
}

impl Table {
    /// Read a CSV file with a header.
    pub fn read(path: &Path) -> Result<Table> {
        let source = path.display().to_string();
        let limit = Limit::Data.bytes()?;
        let f = files::open_input(path)?;
        let meta = f.metadata().map_err(|e| Error::read(path, e))?;
        if meta.is_file() {
            if meta.len() > limit {
                return Err(Error::read(
                    path,
                    std::io::Error::other(format!(
                        "it is {}, more than the {} allowed for a CSV; raise the limit with \
                         {}=SIZE if it is really that big",
                        crate::budget::human(meta.len()),
                        crate::budget::human(limit),
                        files::MAX_INPUT_ENV
                    )),
                ));
            }
            crate::budget::check(
                &format!("reading the CSV {source}"),
                meta.len().saturating_mul(MEMORY_PER_BYTE),
                "plot a smaller CSV (keep the rows you need with grep or a sweep --shard), \
                 or free memory",
            )?;
        }
        let input = Bounded::new(f, limit, format!("the CSV {source}")).lines_of_at_most(MAX_LINE);
        let err = |e: csv::Error, record: Option<usize>| {
            let msg = match record {
                Some(i) => format!("{source}: record {i}: {e}"),
                None => format!("{source}: {e}"),
            };
            match e.into_kind() {
                csv::ErrorKind::Io(io) => Error::read(path, io),
                _ => Error::invalid(msg),
            }
        };
        let mut rd = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(input);
        let columns: Vec<String> = rd
            .headers()
            .map_err(|e| err(e, None))?
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        for (i, r) in rd.records().enumerate() {
            let r = r.map_err(|e| err(e, Some(i + 1)))?;
            rows.push(r.iter().map(str::to_string).collect());
        }
        if rows.is_empty() {
            return Err(Error::invalid(format!("{source}: no rows to plot")));
        }
        Ok(Table {
            source,
            columns,
            rows,
        })
    }

    /// The rows of a run, as its CSV report would hold them (with the `gap_` columns
    /// when every row has the lane-cycles by cause, as `simulate --gap` writes them).
    pub fn from_rows(rows: &[Row]) -> Table {
        let gap = !rows.is_empty() && rows.iter().all(|r| r.gap.is_some());
        let mut columns: Vec<String> = report::csv::HEADER.iter().map(|s| s.to_string()).collect();
        if gap {
            columns.extend(report::csv::GAP_HEADER.iter().map(|s| s.to_string()));
        }
        Table {
            source: "the run".to_string(),
            columns,
            rows: rows
                .iter()
                .map(|r| {
                    let mut cells = report::csv::record(r).to_vec();
                    if gap {
                        cells.extend(report::csv::gap_record(r));
                    }
                    cells
                })
                .collect(),
        }
    }

    /// The index of a column.
    pub fn col(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c == name).ok_or_else(|| {
            Error::invalid(format!(
                "{} has no column `{name}`{}; columns: {}",
                self.source,
                did_you_mean(name, self.columns.iter().map(String::as_str)),
                self.columns.join(", ")
            ))
        })
    }

    /// Does the table have this column?
    pub fn has(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c == name)
    }

    /// A cell as a number (`inf` is +∞).
    pub fn num(&self, row: usize, col: usize) -> Result<f64> {
        let s = self.rows[row][col].trim();
        if s == "inf" {
            return Ok(f64::INFINITY);
        }
        s.parse().map_err(|_| {
            Error::invalid(format!(
                "{}: row {}: `{}` = `{s}` is not a number",
                self.source,
                row + 2,
                self.columns[col]
            ))
        })
    }

    /// The rows matching every `COL=VALUE` filter.
    pub fn filter(&self, filters: &[Filter]) -> Result<Table> {
        let cols: Vec<usize> = filters
            .iter()
            .map(|f| self.col(&f.column))
            .collect::<Result<_>>()?;
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .filter(|r| {
                filters
                    .iter()
                    .zip(&cols)
                    .all(|(f, &c)| matches(&r[c], &f.value))
            })
            .cloned()
            .collect();
        if rows.is_empty() {
            let shown: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
            return Err(Error::invalid(format!(
                "{}: no row matches {}{}",
                self.source,
                shown.join(" and "),
                self.filter_hint(filters, &cols)
            )));
        }
        Ok(Table {
            source: self.source.clone(),
            columns: self.columns.clone(),
            rows,
        })
    }

    /// The `hint:` for filters that match no row: for the first filter that no row
    /// matches alone, the values its column holds (the closest one first named).
    fn filter_hint(&self, filters: &[Filter], cols: &[usize]) -> String {
        const SHOWN: usize = 12;
        for (f, &c) in filters.iter().zip(cols) {
            if self.rows.iter().any(|r| matches(&r[c], &f.value)) {
                continue;
            }
            let mut seen = std::collections::HashSet::new();
            let values: Vec<&str> = self
                .rows
                .iter()
                .map(|r| r[c].as_str())
                .filter(|v| seen.insert(*v))
                .collect();
            if values.is_empty() {
                return String::new();
            }
            let close = crate::error::did_you_mean(&f.value, values.iter().copied());
            let more = if values.len() > SHOWN {
                format!(", … ({} values)", values.len())
            } else {
                String::new()
            };
            return format!(
                "{close}\nhint: `{}` holds {}{more}",
                f.column,
                values[..values.len().min(SHOWN)].join(", ")
            );
        }
        "\nhint: each filter matches some rows, but no row matches them all".to_string()
    }

    /// The network-total rows (`layer` = `total`), possibly none.
    pub fn totals(&self) -> Result<Table> {
        let lc = self.col("layer")?;
        Ok(Table {
            source: self.source.clone(),
            columns: self.columns.clone(),
            rows: self
                .rows
                .iter()
                .filter(|r| r[lc] == "total")
                .cloned()
                .collect(),
        })
    }

    /// Distinct values of a column, in order of first appearance.
    pub fn distinct(&self, col: usize) -> Vec<String> {
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut out: Vec<String> = Vec::new();
        for r in &self.rows {
            if seen.insert(&r[col]) {
                out.push(r[col].clone());
            }
        }
        out
    }

    /// The scheme every speedup is relative to: `given`, or the first scheme whose
    /// speedup and potential are exactly 1 on every row.
    pub fn baseline(&self, given: Option<&str>) -> Result<String> {
        let sc = self.col("scheme")?;
        let schemes = self.distinct(sc);
        if let Some(b) = given {
            if !schemes.iter().any(|s| s == b) {
                return Err(Error::invalid(format!(
                    "{}: no scheme `{b}`{}; schemes: {}",
                    self.source,
                    did_you_mean(b, schemes.iter().map(String::as_str)),
                    schemes.join(", ")
                )));
            }
            return Ok(b.to_string());
        }
        let sp = self.col("speedup")?;
        let po = self.col("potential_speedup")?;
        let one = |s: &str| s.parse::<f64>() == Ok(1.0);
        schemes
            .iter()
            .find(|s| {
                self.rows
                    .iter()
                    .filter(|r| &r[sc] == *s)
                    .all(|r| one(&r[sp]) && one(&r[po]))
            })
            .cloned()
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{}: cannot tell the baseline (no scheme has speedup 1 on every row); \
                     name it with --baseline",
                    self.source
                ))
            })
    }

    /// Refuse a table that mixes several runs (sweep points or networks).
    pub fn one_run(&self) -> Result<()> {
        for c in ["point", "network", "sample"] {
            if let Ok(i) = self.col(c) {
                let d = self.distinct(i);
                if d.len() > 1 {
                    return Err(Error::invalid(format!(
                        "{} holds {} values of `{c}` ({}{}); this figure shows one run: \
                         pick one with --filter {c}=VALUE",
                        self.source,
                        d.len(),
                        d.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                        if d.len() > 5 { ", …" } else { "" }
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A `COL=VALUE` row filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// Column name.
    pub column: String,
    /// Value (text, or a number compared numerically).
    pub value: String,
}

impl std::str::FromStr for Filter {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Filter, String> {
        match s.split_once('=') {
            Some((c, v)) if !c.trim().is_empty() => Ok(Filter {
                column: c.trim().to_string(),
                value: v.trim().to_string(),
            }),
            _ => Err(format!(
                "bad filter `{s}`: expected COLUMN=VALUE, e.g. network=resnet20"
            )),
        }
    }
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.column, self.value)
    }
}
