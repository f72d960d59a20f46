//! A captured node → a [`FloatLayer`]: geometry from the weights, the attributes and the
//! activation it consumed; the activation cut into samples; BatchNorm folded.
//!
//! - `Conv` with 4-D weights `(F, C/G, KH, KW)` on `(N, C, H, W)`, or 3-D weights
//!   `(F, C/G, K)` on `(N, C, L)` (a 1-D conv: H = 1). Padding that is not the same at
//!   both ends of an axis (explicit `pads`, or `auto_pad=SAME_*` with an odd total) is
//!   split: the common part stays padding, the rest becomes zero rows or columns of the
//!   input itself. The windows are exactly the node's, the output size and MACs too.
//! - `Gemm`/`MatMul` with a constant 2-D B. The activation A holds vectors along its
//!   last axis; the other axes hold P vectors per run. With N samples per run (the
//!   input's first axis): P = N is an fc layer (one vector per sample); otherwise the
//!   vectors of a sample form a sequence of T = P / N positions and the node is a 1×1
//!   convolution over them (`in=C,1,T`), the sample's rows found on the axis whose size
//!   is N (the first, `(N, T, C)`, or the second, `(T, N, C)`). When that axis cannot be
//!   told, the node is reported and not imported.

use std::path::Path;

use super::plan::Plan;
use super::proto::show_shape;
use super::{op_name, FloatLayer, LayerOp};
use crate::error::{Error, Result};
use crate::model::{Conv, Geometry};

/// A layer's constant operands, as analysis left them.
pub struct Consts {
    /// Weights: shape and values.
    pub w: (Vec<usize>, Vec<f32>),
    /// Conv bias.
    pub bias: Option<Vec<f32>>,
    /// Folded BatchNorm parameters: scale, B, mean, var.
    pub bn: Option<Vec<Vec<f32>>>,
}

/// What a captured node becomes.
pub enum Built {
    /// A layer.
    Layer(Box<FloatLayer>),
    /// Not imported: why, its weights and its MACs per sample.
    Skip {
        reason: String,
        weights: u64,
        macs: Option<u64>,
    },
}

/// One run's activation for a layer: (shape, values).
pub type Run = (Vec<usize>, Vec<f32>);

/// Build the layer of plan `p` from its constants and the activation of every run
/// (`n_in`: samples per run).
pub fn build_layer(p: &Plan, c: Consts, runs: &[&Run], n_in: usize, path: &Path) -> Result<Built> {
    let refuse = |msg: String| {
        Error::invalid(format!(
            "{}: {} node '{}': {msg}",
            path.display(),
            op_name(&p.op),
            p.name
        ))
    };
    let act_shape = &runs[0].0;
    for r in runs {
        if r.0 != *act_shape {
            return Err(refuse(format!(
                "its input shape differs between runs: {} and {}",
                show_shape(act_shape.iter()),
                show_shape(r.0.iter())
            )));
        }
    }
    let onnx_wshape = c.w.0.clone();
    let mut layer = match p.op {
        LayerOp::Conv => conv(p, &c, runs, &refuse)?,
        LayerOp::Gemm { .. } | LayerOp::MatMul => match product(p, &c, runs, n_in, &refuse)? {
            Ok(l) => l,
            Err(skip) => return Ok(skip),
        },
    };
    layer.onnx_wshape = onnx_wshape;
    if let (Some(bn), Some(vals)) = (&p.bn, &c.bn) {
        let f = layer.geom.filters();
        if vals.iter().any(|v| v.len() != f) {
            return Err(refuse(format!(
                "BatchNormalization '{}' has parameters of other length than the {f} filters",
                bn.name
            )));
        }
        let per = layer.weights.len() / f;
        let mut b = layer.bias.take().unwrap_or_else(|| vec![0.0; f]);
        for k in 0..f {
            let (gamma, beta, mean, var) = (
                vals[0][k] as f64,
                vals[1][k] as f64,
                vals[2][k] as f64,
                vals[3][k] as f64,
            );
            let factor = gamma / (var + bn.eps as f64).sqrt();
            for x in &mut layer.weights[k * per..(k + 1) * per] {
                *x = (*x as f64 * factor) as f32;
            }
            b[k] = ((b[k] as f64 - mean) * factor + beta) as f32;
        }
        layer.bias = Some(b);
        layer.folded_bn = Some((bn.name.clone(), bn.node));
    }
    Ok(Built::Layer(Box::new(layer)))
}

