//! Nothing lost, nothing unbounded: the binary used as a careless or hostile user would
//! (issue 20), one test per case. Outputs never replace an input or another output of
//! the same run; devices and FIFOs are written in place; a failed run leaves every
//! output as it was; exit status 2 for bad input and 1 for an output that cannot be
//! written, never a panic or an abort; every read has a bound; sweeps scale.
//!
//! Disk-full cases mount a small tmpfs (as root); where that is not possible they are
//! skipped with a printed reason. The hostile-size cases run under a 4 GiB address-space
//! limit (a regression fails fast instead of swapping) and print their peak resident
//! memory (`cargo test --test hostile -- --nocapture` shows the figures).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bin, entries, example_arch, example_model, repo};
use mltq::gen::{synthesize, GenSpec};
use mltq::model::{self, Geometry};

// -------------------------------------------------------------------------------------
// Running the binary

/// What a run did, with its peak resident memory.
struct Ran {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    /// Peak resident memory of the process, where measured (see [`bounded`]).
    max_rss_mib: f64,
    elapsed: Duration,
}

impl std::fmt::Debug for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cut = |s: &str| -> String {
            if s.chars().count() > 600 {
                format!(
                    "{}… ({} bytes)",
                    s.chars().take(600).collect::<String>(),
                    s.len()
                )
            } else {
                s.to_string()
            }
        };
        write!(
            f,
            "exit {:?} after {:?}, stderr {:?}, stdout {:?}",
            self.code,
            self.elapsed,
            cut(&self.stderr),
            cut(&self.out())
        )
    }
}

impl Ran {
    fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Refused as bad input: exit 2, one `error:` line, no panic.
    fn refused(&self) -> &Ran {
        assert_eq!(self.code, Some(2), "want exit 2: {self:?}");
        self.one_error_line()
    }

    /// Failed to write: exit 1, one `error:` line, no panic.
    fn failed_io(&self) -> &Ran {
        assert_eq!(self.code, Some(1), "want exit 1: {self:?}");
        self.one_error_line()
    }

    fn ok(&self) -> &Ran {
        assert_eq!(self.code, Some(0), "want success: {self:?}");
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }

    fn one_error_line(&self) -> &Ran {
        assert!(
            self.stderr.starts_with("error: ") && self.stderr.lines().count() == 1,
            "one error line: {:?}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }

    fn says(&self, words: &str) -> &Ran {
        assert!(
            self.stderr.contains(words),
            "want {words:?} in {:?}",
            self.stderr
        );
        self
    }
}

/// Run `cmd` (stdin closed) until it exits or `limit` passes (then it is killed and the
/// test fails). `max_rss_mib` is what `wait4` says, which includes the memory of this
/// test process at the fork: [`bounded`] measures the peak of `mltq` alone.
fn run(cmd: &mut Command, limit: Duration) -> Ran {
    let scratch = tempfile::tempdir().unwrap();
    let (o, e) = (scratch.path().join("o"), scratch.path().join("e"));
    let start = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let (status, rss) = loop {
        let mut status = 0;
        // SAFETY: wait4 fills the status and rusage it is given, for our own child.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if r == pid {
            break (status, ru.ru_maxrss);
        }
        assert!(r == 0, "wait4: {}", std::io::Error::last_os_error());
        if start.elapsed() > limit {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
            unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
            panic!(
                "still running after {limit:?}: {}",
                std::fs::read_to_string(&e).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    std::mem::forget(child); // reaped by wait4
    Ran {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: std::fs::read(&o).unwrap(),
        stderr: std::fs::read_to_string(&e).unwrap(),
        max_rss_mib: rss as f64 / 1024.0,
        elapsed: start.elapsed(),
    }
}

fn mltq(dir: &Path, args: &[&str]) -> Ran {
    run(bin().current_dir(dir).args(args), Duration::from_secs(120))
}

/// `mltq` under a 4 GiB address-space limit: an unbounded read aborts quickly (and the
/// test fails) instead of taking the machine's memory. Its peak resident memory is
/// measured by GNU time (`/usr/bin/time -f %M`, started fresh so that nothing of this
/// process is counted) where it is installed, and printed.
fn bounded(case: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let rss_file = tempfile::NamedTempFile::new().unwrap();
    let time = Path::new("/usr/bin/time");
    let mut c = Command::new("sh");
    c.current_dir(dir)
        .arg("-c")
        .arg("ulimit -v 4194304 && exec \"$@\"")
        .arg("sh");
    if time.exists() {
        c.arg(time)
            .args(["-q", "-f", "%M", "-o"])
            .arg(rss_file.path());
    }
    c.arg(env!("CARGO_BIN_EXE_mltq"))
        .args(args)
        .env_remove("MLTQ_MAX_MEMORY")
        .env_remove("MLTQ_MAX_INPUT")
        .envs(env.iter().copied());
    let mut r = run(&mut c, Duration::from_secs(120));
    let measured = std::fs::read_to_string(rss_file.path())
        .ok()
        .and_then(|t| t.lines().last()?.trim().parse::<f64>().ok());
    match measured {
        Some(kib) => {
            r.max_rss_mib = kib / 1024.0;
            // GNU time says "Command exited with non-zero status N" on its own line
            // only without -q; with -q nothing of it is on stderr.
            eprintln!(
                "hostile-size case `{case}`: exit {:?} after {:.2} s, max RSS {:.1} MiB",
                r.code,
                r.elapsed.as_secs_f64(),
                r.max_rss_mib
            );
        }
        None => {
            r.max_rss_mib = 0.0;
            eprintln!(
                "hostile-size case `{case}`: exit {:?}; no /usr/bin/time, memory not measured",
                r.code
            );
        }
    }
    r
}

/// A directory with the example arch `a.toml` and model `m.mltq`.
fn workdir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a.toml"), example_arch()).unwrap();
    std::fs::write(d.path().join("m.mltq"), example_model()).unwrap();
    d
}

fn sim<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "simulate", "--arch", "a.toml", "--model", "m.mltq", "--quiet",
    ];
    v.extend_from_slice(extra);
    v
}

/// The bytes of every file in `dir`, to compare before and after a refused run.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    entries(dir)
        .into_iter()
        .map(|n| {
            let b = std::fs::read(dir.join(&n)).unwrap_or_default();
            (n, b)
        })
        .collect()
}

