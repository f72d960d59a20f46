//! ONNX models → [`Network`] (tract-onnx; cargo feature `onnx`). See docs/import.md.
//!
//! # From file to layers
//!
//! 1. [`proto`]: the file is read and recognized, its operators checked against what
//!    tract runs, its one input matched against the given tensors (fixed dims enforced,
//!    symbolic dims of any name bound) and declared with the given sizes.
//! 2. [`plan`]: the layer candidates (`Conv`, `Gemm`, `MatMul`), the BatchNorms that fold
//!    into a conv, and the other nodes that carry weights (recurrent cells, transposed
//!    convolutions, Einsum, integer operators), which are reported, never dropped
//!    silently.
//! 3. tract parses the bound model into an `InferenceModel` and analyses it. Analysis
//!    evaluates every node whose inputs are all constant, so a weight produced by a
//!    chain of constant nodes (a `Transpose` of an initializer, a `Constant`, a
//!    `Reshape`) is a plain tensor; a candidate whose weight operand is not constant
//!    multiplies two activations and is not a weight layer (noted).
//! 4. The input wire of every layer is added to the model's outputs (after the original
//!    outputs). tract keeps every output wire computing its original value whatever it
//!    fuses or rewrites, so one run per input returns the model's outputs and exactly
//!    the tensor each layer consumed, with no hook into tract's internals.
//! 5. [`layer`]: geometry and per-sample activations of each layer (convs of 1 or 2
//!    spatial axes; Gemm/MatMul as fc layers, or as 1×1 convs over the positions of a
//!    sequence), BatchNorm folded.
//!
//! Layer names are the ONNX node names (`OpType_index` when a node has none), made
//! unique and header-safe; file order is the graph's node order (ONNX requires it to be
//! topological, so it is an execution order). Each of the N rows of each input's batch
//! (its first axis) becomes one sample, in input order.
//!
//! [`check`] is `--check`; quantization and precision profiles happen here, per layer.

pub mod check;
mod layer;
mod plan;
pub mod proto;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use tract_onnx::pb;
use tract_onnx::prelude::{
    tvec, DatumType, InferenceFact, InferenceModelExt, OutletId, Tensor as TTensor,
};
use tract_onnx::tract_hir::infer::Factoid;

use super::input::InputTensor;
use super::precision::{self, Given, PrecisionFile, PrecisionSource};
use super::quantize::{self, QuantStats};
use super::report::{short_enc, ImportReport, LayerReport, Skipped};
use super::{header_safe, show_shape, ImportOptions};
use crate::encoding::EncSpec;
use crate::error::{Error, Result};
use crate::model::{Geometry, Layer, Network};
use layer::{build_layer, Built, Consts};
use plan::{MacRule, Plan};
pub use proto::{DeclaredInput, Dim, OnnxFile};

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
    /// The shape of the node's weight operand (to put weights back for `--check`).
    pub onnx_wshape: Vec<usize>,
    /// Conv bias after BatchNorm folding (None: no bias and no BatchNorm folded).
    pub bias: Option<Vec<f32>>,
    /// The BatchNormalization node folded into this conv (name, graph index).
    pub folded_bn: Option<(String, usize)>,
    /// The activation consumed, per sample (`C,H,W` or `C`).
    pub acts: Vec<Vec<f32>>,
    /// How the node was read (a sequence, a 1-D conv, padding made explicit).
    pub notes: Vec<String>,
}

/// One output of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// The output's name in the graph.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Values in C order, as f32.
    pub values: Vec<f32>,
}

/// Everything a float run of the model yields.
#[derive(Clone, Debug)]
pub struct Capture {
    /// Captured layers in execution order.
    pub layers: Vec<FloatLayer>,
    /// Weighted nodes that are not imported, in graph order.
    pub skipped: Vec<Skipped>,
    /// The model's outputs, per input.
    pub outputs: Vec<Vec<Output>>,
    /// The names of the model's outputs.
    pub output_names: Vec<String>,
    /// The input shape the model ran with.
    pub input_shape: Vec<usize>,
    /// The input's element type.
    pub input_dt: DatumType,
    /// Samples per run: the input's first axis (1 for a rank-1 input).
    pub samples_per_run: usize,
    /// Things worth knowing (nodes that are not weight layers…).
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
    import_onnx_file(&OnnxFile::open(model_path)?, inputs, opts)
}

