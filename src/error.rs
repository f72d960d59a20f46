//! The library's one error type.
//!
//! Every error says *where* (a file, a header line, a payload byte range, a
//! line:column in an arch file, a layer) and *what* (found vs expected, and how to
//! fix it). Almost all of them are the user's input being wrong (exit status 2); an
//! output that cannot be written (a full disk, a read-only directory) and a resource
//! the machine cannot give (worker threads) are exit status 1 ([`Error::exit_code`]).

use std::fmt;
use std::path::Path;

/// Convenience alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed [`ErrorKind`]: small to move around, rich to print.
#[derive(Debug)]
pub struct Error(Box<ErrorKind>);

/// What went wrong, with the place it went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// A `.mltq` header line breaks a rule of the format.
    #[error("{path}:{line}: {msg}")]
    Header {
        path: String,
        line: usize,
        msg: String,
    },
    /// A `.mltq` payload byte range breaks a rule of the format.
    #[error("{path}: payload bytes {start}..{end}: {msg}")]
    Payload {
        path: String,
        start: u64,
        end: u64,
        msg: String,
    },
    /// An arch file is malformed or inconsistent.
    #[error("{path}:{line}:{column}: {msg}")]
    Arch {
        path: String,
        line: usize,
        column: usize,
        msg: String,
    },
    /// An arch file (or a scheme in it) cannot run on this model.
    #[error("scheme `{scheme}` cannot run on layer `{layer}`: {msg}")]
    Mismatch {
        scheme: String,
        layer: String,
        msg: String,
    },
    /// A sweep file is malformed or inconsistent.
    #[error("{path}:{line}:{column}: {msg}")]
    Sweep {
        path: String,
        line: usize,
        column: usize,
        msg: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// A file could not be written (exit status 1: the input was fine).
    #[error("cannot write {path}: {source}{}", write_hint(source))]
    Write {
        path: String,
        source: std::io::Error,
    },
    /// The machine cannot give what the run needs (exit status 1), e.g. threads.
    #[error("{0}")]
    Resource(String),
    /// Bad input of any other kind (flags, values, imported data).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// The kind of the error.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// The exit status this error ends the process with: 1 for an output that cannot be
    /// written or a missing resource, 2 for bad input (everything else).
    pub fn exit_code(&self) -> u8 {
        match self.kind() {
            ErrorKind::Write { .. } | ErrorKind::Resource(_) => 1,
            _ => 2,
        }
    }

    /// Something the machine cannot give (exit status 1).
    pub fn resource(msg: impl Into<String>) -> Error {
        ErrorKind::Resource(msg.into()).into()
    }

    /// A free-form "bad input" error.
    pub fn invalid(msg: impl Into<String>) -> Error {
        ErrorKind::Invalid(msg.into()).into()
    }

    /// An error at a line of a `.mltq` header.
    pub fn header(path: &str, line: usize, msg: impl Into<String>) -> Error {
        ErrorKind::Header {
            path: path.to_string(),
            line,
            msg: msg.into(),
        }
        .into()
    }

    /// An error at a byte range of a `.mltq` payload.
    pub fn payload(path: &str, start: u64, end: u64, msg: impl Into<String>) -> Error {
        ErrorKind::Payload {
            path: path.to_string(),
            start,
            end,
            msg: msg.into(),
        }
        .into()
    }

    /// A scheme that cannot apply to a layer of the model.
    pub fn mismatch(scheme: &str, layer: &str, msg: impl Into<String>) -> Error {
        ErrorKind::Mismatch {
            scheme: scheme.to_string(),
            layer: layer.to_string(),
            msg: msg.into(),
        }
        .into()
    }

    /// An error at a line and column of a sweep file.
    pub fn sweep(path: &str, line: usize, column: usize, msg: impl Into<String>) -> Error {
        ErrorKind::Sweep {
            path: path.to_string(),
            line,
            column,
            msg: msg.into(),
        }
        .into()
    }

    /// A file that could not be read. A symlink loop says so in words (the system's
    /// "too many levels of symbolic links" alone is easy to misread).
    pub fn read(path: &Path, source: std::io::Error) -> Error {
        ErrorKind::Read {
            path: path.display().to_string(),
            source: explain_loop(source),
        }
        .into()
    }

    /// A file that could not be written.
    pub fn write(path: &Path, source: std::io::Error) -> Error {
        ErrorKind::Write {
            path: path.display().to_string(),
            source: explain_loop(source),
        }
        .into()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error(Box::new(kind))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Every message is complete on its own: the I/O error behind a `Read` or `Write` is
/// already part of its text, so it is not reported again as a source (which would
/// print it twice in `error: …: cause: cause` chains).
impl std::error::Error for Error {}

/// `ELOOP` as words: "it is a symlink loop (…)".
fn explain_loop(e: std::io::Error) -> std::io::Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return std::io::Error::new(
            e.kind(),
            "it is a symlink loop (a chain of symbolic links that never reaches a file); \
             point the link at a real file",
        );
    }
    e
}

/// What to do about a failed write, after the system's words.
fn write_hint(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::StorageFull | K::QuotaExceeded => "; free some space or write the output elsewhere",
        K::PermissionDenied | K::ReadOnlyFilesystem => {
            "; write the output to a directory you can write to"
        }
        _ => "",
    }
}

/// The closest of `candidates` to `found` (edit distance), if it is close enough to be a
/// useful suggestion.
pub fn closest<'a>(found: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(&found.to_ascii_lowercase(), &c.to_ascii_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.filter(|&(d, c)| d <= (c.len().max(found.len()) / 2).max(2))
        .map(|(_, c)| c)
}

/// " (did you mean `x`?)" or "".
pub fn did_you_mean<'a>(found: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match closest(found, candidates) {
        Some(c) => format!(" (did you mean `{c}`?)"),
        None => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Display helper for a path argument.
pub fn show(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_nearest_name() {
        let names = ["tiles", "rows", "columns", "lanes", "column_registers"];
        assert_eq!(closest("colums", names), Some("columns"));
        assert_eq!(closest("lane", names), Some("lanes"));
        assert_eq!(closest("zzzzzzzzzz", names), None);
    }
}
