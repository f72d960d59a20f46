//! Running a sweep: points in parallel (rayon), each finished point appended to the
//! journal as one fsync'd JSON line; at the end the tidy CSV, in point order, from the
//! journal alone — so the CSV is the same bytes whatever the thread count and however
//! often the sweep was interrupted and resumed.
//!
//! Resuming: every `\n`-terminated journal line is a finished point; a last line without
//! its `\n` is a write cut short by a kill, dropped (and truncated away before
//! appending). A line from a different sweep (unknown id) or from different inputs
//! (another fingerprint: an arch or model file changed) is an error, never mixed in.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::spec::{Param, Point, Spec};
use super::{GenParams, Inputs, Shard};
use crate::arch::{Arch, ArrayShape};
use crate::error::{Error, Result};
use crate::model::Network;
use crate::output;
use crate::report;
use crate::run::{self, ActSource};

/// Journal file name in the output directory.
pub const JOURNAL: &str = "journal.jsonl";
/// Record file name.
pub const RECORD: &str = "sweep.json";
/// Results file name.
pub const RESULTS: &str = "results.csv";
/// Version of the journal line and record layouts.
pub const SCHEMA_VERSION: u32 = 1;

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

/// One journal line: a finished point with all its report rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Journal layout version.
    pub v: u32,
    /// Point index.
    pub point: usize,
    /// Point id.
    pub id: String,
    /// Fingerprint of the sweep's inputs.
    pub fingerprint: String,
    /// (column, value) of every parameter column, in column order.
    pub params: Vec<(String, String)>,
    /// The report's CSV records (`report::csv::HEADER` columns), per layer × scheme
    /// then the totals.
    pub rows: Vec<Vec<String>>,
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
}

/// A point resolved against the inputs.
struct Job {
    model: usize,
    arch: Arch,
    sample: u32,
}

/// Everything about a sweep that is known before simulating.
pub struct Prepared {
    /// Every point.
    pub points: Vec<Point>,
    /// CSV header.
    pub columns: Vec<String>,
    /// Fingerprint of the inputs: hashes of the arch and model files, generator defaults.
    pub fingerprint: String,
    /// The record, as written to `sweep.json` (without `shard`).
    pub record: serde_json::Value,
    models: Vec<ModelKey>,
    jobs: Vec<Job>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

#[derive(Serialize)]
struct PointRecord {
    index: usize,
    id: String,
    params: serde_json::Map<String, serde_json::Value>,
    model: String,
    /// Generator settings, seed included (generated networks only).
    gen: Option<GenParams>,
    sample: u32,
    arch: String,
    array: ArrayShape,
}

#[derive(Serialize)]
struct Record<'a> {
    schema_version: u32,
    tool: report::json::Tool,
    sweep: &'a str,
    description: Option<&'a str>,
    spec: SpecRecord<'a>,
    order: &'static str,
    fixed: BTreeMap<&'static str, &'a super::Value>,
    axes: &'a [super::spec::Axis],
    gen_defaults: GenParams,
    archs: Vec<FileRecord>,
    models: Vec<FileRecord>,
    fingerprint: &'a str,
    columns: &'a [String],
    csv: &'static str,
    points: Vec<PointRecord>,
}

const ORDER: &str = "axes in the canonical order of their first parameter (model, network, \
                     weights, acts, weight_density, act_density, seed, sample, arch, tiles, \
                     rows, columns, lanes, column_registers); the last axis varies fastest";

