//! The files a command reads and writes: checked together before any work, read with a
//! bound, opened without hanging.
//!
//! - [`Files`] gathers every input and output path of a command; [`Files::check`]
//!   resolves them (symbolic links followed, `..` removed, existing files compared by
//!   device and inode) and refuses, before anything is read or computed, an output that
//!   is one of the inputs or another output of the same run, with one error naming both
//!   paths. It also refuses a missing directory, a directory given as an output file
//!   and a block device.
//! - [`target`]: where an output goes. Character devices, FIFOs and sockets are
//!   written in place ([`Target::Stream`]: `/dev/null` discards, `/dev/stdout` prints,
//!   `/dev/full` fails); a file that is this process's stdout or stderr (as
//!   `/dev/stdout` is when stdout is redirected to a file) is written through that
//!   stream; anything else is a regular file, replaced by a rename at the path the
//!   links lead to (the links stay links).
//! - [`read_bytes`], [`read_text`], [`Bounded`]: every text input is read with a size
//!   limit ([`Limit`], replaced by `MLTQ_MAX_INPUT`), refused before reading when the
//!   file's size is known to be over it and as soon as it is passed otherwise (a FIFO,
//!   `/dev/zero`).
//! - [`open_input`], [`open_stream_output`]: a FIFO is waited for (a writer to read
//!   from, a reader to write to) at most `MLTQ_FIFO_WAIT` seconds, not forever.
//! - [`sha256_file`]: a file's SHA-256, streamed in constant memory.

use std::fs::{File, Metadata};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::budget::{human, parse_size};
use crate::error::{Error, Result};

/// The environment variable that replaces every text input's size limit.
pub const MAX_INPUT_ENV: &str = "MLTQ_MAX_INPUT";

/// The environment variable that sets how long a FIFO is waited for, in seconds.
pub const FIFO_WAIT_ENV: &str = "MLTQ_FIFO_WAIT";

/// How long a FIFO is waited for by default: a minute.
pub const FIFO_WAIT_SECS: u64 = 60;

/// The longest line of a CSV input (a record): 16 MiB, whatever the file's limit.
pub const MAX_LINE: u64 = 16 << 20;

/// The size limits of text inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Arch files and sweep files: 16 MiB (a real one is a few KiB).
    Toml,
    /// CSVs given to `plot`, sweep records and journal lines read back: 1 GiB.
    Data,
}

impl Limit {
    /// The built-in limit in bytes.
    pub const fn default_bytes(self) -> u64 {
        match self {
            Limit::Toml => 16 << 20,
            Limit::Data => 1 << 30,
        }
    }

    /// The limit in force: `MLTQ_MAX_INPUT` when it is set, else the built-in one.
    pub fn bytes(self) -> Result<u64> {
        match std::env::var(MAX_INPUT_ENV) {
            Ok(v) => parse_size(&v).ok_or_else(|| {
                Error::invalid(format!(
                    "{MAX_INPUT_ENV}={v:?} is not a size: write bytes or a number with K, M, \
                     G or T (powers of 1024), e.g. {MAX_INPUT_ENV}=64M"
                ))
            }),
            Err(_) => Ok(self.default_bytes()),
        }
    }
}

/// What a path is (symbolic links followed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Nothing there (yet).
    Missing,
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A named pipe (or an anonymous one, through `/dev/stdout` or `/dev/fd/N`).
    Fifo,
    /// A character device (`/dev/null`, a terminal).
    CharDevice,
    /// A Unix socket.
    Socket,
    /// A block device (a disk).
    BlockDevice,
}

impl Kind {
    /// The kind of an existing file.
    pub fn of(meta: &Metadata) -> Kind {
        let t = meta.file_type();
        if t.is_file() {
            return Kind::Regular;
        }
        if t.is_dir() {
            return Kind::Directory;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if t.is_fifo() {
                return Kind::Fifo;
            }
            if t.is_char_device() {
                return Kind::CharDevice;
            }
            if t.is_socket() {
                return Kind::Socket;
            }
            if t.is_block_device() {
                return Kind::BlockDevice;
            }
        }
        Kind::CharDevice
    }

