//! The command line (docs/cli.md): clap definitions and one function per subcommand.
//! Every subcommand computes everything first and writes its output files last, each
//! atomically, so a failure leaves no partial file behind.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::arch::Arch;
use crate::encoding::EncSpec;
use crate::error::{did_you_mean, Error, Result};
use crate::gen::{self, GenSpec};
use crate::model::{self, Network};
use crate::report::{self, json::ModelMeta, Row};
use crate::run::{self, ActSource, Run};
use crate::{inspect, output, zoo};

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
    /// Write the results and run metadata as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Replace the activations by seeded synthetic ones of this density (fraction of nonzero values).
    #[arg(long, value_name = "D", requires = "seed")]
    pub act_density: Option<f64>,
    /// Seed of the synthetic activations.
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
    /// Fraction of weights kept after pruning (the rest are exactly zero).
    #[arg(long, default_value_t = GenSpec::default().weight_density)]
    pub weight_density: f64,
    /// Fraction of activations that are nonzero.
    #[arg(long, default_value_t = GenSpec::default().act_density)]
    pub act_density: f64,
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
}

/// Run the parsed command line, writing reports to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    match cli.command {
        Command::Simulate(a) => simulate(a, out),
        Command::Gen(a) => gen_cmd(a, out),
        Command::Import(a) => crate::import::import_cmd(a, out),
        Command::Inspect(a) => {
            let (net, _) = load_model(&a.model)?;
            out.write_all(inspect::table(&net).as_bytes())?;
            Ok(())
        }
        Command::Sweep(a) => crate::sweep::sweep_cmd(a, out),
        Command::Merge(a) => crate::sweep::merge_cmd(a, out),
        Command::Plot(a) => crate::plot::plot_cmd(a, out),
    }
}

/// A model by path or built-in name, with its metadata for reports.
pub fn load_model(m: &str) -> Result<(Network, ModelMeta)> {
    let path = Path::new(m);
    if path.exists() {
        let bytes = std::fs::read(path).map_err(|e| Error::read(path, e))?;
        let net = model::parse_bytes(&bytes, m)?;
        let meta = ModelMeta {
            path: m.to_string(),
            sha256: sha256(&bytes),
            source: net.source.clone(),
        };
        return Ok((net, meta));
    }
    if zoo::NETWORKS.contains(&m) {
        let net = gen::generate(m, &GenSpec::default())?;
        let bytes = model::to_bytes(&net);
        let meta = ModelMeta {
            path: format!("builtin:{m}"),
            sha256: sha256(&bytes),
            source: net.source.clone(),
        };
        return Ok((net, meta));
    }
    Err(Error::invalid(format!(
        "model '{m}' is neither a readable file nor a built-in network{}; built-ins: {}",
        did_you_mean(m, zoo::NETWORKS),
        zoo::NETWORKS.join(", ")
    )))
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
    }
    let arch = Arch::load(&a.arch)?;
    let (mut net, meta) = load_model(&a.model)?;
    let sources: Vec<ActSource> = if let (Some(d), Some(seed)) = (a.act_density, a.seed) {
        let enc = a.act_enc.unwrap_or_else(|| default_act_enc(&net));
        gen::fill_synthetic_acts(&mut net, enc, d, seed, a.sample)?;
        vec![ActSource::Synthetic {
            sample: a.sample,
            encoding: enc.to_string(),
            density: d,
            seed,
        }]
    } else if a.all_samples {
        let s = net.samples();
        if s.is_empty() {
            return Err(Error::invalid(format!(
                "model '{}' has no activations; simulate synthetic ones with --act-density D --seed S",
                a.model
            ))
            .into());
        }
        s.into_iter()
            .map(|sample| ActSource::Sample { sample })
            .collect()
    } else {
        vec![ActSource::Sample { sample: a.sample }]
    };
    for s in &sources {
        run::check(&net, &arch, s.sample())?;
    }
    let pb = progress((net.layers.len() * arch.schemes.len() * sources.len()) as u64);
    pb.set_message(format!("{} on {}", net.name, arch.name));
    let tick = || pb.inc(1);
    let runs: Vec<Run> = sources
        .into_iter()
        .map(|s| run::simulate(&net, &arch, s, &tick))
        .collect::<Result<Vec<_>>>()?;
    pb.finish_and_clear();
    let rows: Vec<Vec<Row>> = runs.iter().map(report::rows).collect();

    // Files first (atomically), then stdout: a failed write leaves nothing half-done.
    if let Some(p) = &a.csv {
        output::write_atomic(p, |w| {
            for (i, r) in rows.iter().enumerate() {
                report::csv::write(w, r, i == 0)?;
            }
            Ok(())
        })?;
    }
    if let Some(p) = &a.json {
        let arch_path = a.arch.display().to_string();
        output::write_atomic(p, |w| {
            report::json::write(w, &runs, &rows, &arch, &arch_path, &meta)
        })?;
    }
    if let Some(p) = &a.plot {
        crate::plot::layers(&runs[0], &rows[0], p)?;
    }
    for (run, r) in runs.iter().zip(&rows) {
        let text = report::table::render(run, r, a.quiet);
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

/// Synthetic activations default to the weights' kind: ternary:L, binary:L or int:B.
fn default_act_enc(net: &Network) -> EncSpec {
    use crate::encoding::Encoding;
    match net.layers.first().map(|l| *l.weights.encoding()) {
        Some(Encoding::Binary { levels, .. }) => EncSpec::Binary(levels),
        Some(Encoding::Int { bits, .. }) => EncSpec::Int(bits),
        Some(Encoding::Ternary { levels, .. }) => EncSpec::Ternary(levels),
        None => EncSpec::Ternary(2),
    }
}

fn gen_cmd(a: GenArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let spec = GenSpec {
        weights: a.weights,
        acts: a.acts,
        weight_density: a.weight_density,
        act_density: a.act_density,
        samples: a.samples,
        seed: a.seed,
    };
    let net = gen::generate(&a.network, &spec)?;
    model::save(&net, &a.out)?;
    writeln!(
        out,
        "wrote {} ({} layers, {} weights, {} samples, seed {})",
        a.out.display(),
        net.layers.len(),
        net.weight_count(),
        spec.samples,
        spec.seed
    )?;
    Ok(())
}