/// [`import_onnx`] of a file already opened.
pub fn import_onnx_file(
    file: &OnnxFile,
    inputs: &[InputTensor],
    opts: &ImportOptions,
) -> Result<(Network, ImportReport)> {
    let int_w = matches!(opts.weights, EncSpec::Int(_));
    let int_a = matches!(opts.acts, EncSpec::Int(_));
    if opts.precision != PrecisionSource::Full && !int_w && !int_a {
        return Err(Error::invalid(format!(
            "precisions apply to int tensors, but --weights is {} and --acts is {}; give --weights int:B or --acts int:B",
            opts.weights, opts.acts
        )));
    }
    let prec_file = match &opts.precision {
        PrecisionSource::File(p) => Some(PrecisionFile::read(p)?),
        _ => None,
    };
    let cap = capture_file(file, inputs, opts.progress)?;
    if opts.strict && !cap.skipped.is_empty() {
        let list: Vec<String> = cap
            .skipped
            .iter()
            .take(4)
            .map(|s| format!("{} '{}' ({} weights)", s.op, s.name, s.weights))
            .collect();
        let n = cap.skipped.len();
        return Err(Error::invalid(format!(
            "{}: --strict: {n} node{} with weights would not be imported: {}{}\nhint: without --strict they are listed in the import report and recorded in the model's source",
            file.shown(),
            if n == 1 { "" } else { "s" },
            list.join(", "),
            if n > 4 { ", …" } else { "" }
        )));
    }
    let names: Vec<&str> = cap.layers.iter().map(|l| l.name.as_str()).collect();
    let given: Vec<Given> = match &prec_file {
        Some(f) => f.for_layers(&names)?,
        None => vec![Given::default(); names.len()],
    };
    let pb = progress_bar(opts.progress, cap.layers.len() as u64, "quantizing");
    let quantized: Vec<(Layer, LayerReport)> = cap
        .layers
        .par_iter()
        .zip(&given)
        .map(|(l, g)| {
            let r = quantize_layer(l, opts, *g, prec_file.as_ref());
            pb.inc(1);
            r
        })
        .collect::<Result<_>>()?;
    pb.finish_and_clear();
    let mut report = ImportReport {
        notes: cap.notes.clone(),
        skipped: Some(cap.skipped.clone()),
        ..ImportReport::default()
    };
    if opts.per_channel && int_w {
        report
            .notes
            .push("--per-channel has no effect on int weights (one scale per tensor)".into());
    }
    match (&opts.precision, &prec_file) {
        (PrecisionSource::Profile { tolerance }, _) => {
            report.precision = Some(format!(
                "profiled: per tensor, the smallest whose relative L2 quantization error is at most {tolerance} (see docs/import.md for how this relates to accuracy)"
            ));
        }
        (_, Some(f)) => {
            report.precision = Some(format!(
                "from {} ({}){}",
                f.path.display(),
                f.layout(),
                match (int_w, int_a) {
                    (false, _) => format!(
                        "; its weight precisions are not used: --weights {} has no precision",
                        opts.weights
                    ),
                    (_, false) => format!(
                        "; its activation precisions are not used: --acts {} has no precision",
                        opts.acts
                    ),
                    _ => String::new(),
                }
            ));
        }
        _ => {}
    }
    let mut layers = Vec::with_capacity(quantized.len());
    for (l, r) in quantized {
        layers.push(l);
        report.layers.push(r);
    }
    if opts.check {
        let pb = progress_bar(opts.progress, 1, "checking with quantized weights");
        report.check = Some(check::check(&file.path, &cap, &layers, inputs)?);
        pb.finish_and_clear();
    }
    let stem = file
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "onnx".into());
    let net = Network {
        name: header_safe(opts.name.as_deref().unwrap_or(&stem)),
        source: Some(header_safe(&source(file, opts, &cap.skipped))),
        layers,
    };
    Ok((net, report))
}

