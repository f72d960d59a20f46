//! Sweeping `[[scheme]]` keys (`scheme.NAME.KEY`) through the real binary: every point's
//! rows are exactly those of `simulate` with an arch file that sets the key by hand
//! (a preset's key, a custom scheme's array and cost keys), and bad settings are refused
//! with the arch file's own message, exit 2, before any point runs.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn mltq() -> Command {
    Command::cargo_bin("mltq").unwrap()
}

/// The arch of these tests: a small array, `mlb` (baseline), the preset `mltq-bit` and
/// a custom scheme `lac` (laconic), `extra` lines appended to `lac`'s table.
fn arch_text(mltq_bit: &str, extra: &str) -> String {
    format!(
        "name = \"small\"\nbaseline = \"mlb\"\nschemes = [\"mlb\", \"{mltq_bit}\", \"lac\"]\n\
         [array]\ntiles = 1\nrows = 4\ncolumns = 4\nlanes = 4\n\
         [[scheme]]\nname = \"lac\"\nbase = \"laconic\"\n{extra}"
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `simulate --csv` of resnet20 on `arch`: its lines, header first.
fn simulate(dir: &Path, arch: &Path) -> Vec<String> {
    let out = dir.join(format!(
        "{}.csv",
        arch.file_stem().unwrap().to_string_lossy()
    ));
    mltq()
        .args(["simulate", "--quiet", "--model", "resnet20", "--arch"])
        .arg(arch)
        .arg("--csv")
        .arg(&out)
        .assert()
        .success();
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Run a sweep file; its `results.csv` lines.
fn sweep(spec: &Path, out: &Path) -> Vec<String> {
    mltq()
        .arg("sweep")
        .arg(spec)
        .arg("--out")
        .arg(out)
        .args(["--threads", "2"])
        .assert()
        .success();
    std::fs::read_to_string(out.join("results.csv"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A sweep's error: (status, stderr).
fn refused(dir: &Path, spec: &str) -> String {
    let p = write(dir, "s.toml", spec);
    let out = mltq()
        .arg("sweep")
        .arg(&p)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(
        !dir.join("out/journal.jsonl").exists(),
        "no point may run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr).unwrap()
}

/// An arch file's error message without its `file:line:column: ` prefix.
fn arch_error(dir: &Path, text: &str) -> String {
    let arch = write(dir, "bad-arch.toml", text);
    let out = mltq()
        .args(["simulate", "--quiet", "--model", "resnet20", "--arch"])
        .arg(&arch)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let (_, msg) = err
        .trim_end()
        .split_once(".toml:")
        .and_then(|(_, rest)| rest.splitn(3, ':').nth(2).map(|m| ((), m.trim())))
        .unwrap_or_else(|| panic!("{err}"));
    msg.to_string()
}

#[test]
fn swept_scheme_keys_give_the_rows_of_arch_files_that_set_them_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "base.toml", &arch_text("mltq-bit", ""));
    let spec = write(
        d,
        "s.toml",
        "[fixed]\nmodel = \"resnet20\"\narch = \"base.toml\"\n\
         \"scheme.lac.lane_pj\" = 0.25\n\
         [grid]\n\"scheme.mltq-bit.min_cycles\" = [0, 1]\nscheme.lac.lanes = [2, 8]\n",
    );
    let rows = sweep(&spec, &d.join("out"));
    let header = &rows[0];
    let params = "point,point_id,model,arch,scheme.lac.lane_pj,scheme.lac.lanes,\
                  scheme.mltq-bit.min_cycles,";
    assert!(header.starts_with(params), "{header}");
    let nparams = params.matches(',').count();

    // The same settings written into arch files: mltq-bit's min_cycles in a table of
    // its own (it cannot keep a preset's name there), lac's lanes and lane_pj in its.
    let mut by_hand = Vec::new();
    for lanes in [2, 8] {
        for min_cycles in [0, 1] {
            let extra = format!("lane_pj = 0.25\n[scheme.array]\nlanes = {lanes}\n");
            let text = arch_text("mltq-bit-m", &extra).replace(
                "[[scheme]]\nname = \"lac\"",
                &format!(
                    "[[scheme]]\nname = \"mltq-bit-m\"\nbase = \"mltq-bit\"\nmin_cycles = \
                     {min_cycles}\n[[scheme]]\nname = \"lac\""
                ),
            );
            let arch = write(d, &format!("hand-{min_cycles}-{lanes}.toml"), &text);
            by_hand.push((min_cycles, lanes, simulate(d, &arch)));
        }
    }
    // Points: lac.lanes outer (its key sorts first), mltq-bit.min_cycles fastest.
    let per_point = (rows.len() - 1) / 4;
    assert_eq!(per_point, by_hand[0].2.len() - 1);
    for (k, (min_cycles, lanes, want)) in by_hand.iter().enumerate() {
        let got = &rows[1 + k * per_point..1 + (k + 1) * per_point];
        for (g, w) in got.iter().zip(&want[1..]) {
            let cells: Vec<&str> = g.split(',').collect();
            assert_eq!(cells[0], k.to_string());
            assert_eq!(
                &cells[4..nparams],
                &["0.25", &lanes.to_string(), &min_cycles.to_string()]
            );
            let got_row = cells[nparams..].join(",");
            assert_eq!(
                got_row,
                w.replace(",mltq-bit-m,", ",mltq-bit,"),
                "point {k}"
            );
        }
    }
    // The settings change what they should: min_cycles = 0 speeds mltq-bit up, lac's
    // lanes change its cycles, its lane_pj its energy.
    let total = |rows: &[String], scheme: &str, col: &str| -> f64 {
        let col = rows[0].split(',').position(|c| c == col).unwrap();
        rows.iter()
            .find(|l| l.starts_with(&format!("resnet20,total,{scheme},")))
            .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
            .unwrap()
    };
    let cycles = "cycles";
    let (m0, m1) = (&by_hand[0].2, &by_hand[1].2);
    assert!(total(m0, "mltq-bit-m", cycles) < total(m1, "mltq-bit-m", cycles));
    assert_ne!(
        total(&by_hand[0].2, "lac", cycles),
        total(&by_hand[2].2, "lac", cycles)
    );
    let no_pj = arch_text("mltq-bit", "[scheme.array]\nlanes = 2\n");
    let no_pj = simulate(d, &write(d, "no-pj.toml", &no_pj));
    let energy = "energy_pj";
    assert_eq!(total(&no_pj, "lac", cycles), total(m1, "lac", cycles));
    assert_ne!(total(&no_pj, "lac", energy), total(m1, "lac", energy));

    // The record and the journal carry the parameters; a figure can use them as x.
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/sweep.json")).unwrap()).unwrap();
    assert_eq!(
        record["fixed"]["scheme.lac.lane_pj"],
        serde_json::json!(0.25)
    );
    assert_eq!(
        record["axes"][1]["params"],
        serde_json::json!(["scheme.mltq-bit.min_cycles"])
    );
    let journal = std::fs::read_to_string(d.join("out/journal.jsonl")).unwrap();
    assert!(journal.contains(r#"["scheme.mltq-bit.min_cycles","0"]"#));
    let svg = d.join("min-cycles.svg");
    mltq()
        .args(["plot", "sweep", "--from"])
        .arg(d.join("out/results.csv"))
        .args([
            "--x",
            "scheme.mltq-bit.min_cycles",
            "--panel",
            "scheme.lac.lanes",
        ])
        .arg("--out")
        .arg(&svg)
        .assert()
        .success();
    let drawn = std::fs::read_to_string(d.join("min-cycles.svg.csv"))
        .or_else(|_| std::fs::read_to_string(d.join("min-cycles.csv")))
        .unwrap();
    assert!(drawn
        .lines()
        .next()
        .unwrap()
        .contains("scheme.mltq-bit.min_cycles"));
}

#[test]
fn bad_scheme_settings_are_refused_like_the_same_keys_in_an_arch_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "base.toml", &arch_text("mltq-bit", ""));
    let head = "[fixed]\nmodel = \"resnet20\"\narch = \"base.toml\"\n[grid]\n";

    // A scheme the arch does not list, with the closest and every listed one.
    let e = refused(
        d,
        &format!("{head}\"scheme.mltq-bits.min_cycles\" = [0, 1]\n"),
    );
    assert!(e.contains("s.toml:5:1: "), "{e}");
    assert!(
        e.contains("has no scheme `mltq-bits` (did you mean `mltq-bit`?)"),
        "{e}"
    );
    assert!(e.contains("its schemes: mlb, mltq-bit, lac"), "{e}");
    // The dotted form is located at the scheme's name.
    let e = refused(d, &format!("{head}scheme.lak.sync = [\"step\"]\n"));
    assert!(e.contains("s.toml:5:8: "), "{e}");
    assert!(e.contains("(did you mean `lac`?)"), "{e}");

    // A key a [[scheme]] does not have.
    let e = refused(d, &format!("{head}scheme.lac.min_cycle = [0, 1]\n"));
    assert!(e.contains("s.toml:5:12: "), "{e}");
    assert!(
        e.contains("unknown key `min_cycle` of a [[scheme]] (did you mean `min_cycles`?)"),
        "{e}"
    );
    let e = refused(d, &format!("{head}scheme.lac.base = [\"mlb\"]\n"));
    assert!(e.contains("cannot be swept"), "{e}");
    let e = refused(d, &format!("{head}[fixed.scheme.lac.array]\nlanes = 2\n"));
    assert!(e.contains("set directly, as `scheme.lac.lanes`"), "{e}");
    // A [[scheme]] key outside scheme.NAME.
    let e = refused(d, &format!("{head}min_cycles = [0, 1]\n"));
    assert!(e.contains("`scheme.NAME.min_cycles`"), "{e}");

    // Out of range, wrong type, bad spelling: the arch file's message, at the value.
    let lac = |line: &str| arch_error(d, &arch_text("mltq-bit", &format!("{line}\n")));
    let e = refused(d, &format!("{head}scheme.lac.min_cycles = [0, 2]\n"));
    let want = lac("min_cycles = 2");
    assert_eq!(
        want,
        "`min_cycles` in [[scheme]] `lac` must be 0 or 1, found 2"
    );
    assert_eq!(
        e.trim_end(),
        format!("error: {}:5:29: {want}", d.join("s.toml").display())
    );
    let e = refused(d, &format!("{head}scheme.lac.min_cycles = [\"1\"]\n"));
    let want = lac("min_cycles = \"1\"");
    assert_eq!(
        want,
        "`min_cycles` in [[scheme]] `lac`: expected an integer, found a string (\"1\")"
    );
    assert!(
        e.trim_end().ends_with(&format!("s.toml:5:26: {want}")),
        "{e}"
    );
    let e = refused(d, &format!("{head}scheme.lac.sync = [\"windows\"]\n"));
    let want = lac("sync = \"windows\"");
    assert!(
        e.trim_end().ends_with(&format!("s.toml:5:20: {want}")),
        "{e}"
    );
    assert!(want.contains("(did you mean `window`?)"), "{want}");
    let e = refused(d, &format!("{head}scheme.lac.lane_pj = [1, -0.5]\n"));
    let want = lac("lane_pj = -0.5");
    assert!(
        e.trim_end().ends_with(&format!("s.toml:5:26: {want}")),
        "{e}"
    );
    let e = refused(d, &format!("{head}scheme.lac.lanes = [0]\n"));
    let want = lac("[scheme.array]\nlanes = 0");
    assert!(
        e.trim_end().ends_with(&format!("s.toml:5:21: {want}")),
        "{e}"
    );
    // A single value where a list belongs.
    let e = refused(d, &format!("{head}scheme.lac.lanes = 4\n"));
    assert!(
        e.contains("s.toml:5:20: [grid] `scheme.lac.lanes` must be a list"),
        "{e}"
    );

    // A rule across keys, broken by a combination: named with the points' parameters.
    let e = refused(
        d,
        &format!("{head}\"scheme.mltq-bit.first_stage_bits\" = [4]\n"),
    );
    assert!(
        e.contains("s.toml: the points with arch=base.toml scheme.mltq-bit.first_stage_bits=4: "),
        "{e}"
    );
    assert!(
        e.contains("first_stage_bits needs exactly one serial operand"),
        "{e}"
    );
    // One key alone fine, two together not: sync = window with first_stage_bits.
    let spec = String::from(
        "[fixed]\nmodel = \"resnet20\"\narch = \"base.toml\"\nscheme.lac.serial = \"act\"\n\
         scheme.lac.skip_weight = \"none\"\nscheme.lac.first_stage_bits = 2\n\
         [grid]\nscheme.lac.sync = [\"step\", \"window\"]\n",
    );
    let e = refused(d, &spec);
    assert!(e.contains("the points with arch=base.toml"), "{e}");
    assert!(e.contains("scheme.lac.sync=window"), "{e}");
    assert!(e.contains("first_stage_bits needs sync = \"step\""), "{e}");
    // The same key twice, in two spellings.
    let e = refused(
        d,
        &format!("{head}scheme.lac.lanes = [2]\n[[zip]]\n\"scheme.lac.lanes\" = [2]\nrows = [1]\n"),
    );
    assert!(
        e.contains("`scheme.lac.lanes` is already set in [grid] (line 5)"),
        "{e}"
    );
}
