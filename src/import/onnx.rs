//! ONNX models → [`Network`] (tract-onnx; cargo feature `onnx`). See docs/import.md.
//!
//! # How activations are captured
//!
//! The graph is read twice: as the ONNX protobuf, for the layer list and attributes,
//! and by tract as an `InferenceModel`, whose parser maps every ONNX value name to a
//! wire. Before the model is optimized, the input wire of every captured layer is added
//! to the model's outputs (after the original outputs). tract keeps every output wire
//! computed with its original meaning whatever it fuses or rewrites, so each run returns
//! exactly the tensor each layer consumed, with no hook into tract's internals.
//!
//! Weights, biases and BatchNorm parameters come from tract's analysis of the
//! un-optimized model: analysis evaluates every node whose inputs are all constant, so
//! a weight produced by a chain of constant nodes (a `Transpose` of an initializer, a
//! `Constant` node, a `Reshape`) is available as a plain tensor. A Gemm/MatMul whose B
//! operand is not constant multiplies two activations and is not a weight layer: it is
//! skipped, with a note. A Conv whose weights are not constant is refused.
//!
//! # Layers
//!
//! - `Conv` on an `(N, C, H, W)` input with weights `(F, C/G, KH, KW)`: any group count,
//!   stride and symmetric padding (explicit `pads`, `auto_pad=VALID`, or `SAME_*` when
//!   it works out symmetric); dilation other than 1 and asymmetric padding are refused.
//!   A `BatchNormalization` that is the only consumer of a Conv's output is folded into
//!   the conv: W'[f] = W[f]·γ_f/√(σ²_f+ε), b'_f = (b_f − μ_f)·γ_f/√(σ²_f+ε) + β_f.
//! - `Gemm` (A·op(B), any `transA`/`transB`, `alpha` folded into the weights) and
//!   `MatMul` with a constant 2-D B: an fc layer, weights `(F, C)`. A is `(N, C)` (or
//!   `(C,)`, or `(N, 1, …, 1, C)`).
//! - Each of the N batch rows of each input becomes one sample, in input order.
//!
//! Layer names are the ONNX node names (`OpType_index` when a node has none), made
//! unique and header-safe; file order is the graph's node order (ONNX requires it to be
//! topological, so it is an execution order).
//!
//! # `--check`
//!
//! The protobuf is edited: every captured layer's weight input is replaced by a new
//! initializer holding its dequantized weights in the layout the node expects (Gemm's
//! `alpha` attribute removed; a folded BatchNorm removed and its output wired to the
//! conv, which gets the folded bias). tract runs the edited model on every input and the
//! first output is compared with the float model's: top-1 agreement per batch row and
//! relative L2 error. Activations stay float in this check.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use tract_onnx::pb;
use tract_onnx::prelude::{
    tvec, Datum, Framework, InferenceFact, InferenceModelExt, OutletId, Tensor as TTensor,
};
use tract_onnx::tract_hir::infer::Factoid;

use super::input::InputTensor;
use super::quantize::{self, QuantStats};
use super::report::{short_enc, CheckResult, ImportReport, LayerReport};
use super::{header_safe, ImportOptions};
use crate::encoding::EncSpec;
use crate::error::{Error, Result};
use crate::model::{Conv, Geometry, Layer, Network};

/// What kind of node a captured layer is.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerOp {
    /// `Conv`.
    Conv,
    /// `Gemm` with its `transA`, `transB` and `alpha`.
    Gemm {
        trans_a: bool,
        trans_b: bool,
        alpha: f32,
    },
    /// `MatMul` with a constant B.
    MatMul,
}

/// One layer as captured, in float.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatLayer {
    /// Layer name (unique, header-safe).
    pub name: String,
    /// Index of the node in the ONNX graph.
    pub node: usize,
    /// The node's kind.
    pub op: LayerOp,
    /// Geometry.
    pub geom: Geometry,
    /// Weights `F,C/G,KH,KW` or `F,C`, BatchNorm and `alpha` folded in.
    pub weights: Vec<f32>,
    /// Conv bias after BatchNorm folding (None: no bias and no BatchNorm folded).
    pub bias: Option<Vec<f32>>,
    /// The BatchNormalization node folded into this conv (name, graph index).
    pub folded_bn: Option<(String, usize)>,
    /// The activation consumed, per sample (`C,H,W` or `C`).
    pub acts: Vec<Vec<f32>>,
}

