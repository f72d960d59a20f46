//! `mltq sweep`, `merge`, `plot` and `simulate --plot` through the real binary, on the
//! spec's worked example (a two-layer model file and its arch).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn mltq() -> Command {
    Command::cargo_bin("mltq").unwrap()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// A sweep over the example model: 2 lanes × 2 column-register settings × 2 tiles.
fn spec(dir: &Path) -> PathBuf {
    let p = dir.join("example-sweep.toml");
    let text = format!(
        "[fixed]\nmodel = {:?}\narch = {:?}\n\n[grid]\nlanes = [4, 8]\ncolumn_registers = [0, 1]\ntiles = [1, 2]\n",
        data("example.mltq").display().to_string(),
        data("example.toml").display().to_string()
    );
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn sweep_threads_shards_and_merge_give_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec(dir.path());
    let d = |n: &str| dir.path().join(n);
    for (out, threads) in [("one", "1"), ("two", "2")] {
        mltq()
            .args(["sweep"])
            .arg(&s)
            .arg("--out")
            .arg(d(out))
            .args(["--threads", threads])
            .assert()
            .success()
            .stdout(contains("8 points (0 from the journal, 8 simulated)"));
    }
    assert_eq!(read(&d("one/results.csv")), read(&d("two/results.csv")));
    let csv = read(&d("one/results.csv"));
    assert!(csv.starts_with(
        "point,point_id,model,arch,tiles,lanes,column_registers,network,layer,scheme,"
    ));
    // 8 points × (2 layers + total) × 10 schemes.
    assert_eq!(csv.lines().count(), 1 + 8 * 3 * 10);

    for k in 1..=2 {
        mltq()
            .arg("sweep")
            .arg(&s)
            .arg("--out")
            .arg(d(&format!("s{k}")))
            .args(["--shard", &format!("{k}/2")])
            .assert()
            .success();
    }
    mltq()
        .arg("merge")
        .arg(d("s1"))
        .arg(d("s2"))
        .arg("--out")
        .arg(d("merged"))
        .assert()
        .success();
    assert_eq!(read(&d("merged/results.csv")), csv);
    assert_eq!(read(&d("merged/sweep.json")), read(&d("one/sweep.json")));
    mltq()
        .arg("merge")
        .arg(d("s1"))
        .arg("--out")
        .arg(d("m2"))
        .assert()
        .code(2)
        .stderr(contains("4 of 8 points are missing: 1, 3, 5, 7"));

    // Figures from the sweep's CSV.
    mltq()
        .args(["plot", "sweep", "--from"])
        .arg(d("one/results.csv"))
        .args([
            "--x",
            "lanes",
            "--series",
            "column_registers",
            "--filter",
            "tiles=2",
            "--out",
        ])
        .arg(d("lanes.svg"))
        .assert()
        .success();
    assert!(read(&d("lanes.svg")).contains("<svg"));
    assert!(read(&d("lanes.csv")).starts_with("panel,line,scheme,series,lanes,"));
    mltq()
        .args(["plot", "layers", "--from"])
        .arg(d("one/results.csv"))
        .args(["--filter", "point=3", "--out"])
        .arg(d("p3.png"))
        .assert()
        .success();
    mltq()
        .args(["plot", "layers", "--from"])
        .arg(d("one/results.csv"))
        .arg("--out")
        .arg(d("all.png"))
        .assert()
        .code(2)
        .stderr(contains("--filter point=VALUE"));
}

#[test]
fn bad_sweep_file_is_exit_2_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("bad.toml");
    std::fs::write(&s, "[fixed]\nnetwork = \"resnet20\"\narch = \"x.toml\"\n").unwrap();
    mltq()
        .arg("sweep")
        .arg(&s)
        .assert()
        .code(2)
        .stderr(contains("bad.toml:3:8: arch file `x.toml` not found"));
    std::fs::write(&s, "[grid]\nnetwork = [\"resnet20\", \"resnet181\"]\n").unwrap();
    mltq()
        .arg("sweep")
        .arg(&s)
        .assert()
        .code(2)
        .stderr(contains(
            "bad.toml:2:24: unknown network `resnet181` (did you mean `resnet18`?)",
        ));
}

#[test]
fn simulate_plot_writes_the_figure_and_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let fig = dir.path().join("run.svg");
    mltq()
        .args(["simulate", "--arch"])
        .arg(data("example.toml"))
        .arg("--model")
        .arg(data("example.mltq"))
        .arg("--plot")
        .arg(&fig)
        .assert()
        .success();
    assert!(read(&fig).contains("Per-layer speedup over mlb"));
    let data_csv = read(&dir.path().join("run.csv"));
    assert!(data_csv.starts_with("layer,scheme,speedup,potential_speedup,cycles,work\n"));
    // 9 schemes besides the baseline × (2 layers + total).
    assert_eq!(data_csv.lines().count(), 1 + 9 * 3);
    mltq()
        .args(["simulate", "--arch"])
        .arg(data("example.toml"))
        .arg("--model")
        .arg(data("example.mltq"))
        .arg("--plot")
        .arg(dir.path().join("run.pdf"))
        .assert()
        .code(2)
        .stderr(contains(".svg or .png"));
}