    /// The kind of whatever `path` leads to; `Missing` when nothing is there.
    pub fn at(path: &Path) -> std::io::Result<Kind> {
        match std::fs::metadata(path) {
            Ok(m) => Ok(Kind::of(&m)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Kind::Missing),
            Err(e) => Err(e),
        }
    }

    /// Written in place, never replaced: character devices, FIFOs, sockets.
    pub fn is_stream(self) -> bool {
        matches!(self, Kind::Fifo | Kind::CharDevice | Kind::Socket)
    }

    /// "a FIFO", "a character device", …
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Missing => "missing",
            Kind::Regular => "a regular file",
            Kind::Directory => "a directory",
            Kind::Fifo => "a FIFO (named pipe)",
            Kind::CharDevice => "a character device",
            Kind::Socket => "a socket",
            Kind::BlockDevice => "a block device",
        }
    }
}

// -------------------------------------------------------------------------------------
// Where outputs go

/// Where an output is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A regular file (or a new one) at this path, symbolic links followed: written to a
    /// temporary file beside it, then renamed over it.
    File(PathBuf),
    /// A character device, FIFO or socket: opened and written in place.
    Stream(PathBuf, Kind),
    /// The file this process's stdout (1) or stderr (2) already writes to: written
    /// through that stream, so nothing it printed is overwritten.
    Std(i32),
}

/// At most this many symbolic links are followed (as Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

fn loop_error() -> std::io::Error {
    #[cfg(unix)]
    return std::io::Error::from_raw_os_error(libc::ELOOP);
    #[cfg(not(unix))]
    return std::io::Error::other("too many levels of symbolic links");
}

/// The directory a path lives in (`.` for a bare file name).
pub fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Follow the symbolic links of a path's last component: the path a write through it
/// reaches, which may not exist yet (a link to a missing file leads to that file).
pub fn follow_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&p)?;
                p = if to.is_absolute() {
                    to
                } else {
                    dir_of(&p).join(to)
                };
            }
            Ok(_) => return Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(p),
            Err(e) => return Err(e),
        }
    }
    Err(loop_error())
}

/// (device, inode) of an open standard stream, if it is a regular file.
#[cfg(unix)]
fn std_stream_id(fd: i32) -> Option<(u64, u64)> {
    // SAFETY: fstat only writes the struct it is given; a closed fd is an error return.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) != 0 || (st.st_mode & libc::S_IFMT) != libc::S_IFREG {
            return None;
        }
        Some((st.st_dev as u64, st.st_ino as u64))
    }
}

/// Where writing `path` goes (see [`Target`]). A directory, a block device or a loop of
/// symbolic links is an error.
pub fn target(path: &Path) -> std::io::Result<Target> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let kind = meta.as_ref().map_or(Kind::Missing, Kind::of);
    match kind {
        Kind::Directory => Err(std::io::Error::other("it is a directory; give a file name")),
        Kind::BlockDevice => Err(std::io::Error::other(
            "it is a block device (a disk); mltq does not write to devices that store data",
        )),
        k if k.is_stream() => Ok(Target::Stream(path.to_path_buf(), k)),
        _ => {
            #[cfg(unix)]
            if let Some(m) = &meta {
                use std::os::unix::fs::MetadataExt;
                for fd in [1, 2] {
                    if std_stream_id(fd) == Some((m.dev(), m.ino())) {
                        return Ok(Target::Std(fd));
                    }
                }
            }
            Ok(Target::File(follow_links(path)?))
        }
    }
}

/// `a/./b/../c` → `a/c`, textually (for paths whose directory does not exist).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// What a path is, for comparisons: an existing file by device and inode, a new one
/// by its directory's canonical path and its name.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Id {
    Inode(u64, u64),
    Path(PathBuf),
}

