//! `mltq import`: real networks in (docs/import.md).
//!
//! - [`dnnsim`]: DNNsim trace folders (16-bit fixed-point values, kept exactly).
//! - [`onnx`] (cargo feature `onnx`, on by default): runs an ONNX model with tract on
//!   one or more inputs, keeps every Conv and Gemm/MatMul layer's weights (BatchNorm
//!   folded) and the activation it consumed, and quantizes them.
//! - [`quantize`]: the quantizers (`ternary:L`, `binary:L`, `int:B`, pruning) as pure
//!   functions with their error and density statistics.
//! - [`precision`]: per-layer precisions of int tensors (a file, or profiled).
//! - [`input`]: model inputs from `.npy` files or photos; [`npy`]: `.npy` reading;
//!   [`sniff`]: what a file is, from its first bytes.
//! - [`report`]: the per-layer quantization table printed by the command.
//!
//! [`ImportArgs`] and [`import_cmd`] are the command line: `cli.rs` registers them.

pub mod dnnsim;
pub mod input;
pub mod npy;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod precision;
pub mod quantize;
pub mod report;
pub mod sniff;

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::encoding::EncSpec;
use crate::error::{Error, Result};
use crate::model::Network;

pub use dnnsim::import_dnnsim;
pub use input::{ImageOptions, InputTensor, Layout};
#[cfg(feature = "onnx")]
pub use onnx::import_onnx;
pub use quantize::QuantStats;
pub use report::{CheckResult, ImportReport, LayerReport};

/// Default weight encoding of an ONNX import.
pub const DEFAULT_WEIGHTS: EncSpec = EncSpec::Ternary(2);
/// Default activation encoding of an ONNX import (unsigned when the activation has no
/// negative value, signed otherwise).
pub const DEFAULT_ACTS: EncSpec = EncSpec::Int(8);

/// The message for `--from onnx` in a build without the `onnx` feature.
pub const NO_ONNX: &str = "this mltq was built without ONNX support (cargo feature `onnx`); \
     rebuild with `cargo build --features onnx` (the feature is on by default, \
     `--no-default-features` leaves it out)";

/// How an ONNX import quantizes what it captured.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportOptions {
    /// Weight encoding.
    pub weights: EncSpec,
    /// Activation encoding (`int:B` picks signedness per tensor).
    pub acts: EncSpec,
    /// Magnitude-prune this fraction of each layer's weights before quantizing.
    pub prune: Option<f64>,
    /// One scale per output channel and level (ternary and binary weights).
    pub per_channel: bool,
    /// Rerun the model with the dequantized weights and compare the final output.
    pub check: bool,
    /// Show a progress bar on stderr (hidden anyway when stderr is not a terminal).
    pub progress: bool,
    /// Network name (default: the model file's stem).
    pub name: Option<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            weights: DEFAULT_WEIGHTS,
            acts: DEFAULT_ACTS,
            prune: None,
            per_channel: false,
            check: false,
            progress: false,
            name: None,
        }
    }
}

/// What `--from` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// A DNNsim trace folder.
    Dnnsim,
    /// An ONNX model file.
    Onnx,
}

/// `mltq import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What PATH is: a DNNsim trace folder (dnnsim) or an ONNX model file (onnx).
    #[arg(long, value_enum)]
    pub from: Source,
    /// The DNNsim trace folder or the ONNX model file.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Output .mltq file (written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// ONNX: an input tensor (.npy, float32, in the layout the model takes); repeat for
    /// several samples (a batch of N also gives N samples).
    #[arg(long = "input", value_name = "X.npy")]
    pub inputs: Vec<PathBuf>,
    /// ONNX: a photo (PNG or JPEG) as input; repeat for several samples.
    #[arg(long = "image", value_name = "FILE")]
    pub images: Vec<PathBuf>,
    /// Resize photos to H,W (bilinear) before normalizing.
    #[arg(long, value_name = "H,W", value_parser = input::parse_pair, requires = "images")]
    pub resize: Option<(usize, usize)>,
    /// Per-channel mean subtracted from photo pixels scaled to [0,1], e.g. 0.485,0.456,0.406.
    #[arg(long, value_name = "R,G,B", value_parser = input::parse_triple, requires = "images")]
    pub mean: Option<[f32; 3]>,
    /// Per-channel standard deviation photo pixels are divided by, e.g. 0.229,0.224,0.225.
    #[arg(long, value_name = "R,G,B", value_parser = input::parse_triple, requires = "images")]
    pub std: Option<[f32; 3]>,
    /// Axis order of photo tensors.
    #[arg(long, value_enum, default_value_t = Layout::Nchw)]
    pub layout: Layout,
    /// ONNX: weight encoding, ternary:L, binary:L or int:B [default: ternary:2].
    #[arg(long, value_name = "ENC")]
    pub weights: Option<EncSpec>,
    /// ONNX: activation encoding [default: int:8, unsigned for post-ReLU activations].
    #[arg(long, value_name = "ENC")]
    pub acts: Option<EncSpec>,
    /// ONNX: magnitude-prune this fraction of each layer's weights first (0..=1).
    #[arg(long, value_name = "F")]
    pub prune: Option<f64>,
    /// ONNX: one scale per output channel and level (ternary/binary weights).
    #[arg(long)]
    pub per_channel: bool,
    /// ONNX: rerun the model with the quantized weights and report top-1 agreement and
    /// the output's relative error.
    #[arg(long)]
    pub check: bool,
    /// Network name written to the file [default: the model file or folder name].
    #[arg(long)]
    pub name: Option<String>,
}

