//! Sweeps: one declarative TOML file (`spec`) enumerates points (model or generator
//! settings × arch × array overrides); `exec` simulates them in parallel, journaling
//! each finished point so an interrupted sweep resumes, and writes one tidy CSV plus a
//! JSON record; `merge` joins the outputs of `--shard K/N` runs into exactly what an
//! unsharded run writes.
//!
//! Output directory layout (the same for sharded and unsharded runs):
//! - `journal.jsonl`: one self-contained JSON line per finished point (fsync'd);
//! - `sweep.json`: the record (spec, every point with its parameters and seeds, tool
//!   version, input hashes; plus `shard` in a shard's directory), written at the start;
//! - `results.csv`: written at the end, atomically, in point order: one row per
//!   point × layer × scheme (then the `total` rows of the point), columns `point`,
//!   `point_id`, the sweep's parameters, then [`crate::report::csv::HEADER`].
//!
//! The sweep reaches models and arch files through [`Inputs`], so tests can run on
//! hand-built networks; [`Tool`] binds it to the tool's own loaders.
//!
//! Setup is linear in points and models: points are computed from their index when
//! needed, never all held with their records; distinct models and arch overrides are
//! found with hash maps. Memory while a sweep runs is a few bytes per point (its model,
//! its line in the journal) plus the models being simulated.

pub mod exec;
pub mod journal;
pub mod merge;
pub mod record;
pub mod spec;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use clap::Args;

use crate::arch::{Arch, ArchFile, SchemeSetting};
use crate::encoding::EncSpec;
use crate::error::{Error, Result};
use crate::gen::GenSpec;
use crate::model::Network;

pub use exec::{sweep_run, Options, Summary};
pub use merge::merge;
pub use spec::{Param, Point, SchemeKey, Spec, Value};

/// The settings of a generated network (`mltq gen`), one sample.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GenParams {
    /// Weight encoding.
    pub weights: EncSpec,
    /// Activation encoding.
    pub acts: EncSpec,
    /// Fraction of nonzero weights.
    pub weight_density: f64,
    /// Fraction of nonzero activations.
    pub act_density: f64,
    /// Seed of every random value.
    pub seed: u64,
}

/// What a sweep needs from the rest of the tool.
pub trait Inputs: Sync {
    /// Names of the built-in networks.
    fn networks(&self) -> Vec<&'static str>;
    /// The settings `mltq gen` uses when none are given.
    fn gen_defaults(&self) -> GenParams;
    /// Read and validate an arch file.
    fn arch(&self, path: &Path) -> Result<Arch>;
    /// The arch of `path` (`base`, as [`Inputs::arch`] returned it) with some `[array]`
    /// values and some `[[scheme]]` keys replaced by a point's parameters, checked as an
    /// arch file checks them. By default the array values go through
    /// [`crate::arch::ArrayShape::set`] and [`Arch::check_arrays`], the checks of
    /// `[array]` (and every scheme's own array) in a file; scheme keys need the file
    /// itself ([`Tool`] validates it again with them, [`ArchFile::with_overrides`]), so
    /// the default refuses them.
    fn arch_with(
        &self,
        path: &Path,
        base: &Arch,
        array: &[(&str, i64)],
        schemes: &[SchemeSetting],
    ) -> Result<Arch> {
        if let Some(s) = schemes.first() {
            return Err(Error::invalid(format!(
                "{}: cannot set `{}` of scheme `{}`: these inputs give validated archs, not \
                 arch files",
                path.display(),
                s.key,
                s.scheme
            )));
        }
        let mut a = base.clone();
        for &(k, x) in array {
            a.array
                .set(k, x)
                .map_err(|m| Error::invalid(format!("{}: {m}", path.display())))?;
        }
        a.check_arrays()
            .map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
        Ok(a)
    }
    /// Check a model file before the sweep starts (its header, and its size against the
    /// memory budget) without reading its payload.
    fn check_model_file(&self, path: &Path) -> Result<()> {
        let _ = path;
        Ok(())
    }
    /// Read a `.mltq` file.
    fn model_file(&self, path: &Path) -> Result<Network>;
    /// Generate a built-in network with one sample (sample 0).
    fn generate(&self, network: &str, gen: &GenParams) -> Result<Network>;
    /// Check generator settings before anything runs.
    fn check_gen(&self, gen: &GenParams) -> Result<()> {
        let _ = gen;
        Ok(())
    }
}

