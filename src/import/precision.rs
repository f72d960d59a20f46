//! Per-layer fixed-point precisions of `int:B` tensors (docs/import.md, "Precision").
//!
//! A tensor quantized as `int:B` may carry a smaller `precision` P: its values are then
//! the P-bit quantization (one scale per tensor, max|x| over the P-bit range) stored in
//! the B-bit container, and P is what a precision-serial design (Stripes) spends per
//! value. P comes from:
//!
//! - a file ([`PrecisionFile`]): lines `LAYER ACTS WEIGHTS` (`-` keeps the full width),
//!   or DNNsim's `precision.txt` layout (a title line, then four `;`-separated rows
//!   with one value per layer in execution order: activation magnitude, activation
//!   fraction, weight magnitude, weight fraction; P = magnitude + fraction);
//! - profiling ([`profile`]): per tensor, the smallest P whose relative L2
//!   quantization error stays within a tolerance.

use std::path::{Path, PathBuf};

use crate::error::{did_you_mean, Error, Result};

/// Where the precisions of an import come from.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum PrecisionSource {
    /// Every int tensor at its full width (precision = bits).
    #[default]
    Full,
    /// Given per layer in a file.
    File(PathBuf),
    /// Profiled: the smallest precision whose relative L2 error is within `tolerance`.
    Profile { tolerance: f64 },
}

/// The default profiling tolerance: relative L2 error ≤ 1 %.
pub const DEFAULT_TOLERANCE: f64 = 0.01;

/// Precisions given for one layer (`None`: the full width).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Given {
    /// Activation precision.
    pub acts: Option<u32>,
    /// Weight precision.
    pub weights: Option<u32>,
}

/// The precision a profile picked for one tensor.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Pick {
    /// The precision.
    pub precision: u8,
    /// Its relative L2 quantization error.
    pub error: f64,
    /// False when even the full width misses the tolerance (the full width is kept).
    pub reached: bool,
}

/// A precision file, read and parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct PrecisionFile {
    /// Where it was read from.
    pub path: PathBuf,
    rows: Rows,
}

#[derive(Clone, Debug, PartialEq)]
enum Rows {
    /// `LAYER ACTS WEIGHTS` lines: (line, name, given).
    Named(Vec<(usize, String, Given)>),
    /// DNNsim layout: per layer position, (acts, weights) = magnitude + fraction.
    Dnnsim(Vec<(i64, i64)>),
}

/// Largest precision file read (a precision file is a few lines per layer).
const MAX_BYTES: u64 = 4 << 20;

impl PrecisionFile {
    /// Read a precision file in either layout (see the module docs).
    pub fn read(path: &Path) -> Result<PrecisionFile> {
        let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
        if meta.is_dir() || meta.len() > MAX_BYTES {
            return Err(Error::invalid(format!(
                "--precision {}: {}; a precision file is a short text file (lines `LAYER ACTS WEIGHTS`, or DNNsim's precision.txt)",
                path.display(),
                if meta.is_dir() {
                    "is a directory".to_string()
                } else {
                    format!("is {} bytes", meta.len())
                }
            )));
        }
        // A device or FIFO has no length to check above: read it with the bound.
        let text = crate::files::read_text(path, "a precision file", crate::files::Limit::Toml)?;
        let rows = if looks_dnnsim(&text) {
            let r = dnnsim_rows(&text, path, 0, "")?;
            Rows::Dnnsim(
                (0..r[0].len().min(r[1].len()).min(r[2].len()).min(r[3].len()))
                    .map(|i| (r[0][i] + r[1][i], r[2][i] + r[3][i]))
                    .collect(),
            )
        } else {
            Rows::Named(parse_named(&text, path)?)
        };
        Ok(PrecisionFile {
            path: path.to_path_buf(),
            rows,
        })
    }

