//! `Arch::parse` on arbitrary UTF-8 (docs/fuzzing.md).
//!
//! - Parsing never panics; every refusal is an arch error at `fuzz.toml:LINE:COLUMN`
//!   with a line and column inside the text.
//! - An accepted arch is consistent (baseline among the schemes, schemes valid and
//!   uniquely named, array within the documented limits) and runs the spec's example
//!   model whenever the schemes apply to it.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mltq::arch::{Arch, MAX_ARRAY_SIZE, MAX_TOTAL_LANES};
use mltq::model::{self, Network};
use mltq::run::{self, ActSource};
use mltq::ErrorKind;

fn example() -> &'static Network {
    static N: OnceLock<Network> = OnceLock::new();
    N.get_or_init(|| {
        model::parse_bytes(
            include_bytes!("../../tests/data/example.mltq"),
            "example.mltq",
        )
        .expect("the example model")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let arch = match Arch::parse(text, "fuzz.toml") {
        Ok(a) => a,
        Err(e) => {
            let msg = e.to_string();
            let ErrorKind::Arch { line, column, .. } = e.kind() else {
                panic!("an arch error names a line and column: {msg}");
            };
            let lines = text.split('\n').count();
            assert!(*line >= 1 && *line <= lines.max(1) + 1, "{msg}");
            assert!(*column >= 1, "{msg}");
            assert!(msg.starts_with("fuzz.toml:"), "{msg}");
            return;
        }
    };
    assert!(arch.baseline < arch.schemes.len());
    for (i, s) in arch.schemes.iter().enumerate() {
        s.validate().expect("accepted schemes are valid");
        assert!(
            arch.schemes[..i].iter().all(|t| t.name != s.name),
            "scheme names are unique"
        );
    }
    let a = arch.array;
    for x in [a.tiles, a.rows, a.columns, a.lanes] {
        assert!((1..=MAX_ARRAY_SIZE).contains(&x));
    }
    assert!(a.column_registers <= MAX_ARRAY_SIZE);
    assert!(a.total_lanes() <= MAX_TOTAL_LANES);
    assert!(arch.clock_ghz.is_finite() && arch.clock_ghz > 0.0);
    serde_json::to_string(&arch).expect("an arch serializes");
    let net = example();
    if run::check(net, &arch, 0).is_ok() {
        run::simulate(net, &arch, ActSource::Sample { sample: 0 }, &|| {})
            .expect("a checked run simulates");
    }
});
