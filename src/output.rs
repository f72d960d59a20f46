//! Output files are written whole or not at all. A regular file (or a new one) is
//! written into a temporary file beside it, then renamed into place: an interrupted
//! run leaves the old file or the new one, never a torn one, and a failed run leaves
//! nothing. A character device, FIFO or socket is written in place instead, never
//! replaced ([`crate::files::target`]).
//!
//! - [`stage`] fills a hidden `.mltq-tmp-*` file in the target's directory (the
//!   directory its symbolic links lead to) and syncs it; for a device or FIFO, a buffer
//!   (memory, or an unnamed temporary file past 8 MiB). [`commit_all`] then writes the
//!   buffers to their devices and FIFOs, and only if all of them succeed renames every
//!   temporary file over its target: a run's outputs are committed together at the
//!   end, or none of them. [`write_atomic`] is both for one file.
//! - [`StreamFile`] writes as results come in: to `FILE.XXXXXX.partial` beside `FILE`
//!   (renamed to `FILE` at the end), or straight into a device or FIFO.
//!
//! Temporary and partial files are always new files: created with `O_EXCL` and
//! `O_NOFOLLOW` under an unpredictable name, so a symbolic link planted where one will
//! be created cannot redirect the write. They are removed when dropped (a failed run).
//! A signal kills the process without running destructors, so every temporary file is
//! also listed in a registry that [`install_signal_cleanup`] empties on Ctrl-C,
//! SIGTERM or SIGHUP before the process exits. Only an uncatchable kill (SIGKILL, a
//! power cut) can leave a `.mltq-tmp-*` or `.partial` file behind; the target itself
//! is never torn.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tempfile::{NamedTempFile, SpooledTempFile};

use crate::error::{Error, Result};
use crate::files::{self, dir_of, Target};

/// Exit status after an interrupting signal (128 + SIGINT, as shells report Ctrl-C).
pub const INTERRUPTED_EXIT: i32 = 130;

/// Temporary files to remove if the process is interrupted.
static PENDING: Registry = Registry::new();

/// Temporary files being written, and whether the process has been interrupted.
struct Registry(Mutex<Pending>);

struct Pending {
    paths: Vec<PathBuf>,
    /// Set by [`Registry::interrupt`]: from then on no temporary file is created.
    interrupted: bool,
}

impl Registry {
    const fn new() -> Registry {
        Registry(Mutex::new(Pending {
            paths: Vec::new(),
            interrupted: false,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // A panic while holding the lock cannot leave the list inconsistent.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Create a temporary file with `create` and remember its path (`path_of`), both
    /// under the lock: the signal handler either waits for the file and removes it, or
    /// has run already, and then no file is created (an `Interrupted` error instead).
    /// So no temporary file outlives an interruption, whatever the thread creating it
    /// was doing when the signal came.
    fn create<T>(
        &self,
        create: impl FnOnce() -> std::io::Result<T>,
        path_of: impl FnOnce(&T) -> PathBuf,
    ) -> std::io::Result<T> {
        let mut p = self.lock();
        if p.interrupted {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "interrupted",
            ));
        }
        let made = create()?;
        p.paths.push(path_of(&made));
        Ok(made)
    }

    /// Forget `path` (renamed into place or removed).
    fn forget(&self, path: &Path) {
        let mut p = self.lock();
        if let Some(i) = p.paths.iter().position(|q| q == path) {
            p.paths.swap_remove(i);
        }
    }

    /// Remove every temporary file still being written, and create none from now on;
    /// returns how many were removed.
    fn interrupt(&self) -> usize {
        let mut p = self.lock();
        p.interrupted = true;
        std::mem::take(&mut p.paths)
            .iter()
            .filter(|path| std::fs::remove_file(path).is_ok())
            .count()
    }

    #[cfg(test)]
    fn contains(&self, f: impl Fn(&Path) -> bool) -> bool {
        self.lock().paths.iter().any(|p| f(p))
    }
}

/// Forget `path` (renamed into place or removed).
fn unregister(path: &Path) {
    PENDING.forget(path);
}

/// Remove every temporary file still being written, and create none from now on;
/// returns how many were removed. Called by the signal handler, which then exits.
pub fn remove_pending() -> usize {
    PENDING.interrupt()
}

/// On Ctrl-C, SIGTERM or SIGHUP: remove the temporary files of outputs being written
/// (targets keep their old content), say so on stderr and exit with status 130.
/// Installing twice is harmless (the second call is ignored).
pub fn install_signal_cleanup() {
    let _ = ctrlc::set_handler(|| {
        let n = remove_pending();
        let files = if n == 1 { "file" } else { "files" };
        eprintln!(
            "error: interrupted; removed {n} unfinished output {files} (existing outputs are unchanged)"
        );
        std::process::exit(INTERRUPTED_EXIT);
    });
}

/// Output bytes kept in memory for a device or FIFO before spilling to a temporary
/// file.
const SPOOL_BYTES: usize = 8 << 20;

/// A new temporary file in `dir`, named `{prefix}XXXXXX{suffix}` with random letters:
/// created exclusively (`O_EXCL`), never through a symbolic link (`O_NOFOLLOW`), with
/// the usual `0666 & !umask` mode (tempfile's default is owner-only `0600`, which would
/// make every output private). Registered for removal on a signal.
fn new_temp(dir: &Path, prefix: &str, suffix: &str) -> std::io::Result<NamedTempFile> {
    let mut b = tempfile::Builder::new();
    b.prefix(prefix).suffix(suffix).rand_bytes(8);
    PENDING.create(
        || {
            b.make_in(dir, |path| {
                let mut o = std::fs::OpenOptions::new();
                o.read(true).write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    o.mode(0o666)
                        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
                }
                o.open(path)
            })
        },
        |t| t.path().to_path_buf(),
    )
}

/// Write `path` atomically with the bytes `fill` produces.
pub fn write_atomic<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    stage(path, fill)?.commit()
}

