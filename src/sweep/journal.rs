//! The journal (`journal.jsonl`): one self-contained JSON line per finished point,
//! appended and fsync'd as points finish, in completion order.
//!
//! It is read one line at a time, each line at most the data limit
//! ([`crate::files::Limit::Data`]), and only an [`Index`] is kept: where each point's
//! line is (12 bytes per point). Entries are read back from their place when the CSV
//! is written, so nothing is held per point but its place.
//!
//! Every `\n`-terminated line is a finished point; a last line without its `\n` is a
//! write cut short by a kill (the sweep truncates it away before appending). A line
//! from a different sweep (unknown id) or from different inputs (another fingerprint)
//! is an error, never mixed in.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::files::{Bounded, Limit};
use crate::report;

/// Version of the journal line and record layouts.
pub const SCHEMA_VERSION: u32 = 1;

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

/// Where each point's line is in a journal file.
#[derive(Clone, Debug, Default)]
pub struct Index {
    offsets: Vec<u64>,
    lens: Vec<u32>,
}

const ABSENT: u64 = u64::MAX;

impl Index {
    /// No point journaled yet, of `len` points.
    pub fn new(len: usize) -> Index {
        Index {
            offsets: vec![ABSENT; len],
            lens: vec![0; len],
        }
    }

    /// The place of point `i`'s line: (offset, length without the `\n`).
    pub fn get(&self, i: usize) -> Option<(u64, u32)> {
        match self.offsets.get(i) {
            Some(&o) if o != ABSENT => Some((o, self.lens[i])),
            _ => None,
        }
    }

    /// Is point `i` journaled?
    pub fn has(&self, i: usize) -> bool {
        self.get(i).is_some()
    }

    /// Record point `i`'s line.
    pub fn set(&mut self, i: usize, offset: u64, len: u32) {
        self.offsets[i] = offset;
        self.lens[i] = len;
    }

    /// How many points are journaled.
    pub fn count(&self) -> usize {
        self.offsets.iter().filter(|&&o| o != ABSENT).count()
    }
}

/// What the lines of a journal must agree with.
pub struct Expect<'a> {
    /// The sweep's points.
    pub len: usize,
    /// The id of point `i`.
    pub id_of: &'a dyn Fn(usize) -> String,
    /// The sweep's CSV header.
    pub columns: &'a [String],
    /// The fingerprint of the sweep's inputs.
    pub fingerprint: &'a str,
}

const FRESH: &str = "the sweep file changed since this journal was written; use another --out \
                     directory, or move the journal away to rerun every point";

/// Parse one journal line.
fn parse(at: &str, line: &[u8]) -> Result<Entry> {
    let e: Entry = serde_json::from_slice(line).map_err(|e| {
        Error::invalid(format!(
            "{at}: not a sweep journal line ({e}); the journal is damaged: move it away to \
             rerun every point"
        ))
    })?;
    if e.v != SCHEMA_VERSION {
        return Err(Error::invalid(format!(
            "{at}: journal layout version {} (this mltq writes {SCHEMA_VERSION}); use \
             another --out directory",
            e.v
        )));
    }
    Ok(e)
}

/// Check one entry against the sweep.
fn check(at: &str, e: &Entry, x: &Expect) -> Result<()> {
    if e.point >= x.len {
        return Err(Error::invalid(format!(
            "{at}: point {} is not in this sweep ({} points): {FRESH}",
            e.point, x.len
        )));
    }
    let id = (x.id_of)(e.point);
    if id != e.id {
        return Err(Error::invalid(format!(
            "{at}: point {} has id {} in the journal but {id} in this sweep: {FRESH}",
            e.point, e.id
        )));
    }
    if e.fingerprint != x.fingerprint {
        return Err(Error::invalid(format!(
            "{at}: point {} was simulated with other inputs (fingerprint {}, now {}): an \
             arch or model file (or the generator's defaults) changed; use another --out \
             directory, or move the journal away to rerun every point",
            e.point, e.fingerprint, x.fingerprint
        )));
    }
    let nparams = x.columns.len() - 2 - report::csv::HEADER.len();
    let names_ok = e.params.len() == nparams
        && e.params
            .iter()
            .zip(&x.columns[2..])
            .all(|((n, _), c)| n == c);
    if !names_ok || e.rows.iter().any(|r| r.len() != report::csv::HEADER.len()) {
        return Err(Error::invalid(format!(
            "{at}: point {} does not have this sweep's columns: {FRESH}",
            e.point
        )));
    }
    Ok(())
}

/// Read and check a journal, one line at a time: the index of its points and the
/// byte length of its complete lines (a torn last line lies past it). A point twice
/// with the same results is kept once; with different results it is an error. A
/// missing journal is an empty one.
pub fn index(path: &Path, x: &Expect) -> Result<(Index, u64)> {
    let mut idx = Index::new(x.len);
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((idx, 0)),
        Err(e) => return Err(Error::read(path, e)),
    };
    let reread = File::open(path).map_err(|e| Error::read(path, e))?;
    let max = Limit::Data.bytes()?;
    let mut rd = BufReader::with_capacity(
        1 << 16,
        Bounded::new(f, u64::MAX, format!("the journal {}", path.display())).lines_of_at_most(max),
    );
    let mut line = Vec::new();
    let (mut offset, mut number) = (0u64, 0usize);
    loop {
        line.clear();
        let n = rd
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::read(path, e))?;
        if n == 0 || line.last() != Some(&b'\n') {
            // The end, or a last line cut short by a kill.
            return Ok((idx, offset));
        }
        number += 1;
        let start = offset;
        offset += n as u64;
        let text = &line[..n - 1];
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let at = format!("{}:{number}", path.display());
        let e = parse(&at, text)?;
        check(&at, &e, x)?;
        if let Some((o, l)) = idx.get(e.point) {
            if read_at(&reread, path, o, l)? != e {
                return Err(Error::invalid(format!(
                    "{at}: point {} appears twice with different results; the journal is \
                     damaged: move it away to rerun every point",
                    e.point
                )));
            }
            continue;
        }
        idx.set(e.point, start, (n - 1) as u32);
    }
}

/// The entry whose line is at `offset` (`len` bytes, without the `\n`).
pub fn read_at(f: &File, path: &Path, offset: u64, len: u32) -> Result<Entry> {
    let mut buf = vec![0u8; len as usize];
    let mut r = f;
    r.seek(SeekFrom::Start(offset))
        .and_then(|_| r.read_exact(&mut buf))
        .map_err(|e| Error::read(path, e))?;
    parse(&format!("{} (byte {offset})", path.display()), &buf)
}