/// Resolve every point (load the arch files, settle each point's model) and build the
/// record. Nothing is simulated; model files are hashed, not parsed.
pub fn prepare(spec: &Spec, inputs: &dyn Inputs) -> Result<Prepared> {
    let points = spec.points();
    let columns = columns(spec);
    let defaults = inputs.gen_defaults();
    let networks = inputs.networks();

    let mut archs: BTreeMap<String, (Arch, String)> = BTreeMap::new();
    let mut model_files: BTreeMap<String, String> = BTreeMap::new();
    let mut models: Vec<ModelKey> = Vec::new();
    let mut jobs = Vec::with_capacity(points.len());
    let mut point_records = Vec::with_capacity(points.len());
    for p in &points {
        let text = |q: Param| p.get(q).and_then(|v| v.as_text()).map(str::to_string);
        let arch_rel = text(Param::Arch).expect("validated: arch is set");
        if !archs.contains_key(&arch_rel) {
            let path = spec.resolve(&arch_rel);
            let bytes = std::fs::read(&path).map_err(|e| Error::read(&path, e))?;
            let arch = inputs.arch(&path)?;
            archs.insert(arch_rel.clone(), (arch, sha256_hex(&bytes)));
        }
        let mut arch = archs[&arch_rel].0.clone();
        for (q, v) in &p.values {
            let n = v.as_int().unwrap_or(0) as usize;
            match q {
                Param::Tiles => arch.array.tiles = n,
                Param::Rows => arch.array.rows = n,
                Param::Columns => arch.array.columns = n,
                Param::Lanes => arch.array.lanes = n,
                Param::ColumnRegisters => arch.array.column_registers = n,
                _ => {}
            }
        }

        let key = if let Some(net) = text(Param::Network) {
            let mut g = defaults.clone();
            for (q, v) in &p.values {
                match q {
                    Param::Weights => g.weights = v.as_enc().expect("enc"),
                    Param::Acts => g.acts = v.as_enc().expect("enc"),
                    Param::WeightDensity => g.weight_density = v.as_real().expect("real"),
                    Param::ActDensity => g.act_density = v.as_real().expect("real"),
                    Param::Seed => g.seed = v.as_int().expect("int"),
                    _ => {}
                }
            }
            inputs.check_gen(&g).map_err(|e| {
                Error::invalid(format!(
                    "{}: point {} ({}): {e}",
                    spec.path,
                    p.index,
                    p.label()
                ))
            })?;
            ModelKey::Gen(net, g)
        } else {
            let m = text(Param::Model).expect("validated: model or network is set");
            let path = spec.resolve(&m);
            if path.is_file() {
                if !model_files.contains_key(&m) {
                    let bytes = std::fs::read(&path).map_err(|e| Error::read(&path, e))?;
                    model_files.insert(m.clone(), sha256_hex(&bytes));
                }
                ModelKey::File(path)
            } else if networks.contains(&m.as_str()) {
                ModelKey::Gen(m, defaults.clone())
            } else {
                return Err(Error::invalid(format!(
                    "{}: model `{m}` is neither a file nor a built-in network",
                    spec.path
                )));
            }
        };
        let sample = p.get(Param::Sample).and_then(|v| v.as_int()).unwrap_or(0) as u32;
        let model = match models.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                models.push(key.clone());
                models.len() - 1
            }
        };
        point_records.push(PointRecord {
            index: p.index,
            id: p.id.clone(),
            params: p
                .values
                .iter()
                .map(|(q, v)| {
                    (
                        q.name().to_string(),
                        serde_json::to_value(v).expect("values serialize"),
                    )
                })
                .collect(),
            model: match &key {
                ModelKey::File(_) => text(Param::Model).unwrap_or_default(),
                k => k.describe(),
            },
            gen: match &key {
                ModelKey::Gen(_, g) => Some(g.clone()),
                ModelKey::File(_) => None,
            },
            sample,
            arch: arch_rel,
            array: arch.array,
        });
        jobs.push(Job {
            model,
            arch,
            sample,
        });
    }

    // The inputs' contents (the points themselves are checked by id).
    let mut h = Sha256::new();
    for (path, (_, sha)) in &archs {
        h.update(format!("arch {path} {sha}\n"));
    }
    for (path, sha) in &model_files {
        h.update(format!("model {path} {sha}\n"));
    }
    h.update(format!(
        "gen-defaults {}\n",
        serde_json::to_string(&defaults).expect("serializes")
    ));
    let fingerprint = sha256_hex(&h.finalize())[..16].to_string();

    let record = Record {
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
        gen_defaults: defaults,
        archs: archs
            .iter()
            .map(|(p, (_, sha))| FileRecord {
                path: p.clone(),
                sha256: sha.clone(),
            })
            .collect(),
        models: model_files
            .iter()
            .map(|(p, sha)| FileRecord {
                path: p.clone(),
                sha256: sha.clone(),
            })
            .collect(),
        fingerprint: &fingerprint,
        columns: &columns,
        csv: RESULTS,
        points: point_records,
    };
    let record = serde_json::to_value(&record).expect("record serializes");
    Ok(Prepared {
        points,
        columns,
        fingerprint,
        record,
        models,
        jobs,
    })
}