fn mkfifo(p: &Path) {
    let ok = Command::new("mkfifo").arg(p).status().unwrap().success();
    assert!(ok, "mkfifo {}", p.display());
}

// -------------------------------------------------------------------------------------
// 1. No output overwrites an input or another output

#[test]
fn csv_onto_the_model_is_refused_and_the_model_kept() {
    let d = workdir();
    let before = snapshot(d.path());
    mltq(d.path(), &sim(&["--csv", "m.mltq"]))
        .refused()
        .says("--csv m.mltq is the same file as --model m.mltq");
    assert_eq!(snapshot(d.path()), before);
}

#[test]
fn json_onto_the_arch_is_refused() {
    let d = workdir();
    let before = snapshot(d.path());
    mltq(d.path(), &sim(&["--json", "a.toml"]))
        .refused()
        .says("--json a.toml is the same file as --arch a.toml");
    assert_eq!(snapshot(d.path()), before);
}

#[test]
fn gen_onto_its_precision_file_is_refused_and_the_file_kept() {
    let d = workdir();
    std::fs::write(d.path().join("p.txt"), "conv1 8 8\n").unwrap();
    let before = snapshot(d.path());
    let args = ["gen", "resnet20", "--weights", "int:8", "--acts", "int:8"];
    mltq(
        d.path(),
        &[&args[..], &["--precision", "p.txt", "--out", "p.txt"]].concat(),
    )
    .refused()
    .says("--out p.txt is the same file as --precision p.txt");
    assert_eq!(snapshot(d.path()), before);
}

#[test]
fn plot_with_json_onto_the_model_is_refused() {
    let d = workdir();
    let before = snapshot(d.path());
    mltq(d.path(), &sim(&["--plot", "m.svg", "--json", "m.mltq"]))
        .refused()
        .says("--json m.mltq is the same file as --model m.mltq");
    assert_eq!(snapshot(d.path()), before);
}

#[test]
fn a_figure_whose_data_csv_is_the_model_is_refused() {
    let d = workdir();
    std::fs::rename(d.path().join("m.mltq"), d.path().join("m.csv")).unwrap();
    let before = snapshot(d.path());
    let args = [
        "simulate", "--arch", "a.toml", "--model", "m.csv", "--plot", "m.svg",
    ];
    mltq(d.path(), &args)
        .refused()
        .says("data CSV m.csv is the same file as --model m.csv");
    assert_eq!(snapshot(d.path()), before);
}

/// A tiny DNNsim trace folder (one fc layer).
fn trace_folder(dir: &Path) -> PathBuf {
    let tr = dir.join("tr");
    std::fs::create_dir(&tr).unwrap();
    std::fs::write(tr.join("model.csv"), "fc1,fc,1,0\n").unwrap();
    mltq::import::npy::write_f32(&tr.join("wgt-fc1.npy"), &[2, 3], &[1., -2., 0., 3., 0., 1.])
        .unwrap();
    mltq::import::npy::write_f32(&tr.join("act-fc1-0.npy"), &[1, 3], &[4., 0., 5.]).unwrap();
    tr
}

