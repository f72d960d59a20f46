//! One layer under each scheme family (cycles and potentials: `sim::simulate_layer`),
//! and the growth of the cost over layers of 1×, 2×, 4×, 8× the MACs.
//!
//! `cargo bench --no-default-features --bench layer`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mltq::sim::simulate_layer;

mod common;

fn per_scheme(c: &mut Criterion) {
    let arr = common::pe16();
    let int8 = common::int8_layer(common::issue_layer());
    let tern = common::ternary_layer(common::issue_layer());
    let mut g = c.benchmark_group("layer_64x64_3x3_56");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (s, is_int) in common::schemes() {
        let (layer, acts) = if is_int { &int8 } else { &tern };
        g.bench_function(&s.name, |b| {
            b.iter(|| simulate_layer(layer, acts, &s, &arr).unwrap())
        });
    }
    g.finish();
}

fn growth(c: &mut Criterion) {
    let arr = common::pe16();
    let mut g = c.benchmark_group("growth");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    // 64→64, 3×3, pad 1 on H×56 inputs: MACs are exactly proportional to H.
    for h in [28usize, 56, 112, 224] {
        let geom = common::conv3x3(64, 64, h, 56);
        let int8 = common::int8_layer(geom);
        let tern = common::ternary_layer(geom);
        g.throughput(Throughput::Elements(geom.macs()));
        for (s, is_int) in common::schemes() {
            let (layer, acts) = if is_int { &int8 } else { &tern };
            g.bench_with_input(BenchmarkId::new(&s.name, h / 28), &h, |b, _| {
                b.iter(|| simulate_layer(layer, acts, &s, &arr).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, per_scheme, growth);
criterion_main!(benches);
