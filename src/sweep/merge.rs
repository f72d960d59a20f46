//! Joining the output directories of `--shard K/N` runs into exactly the `results.csv`
//! and `sweep.json` an unsharded run writes (plus the combined journal, so that the
//! merged directory is also a finished sweep directory).
//!
//! Every shard's record must be the same sweep (same points, inputs and tool version);
//! every point must come from exactly one directory. Anything else is an error that
//! names the directories and points involved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::exec::{self, Entry, JOURNAL, RECORD, RESULTS};
use super::spec::Point;
use crate::error::{Error, Result};
use crate::output;

/// What a merge wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct MergeSummary {
    /// Points in the merged sweep.
    pub points: usize,
    /// The CSV written.
    pub csv: PathBuf,
    /// The record written.
    pub json: PathBuf,
}

fn read_record(dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join(RECORD);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::invalid(format!(
            "{} is not a sweep output directory: cannot read {}: {e}",
            dir.display(),
            path.display()
        ))
    })?;
    serde_json::from_str(&text)
        .map_err(|e| Error::invalid(format!("{}: not a sweep record: {e}", path.display())))
}

fn field<'a>(rec: &'a serde_json::Value, key: &str, path: &Path) -> Result<&'a serde_json::Value> {
    rec.get(key).ok_or_else(|| {
        Error::invalid(format!(
            "{}: not a sweep record (no `{key}`)",
            path.display()
        ))
    })
}

fn shard_name(rec: &serde_json::Value) -> String {
    match rec.get("shard") {
        Some(s) => format!("shard {}/{}", s["k"], s["n"]),
        None => "unsharded".to_string(),
    }
}

/// Merge shard directories into `out`.
pub fn merge(shards: &[PathBuf], out: &Path) -> Result<MergeSummary> {
    if shards.is_empty() {
        return Err(Error::invalid("merge needs at least one shard directory"));
    }
    let mut base: Option<(serde_json::Value, &PathBuf)> = None;
    let mut names = Vec::new();
    for dir in shards {
        let mut rec = read_record(dir)?;
        names.push(shard_name(&rec));
        if let Some(obj) = rec.as_object_mut() {
            obj.remove("shard");
        }
        match &base {
            None => base = Some((rec, dir)),
            Some((b, bdir)) => {
                if *b != rec {
                    let key = b
                        .as_object()
                        .into_iter()
                        .flatten()
                        .find(|(k, v)| rec.get(k.as_str()) != Some(*v))
                        .map_or("(fields)".to_string(), |(k, _)| k.clone());
                    return Err(Error::invalid(format!(
                        "{} and {} are not shards of the same sweep: their records differ \
                         in `{key}`; rerun the shards from one sweep file, inputs and mltq version",
                        bdir.display(),
                        dir.display()
                    )));
                }
            }
        }
    }
    let (record, first) = base.expect("at least one shard");
    let rpath = first.join(RECORD);
    let columns: Vec<String> =
        serde_json::from_value(field(&record, "columns", &rpath)?.clone())
            .map_err(|e| Error::invalid(format!("{}: bad `columns`: {e}", rpath.display())))?;
    let fingerprint = field(&record, "fingerprint", &rpath)?
        .as_str()
        .unwrap_or_default()
        .to_string();
    let points: Vec<Point> = field(&record, "points", &rpath)?
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, p)| Point {
            index: i,
            id: p["id"].as_str().unwrap_or_default().to_string(),
            values: Vec::new(),
        })
        .collect();

    let mut all: BTreeMap<usize, (Entry, usize)> = BTreeMap::new();
    for (s, dir) in shards.iter().enumerate() {
        let jpath = dir.join(JOURNAL);
        if !jpath.is_file() {
            return Err(Error::invalid(format!(
                "{} ({}) has no {JOURNAL}: the shard never ran",
                dir.display(),
                names[s]
            )));
        }
        let (entries, _) = exec::read_journal(&jpath)?;
        let entries = exec::check_entries(&jpath, entries, &points, &columns, &fingerprint)?;
        for (i, e) in entries {
            if let Some((_, other)) = all.get(&i) {
                return Err(Error::invalid(format!(
                    "point {i} ({}) is in both {} ({}) and {} ({}): shards overlap; merge \
                     directories of one --shard K/N split, each K once",
                    e.id,
                    shards[*other].display(),
                    names[*other],
                    dir.display(),
                    names[s]
                )));
            }
            all.insert(i, (e, s));
        }
    }
    let missing: Vec<usize> = (0..points.len()).filter(|i| !all.contains_key(i)).collect();
    if !missing.is_empty() {
        let show: Vec<String> = missing.iter().take(10).map(|i| i.to_string()).collect();
        let more = if missing.len() > 10 {
            format!(" and {} more", missing.len() - 10)
        } else {
            String::new()
        };
        return Err(Error::invalid(format!(
            "{} of {} points are missing: {}{more}; a shard is unfinished or was not given \
             (given: {}); rerun its `mltq sweep … --shard K/N --out DIR` to finish it (it \
             resumes), then merge again",
            missing.len(),
            points.len(),
            show.join(", "),
            names.join(", ")
        )));
    }

    std::fs::create_dir_all(out).map_err(|e| Error::write(out, e))?;
    output::write_atomic(&out.join(JOURNAL), |w| {
        for (e, _) in all.values() {
            let line = serde_json::to_string(e).map_err(std::io::Error::other)?;
            writeln!(w, "{line}")?;
        }
        Ok(())
    })?;
    let csv = out.join(RESULTS);
    exec::write_results(&csv, &columns, all.values().map(|(e, _)| e))?;
    let json = out.join(RECORD);
    exec::write_record(&json, &record)?;
    Ok(MergeSummary {
        points: points.len(),
        csv,
        json,
    })
}