fn id_of_meta(m: &Metadata, path: &Path) -> Id {
    #[cfg(unix)]
    {
        let _ = path;
        use std::os::unix::fs::MetadataExt;
        Id::Inode(m.dev(), m.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        Id::Path(std::fs::canonicalize(path).unwrap_or_else(|_| lexical(path)))
    }
}

/// The id of a path that does not exist (yet): canonical directory + name.
fn id_of_new(path: &Path) -> Id {
    let dir = std::fs::canonicalize(dir_of(path)).unwrap_or_else(|_| lexical(dir_of(path)));
    match path.file_name() {
        Some(n) => Id::Path(dir.join(n)),
        None => Id::Path(lexical(path)),
    }
}

// -------------------------------------------------------------------------------------
// A command's files

/// One path of a command, with the words that name it in messages (`--csv`, `the
/// model`, `the sweep file`).
#[derive(Clone, Debug)]
struct Named {
    what: String,
    path: PathBuf,
}

impl Named {
    fn show(&self) -> String {
        format!("{} {}", self.what, self.path.display())
    }
}

/// Every input and output path of one command, checked together before any work.
#[derive(Clone, Debug, Default)]
pub struct Files {
    inputs: Vec<Named>,
    outputs: Vec<Named>,
}

impl Files {
    /// No files yet.
    pub fn new() -> Files {
        Files::default()
    }

    /// A file the command reads; `what` names it in messages ("--arch", "the model").
    pub fn input(&mut self, what: impl Into<String>, path: &Path) -> &mut Files {
        self.inputs.push(Named {
            what: what.into(),
            path: path.to_path_buf(),
        });
        self
    }

    /// Every file in a folder the command reads (a DNNsim trace folder).
    pub fn input_folder(&mut self, what: &str, dir: &Path) -> &mut Files {
        if let Ok(rd) = std::fs::read_dir(dir) {
            let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            paths.sort();
            for p in paths {
                self.input(format!("{what} file"), &p);
            }
        }
        self
    }

    /// A file the command writes; `what` names it in messages ("--csv", "the results").
    pub fn output(&mut self, what: impl Into<String>, path: &Path) -> &mut Files {
        self.outputs.push(Named {
            what: what.into(),
            path: path.to_path_buf(),
        });
        self
    }

    /// Refuse, before any work: an output whose directory is missing, that is a
    /// directory or a block device, or that is one of the inputs or an earlier output
    /// (compared after following symbolic links and removing `..`, and by device and
    /// inode where the file exists). Character devices, FIFOs and sockets are written
    /// in place, so they never replace anything and may be named more than once.
    /// An input behind a loop of symbolic links is refused too (others are left to
    /// their readers, which say what is wrong with them).
    pub fn check(&self) -> Result<()> {
        let mut inputs: Vec<(Id, &Named)> = Vec::new();
        for i in &self.inputs {
            match std::fs::metadata(&i.path) {
                Ok(m) if !Kind::of(&m).is_stream() => inputs.push((id_of_meta(&m, &i.path), i)),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) if is_loop(&e) => {
                    return Err(Error::invalid(format!(
                        "cannot read {}: it is a symlink loop (a chain of symbolic links that \
                         never reaches a file); point the link at a real file",
                        i.show()
                    )))
                }
                Err(_) => {}
            }
        }
        let mut outputs: Vec<(Id, &Named)> = Vec::new();
        for o in &self.outputs {
            let Some(id) = check_output(o)? else {
                continue;
            };
            if let Some((_, i)) = inputs.iter().find(|(j, _)| *j == id) {
                return Err(Error::invalid(format!(
                    "{} is the same file as {}: an output never replaces an input of the same \
                     run; write the output elsewhere",
                    o.show(),
                    i.show()
                )));
            }
            if let Some((_, p)) = outputs.iter().find(|(j, _)| *j == id) {
                return Err(Error::invalid(if p.path == o.path {
                    format!(
                        "{} and {} both name {}; give each output its own file",
                        p.what,
                        o.what,
                        o.path.display()
                    )
                } else {
                    format!(
                        "{} and {} are the same file; give each output its own file",
                        p.show(),
                        o.show()
                    )
                }));
            }
            outputs.push((id, o));
        }
        Ok(())
    }
}

