//! The command line (docs/cli.md): clap definitions and one function per subcommand.
//! Every subcommand first checks all the files it reads and writes together
//! ([`crate::files::Files`]: no output may be an input or another output), then
//! computes everything, and writes its output files last, all committed together
//! ([`crate::output::commit_all`]), so a failure leaves no partial file behind.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::io::IsTerminal;

use crate::arch::Arch;
use crate::cost::LayerCost;
use crate::encoding::EncSpec;
use crate::error::{did_you_mean, Error, Result};
use crate::files::Files;
use crate::gen::{self, GenSpec};
use crate::model::{self, Network};
use crate::report::{self, json::ModelMeta, Row, RowCtx};
use crate::run::{self, ActsChoice, Run};
use crate::sim::{LayerRun, ScheduleCache};
use crate::{files, inspect, output, zoo};

/// mltq: how much faster is an MLTQ network than its MLB baseline on a real PE array?
#[derive(Debug, Parser)]
#[command(name = "mltq", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate a model on an arch: per-layer cycles, speedups and potentials.
    Simulate(SimulateArgs),
    /// Write a built-in network with seeded synthetic values as a .mltq file.
    Gen(GenArgs),
    /// Show a model's layers, shapes, encodings and densities.
    Inspect(InspectArgs),
    /// Import a network: an ONNX model run on inputs, or a DNNsim trace folder.
    Import(crate::import::ImportArgs),
    /// Run a sweep file: many simulations in parallel, resumable, one tidy CSV.
    Sweep(crate::sweep::SweepArgs),
    /// Join the output directories of `sweep --shard K/N` runs.
    Merge(crate::sweep::MergeArgs),
    /// Draw a figure (SVG or PNG) from a simulate or sweep CSV.
    Plot(crate::plot::PlotArgs),
}

/// `mltq simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Arch file (TOML), e.g. arch/pe16.toml.
    #[arg(long)]
    pub arch: PathBuf,
    /// A .mltq file, or a built-in network: resnet20, resnet18, resnet50, vgg16, mobilenetv2, alexnet.
    #[arg(long)]
    pub model: String,
    /// Sample whose activations are simulated.
    #[arg(long, default_value_t = 0, conflicts_with = "all_samples")]
    pub sample: u32,
    /// Simulate every sample in the file and summarize over them.
    #[arg(long)]
    pub all_samples: bool,
    /// Write the per-layer results as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write each layer's CSV rows as soon as it is done, to FILE.partial (renamed to
    /// the --csv FILE when the run succeeds), so a long run's progress can be followed.
    #[arg(long, requires = "csv")]
    pub csv_stream: bool,
    /// Write the results and run metadata as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Replace the activations by seeded synthetic ones of this density (fraction of nonzero values).
    #[arg(long, value_name = "D")]
    pub act_density: Option<f64>,
    /// Seed of the synthetic activations (default: 1, as `mltq gen`; recorded in the report).
    #[arg(long, value_name = "S", requires = "act_density")]
    pub seed: Option<u64>,
    /// Encoding of synthetic activations (default: the weights' kind and levels/bits).
    #[arg(long, value_name = "ENC", requires = "act_density")]
    pub act_enc: Option<EncSpec>,
    /// Print only the network summary, not the per-layer table.
    #[arg(long, short)]
    pub quiet: bool,
    /// Draw the per-layer speedups (potential marked) as FILE.svg or FILE.png, with its data in FILE.csv.
    #[arg(long, value_name = "FILE", conflicts_with = "all_samples")]
    pub plot: Option<PathBuf>,
    /// Also break each scheme's lane-cycles down by cause (busy, the min_cycles floor,
    /// waits for the slowest lane, row and column, idle columns and rows, channel
    /// padding), in the report and the JSON (`gap`, integers). Costs a loop
    /// over every PE (several times the plain run).
    #[arg(long)]
    pub gap: bool,
    /// With --plot: the figure's size, scale and font size.
    #[command(flatten)]
    pub figure: crate::plot::FigureArgs,
}