/// Write a byte buffer atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

/// Fill a temporary file beside `path` with what `fill` produces and sync it, without
/// touching `path` yet: [`Staged::commit`] (or [`commit_all`]) renames it into place,
/// dropping it removes it. For a device or FIFO the bytes wait in a buffer until the
/// commit writes them.
pub fn stage<F>(path: &Path, fill: F) -> Result<Staged>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    let target = files::target(path).map_err(|e| Error::write(path, e))?;
    let put = match target {
        Target::File(real) => {
            let tmp =
                new_temp(dir_of(&real), ".mltq-tmp-", "").map_err(|e| Error::write(path, e))?;
            let staged = Staged {
                shown: path.to_path_buf(),
                put: Some(Put::Rename { tmp, to: real }),
            };
            let Some(Put::Rename { tmp, .. }) = &staged.put else {
                unreachable!("just built")
            };
            {
                let mut w = BufWriter::new(tmp.as_file());
                fill(&mut w).map_err(|e| Error::write(path, e))?;
                w.flush().map_err(|e| Error::write(path, e))?;
            }
            tmp.as_file()
                .sync_all()
                .map_err(|e| Error::write(path, e))?;
            return Ok(staged);
        }
        other => {
            let mut buf = SpooledTempFile::new(SPOOL_BYTES);
            {
                let mut w = BufWriter::new(&mut buf);
                fill(&mut w).map_err(|e| Error::write(path, e))?;
                w.flush().map_err(|e| Error::write(path, e))?;
            }
            Put::Copy { buf, to: other }
        }
    };
    Ok(Staged {
        shown: path.to_path_buf(),
        put: Some(put),
    })
}

/// Commit staged outputs together: first every device and FIFO is written, then, only
/// if all of them succeeded, every temporary file is renamed over its target, one
/// rename after the other. A failure before the renames leaves every regular output
/// as it was (the temporary files are removed).
pub fn commit_all(staged: Vec<Staged>) -> Result<()> {
    let (copies, renames): (Vec<Staged>, Vec<Staged>) = staged
        .into_iter()
        .partition(|s| matches!(s.put, Some(Put::Copy { .. })));
    for s in copies.into_iter().chain(renames) {
        s.commit()?;
    }
    Ok(())
}

/// A complete output waiting to be put in place.
pub struct Staged {
    /// The path as given (messages).
    shown: PathBuf,
    put: Option<Put>,
}

enum Put {
    /// A synced temporary file (hidden `.mltq-tmp-*` or a visible `.partial`) to rename
    /// over `to`, the path the target's links lead to.
    Rename { tmp: NamedTempFile, to: PathBuf },
    /// Bytes for a device, FIFO or this process's own stdout/stderr.
    Copy { buf: SpooledTempFile, to: Target },
    /// Already written in place (a stream into a device).
    Done,
}

impl Staged {
    /// The file this will become, as given.
    pub fn target(&self) -> &Path {
        &self.shown
    }