fn is_loop(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    return e.raw_os_error() == Some(libc::ELOOP);
    #[cfg(not(unix))]
    return false;
}

/// The structural checks of one output; its id, or `None` for a stream (never compared).
fn check_output(o: &Named) -> Result<Option<Id>> {
    if o.path.is_dir() {
        let file = match o.what.as_str() {
            "--json" => "results.json",
            "--out" => "model.mltq",
            _ => "results.csv",
        };
        return Err(Error::invalid(format!(
            "{}: it is a directory; give a file name such as {}",
            o.show(),
            o.path.join(file).display()
        )));
    }
    let t = match target(&o.path) {
        Ok(t) => t,
        Err(e) if is_loop(&e) => {
            return Err(Error::invalid(format!(
                "{}: it is a symlink loop (a chain of symbolic links that never reaches a \
                 file); point the link at a real file or give another name",
                o.show()
            )))
        }
        Err(e) => return Err(Error::invalid(format!("{}: {e}", o.show()))),
    };
    let path = match t {
        Target::Stream(..) => return Ok(None),
        Target::Std(_) => {
            // The same file as stdout or stderr: compared like any existing file.
            let m = std::fs::metadata(&o.path).map_err(|e| Error::write(&o.path, e))?;
            return Ok(Some(id_of_meta(&m, &o.path)));
        }
        Target::File(p) => p,
    };
    let dir = dir_of(&path);
    if !dir.is_dir() {
        let shown = if path == o.path {
            dir.display().to_string()
        } else {
            format!(
                "{} (where the link {} leads)",
                dir.display(),
                o.path.display()
            )
        };
        return Err(Error::invalid(format!(
            "{}: the directory {shown} does not exist; create it first",
            o.show()
        )));
    }
    Ok(Some(match std::fs::metadata(&path) {
        Ok(m) => id_of_meta(&m, &path),
        Err(_) => id_of_new(&path),
    }))
}

// -------------------------------------------------------------------------------------
// Bounded reads

/// A reader that fails once more than `limit` bytes have been read from it, or (with
/// a line limit) a line longer than `line` bytes: a device or FIFO that never ends
/// is refused after the limit, not read until memory runs out.
pub struct Bounded<R> {
    inner: R,
    read: u64,
    limit: u64,
    line: Option<u64>,
    since_newline: u64,
    what: String,
}

impl<R: Read> Bounded<R> {
    /// At most `limit` bytes from `inner`; `what` names the input in the error ("the
    /// arch file a.toml").
    pub fn new(inner: R, limit: u64, what: impl Into<String>) -> Bounded<R> {
        Bounded {
            inner,
            read: 0,
            limit,
            line: None,
            since_newline: 0,
            what: what.into(),
        }
    }

    /// Also refuse a line longer than `line` bytes.
    pub fn lines_of_at_most(mut self, line: u64) -> Bounded<R> {
        self.line = Some(line);
        self
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!(
                    "{} is larger than the {} allowed; raise the limit with {MAX_INPUT_ENV}=SIZE \
                     if it is really that big",
                    self.what,
                    human(self.limit)
                ),
            ));
        }
        if let Some(max) = self.line {
            let mut start = 0;
            for (i, _) in buf[..n].iter().enumerate().filter(|(_, &b)| b == b'\n') {
                if self.since_newline + (i - start) as u64 > max {
                    return Err(line_error(&self.what, max));
                }
                self.since_newline = 0;
                start = i + 1;
            }
            self.since_newline += (n - start) as u64;
            if self.since_newline > max {
                return Err(line_error(&self.what, max));
            }
        }
        Ok(n)
    }
}

