//! Running a sweep: points in parallel (rayon), each finished point appended to the
//! journal as one fsync'd JSON line; at the end the tidy CSV, in point order, from the
//! journal alone — so the CSV is the same bytes whatever the thread count and however
//! often the sweep was interrupted.
//!
//! Setup ([`prepare`]) never walks every point: a point's arch depends only on the
//! axes that set `arch` or an array override, and its model only on the axes that set
//! the model or generator settings, so each is settled over the combinations of those
//! axes alone ([`Sub`]): every arch with its overrides checked once as an arch file
//! would be, every distinct model found once (a hash map). Arch and model files are
//! read and hashed once each (streamed). A point's model is then a table lookup by
//! its positions on the model axes; the record's points and the journal's entries are
//! written and read one at a time ([`super::record`], [`super::journal`]).

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::journal::{self, Expect, Index};
use super::record;
use super::spec::{Param, Point, Spec, Value};
use super::{GenParams, Inputs, Shard};
use crate::arch::{Arch, SchemeSetting};
use crate::error::{did_you_mean, Error, Result};
use crate::files;
use crate::model::Network;
use crate::output;
use crate::report;
use crate::run::{self, ActSource};

pub use super::journal::{Entry, SCHEMA_VERSION};

/// Journal file name in the output directory.
pub const JOURNAL: &str = "journal.jsonl";
/// Record file name.
pub const RECORD: &str = "sweep.json";
/// Results file name.
pub const RESULTS: &str = "results.csv";

/// How to run a sweep.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Worker threads (None: rayon's default, one per core).
    pub threads: Option<usize>,
    /// Run only this shard's points.
    pub shard: Option<Shard>,
    /// Show a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
}

/// What a sweep run did.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Points of the run's selection (all, or the shard's).
    pub points: usize,
    /// Of those, already in the journal.
    pub resumed: usize,
    /// Of those, simulated now.
    pub ran: usize,
    /// The CSV written.
    pub csv: PathBuf,
    /// The JSON record written.
    pub json: PathBuf,
}

/// Where a point's model comes from.
#[derive(Clone, Debug, PartialEq)]
enum ModelKey {
    File(PathBuf),
    Gen(String, GenParams),
}

impl ModelKey {
    fn describe(&self) -> String {
        match self {
            ModelKey::File(p) => p.display().to_string(),
            ModelKey::Gen(n, _) => format!("builtin:{n}"),
        }
    }

    /// A hashable spelling: equal keys, equal spellings.
    fn key(&self) -> String {
        match self {
            ModelKey::File(p) => format!("file\0{}", p.display()),
            ModelKey::Gen(n, g) => format!(
                "gen\0{n}\0{}\0{}\0{:x}\0{:x}\0{}",
                g.weights,
                g.acts,
                (g.weight_density + 0.0).to_bits(),
                (g.act_density + 0.0).to_bits(),
                g.seed
            ),
        }
    }
}

/// A point resolved against the inputs (its model is its group's).
struct Job {
    arch: Arch,
    sample: u32,
}

/// An arch file of the sweep.
struct ArchInfo {
    path: PathBuf,
    arch: Arch,
    sha: String,
}

/// Everything about a sweep that is known before simulating.
pub struct Prepared {
    /// Number of points.
    pub len: usize,
    /// CSV header.
    pub columns: Vec<String>,
    /// Fingerprint of the inputs: hashes of the arch and model files, generator defaults.
    pub fingerprint: String,
    /// The record without its points (and without `shard`).
    pub head: serde_json::Map<String, serde_json::Value>,
    defaults: GenParams,
    archs: BTreeMap<String, ArchInfo>,
    /// What each `model` value is.
    model_values: HashMap<String, ModelKey>,
    models: Vec<ModelKey>,
    /// The axes that settle a point's model.
    model_axes: Sub,
    /// The model of every combination of the model axes.
    model_of: Vec<u32>,
}