/// Everything a float run of the model yields.
#[derive(Clone, Debug)]
pub struct Capture {
    /// Captured layers in execution order.
    pub layers: Vec<FloatLayer>,
    /// The model's first output, per input: (shape, values).
    pub outputs: Vec<(Vec<usize>, Vec<f32>)>,
    /// The input shape the model ran with.
    pub input_shape: Vec<usize>,
    /// Things worth knowing (skipped nodes…).
    pub notes: Vec<String>,
    proto: pb::ModelProto,
    model_dir: Option<String>,
}

/// Import an ONNX model: capture it on `inputs`, quantize, optionally check.
pub fn import_onnx(
    model_path: &Path,
    inputs: &[InputTensor],
    opts: &ImportOptions,
) -> Result<(Network, ImportReport)> {
    let cap = capture(model_path, inputs, opts.progress)?;
    let pb = progress_bar(opts.progress, cap.layers.len() as u64, "quantizing");
    let quantized: Vec<(Layer, LayerReport)> = cap
        .layers
        .par_iter()
        .map(|l| {
            let r = quantize_layer(l, opts);
            pb.inc(1);
            r
        })
        .collect::<Result<_>>()?;
    pb.finish_and_clear();
    let mut report = ImportReport {
        notes: cap.notes.clone(),
        ..ImportReport::default()
    };
    if opts.per_channel && matches!(opts.weights, EncSpec::Int(_)) {
        report
            .notes
            .push("--per-channel has no effect on int weights (one scale per tensor)".into());
    }
    let mut layers = Vec::with_capacity(quantized.len());
    for (l, r) in quantized {
        layers.push(l);
        report.layers.push(r);
    }
    if opts.check {
        report.check = Some(check(model_path, &cap, &layers, inputs, opts.progress)?);
    }
    let stem = model_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "onnx".into());
    let file = model_path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let net = Network {
        name: header_safe(opts.name.as_deref().unwrap_or(&stem)),
        source: Some(header_safe(&format!(
            "onnx:{file} weights={} acts={}{}{}",
            opts.weights,
            opts.acts,
            opts.prune
                .map(|f| format!(" prune={f}"))
                .unwrap_or_default(),
            if opts.per_channel { " per-channel" } else { "" }
        ))),
        layers,
    };
    Ok((net, report))
}

fn progress_bar(show: bool, len: u64, msg: &'static str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}  {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(msg);
    pb
}

/// Quantize one captured layer: weights as asked, each sample's activations separately
/// (one scale per sample tensor).
fn quantize_layer(l: &FloatLayer, opts: &ImportOptions) -> Result<(Layer, LayerReport)> {
    let in_layer = |e: Error| Error::invalid(format!("layer '{}': {e}", l.name));
    let wshape = l.geom.weight_shape();
    let (weights, wst) = quantize::quantize_weights(
        &l.weights,
        &wshape,
        opts.weights,
        opts.per_channel,
        opts.prune,
        None,
    )
    .map_err(in_layer)?;
    let ashape = l.geom.act_shape();
    let mut acts = std::collections::BTreeMap::new();
    let mut ast = Vec::new();
    let mut encs = Vec::new();
    for (k, a) in l.acts.iter().enumerate() {
        let (t, st) = quantize::quantize_acts(a, &ashape, opts.acts, None).map_err(in_layer)?;
        encs.push(short_enc(t.encoding()));
        acts.insert(k as u32, t);
        ast.push(st);
    }
    encs.dedup();
    let act_enc = match encs.len() {
        0 => None,
        1 => encs.pop(),
        _ => Some(format!("{} mixed", opts.acts)),
    };
    let report = LayerReport {
        name: l.name.clone(),
        geometry: l.geom.describe(),
        weight_enc: short_enc(weights.encoding()),
        weights: wst,
        act_enc,
        acts: (!ast.is_empty()).then(|| QuantStats::merge(&ast)),
        folded_bn: l.folded_bn.as_ref().map(|(n, _)| n.clone()),
        notes: Vec::new(),
    };
    let layer = Layer {
        name: l.name.clone(),
        geom: l.geom,
        weights,
        acts,
    };
    Ok((layer, report))
}

/// Conv attributes as written in the node.
#[derive(Clone, Debug, Default)]
struct ConvAttrs {
    auto_pad: String,
    group: usize,
    kernel: Option<Vec<i64>>,
    pads: Option<Vec<i64>>,
    strides: Option<Vec<i64>>,
}

/// A layer found in the protobuf, before running anything.
#[derive(Clone, Debug)]
struct Plan {
    node: usize,
    name: String,
    op: LayerOp,
    conv: ConvAttrs,
    act: String,
    weight: String,
    bias: Option<String>,
    bn: Option<BnPlan>,
}

#[derive(Clone, Debug)]
struct BnPlan {
    node: usize,
    name: String,
    params: [String; 4], // scale, B, mean, var
    eps: f32,
}