/// The record with a shard's `shard` field.
pub fn shard_record(record: &serde_json::Value, shard: Option<Shard>) -> serde_json::Value {
    let mut r = record.clone();
    if let (Some(s), Some(obj)) = (shard, r.as_object_mut()) {
        obj.insert(
            "shard".to_string(),
            serde_json::json!({
                "k": s.k,
                "n": s.n,
                "rule": "points whose index mod n == k - 1",
            }),
        );
    }
    r
}

/// Write a record (always through `serde_json::Value`, so a merged record is the same
/// bytes as an unsharded one).
pub fn write_record(path: &Path, record: &serde_json::Value) -> Result<()> {
    output::write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, record)?;
        writeln!(w)
    })
}

/// Write the tidy CSV of `entries` (in the order given).
pub fn write_results<'a>(
    path: &Path,
    columns: &[String],
    entries: impl IntoIterator<Item = &'a Entry>,
) -> Result<()> {
    let entries: Vec<&Entry> = entries.into_iter().collect();
    output::write_atomic(path, |w| {
        let mut out = csv::WriterBuilder::new().has_headers(false).from_writer(w);
        out.write_record(columns)?;
        for e in &entries {
            for r in &e.rows {
                let mut rec: Vec<&str> = Vec::with_capacity(columns.len());
                let point = e.point.to_string();
                rec.push(&point);
                rec.push(&e.id);
                rec.extend(e.params.iter().map(|(_, v)| v.as_str()));
                rec.extend(r.iter().map(String::as_str));
                out.write_record(&rec)?;
            }
        }
        out.flush()
    })
}

/// Read a journal: every `\n`-terminated line, parsed. Returns the entries (with their
/// 1-based line numbers) and the byte length of the complete lines (a torn last line
/// lies past it).
pub fn read_journal(path: &Path) -> Result<(Vec<(usize, Entry)>, u64)> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(Error::read(path, e)),
    };
    let good = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut out = Vec::new();
    for (i, line) in bytes[..good].split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let e: Entry = serde_json::from_slice(line).map_err(|e| {
            Error::invalid(format!(
                "{}:{}: not a sweep journal line ({e}); the journal is damaged: move it away \
                 to rerun every point",
                path.display(),
                i + 1
            ))
        })?;
        if e.v != SCHEMA_VERSION {
            return Err(Error::invalid(format!(
                "{}:{}: journal layout version {} (this mltq writes {SCHEMA_VERSION}); \
                 use another --out directory",
                path.display(),
                i + 1,
                e.v
            )));
        }
        out.push((i + 1, e));
    }
    Ok((out, good as u64))
}