/// The combinations of some of a sweep's axes (mixed radix, the last axis fastest, as
/// points are numbered): what a point's arch or model depends on.
#[derive(Clone, Debug)]
struct Sub {
    /// Indices into `spec.axes`.
    axes: Vec<usize>,
    /// Number of combinations.
    len: usize,
}

impl Sub {
    /// The axes holding any parameter for which `pred` holds.
    fn new(spec: &Spec, pred: impl Fn(&Param) -> bool) -> Sub {
        let axes: Vec<usize> = (0..spec.axes.len())
            .filter(|&k| spec.axes[k].params.iter().any(&pred))
            .collect();
        let len = axes.iter().map(|&k| spec.axes[k].len()).product();
        Sub { axes, len }
    }

    /// The combination point `index` is at.
    fn of_point(&self, spec: &Spec, index: usize) -> usize {
        let mut pos = vec![0usize; spec.axes.len()];
        let mut rest = index;
        for (k, a) in spec.axes.iter().enumerate().rev() {
            pos[k] = rest % a.len();
            rest /= a.len();
        }
        self.axes
            .iter()
            .fold(0, |j, &k| j * spec.axes[k].len() + pos[k])
    }

    /// The values that combination `j` sets: every fixed value and those of its axes.
    fn values(&self, spec: &Spec, j: usize) -> Vec<(Param, Value)> {
        let mut values: Vec<(Param, Value)> = spec
            .fixed
            .iter()
            .map(|(p, v)| (p.clone(), v.clone()))
            .collect();
        let mut rest = j;
        let mut at = vec![0usize; self.axes.len()];
        for (slot, &k) in at.iter_mut().zip(&self.axes).rev() {
            *slot = rest % spec.axes[k].len();
            rest /= spec.axes[k].len();
        }
        for (&k, &i) in self.axes.iter().zip(&at) {
            let a = &spec.axes[k];
            values.extend(a.params.iter().cloned().zip(a.values[i].iter().cloned()));
        }
        values.sort_by(|a, b| a.0.cmp(&b.0));
        values
    }
}

/// The value of `q` among `values`.
fn get(values: &[(Param, Value)], q: Param) -> Option<&Value> {
    values.iter().find(|(p, _)| *p == q).map(|(_, v)| v)
}

/// The CSV header of a sweep: `point`, `point_id`, parameter columns, report columns.
pub fn columns(spec: &Spec) -> Vec<String> {
    let mut c = vec!["point".to_string(), "point_id".to_string()];
    c.extend(spec.param_columns().iter().map(|p| p.name().to_string()));
    c.extend(report::csv::HEADER.iter().map(|s| s.to_string()));
    c
}

#[derive(Serialize)]
struct SpecRecord<'a> {
    path: &'a str,
    toml: &'a str,
}

#[derive(Serialize)]
struct FileRecord {
    path: String,
    sha256: String,
}

/// A point of the record. Every struct of it has its fields in sorted order, as the
/// record's bytes need ([`super::record`]).
#[derive(Serialize)]
struct PointRecord<'a> {
    arch: &'a str,
    array: ArrayRecord,
    /// Generator settings, seed included (generated networks only).
    gen: Option<GenRecord<'a>>,
    id: &'a str,
    index: usize,
    model: String,
    params: BTreeMap<&'a str, &'a Value>,
    sample: u32,
}

/// [`crate::arch::ArrayShape`], keys sorted.
#[derive(Serialize)]
struct ArrayRecord {
    column_registers: usize,
    columns: usize,
    lanes: usize,
    rows: usize,
    tiles: usize,
}

/// [`GenParams`], keys sorted.
#[derive(Serialize)]
struct GenRecord<'a> {
    act_density: f64,
    acts: &'a crate::encoding::EncSpec,
    seed: u64,
    weight_density: f64,
    weights: &'a crate::encoding::EncSpec,
}