#[test]
fn import_into_the_trace_folder_over_its_own_files_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let tr = trace_folder(d.path());
    let before = snapshot(&tr);
    for out in ["tr/model.csv", "tr/wgt-fc1.npy", "tr/act-fc1-0.npy"] {
        mltq(
            d.path(),
            &["import", "--from", "dnnsim", "tr", "--out", out],
        )
        .refused()
        .says(&format!(
            "--out {out} is the same file as the trace folder's file"
        ));
        assert_eq!(snapshot(&tr), before);
    }
    // A new file in the folder is fine.
    mltq(
        d.path(),
        &["import", "--from", "dnnsim", "tr", "--out", "tr/m.mltq"],
    )
    .ok();
}

#[test]
fn a_sweep_whose_output_directory_holds_the_sweep_file_is_refused() {
    let d = workdir();
    let sw = d.path().join("sw");
    std::fs::create_dir(&sw).unwrap();
    let text = "[fixed]\narch = \"../a.toml\"\nmodel = \"../m.mltq\"\n";
    std::fs::write(sw.join("results.csv"), text).unwrap();
    mltq(d.path(), &["sweep", "sw/results.csv", "--out", "sw"])
        .refused()
        .says("is the same file as the sweep file sw/results.csv");
    assert_eq!(
        std::fs::read_to_string(sw.join("results.csv")).unwrap(),
        text
    );
    assert_eq!(entries(&sw), ["results.csv"]);
}

#[test]
fn a_link_planted_as_the_sweep_journal_is_not_followed() {
    let d = workdir();
    std::fs::write(d.path().join("precious.txt"), b"precious").unwrap();
    std::fs::write(
        d.path().join("s.toml"),
        "[fixed]\narch = \"a.toml\"\nmodel = \"m.mltq\"\n",
    )
    .unwrap();
    std::fs::create_dir(d.path().join("o")).unwrap();
    std::os::unix::fs::symlink("../precious.txt", d.path().join("o/journal.jsonl")).unwrap();
    mltq(d.path(), &["sweep", "s.toml", "--out", "o"])
        .refused()
        .says("journal.jsonl is a symbolic link");
    assert_eq!(
        std::fs::read(d.path().join("precious.txt")).unwrap(),
        b"precious"
    );
}

#[test]
fn two_outputs_spelled_differently_are_one_file_and_refused() {
    let d = workdir();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    let abs = d.path().join("X").display().to_string();
    for other in ["./X", abs.as_str(), "sub/../X"] {
        mltq(d.path(), &sim(&["--csv", "X", "--json", other]))
            .refused()
            .says(&format!("--csv X and --json {other} are the same file"));
        assert!(!d.path().join("X").exists());
    }
}

#[test]
fn json_onto_the_figures_data_csv_is_refused() {
    let d = workdir();
    mltq(d.path(), &sim(&["--json", "F.csv", "--plot", "F.svg"]))
        .refused()
        .says("--json and --plot F.svg's data CSV both name F.csv");
    assert_eq!(entries(d.path()), ["a.toml", "m.mltq"]);
}

#[test]
fn a_hard_link_to_the_model_is_the_model() {
    let d = workdir();
    std::fs::hard_link(d.path().join("m.mltq"), d.path().join("out.csv")).unwrap();
    mltq(d.path(), &sim(&["--csv", "out.csv"]))
        .refused()
        .says("is the same file as --model");
    assert_eq!(
        std::fs::read(d.path().join("m.mltq")).unwrap(),
        example_model()
    );
}

// -------------------------------------------------------------------------------------
// 2. Special files are written in place

#[test]
fn dev_null_as_an_output_stays_a_device() {
    let d = workdir();
    mltq(
        d.path(),
        &sim(&["--csv", "/dev/null", "--json", "/dev/null"]),
    )
    .ok();
    use std::os::unix::fs::FileTypeExt;
    let t = std::fs::metadata("/dev/null").unwrap().file_type();
    assert!(t.is_char_device(), "/dev/null is still a character device");
    assert_eq!(entries(d.path()), ["a.toml", "m.mltq"]);
}

#[test]
fn dev_stdout_prints_the_csv() {
    let d = workdir();
    let r = mltq(d.path(), &sim(&["--csv", "/dev/stdout"]));
    r.ok();
    let out = r.out();
    assert!(out.starts_with("network,layer,scheme,macs,cycles"), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("example,")).count(),
        3 * 10
    );
    assert!(out.contains("network total"), "the table follows: {out}");
}