    /// "DNNsim layout" or "LAYER ACTS WEIGHTS lines".
    pub fn layout(&self) -> &'static str {
        match self.rows {
            Rows::Named(_) => "per-layer lines",
            Rows::Dnnsim(_) => "DNNsim precision.txt layout",
        }
    }

    /// The precisions of the imported layers, in their order. Named files must list
    /// every layer and no other; a DNNsim file needs a value per layer (values past
    /// the layer count are ignored, as DNNsim does).
    pub fn for_layers(&self, names: &[&str]) -> Result<Vec<Given>> {
        let shown = self.path.display();
        match &self.rows {
            Rows::Dnnsim(v) => {
                if v.len() < names.len() {
                    return Err(Error::invalid(format!(
                        "{shown}: the rows have {} values but the model has {} imported layers; give one value per layer, in the order of the import report",
                        v.len(),
                        names.len()
                    )));
                }
                let mut out = Vec::with_capacity(names.len());
                for (i, (&(a, w), name)) in v.iter().zip(names).enumerate() {
                    let check = |p: i64, op: &str| -> Result<u32> {
                        u32::try_from(p).ok().filter(|&p| p >= 1).ok_or_else(|| {
                            Error::invalid(format!(
                                "{shown}: layer '{name}' (value {}): {op} precision = magnitude + fraction = {p}, which is not a positive number of bits",
                                i + 1
                            ))
                        })
                    };
                    out.push(Given {
                        acts: Some(check(a, "activation")?),
                        weights: Some(check(w, "weight")?),
                    });
                }
                Ok(out)
            }
            Rows::Named(rows) => {
                for (line, name, _) in rows {
                    if !names.contains(&name.as_str()) {
                        return Err(Error::invalid(format!(
                            "{shown}:{line}: no imported layer is named '{name}'{}",
                            did_you_mean(name, names.iter().copied())
                        )));
                    }
                }
                let missing: Vec<&str> = names
                    .iter()
                    .copied()
                    .filter(|n| !rows.iter().any(|r| r.1 == *n))
                    .collect();
                if !missing.is_empty() {
                    let more = if missing.len() > 5 { ", …" } else { "" };
                    return Err(Error::invalid(format!(
                        "{shown}: {} imported layer{} not listed: {}{more}\nhint: add a line `NAME - -` to keep a layer at the full width",
                        missing.len(),
                        if missing.len() == 1 { " is" } else { "s are" },
                        missing[..missing.len().min(5)].join(", ")
                    )));
                }
                Ok(names
                    .iter()
                    .map(|n| {
                        rows.iter()
                            .find(|r| r.1 == *n)
                            .map(|r| r.2)
                            .unwrap_or_default()
                    })
                    .collect())
            }
        }
    }
}

/// A title line, then lines of `;`-separated integers (four when complete; fewer are
/// a DNNsim file missing rows, which [`dnnsim_rows`] names).
fn looks_dnnsim(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().skip(1).take(4).collect();
    !lines.is_empty()
        && lines.iter().all(|l| {
            let v: Vec<&str> = l
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            !v.is_empty() && v.iter().all(|s| s.parse::<i64>().is_ok())
        })
}

/// `LAYER ACTS WEIGHTS` lines (commas or blanks between fields; `#` comments; an
/// optional header line `layer acts weights`).
fn parse_named(text: &str, path: &Path) -> Result<Vec<(usize, String, Given)>> {
    let mut rows: Vec<(usize, String, Given)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        let at = |msg: String| Error::invalid(format!("{}:{ln}: {msg}", path.display()));
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .collect();
        if f.len() != 3 {
            return Err(at(format!(
                "expected `LAYER ACTS WEIGHTS` (three fields, `-` for the full width), found `{line}`"
            )));
        }
        if rows.is_empty()
            && f[1].eq_ignore_ascii_case("acts")
            && f[2].eq_ignore_ascii_case("weights")
        {
            continue;
        }
        let num = |s: &str, what: &str| -> Result<Option<u32>> {
            if s == "-" {
                return Ok(None);
            }
            match s.parse::<u32>() {
                Ok(v) if v >= 1 => Ok(Some(v)),
                _ => Err(at(format!(
                    "{what} precision `{s}` is not a positive number of bits (or `-` for the full width)"
                ))),
            }
        };
        let given = Given {
            acts: num(f[1], "activation")?,
            weights: num(f[2], "weight")?,
        };
        if let Some((l0, _, _)) = rows.iter().find(|r| r.1 == f[0]) {
            return Err(at(format!(
                "layer '{}' is listed twice (also on line {l0})",
                f[0]
            )));
        }
        rows.push((ln, f[0].to_string(), given));
    }
    if rows.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no precisions (expected lines `LAYER ACTS WEIGHTS`, or DNNsim's precision.txt layout)",
            path.display()
        )));
    }
    Ok(rows)
}

/// The four rows of DNNsim's `precision.txt` layout (activation magnitude, activation
/// fraction, weight magnitude, weight fraction), each with at least `layers` values;
/// `counted` names what counts the layers (e.g. "model.csv") in the message.
pub fn dnnsim_rows(text: &str, path: &Path, layers: usize, counted: &str) -> Result<[Vec<i64>; 4]> {
    const ROWS: [&str; 4] = [
        "activation magnitude",
        "activation fraction",
        "weight magnitude",
        "weight fraction",
    ];
    let lines: Vec<&str> = text.lines().collect();
    let mut vals: [Vec<i64>; 4] = Default::default();
    for (r, what) in ROWS.iter().enumerate() {
        let ln = r + 2; // line 1 is the title
        let at = |msg: String| Error::invalid(format!("{}:{ln}: {msg}", path.display()));
        let line = lines.get(r + 1).ok_or_else(|| {
            at(format!(
                "missing the {what} row (expected a title line, then four `;`-separated rows)"
            ))
        })?;
        let v: Vec<i64> = line
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<i64>()
                    .map_err(|_| at(format!("{what} `{s}` is not an integer")))
            })
            .collect::<Result<_>>()?;
        if v.len() < layers {
            return Err(at(format!(
                "the {what} row has {} values but {counted} has {layers} layers",
                v.len()
            )));
        }
        vals[r] = v;
    }
    Ok(vals)
}

