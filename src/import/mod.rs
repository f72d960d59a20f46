//! `mltq import`: real networks in (docs/import.md).
//!
//! - [`dnnsim`]: DNNsim trace folders (16-bit fixed-point values, kept exactly).
//! - [`onnx`] (cargo feature `onnx`, on by default): runs an ONNX model with tract on
//!   one or more inputs, keeps every Conv and Gemm/MatMul layer's weights (BatchNorm
//!   folded) and the activation it consumed, and quantizes them; reports every other
//!   node that carries weights.
//! - [`quantize`]: the quantizers (`ternary:L`, `binary:L`, `int:B`, pruning) as pure
//!   functions with their error and density statistics.
//! - [`precision`]: per-layer precisions of int tensors (a file, or profiled).
//! - [`input`]: model inputs from `.npy` files or photos; [`preprocess`]: the photo
//!   pipeline and its presets; [`npy`]: `.npy` reading; [`sniff`]: what a file is.
//! - [`report`]: the per-layer table printed by the command, the weighted nodes not
//!   imported and the share the layers cover, the `--check` comparison.
//!
//! [`ImportArgs`] and [`import_cmd`] are the command line: `cli.rs` registers them.

pub mod dnnsim;
pub mod input;
pub mod npy;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod precision;
pub mod preprocess;
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
pub use input::InputTensor;
#[cfg(feature = "onnx")]
pub use onnx::import_onnx;
pub use precision::PrecisionSource;
pub use preprocess::{ChannelOrder, ImageOptions, Layout, PixelScale, Preset, Resize};
pub use quantize::QuantStats;
pub use report::{CheckResult, ImportReport, LayerReport, OutputCheck, Skipped};

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
    /// Precisions of int tensors: full width, from a file, or profiled.
    pub precision: PrecisionSource,
    /// Refuse a model with weighted nodes that would not be imported.
    pub strict: bool,
    /// Rerun the model with the dequantized weights and compare the outputs.
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
            precision: PrecisionSource::Full,
            strict: false,
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
    /// ONNX: an input tensor (.npy, in the layout the model takes); repeat for several
    /// samples (a batch of N also gives N samples).
    #[arg(long = "input", value_name = "X.npy")]
    pub inputs: Vec<PathBuf>,
    /// ONNX: a photo (PNG or JPEG) as input; repeat for several samples.
    #[arg(long = "image", value_name = "FILE")]
    pub images: Vec<PathBuf>,
    /// Photos: a named recipe (torchvision: short side 256, crop 224, RGB in [0,1],
    /// ImageNet mean/std; caffe: the same sizes, BGR in [0,255], mean subtracted).
    /// The flags below override its parts.
    #[arg(long, value_enum, value_name = "PRESET")]
    pub preprocess: Option<Preset>,
    /// Photos: resize to exactly H,W (bilinear, aspect ratio not kept).
    #[arg(long, value_name = "H,W", value_parser = preprocess::parse_pair, conflicts_with = "resize_short")]
    pub resize: Option<(usize, usize)>,
    /// Photos: resize so that the short side is S (aspect ratio kept).
    #[arg(long, value_name = "S")]
    pub resize_short: Option<usize>,
    /// Photos: center crop to H,W (after resizing).
    #[arg(long, value_name = "H,W", value_parser = preprocess::parse_pair)]
    pub crop: Option<(usize, usize)>,
    /// Photos: channels of the tensor, in order [default: rgb].
    #[arg(long, value_enum, value_name = "ORDER")]
    pub channel_order: Option<ChannelOrder>,
    /// Photos: pixel values in [0, 1] (1) or [0, 255] (255) [default: 1].
    #[arg(long, value_enum, value_name = "TOP")]
    pub scale: Option<PixelScale>,
    /// Photos: per-channel mean subtracted after scaling, in the tensor's channel order
    /// (e.g. 0.485,0.456,0.406; one value for all channels).
    #[arg(long, value_name = "C0,C1,C2", value_parser = preprocess::parse_values, allow_hyphen_values = true)]
    pub mean: Option<preprocess::PerChannel>,
    /// Photos: per-channel standard deviation divided by after the mean (e.g.
    /// 0.229,0.224,0.225).
    #[arg(long, value_name = "C0,C1,C2", value_parser = preprocess::parse_values)]
    pub std: Option<preprocess::PerChannel>,
    /// Photos: axis order of the tensor [default: the model's: nhwc when its input is
    /// declared (N, H, W, 3 or 1), else nchw].
    #[arg(long, value_enum)]
    pub layout: Option<Layout>,
    /// ONNX: weight encoding, ternary:L, binary:L or int:B [default: ternary:2].
    #[arg(long, value_name = "ENC")]
    pub weights: Option<EncSpec>,
    /// ONNX: activation encoding [default: int:8, unsigned for post-ReLU activations].
    #[arg(long, value_name = "ENC")]
    pub acts: Option<EncSpec>,
    /// ONNX: magnitude-prune this fraction of each layer's weights first (0..=1).
    #[arg(long, value_name = "F", allow_hyphen_values = true)]
    pub prune: Option<f64>,
    /// ONNX: one scale per output channel and level (ternary/binary weights).
    #[arg(long)]
    pub per_channel: bool,
    /// ONNX: per-layer precisions of int tensors from FILE (lines `LAYER ACTS WEIGHTS`,
    /// or DNNsim's precision.txt layout).
    #[arg(long, value_name = "FILE", conflicts_with = "profile_precision")]
    pub precision: Option<PathBuf>,
    /// ONNX: per layer, the smallest precision of each int tensor whose relative L2
    /// quantization error is within --tolerance.
    #[arg(long)]
    pub profile_precision: bool,
    /// ONNX: the profile's tolerance, a fraction or a percentage [default: 0.01].
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    pub tolerance: Option<String>,
    /// ONNX: refuse a model with weighted nodes that would not be imported (LSTM,
    /// ConvTranspose, …) instead of listing them.
    #[arg(long)]
    pub strict: bool,
    /// ONNX: rerun the model with the quantized weights and compare its outputs (top-1
    /// agreement for a class vector; max |diff| and cosine for every output).
    #[arg(long)]
    pub check: bool,
    /// Network name written to the file [default: the model file or folder name].
    #[arg(long)]
    pub name: Option<String>,
}