#[test]
fn a_fifo_output_reaches_its_reader_and_stays_a_fifo() {
    let d = workdir();
    let fifo = d.path().join("f.csv");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    mltq(d.path(), &sim(&["--csv", "f.csv"])).ok();
    let got = reader.join().unwrap();
    assert!(got.starts_with("network,layer,scheme"), "{got}");
    assert_eq!(got.lines().count(), 1 + 3 * 10);
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn a_fifo_nobody_reads_is_an_output_error_not_a_hang() {
    let d = workdir();
    mkfifo(&d.path().join("f.csv"));
    let r = run(
        bin()
            .current_dir(d.path())
            .args(sim(&["--csv", "f.csv"]))
            .env("MLTQ_FIFO_WAIT", "0.3"),
        Duration::from_secs(60),
    );
    r.failed_io().says("no process opened it for reading");
}

#[test]
fn dev_full_fails_with_exit_1_and_leaves_the_other_outputs_as_they_were() {
    let d = workdir();
    std::fs::write(d.path().join("old.json"), b"old").unwrap();
    mltq(
        d.path(),
        &sim(&["--csv", "/dev/full", "--json", "old.json"]),
    )
    .failed_io()
    .says("cannot write /dev/full: No space left on device");
    assert_eq!(std::fs::read(d.path().join("old.json")).unwrap(), b"old");
    assert_eq!(entries(d.path()), ["a.toml", "m.mltq", "old.json"]);
}

#[test]
fn a_link_planted_at_the_partial_name_is_not_followed() {
    let d = workdir();
    std::fs::write(d.path().join("precious.txt"), b"precious").unwrap();
    std::os::unix::fs::symlink("precious.txt", d.path().join("out.csv.partial")).unwrap();
    mltq(d.path(), &sim(&["--csv", "out.csv", "--csv-stream"])).ok();
    assert_eq!(
        std::fs::read(d.path().join("precious.txt")).unwrap(),
        b"precious"
    );
    let csv = std::fs::read_to_string(d.path().join("out.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 3 * 10,
        "2 layers and the total, 10 schemes"
    );
    assert_eq!(
        entries(d.path()),
        [
            "a.toml",
            "m.mltq",
            "out.csv",
            "out.csv.partial",
            "precious.txt"
        ]
    );
}

// -------------------------------------------------------------------------------------
// 3. A failed run leaves every output as it was (disk full on a small tmpfs)

/// A tmpfs of `kib` KiB, unmounted when dropped; `None` (with the reason printed) where
/// it cannot be mounted.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(kib: u32) -> Option<Tmpfs> {
        let d = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(d.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs(d)),
            Ok(o) => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs ({}); disk-full case not run",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: no `mount` ({e}); disk-full case not run");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    /// Fill the file system until `keep` bytes are left (tmpfs counts whole pages).
    fn fill_leaving(&self, keep: u64) {
        let mut f = std::fs::File::create(self.path().join("filler")).unwrap();
        let page = vec![0u8; 4096];
        // SAFETY: statvfs writes the struct it is given.
        let free = || unsafe {
            let mut s: libc::statvfs = std::mem::zeroed();
            let c = std::ffi::CString::new(self.path().as_os_str().as_encoded_bytes()).unwrap();
            libc::statvfs(c.as_ptr(), &mut s);
            s.f_bavail * s.f_frsize
        };
        while free() > keep {
            if f.write_all(&page).and_then(|()| f.flush()).is_err() {
                break;
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.path()).status();
    }
}

#[test]
fn a_full_disk_is_exit_1_and_keeps_the_previous_outputs() {
    let Some(fs) = Tmpfs::mount(256) else { return };
    let d = workdir();
    let out = fs.path();
    std::fs::write(out.join("r.csv"), b"old csv").unwrap();
    std::fs::write(out.join("r.json"), b"old json").unwrap();
    fs.fill_leaving(4096);
    let csv = out.join("r.csv").display().to_string();
    let json = out.join("r.json").display().to_string();
    mltq(d.path(), &sim(&["--csv", &csv, "--json", &json]))
        .failed_io()
        .says("No space left on device");
    assert_eq!(std::fs::read(out.join("r.csv")).unwrap(), b"old csv");
    assert_eq!(std::fs::read(out.join("r.json")).unwrap(), b"old json");
    assert_eq!(entries(out), ["filler", "r.csv", "r.json"]);
}

#[test]
fn a_full_disk_while_the_figure_is_written_keeps_the_old_figure_and_its_csv() {
    let Some(fs) = Tmpfs::mount(256) else { return };
    let d = workdir();
    let out = fs.path();
    std::fs::write(out.join("fig.svg"), b"old figure").unwrap();
    std::fs::write(out.join("fig.csv"), b"old data").unwrap();
    // Room for the small data CSV (one page), not for the figure (tens of KiB).
    fs.fill_leaving(3 * 4096);
    let fig = out.join("fig.svg").display().to_string();
    mltq(d.path(), &sim(&["--plot", &fig]))
        .failed_io()
        .says("No space left on device");
    assert_eq!(std::fs::read(out.join("fig.svg")).unwrap(), b"old figure");
    assert_eq!(std::fs::read(out.join("fig.csv")).unwrap(), b"old data");
    assert_eq!(entries(out), ["fig.csv", "fig.svg", "filler"]);
}

#[test]
fn a_full_disk_under_a_sweep_is_exit_1() {
    let Some(fs) = Tmpfs::mount(256) else { return };
    let d = workdir();
    let spec = d.path().join("s.toml");
    std::fs::write(
        &spec,
        "[fixed]\narch = \"a.toml\"\nmodel = \"m.mltq\"\n[grid]\nlanes = [1, 2, 4, 8]\n",
    )
    .unwrap();
    fs.fill_leaving(0);
    let out = fs.path().join("sw").display().to_string();
    mltq(d.path(), &["sweep", "s.toml", "--out", &out])
        .failed_io()
        .says("No space left on device");
}

#[test]
fn permission_denied_on_an_output_directory_is_exit_1() {
    // Root ignores directory permissions; a read-only mount does not.
    let Some(fs) = Tmpfs::mount(64) else { return };
    let ok = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(fs.path())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: cannot remount the tmpfs read-only");
        return;
    }
    let d = workdir();
    let csv = fs.path().join("r.csv").display().to_string();
    mltq(d.path(), &sim(&["--csv", &csv]))
        .failed_io()
        .says("cannot write");
}

