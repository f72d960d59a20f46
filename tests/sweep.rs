//! Sweeps end to end on tiny generated networks: spec parsing (good and bad files, with
//! line:column), point order and ids, resuming a killed sweep, thread-count
//! independence, and shard + merge against an unsharded run.

#[path = "tiny/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use common::TinyInputs;
use mltq::sweep::exec::{JOURNAL, RECORD, RESULTS};
use mltq::sweep::{merge, sweep_run, Inputs, Options, Param, Shard, Spec, Value};

/// A sweep file (and the arch files it names) in a fresh temporary directory.
fn setup(toml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for a in ["a.toml", "b.toml"] {
        std::fs::write(dir.path().join(a), "# test arch\n").unwrap();
    }
    let p = dir.path().join("s.toml");
    std::fs::write(&p, toml).unwrap();
    (dir, p)
}

fn parse(toml: &str) -> mltq::Result<Spec> {
    let (_d, p) = setup(toml);
    Spec::load(&p, &TinyInputs.networks())
}

fn err(toml: &str) -> String {
    parse(toml).unwrap_err().to_string()
}

const SWEEP: &str = r#"
name = "t"
[fixed]
arch = "a.toml"
act_density = 0.5
[grid]
network = ["tiny", "small"]
weight_density = [1.0, 0.5, 0.1]
lanes = [2, 4]
[[zip]]
weights = ["ternary:1", "ternary:2"]
acts = ["ternary:1", "ternary:3"]
"#;

#[test]
fn points_follow_the_canonical_axis_order_last_axis_fastest() {
    let spec = parse(SWEEP).unwrap();
    assert_eq!(spec.len(), 2 * 3 * 2 * 2);
    // Axes by first parameter: network, zip(weights, acts), weight_density, lanes.
    let firsts: Vec<Param> = spec.axes.iter().map(|a| a.params[0].clone()).collect();
    assert_eq!(
        firsts,
        [
            Param::Network,
            Param::Weights,
            Param::WeightDensity,
            Param::Lanes
        ]
    );
    let pts: Vec<_> = spec.points().collect();
    let label = |i: usize| pts[i].label();
    assert_eq!(
        label(0),
        "network=tiny weights=ternary:1 acts=ternary:1 weight_density=1 act_density=0.5 arch=a.toml lanes=2"
    );
    assert_eq!(pts[1].get(Param::Lanes), Some(&Value::Int(4)));
    assert_eq!(pts[2].get(Param::WeightDensity), Some(&Value::Real(0.5)));
    assert_eq!(
        pts[6].get(Param::Weights),
        Some(&Value::Enc("ternary:2".parse().unwrap()))
    );
    assert_eq!(
        pts[6].get(Param::Acts),
        Some(&Value::Enc("ternary:3".parse().unwrap()))
    );
    assert_eq!(
        pts[12].get(Param::Network),
        Some(&Value::Text("small".into()))
    );
    // Ids: index + hash of the parameters; stable across parses, distinct. Pinned:
    // the first 8 hex digits of the SHA-256 of `name=value;…` (from `sha256sum`).
    assert_eq!(pts[0].id, "0-06e3f254");
    assert_eq!(pts[23].id, "23-6428c65e");
    let again: Vec<_> = parse(SWEEP).unwrap().points().collect();
    assert_eq!(pts, again);
    let mut ids: Vec<&str> = pts.iter().map(|p| p.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), pts.len());
    // Columns: every named parameter but `network` (the report's own column).
    let columns = spec.param_columns();
    let cols: Vec<&str> = columns.iter().map(|p| p.name()).collect();
    assert_eq!(
        cols,
        [
            "weights",
            "acts",
            "weight_density",
            "act_density",
            "arch",
            "lanes"
        ]
    );
}

#[test]
fn scheme_keys_follow_the_array_overrides_by_scheme_then_key() {
    let spec = parse(
        "[fixed]\narch = \"a.toml\"\nnetwork = \"tiny\"\n\"scheme.b.sync\" = \"window\"\n\
         [grid]\nscheme.b.min_cycles = [0, 1]\n\"scheme.a.x.lanes\" = [2]\nlanes = [4]\n",
    )
    .unwrap();
    let cols: Vec<String> = spec
        .param_columns()
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    assert_eq!(
        cols,
        [
            "arch",
            "lanes",
            "scheme.a.x.lanes",
            "scheme.b.min_cycles",
            "scheme.b.sync"
        ]
    );
    let firsts: Vec<&str> = spec.axes.iter().map(|a| a.params[0].name()).collect();
    assert_eq!(firsts, ["lanes", "scheme.a.x.lanes", "scheme.b.min_cycles"]);
    let k = spec.axes[1].params[0].scheme_key().unwrap();
    assert_eq!((k.scheme(), k.key()), ("a.x", "lanes"));
    let p = spec.point(1);
    assert_eq!(
        p.label(),
        "network=tiny arch=a.toml lanes=4 scheme.a.x.lanes=2 scheme.b.min_cycles=1 scheme.b.sync=window"
    );
    // The id hashes the scheme keys like any parameter (`sha256sum` of the list).
    assert_eq!(spec.point(0).id, "0-92e0c2c9");
    assert_eq!(
        Param::from_name("scheme.b.min_cycles").as_ref(),
        Some(&spec.axes[2].params[0])
    );
    assert_eq!(
        p.get(Param::from_name("scheme.b.sync").unwrap()),
        Some(&Value::Text("window".into()))
    );
}

