//! Report rows (CSV records, as text) into typed numpy columns.
//!
//! The cells are exactly the ones `mltq` writes to its CSV files, so the numbers are the
//! CLI's to the last digit. Each column's type comes from the library
//! ([`mltq::report::columns`] for the report's columns, [`Param::kind`] for a sweep's
//! parameters): `Int` cells become an int64 array (uint64 if a count passes 2^63 − 1),
//! `Float` cells float64 (`inf` included), `OptInt` cells (counts only some schemes
//! have) float64 with NaN for the empty cells, `Text` cells an object array of `str`. A
//! column the library has no kind for is typed from its cells: int64 when every cell is
//! an integer, float64 when every cell is a number, else str.

use mltq::report::columns::ColumnKind;
use mltq::sweep::Param;
use numpy::PyArray1;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// Named columns, in order: what the Python side turns into a dict or a DataFrame.
pub type Columns = Vec<(String, Py<PyAny>)>;

/// `rows[i][j]` is the cell of column `names[j]`; `kinds[j]` its kind if known.
pub fn columns(
    py: Python<'_>,
    names: &[String],
    kinds: &[Option<ColumnKind>],
    rows: &[Vec<String>],
) -> PyResult<Columns> {
    debug_assert_eq!(names.len(), kinds.len());
    if let Some(r) = rows.iter().find(|r| r.len() != names.len()) {
        return Err(PyRuntimeError::new_err(format!(
            "a report row has {} cells for {} columns (internal error)",
            r.len(),
            names.len()
        )));
    }
    let mut out = Vec::with_capacity(names.len());
    for (j, name) in names.iter().enumerate() {
        let cells = || rows.iter().map(|r| r[j].as_str());
        let kind = kinds[j].unwrap_or_else(|| infer(cells()));
        let bad = |cell: &str| {
            PyRuntimeError::new_err(format!(
                "column `{name}`: cell `{cell}` is not a {kind:?} (internal error)"
            ))
        };
        let array: Py<PyAny> = match kind {
            ColumnKind::Int => {
                let signed: Option<Vec<i64>> = cells().map(|c| c.parse().ok()).collect();
                match signed {
                    Some(v) => PyArray1::from_vec(py, v).into_any().unbind(),
                    None => {
                        let v = cells()
                            .map(|c| c.parse::<u64>().map_err(|_| bad(c)))
                            .collect::<PyResult<Vec<u64>>>()?;
                        PyArray1::from_vec(py, v).into_any().unbind()
                    }
                }
            }
            ColumnKind::OptInt => {
                // NaN where the row has no count (exact up to 2^53).
                let v = cells()
                    .map(|c| {
                        if c.is_empty() {
                            Ok(f64::NAN)
                        } else {
                            c.parse::<u64>().map(|x| x as f64).map_err(|_| bad(c))
                        }
                    })
                    .collect::<PyResult<Vec<f64>>>()?;
                PyArray1::from_vec(py, v).into_any().unbind()
            }
            ColumnKind::Float => {
                let v = cells()
                    .map(|c| c.parse::<f64>().map_err(|_| bad(c)))
                    .collect::<PyResult<Vec<f64>>>()?;
                PyArray1::from_vec(py, v).into_any().unbind()
            }
            ColumnKind::Text => {
                let v: Vec<Py<PyAny>> = cells()
                    .map(|c| PyString::new(py, c).into_any().unbind())
                    .collect();
                PyArray1::from_vec(py, v).into_any().unbind()
            }
        };
        out.push((name.clone(), array));
    }
    Ok(out)
}

/// The kind of a column no table lists, from its cells.
fn infer<'a>(mut cells: impl Iterator<Item = &'a str> + Clone) -> ColumnKind {
    if cells.clone().all(|c| c.parse::<i64>().is_ok()) {
        ColumnKind::Int
    } else if cells.all(|c| c.parse::<f64>().is_ok()) {
        ColumnKind::Float
    } else {
        ColumnKind::Text
    }
}

/// The kinds of a sweep's `results.csv` columns: `point`, `point_id`, the parameters
/// (named as in the sweep file), then the report's columns.
pub fn sweep_kinds(names: &[String]) -> Vec<Option<ColumnKind>> {
    let report = mltq::report::columns::header_kinds();
    let nparams = names.len().saturating_sub(2 + report.len());
    names
        .iter()
        .enumerate()
        .map(|(j, name)| match j {
            0 => Some(ColumnKind::Int),
            1 => Some(ColumnKind::Text),
            j if j < 2 + nparams => Param::from_name(name).map(|p| p.kind()),
            j => report.get(j - 2 - nparams).copied().flatten(),
        })
        .collect()
}