// -------------------------------------------------------------------------------------
// 4. No panic on any input

/// `e.toml`: the embedded arch (schemes that run on any encoding).
fn embedded_arch(dir: &Path) {
    std::fs::copy(repo("arch/embedded.toml"), dir.join("e.toml")).unwrap();
}

/// A one-layer model whose layer is named `name`.
fn model_named(name: &str) -> Vec<u8> {
    let layers = vec![(name.to_string(), Geometry::Fc { c: 16, f: 4 })];
    model::to_bytes(&synthesize("long", layers, &GenSpec::default()).unwrap())
}

#[test]
fn a_layer_name_of_65536_characters_is_shortened_in_tables() {
    let d = workdir();
    embedded_arch(d.path());
    let name = "n".repeat(65_536);
    std::fs::write(d.path().join("long.mltq"), model_named(&name)).unwrap();
    let args = [
        "simulate",
        "--arch",
        "e.toml",
        "--model",
        "long.mltq",
        "--csv",
        "r.csv",
    ];
    let r = mltq(d.path(), &args);
    r.ok();
    let longest = r.out().lines().map(|l| l.chars().count()).max().unwrap();
    assert!(
        longest < 400,
        "the table stays narrow: {longest} characters"
    );
    assert!(r.out().contains('…'), "{}", r.out());
    // The CSV keeps the name whole.
    let csv = std::fs::read_to_string(d.path().join("r.csv")).unwrap();
    assert!(csv.contains(&name));

    let r = mltq(d.path(), &["inspect", "long.mltq"]);
    r.ok();
    let longest = r.out().lines().map(|l| l.chars().count()).max().unwrap();
    assert!(longest < 400, "inspect stays narrow: {longest} characters");
}

#[test]
fn a_20_kb_layer_name_makes_a_small_table() {
    let d = workdir();
    embedded_arch(d.path());
    let layers: Vec<(String, Geometry)> = (0..100)
        .map(|i| {
            let name = if i == 0 {
                "x".repeat(20_000)
            } else {
                format!("l{i}")
            };
            (name, Geometry::Fc { c: 8, f: 2 })
        })
        .collect();
    let net = synthesize("many", layers, &GenSpec::default()).unwrap();
    std::fs::write(d.path().join("n.mltq"), model::to_bytes(&net)).unwrap();
    let r = bounded(
        "20 KB layer name, 100 layers",
        d.path(),
        &["simulate", "--arch", "e.toml", "--model", "n.mltq"],
        &[],
    );
    r.ok();
    assert!(
        r.stdout.len() < 64 << 10,
        "stdout is {} bytes",
        r.stdout.len()
    );
}

/// A report CSV of `layers` layers and two schemes, as `simulate --csv` writes.
fn report_csv(layers: usize) -> String {
    let mut s = String::from(
        "network,layer,scheme,macs,cycles,speedup,work,potential_speedup,utilization,\
         busy_lane_cycles,lane_cycles,time_us,sample\n",
    );
    for l in 0..=layers {
        let name = if l == layers {
            "total".to_string()
        } else {
            format!("l{l}")
        };
        s.push_str(&format!(
            "n,{name},mlb,8,8,1.000000,8,1.000000,1,8,8,0.008,0\n"
        ));
        s.push_str(&format!(
            "n,{name},mltq,8,4,2.000000,2,4.000000,0.5,4,8,0.004,0\n"
        ));
    }
    s
}

#[test]
fn a_png_of_60000_layers_is_refused_with_a_hint() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("r.csv"), report_csv(60_000)).unwrap();
    let r = bounded(
        "plot layers of 60 000 layers to PNG",
        d.path(),
        &["plot", "layers", "--from", "r.csv", "--out", "big.png"],
        &[],
    );
    r.refused().says("too large for a PNG").says(".svg");
    assert_eq!(entries(d.path()), ["r.csv"]);
}