fn attr<'a>(n: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

fn attr_i(n: &pb::NodeProto, name: &str, default: i64) -> i64 {
    attr(n, name).map_or(default, |a| a.i)
}

fn attr_f(n: &pb::NodeProto, name: &str, default: f32) -> f32 {
    attr(n, name).map_or(default, |a| a.f)
}

fn attr_ints(n: &pb::NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(n, name).map(|a| a.ints.clone())
}

fn node_label(n: &pb::NodeProto, i: usize) -> String {
    if n.name.is_empty() {
        format!("{}_{i}", n.op_type)
    } else {
        n.name.clone()
    }
}

fn is_onnx_domain(n: &pb::NodeProto) -> bool {
    n.domain.is_empty() || n.domain == "ai.onnx"
}

/// Compute nodes with weights that are not imported (noted in the report).
const NOT_IMPORTED: [&str; 6] = [
    "ConvTranspose",
    "ConvInteger",
    "QLinearConv",
    "MatMulInteger",
    "QLinearMatMul",
    "Einsum",
];

/// Find the layers (and foldable BatchNorms) in the graph; refuse what cannot be
/// imported; note the weighted nodes that are left out.
fn plan(graph: &pb::GraphProto, path: &Path, notes: &mut Vec<String>) -> Result<Vec<Plan>> {
    let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in graph.node.iter().enumerate() {
        for inp in n.input.iter().filter(|s| !s.is_empty()) {
            consumers.entry(inp.as_str()).or_default().push(i);
        }
    }
    let graph_outputs: HashSet<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
    let mut plans = Vec::new();
    let mut used = HashSet::new();
    for (i, n) in graph.node.iter().enumerate() {
        if !is_onnx_domain(n) || !matches!(n.op_type.as_str(), "Conv" | "Gemm" | "MatMul") {
            if NOT_IMPORTED.contains(&n.op_type.as_str()) {
                notes.push(format!(
                    "{} node '{}' is not imported (only Conv, Gemm and MatMul layers are)",
                    n.op_type,
                    node_label(n, i)
                ));
            }
            continue;
        }
        let label = node_label(n, i);
        let refuse = |msg: String| {
            Error::invalid(format!(
                "{}: {} node '{label}': {msg}",
                path.display(),
                n.op_type
            ))
        };
        if n.input.len() < 2 || n.input[0].is_empty() || n.input[1].is_empty() {
            return Err(refuse("needs an input and a weight operand".into()));
        }
        let mut conv = ConvAttrs::default();
        let op = match n.op_type.as_str() {
            "Conv" => {
                if let Some(d) = attr_ints(n, "dilations") {
                    if d.iter().any(|&x| x != 1) {
                        return Err(refuse(format!(
                            "dilations {d:?} are not supported; only dilation 1 can be simulated"
                        )));
                    }
                }
                conv.auto_pad = attr(n, "auto_pad")
                    .map(|a| String::from_utf8_lossy(&a.s).into_owned())
                    .unwrap_or_default();
                conv.group = attr_i(n, "group", 1).max(1) as usize;
                conv.kernel = attr_ints(n, "kernel_shape");
                conv.pads = attr_ints(n, "pads");
                conv.strides = attr_ints(n, "strides");
                if let Some(p) = &conv.pads {
                    let k = p.len() / 2;
                    if p.len() % 2 != 0 || p[..k] != p[k..] {
                        return Err(refuse(format!(
                            "asymmetric padding pads={p:?} is not supported: the begin and end padding of each axis must be equal (pad explicitly with a Pad node, or export with symmetric padding)"
                        )));
                    }
                }
                LayerOp::Conv
            }
            "Gemm" => LayerOp::Gemm {
                trans_a: attr_i(n, "transA", 0) != 0,
                trans_b: attr_i(n, "transB", 0) != 0,
                alpha: attr_f(n, "alpha", 1.0),
            },
            _ => LayerOp::MatMul,
        };
        let bn = if op == LayerOp::Conv {
            let out = n.output.first().map(String::as_str).unwrap_or("");
            match consumers.get(out).map(Vec::as_slice) {
                Some(&[j]) if !graph_outputs.contains(out) => {
                    let b = &graph.node[j];
                    let ok = b.op_type == "BatchNormalization"
                        && is_onnx_domain(b)
                        && b.input.len() == 5
                        && b.input[0] == out
                        && attr_i(b, "training_mode", 0) == 0
                        && b.output.iter().skip(1).all(|o| o.is_empty());
                    ok.then(|| BnPlan {
                        node: j,
                        name: node_label(b, j),
                        params: [
                            b.input[1].clone(),
                            b.input[2].clone(),
                            b.input[3].clone(),
                            b.input[4].clone(),
                        ],
                        eps: attr_f(b, "epsilon", 1e-5),
                    })
                }
                _ => None,
            }
        } else {
            None
        };
        // Unique, header-safe names.
        let base = header_safe(&label);
        let mut name = base.clone();
        let mut k = 2;
        while !used.insert(name.clone()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        let bias = match op {
            LayerOp::Conv => n.input.get(2).filter(|s| !s.is_empty()).cloned(),
            _ => None,
        };
        plans.push(Plan {
            node: i,
            name,
            op,
            conv,
            act: n.input[0].clone(),
            weight: n.input[1].clone(),
            bias,
            bn,
        });
    }
    Ok(plans)
}

fn tract_err<'a>(
    path: &'a Path,
    what: &str,
) -> impl Fn(tract_onnx::prelude::TractError) -> Error + 'a {
    let what = what.to_string();
    move |e| Error::invalid(format!("{}: {what}: {e:#}", path.display()))
}