fn line_error(what: &str, max: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::FileTooLarge,
        format!(
            "{what} has a line longer than {}: is this the right file?",
            human(max)
        ),
    )
}

/// How long to wait for the other end of a FIFO (`MLTQ_FIFO_WAIT`, seconds).
pub fn fifo_wait() -> Result<Duration> {
    match std::env::var(FIFO_WAIT_ENV) {
        Ok(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{FIFO_WAIT_ENV}={v:?} is not a number of seconds, e.g. {FIFO_WAIT_ENV}=300"
                ))
            }),
        Err(_) => Ok(Duration::from_secs(FIFO_WAIT_SECS)),
    }
}

#[cfg(unix)]
fn set_blocking(f: &File) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let fd = f.as_raw_fd();
    // SAFETY: F_GETFL/F_SETFL on an fd this File owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Open an input for reading. A directory is refused; a FIFO is opened without
/// blocking and waited for until a writer has written (or come and gone) or
/// [`fifo_wait`] has passed, so a FIFO nobody writes to is an error, not a hang.
pub fn open_input(path: &Path) -> Result<File> {
    let kind = Kind::at(path).map_err(|e| Error::read(path, e))?;
    match kind {
        Kind::Directory => Err(Error::read(
            path,
            std::io::Error::other("it is a directory, not a file"),
        )),
        #[cfg(unix)]
        Kind::Fifo => {
            use std::os::unix::fs::OpenOptionsExt;
            use std::os::unix::io::AsRawFd;
            let f = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)
                .map_err(|e| Error::read(path, e))?;
            let wait = fifo_wait()?;
            let deadline = Instant::now() + wait;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let mut p = libc::pollfd {
                    fd: f.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                let ms = left.as_millis().min(i32::MAX as u128) as i32;
                // SAFETY: one valid pollfd for the duration of the call.
                let r = unsafe { libc::poll(&mut p, 1, ms) };
                if r > 0 {
                    break;
                }
                if r < 0 {
                    let e = std::io::Error::last_os_error();
                    if e.kind() == std::io::ErrorKind::Interrupted {
                        continue;
                    }
                    return Err(Error::read(path, e));
                }
                if Instant::now() >= deadline {
                    return Err(Error::read(
                        path,
                        std::io::Error::other(format!(
                            "it is a FIFO and nothing was written to it in {} s; start the \
                             writer, or wait longer with {FIFO_WAIT_ENV}=SECONDS",
                            wait.as_secs_f64()
                        )),
                    ));
                }
            }
            set_blocking(&f).map_err(|e| Error::read(path, e))?;
            Ok(f)
        }
        _ => File::open(path).map_err(|e| Error::read(path, e)),
    }
}

/// Open a character device, FIFO or socket for writing in place. A FIFO is waited for
/// until a reader opens it or [`fifo_wait`] has passed.
pub fn open_stream_output(path: &Path, kind: Kind) -> Result<File> {
    #[cfg(unix)]
    if kind == Kind::Fifo {
        use std::os::unix::fs::OpenOptionsExt;
        let wait = fifo_wait()?;
        let deadline = Instant::now() + wait;
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)
            {
                Ok(f) => {
                    set_blocking(&f).map_err(|e| Error::write(path, e))?;
                    return Ok(f);
                }
                Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                    if Instant::now() >= deadline {
                        return Err(Error::write(
                            path,
                            std::io::Error::other(format!(
                                "it is a FIFO and no process opened it for reading in {} s; \
                                 start the reader, or wait longer with {FIFO_WAIT_ENV}=SECONDS",
                                wait.as_secs_f64()
                            )),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(Error::write(path, e)),
            }
        }
    }
    let _ = kind;
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::write(path, e))
}