/// `mltq gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Built-in network: resnet20, resnet18, resnet50, vgg16, mobilenetv2, alexnet.
    pub network: String,
    /// Output .mltq file.
    #[arg(long)]
    pub out: PathBuf,
    /// Weight encoding: ternary:L, binary:L or int:B.
    #[arg(long, default_value_t = GenSpec::default().weights)]
    pub weights: EncSpec,
    /// Activation encoding: ternary:L, binary:L or int:B.
    #[arg(long, default_value_t = GenSpec::default().acts)]
    pub acts: EncSpec,
    /// Fraction of weights kept after pruning (the rest are exactly zero) [default: 0.35].
    /// Binary weights have no zeros: only 1 is accepted for them.
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    pub weight_density: Option<f64>,
    /// Fraction of activations that are nonzero [default: 0.5]: one for every layer, or
    /// one per layer in order (comma-separated; e.g. 1 for an image input, then 0.5).
    /// Binary activations have no zeros: only 1 is accepted for them.
    #[arg(long, value_name = "D", allow_hyphen_values = true)]
    pub act_density: Option<gen::DensityList>,
    /// How weights are drawn before pruning and quantization: gaussian, laplace or
    /// uniform (zero mean, He's standard deviation).
    #[arg(long, value_name = "DIST", default_value_t)]
    pub weight_dist: gen::WeightDist,
    /// How the nonzero activations are drawn: halfnormal (|N(0,1)|), or gaussian,
    /// laplace (rectified, with the share of zeros setting the mean) or uniform.
    #[arg(long, value_name = "DIST", default_value_t)]
    pub act_dist: gen::ActDist,
    /// Per-layer precisions of int activations: one per layer in order, comma-separated
    /// (`-` keeps a layer at the full width), or one for every layer.
    #[arg(long, value_name = "LIST", conflicts_with_all = ["precision", "precision_profile", "profile_precision"])]
    pub act_precision: Option<gen::precision::PrecisionList>,
    /// Per-layer precisions of int weights, as --act-precision.
    #[arg(long, value_name = "LIST", conflicts_with_all = ["precision", "profile_precision"])]
    pub weight_precision: Option<gen::precision::PrecisionList>,
    /// Per-layer precisions of int tensors from FILE, as `mltq import --precision`: lines
    /// `LAYER ACTS WEIGHTS`, or DNNsim's precision.txt layout.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["precision_profile", "profile_precision"])]
    pub precision: Option<PathBuf>,
    /// A published per-layer profile of the activation precisions: `stripes` (Stripes'
    /// and Pragmatic's profiles; alexnet as published, vgg16 adapted from VGG-19).
    #[arg(long, value_name = "NAME", conflicts_with = "profile_precision")]
    pub precision_profile: Option<String>,
    /// Per layer, the smallest precision of each int tensor whose relative L2
    /// quantization error is within --tolerance (as `mltq import --profile-precision`).
    #[arg(long)]
    pub profile_precision: bool,
    /// The profile's tolerance, a fraction or a percentage [default: 0.01].
    #[arg(
        long,
        value_name = "T",
        requires = "profile_precision",
        allow_hyphen_values = true
    )]
    pub tolerance: Option<String>,
    /// Activation samples per layer.
    #[arg(long, default_value_t = GenSpec::default().samples)]
    pub samples: u32,
    /// Seed of every random value.
    #[arg(long, default_value_t = GenSpec::default().seed)]
    pub seed: u64,
}

/// `mltq inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A .mltq file or a built-in network name.
    pub model: String,
    /// Also write every layer's tensors, densities and footprints (bits, in each storage
    /// format, every sample) as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

impl Command {
    /// True when the command writes files (and so has temporary files to clean up if
    /// it is interrupted).
    pub fn writes_files(&self) -> bool {
        match self {
            Command::Simulate(a) => a.csv.is_some() || a.json.is_some() || a.plot.is_some(),
            Command::Gen(_)
            | Command::Import(_)
            | Command::Sweep(_)
            | Command::Merge(_)
            | Command::Plot(_) => true,
            Command::Inspect(a) => a.json.is_some(),
        }
    }
}