fn to_f32(
    t: &TTensor,
) -> std::result::Result<(Vec<usize>, Vec<f32>), tract_onnx::prelude::TractError> {
    let c = t.cast_to::<f32>()?;
    Ok((t.shape().to_vec(), c.as_slice::<f32>()?.to_vec()))
}

fn load_proto(path: &Path) -> Result<pb::ModelProto> {
    std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
    tract_onnx::onnx()
        .proto_model_for_path(path)
        .map_err(tract_err(path, "not a readable ONNX model"))
}

/// Run the float model on every input and capture each layer's weights and consumed
/// activations (see the module docs).
pub fn capture(model_path: &Path, inputs: &[InputTensor], progress: bool) -> Result<Capture> {
    let path = model_path;
    if inputs.is_empty() {
        return Err(Error::invalid(
            "an ONNX import needs at least one input tensor",
        ));
    }
    let proto = load_proto(path)?;
    let graph = proto
        .graph
        .as_ref()
        .ok_or_else(|| Error::invalid(format!("{}: the model has no graph", path.display())))?;
    let mut notes = Vec::new();
    let mut plans = plan(graph, path, &mut notes)?;
    if plans.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no Conv, Gemm or MatMul node found; nothing to import",
            path.display()
        )));
    }
    let model_dir = path.parent().and_then(|d| d.to_str()).map(String::from);
    let onnx = tract_onnx::onnx();
    let parsed = onnx
        .parse(&proto, model_dir.as_deref())
        .map_err(tract_err(path, "tract cannot read the model"))?;
    if !parsed.unresolved_inputs.is_empty() {
        return Err(Error::invalid(format!(
            "{}: the graph uses undefined values {:?}",
            path.display(),
            parsed.unresolved_inputs
        )));
    }
    let mut model = parsed.model;
    let by_name = parsed.outlets_by_name;
    let input_shape = input_shape(&model, inputs, path)?;
    model
        .set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), &*input_shape))
        .map_err(tract_err(path, "cannot set the input shape"))?;

    // Extra outputs: the input wire of every layer, after the original outputs.
    let mut outs: Vec<OutletId> = model
        .output_outlets()
        .map_err(tract_err(path, "no outputs"))?
        .to_vec();
    if outs.is_empty() {
        return Err(Error::invalid(format!(
            "{}: the model has no outputs",
            path.display()
        )));
    }
    let mut out_ix: HashMap<String, usize> = HashMap::new();
    for p in &plans {
        if out_ix.contains_key(&p.act) {
            continue;
        }
        let o = *by_name.get(&p.act).ok_or_else(|| {
            Error::invalid(format!(
                "{}: layer '{}' reads value '{}', which no node produces",
                path.display(),
                p.name,
                p.act
            ))
        })?;
        let ix = outs.iter().position(|x| *x == o).unwrap_or_else(|| {
            outs.push(o);
            outs.len() - 1
        });
        out_ix.insert(p.act.clone(), ix);
    }
    model
        .set_output_outlets(&outs)
        .map_err(tract_err(path, "cannot observe layer inputs"))?;
    model
        .analyse(false)
        .map_err(tract_err(path, "tract cannot analyse the model"))?;

    // Constant operands, as analysis left them.
    let konst = |name: &str| -> Option<Arc<TTensor>> {
        let o = by_name.get(name)?;
        model.outlet_fact(*o).ok()?.value.concretize()
    };
    let mut consts: Vec<Consts> = Vec::new();
    let mut keep = Vec::new();
    for p in plans.drain(..) {
        let Some(w) = konst(&p.weight) else {
            if p.op == LayerOp::Conv {
                return Err(Error::invalid(format!(
                    "{}: Conv node '{}': the weights '{}' are not constant; only fixed weights can be imported",
                    path.display(),
                    p.name,
                    p.weight
                )));
            }
            notes.push(format!(
                "{} node '{}' skipped: its B operand '{}' is not constant (a product of two activations, not a weight layer)",
                op_name(&p.op),
                p.name,
                p.weight
            ));
            continue;
        };
        let conv_err = tract_err(path, "cannot read a constant");
        let w = to_f32(&w).map_err(&conv_err)?;
        let bias = match &p.bias {
            Some(b) => {
                let t = konst(b).ok_or_else(|| {
                    Error::invalid(format!(
                        "{}: Conv node '{}': the bias '{b}' is not constant",
                        path.display(),
                        p.name
                    ))
                })?;
                Some(to_f32(&t).map_err(&conv_err)?.1)
            }
            None => None,
        };
        let bn = match &p.bn {
            Some(bn) => {
                let vals: Option<Vec<Arc<TTensor>>> = bn.params.iter().map(|n| konst(n)).collect();
                match vals {
                    Some(v) => {
                        let mut out = Vec::new();
                        for t in v {
                            out.push(to_f32(&t).map_err(&conv_err)?.1);
                        }
                        Some(out)
                    }
                    None => {
                        notes.push(format!(
                            "BatchNormalization '{}' after '{}' not folded: its parameters are not constant",
                            bn.name, p.name
                        ));
                        None
                    }
                }
            }
            None => None,
        };
        consts.push(Consts { w, bias, bn });
        keep.push(p);
    }
    let plans = keep;
    if plans.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no layer with constant weights found; nothing to import",
            path.display()
        )));
    }

    let runnable = model
        .into_optimized()
        .and_then(|m| m.into_runnable())
        .map_err(tract_err(path, "tract cannot optimize the model"))?;
    let pb = progress_bar(progress, inputs.len() as u64, "running the float model");
    let mut outputs = Vec::new();
    // Per input, per observed output index: (shape, values).
    let mut runs: Vec<Vec<(Vec<usize>, Vec<f32>)>> = Vec::new();
    for inp in inputs {
        let t = TTensor::from_shape(&input_shape, &inp.data)
            .map_err(tract_err(path, "bad input tensor"))?;
        let res = runnable.run(tvec!(t.into())).map_err(tract_err(
            path,
            &format!("running the model on {}", inp.name),
        ))?;
        let vals: Vec<(Vec<usize>, Vec<f32>)> = res
            .iter()
            .map(|v| to_f32(v))
            .collect::<std::result::Result<_, _>>()
            .map_err(tract_err(path, "reading an output"))?;
        outputs.push(vals[0].clone());
        runs.push(vals);
        pb.inc(1);
    }
    pb.finish_and_clear();

    let mut layers = Vec::with_capacity(plans.len());
    for (p, c) in plans.iter().zip(consts) {
        let per_run: Vec<&(Vec<usize>, Vec<f32>)> =
            runs.iter().map(|r| &r[out_ix[&p.act]]).collect();
        layers.push(build_layer(p, c, &per_run, path)?);
    }
    // Every layer must see the same number of samples.
    if let Some(first) = layers.first() {
        if let Some(l) = layers.iter().find(|l| l.acts.len() != first.acts.len()) {
            return Err(Error::invalid(format!(
                "{}: layer '{}' sees {} batch rows but layer '{}' sees {}; every layer must see the same batch",
                path.display(),
                first.name,
                first.acts.len(),
                l.name,
                l.acts.len()
            )));
        }
    }
    Ok(Capture {
        layers,
        outputs,
        input_shape,
        notes,
        proto,
        model_dir,
    })
}