/// The `network source=…` text: the file, the options, every node not imported.
fn source(file: &OnnxFile, opts: &ImportOptions, skipped: &[Skipped]) -> String {
    let name = file
        .path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut s = format!("onnx:{name} weights={} acts={}", opts.weights, opts.acts);
    if let Some(f) = opts.prune {
        s += &format!(" prune={f}");
    }
    if opts.per_channel {
        s += " per-channel";
    }
    match &opts.precision {
        PrecisionSource::Full => {}
        PrecisionSource::File(p) => {
            let f = p.file_name().map(|f| f.to_string_lossy().into_owned());
            s += &format!(" precision=file:{}", f.unwrap_or_default());
        }
        PrecisionSource::Profile { tolerance } => {
            s += &format!(" precision=profile:{tolerance}");
        }
    }
    if !skipped.is_empty() {
        let list: Vec<String> = skipped
            .iter()
            .map(|k| format!("{}:{}:{}", k.op, k.name, k.weights))
            .collect();
        s += &format!(" not-imported={}", list.join(","));
    }
    s
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
/// (one scale per sample tensor), int precisions as given, profiled or full.
fn quantize_layer(
    l: &FloatLayer,
    opts: &ImportOptions,
    given: Given,
    file: Option<&PrecisionFile>,
) -> Result<(Layer, LayerReport)> {
    let in_layer = |e: Error| Error::invalid(format!("layer '{}': {e}", l.name));
    let from_file = |what: &str, p: u32, lo: u8, b: u8, signed: bool| -> Result<u8> {
        let shown = file
            .map(|f| f.path.display().to_string())
            .unwrap_or_default();
        if p > b as u32 {
            return Err(Error::invalid(format!(
                "{shown}: layer '{}': {what} precision {p} is more than the int:{b} width; give --{} int:{p} or more",
                l.name,
                if what == "weight" { "weights" } else { "acts" }
            )));
        }
        if (p as u8) < lo {
            return Err(Error::invalid(format!(
                "{shown}: layer '{}': {what} precision {p} is too small for {} values (at least {lo} bits: a sign and a magnitude bit)",
                l.name,
                if signed { "signed" } else { "unsigned" }
            )));
        }
        Ok(p as u8)
    };
    let wshape = l.geom.weight_shape();
    let (wprec, wpick) = match (opts.weights, &opts.precision) {
        (EncSpec::Int(b), PrecisionSource::Profile { tolerance }) => {
            let (input, zeros) =
                quantize::prepare_weights(&l.weights, &wshape, opts.weights, opts.prune)
                    .map_err(in_layer)?;
            let pick = precision::profile(2, b, *tolerance, |p| {
                Ok(quantize::int_at(&input, &wshape, b, p, true, zeros)?
                    .1
                    .rel_l2_error)
            })
            .map_err(in_layer)?;
            (Some(pick.precision), Some(pick))
        }
        (EncSpec::Int(b), PrecisionSource::File(_)) => match given.weights {
            Some(p) => (Some(from_file("weight", p, 2, b, true)?), None),
            None => (None, None),
        },
        _ => (None, None),
    };
    let (weights, wst) = quantize::quantize_weights(
        &l.weights,
        &wshape,
        opts.weights,
        opts.per_channel,
        opts.prune,
        wprec,
    )
    .map_err(in_layer)?;
    let ashape = l.geom.act_shape();
    let signed = l.acts.iter().any(|a| a.iter().any(|&v| v < 0.0));
    let lo = if signed { 2 } else { 1 };
    let (aprec, apick) = match (opts.acts, &opts.precision) {
        (EncSpec::Int(b), PrecisionSource::Profile { tolerance }) => {
            let pick = precision::profile(lo, b, *tolerance, |p| {
                let st: Vec<QuantStats> = l
                    .acts
                    .iter()
                    .map(|a| Ok(quantize::quantize_acts(a, &ashape, opts.acts, Some(p))?.1))
                    .collect::<Result<_>>()?;
                Ok(QuantStats::merge(&st).rel_l2_error)
            })
            .map_err(in_layer)?;
            (Some(pick.precision), Some(pick))
        }
        (EncSpec::Int(b), PrecisionSource::File(_)) => match given.acts {
            Some(p) => (Some(from_file("activation", p, lo, b, signed)?), None),
            None => (None, None),
        },
        _ => (None, None),
    };
    let mut acts = std::collections::BTreeMap::new();
    let mut ast = Vec::new();
    let mut encs = Vec::new();
    for (k, a) in l.acts.iter().enumerate() {
        let (t, st) = quantize::quantize_acts(a, &ashape, opts.acts, aprec).map_err(in_layer)?;
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
        notes: l.notes.clone(),
        macs: l.geom.macs(),
        weight_precision: wpick,
        act_precision: apick,
    };
    let layer = Layer {
        name: l.name.clone(),
        geom: l.geom,
        weights,
        acts,
    };
    Ok((layer, report))
}

/// `MODEL: what: tract's message` on one line.
pub(super) fn tract_err<'a>(
    path: &'a Path,
    what: &str,
) -> impl Fn(tract_onnx::prelude::TractError) -> Error + 'a {
    let what = what.to_string();
    move |e| {
        Error::invalid(format!(
            "{}: {what}: {}",
            path.display(),
            proto::one_line(&e)
        ))
    }
}

