//! Nothing lost: a run killed mid-way leaves the previous outputs whole and no torn file;
//! SIGTERM (or Ctrl-C) also removes the unfinished temporary files; `--csv-stream`
//! shows finished layers in `FILE.XXXXXXXX.partial` while the run goes on and ends with
//! exactly the file `--csv` alone writes.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{bin, entries, example_arch, repo, signal, small_model};
use mltq::encoding::EncSpec;

const OLD_CSV: &[u8] = b"old,csv\n";
const OLD_JSON: &[u8] = b"{\"old\": true}\n";

/// Start `simulate` on resnet18 (tens of seconds in a debug build) with `--csv-stream`,
/// over previous outputs, and wait until its first layer's rows are in `out.csv.XXXXXXXX.partial`.
fn start_long_run(out: &Path) -> Child {
    std::fs::write(out.join("out.csv"), OLD_CSV).unwrap();
    std::fs::write(out.join("out.json"), OLD_JSON).unwrap();
    let child = bin()
        .args([
            "simulate",
            "--quiet",
            "--csv-stream",
            "--model",
            "resnet18",
            "--arch",
        ])
        .arg(repo("arch/pe16.toml"))
        .arg("--csv")
        .arg(out.join("out.csv"))
        .arg("--json")
        .arg(out.join("out.json"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let rows = partial_of(out)
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if rows >= 2 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no layer finished in 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The target itself is untouched while the run goes on.
    assert_eq!(std::fs::read(out.join("out.csv")).unwrap(), OLD_CSV);
    child
}

/// The `out.csv.XXXXXXXX.partial` file of a streaming run, if there is one.
fn partial_of(dir: &Path) -> Option<std::path::PathBuf> {
    entries(dir)
        .into_iter()
        .find(|n| n.starts_with("out.csv.") && n.ends_with(".partial"))
        .map(|n| dir.join(n))
}

/// Every line of a (partial) CSV is a whole row of the report's columns.
fn whole_rows(text: &str) {
    assert!(text.ends_with('\n'), "a partial CSV ends with a whole row");
    for line in text.lines() {
        assert_eq!(
            line.split(',').count(),
            mltq::report::csv::HEADER.len(),
            "torn row: {line:?}"
        );
    }
}

#[test]
fn sigkill_mid_run_keeps_the_previous_outputs_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = start_long_run(dir.path());
    child.kill().unwrap(); // SIGKILL: no handler runs.
    child.wait().unwrap();
    assert_eq!(std::fs::read(dir.path().join("out.csv")).unwrap(), OLD_CSV);
    assert_eq!(
        std::fs::read(dir.path().join("out.json")).unwrap(),
        OLD_JSON
    );
    // Only the documented leftover of an uncatchable kill: the partial CSV, whole rows.
    let left = entries(dir.path());
    let partial = partial_of(dir.path()).expect("the partial CSV is left");
    let name = partial.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(left, ["out.csv", name.as_str(), "out.json"], "{left:?}");
    whole_rows(&std::fs::read_to_string(&partial).unwrap());
}

#[test]
fn sigterm_mid_run_removes_unfinished_files_and_keeps_the_previous_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let child = start_long_run(dir.path());
    signal(child.id(), "TERM");
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(std::fs::read(dir.path().join("out.csv")).unwrap(), OLD_CSV);
    assert_eq!(
        std::fs::read(dir.path().join("out.json")).unwrap(),
        OLD_JSON
    );
    assert_eq!(entries(dir.path()), ["out.csv", "out.json"]);
}

#[test]
fn interrupted_gen_keeps_the_previous_model() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.mltq");
    std::fs::write(&out, b"old model").unwrap();
    for sig in ["INT", "KILL"] {
        let child = bin()
            .args(["gen", "vgg16", "--out"])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(700));
        signal(child.id(), sig);
        child.wait_with_output().unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"old model");
        assert_eq!(entries(dir.path()), ["m.mltq"], "after SIG{sig}");
    }
}

#[test]
fn csv_stream_ends_with_the_same_files_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("m.mltq"),
        small_model(EncSpec::Int(8), EncSpec::Int(8), 3, 4),
    )
    .unwrap();
    std::fs::write(d.join("a.toml"), example_arch()).unwrap();
    for (csv, json, stream) in [("a.csv", "a.json", false), ("b.csv", "b.json", true)] {
        let mut cmd = bin();
        cmd.current_dir(d).args([
            "simulate",
            "--arch",
            "a.toml",
            "--model",
            "m.mltq",
            "--all-samples",
            "--csv",
            csv,
            "--json",
            json,
        ]);
        if stream {
            cmd.arg("--csv-stream");
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let a = std::fs::read_to_string(d.join("a.csv")).unwrap();
    assert_eq!(a, std::fs::read_to_string(d.join("b.csv")).unwrap());
    whole_rows(&a);
    assert_eq!(
        a.lines().count(),
        1 + 3 * (3 + 1) * 10,
        "3 samples × (3 layers + total) × 10 schemes"
    );
    assert_eq!(
        std::fs::read(d.join("a.json")).unwrap(),
        std::fs::read(d.join("b.json")).unwrap()
    );
    assert_eq!(
        entries(d),
        ["a.csv", "a.json", "a.toml", "b.csv", "b.json", "m.mltq"]
    );
}

#[test]
fn a_refused_run_with_csv_stream_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("out.csv"), OLD_CSV).unwrap();
    // The example's custom first-stage schemes cannot run on ternary activations.
    std::fs::write(
        d.join("m.mltq"),
        small_model(EncSpec::Ternary(2), EncSpec::Ternary(2), 1, 1),
    )
    .unwrap();
    std::fs::write(d.join("a.toml"), example_arch()).unwrap();
    let o = bin()
        .current_dir(d)
        .args([
            "simulate",
            "--arch",
            "a.toml",
            "--model",
            "m.mltq",
            "--csv",
            "out.csv",
            "--csv-stream",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(d.join("out.csv")).unwrap(), OLD_CSV);
    assert_eq!(entries(d), ["a.toml", "m.mltq", "out.csv"]);
}