/// Run `mltq import`: import, print the per-layer report, write the model.
pub fn import_cmd(args: ImportArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    // Fail before a long import, not after it, when the output cannot be written.
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(Error::invalid(format!(
                "--out {}: the directory {} does not exist",
                args.out.display(),
                dir.display()
            ))
            .into());
        }
    }
    let (mut net, report) = match args.from {
        Source::Dnnsim => {
            let onnx_only = [
                (!args.inputs.is_empty(), "--input"),
                (!args.images.is_empty(), "--image"),
                (args.weights.is_some(), "--weights"),
                (args.acts.is_some(), "--acts"),
                (args.prune.is_some(), "--prune"),
                (args.per_channel, "--per-channel"),
                (args.check, "--check"),
            ];
            if let Some((_, flag)) = onnx_only.iter().find(|(set, _)| *set) {
                return Err(Error::invalid(format!(
                    "{flag} only applies to --from onnx; DNNsim traces are imported as they are (enc=int bits=16)"
                ))
                .into());
            }
            let net = import_dnnsim(&args.path)?;
            let report = ImportReport::of_network(&net);
            (net, report)
        }
        Source::Onnx => import_onnx_args(&args)?,
    };
    if let Some(n) = &args.name {
        net.name = n.clone();
    }
    crate::model::save(&net, &args.out)?;
    out.write_all(report.table().as_bytes())?;
    let samples = net.samples().len();
    writeln!(
        out,
        "wrote {} ({} layers, {} weights, {samples} sample{})",
        args.out.display(),
        net.layers.len(),
        net.weight_count(),
        if samples == 1 { "" } else { "s" }
    )?;
    Ok(())
}

fn import_onnx_args(args: &ImportArgs) -> Result<(Network, ImportReport)> {
    if args.inputs.is_empty() && args.images.is_empty() {
        return Err(Error::invalid(
            "--from onnx needs at least one input: --input X.npy (the tensor the model takes) or --image FILE.png|jpg",
        ));
    }
    if let Some(f) = args.prune {
        if !(0.0..=1.0).contains(&f) {
            return Err(Error::invalid(format!(
                "--prune {f}: the fraction must be in 0..=1"
            )));
        }
    }
    let opts = ImportOptions {
        weights: args.weights.unwrap_or(DEFAULT_WEIGHTS),
        acts: args.acts.unwrap_or(DEFAULT_ACTS),
        prune: args.prune,
        per_channel: args.per_channel,
        check: args.check,
        progress: true,
        name: args.name.clone(),
    };
    let img = ImageOptions {
        resize: args.resize,
        mean: args.mean.unwrap_or([0.0; 3]),
        std: args.std.unwrap_or([1.0; 3]),
        layout: args.layout,
    };
    let mut inputs = Vec::new();
    for p in &args.inputs {
        inputs.push(InputTensor::from_npy(p)?);
    }
    for p in &args.images {
        inputs.push(InputTensor::from_image(p, &img)?);
    }
    run_onnx(&args.path, &inputs, &opts)
}

#[cfg(feature = "onnx")]
fn run_onnx(
    path: &std::path::Path,
    inputs: &[InputTensor],
    opts: &ImportOptions,
) -> Result<(Network, ImportReport)> {
    import_onnx(path, inputs, opts)
}

#[cfg(not(feature = "onnx"))]
fn run_onnx(
    _path: &std::path::Path,
    _inputs: &[InputTensor],
    _opts: &ImportOptions,
) -> Result<(Network, ImportReport)> {
    Err(Error::invalid(NO_ONNX))
}

/// A string a `.mltq` header can hold: ASCII, no `"` or newline (others become `_`).
pub fn header_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii() && c != '"' && c != '\n' && c != '\r' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
