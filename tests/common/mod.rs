//! Helpers shared by the CLI-level tests: the binary, the example files, small
//! generated models, and runs with a time limit.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use mltq::encoding::EncSpec;
use mltq::gen::{synthesize, GenSpec};
use mltq::model::{self, Conv, Geometry};

/// The `mltq` binary.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mltq"));
    c.env_remove("MLTQ_MAX_MEMORY").env("NO_COLOR", "1");
    c
}

/// A file of the repository.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The spec's example model (committed copy).
pub fn example_model() -> Vec<u8> {
    std::fs::read(repo("tests/data/example.mltq")).unwrap()
}

/// The spec's example arch (committed copy).
pub fn example_arch() -> String {
    std::fs::read_to_string(repo("tests/data/example.toml")).unwrap()
}

/// A small network made by gen's synthesizer (what `mltq gen` runs on the built-in
/// geometries): a padded conv, a strided grouped conv and an FC layer.
pub fn small_model(weights: EncSpec, acts: EncSpec, samples: u32, seed: u64) -> Vec<u8> {
    let layers = vec![
        (
            "c1".to_string(),
            Geometry::Conv(Conv::square(6, (5, 4), 4, 3, 1, 1, 1)),
        ),
        (
            "c2".to_string(),
            Geometry::Conv(Conv::square(4, (5, 4), 4, 1, 2, 0, 2)),
        ),
        ("fc".to_string(), Geometry::Fc { c: 24, f: 5 }),
    ];
    let spec = GenSpec {
        weights,
        acts,
        weight_density: 0.4,
        act_density: 0.5,
        samples,
        seed,
    };
    model::to_bytes(&synthesize("small", layers, &spec).unwrap())
}

/// What a finished (or stopped) run did.
#[derive(Debug)]
pub struct Outcome {
    /// None when the process was killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The time limit was hit and the process was killed.
    pub timed_out: bool,
    pub elapsed: Duration,
}

/// Run `cmd` with stdout and stderr sent to files in `scratch`, killing it after
/// `limit`.
pub fn run_limited(cmd: &mut Command, scratch: &Path, limit: Duration) -> Outcome {
    let (out_p, err_p) = (scratch.join("stdout.txt"), scratch.join("stderr.txt"));
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_p).unwrap())
        .stderr(std::fs::File::create(&err_p).unwrap())
        .spawn()
        .unwrap();
    let mut timed_out = false;
    let status: ExitStatus = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Outcome {
        code: status.code(),
        stdout: std::fs::read_to_string(&out_p).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_p).unwrap_or_default(),
        timed_out,
        elapsed: start.elapsed(),
    }
}

/// Names of the entries of a directory, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Send a signal by name (`TERM`, `INT`, `KILL`) to a process.
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {pid}");
}