    /// Put in place: rename, or write into the device.
    pub fn commit(mut self) -> Result<()> {
        let shown = self.shown.clone();
        match self.put.take().expect("committed once") {
            Put::Rename { tmp, to } => {
                let tmp_path = tmp.path().to_path_buf();
                let r = tmp
                    .persist(&to)
                    .map(drop)
                    .map_err(|e| Error::write(&shown, e.error));
                unregister(&tmp_path);
                r
            }
            Put::Copy { mut buf, to } => {
                buf.rewind().map_err(|e| Error::write(&shown, e))?;
                let mut sink = Sink::open(&to, &shown)?;
                std::io::copy(&mut buf, &mut sink)
                    .and_then(|_| sink.flush())
                    .map_err(|e| Error::write(&shown, e))
            }
            Put::Done => Ok(()),
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(Put::Rename { tmp, .. }) = self.put.take() {
            let path = tmp.path().to_path_buf();
            drop(tmp);
            unregister(&path);
        }
    }
}

/// Where a device output's bytes go.
enum Sink {
    /// A temporary `.partial` file.
    Partial(NamedTempFile),
    /// A device, FIFO or socket opened for writing.
    Device(File),
    /// This process's stdout (1) or stderr (2).
    Std(i32),
}

impl Sink {
    /// Open a device or FIFO target (waiting for a FIFO's reader), or name a standard
    /// stream.
    fn open(to: &Target, shown: &Path) -> Result<Sink> {
        match to {
            Target::Stream(p, kind) => {
                debug_assert_eq!(p, shown, "devices are written at the path given");
                files::open_stream_output(p, *kind).map(Sink::Device)
            }
            Target::Std(fd) => Ok(Sink::Std(*fd)),
            Target::File(_) => unreachable!("files are renamed, not copied"),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Partial(f) => f.write(buf),
            Sink::Device(f) => f.write(buf),
            Sink::Std(1) => std::io::stdout().write(buf),
            Sink::Std(_) => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Partial(f) => f.flush(),
            Sink::Device(f) => f.flush(),
            Sink::Std(1) => std::io::stdout().flush(),
            Sink::Std(_) => std::io::stderr().flush(),
        }
    }
}

/// An output written progressively: to `FILE.XXXXXX.partial` beside `FILE` (random
/// letters), renamed to `FILE` once [`StreamFile::finish`]ed and committed, or straight
/// into a device or FIFO. Dropped unfinished (an error), the partial file is removed;
/// `FILE` is only ever whole.
pub struct StreamFile {
    shown: PathBuf,
    /// The path the target's links lead to (regular files only).
    real: Option<PathBuf>,
    partial: Option<PathBuf>,
    out: Option<BufWriter<Sink>>,
}

impl StreamFile {
    /// Create a new `FILE.XXXXXX.partial` (or open the device or FIFO).
    pub fn create(target: &Path) -> Result<StreamFile> {
        let t = files::target(target).map_err(|e| Error::write(target, e))?;
        let (sink, real) = match t {
            Target::File(real) => {
                let name = real
                    .file_name()
                    .map_or("out".into(), |n| n.to_string_lossy().into_owned());
                let tmp = new_temp(dir_of(&real), &format!("{name}."), ".partial")
                    .map_err(|e| Error::write(target, e))?;
                (Sink::Partial(tmp), Some(real))
            }
            other => (Sink::open(&other, target)?, None),
        };
        let partial = match &sink {
            Sink::Partial(t) => Some(t.path().to_path_buf()),
            _ => None,
        };
        Ok(StreamFile {
            shown: target.to_path_buf(),
            real,
            partial,
            out: Some(BufWriter::new(sink)),
        })
    }

    /// The partial file being written, if the target is a regular file.
    pub fn partial(&self) -> Option<&Path> {
        self.partial.as_deref()
    }

    /// Append bytes with `fill`, then flush them so that they are visible to readers at
    /// once.
    pub fn append<F>(&mut self, fill: F) -> Result<()>
    where
        F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
    {
        let w = self
            .out
            .as_mut()
            .expect("a StreamFile is open until finish");
        let shown = self.partial.as_deref().unwrap_or(&self.shown);
        fill(w)
            .and_then(|()| w.flush())
            .map_err(|e| Error::write(shown, e))
    }

