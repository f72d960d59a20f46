//! DNNsim trace folders → [`Network`] (docs/cli.md, `import`; docs/import.md).
//!
//! A folder holds:
//! - `model.csv`: one layer per line, `name,conv|fc,stride,pad` (blank lines and lines
//!   starting with `#` are skipped); file order is execution order.
//! - `wgt-NAME.npy`: the layer's weights, `(M, C/G, Kx, Ky)` for conv and `(M, C)` for fc.
//! - `act-NAME-K.npy`: the activations the layer consumed for sample K, `(1, C, X, Y)` for
//!   conv (also `(C, X, Y)`) and `(1, C)` for fc (also `(C,)`, or any array of C elements
//!   whose first axis is 1, e.g. a conv-shaped `(1, C', X, Y)` with C'·X·Y = C, flattened
//!   in C order). Every K found becomes a sample; all layers must have the same samples.
//! - `precision.txt` (optional): a title line, then four `;`-separated rows with one value
//!   per layer: activation magnitude, activation fraction, weight magnitude, weight
//!   fraction. Precision = magnitude + fraction, which must lie in 1..=16. Without the
//!   file every precision is 16. Values past the layer count are ignored (as DNNsim does).
//!
//! Values are fixed-point integers stored as floats; they become `enc=int bits=16
//! signed=true` for weights and activations alike (16-bit two's complement, the range
//! DNNsim's traces use; post-ReLU activations are nonnegative but a first layer's
//! input need not be, and one signed width keeps every trace valid). A value that is
//! not an integer or does not fit in −32768..=32767 is refused, naming the file and
//! the element.
//!
//! Axis order is kept: X becomes H and Y becomes W; Kx becomes KH and Ky becomes KW.
//! groups = C / (weight channels); stride and pad apply to both axes.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use super::npy;
use crate::error::{Error, Result};
use crate::model::{Conv, Geometry, Layer, Network};
use crate::tensor::Tensor;

/// Bits of every imported value.
pub const BITS: u8 = 16;

/// One `model.csv` line.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CsvLayer {
    name: String,
    conv: bool,
    stride: usize,
    pad: usize,
}

/// Per-layer precisions from `precision.txt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Precision {
    acts: u8,
    weights: u8,
}

/// Import a DNNsim trace folder.
pub fn import_dnnsim(dir: &Path) -> Result<Network> {
    let meta = std::fs::metadata(dir).map_err(|e| Error::read(dir, e))?;
    if !meta.is_dir() {
        return Err(Error::invalid(format!(
            "{}: a DNNsim trace folder must be a directory (with model.csv, wgt-NAME.npy, act-NAME-K.npy)",
            dir.display()
        )));
    }
    let csv_path = dir.join("model.csv");
    let text = crate::files::read_text(&csv_path, "a model.csv", crate::files::Limit::Toml)?;
    let rows = parse_model_csv(&text, &csv_path)?;
    let prec_path = dir.join("precision.txt");
    let precs = if prec_path.exists() {
        let t = crate::files::read_text(&prec_path, "a precision.txt", crate::files::Limit::Toml)?;
        parse_precision(&t, &prec_path, &rows)?
    } else {
        vec![
            Precision {
                acts: BITS,
                weights: BITS
            };
            rows.len()
        ]
    };
    let files: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::read(dir, e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();

    let mut layers = Vec::with_capacity(rows.len());
    let mut first_samples: Option<(String, BTreeSet<u32>)> = None;
    for (row, prec) in rows.iter().zip(&precs) {
        let samples = act_samples(&files, &row.name);
        if samples.is_empty() {
            return Err(Error::invalid(format!(
                "{}: layer '{}' has no activation files (expected act-{}-0.npy, act-{}-1.npy, …)",
                dir.display(),
                row.name,
                row.name,
                row.name
            )));
        }
        let keys: BTreeSet<u32> = samples.keys().copied().collect();
        match &first_samples {
            None => first_samples = Some((row.name.clone(), keys)),
            Some((n0, k0)) if *k0 != keys => {
                return Err(Error::invalid(format!(
                    "{}: layer '{n0}' has activation samples {k0:?} but layer '{}' has {keys:?}; every layer needs the same samples",
                    dir.display(),
                    row.name
                )))
            }
            _ => {}
        }
        layers.push(import_layer(dir, row, *prec, &samples)?);
    }
    let name = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "dnnsim".to_string());
    Ok(Network {
        name: super::header_safe(&name),
        source: Some(super::header_safe(&format!("dnnsim:{}", dir.display()))),
        layers,
    })
}