/// Read a whole input of at most `limit` bytes. A regular file over the limit is
/// refused before any byte is read; anything else (a FIFO, a device) after the limit.
pub fn read_bytes(path: &Path, what: &str, limit: Limit) -> Result<Vec<u8>> {
    let max = limit.bytes()?;
    let f = open_input(path)?;
    let shown = format!("{what} {}", path.display());
    let meta = f.metadata().map_err(|e| Error::read(path, e))?;
    if meta.is_file() && meta.len() > max {
        return Err(Error::read(
            path,
            std::io::Error::other(format!(
                "it is {}, more than the {} allowed for {what}; raise the limit with \
                 {MAX_INPUT_ENV}=SIZE if it is really that big",
                human(meta.len()),
                human(max)
            )),
        ));
    }
    let mut out = Vec::with_capacity(if meta.is_file() {
        meta.len() as usize
    } else {
        8192
    });
    Bounded::new(f, max, shown)
        .read_to_end(&mut out)
        .map_err(|e| Error::read(path, e))?;
    Ok(out)
}

/// [`read_bytes`] as UTF-8 text; the first byte that is not UTF-8 is named by its
/// line and column.
pub fn read_text(path: &Path, what: &str, limit: Limit) -> Result<String> {
    let bytes = read_bytes(path, what, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = good.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        Error::read(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "line {line}, column {col}: byte 0x{:02x} is not UTF-8; {what} is UTF-8 \
                     text: is this the right file?",
                    e.as_bytes()[good.len()]
                ),
            ),
        )
    })
}

/// SHA-256 of a file as hex, read in 64 KiB chunks (constant memory, whatever its
/// size).
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = open_input(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::read(path, e)),
        }
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Write `bytes` to an open output, naming `path` in the error.
pub fn write_all_to(f: &mut dyn Write, path: &Path, bytes: &[u8]) -> Result<()> {
    f.write_all(bytes)
        .and_then(|()| f.flush())
        .map_err(|e| Error::write(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_paths_drop_dots() {
        assert_eq!(lexical(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(lexical(Path::new("../x")), PathBuf::from("../x"));
    }

    #[test]
    fn bounded_reads_stop_past_the_limit_and_past_a_long_line() {
        let mut out = Vec::new();
        let e = Bounded::new(std::io::repeat(b'a'), 1000, "the thing")
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(e
            .to_string()
            .contains("the thing is larger than the 1000 bytes allowed"));
        let text = b"short\nline\n".repeat(100);
        let mut out = Vec::new();
        Bounded::new(&text[..], 1 << 20, "x")
            .lines_of_at_most(8)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, text);
        let mut long = b"ok\n".to_vec();
        long.extend(std::iter::repeat_n(b'z', 20));
        long.extend(b"\nok\n");
        let e = Bounded::new(&long[..], 1 << 20, "x")
            .lines_of_at_most(8)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(e.to_string().contains("a line longer than 8 bytes"), "{e}");
    }

    #[test]
    fn outputs_that_are_inputs_or_each_other_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let m = d.path().join("m.mltq");
        std::fs::write(&m, b"model").unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        let twisted = d.path().join("sub/../m.mltq");
        let e = Files::new()
            .input("--model", &m)
            .output("--csv", &twisted)
            .check()
            .unwrap_err()
            .to_string();
        assert!(e.contains("is the same file as --model"), "{e}");
        let x = d.path().join("x.csv");
        let e = Files::new()
            .output("--csv", &x)
            .output("--json", &d.path().join("sub/../x.csv"))
            .check()
            .unwrap_err()
            .to_string();
        assert!(e.contains("are the same file"), "{e}");
        Files::new()
            .input("--model", &m)
            .output("--csv", &x)
            .output("--json", &d.path().join("x.json"))
            .check()
            .unwrap();
    }
}