/// Start the worker threads every command shares (rayon's global pool:
/// `RAYON_NUM_THREADS`, or one per core). A machine that cannot start them is an
/// error (exit status 1), not a panic at the first parallel loop.
pub fn start_threads() -> Result<()> {
    let wanted = std::env::var("RAYON_NUM_THREADS")
        .map(|n| format!(" (RAYON_NUM_THREADS={n})"))
        .unwrap_or_default();
    match rayon::ThreadPoolBuilder::new().build_global() {
        Ok(()) => Ok(()),
        Err(e) => {
            if e.to_string().contains("already been initialized") {
                // Started before (a test harness running several commands).
                return Ok(());
            }
            Err(Error::resource(format!(
                "cannot start the worker threads{wanted}: {e}; the system refused to create \
                 more threads: set RAYON_NUM_THREADS to fewer threads (e.g. \
                 RAYON_NUM_THREADS=2), or raise the process limit (ulimit -u)"
            )))
        }
    }
}

/// Parse the command line (`std::env::args_os`). clap's own errors exit as clap does
/// (status 2); ordinary slips get a message that says what to do instead.
pub fn parse_args() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => match slip(&e, &args) {
            Some(text) => {
                eprintln!("{text}");
                std::process::exit(2)
            }
            None => e.exit(),
        },
    }
}

/// The `error:` and `hint:` lines for a clap error that is an ordinary slip: a setting
/// of `mltq gen` given to `simulate`, or a model given without `--model`.
pub fn slip(e: &clap::Error, args: &[std::ffi::OsString]) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind as Clap};
    if e.kind() != Clap::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(found)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if words.first().map(String::as_str) != Some("simulate") {
        return None;
    }
    let flag = found.split('=').next().unwrap_or(found);
    let gen_only = ["--weight-density", "--weights", "--acts", "--samples"];
    if gen_only.contains(&flag) {
        return Some(format!(
            "error: `mltq simulate` has no {flag}: it simulates the model's own weights and activations\n\
             hint: make a model with other settings first, e.g. `mltq gen resnet20 {flag} VALUE --out m.mltq`, \
             then `mltq simulate --arch ARCH.toml --model m.mltq` (synthetic activations: --act-density D [--seed S] [--act-enc ENC])"
        ));
    }
    if !found.starts_with('-') {
        let has_model = words
            .iter()
            .any(|w| w == "--model" || w.starts_with("--model="));
        if !has_model {
            return Some(format!(
                "error: unexpected argument `{found}` for `mltq simulate`\n\
                 hint: give the model with --model: `mltq simulate --arch ARCH.toml --model {found}`"
            ));
        }
    }
    None
}

/// Run the parsed command line, writing reports to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    match cli.command {
        Command::Simulate(a) => simulate(a, out),
        Command::Gen(a) => gen_cmd(a, out),
        Command::Import(a) => crate::import::import_cmd(a, out),
        Command::Inspect(a) => inspect_cmd(a, out),
        Command::Sweep(a) => crate::sweep::sweep_cmd(a, out),
        Command::Merge(a) => crate::sweep::merge_cmd(a, out),
        Command::Plot(a) => crate::plot::plot_cmd(a, out),
    }
}

/// A model by path or built-in name, with its metadata for reports.
///
/// A file is read with [`model::load`]: the header is checked against the file's real
/// length and the decoded size against the memory budget before any payload byte is
/// read. Its SHA-256 is then computed by streaming the file, never holding it whole.
pub fn load_model(m: &str) -> Result<(Network, ModelMeta)> {
    load_model_with(m, true)
}