#[test]
fn a_sweep_with_2_to_the_40_column_registers_is_refused_at_its_line() {
    let d = workdir();
    std::fs::write(
        d.path().join("s.toml"),
        "[fixed]\narch = \"a.toml\"\nmodel = \"m.mltq\"\ncolumn_registers = 1099511627776\n",
    )
    .unwrap();
    bounded(
        "sweep column_registers = 2^40",
        d.path(),
        &["sweep", "s.toml"],
        &[],
    )
    .refused()
    .says("s.toml:4:20: `column_registers` in [array] = 1099511627776 is too large");
    assert!(!d.path().join("out").exists());
}

#[test]
fn threads_that_cannot_be_created_are_an_error_line() {
    // Run as `nobody` with at most 16 processes: 2000 threads cannot all start.
    // (Root ignores RLIMIT_NPROC, so the limit needs another user.)
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("SKIPPED: not root, cannot run as another user with a process limit");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        d.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(d.path().join("a.toml"), example_arch()).unwrap();
    std::fs::write(d.path().join("m.mltq"), example_model()).unwrap();
    let mut c = bin();
    c.current_dir(d.path())
        .args(sim(&[]))
        .env("RAYON_NUM_THREADS", "2000");
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 16,
                rlim_max: 16,
            };
            if libc::setrlimit(libc::RLIMIT_NPROC, &lim) != 0
                || libc::setgid(65534) != 0
                || libc::setuid(65534) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let r = run(&mut c, Duration::from_secs(120));
    r.failed_io()
        .says("cannot start the worker threads (RAYON_NUM_THREADS=2000)");
}

// -------------------------------------------------------------------------------------
// 5. Every read is bounded

#[test]
fn arch_from_dev_zero_is_refused_promptly_in_little_memory() {
    let d = workdir();
    let r = bounded(
        "--arch /dev/zero",
        d.path(),
        &["simulate", "--arch", "/dev/zero", "--model", "m.mltq"],
        &[],
    );
    r.refused().says("larger than the 16.0 MiB allowed");
    assert!(r.max_rss_mib < 256.0, "{} MiB", r.max_rss_mib);
}

#[test]
fn sweep_from_dev_zero_is_refused_promptly_in_little_memory() {
    let d = workdir();
    let r = bounded(
        "sweep /dev/zero",
        d.path(),
        &["sweep", "/dev/zero", "--out", "o"],
        &[],
    );
    r.refused().says("larger than the 16.0 MiB allowed");
    assert!(r.max_rss_mib < 256.0, "{} MiB", r.max_rss_mib);
}

#[test]
fn plot_from_dev_zero_is_refused_promptly_in_little_memory() {
    let d = workdir();
    let r = bounded(
        "plot --from /dev/zero",
        d.path(),
        &["plot", "layers", "--from", "/dev/zero", "--out", "f.svg"],
        &[],
    );
    r.refused().says("has a line longer than 16.0 MiB");
    assert!(r.max_rss_mib < 256.0, "{} MiB", r.max_rss_mib);
    assert_eq!(entries(d.path()), ["a.toml", "m.mltq"]);
}

#[test]
fn the_input_limit_can_be_lowered_and_raised() {
    let d = workdir();
    let r = run(
        bin()
            .current_dir(d.path())
            .args(sim(&[]))
            .env("MLTQ_MAX_INPUT", "100"),
        Duration::from_secs(60),
    );
    r.refused()
        .says("a.toml: it is")
        .says("more than the 100 bytes allowed");
    let r = run(
        bin()
            .current_dir(d.path())
            .args(sim(&[]))
            .env("MLTQ_MAX_INPUT", "1M"),
        Duration::from_secs(60),
    );
    r.ok();
}

#[test]
fn a_fifo_arch_with_no_writer_is_refused_not_waited_for_forever() {
    let d = workdir();
    mkfifo(&d.path().join("a.fifo"));
    let r = run(
        bin()
            .current_dir(d.path())
            .args(["simulate", "--arch", "a.fifo", "--model", "m.mltq"])
            .env("MLTQ_FIFO_WAIT", "0.3"),
        Duration::from_secs(60),
    );
    r.refused()
        .says("it is a FIFO and nothing was written to it in 0.3 s");
}

#[test]
fn a_fifo_arch_with_a_writer_is_read() {
    let d = workdir();
    let fifo = d.path().join("a.fifo");
    mkfifo(&fifo);
    let writer = std::thread::spawn(move || std::fs::write(fifo, example_arch()).unwrap());
    mltq(
        d.path(),
        &["simulate", "--arch", "a.fifo", "--model", "m.mltq"],
    )
    .ok();
    writer.join().unwrap();
}

#[test]
fn a_fifo_model_is_refused_without_waiting() {
    let d = workdir();
    mkfifo(&d.path().join("m.fifo"));
    let r = mltq(
        d.path(),
        &["simulate", "--arch", "a.toml", "--model", "m.fifo"],
    );
    r.refused()
        .says("it is a FIFO (named pipe); a model is read by byte ranges");
    assert!(r.elapsed < Duration::from_secs(30));
}