/// The record but its points.
#[derive(Serialize)]
struct RecordHead<'a> {
    schema_version: u32,
    tool: report::json::Tool,
    sweep: &'a str,
    description: Option<&'a str>,
    spec: SpecRecord<'a>,
    order: &'static str,
    fixed: BTreeMap<&'a str, &'a Value>,
    axes: &'a [super::spec::Axis],
    gen_defaults: &'a GenParams,
    archs: Vec<FileRecord>,
    models: Vec<FileRecord>,
    fingerprint: &'a str,
    columns: &'a [String],
    csv: &'static str,
}

const ORDER: &str = "axes in the canonical order of their first parameter (model, network, \
                     weights, acts, weight_density, act_density, seed, sample, arch, tiles, \
                     rows, columns, lanes, column_registers, then the scheme keys \
                     scheme.NAME.KEY by scheme name, then key); the last axis varies fastest";

/// A point's changes to its arch: `[array]` values and `[[scheme]]` keys.
struct Overrides<'a> {
    array: Vec<(&'a str, i64)>,
    schemes: Vec<SchemeSetting>,
}

impl Overrides<'_> {
    fn is_empty(&self) -> bool {
        self.array.is_empty() && self.schemes.is_empty()
    }
}

/// The `[array]` overrides and scheme keys among `values`, as arch-file keys and values.
fn overrides(values: &[(Param, Value)]) -> Overrides<'_> {
    let array = values
        .iter()
        .filter(|(q, _)| q.is_array())
        .map(|(q, v)| {
            let n = v.as_int().unwrap_or(0);
            (q.name(), i64::try_from(n).unwrap_or(i64::MAX))
        })
        .collect();
    let schemes = values
        .iter()
        .filter_map(|(q, v)| q.scheme_key().map(|k| k.setting(v)))
        .collect();
    Overrides { array, schemes }
}

/// Is this a parameter that changes the arch?
fn sets_arch(p: &Param) -> bool {
    *p == Param::Arch || p.is_array() || p.scheme_key().is_some()
}

/// "s.toml: point 3 (lanes=4 …): {e}".
fn at_point(spec: &Spec, p: &Point, e: impl std::fmt::Display) -> Error {
    Error::invalid(format!(
        "{}: point {} ({}): {e}",
        spec.path,
        p.index,
        p.label()
    ))
}

fn text_of(p: &Point, q: Param) -> Option<&str> {
    p.get(q).and_then(Value::as_text)
}