/// [`load_model`]; without `hash`, `sha256` is left empty (only JSON reports show it,
/// and hashing a built-in network means serializing it whole first).
pub fn load_model_with(m: &str, hash: bool) -> Result<(Network, ModelMeta)> {
    let path = Path::new(m);
    let exists = match std::fs::metadata(path) {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A link to nothing is a file that is missing, not a network's name.
            if std::fs::symlink_metadata(path).is_ok() {
                return Err(Error::read(
                    path,
                    std::io::Error::other(
                        "it is a symbolic link to a file that does not exist; point it at a \
                         .mltq file",
                    ),
                ));
            }
            false
        }
        Err(e) => return Err(Error::read(path, e)),
    };
    if exists {
        if path.is_dir() {
            return Err(Error::read(
                path,
                std::io::Error::other("it is a directory, not a .mltq file"),
            ));
        }
        let net = model::load(path)?;
        let meta = ModelMeta {
            path: m.to_string(),
            sha256: if hash {
                files::sha256_file(path)?
            } else {
                String::new()
            },
            source: net.source.clone(),
        };
        return Ok((net, meta));
    }
    if zoo::NETWORKS.contains(&m) {
        gen::check_memory(m, &GenSpec::default())?;
        let net = gen::generate(m, &GenSpec::default())?;
        let meta = ModelMeta {
            path: format!("builtin:{m}"),
            sha256: if hash {
                sha256(&model::to_bytes(&net))
            } else {
                String::new()
            },
            source: net.source.clone(),
        };
        return Ok((net, meta));
    }
    let looks_like_a_file = m.contains(['/', '\\', '.']);
    Err(Error::invalid(if looks_like_a_file {
        format!(
            "cannot read model {m}: no such file; a model is a .mltq file or a built-in network ({})",
            zoo::NETWORKS.join(", ")
        )
    } else {
        format!(
            "model `{m}` is neither a file nor a built-in network{}; built-ins: {}",
            did_you_mean(m, zoo::NETWORKS),
            zoo::NETWORKS.join(", ")
        )
    }))
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The files of `simulate`: the arch, the model (when it is a file), every output and
/// the figure's data CSV.
fn simulate_files(a: &SimulateArgs) -> Files {
    let mut f = Files::new();
    f.input("--arch", &a.arch);
    // A built-in network's name is no file: nothing is found there, nothing compared.
    f.input("--model", Path::new(&a.model));
    if let Some(p) = &a.csv {
        f.output("--csv", p);
    }
    if let Some(p) = &a.json {
        f.output("--json", p);
    }
    if let Some(p) = &a.plot {
        f.output("--plot", p);
        f.output(
            format!("--plot {}'s data CSV", p.display()),
            &crate::plot::data_path(p),
        );
    }
    f
}

fn progress(len: u64) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} layer×scheme  {elapsed} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb
}