/// A sparse 1 GiB int8 model (its payload never written).
fn sparse_gib_model(dir: &Path) -> PathBuf {
    let n: u64 = 1 << 30;
    let out = n / 65536;
    let header = format!(
        "MLTQ 1\nnetwork name=big\nlayer name=fc op=fc in=65536 out={out}\n\
         weights layer=fc shape={out},65536 enc=int bits=8 data=0+{n}\nend\n"
    );
    let p = dir.join("big.mltq");
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(header.as_bytes()).unwrap();
    f.set_len(header.len() as u64 + n).unwrap();
    p
}

#[test]
fn a_sweep_checks_the_memory_budget_before_reading_a_big_model() {
    let d = workdir();
    sparse_gib_model(d.path());
    std::fs::write(
        d.path().join("s.toml"),
        "[fixed]\narch = \"a.toml\"\nmodel = \"big.mltq\"\n",
    )
    .unwrap();
    let r = bounded(
        "sweep of a 1 GiB sparse model, 256 MiB budget",
        d.path(),
        &["sweep", "s.toml"],
        &[("MLTQ_MAX_MEMORY", "256M")],
    );
    r.refused()
        .says("GiB but only 256.0 MiB are available (MLTQ_MAX_MEMORY=256M)");
    assert!(r.max_rss_mib < 128.0, "{} MiB", r.max_rss_mib);
}

#[test]
fn model_hashes_are_streamed_in_constant_memory() {
    // simulate --json hashes the model file: a 1 GiB (sparse) file under a 4 GiB budget
    // is decoded to 4 GiB and refused; hashing alone must not read it whole, so a
    // model that is refused for its size is refused before any hashing.
    let d = workdir();
    sparse_gib_model(d.path());
    let r = bounded(
        "simulate --json on a 1 GiB sparse model",
        d.path(),
        &[
            "simulate", "--arch", "a.toml", "--model", "big.mltq", "--json", "r.json",
        ],
        &[("MLTQ_MAX_MEMORY", "256M")],
    );
    r.refused().says("GiB but only");
    assert!(r.max_rss_mib < 128.0, "{} MiB", r.max_rss_mib);
    // The streaming hash of the library, on the same file: constant memory.
    let before = peak_rss_kib();
    let h = mltq::files::sha256_file(&d.path().join("big.mltq")).unwrap();
    assert_eq!(h.len(), 64);
    let grew = peak_rss_kib().saturating_sub(before);
    assert!(
        grew < 64 << 10,
        "hashing 1 GiB raised the peak by {grew} KiB"
    );
}

/// This test process's peak resident memory (VmHWM).
fn peak_rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let l = s.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    l.split_whitespace().nth(1).unwrap().parse().unwrap()
}

// -------------------------------------------------------------------------------------
// 6. Sweeps scale, and overrides are validated as in an arch file

fn seeds_sweep(dir: &Path, seeds: usize) {
    let list: Vec<String> = (1..=seeds).map(|s| s.to_string()).collect();
    std::fs::write(
        dir.join("seeds.toml"),
        format!(
            "[fixed]\narch = \"a.toml\"\nnetwork = \"resnet20\"\n[grid]\nseed = [{}]\n",
            list.join(", ")
        ),
    )
    .unwrap();
}

#[test]
fn a_sweep_of_100000_distinct_seeds_sets_up_in_bounded_memory() {
    let d = workdir();
    // Only resnet20's small layers: the embedded arch's three schemes.
    std::fs::write(
        d.path().join("a.toml"),
        std::fs::read_to_string(repo("arch/embedded.toml")).unwrap(),
    )
    .unwrap();
    seeds_sweep(d.path(), 100_000);
    let r = bounded(
        "sweep setup of 100 000 distinct seeds (1 point run)",
        d.path(),
        &["sweep", "seeds.toml", "--out", "o", "--shard", "1/100000"],
        &[],
    );
    r.ok();
    assert!(r.max_rss_mib < 512.0, "{} MiB", r.max_rss_mib);
    let rec = std::fs::read_to_string(d.path().join("o/sweep.json")).unwrap();
    assert_eq!(rec.matches("\"index\":").count(), 100_000);
}