impl ImportArgs {
    /// The photo flags given (a preset counts), for messages.
    fn image_flags(&self) -> Vec<&'static str> {
        [
            (self.preprocess.is_some(), "--preprocess"),
            (self.resize.is_some(), "--resize"),
            (self.resize_short.is_some(), "--resize-short"),
            (self.crop.is_some(), "--crop"),
            (self.channel_order.is_some(), "--channel-order"),
            (self.scale.is_some(), "--scale"),
            (self.mean.is_some(), "--mean"),
            (self.std.is_some(), "--std"),
            (self.layout.is_some(), "--layout"),
        ]
        .into_iter()
        .filter_map(|(set, f)| set.then_some(f))
        .collect()
    }

    /// The photo recipe: the preset (if any), each flag given overriding its part.
    pub fn image_options(&self, layout: Layout) -> ImageOptions {
        let mut o = self.preprocess.map(Preset::options).unwrap_or_default();
        if let Some((h, w)) = self.resize {
            o.resize = Some(Resize::Exact(h, w));
        }
        if let Some(s) = self.resize_short {
            o.resize = Some(Resize::Short(s));
        }
        if self.crop.is_some() {
            o.crop = self.crop;
        }
        if let Some(c) = self.channel_order {
            o.channels = c;
        }
        if let Some(s) = self.scale {
            o.scale = s;
        }
        if let Some(m) = &self.mean {
            o.mean = m.0.clone();
        }
        if let Some(s) = &self.std {
            o.std = s.0.clone();
        }
        o.layout = self.layout.unwrap_or(layout);
        o
    }
}

