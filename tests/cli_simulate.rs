//! `mltq simulate`, `gen` and `inspect` through the real binary: the spec's worked
//! example byte for byte, built-in networks, samples, synthetic activations, metadata.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn repo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn mltq() -> Command {
    Command::cargo_bin("mltq").unwrap()
}

/// `mltq simulate` of the spec's example arch and model.
fn simulate_example() -> Command {
    let mut c = mltq();
    c.args(["simulate", "--arch"])
        .arg(data("example.toml"))
        .arg("--model")
        .arg(data("example.mltq"));
    c
}

/// The first `n` columns of every CSV line.
fn columns(text: &str, n: usize) -> String {
    text.lines()
        .map(|l| l.split(',').take(n).collect::<Vec<_>>().join(",") + "\n")
        .collect()
}

#[test]
fn spec_example_csv_matches_the_expected_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    simulate_example().arg("--csv").arg(&out).assert().success();
    let got = std::fs::read_to_string(&out).unwrap();
    let want = std::fs::read_to_string(data("example.expected.csv")).unwrap();
    assert_eq!(columns(&got, 8), want);
    // The project's counters follow the contract's eight, then the weight schedule's
    // (empty here: no scheme has one), then the cost model's.
    assert!(got.starts_with(
        "network,layer,scheme,macs,cycles,speedup,work,potential_speedup,utilization,busy_lane_cycles,lane_cycles,time_us,sample,\
         kept_steps,promoted,total_cycles,memory_cycles,bound,weight_bits,act_bits,dram_bits,sram_bits,energy_pj,energy_compute_pj,\
         energy_sram_pj,energy_dram_pj,energy_static_pj,area_mm2,speedup_total,energy_ratio,perf_per_area\n"
    ));
}

#[test]
fn scheduled_schemes_carry_kept_steps_and_promoted() {
    // The example model on its arch plus both Bit-Tactical presets (8 lanes: T(2,5)
    // fits) and an mltq-bit with L(2,5).
    let dir = tempfile::tempdir().unwrap();
    let arch = std::fs::read_to_string(data("example.toml"))
        .unwrap()
        .replacen(
            "\"pragmatic-booth\"]",
            "\"pragmatic-booth\", \"bittactical\", \"bittactical-e\", \"mltq-bit-l25\"]",
            1,
        )
        + "\n[[scheme]]\nname = \"mltq-bit-l25\"\nbase = \"mltq-bit\"\n\
           weight_schedule = { shape = \"L\", lookahead = 2, lookaside = 5 }\n";
    std::fs::write(dir.path().join("a.toml"), arch).unwrap();
    std::fs::copy(data("example.mltq"), dir.path().join("m.mltq")).unwrap();
    let out = mltq()
        .current_dir(dir.path())
        .args(["simulate", "--arch", "a.toml", "--model", "m.mltq"])
        .args(["--csv", "r.csv", "--json", "r.json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.path().join("r.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let (ki, pi) = (
        header.iter().position(|&h| h == "kept_steps").unwrap(),
        header.iter().position(|&h| h == "promoted").unwrap(),
    );
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let scheduled = ["bittactical", "bittactical-e", "mltq-bit-l25"].contains(&f[2]);
        // Scheduled schemes: counts; the others: empty cells.
        assert_eq!(f[ki].parse::<u64>().is_ok(), scheduled, "{line}");
        assert_eq!(f[pi].parse::<u64>().is_ok(), scheduled, "{line}");
        assert_eq!(f[ki].is_empty(), !scheduled, "{line}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    let schemes = json["arch"]["schemes"].as_array().unwrap();
    let bt = schemes.iter().find(|s| s["name"] == "bittactical").unwrap();
    assert_eq!(
        bt["weight_schedule"],
        serde_json::json!({"shape": "T", "lookahead": 2, "lookaside": 5})
    );
    let mlb = schemes.iter().find(|s| s["name"] == "mlb").unwrap();
    assert!(mlb.get("weight_schedule").is_none());
    for row in json["layers"].as_array().unwrap() {
        let scheduled = row["scheme"].as_str().unwrap().starts_with("bittactical")
            || row["scheme"] == "mltq-bit-l25";
        assert_eq!(row.get("kept_steps").is_some(), scheduled, "{row}");
        assert_eq!(row.get("promoted").is_some(), scheduled, "{row}");
    }
    // The readable report names the schedules and the steps they removed.
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("weight schedules"), "{stdout}");
    assert!(stdout.contains("bittactical-e  T(2,5)"), "{stdout}");
    assert!(stdout.contains("mltq-bit-l25   L(2,5)"), "{stdout}");
}

#[test]
fn spec_example_stdout_table() {
    // Relative paths: the report's `model:` line shows the path as given.
    let out = mltq()
        .current_dir(data(""))
        .args([
            "simulate",
            "--arch",
            "example.toml",
            "--model",
            "example.mltq",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn builtin_resnet20_on_pe16_has_a_row_per_layer_and_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    mltq()
        .args(["simulate", "--arch"])
        .arg(repo("arch/pe16.toml"))
        .args(["--model", "resnet20", "--quiet", "--csv"])
        .arg(&out)
        .assert()
        .success();
    let csv = std::fs::read_to_string(&out).unwrap();
    // 22 layers × 6 schemes + 6 totals + header.
    assert_eq!(csv.lines().count(), 22 * 6 + 6 + 1);
    let total_mlb = csv
        .lines()
        .find(|l| l.starts_with("resnet20,total,mlb,"))
        .unwrap();
    assert!(
        total_mlb.starts_with("resnet20,total,mlb,40813184,"),
        "{total_mlb}"
    );
}

#[test]
fn json_records_metadata_and_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, json) = (dir.path().join("o.csv"), dir.path().join("o.json"));
    simulate_example()
        .arg("--csv")
        .arg(&csv)
        .arg("--json")
        .arg(&json)
        .assert()
        .success();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["tool"]["name"], "mltq");
    assert_eq!(v["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["arch"]["name"], "example");
    assert_eq!(v["baseline"], "mlb");
    assert_eq!(v["activations"][0]["kind"], "sample");
    use sha2::Digest;
    let bytes = std::fs::read(data("example.mltq")).unwrap();
    let hex: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v["model"]["sha256"], hex.as_str());
    // conv1 / mltq-bit: 2411 cycles, 13251 work (the spec's expected CSV).
    let row = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["layer"] == "conv1" && r["scheme"] == "mltq-bit")
        .unwrap();
    assert_eq!(row["cycles"], 2411);
    assert_eq!(row["work"], 13251);
    assert_eq!(v["totals"].as_array().unwrap().len(), 10);
}

#[test]
fn gen_then_inspect_then_simulate_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("r20.mltq");
    mltq()
        .args(["gen", "resnet20", "--out"])
        .arg(&model)
        .args(["--samples", "2", "--seed", "7", "--weight-density", "0.2"])
        .assert()
        .success();
    let inspect = mltq().arg("inspect").arg(&model).output().unwrap();
    assert!(inspect.status.success());
    let text = String::from_utf8(inspect.stdout).unwrap();
    assert!(text.contains("conv1"), "{text}");
    let csv = dir.path().join("all.csv");
    let out = mltq()
        .args(["simulate", "--arch"])
        .arg(repo("arch/embedded.toml"))
        .arg("--model")
        .arg(&model)
        .args(["--all-samples", "--quiet", "--csv"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("summary over 2 samples"), "{stdout}");
    let csv = std::fs::read_to_string(&csv).unwrap();
    let at = csv
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == "sample")
        .unwrap();
    let samples: std::collections::BTreeSet<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(at).unwrap())
        .collect();
    assert_eq!(samples.into_iter().collect::<Vec<_>>(), ["0", "1"]);
}