fn simulate(a: SimulateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if let Some(p) = &a.plot {
        crate::plot::check_path(p, a.csv.as_deref())?;
    } else if let Some(flag) = a.figure.given() {
        return Err(Error::invalid(format!(
            "{flag} sizes the figure of --plot; add --plot FILE.svg (or .png), or drop {flag}"
        ))
        .into());
    }
    simulate_files(&a).check()?;
    let arch = Arch::load(&a.arch)?;
    // The model's hash is only reported in JSON.
    let (net, meta) = load_model_with(&a.model, a.json.is_some())?;
    let choice = match a.act_density {
        Some(density) => ActsChoice::Synthetic {
            sample: a.sample,
            enc: a.act_enc,
            density,
            seed: a.seed.unwrap_or(GenSpec::default().seed),
        },
        _ if a.all_samples => ActsChoice::AllSamples,
        _ => ActsChoice::Sample(a.sample),
    };
    // Every scheme against every layer (and the samples) before any work starts.
    let mut net = Cow::Owned(net);
    let sources = run::prepare(
        &mut net,
        &arch,
        &choice,
        &a.model,
        &a.arch.display().to_string(),
    )?;
    let net = net.into_owned();

    // With --csv-stream, rows go to FILE.partial as layers finish, in file order.
    let stream = match (&a.csv, a.csv_stream) {
        (Some(p), true) => {
            let mut f = output::StreamFile::create(p)?;
            if let Some(partial) = f.partial() {
                if std::io::stderr().is_terminal() {
                    eprintln!(
                        "writing rows to {} as layers finish (renamed to {} at the end)",
                        partial.display(),
                        p.display()
                    );
                }
            }
            f.append(|w| report::csv::write(w, &[], true, a.gap))?;
            Some(Mutex::new(f))
        }
        _ => None,
    };

    let pb = progress((net.layers.len() * arch.schemes.len() * sources.len()) as u64);
    pb.set_message(format!("{} on {}", net.name, arch.name));
    let tick = || pb.inc(1);
    let schemes: Vec<String> = arch.schemes.iter().map(|s| s.name.clone()).collect();
    let runs: Vec<Run> = match &stream {
        // Samples in parallel too (each one's layers already are), gathered in sample
        // order; the first sample's error if any fails.
        None => run::simulate_samples_with(&net, &arch, sources, &tick, None, a.gap)?,
        // With a stream, one sample after the other, so that its rows stay in order.
        Some(st) => {
            let append = |rows: &[Row]| -> Result<()> {
                st.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .append(|w| report::csv::write(w, rows, false, a.gap))
            };
            let mut runs = Vec::with_capacity(sources.len());
            // The samples share their layers' weight schedules.
            let cache = (sources.len() > 1).then(|| ScheduleCache::new(sources.len()));
            for src in sources {
                let areas = crate::cost::areas(&arch, &net, src.sample());
                let cx = RowCtx {
                    network: &net.name,
                    schemes: &schemes,
                    baseline: arch.baseline,
                    clock_ghz: arch.clock_ghz,
                    sample: src.sample(),
                    areas: &areas,
                };
                let sink = |l: usize, r: &[LayerRun], c: &[LayerCost]| -> Result<()> {
                    append(&cx.layer_rows(&net.layers[l].name, r, c))
                };
                let opts = crate::sim::Options {
                    cache: cache.as_ref(),
                    gap: a.gap,
                };
                let run = run::simulate_sample(&net, &arch, src, &tick, Some(&sink), opts)?;
                append(&RowCtx::of(&run).total_rows(&run.runs, &run.costs))?;
                runs.push(run);
            }
            runs
        }
    };
    pb.finish_and_clear();
    let rows: Vec<Vec<Row>> = runs.iter().map(report::rows).collect();

    // Every file is staged first, then all are renamed into place: a failure leaves
    // the old files (or none), never some new and some old. Then stdout.
    let mut staged = Vec::new();
    if let Some(f) = stream {
        staged.push(f.into_inner().unwrap_or_else(|e| e.into_inner()).finish()?);
    } else if let Some(p) = &a.csv {
        staged.push(output::stage(p, |w| {
            for (i, r) in rows.iter().enumerate() {
                report::csv::write(w, r, i == 0, a.gap)?;
            }
            Ok(())
        })?);
    }
    if let Some(p) = &a.json {
        let arch_path = a.arch.display().to_string();
        staged.push(output::stage(p, |w| {
            report::json::write(w, &runs, &rows, &arch, &arch_path, &meta)
        })?);
    }
    if let Some(p) = &a.plot {
        staged.extend(crate::plot::stage_layers(
            &runs[0],
            &rows[0],
            &arch,
            net.source.as_deref(),
            p,
            &a.figure.options(),
        )?);
    }
    output::commit_all(staged)?;
    for (run, r) in runs.iter().zip(&rows) {
        let text = report::table::render(run, r, a.quiet, &meta, &arch);
        out.write_all(text.as_bytes())?;
        if runs.len() > 1 {
            writeln!(out)?;
        }
    }
    if runs.len() > 1 {
        out.write_all(report::table::across_samples(&runs, &rows).as_bytes())?;
    }
    Ok(())
}

fn inspect_cmd(a: InspectArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if let Some(p) = &a.json {
        Files::new()
            .input("the model", Path::new(&a.model))
            .output("--json", p)
            .check()?;
    }
    let (net, _) = load_model_with(&a.model, false)?;
    if let Some(p) = &a.json {
        let staged = output::stage(p, |w| inspect::write_json(w, &net))?;
        output::commit_all(vec![staged])?;
    }
    out.write_all(inspect::table(&net).as_bytes())?;
    Ok(())
}