/// Resolve every point (read and hash the arch and model files, check every point's
/// arch with its overrides, settle each point's model) and build the record's head.
/// Nothing is simulated; model files are checked (header, memory) and hashed, not
/// read whole.
pub fn prepare(spec: &Spec, inputs: &dyn Inputs) -> Result<Prepared> {
    let len = spec.len();
    let columns = columns(spec);
    let defaults = inputs.gen_defaults();
    let networks = inputs.networks();

    let mut archs: BTreeMap<String, ArchInfo> = BTreeMap::new();
    for v in spec.distinct(Param::Arch) {
        let rel = v.as_text().expect("validated: arch is text");
        let path = spec.resolve(rel);
        let sha = files::sha256_file(&path)?;
        let arch = inputs.arch(&path)?;
        archs.insert(rel.to_string(), ArchInfo { path, arch, sha });
    }
    let mut model_files: BTreeMap<String, String> = BTreeMap::new();
    let mut model_values: HashMap<String, ModelKey> = HashMap::new();
    for v in spec.distinct(Param::Model) {
        let m = v.as_text().expect("validated: model is text");
        let path = spec.resolve(m);
        let key = if path.is_file() {
            inputs
                .check_model_file(&path)
                .map_err(|e| Error::invalid(format!("{}: model `{m}`: {e}", spec.path)))?;
            model_files.insert(m.to_string(), files::sha256_file(&path)?);
            ModelKey::File(path)
        } else if networks.contains(&m) {
            ModelKey::Gen(m.to_string(), defaults.clone())
        } else {
            return Err(Error::invalid(format!(
                "{}: model `{m}` is neither a file nor a built-in network",
                spec.path
            )));
        };
        model_values.insert(m.to_string(), key);
    }

    // Every scheme a sweep sets a key of is one every arch lists.
    for k in spec.scheme_keys() {
        for (rel, a) in &archs {
            if a.arch.scheme(k.scheme()).is_none() {
                let names: Vec<&str> = a.arch.schemes.iter().map(|s| s.name.as_str()).collect();
                return Err(spec.error_at(
                    &Param::Scheme(k.clone()),
                    format!(
                        "`{}`: arch `{rel}` has no scheme `{}`{}; its schemes: {} (a sweep sets \
                         keys of the schemes listed in every arch's `schemes`)",
                        k.name(),
                        k.scheme(),
                        did_you_mean(k.scheme(), names.iter().copied()),
                        names.join(", ")
                    ),
                ));
            }
        }
    }

    let model_axes = Sub::new(spec, |p| {
        matches!(p, Param::Model | Param::Network) || p.is_gen()
    });
    let mut prep = Prepared {
        len,
        columns,
        fingerprint: String::new(),
        head: serde_json::Map::new(),
        defaults,
        archs,
        model_values,
        models: Vec::new(),
        model_of: Vec::with_capacity(model_axes.len),
        model_axes,
    };
    // Every arch with every set of overrides a point gives it, checked once.
    let arch_axes = Sub::new(spec, sets_arch);
    for j in 0..arch_axes.len {
        let values = arch_axes.values(spec, j);
        let ov = overrides(&values);
        if ov.is_empty() {
            continue;
        }
        let rel = get(&values, Param::Arch)
            .and_then(Value::as_text)
            .expect("validated: arch is set");
        let a = &prep.archs[rel];
        inputs
            .arch_with(&a.path, &a.arch, &ov.array, &ov.schemes)
            .map_err(|e| {
                let label: Vec<String> = values
                    .iter()
                    .filter(|(q, _)| sets_arch(q))
                    .map(|(q, v)| format!("{q}={v}"))
                    .collect();
                Error::invalid(format!(
                    "{}: the points with {}: {e}",
                    spec.path,
                    label.join(" ")
                ))
            })?;
    }
    // Every distinct model, found once.
    let mut model_ids: HashMap<String, u32> = HashMap::new();
    for j in 0..prep.model_axes.len {
        let values = prep.model_axes.values(spec, j);
        let key = prep.model_key(&values);
        let id = key.key();
        let m = match model_ids.get(&id) {
            Some(&m) => m,
            None => {
                if let ModelKey::Gen(n, g) = &key {
                    inputs.check_gen(g).map_err(|e| {
                        Error::invalid(format!(
                            "{}: network {n} with seed {}: {e}",
                            spec.path, g.seed
                        ))
                    })?;
                }
                let m = prep.models.len() as u32;
                prep.models.push(key);
                model_ids.insert(id, m);
                m
            }
        };
        prep.model_of.push(m);
    }

    // The inputs' contents (the points themselves are checked by id).
    let mut h = Sha256::new();
    for (path, a) in &prep.archs {
        h.update(format!("arch {path} {}\n", a.sha));
    }
    for (path, sha) in &model_files {
        h.update(format!("model {path} {sha}\n"));
    }
    h.update(format!(
        "gen-defaults {}\n",
        serde_json::to_string(&prep.defaults).expect("serializes")
    ));
    let digest = h.finalize();
    prep.fingerprint = digest[..8].iter().map(|b| format!("{b:02x}")).collect();

    let head = RecordHead {
        schema_version: SCHEMA_VERSION,
        tool: report::json::Tool::MLTQ,
        sweep: &spec.name,
        description: spec.description.as_deref(),
        spec: SpecRecord {
            path: &spec.path,
            toml: &spec.text,
        },
        order: ORDER,
        fixed: spec.fixed.iter().map(|(p, v)| (p.name(), v)).collect(),
        axes: &spec.axes,
        gen_defaults: &prep.defaults,
        archs: prep
            .archs
            .iter()
            .map(|(p, a)| FileRecord {
                path: p.clone(),
                sha256: a.sha.clone(),
            })
            .collect(),
        models: model_files
            .iter()
            .map(|(p, sha)| FileRecord {
                path: p.clone(),
                sha256: sha.clone(),
            })
            .collect(),
        fingerprint: &prep.fingerprint,
        columns: &prep.columns,
        csv: RESULTS,
    };
    let serde_json::Value::Object(head) = serde_json::to_value(&head).expect("record serializes")
    else {
        unreachable!("a struct serializes to an object")
    };
    prep.head = head;
    Ok(prep)
}