#[test]
fn a_million_point_sweep_of_one_model_streams_its_points() {
    let d = workdir();
    // 1000 × 1000 override combinations, each checked as an arch file would be.
    let tiles: Vec<String> = (1..=1000).map(|t| t.to_string()).collect();
    let regs: Vec<String> = (0..1000).map(|t| t.to_string()).collect();
    std::fs::write(
        d.path().join("big.toml"),
        format!(
            "[fixed]\narch = \"a.toml\"\nmodel = \"m.mltq\"\n[grid]\ntiles = [{}]\n\
             column_registers = [{}]\n",
            tiles.join(", "),
            regs.join(", ")
        ),
    )
    .unwrap();
    let r = bounded(
        "sweep setup of 1 000 000 points of one model (1 point run)",
        d.path(),
        &["sweep", "big.toml", "--out", "o", "--shard", "1/1000000"],
        &[],
    );
    r.ok();
    assert!(r.max_rss_mib < 512.0, "{} MiB", r.max_rss_mib);
    let csv = std::fs::read_to_string(d.path().join("o/results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3 * 10, "one point's rows");
}

#[test]
fn sweep_overrides_are_held_to_the_arch_files_limits() {
    let d = workdir();
    let big = 1u64 << 40;
    std::fs::write(
        d.path().join("s.toml"),
        format!("[fixed]\narch = \"a.toml\"\nmodel = \"m.mltq\"\nlanes = {big}\n"),
    )
    .unwrap();
    mltq(d.path(), &["sweep", "s.toml"])
        .refused()
        .says("s.toml:4:9: `lanes` in [array] = 1099511627776 is too large: at most 1048576");
    // The same value in the arch file: the same words.
    let arch = example_arch().replace("lanes = 8", &format!("lanes = {big}"));
    std::fs::write(d.path().join("big.toml"), arch).unwrap();
    mltq(
        d.path(),
        &["simulate", "--arch", "big.toml", "--model", "m.mltq"],
    )
    .refused()
    .says("`lanes` in [array] = 1099511627776 is too large: at most 1048576");
    // Each value allowed, the whole array too large: refused for the point, before any
    // point runs.
    let each = 1u64 << 20;
    std::fs::write(
        d.path().join("t.toml"),
        format!(
            "[fixed]\narch = \"a.toml\"\nmodel = \"m.mltq\"\nlanes = {each}\n[grid]\ntiles = [1, {each}]\n"
        ),
    )
    .unwrap();
    mltq(d.path(), &["sweep", "t.toml", "--out", "o"])
        .refused()
        .says("t.toml: the points with arch=a.toml tiles=1048576 lanes=1048576: ./a.toml:5:1:")
        .says("multipliers; at most 4294967296");
    assert!(!d.path().join("o/journal.jsonl").exists());
}

// -------------------------------------------------------------------------------------
// 7. Exit status and words

#[test]
fn a_symlink_loop_model_says_so() {
    let d = workdir();
    std::os::unix::fs::symlink("loop.mltq", d.path().join("loop.mltq")).unwrap();
    mltq(
        d.path(),
        &["simulate", "--arch", "a.toml", "--model", "loop.mltq"],
    )
    .refused()
    .says("symlink loop");
    mltq(d.path(), &["inspect", "loop.mltq"])
        .refused()
        .says("symlink loop");
}

#[test]
fn the_docs_state_the_exit_statuses_and_the_journal_order_as_they_are() {
    let cli = std::fs::read_to_string(repo("docs/cli.md")).unwrap();
    assert!(
        cli.contains("**1 when an output cannot be written** (a full disk"),
        "docs/cli.md: exit status 1 for a full disk"
    );
    assert!(!cli.contains("1 for anything else (for example a full disk)"));
    assert!(cli.contains("`journal.jsonl` holds the same lines in point\norder"));
}

#[test]
fn a_merged_journal_has_the_unsharded_lines_in_point_order() {
    let d = workdir();
    std::fs::write(
        d.path().join("s.toml"),
        "[fixed]\narch = \"a.toml\"\nmodel = \"m.mltq\"\n[grid]\nlanes = [1, 2, 3, 4, 5, 6, 7, 8]\n",
    )
    .unwrap();
    mltq(
        d.path(),
        &["sweep", "s.toml", "--out", "whole", "--threads", "2"],
    )
    .ok();
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let out = format!("s{k}");
        mltq(
            d.path(),
            &["sweep", "s.toml", "--out", &out, "--shard", &shard],
        )
        .ok();
    }
    mltq(d.path(), &["merge", "s1", "s2", "--out", "merged"]).ok();
    let read = |p: &str| std::fs::read_to_string(d.path().join(p)).unwrap();
    assert_eq!(read("merged/results.csv"), read("whole/results.csv"));
    assert_eq!(read("merged/sweep.json"), read("whole/sweep.json"));
    let merged: Vec<String> = read("merged/journal.jsonl")
        .lines()
        .map(String::from)
        .collect();
    let mut whole: Vec<String> = read("whole/journal.jsonl")
        .lines()
        .map(String::from)
        .collect();
    let point =
        |l: &String| serde_json::from_str::<serde_json::Value>(l).unwrap()["point"].as_u64();
    assert!(
        merged.windows(2).all(|w| point(&w[0]) < point(&w[1])),
        "point order"
    );
    whole.sort_by_key(point);
    assert_eq!(merged, whole, "the same lines");
    // Merging into a shard's own directory would replace its inputs.
    mltq(d.path(), &["merge", "s1", "s2", "--out", "s1"])
        .refused()
        .says("is the same file as the shard's");
}