struct Consts {
    w: (Vec<usize>, Vec<f32>),
    bias: Option<Vec<f32>>,
    bn: Option<Vec<Vec<f32>>>,
}

fn op_name(op: &LayerOp) -> &'static str {
    match op {
        LayerOp::Conv => "Conv",
        LayerOp::Gemm { .. } => "Gemm",
        LayerOp::MatMul => "MatMul",
    }
}

/// The input shape: the first input's, with a leading 1 added when the model's declared
/// rank is one more (a `(3, H, W)` array for a `(N, 3, H, W)` model). All inputs must
/// have it.
fn input_shape(
    model: &tract_onnx::prelude::InferenceModel,
    inputs: &[InputTensor],
    path: &Path,
) -> Result<Vec<usize>> {
    let n = model
        .input_outlets()
        .map_err(tract_err(path, "no inputs"))?
        .len();
    if n != 1 {
        return Err(Error::invalid(format!(
            "{}: the model has {n} inputs; mltq import handles single-input models",
            path.display()
        )));
    }
    let declared = model
        .input_fact(0)
        .ok()
        .and_then(|f| f.shape.rank().concretize());
    let mut shape = inputs[0].shape.clone();
    if declared == Some(shape.len() as i64 + 1) {
        shape.insert(0, 1);
    }
    for inp in inputs {
        let n: usize = shape.iter().product();
        if inp.data.len() != n || (inp.shape != shape && inp.shape[..] != shape[1..]) {
            return Err(Error::invalid(format!(
                "{}: shape {:?} differs from the first input's {:?}; all inputs must have one shape",
                inp.name, inp.shape, inputs[0].shape
            )));
        }
    }
    if let Some(r) = declared {
        if r != shape.len() as i64 {
            return Err(Error::invalid(format!(
                "{}: has shape {:?} (rank {}) but the model takes rank-{r} inputs",
                inputs[0].name,
                inputs[0].shape,
                inputs[0].shape.len()
            )));
        }
    }
    Ok(shape)
}

