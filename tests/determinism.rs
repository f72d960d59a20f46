//! Determinism: the suite's example models give byte-identical CSV and JSON (and stdout) run after
//! run, whatever the thread count (RAYON_NUM_THREADS=1 and =2) and with or without
//! `--csv-stream`; `gen` writes byte-identical models likewise.

mod common;

use std::path::Path;

use common::{bin, repo, small_model};
use mltq::encoding::EncSpec;

/// Run `mltq ARGS` in `dir` with `threads` rayon threads; panics on failure.
fn mltq(dir: &Path, threads: &str, args: &[&str]) {
    let o = bin()
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", threads)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "mltq {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Simulate `model` on `arch` in four settings (2 threads twice, 1 thread, 2 threads
/// streaming) and compare every output with the first, byte for byte.
fn same_outputs(dir: &Path, arch: &str, model: &str, extra: &[&str]) {
    let settings = [
        ("2", false),
        ("2", false),
        ("1", false),
        ("2", true),
        ("1", true),
    ];
    let mut first: Option<(Vec<u8>, Vec<u8>)> = None;
    for (i, (threads, stream)) in settings.into_iter().enumerate() {
        let (csv, json) = (format!("r{i}.csv"), format!("r{i}.json"));
        let mut args = vec![
            "simulate", "--quiet", "--arch", arch, "--model", model, "--csv", &csv, "--json", &json,
        ];
        args.extend_from_slice(extra);
        if stream {
            args.push("--csv-stream");
        }
        mltq(dir, threads, &args);
        let got = (
            std::fs::read(dir.join(&csv)).unwrap(),
            std::fs::read(dir.join(&json)).unwrap(),
        );
        match &first {
            None => first = Some(got),
            Some(f) => {
                assert!(
                    f.0 == got.0,
                    "{model} on {arch}: CSV differs with RAYON_NUM_THREADS={threads}, stream={stream}"
                );
                assert!(
                    f.1 == got.1,
                    "{model} on {arch}: JSON differs with RAYON_NUM_THREADS={threads}, stream={stream}"
                );
            }
        }
    }
}

fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["tests/data/example.mltq", "tests/data/example.toml"] {
        let p = repo(f);
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    for f in ["pe16.toml", "pe16-registers.toml", "dnnsim.toml"] {
        std::fs::copy(repo("arch").join(f), dir.path().join(f)).unwrap();
    }
    dir
}

#[test]
fn spec_example_is_deterministic() {
    let d = scratch();
    same_outputs(d.path(), "example.toml", "example.mltq", &[]);
}

#[test]
fn small_generated_models_are_deterministic() {
    let d = scratch();
    std::fs::write(
        d.path().join("int.mltq"),
        small_model(EncSpec::Int(8), EncSpec::Int(6), 3, 9),
    )
    .unwrap();
    same_outputs(d.path(), "example.toml", "int.mltq", &["--all-samples"]);
    std::fs::write(
        d.path().join("tern.mltq"),
        small_model(EncSpec::Ternary(3), EncSpec::Binary(2), 1, 9),
    )
    .unwrap();
    same_outputs(d.path(), "pe16-registers.toml", "tern.mltq", &[]);
    same_outputs(
        d.path(),
        "example.toml",
        "int.mltq",
        &["--act-density", "0.3", "--seed", "5", "--act-enc", "int:8"],
    );
}

#[test]
fn builtin_resnet20_is_deterministic() {
    let d = scratch();
    same_outputs(d.path(), "pe16.toml", "resnet20", &[]);
}

#[test]
fn generated_resnet20_file_is_deterministic() {
    let d = scratch();
    for (i, threads) in ["2", "1"].iter().enumerate() {
        mltq(
            d.path(),
            threads,
            &[
                "gen",
                "resnet20",
                "--samples",
                "2",
                "--out",
                &format!("g{i}.mltq"),
            ],
        );
    }
    assert!(
        std::fs::read(d.path().join("g0.mltq")).unwrap()
            == std::fs::read(d.path().join("g1.mltq")).unwrap(),
        "gen writes the same bytes with 1 and 2 threads"
    );
    same_outputs(
        d.path(),
        "pe16-registers.toml",
        "g0.mltq",
        &["--all-samples"],
    );
}

#[test]
fn every_fixed_point_preset_and_first_stage_is_deterministic() {
    // The dnnsim arch: dadiannao, stripes, cnvlutin, pragmatic (with and without the
    // two-stage shifter, plain and Booth terms) and laconic, each on its own engine path.
    let d = scratch();
    std::fs::write(
        d.path().join("int.mltq"),
        small_model(EncSpec::Int(8), EncSpec::Int(8), 2, 9),
    )
    .unwrap();
    same_outputs(d.path(), "dnnsim.toml", "int.mltq", &["--all-samples"]);
}

#[test]
fn stdout_table_is_identical_with_one_and_two_threads() {
    let d = scratch();
    let table = |threads: &str| {
        let o = bin()
            .current_dir(d.path())
            .env("RAYON_NUM_THREADS", threads)
            .args([
                "simulate",
                "--arch",
                "pe16-registers.toml",
                "--model",
                "resnet20",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    let one = table("1");
    assert!(!one.is_empty());
    assert!(
        one == table("2"),
        "the per-layer table differs between 1 and 2 threads"
    );
}