#[test]
fn bad_sweep_files_name_line_and_column() {
    let e = err("[fixed]\narch = \"a.toml\"\nnetwork = \"tiny\"\n[grid]\nlane = [1, 2]\n");
    assert!(e.contains("s.toml:5:1"), "{e}");
    assert!(e.contains("did you mean `lanes`"), "{e}");

    let e = err("[fixed]\narch = \"a.toml\"\nnetwork = \"tiny\"\n[[zip]]\nweights = [\"ternary:1\", \"ternary:2\"]\nacts = [\"ternary:1\"]\n");
    assert!(e.contains("s.toml:6:8"), "{e}");
    assert!(e.contains("same length"), "{e}");

    let e = err("[fixed]\narch = \"a.toml\"\nnetwork = \"tiny\"\n[grid]\nnetwork = [\"tiny\"]\n");
    assert!(
        e.contains("s.toml:5:1") && e.contains("already set in [fixed] (line 3)"),
        "{e}"
    );

    let e = err(
        "[fixed]\narch = \"a.toml\"\nnetwork = \"tiny\"\n[grid]\nweight_density = [1.0, 1.5]\n",
    );
    assert!(e.contains("s.toml:5:24") && e.contains("0.0..=1.0"), "{e}");

    let e = err("[fixed]\narch = \"a.toml\"\nnetwork = \"tiyn\"\n");
    assert!(
        e.contains("s.toml:3:11") && e.contains("did you mean `tiny`"),
        "{e}"
    );

    let e = err("[fixed]\narch = \"a.toml\"\nnetwork = \"tiny\"\nweights = \"ternary:9\"\n");
    assert!(
        e.contains("s.toml:4:11") && e.contains("bad encoding"),
        "{e}"
    );

    let e = err("[fixed]\narch = \"a.toml\"\nnetwork = \"tiny\"\n[grid]\nlanes = [4, -1]\n");
    assert!(e.contains("s.toml:5:13"), "{e}");

    let e = err("[fixed]\narch = \"missing.toml\"\nnetwork = \"tiny\"\n");
    assert!(e.contains("s.toml:2:8") && e.contains("not found"), "{e}");

    let e = err("[fixed]\narch = \"a.toml\"\nmodel = \"tiny\"\nseed = 3\n");
    assert!(
        e.contains("s.toml:4:8") && e.contains("use `network"),
        "{e}"
    );

    let e = err("[fixed]\nnetwork = \"tiny\"\n");
    assert!(e.contains("no arch"), "{e}");

    let e = err("[fixed]\narch = \"a.toml\"\n");
    assert!(e.contains("no model"), "{e}");

    let e = err("[fixed]\narch = \"a.toml\"\nnetwork = \"tiny\"\n[grid]\nlanes = [4, 4]\n");
    assert!(e.contains("s.toml:5:13") && e.contains("twice"), "{e}");

    let e = err("nme = \"x\"\n");
    assert!(
        e.contains("s.toml:1:1") && e.contains("did you mean `name`"),
        "{e}"
    );
}

fn opts(threads: usize, shard: Option<Shard>) -> Options {
    Options {
        threads: Some(threads),
        shard,
        progress: false,
    }
}

fn run_into(spec_path: &Path, out: &Path, o: &Options) -> mltq::sweep::Summary {
    let spec = Spec::load(spec_path, &TinyInputs.networks()).unwrap();
    sweep_run(&spec, &TinyInputs, out, o).unwrap()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn results_are_the_same_bytes_with_one_or_two_threads() {
    let (dir, spec) = setup(SWEEP);
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    let s1 = run_into(&spec, &one, &opts(1, None));
    let s2 = run_into(&spec, &two, &opts(2, None));
    assert_eq!((s1.points, s1.ran, s1.resumed), (24, 24, 0));
    assert_eq!(s2.ran, 24);
    assert_eq!(read(&one.join(RESULTS)), read(&two.join(RESULTS)));
    assert_eq!(read(&one.join(RECORD)), read(&two.join(RECORD)));

    let csv = read(&one.join(RESULTS));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "point,point_id,weights,acts,weight_density,act_density,arch,lanes,\
         network,layer,scheme,macs,cycles,speedup,work,potential_speedup,\
         utilization,busy_lane_cycles,lane_cycles,time_us,sample,kept_steps,promoted,\
         total_cycles,memory_cycles,bound,weight_bits,act_bits,dram_bits,sram_bits,\
         energy_pj,energy_compute_pj,energy_sram_pj,energy_dram_pj,energy_static_pj,\
         area_mm2,speedup_total,energy_ratio,perf_per_area"
    );
    // 24 points × (3 layers + total) × 3 schemes.
    assert_eq!(csv.lines().count(), 1 + 24 * 4 * 3);
    let first = lines.next().unwrap();
    assert!(first.starts_with("0,0-"), "{first}");
    assert!(
        first.contains(",ternary:1,ternary:1,1,0.5,a.toml,2,tiny,conv1,mlb,"),
        "{first}"
    );
    // The baseline's speedup and potential are exactly 1.
    assert!(first.contains(",1.000000,"), "{first}");
    // A second run into a finished directory simulates nothing and rewrites the same bytes.
    let s3 = run_into(&spec, &one, &opts(2, None));
    assert_eq!((s3.ran, s3.resumed), (0, 24));
    assert_eq!(read(&one.join(RESULTS)), read(&two.join(RESULTS)));
}

