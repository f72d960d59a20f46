//! Output files are written whole or not at all: into a temporary file beside the
//! target, then renamed into place. An interrupted run leaves the old file or the new
//! one, never a torn one, and a failed run leaves nothing.
//!
//! - [`write_atomic`] fills a hidden `.mltq-tmp-*` file in the target's directory and
//!   renames it over the target once everything is written and synced.
//! - [`StreamFile`] is the same with a visible, predictable temporary name,
//!   `FILE.partial`, that grows as results come in (`simulate --csv-stream`) and is
//!   renamed to `FILE` at the end.
//!
//! Temporary files are removed when dropped (a failed run). A signal kills the process
//! without running destructors, so every temporary file is also listed in a registry
//! that [`install_signal_cleanup`] empties on Ctrl-C, SIGTERM or SIGHUP before the
//! process exits. Only an uncatchable kill (SIGKILL, a power cut) can leave a
//! `.mltq-tmp-*` or `.partial` file behind; the target itself is never torn.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

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

/// The directory a target lives in (`.` for a bare file name).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// A temporary-file builder whose files get the usual `0666 & !umask` mode (tempfile's
/// default is owner-only `0600`, which would make every output private).
fn builder<'a>() -> tempfile::Builder<'a, 'a> {
    let mut b = tempfile::Builder::new();
    b.prefix(".mltq-tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o666));
    }
    b
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
/// dropping it removes it.
pub fn stage<F>(path: &Path, fill: F) -> Result<Staged>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    if path.is_dir() {
        return Err(Error::write(
            path,
            std::io::Error::other("it is a directory; give a file name"),
        ));
    }
    let tmp = PENDING
        .create(
            || builder().tempfile_in(dir_of(path)),
            |t| t.path().to_path_buf(),
        )
        .map_err(|e| Error::write(path, e))?;
    let staged = Staged {
        target: path.to_path_buf(),
        tmp: Some(Tmp::Named(tmp)),
    };
    let Some(Tmp::Named(file)) = &staged.tmp else {
        unreachable!("just built")
    };
    {
        let mut w = BufWriter::new(file.as_file());
        fill(&mut w).map_err(|e| Error::write(path, e))?;
        w.flush().map_err(|e| Error::write(path, e))?;
    }
    file.as_file()
        .sync_all()
        .map_err(|e| Error::write(path, e))?;
    Ok(staged)
}

/// Rename every staged file into place, in order. Should one fail, the ones after it
/// are removed and the error returned.
pub fn commit_all(staged: Vec<Staged>) -> Result<()> {
    for s in staged {
        s.commit()?;
    }
    Ok(())
}

/// A complete, synced temporary file waiting to be renamed over its target.
pub struct Staged {
    target: PathBuf,
    tmp: Option<Tmp>,
}

enum Tmp {
    /// A hidden `.mltq-tmp-*` file (removed by its own drop).
    Named(tempfile::NamedTempFile),
    /// A visible `FILE.partial`.
    Partial(PathBuf),
}

impl Tmp {
    fn path(&self) -> &Path {
        match self {
            Tmp::Named(f) => f.path(),
            Tmp::Partial(p) => p,
        }
    }
}

impl Staged {
    /// The file this will become.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Rename into place.
    pub fn commit(mut self) -> Result<()> {
        let tmp = self.tmp.take().expect("committed once");
        let tmp_path = tmp.path().to_path_buf();
        let r = match tmp {
            Tmp::Named(f) => f
                .persist(&self.target)
                .map(drop)
                .map_err(|e| Error::write(&self.target, e.error)),
            Tmp::Partial(p) => std::fs::rename(&p, &self.target).map_err(|e| {
                let _ = std::fs::remove_file(&p);
                Error::write(&self.target, e)
            }),
        };
        unregister(&tmp_path);
        r
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let path = tmp.path().to_path_buf();
            match tmp {
                Tmp::Named(f) => drop(f),
                Tmp::Partial(p) => {
                    let _ = std::fs::remove_file(p);
                }
            }
            unregister(&path);
        }
    }
}

/// An output written progressively to `FILE.partial` and renamed to `FILE` once
/// [`StreamFile::finish`]ed and committed. Dropped unfinished (an error), the partial
/// file is removed; `FILE` is only ever whole.
pub struct StreamFile {
    target: PathBuf,
    partial: PathBuf,
    out: Option<BufWriter<File>>,
}

impl StreamFile {
    /// The partial file's name for a target: `out.csv` → `out.csv.partial`.
    pub fn partial_path(target: &Path) -> PathBuf {
        let mut name = target.as_os_str().to_os_string();
        name.push(".partial");
        PathBuf::from(name)
    }

    /// Create (or truncate) `FILE.partial`.
    pub fn create(target: &Path) -> Result<StreamFile> {
        if target.is_dir() {
            return Err(Error::write(
                target,
                std::io::Error::other("it is a directory; give a file name"),
            ));
        }
        let partial = StreamFile::partial_path(target);
        let file = PENDING
            .create(|| File::create(&partial), |_| partial.clone())
            .map_err(|e| Error::write(&partial, e))?;
        Ok(StreamFile {
            target: target.to_path_buf(),
            partial,
            out: Some(BufWriter::new(file)),
        })
    }

    /// Append bytes with `fill`, then flush them to the partial file so that they are
    /// visible to readers at once.
    pub fn append<F>(&mut self, fill: F) -> Result<()>
    where
        F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
    {
        let w = self
            .out
            .as_mut()
            .expect("a StreamFile is open until finish");
        fill(w)
            .and_then(|()| w.flush())
            .map_err(|e| Error::write(&self.partial, e))
    }

    /// Sync the partial file; the result renames it to the target when committed.
    pub fn finish(mut self) -> Result<Staged> {
        let w = self.out.take().expect("finish is called once");
        let staged = Staged {
            target: self.target.clone(),
            tmp: Some(Tmp::Partial(self.partial.clone())),
        };
        let file = w
            .into_inner()
            .map_err(|e| Error::write(&self.partial, e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::write(&self.partial, e))?;
        Ok(staged)
    }
}

impl Drop for StreamFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.partial);
            unregister(&self.partial);
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
        let partial = StreamFile::partial_path(&p);
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
        let partial = StreamFile::partial_path(&p);
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
}