fn parse_model_csv(text: &str, path: &Path) -> Result<Vec<CsvLayer>> {
    let mut rows: Vec<CsvLayer> = Vec::new();
    let mut seen = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let at = |msg: String| Error::invalid(format!("{}:{}: {msg}", path.display(), i + 1));
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != 4 {
            return Err(at(format!(
                "expected 4 fields `name,conv|fc,stride,pad`, found {}: `{line}`",
                f.len()
            )));
        }
        if f[0].is_empty() {
            return Err(at("empty layer name".into()));
        }
        let conv = match f[1].to_ascii_lowercase().as_str() {
            "conv" => true,
            "fc" => false,
            other => {
                return Err(at(format!(
                    "layer type `{other}` is neither `conv` nor `fc`"
                )))
            }
        };
        let num = |s: &str, what: &str| {
            s.parse::<usize>()
                .map_err(|_| at(format!("{what} `{s}` is not a nonnegative integer")))
        };
        let stride = num(f[2], "stride")?;
        let pad = num(f[3], "pad")?;
        if stride == 0 {
            return Err(at("stride must be at least 1".into()));
        }
        if !seen.insert(f[0].to_string()) {
            return Err(at(format!("layer name '{}' appears twice", f[0])));
        }
        rows.push(CsvLayer {
            name: f[0].to_string(),
            conv,
            stride,
            pad,
        });
    }
    if rows.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no layers (expected lines `name,conv|fc,stride,pad`)",
            path.display()
        )));
    }
    Ok(rows)
}

fn parse_precision(text: &str, path: &Path, rows: &[CsvLayer]) -> Result<Vec<Precision>> {
    let vals = super::precision::dnnsim_rows(text, path, rows.len(), "model.csv")?;
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let p = |mag: i64, frac: i64, op: &str| -> Result<u8> {
                let total = mag + frac;
                if !(1..=BITS as i64).contains(&total) {
                    return Err(Error::invalid(format!(
                        "{}: layer '{}' (value {}): {op} precision = magnitude {mag} + fraction {frac} = {total}, outside 1..={BITS}",
                        path.display(),
                        row.name,
                        i + 1
                    )));
                }
                Ok(total as u8)
            };
            Ok(Precision {
                acts: p(vals[0][i], vals[1][i], "activation")?,
                weights: p(vals[2][i], vals[3][i], "weight")?,
            })
        })
        .collect()
}

/// Sample index → file name for `act-NAME-K.npy`.
fn act_samples(files: &[String], name: &str) -> BTreeMap<u32, String> {
    let prefix = format!("act-{name}-");
    files
        .iter()
        .filter_map(|f| {
            let k = f.strip_prefix(&prefix)?.strip_suffix(".npy")?;
            if k.is_empty() || !k.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((k.parse::<u32>().ok()?, f.clone()))
        })
        .collect()
}

/// Read an array and check that it holds 16-bit integers.
fn read_ints(path: &Path) -> Result<(Vec<usize>, Vec<i32>)> {
    let a = npy::read(path)?;
    let (lo, hi) = (i16::MIN as f64, i16::MAX as f64);
    let mut out = Vec::with_capacity(a.data.len());
    for (i, &v) in a.data.iter().enumerate() {
        if v.fract() != 0.0 || !v.is_finite() {
            return Err(Error::invalid(format!(
                "{}: element {i} = {v} is not an integer; DNNsim traces hold fixed-point integers",
                path.display()
            )));
        }
        if v < lo || v > hi {
            return Err(Error::invalid(format!(
                "{}: element {i} = {v} does not fit in {BITS}-bit signed integers ({lo}..={hi})",
                path.display()
            )));
        }
        out.push(v as i32);
    }
    Ok((a.shape, out))
}