/// The tool's own inputs: arch files ([`Arch::load`]), `.mltq` files
/// ([`crate::model::load`]), built-in networks ([`crate::zoo`], [`crate::gen`]).
/// Arch files are read once and validated again for each set of overrides
/// ([`ArchFile::with_array`]: every check of the file applies to the new values).
#[derive(Default)]
pub struct Tool {
    archs: Mutex<HashMap<PathBuf, Arc<ArchFile>>>,
}

impl Tool {
    /// The tool's inputs, no file read yet.
    pub fn new() -> Tool {
        Tool::default()
    }

    fn arch_file(&self, path: &Path) -> Result<Arc<ArchFile>> {
        if let Some(f) = self
            .archs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return Ok(f.clone());
        }
        let f = Arc::new(ArchFile::load(path)?);
        self.archs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_path_buf(), f.clone());
        Ok(f)
    }

    fn gen_spec(g: &GenParams) -> GenSpec {
        GenSpec {
            weights: g.weights,
            acts: g.acts,
            weight_density: g.weight_density,
            act_density: g.act_density,
            samples: 1,
            seed: g.seed,
        }
    }
}

impl Inputs for Tool {
    fn networks(&self) -> Vec<&'static str> {
        crate::zoo::NETWORKS.to_vec()
    }
    fn gen_defaults(&self) -> GenParams {
        let d = GenSpec::default();
        GenParams {
            weights: d.weights,
            acts: d.acts,
            weight_density: d.weight_density,
            act_density: d.act_density,
            seed: d.seed,
        }
    }
    fn arch(&self, path: &Path) -> Result<Arch> {
        self.arch_file(path)?.validate()
    }
    fn arch_with(
        &self,
        path: &Path,
        _base: &Arch,
        array: &[(&str, i64)],
        schemes: &[SchemeSetting],
    ) -> Result<Arch> {
        self.arch_file(path)?.with_overrides(array, schemes)
    }
    fn check_model_file(&self, path: &Path) -> Result<()> {
        crate::model::read::check_file(path)
    }
    fn model_file(&self, path: &Path) -> Result<Network> {
        crate::model::load(path)
    }
    fn generate(&self, network: &str, gen: &GenParams) -> Result<Network> {
        let spec = Tool::gen_spec(gen);
        crate::gen::check_memory(network, &spec)?;
        crate::gen::generate(network, &spec)
    }
    fn check_gen(&self, gen: &GenParams) -> Result<()> {
        Tool::gen_spec(gen).validate()
    }
}

/// `--shard K/N`: the points whose index ≡ K−1 (mod N), K in 1..=N.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Shard {
    /// 1-based shard number.
    pub k: usize,
    /// Number of shards.
    pub n: usize,
}