/// Run `mltq import`: import, print the per-layer report, write the model.
pub fn import_cmd(args: ImportArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    // The model first: a missing model is the error to see, not a missing flag.
    if let Err(e) = std::fs::metadata(&args.path) {
        return Err(Error::read(&args.path, e).into());
    }
    check_out(&args)?;
    let (mut net, report) = match args.from {
        Source::Dnnsim => {
            let mut onnx_only = vec![
                (!args.inputs.is_empty(), "--input"),
                (!args.images.is_empty(), "--image"),
                (args.weights.is_some(), "--weights"),
                (args.acts.is_some(), "--acts"),
                (args.prune.is_some(), "--prune"),
                (args.per_channel, "--per-channel"),
                (args.precision.is_some(), "--precision"),
                (args.profile_precision, "--profile-precision"),
                (args.tolerance.is_some(), "--tolerance"),
                (args.strict, "--strict"),
                (args.check, "--check"),
            ];
            onnx_only.extend(args.image_flags().into_iter().map(|f| (true, f)));
            if let Some((_, flag)) = onnx_only.iter().find(|(set, _)| *set) {
                return Err(Error::invalid(format!(
                    "{flag} only applies to --from onnx; DNNsim traces are imported as they are (enc=int bits=16, precisions from the folder's precision.txt)"
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
        net.name = header_safe(n);
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

/// Refuse, before a long import, an output that cannot be written or that would
/// replace a file the import reads: the ONNX model, or any file of the trace folder;
/// the inputs, photos and precision file ([`crate::files::Files`]: links followed,
/// `..` removed, compared by device and inode).
fn check_out(args: &ImportArgs) -> Result<()> {
    let mut f = crate::files::Files::new();
    match args.from {
        Source::Dnnsim => f.input_folder("the trace folder's", &args.path),
        Source::Onnx => f.input("the input", &args.path),
    };
    for p in args
        .inputs
        .iter()
        .chain(&args.images)
        .chain(&args.precision)
    {
        f.input("the input", p);
    }
    f.output("--out", &args.out);
    f.check()
}

fn import_onnx_args(args: &ImportArgs) -> Result<(Network, ImportReport)> {
    if args.inputs.is_empty() && args.images.is_empty() {
        return Err(Error::invalid(
            "--from onnx needs at least one input: --input X.npy (the tensor the model takes) or --image FILE.png|jpg",
        ));
    }
    if args.images.is_empty() {
        if let Some(f) = args.image_flags().first() {
            return Err(Error::invalid(format!(
                "{f} prepares photos given with --image; .npy inputs are taken as they are"
            )));
        }
    }
    if let Some(f) = args.prune {
        if !(0.0..=1.0).contains(&f) {
            return Err(Error::invalid(format!(
                "--prune {f}: the fraction of weights pruned must be in 0..=1 (e.g. --prune 0.5)"
            )));
        }
    }
    let precision = match (&args.precision, args.profile_precision, &args.tolerance) {
        (_, false, Some(_)) => {
            return Err(Error::invalid(
                "--tolerance sets the precision profile's error bound; add --profile-precision",
            ))
        }
        (Some(p), _, _) => PrecisionSource::File(p.clone()),
        (None, true, t) => PrecisionSource::Profile {
            tolerance: match t {
                Some(t) => precision::parse_tolerance(t)
                    .map_err(|e| Error::invalid(format!("--tolerance {e}")))?,
                None => precision::DEFAULT_TOLERANCE,
            },
        },
        (None, false, None) => PrecisionSource::Full,
    };
    let opts = ImportOptions {
        weights: args.weights.unwrap_or(DEFAULT_WEIGHTS),
        acts: args.acts.unwrap_or(DEFAULT_ACTS),
        prune: args.prune,
        per_channel: args.per_channel,
        precision,
        strict: args.strict,
        check: args.check,
        progress: true,
        name: args.name.clone(),
    };
    run_onnx(args, &opts)
}

#[cfg(feature = "onnx")]
fn run_onnx(args: &ImportArgs, opts: &ImportOptions) -> Result<(Network, ImportReport)> {
    let file = onnx::OnnxFile::open(&args.path)?;
    let layout = match file.input.image_channels() {
        Some((_, true)) => Layout::Nhwc,
        _ => Layout::Nchw,
    };
    let img = args.image_options(layout);
    let mut inputs = Vec::new();
    for p in &args.inputs {
        inputs.push(InputTensor::from_npy(p)?);
    }
    for p in &args.images {
        inputs.push(InputTensor::from_image(p, &img)?);
    }
    onnx::import_onnx_file(&file, &inputs, opts)
}

#[cfg(not(feature = "onnx"))]
fn run_onnx(_args: &ImportArgs, _opts: &ImportOptions) -> Result<(Network, ImportReport)> {
    Err(Error::invalid(NO_ONNX))
}

/// `(1, 3, 224, 224)`; `(5,)` for one axis.
pub fn show_shape<T: ToString>(dims: impl IntoIterator<Item = T>) -> String {
    let v: Vec<String> = dims.into_iter().map(|d| d.to_string()).collect();
    if v.len() == 1 {
        format!("({},)", v[0])
    } else {
        format!("({})", v.join(", "))
    }
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