/// What `mltq gen` draws, checked: the settings, the options built from the flags (value
/// laws, per-layer densities and precisions), the network's layers, and notes to print.
pub struct GenPlan {
    pub spec: GenSpec,
    pub opts: gen::GenOptions,
    pub layers: Vec<(String, model::Geometry)>,
    pub notes: Vec<String>,
}

/// `mltq gen`'s flags turned into a [`GenPlan`], every rule checked (the same code for the
/// CLI and the Python package's `gen`). Flags that exclude each other are refused here too,
/// for callers that do not parse them with clap. `a.out` is not looked at.
pub fn gen_plan(a: &GenArgs) -> Result<GenPlan> {
    use gen::precision::{self as prec, LayerPrecision};
    for (x, y, both) in [
        (
            "act_precision",
            "precision",
            a.act_precision.is_some() && a.precision.is_some(),
        ),
        (
            "act_precision",
            "precision_profile",
            a.act_precision.is_some() && a.precision_profile.is_some(),
        ),
        (
            "act_precision",
            "profile_precision",
            a.act_precision.is_some() && a.profile_precision,
        ),
        (
            "weight_precision",
            "precision",
            a.weight_precision.is_some() && a.precision.is_some(),
        ),
        (
            "weight_precision",
            "profile_precision",
            a.weight_precision.is_some() && a.profile_precision,
        ),
        (
            "precision",
            "precision_profile",
            a.precision.is_some() && a.precision_profile.is_some(),
        ),
        (
            "precision",
            "profile_precision",
            a.precision.is_some() && a.profile_precision,
        ),
        (
            "precision_profile",
            "profile_precision",
            a.precision_profile.is_some() && a.profile_precision,
        ),
    ] {
        if both {
            return Err(Error::invalid(format!(
                "{x} and {y} cannot be used together: each sets the per-layer precisions; give one"
            )));
        }
    }
    if a.tolerance.is_some() && !a.profile_precision {
        return Err(Error::invalid(
            "a tolerance is the profile's: it needs profile_precision".to_string(),
        ));
    }
    let d = GenSpec::default();
    // A binary operand has no zero values: a density below 1 cannot be generated.
    let act_densities: Vec<f64> = a.act_density.clone().map(|d| d.0).unwrap_or_default();
    for (what, flag, enc, density) in [
        ("weights", "--weight-density", a.weights, a.weight_density),
        (
            "activations",
            "--act-density",
            a.acts,
            act_densities.iter().copied().find(|&d| d != 1.0),
        ),
    ] {
        if let (EncSpec::Binary(_), Some(v)) = (enc, density) {
            if v != 1.0 {
                let sparse = if what == "weights" {
                    "--weights ternary:L (or int:B) for pruned weights"
                } else {
                    "--acts ternary:L (or int:B) for sparse activations"
                };
                return Err(Error::invalid(format!(
                    "{flag} {v}: binary {what} ({enc}) have no zero values (every digit is +1 or -1), so their density is 1; use {sparse}, or drop {flag}"
                )));
            }
        }
    }
    let spec = GenSpec {
        weights: a.weights,
        acts: a.acts,
        weight_density: a.weight_density.unwrap_or(d.weight_density),
        act_density: match act_densities[..] {
            [one] => one,
            _ => d.act_density,
        },
        samples: a.samples,
        seed: a.seed,
    };
    spec.validate()?;
    let layers = zoo::lookup(&a.network)?;
    let names: Vec<&str> = layers.iter().map(|(n, _)| n.as_str()).collect();
    let given = |list: &prec::PrecisionList, flag: &str| -> Result<LayerPrecision> {
        Ok(LayerPrecision::Given {
            values: prec::expand(&list.0, &names, flag, &a.network)?,
            from: "list".into(),
        })
    };
    let mut opts = gen::GenOptions {
        weight_dist: a.weight_dist,
        act_dist: a.act_dist,
        ..Default::default()
    };
    if act_densities.len() > 1 {
        if act_densities.len() != names.len() {
            return Err(Error::invalid(format!(
                "--act-density: {} values for the {} layers of {}; give one density per layer in order, or a single one for every layer",
                act_densities.len(),
                names.len(),
                a.network
            )));
        }
        opts.act_densities = act_densities.clone();
    }
    let mut notes = Vec::new();
    if let Some(l) = &a.weight_precision {
        opts.weight_precision = given(l, "--weight-precision")?;
    }
    if let Some(l) = &a.act_precision {
        opts.act_precision = given(l, "--act-precision")?;
    }
    if let Some(p) = &a.precision_profile {
        opts.act_precision = LayerPrecision::Given {
            values: prec::builtin(p, &a.network, &names)?,
            from: p.clone(),
        };
    }
    if let Some(path) = &a.precision {
        let file = crate::import::precision::PrecisionFile::read(path)?;
        let rows = file.for_layers(&names)?;
        // Only letters, digits and `._+-` of the file's name go into the source.
        let shown: String = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        for (what, enc, values, slot) in [
            (
                "weight",
                a.weights,
                rows.iter().map(|g| g.weights).collect::<Vec<_>>(),
                &mut opts.weight_precision,
            ),
            (
                "activation",
                a.acts,
                rows.iter().map(|g| g.acts).collect(),
                &mut opts.act_precision,
            ),
        ] {
            if !matches!(enc, EncSpec::Int(_)) {
                if values.iter().any(Option::is_some) {
                    notes.push(format!(
                        "note: the {what} precisions of {} are not used: the {what}s are {enc}, not int",
                        path.display()
                    ));
                }
                continue;
            }
            *slot = LayerPrecision::Given {
                values,
                from: format!("file:{shown}"),
            };
        }
    }
    if a.profile_precision {
        let tolerance = match &a.tolerance {
            Some(t) => crate::import::precision::parse_tolerance(t)
                .map_err(|e| Error::invalid(format!("--tolerance: {e}")))?,
            None => crate::import::precision::DEFAULT_TOLERANCE,
        };
        let int = |e: EncSpec| matches!(e, EncSpec::Int(_));
        if !int(a.weights) && !int(a.acts) {
            return Err(Error::invalid(format!(
                "--profile-precision profiles int tensors, but the weights are {} and the activations {}; generate int:B operands (e.g. --acts int:16)",
                a.weights, a.acts
            )));
        }
        if int(a.weights) {
            opts.weight_precision = LayerPrecision::Profile { tolerance };
        }
        if int(a.acts) {
            opts.act_precision = LayerPrecision::Profile { tolerance };
        }
    }
    opts.validate(&spec, &layers)?;
    gen::check_memory(&a.network, &spec)?;
    Ok(GenPlan {
        spec,
        opts,
        layers,
        notes,
    })
}