impl Shard {
    /// Does this shard run point `index`? Round-robin, so that slow and fast points
    /// (which cluster by model) spread evenly over the shards.
    pub fn contains(&self, index: usize) -> bool {
        index % self.n == self.k - 1
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let help = "expected K/N with 1 <= K <= N, e.g. --shard 2/8";
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("bad shard `{s}`: {help}"))?;
        let (k, n): (usize, usize) = match (k.trim().parse(), n.trim().parse()) {
            (Ok(k), Ok(n)) => (k, n),
            _ => return Err(format!("bad shard `{s}`: {help}")),
        };
        if k == 0 || n == 0 || k > n {
            return Err(format!("bad shard `{s}`: {help}"));
        }
        Ok(Shard { k, n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// `mltq sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Sweep file (TOML), e.g. experiments/mltq-vs-mlb.toml.
    pub spec: PathBuf,
    /// Output directory [default: out/NAME next to the sweep file]. Rerunning into the
    /// same directory resumes: points already in its journal are not simulated again.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run only shard K of N: the points whose index mod N is K-1. Join the shards'
    /// directories with `mltq merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Worker threads [default: one per core].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Only list the points (index, id, parameters); simulate nothing.
    #[arg(long)]
    pub list: bool,
}

/// `mltq merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Output directories of the shard runs (`mltq sweep … --shard K/N --out DIR`).
    #[arg(required = true, value_name = "SHARD_DIR")]
    pub shards: Vec<PathBuf>,
    /// Directory for the merged results.csv, sweep.json and journal.jsonl.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// The default output directory: `out/NAME` next to the sweep file.
pub fn default_out(spec: &Spec) -> PathBuf {
    spec.dir.join("out").join(&spec.name)
}

/// `mltq sweep` with the given inputs; a summary goes to `out`.
pub fn sweep_cmd_with(
    a: SweepArgs,
    inputs: &dyn Inputs,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let spec = Spec::load(&a.spec, &inputs.networks())?;
    if a.list {
        for i in 0..spec.len() {
            if a.shard.is_none_or(|s| s.contains(i)) {
                let p = spec.point(i);
                writeln!(out, "{}\t{}", p.id, p.label())?;
            }
        }
        return Ok(());
    }
    if a.threads == Some(0) {
        return Err(Error::invalid("--threads must be at least 1").into());
    }
    let dir = a.out.unwrap_or_else(|| default_out(&spec));
    sweep_files(&a.spec, &spec, &dir)?.check()?;
    let opts = Options {
        threads: a.threads,
        shard: a.shard,
        progress: true,
    };
    let s = sweep_run(&spec, inputs, &dir, &opts)?;
    let shard = a.shard.map_or(String::new(), |s| format!(" (shard {s})"));
    writeln!(
        out,
        "sweep {}{shard}: {} points ({} from the journal, {} simulated) -> {}, {}",
        spec.name,
        s.points,
        s.resumed,
        s.ran,
        s.csv.display(),
        s.json.display()
    )?;
    Ok(())
}

/// An output directory: missing (it is created) or a directory.
fn check_out_dir(flag: &str, dir: &Path) -> Result<()> {
    match crate::files::Kind::at(dir) {
        Ok(crate::files::Kind::Missing | crate::files::Kind::Directory) => Ok(()),
        Ok(k) => Err(Error::invalid(format!(
            "{flag} {}: it is {}, not a directory; give a directory for the outputs",
            dir.display(),
            k.describe()
        ))),
        Err(e) => Err(Error::read(dir, e)),
    }
}

/// The files of `mltq sweep`: the sweep file, its arch and model files, and the three
/// outputs in `dir`.
fn sweep_files(path: &Path, spec: &Spec, dir: &Path) -> Result<crate::files::Files> {
    check_out_dir("--out", dir)?;
    let mut f = crate::files::Files::new();
    f.input("the sweep file", path);
    for v in spec.distinct(Param::Arch) {
        if let Some(t) = v.as_text() {
            f.input(format!("arch `{t}` ="), &spec.resolve(t));
        }
    }
    for v in spec.distinct(Param::Model) {
        if let Some(t) = v.as_text() {
            f.input(format!("model `{t}` ="), &spec.resolve(t));
        }
    }
    // A directory the sweep creates holds nothing to compare with.
    if dir.is_dir() {
        for name in [exec::RESULTS, exec::RECORD, exec::JOURNAL] {
            f.output("the sweep's output", &dir.join(name));
        }
    }
    Ok(f)
}

/// `mltq sweep`: the tool's own inputs, a summary line on `out`.
pub fn sweep_cmd(a: SweepArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    sweep_cmd_with(a, &Tool::new(), out)
}

/// `mltq merge`.
pub fn merge_cmd(a: MergeArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    check_out_dir("--out", &a.out)?;
    let mut f = crate::files::Files::new();
    for d in &a.shards {
        f.input("the shard's record", &d.join(exec::RECORD));
        f.input("the shard's journal", &d.join(exec::JOURNAL));
    }
    if a.out.is_dir() {
        for name in [exec::RESULTS, exec::RECORD, exec::JOURNAL] {
            f.output("the merged output", &a.out.join(name));
        }
    }
    f.check()?;
    let s = merge(&a.shards, &a.out)?;
    writeln!(
        out,
        "merged {} shard directories: {} points -> {}, {}",
        a.shards.len(),
        s.points,
        s.csv.display(),
        s.json.display()
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_round_robin() {
        let s: Shard = "2/3".parse().unwrap();
        assert_eq!(s, Shard { k: 2, n: 3 });
        let mine: Vec<usize> = (0..8).filter(|&i| s.contains(i)).collect();
        assert_eq!(mine, [1, 4, 7]);
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().unwrap_err().contains("K/N"), "{bad}");
        }
    }

    #[test]
    fn line_and_column_of_byte_offsets() {
        let t = "ab\ncdé\nx";
        assert_eq!(spec::line_col(t, 0), (1, 1));
        assert_eq!(spec::line_col(t, 4), (2, 2));
        assert_eq!(spec::line_col(t, 7), (2, 4));
        assert_eq!(spec::line_col(t, 8), (3, 1));
    }
}