/// Check journal entries against a sweep and key them by point index. `source` names
/// the journal in messages.
pub fn check_entries(
    source: &Path,
    entries: Vec<(usize, Entry)>,
    points: &[Point],
    columns: &[String],
    fingerprint: &str,
) -> Result<BTreeMap<usize, Entry>> {
    let nparams = columns.len() - 2 - report::csv::HEADER.len();
    let mut done: BTreeMap<usize, Entry> = BTreeMap::new();
    let fresh = "the sweep file changed since this journal was written; use another --out \
                 directory, or move the journal away to rerun every point";
    for (line, e) in entries {
        let at = format!("{}:{line}", source.display());
        let Some(p) = points.get(e.point) else {
            return Err(Error::invalid(format!(
                "{at}: point {} is not in this sweep ({} points): {fresh}",
                e.point,
                points.len()
            )));
        };
        if p.id != e.id {
            return Err(Error::invalid(format!(
                "{at}: point {} has id {} in the journal but {} in this sweep: {fresh}",
                e.point, e.id, p.id
            )));
        }
        if e.fingerprint != fingerprint {
            return Err(Error::invalid(format!(
                "{at}: point {} was simulated with other inputs (fingerprint {}, now {fingerprint}): \
                 an arch or model file (or the generator's defaults) changed; use another --out directory, or move the \
                 journal away to rerun every point",
                e.point, e.fingerprint
            )));
        }
        let names_ok = e.params.len() == nparams
            && e.params.iter().zip(&columns[2..]).all(|((n, _), c)| n == c);
        if !names_ok || e.rows.iter().any(|r| r.len() != report::csv::HEADER.len()) {
            return Err(Error::invalid(format!(
                "{at}: point {} does not have this sweep's columns: {fresh}",
                e.point
            )));
        }
        if let Some(prev) = done.get(&e.point) {
            if *prev != e {
                return Err(Error::invalid(format!(
                    "{at}: point {} appears twice with different results; the journal is \
                     damaged: move it away to rerun every point",
                    e.point
                )));
            }
            continue;
        }
        done.insert(e.point, e);
    }
    Ok(done)
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

/// Run a sweep (or one shard of it) into `dir`, resuming from its journal.
pub fn sweep_run(spec: &Spec, inputs: &dyn Inputs, dir: &Path, opts: &Options) -> Result<Summary> {
    let prep = prepare(spec, inputs)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
    let jpath = dir.join(JOURNAL);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&jpath)
        .map_err(|e| Error::write(&jpath, e))?;
    // One writer per directory. Where the file system has no locks (some network file
    // systems), go on without: each shard has its own directory anyway.
    if let Err(std::fs::TryLockError::WouldBlock) = file.try_lock() {
        return Err(Error::invalid(format!(
            "{} is in use by another mltq sweep; wait for it or use another --out",
            jpath.display()
        )));
    }
    let (entries, good) = read_journal(&jpath)?;
    let len = file.metadata().map_err(|e| Error::read(&jpath, e))?.len();
    if len > good {
        // A line cut short by a kill: drop it so the next line starts clean.
        file.set_len(good).map_err(|e| Error::write(&jpath, e))?;
        file.sync_all().map_err(|e| Error::write(&jpath, e))?;
    }
    let mut done = check_entries(
        &jpath,
        entries,
        &prep.points,
        &prep.columns,
        &prep.fingerprint,
    )?;
    write_record(&dir.join(RECORD), &shard_record(&prep.record, opts.shard))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }

    let selected: Vec<usize> = (0..prep.points.len())
        .filter(|&i| opts.shard.is_none_or(|s| s.contains(i)))
        .collect();
    let pending: Vec<usize> = selected
        .iter()
        .copied()
        .filter(|i| !done.contains_key(i))
        .collect();
    let resumed = selected.len() - pending.len();

    // Pending points grouped by model, in first-use order: each group generates (or
    // reads) its model once, runs its points, and drops the model.
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    for &i in &pending {
        let m = prep.jobs[i].model;
        let g = *group_of.entry(m).or_insert_with(|| {
            groups.push((m, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(i);
    }

    let pb = progress_bar(
        selected.len() as u64,
        resumed as u64,
        opts.progress,
        match opts.shard {
            Some(s) => format!("{} shard {s}", spec.name),
            None => spec.name.clone(),
        },
    );
    let journal = Mutex::new(file);
    let new_entries: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
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
                    let p = &prep.points[i];
                    let rows = simulate_point(&net, &prep.jobs[i]).map_err(|e| {
                        Error::invalid(format!("point {} ({}): {e}", p.index, p.label()))
                    })?;
                    let entry = Entry {
                        v: SCHEMA_VERSION,
                        point: i,
                        id: p.id.clone(),
                        fingerprint: prep.fingerprint.clone(),
                        params: spec
                            .param_columns()
                            .iter()
                            .map(|q| {
                                let v = p.get(*q).map(|v| v.to_string()).unwrap_or_default();
                                (q.name().to_string(), v)
                            })
                            .collect(),
                        rows,
                    };
                    let mut line = serde_json::to_string(&entry).expect("entry serializes");
                    line.push('\n');
                    {
                        let mut f = journal.lock().unwrap_or_else(|e| e.into_inner());
                        f.write_all(line.as_bytes())
                            .and_then(|()| f.sync_data())
                            .map_err(|e| Error::write(&jpath, e))?;
                    }
                    new_entries
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(entry);
                    pb.inc(1);
                    Ok(())
                })
        })
    };
    let result = match opts.threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| Error::invalid(format!("cannot start {n} threads: {e}")))?
            .install(work),
        None => work(),
    };
    pb.finish_and_clear();
    result?;
    for e in new_entries.into_inner().unwrap_or_else(|e| e.into_inner()) {
        done.insert(e.point, e);
    }
    let csv = dir.join(RESULTS);
    write_results(&csv, &prep.columns, selected.iter().map(|i| &done[i]))?;
    Ok(Summary {
        points: selected.len(),
        resumed,
        ran: pending.len(),
        csv,
        json: dir.join(RECORD),
    })
}
