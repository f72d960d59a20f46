//! Measures the bit and term densities of `mltq gen`'s value distributions and prints
//! the tables of docs/cli.md ("Value distributions").
//!
//! ```text
//! cargo run --release --no-default-features --example gen_densities
//! ```
//!
//! One layer, a 3×3 conv of 256 channels on a 28×28 map with 256 filters (589,824
//! weights of fan-in 2304, 200,704 activations), seed 1: each distribution at a few
//! densities, as int:8 (precision 8), and as ternary:2. Columns:
//! - *bits set*: set magnitude bits per element over the P = 8 planes a
//!   precision-serial design streams (zeros included: what Stripes-like lanes see);
//! - *bits per nonzero*: set bits (= `plain` terms, what Pragmatic pays) per nonzero
//!   value; *booth per nonzero*: the same in DNNsim's Booth-like recoding;
//! - *ternary:2 digits*: nonzero digits over the 2 levels of the `ternary:2` tensor of
//!   the same draws (what `mltq-bit` skips).

use mltq::encoding::{EncSpec, TermEncoding};
use mltq::gen::{synthesize_with, ActDist, GenOptions, GenSpec, WeightDist};
use mltq::model::{Conv, Geometry, Layer};
use mltq::tensor::Tensor;

fn row(name: &str, density: f64, int: &Tensor, ternary: &Tensor) -> String {
    let n = int.len() as f64;
    let plain = int.all_terms(TermEncoding::Plain, None);
    let booth = int.all_terms(TermEncoding::Booth, None);
    let nz = plain.iter().filter(|&&t| t > 0).count() as f64;
    let sum = |t: &[u8]| t.iter().map(|&x| x as f64).sum::<f64>();
    let tern = ternary.all_terms(TermEncoding::Plain, None);
    format!(
        "| {name} | {density} | {:.3} | {:.3} | {:.2} | {:.2} | {:.3} |",
        int.word_density(),
        sum(&plain) / (n * 8.0),
        sum(&plain) / nz.max(1.0),
        sum(&booth) / nz.max(1.0),
        sum(&tern) / (n * 2.0),
    )
}

fn generate(spec: &GenSpec, opts: &GenOptions) -> Layer {
    let layer = (
        "c".to_string(),
        Geometry::Conv(Conv::square(256, (28, 28), 256, 3, 1, 1, 1)),
    );
    let mut net = synthesize_with("d", vec![layer], spec, opts).expect("valid settings");
    net.layers.pop().expect("one layer")
}

fn main() {
    let head = "| distribution | density | word density | bits set (of 8) | bits per nonzero | booth per nonzero | ternary:2 digits |\n|---|---|---|---|---|---|---|";
    println!("Weights (signed int:8: magnitudes of at most 7 bits):\n\n{head}");
    for dist in [
        WeightDist::Gaussian,
        WeightDist::Laplace,
        WeightDist::Uniform,
    ] {
        for d in [1.0, 0.35, 0.1] {
            let opts = GenOptions {
                weight_dist: dist,
                ..GenOptions::default()
            };
            let at = |enc| {
                let spec = GenSpec {
                    weights: enc,
                    weight_density: d,
                    samples: 0,
                    ..GenSpec::default()
                };
                generate(&spec, &opts).weights
            };
            println!(
                "{}",
                row(
                    dist.as_str(),
                    d,
                    &at(EncSpec::Int(8)),
                    &at(EncSpec::Ternary(2))
                )
            );
        }
    }
    println!("\nActivations (unsigned int:8):\n\n{head}");
    for dist in [
        ActDist::HalfNormal,
        ActDist::Gaussian,
        ActDist::Laplace,
        ActDist::Uniform,
    ] {
        for d in [1.0, 0.5, 0.3] {
            let opts = GenOptions {
                act_dist: dist,
                ..GenOptions::default()
            };
            let at = |enc| {
                let spec = GenSpec {
                    acts: enc,
                    act_density: d,
                    weight_density: 0.0,
                    ..GenSpec::default()
                };
                generate(&spec, &opts).acts.remove(&0).expect("sample 0")
            };
            println!(
                "{}",
                row(
                    dist.as_str(),
                    d,
                    &at(EncSpec::Int(8)),
                    &at(EncSpec::Ternary(2))
                )
            );
        }
    }
}
