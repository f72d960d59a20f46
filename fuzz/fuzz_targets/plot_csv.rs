//! CSVs given to `mltq plot`, as arbitrary bytes (docs/fuzzing.md).
//!
//! - Reading never panics; a refusal is an error naming the file.
//! - Every figure kind (layers, totals, gap, util, energy, memory, sweep) is drawn (SVG) from an accepted table, with and without a
//!   `--filter`; a refusal is an error, never a panic, and a figure that is drawn comes
//!   with its data CSV, both written together.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mltq::plot::{self, CurveOptions, Decor, Filter, Table, YSel};

fn dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| tempfile::tempdir().expect("a temporary directory").keep())
}

fuzz_target!(|data: &[u8]| {
    let input = dir().join("in.csv");
    std::fs::write(&input, data).expect("write the input");
    let t = match Table::read(&input) {
        Ok(t) => t,
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains(&input.display().to_string()), "{msg}");
            return;
        }
    };
    assert!(!t.rows.is_empty());
    assert!(t.rows.iter().all(|r| r.len() == t.columns.len()));
    let out = dir().join("fig.svg");
    let data_csv = plot::data_path(&out);
    let mut tables = vec![t.clone()];
    if let Some(c) = t.columns.first() {
        // A blank column name makes no filter (`--filter` refuses it too).
        let f: Option<Filter> = format!("{c}={}", t.rows[0][0]).parse().ok();
        if let Some(f) = f.and_then(|f| t.filter(&[f]).ok()) {
            tables.push(f);
        }
    }
    for t in &tables {
        for k in 0..7 {
            let _ = std::fs::remove_file(&out);
            let _ = std::fs::remove_file(&data_csv);
            let d = Decor::default();
            let r = match k {
                0 => plot::layers_from(t, None, &Decor::titled("fuzz"), &out, Some(&input)),
                1 => plot::totals(t, None, &d, &out, Some(&input)),
                2 => plot::gap(t, None, &d, &out, Some(&input)),
                3 => plot::utilization(t, &d, &out, Some(&input)),
                4 => plot::energy(t, &d, &out, Some(&input)),
                5 => plot::memory(t, &d, &out, Some(&input)),
                _ => {
                    let opts = CurveOptions {
                        x: t.columns.get(4).cloned().unwrap_or_default(),
                        y: YSel::Both,
                        hlines: vec![1.0],
                        ..CurveOptions::default()
                    };
                    plot::curves(t, &opts, &d, &out, Some(&input))
                }
            };
            if r.is_ok() {
                assert!(
                    out.is_file() && data_csv.is_file(),
                    "figure and data together"
                );
            } else {
                assert!(!out.exists() && !data_csv.exists(), "neither on a refusal");
            }
        }
    }
});