fn to_f32(
    t: &TTensor,
) -> std::result::Result<(Vec<usize>, Vec<f32>), tract_onnx::prelude::TractError> {
    let c = t.cast_to::<f32>()?;
    Ok((t.shape().to_vec(), c.as_slice::<f32>()?.to_vec()))
}

/// An input as the tensor tract is given: `shape`, element type `dt` (integer types
/// need integer values in range).
fn input_tensor(inp: &InputTensor, shape: &[usize], dt: DatumType, path: &Path) -> Result<TTensor> {
    let t = TTensor::from_shape(shape, &inp.data).map_err(tract_err(path, "bad input tensor"))?;
    if dt == DatumType::F32 {
        return Ok(t);
    }
    if dt.is_integer() {
        let (lo, hi) = int_range(dt);
        if let Some((i, v)) = inp
            .data
            .iter()
            .enumerate()
            .find(|(_, v)| v.fract() != 0.0 || (**v as f64) < lo || (**v as f64) > hi)
        {
            return Err(Error::invalid(format!(
                "{}: input {}: element {i} = {v} is not a value of the model's input type ({})",
                path.display(),
                inp.name,
                int_name(dt)
            )));
        }
    }
    t.cast_to_dt(dt)
        .map(|c| c.into_owned())
        .map_err(tract_err(path, "cannot convert the input"))
}

/// numpy's name of an integer type.
fn int_name(dt: DatumType) -> &'static str {
    match dt {
        DatumType::U8 => "uint8",
        DatumType::I8 => "int8",
        DatumType::U16 => "uint16",
        DatumType::I16 => "int16",
        DatumType::U32 => "uint32",
        DatumType::I32 => "int32",
        DatumType::U64 => "uint64",
        _ => "int64",
    }
}

fn int_range(dt: DatumType) -> (f64, f64) {
    match dt {
        DatumType::U8 => (0.0, u8::MAX as f64),
        DatumType::I8 => (i8::MIN as f64, i8::MAX as f64),
        DatumType::U16 => (0.0, u16::MAX as f64),
        DatumType::I16 => (i16::MIN as f64, i16::MAX as f64),
        DatumType::U32 => (0.0, u32::MAX as f64),
        DatumType::I32 => (i32::MIN as f64, i32::MAX as f64),
        DatumType::U64 => (0.0, u64::MAX as f64),
        _ => (i64::MIN as f64, i64::MAX as f64),
    }
}

