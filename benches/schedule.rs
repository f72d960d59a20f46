//! Weight scheduling (docs/weight-scheduling.md): resnet50 (gen's default values) on
//! Bit-Tactical's three scheduled schemes — `bittactical`, `bittactical-e` and `mltq-bit`
//! behind T(2,5) — against the same three without schedules (`dadiannao`, `pragmatic`,
//! `mltq-bit`), on pe16's 16 × 16 × 16 × 16 array: as `mltq simulate` runs them from a
//! `.mltq` file (`mltq gen resnet50` written once): the `mltq simulate` command itself
//! (a process per run) and, in this process, the file read and simulated; as `mltq
//! simulate --model resnet50` runs them (generation included); and the simulation alone.
//! Also the scheduler alone on resnet50's largest layers.
//!
//! `cargo bench --no-default-features --bench schedule`

use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use mltq::arch::Arch;
use mltq::gen::{self, GenSpec};
use mltq::model::Geometry;
use mltq::run::{self, ActSource};
use mltq::scheme::WeightSchedule;
use mltq::sim::operand::{weight_layout, Bricks};
use mltq::sim::schedule::{Pattern, Schedule};

const ARRAY: &str = "[array]\ntiles = 16\nrows = 16\ncolumns = 16\nlanes = 16\n";

/// The arch file of the three schemes without schedules.
fn plain_toml() -> String {
    format!(
        "name = \"plain\"\nbaseline = \"dadiannao\"\n\
         schemes = [\"dadiannao\", \"pragmatic\", \"mltq-bit\"]\n{ARRAY}"
    )
}

/// The arch file of the same three behind T(2,5).
fn scheduled_toml() -> String {
    format!(
        "name = \"scheduled\"\nbaseline = \"bittactical\"\n\
         schemes = [\"bittactical\", \"bittactical-e\", \"mltq-bit-t25\"]\n{ARRAY}\n\
         [[scheme]]\nname = \"mltq-bit-t25\"\nbase = \"mltq-bit\"\n\
         weight_schedule = {{ shape = \"T\", lookahead = 2, lookaside = 5 }}\n"
    )
}

fn network(c: &mut Criterion) {
    let net = gen::generate("resnet50", &GenSpec::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("resnet50.mltq");
    mltq::model::write::save(&net, &file).unwrap();
    let file = file.to_str().unwrap().to_string();
    let mut g = c.benchmark_group("resnet50_schedules");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(8));
    for (name, toml) in [("plain", plain_toml()), ("scheduled", scheduled_toml())] {
        let arch = Arch::parse(&toml, &format!("{name}.toml")).unwrap();
        // The whole command, a process of its own: `mltq simulate --arch … --model …`.
        let arch_file = dir.path().join(format!("{name}.toml"));
        std::fs::write(&arch_file, &toml).unwrap();
        g.bench_function(format!("cli_file_run_{name}"), |b| {
            b.iter(|| {
                let status = Command::new(env!("CARGO_BIN_EXE_mltq"))
                    .arg("simulate")
                    .arg("--arch")
                    .arg(&arch_file)
                    .arg("--model")
                    .arg(&file)
                    .stdout(Stdio::null())
                    .status()
                    .unwrap();
                assert!(status.success());
            })
        });
        g.bench_function(format!("load_file_and_simulate_{name}"), |b| {
            b.iter(|| {
                let (net, _) = mltq::cli::load_model_with(&file, false).unwrap();
                run::simulate(&net, &arch, ActSource::Sample { sample: 0 }, &|| {}).unwrap()
            })
        });
        g.bench_function(format!("simulate_{name}"), |b| {
            b.iter(|| run::simulate(&net, &arch, ActSource::Sample { sample: 0 }, &|| {}).unwrap())
        });
        g.bench_function(format!("load_builtin_and_simulate_{name}"), |b| {
            b.iter(|| {
                let (net, _) = mltq::cli::load_model("resnet50").unwrap();
                run::simulate(&net, &arch, ActSource::Sample { sample: 0 }, &|| {}).unwrap()
            })
        });
    }
    g.finish();
}

fn scheduler(c: &mut Criterion) {
    let net = gen::generate("resnet50", &GenSpec::default()).unwrap();
    let mut g = c.benchmark_group("scheduler_t25");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3));
    for name in ["layer4.2.conv2", "fc"] {
        let l = net.layers.iter().find(|l| l.name == name).unwrap();
        let b = match l.geom {
            Geometry::Conv(c) => Bricks::conv(&c, 16),
            Geometry::Fc { c, .. } => Bricks::fc(c, 16),
        };
        let f = l.weights.shape()[0];
        let terms = l
            .weights
            .all_terms(mltq::encoding::TermEncoding::Plain, None);
        let layout = weight_layout(&b, 0, f, 0u8, |i| terms[i]);
        let pat = Pattern::new(&WeightSchedule::T25, 16, b.steps);
        g.bench_function(name, |bn| {
            bn.iter(|| Schedule::new(&layout, f, b.steps, 16, &pat))
        });
    }
    g.finish();
}

criterion_group!(benches, network, scheduler);
criterion_main!(benches);