fn build_layer(
    p: &Plan,
    c: Consts,
    runs: &[&(Vec<usize>, Vec<f32>)],
    path: &Path,
) -> Result<FloatLayer> {
    let refuse = |msg: String| {
        Error::invalid(format!(
            "{}: {} node '{}': {msg}",
            path.display(),
            op_name(&p.op),
            p.name
        ))
    };
    let (wshape, wdata) = c.w;
    let act_shape = &runs[0].0;
    let mut acts = Vec::new();
    let (geom, mut weights, mut bias, mut folded_bn) = match p.op {
        LayerOp::Conv => {
            let [f, cg, kh, kw] = wshape[..] else {
                return Err(refuse(format!(
                    "weights of shape {wshape:?}; only 2-D convolutions (weights F,C/G,KH,KW) are supported"
                )));
            };
            let [_, ch, h, w] = act_shape[..] else {
                return Err(refuse(format!(
                    "input of shape {act_shape:?}; only 2-D convolutions on N,C,H,W tensors are supported"
                )));
            };
            let g = p.conv.group;
            if cg * g != ch {
                return Err(refuse(format!(
                    "input has {ch} channels but weights have {cg} per group × group={g}"
                )));
            }
            if let Some(k) = &p.conv.kernel {
                if k[..] != [kh as i64, kw as i64] {
                    return Err(refuse(format!(
                        "kernel_shape {k:?} differs from the weights' {kh}x{kw}"
                    )));
                }
            }
            let (sh, sw) = match p.conv.strides.as_deref() {
                None => (1, 1),
                Some(&[a, b]) if a >= 1 && b >= 1 => (a as usize, b as usize),
                Some(s) => {
                    return Err(refuse(format!("strides {s:?} are not two positive values")))
                }
            };
            let (ph, pw) = match p.conv.auto_pad.as_str() {
                "" | "NOTSET" => match p.conv.pads.as_deref() {
                    None => (0, 0),
                    Some(&[a, b, _, _]) if a >= 0 && b >= 0 => (a as usize, b as usize),
                    Some(x) => {
                        return Err(refuse(format!(
                            "pads {x:?} are not four nonnegative values"
                        )))
                    }
                },
                "VALID" => (0, 0),
                "SAME_UPPER" | "SAME_LOWER" => {
                    let same = |len: usize, k: usize, s: usize| -> Option<usize> {
                        let total = ((len.div_ceil(s) - 1) * s + k).saturating_sub(len);
                        total.is_multiple_of(2).then_some(total / 2)
                    };
                    match (same(h, kh, sh), same(w, kw, sw)) {
                        (Some(a), Some(b)) => (a, b),
                        _ => {
                            return Err(refuse(format!(
                                "auto_pad={} on a {h}x{w} input with kernel {kh}x{kw} and stride {sh}x{sw} pads asymmetrically, which is not supported",
                                p.conv.auto_pad
                            )))
                        }
                    }
                }
                other => return Err(refuse(format!("unknown auto_pad `{other}`"))),
            };
            let geom = Geometry::Conv(Conv {
                c: ch,
                h,
                w,
                f,
                kh,
                kw,
                sh,
                sw,
                ph,
                pw,
                groups: g,
            });
            geom.validate().map_err(|e| refuse(e.to_string()))?;
            for r in runs {
                if r.0 != *act_shape {
                    return Err(refuse(format!(
                        "input shapes differ between runs: {:?} and {:?}",
                        act_shape, r.0
                    )));
                }
                let per = ch * h * w;
                for n in 0..r.0[0] {
                    acts.push(r.1[n * per..(n + 1) * per].to_vec());
                }
            }
            (geom, wdata, c.bias, None)
        }
        LayerOp::Gemm { .. } | LayerOp::MatMul => {
            let [r0, r1] = wshape[..] else {
                return Err(refuse(format!(
                    "B of shape {wshape:?}; only 2-D constant weights are supported"
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
            // A: rows = samples.
            let (rows, ac) = match (&p.op, &act_shape[..]) {
                (LayerOp::Gemm { .. }, &[a, b]) => {
                    if trans_a {
                        (b, a)
                    } else {
                        (a, b)
                    }
                }
                (LayerOp::MatMul, [c]) => (1, *c),
                (LayerOp::MatMul, s) if s.len() >= 2 && s[1..s.len() - 1].iter().all(|&d| d == 1) => {
                    (s[0], s[s.len() - 1])
                }
                _ => {
                    return Err(refuse(format!(
                        "input A of shape {act_shape:?}; only one vector per sample ((N, C) or (C,)) is supported"
                    )))
                }
            };
            if ac != cin {
                return Err(refuse(format!(
                    "input has {ac} features but the weights expect {cin}"
                )));
            }
            for r in runs {
                if r.0 != *act_shape {
                    return Err(refuse(format!(
                        "input shapes differ between runs: {:?} and {:?}",
                        act_shape, r.0
                    )));
                }
                for n in 0..rows {
                    let row: Vec<f32> = if trans_a {
                        (0..cin).map(|j| r.1[j * rows + n]).collect()
                    } else {
                        r.1[n * cin..(n + 1) * cin].to_vec()
                    };
                    acts.push(row);
                }
            }
            let geom = Geometry::Fc { c: cin, f };
            geom.validate().map_err(|e| refuse(e.to_string()))?;
            (geom, w, None, None)
        }
    };
    if let (Some(bn), Some(vals)) = (&p.bn, c.bn) {
        let f = geom.filters();
        if vals.iter().any(|v| v.len() != f) {
            return Err(refuse(format!(
                "BatchNormalization '{}' has parameters of other length than the {f} filters",
                bn.name
            )));
        }
        let per = weights.len() / f;
        let mut b = bias.take().unwrap_or_else(|| vec![0.0; f]);
        for k in 0..f {
            let (gamma, beta, mean, var) = (
                vals[0][k] as f64,
                vals[1][k] as f64,
                vals[2][k] as f64,
                vals[3][k] as f64,
            );
            let factor = gamma / (var + bn.eps as f64).sqrt();
            for x in &mut weights[k * per..(k + 1) * per] {
                *x = (*x as f64 * factor) as f32;
            }
            b[k] = ((b[k] as f64 - mean) * factor + beta) as f32;
        }
        bias = Some(b);
        folded_bn = Some((bn.name.clone(), bn.node));
    }
    Ok(FloatLayer {
        name: p.name.clone(),
        node: p.node,
        op: p.op.clone(),
        geom,
        weights,
        bias,
        folded_bn,
        acts,
    })
}

fn float_init(name: String, dims: &[usize], data: Vec<f32>) -> pb::TensorProto {
    pb::TensorProto {
        name,
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        float_data: data,
        ..Default::default()
    }
}

/// The model with every captured layer's weights replaced by `quantized` (dequantized),
/// as described in the module docs.
pub fn with_weights(cap: &Capture, quantized: &[Layer]) -> Result<pb::ModelProto> {
    let mut proto = cap.proto.clone();
    let graph = proto
        .graph
        .as_mut()
        .ok_or_else(|| Error::invalid("the model has no graph"))?;
    let mut remove = Vec::new();
    for (i, (l, q)) in cap.layers.iter().zip(quantized).enumerate() {
        let deq: Vec<f32> = quantize::dequantize(&q.weights)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let wname = format!("mltq_check_{i}_weights");
        let (dims, data) = match (&l.op, l.geom) {
            (LayerOp::Conv, g) => (g.weight_shape(), deq),
            (LayerOp::Gemm { trans_b: true, .. }, Geometry::Fc { c, f }) => (vec![f, c], deq),
            (_, Geometry::Fc { c, f }) => {
                // (C, F): the transpose of the F,C weights.
                let mut t = vec![0f32; c * f];
                for i in 0..f {
                    for j in 0..c {
                        t[j * f + i] = deq[i * c + j];
                    }
                }
                (vec![c, f], t)
            }
            _ => unreachable!("fc ops always have fc geometry"),
        };
        graph
            .initializer
            .push(float_init(wname.clone(), &dims, data));
        let node = &mut graph.node[l.node];
        node.input[1] = wname;
        if let LayerOp::Gemm { .. } = l.op {
            node.attribute.retain(|a| a.name != "alpha");
        }
        if let Some((_, bn_ix)) = l.folded_bn {
            let bname = format!("mltq_check_{i}_bias");
            let bias = l
                .bias
                .clone()
                .unwrap_or_else(|| vec![0.0; l.geom.filters()]);
            graph
                .initializer
                .push(float_init(bname.clone(), &[bias.len()], bias));
            let node = &mut graph.node[l.node];
            if node.input.len() > 2 {
                node.input[2] = bname;
            } else {
                node.input.push(bname);
            }
            let bn_out = graph.node[bn_ix].output[0].clone();
            graph.node[l.node].output[0] = bn_out;
            remove.push(bn_ix);
        }
    }
    remove.sort_unstable();
    for ix in remove.into_iter().rev() {
        graph.node.remove(ix);
    }
    Ok(proto)
}

/// Run a model protobuf on the inputs; the first output of each run.
pub fn run_proto(
    proto: &pb::ModelProto,
    model_dir: Option<&str>,
    input_shape: &[usize],
    inputs: &[InputTensor],
    path: &Path,
) -> Result<Vec<(Vec<usize>, Vec<f32>)>> {
    let parsed = tract_onnx::onnx()
        .parse(proto, model_dir)
        .map_err(tract_err(path, "tract cannot read the edited model"))?;
    let mut model = parsed.model;
    model
        .set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), input_shape))
        .map_err(tract_err(path, "cannot set the input shape"))?;
    let plan = model
        .into_optimized()
        .and_then(|m| m.into_runnable())
        .map_err(tract_err(path, "tract cannot optimize the edited model"))?;
    inputs
        .iter()
        .map(|inp| {
            let t = TTensor::from_shape(input_shape, &inp.data)
                .map_err(tract_err(path, "bad input tensor"))?;
            let res = plan.run(tvec!(t.into())).map_err(tract_err(
                path,
                &format!("running the model on {}", inp.name),
            ))?;
            to_f32(&res[0]).map_err(tract_err(path, "reading the output"))
        })
        .collect()
}

fn check(
    path: &Path,
    cap: &Capture,
    quantized: &[Layer],
    inputs: &[InputTensor],
    progress: bool,
) -> Result<Vec<CheckResult>> {
    let pb = progress_bar(progress, 1, "checking with quantized weights");
    let proto = with_weights(cap, quantized)?;
    let got = run_proto(
        &proto,
        cap.model_dir.as_deref(),
        &cap.input_shape,
        inputs,
        path,
    )?;
    pb.finish_and_clear();
    Ok(inputs
        .iter()
        .zip(&cap.outputs)
        .zip(&got)
        .map(|((inp, (shape, want)), (_, have))| compare(&inp.name, shape, want, have))
        .collect())
}

/// Top-1 agreement per batch row (first axis when rank ≥ 2) and relative L2 error.
pub fn compare(name: &str, shape: &[usize], want: &[f32], have: &[f32]) -> CheckResult {
    let rows = if shape.len() >= 2 { shape[0].max(1) } else { 1 };
    let per = want.len() / rows.max(1);
    let argmax = |v: &[f32]| {
        v.iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| {
                if x > bv {
                    (i, x)
                } else {
                    (bi, bv)
                }
            })
            .0
    };
    let agree = (0..rows)
        .filter(|&r| {
            per > 0
                && argmax(&want[r * per..(r + 1) * per]) == argmax(&have[r * per..(r + 1) * per])
        })
        .count();
    let (num, den) = want
        .iter()
        .zip(have)
        .fold((0.0f64, 0.0f64), |(n, d), (&a, &b)| {
            let (a, b) = (a as f64, b as f64);
            (n + (a - b) * (a - b), d + a * a)
        });
    CheckResult {
        input: name.to_string(),
        top1_agree: agree,
        rows,
        rel_l2: if num == 0.0 { 0.0 } else { (num / den).sqrt() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_counts_rows_and_relative_error() {
        let c = compare(
            "x",
            &[2, 3],
            &[1.0, 3.0, 2.0, 0.0, 0.0, 1.0],
            &[1.0, 3.0, 2.0, 2.0, 0.0, 1.0],
        );
        assert_eq!((c.top1_agree, c.rows), (1, 2));
        assert!((c.rel_l2 - (4.0f64 / 15.0).sqrt()).abs() < 1e-12);
    }
}
