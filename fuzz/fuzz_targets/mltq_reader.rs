//! The `.mltq` reader on arbitrary bytes (docs/fuzzing.md).
//!
//! - Parsing never panics; a refusal is a header error (`PATH:LINE: …`) or a payload
//!   error (`PATH: payload bytes A..B: …`).
//! - A model that loads is written back with `to_bytes` and read again: the same
//!   network, and writing is deterministic.
//! - A small model (bounded work) is simulated with every preset on a tiny array, for
//!   every sample it has; the fast engine must agree with the literal reference on
//!   tiny ones, and the CSV and JSON exporters must accept the results.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mltq::arch::Arch;
use mltq::model::{self, Network};
use mltq::report::{self, json::ModelMeta};
use mltq::run::{self, ActSource};
use mltq::sim::{reference, simulate_layer};
use mltq::ErrorKind;

/// Simulate models with at most this many MACs.
const MAX_SIM_MACS: u64 = 100_000;
/// Compare with the reference for models with at most this many MACs.
const MAX_REFERENCE_MACS: u64 = 10_000;

/// Every preset on a tiny array, plus custom schemes that need int operands.
fn arches() -> &'static [Arch] {
    static A: OnceLock<Vec<Arch>> = OnceLock::new();
    A.get_or_init(|| {
        let presets = "name = \"tiny\"\nbaseline = \"mlb\"\n\
            schemes = [\"mlb\", \"mltq-word\", \"mltq-bit\", \"dadiannao\", \"stripes\", \
            \"cnvlutin\", \"pragmatic\", \"laconic\"]\n\
            [array]\ntiles = 2\nrows = 2\ncolumns = 3\nlanes = 4\ncolumn_registers = 1\n";
        let custom = "name = \"custom\"\nbaseline = \"dadiannao\"\n\
            schemes = [\"dadiannao\", \"prag-b1\", \"booth-w\", \"naf-both\", \"wide\"]\n\
            [array]\ntiles = 1\nrows = 3\ncolumns = 2\nlanes = 5\n\
            [[scheme]]\nname = \"prag-b1\"\nserial = \"act\"\nskip_act = \"term\"\nfirst_stage_bits = 1\n\
            [[scheme]]\nname = \"booth-w\"\nserial = \"weight\"\nskip_weight = \"term\"\nterm_encoding = \"booth\"\nfirst_stage_bits = 2\n\
            [[scheme]]\nname = \"naf-both\"\nserial = \"both\"\nskip_act = \"term\"\nskip_weight = \"word\"\nterm_encoding = \"naf\"\nmin_cycles = 0\n\
            [[scheme]]\nname = \"wide\"\nserial = \"both\"\nsync = \"window\"\nskip_act = \"word\"\nplanes_act = 9\nplanes_weight = 3\n";
        [presets, custom]
            .iter()
            .map(|t| Arch::parse(t, "fuzz.toml").expect("the fuzz arch files are valid"))
            .collect()
    })
}

fn simulate(net: &Network) {
    let meta = ModelMeta {
        path: "fuzz.mltq".into(),
        sha256: String::new(),
        source: net.source.clone(),
    };
    for arch in arches() {
        for sample in net.samples().into_iter().take(2) {
            // Refusals (a layer without this sample, a scheme that needs int operands)
            // are fine; a run that passed the checks must succeed.
            if run::check(net, arch, sample).is_err() {
                continue;
            }
            let r = run::simulate(net, arch, ActSource::Sample { sample }, &|| {})
                .expect("a checked run simulates");
            let rows = report::rows(&r);
            let mut out = Vec::new();
            report::csv::write(&mut out, &rows, true).expect("csv");
            report::json::write(
                &mut out,
                std::slice::from_ref(&r),
                &[rows],
                arch,
                "fuzz.toml",
                &meta,
            )
            .expect("json");
            if net.macs() <= MAX_REFERENCE_MACS {
                for (l, layer) in net.layers.iter().enumerate() {
                    for (s, scheme) in arch.schemes.iter().enumerate() {
                        let acts = &layer.acts[&sample];
                        let fast = simulate_layer(layer, acts, scheme, &arch.array).unwrap();
                        assert_eq!(fast, r.runs[l][s]);
                        let slow = reference::simulate_layer(layer, acts, scheme, &arch.array);
                        assert_eq!(
                            fast, slow,
                            "engine vs reference: layer {l} scheme {}",
                            scheme.name
                        );
                    }
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let net = match model::parse_bytes(data, "fuzz.mltq") {
        Ok(net) => net,
        Err(e) => {
            let msg = e.to_string();
            match e.kind() {
                ErrorKind::Header { line, .. } => assert!(*line >= 1, "{msg}"),
                ErrorKind::Payload { start, end, .. } => assert!(start <= end, "{msg}"),
                other => panic!("a reader error names a header line or a byte range: {other:?}"),
            }
            assert!(msg.starts_with("fuzz.mltq"), "{msg}");
            return;
        }
    };
    model::write::check(&net).expect("a model that was read can be written");
    let bytes = model::to_bytes(&net);
    let again = model::parse_bytes(&bytes, "rewritten.mltq")
        .unwrap_or_else(|e| panic!("a written model reads back: {e}"));
    assert_eq!(again, net, "read → write → read is the identity");
    assert_eq!(model::to_bytes(&again), bytes, "writing is deterministic");
    if net.macs() <= MAX_SIM_MACS {
        simulate(&net);
    }
});