fn empty_layer(p: &Plan, geom: Geometry, weights: Vec<f32>) -> FloatLayer {
    FloatLayer {
        name: p.name.clone(),
        node: p.node,
        op: p.op.clone(),
        geom,
        weights,
        onnx_wshape: Vec::new(),
        bias: None,
        folded_bn: None,
        acts: Vec::new(),
        notes: Vec::new(),
    }
}

/// Padding of one axis: (begin, end).
type Pad = (usize, usize);

fn conv(
    p: &Plan,
    c: &Consts,
    runs: &[&Run],
    refuse: &dyn Fn(String) -> Error,
) -> Result<FloatLayer> {
    let (wshape, wdata) = (&c.w.0, &c.w.1);
    let act_shape = &runs[0].0;
    // Spatial axes: 2 (H, W) or 1 (L, as W with H = 1).
    let (f, cg, kh, kw, one_d) = match wshape[..] {
        [f, cg, kh, kw] => (f, cg, kh, kw, false),
        [f, cg, k] => (f, cg, 1, k, true),
        _ => {
            return Err(refuse(format!(
                "weights of shape {}; only 1-D and 2-D convolutions are supported",
                show_shape(wshape.iter())
            )))
        }
    };
    let (n, ch, h, w) = match (one_d, &act_shape[..]) {
        (false, &[n, ch, h, w]) => (n, ch, h, w),
        (true, &[n, ch, l]) => (n, ch, 1, l),
        _ => {
            return Err(refuse(format!(
                "input of shape {} for weights of shape {}",
                show_shape(act_shape.iter()),
                show_shape(wshape.iter())
            )))
        }
    };
    let axes = if one_d { 1 } else { 2 };
    let g = p.conv.group;
    if cg * g != ch {
        return Err(refuse(format!(
            "input has {ch} channels but weights have {cg} per group × group={g}"
        )));
    }
    let kernel: Vec<usize> = if one_d { vec![kw] } else { vec![kh, kw] };
    if let Some(k) = &p.conv.kernel {
        if k.iter().map(|&v| v as usize).ne(kernel.iter().copied()) {
            return Err(refuse(format!(
                "kernel_shape {k:?} differs from the weights' {kernel:?}"
            )));
        }
    }
    let strides: Vec<usize> = match p.conv.strides.as_deref() {
        None => vec![1; axes],
        Some(s) if s.len() == axes && s.iter().all(|&v| v >= 1) => {
            s.iter().map(|&v| v as usize).collect()
        }
        Some(s) => {
            return Err(refuse(format!(
                "strides {s:?} are not {axes} positive values"
            )))
        }
    };
    let sizes: Vec<usize> = if one_d { vec![w] } else { vec![h, w] };
    let pads: Vec<Pad> = match p.conv.auto_pad.as_str() {
        "" | "NOTSET" => match p.conv.pads.as_deref() {
            None => vec![(0, 0); axes],
            Some(x) if x.len() == 2 * axes && x.iter().all(|&v| v >= 0) => (0..axes)
                .map(|a| (x[a] as usize, x[a + axes] as usize))
                .collect(),
            Some(x) => {
                return Err(refuse(format!(
                    "pads {x:?} are not {} nonnegative values",
                    2 * axes
                )))
            }
        },
        "VALID" => vec![(0, 0); axes],
        mode @ ("SAME_UPPER" | "SAME_LOWER") => (0..axes)
            .map(|a| {
                let (len, k, s) = (sizes[a], kernel[a], strides[a]);
                let total = ((len.div_ceil(s) - 1) * s + k).saturating_sub(len);
                let small = total / 2;
                if mode == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                }
            })
            .collect(),
        other => return Err(refuse(format!("unknown auto_pad `{other}`"))),
    };
    let (ph, pv) = if one_d {
        ((0, 0), pads[0])
    } else {
        (pads[0], pads[1])
    };
    let (sh, sw) = if one_d {
        (1, strides[0])
    } else {
        (strides[0], strides[1])
    };
    // The common padding stays padding; the rest becomes input rows and columns.
    let (top, bottom) = (ph.0 - ph.0.min(ph.1), ph.1 - ph.0.min(ph.1));
    let (left, right) = (pv.0 - pv.0.min(pv.1), pv.1 - pv.0.min(pv.1));
    let (hh, ww) = (h + top + bottom, w + left + right);
    let geom = Geometry::Conv(Conv {
        c: ch,
        h: hh,
        w: ww,
        f,
        kh,
        kw,
        sh,
        sw,
        ph: ph.0.min(ph.1),
        pw: pv.0.min(pv.1),
        groups: g,
    });
    geom.validate().map_err(|e| refuse(e.to_string()))?;
    let mut layer = empty_layer(p, geom, wdata.clone());
    layer.bias = c.bias.clone();
    if one_d {
        layer.notes.push(format!(
            "1-D convolution: imported with H = 1 (in={ch}x1x{w})"
        ));
    }
    if (top, bottom, left, right) != (0, 0, 0, 0) {
        layer.notes.push(format!(
            "padding differs between the ends of an axis (top {}, bottom {}, left {}, right {}): \
             the extra {} are zeros of the input (in={ch}x{hh}x{ww}, pad {}x{})",
            ph.0,
            ph.1,
            pv.0,
            pv.1,
            match (top + bottom > 0, left + right > 0) {
                (true, true) => "rows and columns",
                (true, false) => "rows",
                _ => "columns",
            },
            ph.0.min(ph.1),
            pv.0.min(pv.1)
        ));
    }
    let per = ch * h * w;
    for r in runs {
        for k in 0..n {
            let x = &r.1[k * per..(k + 1) * per];
            if hh == h && ww == w {
                layer.acts.push(x.to_vec());
                continue;
            }
            let mut a = vec![0f32; ch * hh * ww];
            for ci in 0..ch {
                for y in 0..h {
                    let src = &x[(ci * h + y) * w..(ci * h + y + 1) * w];
                    let at = (ci * hh + y + top) * ww + left;
                    a[at..at + w].copy_from_slice(src);
                }
            }
            layer.acts.push(a);
        }
    }
    Ok(layer)
}

