//! A whole network: resnet50 (gen's default values) on every scheme of arch/pe16.toml,
//! as `mltq simulate --arch arch/pe16.toml --model resnet50` runs it: generation, then
//! every (layer, scheme) pair. Also each part alone.
//!
//! `cargo bench --no-default-features --bench network`

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use mltq::arch::Arch;
use mltq::gen::{self, GenSpec};
use mltq::run::{self, ActSource};

fn network(c: &mut Criterion) {
    let arch = Arch::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/arch/pe16.toml"
    )))
    .unwrap();
    let net = gen::generate("resnet50", &GenSpec::default()).unwrap();
    let mut g = c.benchmark_group("resnet50_pe16");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("generate", |b| {
        b.iter(|| gen::generate("resnet50", &GenSpec::default()).unwrap())
    });
    g.bench_function("simulate", |b| {
        b.iter(|| run::simulate(&net, &arch, ActSource::Sample { sample: 0 }, &|| {}).unwrap())
    });
    g.bench_function("load_builtin_and_simulate", |b| {
        b.iter(|| {
            let (net, _) = mltq::cli::load_model("resnet50").unwrap();
            run::simulate(&net, &arch, ActSource::Sample { sample: 0 }, &|| {}).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, network);
criterion_main!(benches);
