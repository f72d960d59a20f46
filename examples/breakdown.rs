//! Where the time of `mltq simulate --arch arch/pe16.toml --model resnet50` goes: each
//! phase timed alone, the simulation on one thread layer by layer, then each scheme of
//! the arch alone.
//!
//! `cargo run --release --no-default-features --example breakdown [network] [arch]`
//! (`MLTQ_FILE=net.mltq`: load that file and simulate it, as `mltq simulate` does, the
//! load first;
//! `MLTQ_PER_SCHEME=1`: each scheme alone too)
//!
//! For instruction counts of the simulation alone (every layer, every scheme, on the
//! main thread):
//! `valgrind --tool=callgrind --toggle-collect=breakdown::simulate_serial
//!  target/release/examples/breakdown`
//! and of the cost model alone (footprints, traffic, energy of every layer and scheme,
//! from the simulation's counts): `--toggle-collect=breakdown::costs_serial`.

use std::path::Path;
use std::time::Instant;

use mltq::arch::Arch;
use mltq::cost;
use mltq::gen::{self, GenSpec};
use mltq::model::{self, Network};
use mltq::run::{self, ActSource};
use mltq::sim::{simulate_layer, LayerRun};

fn main() {
    // As `mltq` does.
    mltq::budget::keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map(String::as_str).unwrap_or("resnet50");
    let arch = args.get(2).map(String::as_str).unwrap_or("arch/pe16.toml");
    let arch = Arch::load(Path::new(arch)).unwrap();
    if let Some(file) = std::env::var_os("MLTQ_FILE") {
        // As `mltq simulate --model FILE` runs: the load is the process's first.
        let (t, f) = (Instant::now(), faults());
        let net = model::load(Path::new(&file)).unwrap();
        eprintln!(
            "load (file, first)    {:>8.1} ms ({} page faults)",
            ms(t),
            faults() - f
        );
        let (t, f) = (Instant::now(), faults());
        run::simulate(&net, &arch, ActSource::Sample { sample: 0 }, &|| {}).unwrap();
        eprintln!(
            "simulate (rayon)      {:>8.1} ms ({} page faults)",
            ms(t),
            faults() - f
        );
        let (t, f) = (Instant::now(), faults());
        let runs = simulate_serial(&net, &arch);
        eprintln!(
            "simulate (one thread) {:>8.1} ms ({} page faults)",
            ms(t),
            faults() - f
        );
        let t = Instant::now();
        costs_serial(&net, &arch, &runs);
        eprintln!("  of which costs      {:>8.1} ms (one thread)", ms(t));
        // Memory speed: the file's bytes read again (into memory the process has
        // already touched, so without page faults).
        let t = Instant::now();
        let raw = std::hint::black_box(std::fs::read(&file).unwrap());
        eprintln!(
            "fs::read (file, again) {:>7.1} ms ({} MB)",
            ms(t),
            raw.len() / 1_000_000
        );
        return;
    }
    let t = Instant::now();
    let net = gen::generate(name, &GenSpec::default()).unwrap();
    eprintln!("generate              {:>8.1} ms", ms(t));
    let t = Instant::now();
    let bytes = model::to_bytes(&net);
    eprintln!(
        "to_bytes              {:>8.1} ms ({} MB)",
        ms(t),
        bytes.len() / 1_000_000
    );
    // The first decode of a process also pays for fresh pages; later ones reuse them.
    for run in ["first", "again"] {
        let t = Instant::now();
        let parsed = model::parse_bytes(&bytes, name).unwrap();
        eprintln!("parse_bytes ({run})   {:>8.1} ms", ms(t));
        drop(parsed);
    }
    let t = Instant::now();
    run::simulate(&net, &arch, ActSource::Sample { sample: 0 }, &|| {}).unwrap();
    eprintln!("simulate (rayon)      {:>8.1} ms", ms(t));
    let t = Instant::now();
    let runs = simulate_serial(&net, &arch);
    eprintln!("cycles (one thread)   {:>8.1} ms", ms(t));
    let t = Instant::now();
    costs_serial(&net, &arch, &runs);
    eprintln!("costs (one thread)    {:>8.1} ms", ms(t));
    if std::env::var_os("MLTQ_PER_SCHEME").is_some() {
        for s in &arch.schemes {
            let t = Instant::now();
            for l in &net.layers {
                simulate_layer(l, &l.acts[&0], s, &arch.array).unwrap();
            }
            eprintln!("  {:<18}  {:>8.1} ms (alone)", s.name, ms(t));
        }
    }
}

/// Every layer under every scheme (each on its array), on this thread: the cycle model.
#[inline(never)]
fn simulate_serial(net: &Network, arch: &Arch) -> Vec<Vec<LayerRun>> {
    net.layers
        .iter()
        .map(|l| std::hint::black_box(run::simulate_layer(l, &l.acts[&0], arch).unwrap()))
        .collect()
}

/// The cost model of every layer and scheme from the cycle model's `runs`, on this
/// thread.
#[inline(never)]
fn costs_serial(net: &Network, arch: &Arch, runs: &[Vec<LayerRun>]) {
    for (l, r) in net.layers.iter().zip(runs) {
        let stats = cost::LayerStats::new(l, &l.acts[&0]);
        std::hint::black_box(cost::layer_costs(&stats, arch, r));
    }
}

/// Minor page faults of this process so far (Linux; 0 elsewhere).
fn faults() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command's closing parenthesis; minflt is field 10.
            let rest = &s[s.rfind(')')? + 2..];
            rest.split(' ').nth(7)?.parse().ok()
        })
        .unwrap_or(0)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}
