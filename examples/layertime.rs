//! Per-layer simulation time of one scheme, to find the layers where a scheme's time
//! goes: each layer simulated alone, best of N runs.
//!
//! `cargo run --release --no-default-features --example layertime [scheme] [network] [arch]`
//! (defaults `mltq-word resnet50 arch/pe16.toml`; scheme `all`: every scheme of the arch
//! together, as `mltq simulate` runs a layer; `N=200`: runs per layer, 5 unless
//! told; `L=layer2.1.conv2`: that layer only, e.g. under `perf record`;
//! `MLTQ_FILE=net.mltq`: that file's network instead of a generated one)

use std::path::Path;
use std::time::Instant;

use mltq::arch::Arch;
use mltq::gen::{self, GenSpec};
use mltq::model::{self, Geometry};
use mltq::scheme::Scheme;
use mltq::sim::simulate_schemes;

fn main() {
    // As `mltq` does: freed memory is reused, not returned and faulted in again.
    mltq::budget::keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    let scheme = args.get(1).map(String::as_str).unwrap_or("mltq-word");
    let name = args.get(2).map(String::as_str).unwrap_or("resnet50");
    let arch = args.get(3).map(String::as_str).unwrap_or("arch/pe16.toml");
    let arch = Arch::load(Path::new(arch)).unwrap();
    // `all`: every scheme of the arch at once, as `mltq simulate` runs a layer.
    let schemes: Vec<Scheme> = match scheme {
        "all" => arch.schemes.clone(),
        _ => vec![arch
            .schemes
            .iter()
            .find(|s| s.name == scheme)
            .unwrap_or_else(|| panic!("no scheme {scheme} in the arch"))
            .clone()],
    };
    let net = match std::env::var_os("MLTQ_FILE") {
        Some(file) => model::load(Path::new(&file)).unwrap(),
        None => gen::generate(name, &GenSpec::default()).unwrap(),
    };
    let runs: usize = std::env::var("N").map_or(5, |n| n.parse().expect("N: a count"));
    let only = std::env::var("L").ok();
    let mut total = 0.0;
    for l in &net.layers {
        if only.as_ref().is_some_and(|o| *o != l.name) {
            continue;
        }
        let mut best = f64::MAX;
        for _ in 0..runs {
            let t = Instant::now();
            std::hint::black_box(simulate_schemes(l, &l.acts[&0], &schemes, &arch.array).unwrap());
            best = best.min(t.elapsed().as_secs_f64() * 1e3);
        }
        total += best;
        let shape = match l.geom {
            Geometry::Conv(c) => format!(
                "conv c{} {}x{} k{}x{} s{} f{}",
                c.c, c.h, c.w, c.kh, c.kw, c.sh, c.f
            ),
            Geometry::Fc { c, f } => format!("fc c{c} f{f}"),
        };
        println!("{:<24} {:<32} {:>8.3} ms", l.name, shape, best);
    }
    println!("{:<57} {:>8.3} ms", "total", total);
}