#[test]
fn killed_sweep_with_a_torn_journal_line_resumes_to_the_same_csv() {
    let (dir, spec) = setup(SWEEP);
    let full = dir.path().join("full");
    run_into(&spec, &full, &opts(2, None));
    let journal = read(&full.join(JOURNAL));
    let lines: Vec<&str> = journal.lines().collect();
    assert_eq!(lines.len(), 24);

    // The state a kill leaves: some points journaled (in completion order, not point
    // order), the next line half written, no results.csv.
    let killed = dir.path().join("killed");
    std::fs::create_dir_all(&killed).unwrap();
    let mut partial: String = [lines[5], lines[17], lines[0], lines[9]]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    partial.push_str(&lines[3][..lines[3].len() / 2]);
    std::fs::write(killed.join(JOURNAL), &partial).unwrap();

    let s = run_into(&spec, &killed, &opts(2, None));
    assert_eq!((s.resumed, s.ran), (4, 20));
    assert_eq!(read(&killed.join(RESULTS)), read(&full.join(RESULTS)));
    assert_eq!(read(&killed.join(RECORD)), read(&full.join(RECORD)));
    // Every point exactly once in the journal, the torn fragment gone.
    let j = read(&killed.join(JOURNAL));
    assert_eq!(j.lines().count(), 24);
    assert!(j.ends_with('\n'));
    let mut ids: Vec<String> = j
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 24);
}

#[test]
fn shards_merge_into_the_unsharded_csv_and_record() {
    let (dir, spec) = setup(SWEEP);
    let whole = dir.path().join("whole");
    run_into(&spec, &whole, &opts(2, None));
    let shard_dirs: Vec<PathBuf> = (1..=3).map(|k| dir.path().join(format!("s{k}"))).collect();
    for (k, d) in shard_dirs.iter().enumerate() {
        let s = run_into(&spec, d, &opts(1, Some(Shard { k: k + 1, n: 3 })));
        assert_eq!(s.points, 8);
        let rec: serde_json::Value = serde_json::from_str(&read(&d.join(RECORD))).unwrap();
        assert_eq!(rec["shard"]["k"], k + 1);
    }
    // Shard 2 of 3 holds points 1, 4, 7, …
    let s2 = read(&shard_dirs[1].join(RESULTS));
    let pts: Vec<&str> = s2
        .lines()
        .skip(1)
        .step_by(12)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(pts, ["1", "4", "7", "10", "13", "16", "19", "22"]);

    let merged = dir.path().join("merged");
    let m = merge(&shard_dirs, &merged).unwrap();
    assert_eq!(m.points, 24);
    assert_eq!(read(&merged.join(RESULTS)), read(&whole.join(RESULTS)));
    assert_eq!(read(&merged.join(RECORD)), read(&whole.join(RECORD)));

    // A missing shard, or one given twice, is refused with the points involved.
    let e = merge(&shard_dirs[..2], &dir.path().join("m2"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("8 of 24 points are missing: 2, 5, 8"), "{e}");
    let twice = [
        shard_dirs[0].clone(),
        shard_dirs[1].clone(),
        shard_dirs[2].clone(),
        whole.clone(),
    ];
    let e = merge(&twice, &dir.path().join("m3"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("point 0 (0-") && e.contains("shards overlap"),
        "{e}"
    );
}

#[test]
fn a_journal_from_another_sweep_is_refused() {
    let (dir, spec) = setup(SWEEP);
    let out = dir.path().join("out");
    run_into(&spec, &out, &opts(2, None));
    let other = setup(&SWEEP.replace("0.1]", "0.2]"));
    let spec2 = Spec::load(&other.1, &TinyInputs.networks()).unwrap();
    let e = sweep_run(&spec2, &TinyInputs, &out, &opts(1, None))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("journal.jsonl:") && e.contains("sweep file changed"),
        "{e}"
    );
}