impl Prepared {
    /// Where the model of a point with these values comes from.
    fn model_key(&self, values: &[(Param, Value)]) -> ModelKey {
        if let Some(net) = get(values, Param::Network).and_then(Value::as_text) {
            let mut g = self.defaults.clone();
            for (q, v) in values {
                match q {
                    Param::Weights => g.weights = v.as_enc().expect("enc"),
                    Param::Acts => g.acts = v.as_enc().expect("enc"),
                    Param::WeightDensity => g.weight_density = v.as_real().expect("real"),
                    Param::ActDensity => g.act_density = v.as_real().expect("real"),
                    Param::Seed => g.seed = v.as_int().expect("int"),
                    _ => {}
                }
            }
            return ModelKey::Gen(net.to_string(), g);
        }
        let m = get(values, Param::Model)
            .and_then(Value::as_text)
            .expect("validated: model or network is set");
        self.model_values[m].clone()
    }

    /// The index (in `models`) of point `i`'s model.
    fn model_of_point(&self, spec: &Spec, i: usize) -> usize {
        self.model_of[self.model_axes.of_point(spec, i)] as usize
    }

    fn sample(p: &Point) -> u32 {
        p.get(Param::Sample).and_then(Value::as_int).unwrap_or(0) as u32
    }

    /// Point `p`'s arch (validated with its overrides) and sample.
    fn job(&self, spec: &Spec, inputs: &dyn Inputs, p: &Point) -> Result<Job> {
        let rel = text_of(p, Param::Arch).expect("validated: arch is set");
        let a = &self.archs[rel];
        let ov = overrides(&p.values);
        let arch = if ov.is_empty() {
            a.arch.clone()
        } else {
            inputs
                .arch_with(&a.path, &a.arch, &ov.array, &ov.schemes)
                .map_err(|e| at_point(spec, p, e))?
        };
        Ok(Job {
            arch,
            sample: Prepared::sample(p),
        })
    }

    /// Write point `p`'s entry of the record with `emit`.
    fn emit_point(&self, spec: &Spec, p: &Point, emit: &mut record::Emit) -> std::io::Result<()> {
        let key = &self.models[self.model_of_point(spec, p.index)];
        let rel = text_of(p, Param::Arch).expect("validated: arch is set");
        let mut a = self.archs[rel].arch.array;
        for (k, x) in overrides(&p.values).array {
            // Checked when the sweep was prepared.
            let _ = a.set(k, x);
        }
        let r = PointRecord {
            arch: rel,
            array: ArrayRecord {
                column_registers: a.column_registers,
                columns: a.columns,
                lanes: a.lanes,
                rows: a.rows,
                tiles: a.tiles,
            },
            gen: match key {
                ModelKey::Gen(_, g) => Some(GenRecord {
                    act_density: g.act_density,
                    acts: &g.acts,
                    seed: g.seed,
                    weight_density: g.weight_density,
                    weights: &g.weights,
                }),
                ModelKey::File(_) => None,
            },
            id: &p.id,
            index: p.index,
            model: match key {
                ModelKey::File(_) => text_of(p, Param::Model).unwrap_or_default().to_string(),
                k => k.describe(),
            },
            params: p.values.iter().map(|(q, v)| (q.name(), v)).collect(),
            sample: Prepared::sample(p),
        };
        emit(&r)
    }
}

/// The record's head with a shard's `shard` field.
pub fn shard_head(
    head: &serde_json::Map<String, serde_json::Value>,
    shard: Option<Shard>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut h = head.clone();
    if let Some(s) = shard {
        h.insert(
            "shard".to_string(),
            serde_json::json!({
                "k": s.k,
                "n": s.n,
                "rule": "points whose index mod n == k - 1",
            }),
        );
    }
    h
}