fn gen_cmd(a: GenArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    // Before the precision file is read: the output may not replace it.
    let mut files = Files::new();
    if let Some(p) = &a.precision {
        files.input("--precision", p);
    }
    files.output("--out", &a.out).check()?;
    let GenPlan {
        spec,
        opts,
        layers,
        notes,
    } = gen_plan(&a)?;
    let net = gen::synthesize_with(&a.network, layers, &spec, &opts)?;
    model::save(&net, &a.out)?;
    for n in notes {
        writeln!(out, "{n}")?;
    }
    writeln!(
        out,
        "wrote {} ({} layers, {} weights, {} sample{}, seed {})",
        a.out.display(),
        net.layers.len(),
        net.weight_count(),
        spec.samples,
        if spec.samples == 1 { "" } else { "s" },
        spec.seed
    )?;
    for (what, p, enc) in [
        ("weight", &opts.weight_precision, a.weights),
        ("activation", &opts.act_precision, a.acts),
    ] {
        let (Some(origin), EncSpec::Int(bits)) = (p.origin(), enc) else {
            continue;
        };
        let list: Vec<String> = net
            .layers
            .iter()
            .filter_map(|l| match what {
                "weight" => Some(&l.weights),
                _ => l.acts.values().next(),
            })
            .map(|t| t.encoding().serial_planes().to_string())
            .collect();
        if !list.is_empty() {
            writeln!(
                out,
                "{what} precisions ({origin}; int:{bits}), per layer: {}",
                list.join(",")
            )?;
        }
    }
    Ok(())
}