fn import_layer(
    dir: &Path,
    row: &CsvLayer,
    prec: Precision,
    samples: &BTreeMap<u32, String>,
) -> Result<Layer> {
    let wpath = dir.join(format!("wgt-{}.npy", row.name));
    let (wshape, wvals) = read_ints(&wpath)?;
    let shape_err = |p: &Path, found: &[usize], want: &str| {
        Error::invalid(format!(
            "{}: layer '{}' ({}): shape {found:?}, expected {want}",
            p.display(),
            row.name,
            if row.conv { "conv" } else { "fc" }
        ))
    };
    let mut acts: Vec<(u32, PathBuf, Vec<usize>, Vec<i32>)> = Vec::new();
    for (&k, f) in samples {
        let p = dir.join(f);
        let (s, v) = read_ints(&p)?;
        acts.push((k, p, s, v));
    }
    let geom = if row.conv {
        let [f, cg, kh, kw] = wshape[..] else {
            return Err(shape_err(&wpath, &wshape, "(M, C/G, Kx, Ky)"));
        };
        let (c, h, w) = conv_act_dims(&acts[0].2)
            .ok_or_else(|| shape_err(&acts[0].1, &acts[0].2, "(1, C, X, Y)"))?;
        if cg == 0 || c % cg != 0 {
            return Err(Error::invalid(format!(
                "{}: layer '{}': the activations have C = {c} channels but the weights have {cg} per group; C must be a multiple of it ({})",
                wpath.display(),
                row.name,
                acts[0].1.display()
            )));
        }
        Geometry::Conv(Conv {
            c,
            h,
            w,
            f,
            kh,
            kw,
            sh: row.stride,
            sw: row.stride,
            ph: row.pad,
            pw: row.pad,
            groups: c / cg,
        })
    } else {
        let [f, c] = wshape[..] else {
            return Err(shape_err(&wpath, &wshape, "(M, C)"));
        };
        Geometry::Fc { c, f }
    };
    geom.validate().map_err(|e| {
        Error::invalid(format!(
            "{}: layer '{}': {e}",
            dir.join("model.csv").display(),
            row.name
        ))
    })?;
    let want_act = geom.act_shape();
    let weights = Tensor::int(&geom.weight_shape(), BITS, true, prec.weights, None, wvals)
        .map_err(|e| Error::invalid(format!("{}: {e}", wpath.display())))?;
    let mut map = BTreeMap::new();
    for (k, p, s, v) in acts {
        let ok = match geom {
            Geometry::Conv(_) => {
                conv_act_dims(&s).map(|(c, h, w)| vec![c, h, w]) == Some(want_act.clone())
            }
            Geometry::Fc { c, .. } => fc_act_ok(&s, c),
        };
        if !ok {
            let want = match geom {
                Geometry::Conv(c) => format!("(1, {}, {}, {}) like the other samples", c.c, c.h, c.w),
                Geometry::Fc { c, f } => format!(
                    "(1, {c}) — the weights are ({f}, {c}); (C,) or any array of {c} elements with a leading 1 is flattened"
                ),
            };
            return Err(shape_err(&p, &s, &want));
        }
        let t = Tensor::int(&want_act, BITS, true, prec.acts, None, v)
            .map_err(|e| Error::invalid(format!("{}: {e}", p.display())))?;
        map.insert(k, t);
    }
    Ok(Layer {
        name: row.name.clone(),
        geom,
        weights,
        acts: map,
    })
}

/// (C, H, W) of a conv activation array `(1, C, X, Y)` or `(C, X, Y)`.
fn conv_act_dims(s: &[usize]) -> Option<(usize, usize, usize)> {
    match *s {
        [1, c, h, w] | [c, h, w] => Some((c, h, w)),
        _ => None,
    }
}

