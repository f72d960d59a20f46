//! Decoding a `.mltq` file held in memory: resnet50 with gen's default values
//! (ternary:2 weights and one sample of ternary:2 activations).
//!
//! `cargo bench --no-default-features --bench parse`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mltq::gen::{self, GenSpec};
use mltq::model;

fn parse(c: &mut Criterion) {
    let net = gen::generate("resnet50", &GenSpec::default()).unwrap();
    let bytes = model::to_bytes(&net);
    let mut g = c.benchmark_group("parse");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("resnet50", |b| {
        b.iter(|| model::parse_bytes(&bytes, "resnet50.mltq").unwrap())
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
