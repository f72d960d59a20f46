//! Decoding a `.mltq` file: resnet50 with gen's default values (ternary:2 weights and
//! one sample of ternary:2 activations), from memory and from a file in the page
//! cache, next to the memory speed it is measured against: copying the same bytes into
//! freshly allocated words (what any decoder must at least do).
//!
//! `cargo bench --no-default-features --bench parse`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mltq::gen::{self, GenSpec};
use mltq::model;

fn parse(c: &mut Criterion) {
    let net = gen::generate("resnet50", &GenSpec::default()).unwrap();
    let bytes = model::to_bytes(&net);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resnet50.mltq");
    std::fs::write(&path, &bytes).unwrap();
    let mut g = c.benchmark_group("parse");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("resnet50", |b| {
        b.iter(|| model::parse_bytes(&bytes, "resnet50.mltq").unwrap())
    });
    g.bench_function("resnet50_file", |b| b.iter(|| model::load(&path).unwrap()));
    g.bench_function("memory_speed", |b| {
        b.iter(|| {
            let mut words = vec![0u64; bytes.len() / 8];
            for (w, c) in words.iter_mut().zip(bytes.chunks_exact(8)) {
                *w = u64::from_le_bytes(c.try_into().unwrap());
            }
            words
        })
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