/// The smallest precision in `lo..=bits` whose error (`error_at(P)`, a relative L2
/// error) is at most `tolerance`; the full width, marked not reached, when none is.
pub fn profile(
    lo: u8,
    bits: u8,
    tolerance: f64,
    mut error_at: impl FnMut(u8) -> Result<f64>,
) -> Result<Pick> {
    let mut last = None;
    for p in lo.min(bits)..=bits {
        let e = error_at(p)?;
        if e <= tolerance {
            return Ok(Pick {
                precision: p,
                error: e,
                reached: true,
            });
        }
        last = Some(e);
    }
    Ok(Pick {
        precision: bits,
        error: last.unwrap_or(0.0),
        reached: false,
    })
}

/// Parse `--tolerance`: a fraction (`0.01`) or a percentage (`1%`), in (0, 1].
pub fn parse_tolerance(s: &str) -> std::result::Result<f64, String> {
    let t = s.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("`{s}` is not a number; write a fraction (0.01) or a percentage (1%)"))?;
    if v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err(format!(
            "{s} is outside (0, 1]: the tolerance is a relative L2 error, e.g. 0.01 or 1%"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("prec.txt");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn named_lines_give_each_layer_its_precisions() {
        let (_d, p) =
            file("# precisions\nlayer,acts,weights\nconv1, 6, 8\nfc - 5  # full-width acts\n");
        let f = PrecisionFile::read(&p).unwrap();
        assert_eq!(f.layout(), "per-layer lines");
        let g = f.for_layers(&["conv1", "fc"]).unwrap();
        assert_eq!(
            g,
            vec![
                Given {
                    acts: Some(6),
                    weights: Some(8)
                },
                Given {
                    acts: None,
                    weights: Some(5)
                }
            ]
        );
        let e = f
            .for_layers(&["conv1", "fc", "head"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 imported layer is not listed: head"), "{e}");
        let e = f.for_layers(&["conv_1", "fc"]).unwrap_err().to_string();
        assert!(
            e.contains(":3: no imported layer is named 'conv1' (did you mean `conv_1`?)"),
            "{e}"
        );
    }

    #[test]
    fn named_lines_are_checked() {
        for (text, want) in [
            ("a 1\n", ":1: expected `LAYER ACTS WEIGHTS`"),
            ("a 0 4\n", "activation precision `0` is not a positive"),
            ("a 4 x\n", "weight precision `x`"),
            (
                "a 4 4\na 5 5\n",
                ":2: layer 'a' is listed twice (also on line 1)",
            ),
            ("# nothing\n", "no precisions"),
        ] {
            let (_d, p) = file(text);
            let e = PrecisionFile::read(&p).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn dnnsim_layout_adds_magnitude_and_fraction_by_position() {
        // Acts: 2+1 = 3 and 4+0 = 4; weights: 1+1 = 2 and 3+2 = 5; the third values
        // are past the layer count and ignored.
        let (_d, p) = file("magnitude and fraction\n2;4;9;\n1;0;9;\n1;3;9\n1;2;9\n");
        let f = PrecisionFile::read(&p).unwrap();
        assert_eq!(f.layout(), "DNNsim precision.txt layout");
        let g = f.for_layers(&["a", "b"]).unwrap();
        assert_eq!(
            g.iter().map(|g| (g.acts, g.weights)).collect::<Vec<_>>(),
            vec![(Some(3), Some(2)), (Some(4), Some(5))]
        );
        let e = f.for_layers(&["a", "b", "c", "d"]).unwrap_err().to_string();
        assert!(
            e.contains("3 values but the model has 4 imported layers"),
            "{e}"
        );
    }

    #[test]
    fn profile_picks_the_smallest_precision_within_tolerance() {
        let errs = [0.5, 0.2, 0.05, 0.008, 0.001];
        let at = |p: u8| Ok(errs[p as usize - 1]);
        let pick = profile(1, 5, 0.01, at).unwrap();
        assert_eq!((pick.precision, pick.error, pick.reached), (4, 0.008, true));
        let pick = profile(2, 5, 0.3, at).unwrap();
        assert_eq!(pick.precision, 2);
        let pick = profile(1, 3, 0.01, at).unwrap();
        assert_eq!((pick.precision, pick.error, pick.reached), (3, 0.05, false));
    }

    #[test]
    fn tolerances_parse_as_fractions_or_percentages() {
        assert_eq!(parse_tolerance("0.01"), Ok(0.01));
        assert_eq!(parse_tolerance("2.5%"), Ok(0.025));
        assert!(parse_tolerance("0").unwrap_err().contains("outside (0, 1]"));
        assert!(parse_tolerance("150%").is_err());
        assert!(parse_tolerance("abc").unwrap_err().contains("not a number"));
    }
}