fn fc_act_ok(s: &[usize], c: usize) -> bool {
    let n: usize = s.iter().product();
    n == c && (s.len() == 1 || s[0] == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Encoding;

    fn folder(files: &[(&str, &[usize], &[f32])], csv: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.csv"), csv).unwrap();
        for (name, shape, data) in files {
            npy::write_f32(&dir.path().join(name), shape, data).unwrap();
        }
        dir
    }

    fn seq(n: usize, f: impl Fn(usize) -> f32) -> Vec<f32> {
        (0..n).map(f).collect()
    }

    /// conv1: 4 channels 3x3 input, 2 groups of 2 channels, 6 filters 2x2, stride 1 pad 1;
    /// fc: 5 inputs → 3 outputs, acts given as (1, 5), two samples each.
    fn good() -> tempfile::TempDir {
        let w1 = seq(6 * 2 * 2 * 2, |i| i as f32 - 10.0);
        let a1 = seq(4 * 3 * 3, |i| (i % 7) as f32);
        let wf = seq(15, |i| (i as f32) * 2.0 - 15.0);
        let af = seq(5, |i| i as f32 * 100.0);
        folder(
            &[
                ("wgt-conv1.npy", &[6, 2, 2, 2], &w1),
                ("act-conv1-0.npy", &[1, 4, 3, 3], &a1),
                ("act-conv1-1.npy", &[1, 4, 3, 3], &a1),
                ("wgt-fc-1.npy", &[3, 5], &wf),
                ("act-fc-1-0.npy", &[1, 5], &af),
                ("act-fc-1-1.npy", &[5], &af),
            ],
            "conv1,conv,1,1\n\n# comment\nfc-1,fc,1,0\n",
        )
    }

    #[test]
    fn conv_and_fc_shapes_values_and_samples() {
        let dir = good();
        let net = import_dnnsim(dir.path()).unwrap();
        assert_eq!(net.layers.len(), 2);
        let c = &net.layers[0];
        assert_eq!(c.name, "conv1");
        let Geometry::Conv(g) = c.geom else { panic!() };
        assert_eq!((g.c, g.h, g.w, g.f, g.kh, g.kw), (4, 3, 3, 6, 2, 2));
        assert_eq!((g.sh, g.sw, g.ph, g.pw, g.groups), (1, 1, 1, 1, 2));
        assert_eq!(c.weights.shape(), &[6, 2, 2, 2]);
        assert_eq!(c.weights.int_value(0), Some(-10));
        assert_eq!(c.weights.int_value(47), Some(37));
        assert_eq!(
            c.weights.encoding(),
            &Encoding::Int {
                bits: 16,
                signed: true,
                precision: 16,
                scale: None
            }
        );
        assert_eq!(c.acts.keys().copied().collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(c.acts[&1].shape(), &[4, 3, 3]);
        assert_eq!(c.acts[&0].int_value(8), Some(1));
        let f = &net.layers[1];
        assert_eq!(f.name, "fc-1");
        assert_eq!(f.geom, Geometry::Fc { c: 5, f: 3 });
        assert_eq!(f.acts[&1].int_value(4), Some(400));
        assert_eq!(net.samples(), vec![0, 1]);
        assert!(net.source.as_deref().unwrap().starts_with("dnnsim:"));
    }

    #[test]
    fn precision_file_sets_magnitude_plus_fraction() {
        let dir = good();
        std::fs::write(
            dir.path().join("precision.txt"),
            "magnitude (+1 for sign) and fraction bits\n9;8;\n2;0;\n1;2;99\n7;13;\n",
        )
        .unwrap();
        let net = import_dnnsim(dir.path()).unwrap();
        let prec = |t: &Tensor| match t.encoding() {
            Encoding::Int { precision, .. } => *precision,
            _ => panic!(),
        };
        assert_eq!(prec(&net.layers[0].acts[&0]), 11);
        assert_eq!(prec(&net.layers[0].weights), 8);
        assert_eq!(prec(&net.layers[1].acts[&0]), 8);
        assert_eq!(prec(&net.layers[1].weights), 15);
    }

    #[test]
    fn precision_out_of_range_is_refused() {
        let dir = good();
        std::fs::write(dir.path().join("precision.txt"), "t\n9;8\n2;0\n1;2\n7;15\n").unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("precision.txt") && e.contains("fc-1") && e.contains("17"),
            "{e}"
        );
        std::fs::write(dir.path().join("precision.txt"), "t\n9\n2\n1\n7\n").unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(e.contains("1 values but model.csv has 2 layers"), "{e}");
    }

    #[test]
    fn non_integral_value_names_file_and_element() {
        let dir = good();
        let mut a = seq(36, |i| (i % 7) as f32);
        a[13] = 2.5;
        npy::write_f32(&dir.path().join("act-conv1-1.npy"), &[1, 4, 3, 3], &a).unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("act-conv1-1.npy") && e.contains("element 13 = 2.5"),
            "{e}"
        );
    }

    #[test]
    fn values_outside_16_bits_are_refused() {
        let dir = good();
        npy::write_f32(
            &dir.path().join("wgt-fc-1.npy"),
            &[3, 5],
            &seq(15, |i| i as f32 * 4000.0),
        )
        .unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("wgt-fc-1.npy") && e.contains("element 9 = 36000"),
            "{e}"
        );
    }

    #[test]
    fn shape_mismatches_are_refused() {
        let dir = good();
        // fc acts of 6 elements for weights (3, 5).
        npy::write_f32(&dir.path().join("act-fc-1-0.npy"), &[1, 6], &[0.0; 6]).unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(e.contains("act-fc-1-0.npy") && e.contains("[1, 6]"), "{e}");

        let dir = good();
        // conv acts of 3 channels: not a multiple of the 2 channels per group.
        npy::write_f32(
            &dir.path().join("act-conv1-0.npy"),
            &[1, 3, 3, 3],
            &[0.0; 27],
        )
        .unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(e.contains("C = 3"), "{e}");

        let dir = good();
        // second sample with another spatial size.
        npy::write_f32(
            &dir.path().join("act-conv1-1.npy"),
            &[1, 4, 2, 2],
            &[0.0; 16],
        )
        .unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(e.contains("act-conv1-1.npy"), "{e}");

        let dir = good();
        npy::write_f32(&dir.path().join("wgt-conv1.npy"), &[6, 8], &[0.0; 48]).unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("wgt-conv1.npy") && e.contains("(M, C/G, Kx, Ky)"),
            "{e}"
        );
    }

    #[test]
    fn fc_acts_from_a_conv_shaped_array_are_flattened() {
        let dir = good();
        npy::write_f32(&dir.path().join("wgt-fc-1.npy"), &[3, 8], &[1.0; 24]).unwrap();
        npy::write_f32(
            &dir.path().join("act-fc-1-0.npy"),
            &[1, 2, 2, 2],
            &seq(8, |i| i as f32),
        )
        .unwrap();
        npy::write_f32(
            &dir.path().join("act-fc-1-1.npy"),
            &[8],
            &seq(8, |i| i as f32),
        )
        .unwrap();
        let net = import_dnnsim(dir.path()).unwrap();
        assert_eq!(net.layers[1].geom, Geometry::Fc { c: 8, f: 3 });
        assert_eq!(net.layers[1].acts[&0].int_value(7), Some(7));
    }

    #[test]
    fn missing_files_are_named() {
        let dir = good();
        std::fs::remove_file(dir.path().join("wgt-conv1.npy")).unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(e.contains("wgt-conv1.npy"), "{e}");

        let dir = good();
        std::fs::remove_file(dir.path().join("act-fc-1-0.npy")).unwrap();
        std::fs::remove_file(dir.path().join("act-fc-1-1.npy")).unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(e.contains("act-fc-1-0.npy") && e.contains("'fc-1'"), "{e}");

        let dir = good();
        std::fs::remove_file(dir.path().join("act-fc-1-1.npy")).unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(e.contains("same samples"), "{e}");

        let dir = good();
        std::fs::remove_file(dir.path().join("model.csv")).unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(e.contains("model.csv"), "{e}");

        let e = import_dnnsim(Path::new("/nonexistent/trace"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/trace"), "{e}");
    }

    #[test]
    fn bad_model_csv_lines_name_the_line() {
        let dir = good();
        std::fs::write(
            dir.path().join("model.csv"),
            "conv1,conv,1,1\nfc-1,pool,1,0\n",
        )
        .unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(e.contains("model.csv:2") && e.contains("pool"), "{e}");
        std::fs::write(dir.path().join("model.csv"), "conv1,conv,x,1\n").unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(e.contains("model.csv:1") && e.contains("stride"), "{e}");
        std::fs::write(dir.path().join("model.csv"), "conv1,conv,1\n").unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(e.contains("4 fields"), "{e}");
        std::fs::write(
            dir.path().join("model.csv"),
            "conv1,conv,1,1\nconv1,conv,1,1\n",
        )
        .unwrap();
        let e = import_dnnsim(dir.path()).unwrap_err().to_string();
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn sample_files_of_prefix_named_layers_do_not_mix() {
        let files: Vec<String> = ["act-a-0.npy", "act-a-1-0.npy", "act-a-12.npy", "act-a-.npy"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = act_samples(&files, "a");
        assert_eq!(s.keys().copied().collect::<Vec<_>>(), vec![0, 12]);
        let s = act_samples(&files, "a-1");
        assert_eq!(s.keys().copied().collect::<Vec<_>>(), vec![0]);
    }
}