/// Write the tidy CSV of `entries` (in the order given, each read when its turn
/// comes).
pub fn write_results(
    path: &Path,
    columns: &[String],
    entries: impl Iterator<Item = Result<Entry>>,
) -> Result<()> {
    output::commit_all(vec![stage_results(path, columns, entries)?])
}

/// [`write_results`], staged.
pub fn stage_results(
    path: &Path,
    columns: &[String],
    entries: impl Iterator<Item = Result<Entry>>,
) -> Result<output::Staged> {
    let mut failed: Option<Error> = None;
    let staged = output::stage(path, |w| {
        let mut out = csv::WriterBuilder::new().has_headers(false).from_writer(w);
        out.write_record(columns)?;
        for e in entries {
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    failed = Some(err);
                    return Err(std::io::Error::other("a journal entry could not be read"));
                }
            };
            let point = e.point.to_string();
            for r in &e.rows {
                let mut rec: Vec<&str> = Vec::with_capacity(columns.len());
                rec.push(&point);
                rec.push(&e.id);
                rec.extend(e.params.iter().map(|(_, v)| v.as_str()));
                rec.extend(r.iter().map(String::as_str));
                out.write_record(&rec)?;
            }
        }
        out.flush()
    });
    match failed {
        Some(e) => Err(e),
        None => staged,
    }
}

fn progress_bar(len: u64, pos: u64, show: bool, msg: String) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    if show && std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::stderr());
    }
    pb.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} points  {elapsed_precise} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb.set_message(msg);
    pb.set_position(pos);
    pb.reset_eta();
    pb
}

/// Simulate one point: its rows as report CSV records.
fn simulate_point(net: &Network, job: &Job) -> Result<Vec<Vec<String>>> {
    let run = run::simulate(
        net,
        &job.arch,
        ActSource::Sample { sample: job.sample },
        &|| {},
    )?;
    Ok(report::rows(&run)
        .iter()
        .map(|r| report::csv::record(r).to_vec())
        .collect())
}

fn load_model(inputs: &dyn Inputs, key: &ModelKey) -> Result<Network> {
    match key {
        ModelKey::File(p) => inputs.model_file(p),
        ModelKey::Gen(n, g) => inputs.generate(n, g),
    }
}

/// The journal being appended to, and where each point's line is.
struct Appender {
    file: File,
    end: u64,
    index: Index,
}

