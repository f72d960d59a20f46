//! Tiny inputs shared by the sweep and plot tests: a three-layer network with
//! `gen`'s seeded values, and a small arch with the MLTQ schemes, so that whole sweeps
//! run in well under a second.
#![allow(dead_code)]

use std::path::Path;

use mltq::arch::{Arch, ArrayShape};
use mltq::encoding::EncSpec;
use mltq::gen::GenSpec;
use mltq::model::{Conv, Geometry, Network};
use mltq::scheme::Scheme;
use mltq::sweep::{GenParams, Inputs};
use mltq::Result;

fn conv(c: usize, h: usize, f: usize, s: usize) -> Conv {
    Conv::square(c, (h, h), f, 3, s, 1, 1)
}

/// A three-layer network (two convs and an fc) named `name`, with `gen`'s seeded values.
pub fn tiny_network(name: &str, g: &GenParams) -> Network {
    let layers = vec![
        ("conv1".to_string(), Geometry::Conv(conv(3, 6, 4, 1))),
        ("conv2".to_string(), Geometry::Conv(conv(4, 6, 8, 2))),
        ("fc".to_string(), Geometry::Fc { c: 72, f: 10 }),
    ];
    let spec = GenSpec {
        weights: g.weights,
        acts: g.acts,
        weight_density: g.weight_density,
        act_density: g.act_density,
        samples: 1,
        seed: g.seed,
    };
    mltq::gen::synthesize(name, layers, &spec).unwrap()
}

/// The test arch: 1 tile × 2 rows × 2 columns × 4 lanes, mlb baseline.
pub fn tiny_arch(name: &str) -> Arch {
    Arch::new(
        name,
        1.0,
        ArrayShape {
            tiles: 1,
            rows: 2,
            columns: 2,
            lanes: 4,
            column_registers: 0,
        },
        ["mlb", "mltq-word", "mltq-bit"]
            .iter()
            .map(|s| Scheme::preset(s).unwrap())
            .collect(),
        0,
    )
}

/// Inputs for sweeps: built-in networks `tiny` and `small` (the same geometry), arch
/// files whose contents are ignored (the arch is [`tiny_arch`] named after the file).
pub struct TinyInputs;

impl Inputs for TinyInputs {
    fn networks(&self) -> Vec<&'static str> {
        vec!["tiny", "small"]
    }
    fn gen_defaults(&self) -> GenParams {
        GenParams {
            weights: EncSpec::Ternary(2),
            acts: EncSpec::Ternary(2),
            weight_density: 0.5,
            act_density: 0.5,
            seed: 1,
        }
    }
    fn arch(&self, path: &Path) -> Result<Arch> {
        let stem = path.file_stem().unwrap().to_string_lossy();
        Ok(tiny_arch(&stem))
    }
    fn model_file(&self, path: &Path) -> Result<Network> {
        Err(mltq::Error::invalid(format!(
            "{}: TinyInputs reads no model files",
            path.display()
        )))
    }
    fn generate(&self, network: &str, g: &GenParams) -> Result<Network> {
        Ok(tiny_network(network, g))
    }
}