/// Gemm/MatMul: an fc layer, a 1×1 conv over a sequence, or a reason to skip it.
fn product(
    p: &Plan,
    c: &Consts,
    runs: &[&Run],
    n_in: usize,
    refuse: &dyn Fn(String) -> Error,
) -> Result<std::result::Result<FloatLayer, Built>> {
    let (wshape, wdata) = (&c.w.0, &c.w.1);
    let act_shape = &runs[0].0;
    let [r0, r1] = wshape[..] else {
        return Err(refuse(format!(
            "B of shape {}; only 2-D constant weights are supported",
            show_shape(wshape.iter())
        )));
    };
    let (trans_a, trans_b, alpha) = match p.op {
        LayerOp::Gemm {
            trans_a,
            trans_b,
            alpha,
        } => (trans_a, trans_b, alpha),
        _ => (false, false, 1.0),
    };
    // op(B) is (C, F): B itself when not transposed, else B is (F, C).
    let (cin, f) = if trans_b { (r1, r0) } else { (r0, r1) };
    let mut w = vec![0f32; f * cin];
    for i in 0..f {
        for j in 0..cin {
            let b = if trans_b {
                wdata[i * cin + j]
            } else {
                wdata[j * f + i]
            };
            w[i * cin + j] = alpha * b;
        }
    }
    // The vectors of A: `lead` (the axes before the vector axis) and their length.
    let (lead, ac): (Vec<usize>, usize) = match (&p.op, &act_shape[..]) {
        (LayerOp::Gemm { .. }, &[a, b]) => {
            if trans_a {
                (vec![b], a)
            } else {
                (vec![a], b)
            }
        }
        (LayerOp::MatMul, s) if !s.is_empty() => (s[..s.len() - 1].to_vec(), s[s.len() - 1]),
        _ => {
            return Err(refuse(format!(
                "input A of shape {}; expected (rows, C)",
                show_shape(act_shape.iter())
            )))
        }
    };
    if ac != cin {
        return Err(refuse(format!(
            "input has {ac} features but the weights expect {cin}"
        )));
    }
    let rows: usize = lead.iter().product();
    // Element j of vector r (C order over `lead`) of one run.
    let at = |v: &[f32], r: usize, j: usize| {
        if trans_a {
            v[j * rows + r]
        } else {
            v[r * cin + j]
        }
    };
    if rows == n_in {
        let geom = Geometry::Fc { c: cin, f };
        geom.validate().map_err(|e| refuse(e.to_string()))?;
        let mut layer = empty_layer(p, geom, w);
        for r in runs {
            for n in 0..rows {
                layer.acts.push((0..cin).map(|j| at(&r.1, n, j)).collect());
            }
        }
        return Ok(Ok(layer));
    }
    // A sequence: which axis of `lead` holds the sample index?
    let batch_axis = if n_in == 1 {
        None
    } else {
        let first = lead.first() == Some(&n_in);
        let second = lead.len() >= 2 && lead[1] == n_in;
        match (first, second) {
            (true, false) => Some(0),
            (false, true) => Some(1),
            _ => {
                let why = if first {
                    "its first two axes both have the batch size"
                } else {
                    "no axis has the batch size"
                };
                return Ok(Err(Built::Skip {
                    reason: format!(
                        "A of shape {} holds {rows} vectors for {n_in} samples and {why}, so the vectors of each sample cannot be told; give one sample per --input file",
                        show_shape(act_shape.iter())
                    ),
                    weights: wdata.len() as u64,
                    macs: Some((rows * cin * f / n_in) as u64),
                }));
            }
        }
    };
    let t = rows / n_in;
    let geom = Geometry::Conv(Conv {
        c: cin,
        h: 1,
        w: t,
        f,
        kh: 1,
        kw: 1,
        sh: 1,
        sw: 1,
        ph: 0,
        pw: 0,
        groups: 1,
    });
    geom.validate().map_err(|e| refuse(e.to_string()))?;
    let mut layer = empty_layer(p, geom, w);
    layer.notes.push(format!(
        "A of shape {} holds a sequence of {t} vectors per sample: imported as a 1x1 conv over {t} positions (in={cin}x1x{t})",
        show_shape(act_shape.iter())
    ));
    // Row r of A (C order over `lead`) → (sample, position).
    let (inner, batch_len) = match batch_axis {
        None => (rows, 1),
        Some(a) => (lead[a + 1..].iter().product::<usize>(), lead[a]),
    };
    for r in runs {
        let mut samples = vec![vec![0f32; cin * t]; n_in];
        for row in 0..rows {
            let (n, pos) = match batch_axis {
                None => (0, row),
                Some(_) => {
                    let outer = row / (inner * batch_len);
                    let n = (row / inner) % batch_len;
                    (n, outer * inner + row % inner)
                }
            };
            for j in 0..cin {
                samples[n][j * t + pos] = at(&r.1, row, j);
            }
        }
        layer.acts.extend(samples);
    }
    Ok(Ok(layer))
}
