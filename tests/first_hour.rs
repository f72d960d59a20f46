//! A researcher's first hour: the slips a new user makes get a message that says what to
//! do, the report says what a built-in network holds, and the first example of
//! docs/arch-files.md runs on the models a user has.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn repo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn mltq() -> Command {
    Command::cargo_bin("mltq").unwrap()
}

/// stderr of a run that must fail with exit 2 and write nothing to stdout.
fn refused(c: &mut Command) -> String {
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(o.stdout.is_empty(), "{o:?}");
    String::from_utf8(o.stderr).unwrap()
}

fn stdout(c: &mut Command) -> String {
    let o = c.output().unwrap();
    assert!(o.status.success(), "{o:?}");
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn simulate_with_a_gen_setting_points_to_gen() {
    for flag in ["--weight-density", "--weights", "--samples"] {
        let e = refused(mltq().args([
            "simulate",
            "--arch",
            "arch/pe16.toml",
            "--model",
            "resnet20",
            flag,
            "0.5",
        ]));
        assert!(
            e.starts_with(&format!("error: `mltq simulate` has no {flag}")),
            "{e}"
        );
        assert!(
            e.contains(&format!("hint: make a model with other settings first, e.g. `mltq gen resnet20 {flag} VALUE --out m.mltq`")),
            "{e}"
        );
        assert!(!e.contains("similar argument"), "{e}");
    }
}

#[test]
fn a_model_without_model_gets_the_flag_suggested() {
    let e = refused(mltq().current_dir(repo("")).args([
        "simulate",
        "--arch",
        "arch/pe16.toml",
        "resnet20",
    ]));
    assert_eq!(
        e.trim_end(),
        "error: unexpected argument `resnet20` for `mltq simulate`\n\
         hint: give the model with --model: `mltq simulate --arch ARCH.toml --model resnet20`"
    );
}

#[test]
fn import_names_a_missing_model_first() {
    let dir = tempfile::tempdir().unwrap();
    let e = refused(mltq().current_dir(dir.path()).args([
        "import",
        "--from",
        "onnx",
        "nosuch.onnx",
        "--out",
        "m.mltq",
    ]));
    let first = e.lines().next().unwrap();
    assert!(first.starts_with("error: cannot read nosuch.onnx"), "{e}");
    assert!(!dir.path().join("m.mltq").exists());
}

#[test]
fn plot_filter_without_a_match_lists_the_values_present() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("r.csv");
    mltq()
        .current_dir(repo(""))
        .args([
            "simulate",
            "--arch",
            "arch/pe16.toml",
            "--model",
            "resnet20",
            "-q",
        ])
        .arg("--csv")
        .arg(&csv)
        .assert()
        .success();
    let e = refused(
        mltq()
            .args(["plot", "layers", "--filter", "scheme=mltq-bits", "--from"])
            .arg(&csv)
            .arg("--out")
            .arg(dir.path().join("p.svg")),
    );
    assert!(
        e.contains("no row matches scheme=mltq-bits (did you mean `mltq-bit`?)\nhint: `scheme` holds mlb, mltq-word, mltq-bit, cnvlutin, pragmatic, laconic"),
        "{e}"
    );
    assert!(!dir.path().join("p.svg").exists());
}

#[test]
fn act_density_without_seed_uses_seed_1_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = |seed: Option<&str>, json: &str| {
        let mut c = mltq();
        c.current_dir(repo("")).args([
            "simulate",
            "--arch",
            "arch/pe16.toml",
            "--model",
            "resnet20",
            "-q",
            "--act-density",
            "0.3",
        ]);
        if let Some(s) = seed {
            c.args(["--seed", s]);
        }
        c.arg("--json").arg(dir.path().join(json));
        stdout(&mut c)
    };
    let without = run(None, "a.json");
    let with = run(Some("1"), "b.json");
    assert_eq!(without, with);
    assert!(
        without.contains("SYNTHETIC activations (ternary:2, density 0.3, seed 1)"),
        "{without}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("a.json")).unwrap()).unwrap();
    assert_eq!(v["activations"][0]["seed"], 1);
    assert_eq!(v["activations"][0]["density"], 0.3);
}

#[test]
fn the_report_says_what_a_builtin_holds_and_json_names_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = stdout(
        mltq()
            .current_dir(repo(""))
            .args([
                "simulate",
                "--arch",
                "arch/pe16.toml",
                "--model",
                "resnet20",
                "-q",
            ])
            .arg("--json")
            .arg(&json),
    );
    let second = out.lines().nth(1).unwrap();
    assert_eq!(
        second,
        "model: built-in resnet20, synthetic: weights ternary:2 at density 0.35, \
         activations ternary:2 at density 0.5, 1 sample, seed 1"
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["arch"]["baseline"], "mlb");
    assert_eq!(v["baseline"], "mlb");

    let first = stdout(mltq().args(["inspect", "resnet20"]));
    assert_eq!(
        first.lines().next().unwrap(),
        "network resnet20 (synthetic: weights ternary:2 at density 0.35, \
         activations ternary:2 at density 0.5, 1 sample, seed 1)"
    );
}

#[test]
fn gen_says_one_sample_and_a_generated_file_names_its_generator() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.mltq");
    let out = stdout(
        mltq()
            .args(["gen", "resnet20", "--seed", "9", "--out"])
            .arg(&m),
    );
    assert!(out.contains(" 1 sample, seed 9)"), "{out}");
    let out = stdout(
        mltq()
            .current_dir(repo(""))
            .args(["simulate", "--arch", "arch/pe16.toml", "-q", "--model"])
            .arg(&m),
    );
    assert!(
        out.contains("made by `mltq gen resnet20`: weights ternary:2 at density 0.35, activations ternary:2 at density 0.5, 1 sample, seed 9"),
        "{out}"
    );
}

/// The first ```toml block of docs/arch-files.md.
fn first_doc_example() -> String {
    let doc = std::fs::read_to_string(repo("docs/arch-files.md")).unwrap();
    let start = doc.find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    doc[start..end].to_string()
}

#[test]
fn the_first_arch_files_example_runs_on_ternary_binary_and_int_models() {
    let dir = tempfile::tempdir().unwrap();
    let arch = dir.path().join("my.toml");
    std::fs::write(&arch, first_doc_example()).unwrap();
    let models = [
        ("t.mltq", ["--weights", "ternary:2", "--acts", "ternary:2"]),
        ("b.mltq", ["--weights", "binary:2", "--acts", "binary:2"]),
        ("i.mltq", ["--weights", "int:8", "--acts", "int:8"]),
    ];
    for (name, flags) in models {
        let m = dir.path().join(name);
        let mut g = mltq();
        g.args(["gen", "resnet20"]).args(flags).arg("--out").arg(&m);
        if name == "b.mltq" {
            g.args(["--weight-density", "1", "--act-density", "1"]);
        }
        stdout(&mut g);
        let out = stdout(
            mltq()
                .args(["simulate", "-q", "--arch"])
                .arg(&arch)
                .arg("--model")
                .arg(&m),
        );
        assert!(out.contains("mltq-bit-free"), "{name}: {out}");
    }
    stdout(
        mltq()
            .args(["simulate", "-q", "--model", "resnet20", "--arch"])
            .arg(&arch),
    );
}