/// Run a sweep (or one shard of it) into `dir`, resuming from its journal.
pub fn sweep_run(spec: &Spec, inputs: &dyn Inputs, dir: &Path, opts: &Options) -> Result<Summary> {
    let prep = prepare(spec, inputs)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
    let jpath = dir.join(JOURNAL);
    // The journal is appended in place: never through a link planted in its stead.
    if std::fs::symlink_metadata(&jpath).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::invalid(format!(
            "{} is a symbolic link; the journal is appended in place, never through a link: \
             remove the link (or use another --out)",
            jpath.display()
        )));
    }
    let mut open = OpenOptions::new();
    open.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.custom_flags(libc::O_NOFOLLOW);
    }
    let file = open.open(&jpath).map_err(|e| Error::write(&jpath, e))?;
    // One writer per directory. Where the file system has no locks (some network file
    // systems), go on without: each shard has its own directory anyway.
    if let Err(std::fs::TryLockError::WouldBlock) = file.try_lock() {
        return Err(Error::invalid(format!(
            "{} is in use by another mltq sweep; wait for it or use another --out",
            jpath.display()
        )));
    }
    let id_of = |i: usize| spec.point(i).id;
    let expect = Expect {
        len: prep.len,
        id_of: &id_of,
        columns: &prep.columns,
        fingerprint: &prep.fingerprint,
    };
    let (index, good) = journal::index(&jpath, &expect)?;
    let len = file.metadata().map_err(|e| Error::read(&jpath, e))?.len();
    if len > good {
        // A line cut short by a kill: drop it so the next line starts clean.
        file.set_len(good).map_err(|e| Error::write(&jpath, e))?;
        file.sync_all().map_err(|e| Error::write(&jpath, e))?;
    }
    let head = shard_head(&prep.head, opts.shard);
    output::write_atomic(&dir.join(RECORD), |w| {
        record::write(w, &head, &mut |emit| {
            (0..prep.len).try_for_each(|i| prep.emit_point(spec, &spec.point(i), emit))
        })
    })?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }

    let selected = |i: &usize| opts.shard.is_none_or(|s| s.contains(*i));
    let selected_count = (0..prep.len).filter(selected).count();
    // Pending points grouped by model, in first-use order: each group generates (or
    // reads) its model once, runs its points, and drops the model.
    let mut groups: Vec<(usize, Vec<u32>)> = Vec::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    let mut pending = 0usize;
    for i in (0..prep.len).filter(selected).filter(|&i| !index.has(i)) {
        let m = prep.model_of_point(spec, i);
        let g = *group_of.entry(m).or_insert_with(|| {
            groups.push((m, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(i as u32);
        pending += 1;
    }
    let resumed = selected_count - pending;

    let pb = progress_bar(
        selected_count as u64,
        resumed as u64,
        opts.progress,
        match opts.shard {
            Some(s) => format!("{} shard {s}", spec.name),
            None => spec.name.clone(),
        },
    );
    let journal = Mutex::new(Appender {
        file,
        end: good,
        index,
    });
    let param_columns = spec.param_columns();
    let work = || -> Result<()> {
        groups.par_iter().try_for_each(|(m, idx)| -> Result<()> {
            let key = &prep.models[*m];
            let net = Arc::new(
                load_model(inputs, key)
                    .map_err(|e| Error::invalid(format!("model {}: {e}", key.describe())))?,
            );
            idx.par_iter()
                .with_max_len(1)
                .try_for_each(|&i| -> Result<()> {
                    let p = spec.point(i as usize);
                    let job = prep.job(spec, inputs, &p)?;
                    let rows = simulate_point(&net, &job).map_err(|e| {
                        Error::invalid(format!("point {} ({}): {e}", p.index, p.label()))
                    })?;
                    let entry = Entry {
                        v: SCHEMA_VERSION,
                        point: p.index,
                        id: p.id.clone(),
                        fingerprint: prep.fingerprint.clone(),
                        params: param_columns
                            .iter()
                            .map(|q| {
                                let v = p.get(q).map(|v| v.to_string()).unwrap_or_default();
                                (q.name().to_string(), v)
                            })
                            .collect(),
                        rows,
                    };
                    let mut line = serde_json::to_string(&entry).expect("entry serializes");
                    line.push('\n');
                    {
                        let mut j = journal.lock().unwrap_or_else(|e| e.into_inner());
                        j.file
                            .write_all(line.as_bytes())
                            .and_then(|()| j.file.sync_data())
                            .map_err(|e| Error::write(&jpath, e))?;
                        let at = j.end;
                        j.index.set(p.index, at, (line.len() - 1) as u32);
                        j.end += line.len() as u64;
                    }
                    pb.inc(1);
                    Ok(())
                })
        })
    };
    let result = match opts.threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| {
                Error::resource(format!(
                    "cannot start {n} worker threads: {e}; use fewer (--threads)"
                ))
            })?
            .install(work),
        None => work(),
    };
    pb.finish_and_clear();
    result?;
    let index = journal
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .index;
    let reader = File::open(&jpath).map_err(|e| Error::read(&jpath, e))?;
    let csv = dir.join(RESULTS);
    let entries = (0..prep.len).filter(selected).map(|i| {
        let (o, l) = index
            .get(i)
            .expect("every selected point is journaled once the run succeeds");
        journal::read_at(&reader, &jpath, o, l)
    });
    write_results(&csv, &prep.columns, entries)?;
    Ok(Summary {
        points: selected_count,
        resumed,
        ran: pending,
        csv,
        json: dir.join(RECORD),
    })
}