#[test]
fn model_without_activations_needs_synthetic_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut net =
        mltq::model::parse_bytes(&std::fs::read(data("example.mltq")).unwrap(), "example").unwrap();
    for l in &mut net.layers {
        l.acts.clear();
    }
    let model = dir.path().join("noacts.mltq");
    mltq::model::save(&net, &model).unwrap();
    let out = dir.path().join("o.csv");
    let refused = mltq()
        .args(["simulate", "--arch"])
        .arg(data("example.toml"))
        .arg("--model")
        .arg(&model)
        .arg("--csv")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8(refused.stderr).unwrap();
    assert!(
        err.contains("error:")
            && err.contains("no activations for sample 0")
            && err.contains("--act-density"),
        "{err}"
    );
    assert!(!out.exists());
    let ok = mltq()
        .args(["simulate", "--arch"])
        .arg(data("example.toml"))
        .arg("--model")
        .arg(&model)
        .args([
            "--act-density",
            "0.5",
            "--seed",
            "3",
            "--act-enc",
            "int:8",
            "--csv",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8(ok.stdout)
        .unwrap()
        .contains("SYNTHETIC activations (int:8, density 0.5, seed 3)"));
    assert!(out.exists());
}

#[test]
fn bad_input_exits_2_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.csv");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--model".into(), "resnet5".into()],
            "did you mean `resnet50`?",
        ),
        (
            vec![
                "--model".into(),
                data("example.mltq").display().to_string(),
                "--sample".into(),
                "3".into(),
            ],
            "no activations for sample 3",
        ),
    ];
    for (args, want) in cases {
        let o = mltq()
            .args(["simulate", "--arch"])
            .arg(data("example.toml"))
            .args(&args)
            .arg("--csv")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(err.starts_with("error:") && err.contains(want), "{err}");
        assert!(!err.contains("panicked"));
        assert!(!out.exists());
    }
    // A bad flag is a usage error: exit 2 from clap.
    let o = mltq().args(["simulate", "--arhc", "x"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}
