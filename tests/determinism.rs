//! `mltq simulate` output does not depend on the thread count: layers (and the seeded
//! generation of built-in networks) run in parallel, but results are gathered in a
//! fixed order, so stdout, CSV and JSON are byte-identical with RAYON_NUM_THREADS=1
//! and =2.

use std::path::Path;

use assert_cmd::Command;

/// stdout, CSV and JSON of one `simulate` run with `threads` rayon threads.
fn simulate(threads: usize, dir: &Path, args: &[&str]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (csv, json) = (
        dir.join(format!("t{threads}.csv")),
        dir.join(format!("t{threads}.json")),
    );
    let out = Command::cargo_bin("mltq")
        .unwrap()
        .env("RAYON_NUM_THREADS", threads.to_string())
        .arg("simulate")
        .args(args)
        .arg("--csv")
        .arg(&csv)
        .arg("--json")
        .arg(&json)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    (
        out,
        std::fs::read(csv).unwrap(),
        std::fs::read(json).unwrap(),
    )
}

fn arch(name: &str) -> String {
    format!("{}/arch/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn builtin_network_output_is_identical_with_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    // Column registers: units fed one by one; generation in parallel too.
    let args = ["--arch", &arch("pe16-registers"), "--model", "resnet20"];
    let one = simulate(1, dir.path(), &args);
    let two = simulate(2, dir.path(), &args);
    assert!(!one.0.is_empty() && !one.1.is_empty() && !one.2.is_empty());
    assert!(one == two, "output differs between 1 and 2 threads");
}

#[test]
fn int_model_with_samples_is_identical_with_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.mltq");
    Command::cargo_bin("mltq")
        .unwrap()
        .args(["gen", "resnet20", "--weights", "int:8", "--acts", "int:8"])
        .args(["--samples", "2", "--out"])
        .arg(&model)
        .assert()
        .success();
    // Every fixed-point preset and the first-stage schemes, lock-step columns, every
    // sample.
    let m = model.to_str().unwrap();
    let args = ["--arch", &arch("dnnsim"), "--model", m, "--all-samples"];
    let one = simulate(1, dir.path(), &args);
    let two = simulate(2, dir.path(), &args);
    assert!(one == two, "output differs between 1 and 2 threads");
}