/// Run the float model on every input and capture each layer's weights and consumed
/// activations (see the module docs).
pub fn capture(model_path: &Path, inputs: &[InputTensor], progress: bool) -> Result<Capture> {
    capture_file(&OnnxFile::open(model_path)?, inputs, progress)
}

/// [`capture`] of a file already opened.
pub fn capture_file(file: &OnnxFile, inputs: &[InputTensor], progress: bool) -> Result<Capture> {
    let path = file.path.as_path();
    let shown = file.shown();
    let Some(first) = inputs.first() else {
        return Err(Error::invalid(
            "an ONNX import needs at least one input tensor",
        ));
    };
    let input_shape = file.input.bind(&first.shape, &first.name, &shown)?;
    for inp in &inputs[1..] {
        let s = file.input.bind(&inp.shape, &inp.name, &shown)?;
        if s != input_shape {
            return Err(Error::invalid(format!(
                "{}: shape {} differs from the first input's {}; all inputs must have one shape",
                inp.name,
                show_shape(inp.shape.iter()),
                show_shape(first.shape.iter())
            )));
        }
    }
    let input_dt = file.input.datum_type(&shown)?;
    let samples_per_run = if input_shape.len() >= 2 {
        input_shape[0]
    } else {
        1
    };
    let proto = file.bound(&input_shape);
    let graph = proto
        .graph
        .as_ref()
        .expect("OnnxFile::open checked the graph");
    let (plans, weighted) = plan::plan(graph);
    if plans.is_empty() && weighted.is_empty() {
        return Err(Error::invalid(format!(
            "{shown}: no Conv, Gemm or MatMul node found; nothing to import"
        )));
    }
    let output_names: Vec<String> = graph.output.iter().map(|o| o.name.clone()).collect();
    let mut notes = Vec::new();
    let parsed = tract_onnx::onnx()
        .parse(&proto, file.dir.as_deref())
        .map_err(tract_err(path, "tract cannot read the model"))?;
    if !parsed.unresolved_inputs.is_empty() {
        return Err(Error::invalid(format!(
            "{shown}: the graph uses values no node produces: {}",
            parsed.unresolved_inputs.join(", ")
        )));
    }
    let mut model = parsed.model;
    let by_name = parsed.outlets_by_name;
    model
        .set_input_fact(0, InferenceFact::dt_shape(input_dt, &*input_shape))
        .map_err(tract_err(path, "cannot set the input shape"))?;
    model.analyse(false).map_err(|e| {
        let symbolic = file
            .input
            .dims
            .as_ref()
            .is_some_and(|d| d.iter().any(|d| !matches!(d, Dim::Fixed(_))));
        let hint = if symbolic {
            format!(
                "\nhint: the model declares its input '{}' as {}; the given shape {} may not be one it can take",
                file.input.name,
                file.input.describe(),
                show_shape(input_shape.iter())
            )
        } else {
            String::new()
        };
        Error::invalid(format!(
            "{shown}: tract cannot analyse the model: {}{hint}",
            proto::one_line(&e)
        ))
    })?;

    // Constant operands and wire shapes, as analysis left them.
    let konst = |name: &str| -> Option<Arc<TTensor>> {
        let o = by_name.get(name)?;
        model.outlet_fact(*o).ok()?.value.concretize()
    };
    let shape_of = |name: &str| -> Option<Vec<usize>> {
        let o = by_name.get(name)?;
        let f = model.outlet_fact(*o).ok()?;
        f.shape.as_concrete_finite().ok()?.map(|s| s.to_vec())
    };
    let per_sample = |m: Option<u64>| m.map(|m| m / samples_per_run.max(1) as u64);
    let mut skipped: Vec<(usize, Skipped)> = Vec::new();
    let mut consts: Vec<Consts> = Vec::new();
    let mut keep: Vec<Plan> = Vec::new();
    let read_err = tract_err(path, "cannot read a constant");
    for p in plans {
        let op = op_name(&p.op);
        let Some(w) = konst(&p.weight) else {
            if let (Some(a), LayerOp::Gemm { .. } | LayerOp::MatMul) = (konst(&p.act), &p.op) {
                let weights = a.len() as u64;
                skipped.push((
                    p.node,
                    Skipped {
                        op: op.into(),
                        name: p.name.clone(),
                        weights,
                        macs: per_sample(plan::macs(
                            MacRule::Product,
                            weights,
                            Some(a.shape()),
                            shape_of(&p.output).as_deref(),
                        )),
                        reason: "its constant operand is the first (W·X); only X·W products are imported".into(),
                    },
                ));
            } else {
                notes.push(format!(
                    "{op} node '{}' skipped: its {} operand '{}' is not constant (a product of two activations, not a weight layer)",
                    p.name,
                    if p.op == LayerOp::Conv { "weight" } else { "B" },
                    p.weight
                ));
            }
            continue;
        };
        let weights = w.len() as u64;
        let rank_ok = match p.op {
            LayerOp::Conv => matches!(w.rank(), 3 | 4),
            _ => w.rank() == 2,
        };
        let why = p.unsupported.clone().or_else(|| {
            (!rank_ok).then(|| match p.op {
                LayerOp::Conv => format!(
                    "{}-D convolution: only 1-D and 2-D ones are simulated",
                    w.rank().saturating_sub(2)
                ),
                _ => format!(
                    "weights of shape {} (a batch of matrices): only 2-D weights are imported",
                    show_shape(w.shape().iter())
                ),
            })
        });
        if let Some(reason) = why {
            let rule = if p.op == LayerOp::Conv {
                MacRule::ConvOut
            } else {
                MacRule::Product
            };
            skipped.push((
                p.node,
                Skipped {
                    op: op.into(),
                    name: p.name.clone(),
                    weights,
                    macs: per_sample(plan::macs(
                        rule,
                        weights,
                        shape_of(&p.act).as_deref(),
                        shape_of(&p.output).as_deref(),
                    )),
                    reason,
                },
            ));
            continue;
        }
        let w = to_f32(&w).map_err(&read_err)?;
        let bias = match &p.bias {
            Some(b) => {
                let t = konst(b).ok_or_else(|| {
                    Error::invalid(format!(
                        "{shown}: Conv node '{}': the bias '{b}' is not constant",
                        p.name
                    ))
                })?;
                Some(to_f32(&t).map_err(&read_err)?.1)
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
                            out.push(to_f32(&t).map_err(&read_err)?.1);
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
    for w in weighted {
        let weights: u64 = w
            .weights
            .iter()
            .filter_map(|n| konst(n))
            .map(|t| t.len() as u64)
            .sum();
        if weights == 0 {
            notes.push(format!(
                "{} node '{}' has no constant operand: it multiplies activations only, not a weight layer",
                w.op, w.name
            ));
            continue;
        }
        let reason = match w.op.as_str() {
            "LSTM" | "GRU" | "RNN" => "recurrent cell: not simulated",
            "ConvTranspose" => "transposed convolution: not simulated",
            "Einsum" => "Einsum: not simulated",
            _ => "integer (already quantized) operator: import the float model instead",
        };
        skipped.push((
            w.node,
            Skipped {
                op: w.op.clone(),
                name: header_safe(&w.name),
                weights,
                macs: per_sample(plan::macs(
                    w.rule,
                    weights,
                    shape_of(&w.input).as_deref(),
                    shape_of(&w.output).as_deref(),
                )),
                reason: reason.into(),
            },
        ));
    }
    if keep.is_empty() {
        return Err(Error::invalid(format!(
            "{shown}: no Conv, Gemm or MatMul layer with constant weights that can be simulated; nothing to import{}",
            if skipped.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} weighted node{} not imported: {})",
                    skipped.len(),
                    if skipped.len() == 1 { "" } else { "s" },
                    skipped
                        .iter()
                        .take(3)
                        .map(|(_, s)| format!("{} '{}'", s.op, s.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )));
    }

    // Extra outputs: the input wire of every layer, after the original outputs.
    let mut outs: Vec<OutletId> = model
        .output_outlets()
        .map_err(tract_err(path, "no outputs"))?
        .to_vec();
    if outs.is_empty() {
        return Err(Error::invalid(format!("{shown}: the model has no outputs")));
    }
    let n_outputs = outs.len();
    let mut out_ix: HashMap<String, usize> = HashMap::new();
    for p in &keep {
        if out_ix.contains_key(&p.act) {
            continue;
        }
        let o = *by_name.get(&p.act).ok_or_else(|| {
            Error::invalid(format!(
                "{shown}: layer '{}' reads value '{}', which no node produces",
                p.name, p.act
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
    let runnable = model
        .into_optimized()
        .and_then(|m| m.into_runnable())
        .map_err(tract_err(path, "tract cannot optimize the model"))?;
    let pb = progress_bar(progress, inputs.len() as u64, "running the float model");
    let mut outputs = Vec::new();
    // Per input, per observed output index: (shape, values).
    let mut runs: Vec<Vec<layer::Run>> = Vec::new();
    for inp in inputs {
        let t = input_tensor(inp, &input_shape, input_dt, path)?;
        let res = runnable.run(tvec!(t.into())).map_err(tract_err(
            path,
            &format!("running the model on {}", inp.name),
        ))?;
        let vals: Vec<layer::Run> = res
            .iter()
            .map(|v| to_f32(v))
            .collect::<std::result::Result<_, _>>()
            .map_err(tract_err(path, "reading an output"))?;
        outputs.push(
            vals[..n_outputs]
                .iter()
                .zip(&output_names)
                .map(|((shape, values), name)| Output {
                    name: name.clone(),
                    shape: shape.clone(),
                    values: values.clone(),
                })
                .collect(),
        );
        runs.push(vals);
        pb.inc(1);
    }
    pb.finish_and_clear();

    let mut layers = Vec::with_capacity(keep.len());
    for (p, c) in keep.iter().zip(consts) {
        let per_run: Vec<&layer::Run> = runs.iter().map(|r| &r[out_ix[&p.act]]).collect();
        match build_layer(p, c, &per_run, samples_per_run, path)? {
            Built::Layer(l) => layers.push(*l),
            Built::Skip {
                reason,
                weights,
                macs,
            } => skipped.push((
                p.node,
                Skipped {
                    op: op_name(&p.op).into(),
                    name: p.name.clone(),
                    weights,
                    macs,
                    reason,
                },
            )),
        }
    }
    if layers.is_empty() {
        let why = skipped
            .iter()
            .map(|(_, s)| format!("{} '{}': {}", s.op, s.name, s.reason))
            .next()
            .unwrap_or_default();
        return Err(Error::invalid(format!(
            "{shown}: no layer could be imported ({why}); nothing to import"
        )));
    }
    // Every layer sees every sample: N rows per run.
    let want = samples_per_run * inputs.len();
    if let Some(l) = layers.iter().find(|l| l.acts.len() != want) {
        return Err(Error::invalid(format!(
            "{shown}: layer '{}' sees {} samples per input, but the input's first axis (its batch) has {samples_per_run}; mltq takes the first axis of the input as the batch",
            l.name,
            l.acts.len() / inputs.len().max(1)
        )));
    }
    skipped.sort_by_key(|s| s.0);
    Ok(Capture {
        layers,
        skipped: skipped.into_iter().map(|s| s.1).collect(),
        outputs,
        output_names,
        input_shape,
        input_dt,
        samples_per_run,
        notes,
        proto,
        model_dir: file.dir.clone(),
    })
}

fn op_name(op: &LayerOp) -> &'static str {
    match op {
        LayerOp::Conv => "Conv",
        LayerOp::Gemm { .. } => "Gemm",
        LayerOp::MatMul => "MatMul",
    }
}
