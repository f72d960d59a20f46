//! What the cost model adds to a run: resnet50 (gen's default values) with six schemes
//! on an arch whose buffers are too small for most layers (so activations are streamed
//! and their receptive fields summed) and where one scheme has its own array, simulated
//! with the cost columns (`run::simulate`, as `mltq simulate` does) and without them
//! (every layer's cycle model alone, in parallel the same way).
//!
//! `cargo bench --no-default-features --bench cost`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use mltq::arch::Arch;
use mltq::gen::{self, GenSpec};
use mltq::run::{self, ActSource};
use rayon::prelude::*;

/// pe16's six schemes, `mltq-bit` on an array of its own (8 lanes, 32 columns: the
/// same multipliers), 256 KiB buffers.
pub const ARCH: &str = r#"
name = "pe16-streaming"
baseline = "mlb"
schemes = ["mlb", "mltq-word", "mltq-bit-8l", "cnvlutin", "pragmatic", "laconic"]
[array]
tiles = 16
rows = 16
columns = 16
lanes = 16
[[scheme]]
name = "mltq-bit-8l"
base = "mltq-bit"
[scheme.array]
lanes = 8
columns = 32
[memory]
act_buffer_kib = 256
weight_buffer_kib = 256
"#;

fn cost(c: &mut Criterion) {
    let arch = Arch::parse(ARCH, "pe16-streaming.toml").unwrap();
    let net = gen::generate("resnet50", &GenSpec::default()).unwrap();
    let mut g = c.benchmark_group("resnet50_cost");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(8));
    g.bench_function("cycles_only", |b| {
        b.iter(|| {
            net.layers
                .par_iter()
                .map(|l| run::simulate_layer(l, &l.acts[&0], &arch).unwrap())
                .collect::<Vec<_>>()
        })
    });
    g.bench_function("with_costs", |b| {
        b.iter(|| run::simulate(&net, &arch, ActSource::Sample { sample: 0 }, &|| {}).unwrap())
    });
    g.finish();
}

criterion_group!(benches, cost);
criterion_main!(benches);
