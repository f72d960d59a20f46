//! Tiny hand-built inputs shared by the sweep and plot tests: a three-layer network
//! generated from a seed, and a small arch with the MLTQ schemes, so that whole sweeps
//! run in well under a second.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use mltq::arch::{Arch, ArrayShape};
use mltq::encoding::{EncSpec, ScaleMode};
use mltq::model::{Conv, Geometry, Layer, Network};
use mltq::scheme::Scheme;
use mltq::sweep::{GenParams, Inputs};
use mltq::tensor::Tensor;
use mltq::Result;

/// xorshift64: a few lines, seeded, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut s = self.0;
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        self.0 = s;
        s
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn tensor(shape: &[usize], enc: EncSpec, density: f64, rng: &mut Rng) -> Tensor {
    let n: usize = shape.iter().product();
    match enc {
        EncSpec::Ternary(l) | EncSpec::Binary(l) => {
            let binary = matches!(enc, EncSpec::Binary(_));
            let mut d = Vec::with_capacity(n * l as usize);
            for _ in 0..n {
                let nz = rng.unit() < density;
                for _ in 0..l {
                    let r = rng.next() % 3;
                    d.push(match (binary, nz, r) {
                        (true, _, 0) => -1,
                        (true, _, _) => 1,
                        (false, false, _) => 0,
                        (false, true, 0) => 0,
                        (false, true, 1) => 1,
                        (false, true, _) => -1,
                    });
                }
            }
            Tensor::from_digits(
                shape,
                binary,
                l,
                ScaleMode::Tensor,
                &d,
                vec![1.0; l as usize],
            )
            .unwrap()
        }
        EncSpec::Int(b) => {
            let max = (1u64 << (b - 1)) - 1;
            let v = (0..n)
                .map(|_| {
                    if rng.unit() < density {
                        (rng.next() % (max + 1)) as i32
                    } else {
                        0
                    }
                })
                .collect();
            Tensor::int(shape, b, false, b, None, v).unwrap()
        }
    }
}

fn conv(c: usize, h: usize, f: usize, s: usize) -> Conv {
    Conv {
        c,
        h,
        w: h,
        f,
        kh: 3,
        kw: 3,
        sh: s,
        sw: s,
        ph: 1,
        pw: 1,
        groups: 1,
    }
}

/// A three-layer network (two convs and an fc) named `name`.
pub fn tiny_network(name: &str, g: &GenParams) -> Network {
    let mut rng = Rng(g.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let geoms = [
        ("conv1", Geometry::Conv(conv(3, 6, 4, 1))),
        ("conv2", Geometry::Conv(conv(4, 6, 8, 2))),
        ("fc", Geometry::Fc { c: 72, f: 10 }),
    ];
    let layers = geoms
        .iter()
        .map(|(n, geom)| {
            let weights = tensor(&geom.weight_shape(), g.weights, g.weight_density, &mut rng);
            let acts = tensor(&geom.act_shape(), g.acts, g.act_density, &mut rng);
            Layer {
                name: n.to_string(),
                geom: *geom,
                weights,
                acts: BTreeMap::from([(0, acts)]),
            }
        })
        .collect();
    Network {
        name: name.to_string(),
        source: None,
        layers,
    }
}

/// The test arch: 1 tile × 2 rows × 2 columns × 4 lanes, mlb baseline.
pub fn tiny_arch(name: &str) -> Arch {
    Arch {
        name: name.to_string(),
        clock_ghz: 1.0,
        array: ArrayShape {
            tiles: 1,
            rows: 2,
            columns: 2,
            lanes: 4,
            column_registers: 0,
        },
        schemes: ["mlb", "mltq-word", "mltq-bit"]
            .iter()
            .map(|s| Scheme::preset(s).unwrap())
            .collect(),
        baseline: 0,
    }
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
