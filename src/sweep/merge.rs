//! Joining the output directories of `--shard K/N` runs into exactly the `results.csv`
//! and `sweep.json` an unsharded run writes (plus the combined journal, in point order,
//! so that the merged directory is also a finished sweep directory).
//!
//! Every shard's record must be the same sweep (same points, inputs and tool version);
//! every point must come from exactly one directory. Anything else is an error that
//! names the directories and points involved. Records and journals are read one point
//! at a time (a digest of each record's points, and where each point's journal line
//! is), so merging a million-point sweep holds no more than a few bytes per point.

use std::fs::File;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::exec::{self, JOURNAL, RECORD, RESULTS};
use super::journal::{self, Expect, Index};
use super::record;
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

type Head = serde_json::Map<String, serde_json::Value>;

/// A shard's record: its head without `shard`, the shard's name, the digest of its
/// points and (when asked) their ids.
fn read_record(dir: &Path, ids: Option<&mut Vec<String>>) -> Result<(Head, String, Vec<u8>)> {
    let path = dir.join(RECORD);
    if !path.is_file() {
        return Err(Error::invalid(format!(
            "{} is not a sweep output directory: it has no {RECORD}",
            dir.display()
        )));
    }
    let mut h = Sha256::new();
    let mut ids = ids;
    let mut head = record::scan(&path, &mut |p| {
        h.update(p.to_string().as_bytes());
        h.update(b"\n");
        if let Some(ids) = ids.as_deref_mut() {
            let id = p
                .get("id")
                .and_then(|v| v.as_str())
                .ok_or("a point without an id")?;
            ids.push(id.to_string());
        }
        Ok(())
    })?;
    let name = match head.remove("shard") {
        Some(s) => format!("shard {}/{}", s["k"], s["n"]),
        None => "unsharded".to_string(),
    };
    Ok((head, name, h.finalize().to_vec()))
}

fn field<'a>(rec: &'a Head, key: &str, path: &Path) -> Result<&'a serde_json::Value> {
    rec.get(key).ok_or_else(|| {
        Error::invalid(format!(
            "{}: not a sweep record (no `{key}`)",
            path.display()
        ))
    })
}

/// Merge shard directories into `out`.
pub fn merge(shards: &[PathBuf], out: &Path) -> Result<MergeSummary> {
    if shards.is_empty() {
        return Err(Error::invalid("merge needs at least one shard directory"));
    }
    let mut ids = Vec::new();
    let (head, first_name, digest) = read_record(&shards[0], Some(&mut ids))?;
    let mut names = vec![first_name];
    for dir in &shards[1..] {
        let (h, name, d) = read_record(dir, None)?;
        names.push(name);
        if h != head || d != digest {
            let key = head
                .iter()
                .find(|(k, v)| h.get(k.as_str()) != Some(*v))
                .map(|(k, _)| k.clone())
                .or_else(|| h.keys().find(|k| !head.contains_key(*k)).cloned())
                .unwrap_or_else(|| record::POINTS.to_string());
            return Err(Error::invalid(format!(
                "{} and {} are not shards of the same sweep: their records differ in `{key}`; \
                 rerun the shards from one sweep file, inputs and mltq version",
                shards[0].display(),
                dir.display()
            )));
        }
    }
    let rpath = shards[0].join(RECORD);
    let columns: Vec<String> = serde_json::from_value(field(&head, "columns", &rpath)?.clone())
        .map_err(|e| Error::invalid(format!("{}: bad `columns`: {e}", rpath.display())))?;
    let fingerprint = field(&head, "fingerprint", &rpath)?
        .as_str()
        .unwrap_or_default()
        .to_string();
    let len = ids.len();
    let id_of = |i: usize| ids[i].clone();
    let expect = Expect {
        len,
        id_of: &id_of,
        columns: &columns,
        fingerprint: &fingerprint,
    };

    // Where each point is: which shard, and where in its journal.
    const NONE: u16 = u16::MAX;
    let mut owner = vec![NONE; len];
    let mut indexes: Vec<Index> = Vec::with_capacity(shards.len());
    let mut journals: Vec<(File, PathBuf)> = Vec::with_capacity(shards.len());
    for (s, dir) in shards.iter().enumerate() {
        let jpath = dir.join(JOURNAL);
        if !jpath.is_file() {
            return Err(Error::invalid(format!(
                "{} ({}) has no {JOURNAL}: the shard never ran",
                dir.display(),
                names[s]
            )));
        }
        let (idx, _) = journal::index(&jpath, &expect)?;
        for i in (0..len).filter(|&i| idx.has(i)) {
            if owner[i] != NONE {
                let other = owner[i] as usize;
                return Err(Error::invalid(format!(
                    "point {i} ({}) is in both {} ({}) and {} ({}): shards overlap; merge \
                     directories of one --shard K/N split, each K once",
                    ids[i],
                    shards[other].display(),
                    names[other],
                    dir.display(),
                    names[s]
                )));
            }
            owner[i] = s.min(NONE as usize - 1) as u16;
        }
        indexes.push(idx);
        let f = File::open(&jpath).map_err(|e| Error::read(&jpath, e))?;
        journals.push((f, jpath));
    }
    let missing: Vec<usize> = (0..len).filter(|&i| owner[i] == NONE).collect();
    if !missing.is_empty() {
        let show: Vec<String> = missing.iter().take(10).map(|i| i.to_string()).collect();
        let more = if missing.len() > 10 {
            format!(" and {} more", missing.len() - 10)
        } else {
            String::new()
        };
        return Err(Error::invalid(format!(
            "{} of {len} points are missing: {}{more}; a shard is unfinished or was not given \
             (given: {}); rerun its `mltq sweep … --shard K/N --out DIR` to finish it (it \
             resumes), then merge again",
            missing.len(),
            show.join(", "),
            names.join(", ")
        )));
    }
    let entry = |i: usize| {
        let s = owner[i] as usize;
        let (o, l) = indexes[s].get(i).expect("owned points are indexed");
        journal::read_at(&journals[s].0, &journals[s].1, o, l)
    };

    std::fs::create_dir_all(out).map_err(|e| Error::write(out, e))?;
    let mut failed: Option<Error> = None;
    let journal_out = output::stage(&out.join(JOURNAL), |w| {
        for i in 0..len {
            match entry(i) {
                Ok(e) => {
                    let line = serde_json::to_string(&e).map_err(std::io::Error::other)?;
                    writeln!(w, "{line}")?;
                }
                Err(e) => {
                    failed = Some(e);
                    return Err(std::io::Error::other("a journal entry could not be read"));
                }
            }
        }
        Ok(())
    });
    if let Some(e) = failed.take() {
        return Err(e);
    }
    let journal_out = journal_out?;
    let csv = out.join(RESULTS);
    let results = exec::stage_results(&csv, &columns, (0..len).map(entry))?;
    let json = out.join(RECORD);
    let record_out = output::stage(&json, |w| {
        record::write(w, &head, &mut |emit| {
            record::scan(&rpath, &mut |p| emit(&p).map_err(|e| e.to_string()))
                .map(drop)
                .map_err(|e| std::io::Error::other(e.to_string()))
        })
    })?;
    output::commit_all(vec![journal_out, results, record_out])?;
    Ok(MergeSummary {
        points: len,
        csv,
        json,
    })
}