    /// Sync the partial file; the result renames it to the target when committed.
    pub fn finish(mut self) -> Result<Staged> {
        let w = self.out.take().expect("finish is called once");
        let shown = self.partial.clone().unwrap_or_else(|| self.shown.clone());
        let sink = w
            .into_inner()
            .map_err(|e| Error::write(&shown, e.into_error()))?;
        let put = match sink {
            Sink::Partial(tmp) => {
                let synced = tmp.as_file().sync_all();
                let p = Put::Rename {
                    tmp,
                    to: self.real.clone().expect("a partial file has a target"),
                };
                let staged = Staged {
                    shown: self.shown.clone(),
                    put: Some(p),
                };
                synced.map_err(|e| Error::write(&shown, e))?;
                return Ok(staged);
            }
            Sink::Device(_) | Sink::Std(_) => Put::Done,
        };
        Ok(Staged {
            shown: self.shown.clone(),
            put: Some(put),
        })
    }
}

impl Drop for StreamFile {
    fn drop(&mut self) {
        if let Some(w) = self.out.take() {
            // Unfinished: the partial file is removed by its own drop.
            drop(w.into_parts().0);
            if let Some(p) = &self.partial {
                unregister(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_fill_leaves_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.csv");
        write_bytes(&p, b"old").unwrap();
        let e = write_atomic(&p, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("interrupted"))
        });
        assert!(e.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn outputs_are_not_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.csv");
        write_bytes(&p, b"x").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        // Whatever the umask removes, tempfile's owner-only 0600 is not forced.
        assert_ne!(mode & 0o600, 0);
        let mut s = StreamFile::create(&dir.path().join("s.csv")).unwrap();
        s.append(|w| w.write_all(b"a")).unwrap();
        s.finish().unwrap().commit().unwrap();
        assert_eq!(std::fs::read(dir.path().join("s.csv")).unwrap(), b"a");
    }

    #[test]
    fn stream_file_is_visible_while_written_and_removed_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.csv");
        write_bytes(&p, b"old").unwrap();
        let mut s = StreamFile::create(&p).unwrap();
        s.append(|w| w.write_all(b"row1\n")).unwrap();
        let partial = s.partial().unwrap().to_path_buf();
        let name = partial.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("out.csv.") && name.ends_with(".partial"),
            "{name}"
        );
        assert_eq!(std::fs::read(&partial).unwrap(), b"row1\n");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        drop(s);
        assert!(!partial.exists());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert!(!PENDING.contains(|q| q == partial));
    }

    #[test]
    fn temp_files_are_registered_for_signal_cleanup_while_written() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        let s = StreamFile::create(&p).unwrap();
        let partial = s.partial().unwrap().to_path_buf();
        assert!(PENDING.contains(|q| q == partial));
        let staged = s.finish().unwrap();
        assert!(
            PENDING.contains(|q| q == partial),
            "still temporary until committed"
        );
        staged.commit().unwrap();
        assert!(!PENDING.contains(|q| q == partial));
        write_atomic(&p, |w| {
            let listed = PENDING.contains(|q| q.starts_with(dir.path()));
            assert!(
                listed,
                "the .mltq-tmp- file is registered while it is filled"
            );
            w.write_all(b"x")
        })
        .unwrap();
        assert!(!PENDING.contains(|q| q.starts_with(dir.path())));
    }

    #[test]
    fn an_interrupted_registry_removes_its_files_and_creates_no_more() {
        let dir = tempfile::tempdir().unwrap();
        let r = Registry::new();
        let make = |name: &str| {
            let path = dir.path().join(name);
            r.create(|| File::create(&path), |_| path.clone())
        };
        make("a.partial").unwrap();
        make("b.partial").unwrap();
        r.forget(&dir.path().join("b.partial"));
        assert_eq!(r.interrupt(), 1);
        assert!(!dir.path().join("a.partial").exists());
        assert!(
            dir.path().join("b.partial").exists(),
            "forgotten: not removed"
        );
        let e = make("c.partial").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::Interrupted);
        assert!(
            !dir.path().join("c.partial").exists(),
            "nothing created after"
        );
    }

    #[test]
    fn staged_files_are_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.json"));
        write_bytes(&a, b"old a").unwrap();
        let sa = stage(&a, |w| w.write_all(b"new a")).unwrap();
        let sb = stage(&b, |w| {
            w.write_all(b"{")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(sb.is_err());
        drop(sa);
        assert_eq!(std::fs::read(&a).unwrap(), b"old a");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let sa = stage(&a, |w| w.write_all(b"new a")).unwrap();
        let sb = stage(&b, |w| w.write_all(b"{}")).unwrap();
        assert_eq!(sb.target(), b.as_path());
        commit_all(vec![sa, sb]).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"new a");
        assert_eq!(std::fs::read(&b).unwrap(), b"{}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_written_through_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.csv");
        let link = dir.path().join("out.csv");
        std::fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink("real.csv", &link).unwrap();
        write_bytes(&link, b"new").unwrap();
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        // A dangling link leads to the file it names.
        let dangling = dir.path().join("d.csv");
        std::os::unix::fs::symlink("made.csv", &dangling).unwrap();
        write_bytes(&dangling, b"made").unwrap();
        assert_eq!(std::fs::read(dir.path().join("made.csv")).unwrap(), b"made");
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_written_in_place_before_any_rename() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        write_bytes(&a, b"old").unwrap();
        // /dev/null takes the bytes and stays a device.
        write_bytes(Path::new("/dev/null"), b"discarded").unwrap();
        assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
        // /dev/full fails, and the regular output staged with it is not renamed.
        let sa = stage(&a, |w| w.write_all(b"new")).unwrap();
        let sf = stage(Path::new("/dev/full"), |w| w.write_all(b"x")).unwrap();
        let e = commit_all(vec![sa, sf]).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(e.to_string().contains("cannot write /dev/full"), "{e}");
        assert_eq!(std::fs::read(&a).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
