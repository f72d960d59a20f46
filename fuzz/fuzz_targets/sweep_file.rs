//! Sweep files on arbitrary UTF-8 (docs/fuzzing.md).
//!
//! - Parsing never panics; every refusal is a sweep error at `DIR/fuzz.toml:LINE:COLUMN`
//!   with a line and column inside the text, or names the file.
//! - An accepted sweep has 1 ..= `MAX_POINTS` points; points computed from their index
//!   are numbered in order with distinct ids; array overrides are within the arch
//!   file's limits.
//! - A sweep of up to 256 points is prepared with the tool's own inputs (the example
//!   arch and model next to it): every point's arch is checked, and a refusal is an
//!   error, never a panic.

#![no_main]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mltq::arch::MAX_ARRAY_SIZE;
use mltq::sweep::spec::MAX_POINTS;
use mltq::sweep::{exec, Spec, Tool};
use mltq::ErrorKind;

/// A directory with `a.toml` (the example arch) and `m.mltq` (the example model).
fn dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let d = tempfile::tempdir().expect("a temporary directory").keep();
        std::fs::write(
            d.join("a.toml"),
            include_str!("../../tests/data/example.toml"),
        )
        .expect("write a.toml");
        std::fs::write(
            d.join("m.mltq"),
            include_bytes!("../../tests/data/example.mltq"),
        )
        .expect("write m.mltq");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = dir().join("fuzz.toml");
    let shown = path.display().to_string();
    let networks = ["resnet20", "tiny"];
    let spec = match Spec::parse(text, &path, &networks) {
        Ok(s) => s,
        Err(e) => {
            let msg = e.to_string();
            if let ErrorKind::Sweep { line, column, .. } = e.kind() {
                let lines = text.split('\n').count();
                assert!(*line >= 1 && *line <= lines.max(1) + 1, "{msg}");
                assert!(*column >= 1, "{msg}");
            }
            assert!(
                msg.starts_with(&shown),
                "a sweep error names the file: {msg}"
            );
            return;
        }
    };
    let n = spec.len();
    assert!((1..=MAX_POINTS).contains(&n), "{n} points");
    let mut ids = HashSet::new();
    let visited: HashSet<usize> = (0..n.min(64)).chain(n.saturating_sub(8)..n).collect();
    for &i in &visited {
        let p = spec.point(i);
        assert_eq!(p.index, i);
        assert!(p.id.starts_with(&format!("{i}-")));
        ids.insert(p.id.clone());
        for (q, v) in &p.values {
            if q.is_array() {
                let x = v.as_int().expect("array overrides are integers");
                assert!(x <= MAX_ARRAY_SIZE as u64, "{q} = {x}");
            }
        }
    }
    assert_eq!(
        ids.len(),
        visited.len(),
        "distinct points have distinct ids"
    );
    if n <= 256 {
        // Built-in networks are not generated here: only setup runs.
        let _ = exec::prepare(&spec, &Tool::new());
    }
});
