//! Seeded synthetic values for a network's geometry: what `mltq gen` writes, and the
//! activations `simulate --act-density D --seed S` makes up for models without them.
//!
//! # Values
//!
//! **Weights** start as a zero-mean Gaussian with He's standard deviation √(2/fan-in),
//! magnitude-pruned so that exactly `round(density · n)` of each layer's n weights
//! survive (the kept magnitudes are the Gaussian's tail beyond the pruning threshold, the
//! positions are uniformly random).
//! - `ternary:L`: residual ternarization, level by level. Level 0 is the pruning itself:
//!   every survivor gets digit sign(w), every pruned weight 0. Each later level takes the
//!   residual r of the survivors, a threshold t = 0.7 · mean |r| (Li & Liu's ternary weight
//!   networks) and digit sign(r) where |r| > t. The level's scale is the least-squares one,
//!   the mean |r| over its nonzero digits; it is subtracted and the next level starts.
//!   Pruned weights are 0 at every level and every survivor's first digit is nonzero, so
//!   the word density is exactly the requested density.
//! - `binary:L`: residual binarization (digit sign(r), scale mean |r|, at every level) of
//!   the *unpruned* Gaussian: a binary digit is never 0, so the density does not apply.
//! - `int:B`: signed symmetric linear quantization, step = max |w| / (2^(B−1) − 1);
//!   survivors round to at least ±1, so the word density is exact here too. B ≥ 2.
//!
//! **Activations** are ReLU-like: exactly `round(density · n)` elements are positive,
//! half-normal (|N(0, 1)|), at random positions; the rest are exactly 0.
//! - `ternary:L`: the same residual ternarization (digits are +1 at level 0, and ±1 after).
//! - `binary:L`: residual binarization of all n values, zeros included. A binary word is
//!   never zero (its value could only be zero by a pattern of scales), so every
//!   activation has L terms whatever the density; the density only shapes the values.
//! - `int:B`: unsigned (`signed=false`), step = max / (2^B − 1), positives at least 1.
//!
//! Scales are per tensor (`scale=tensor`); ints record their step as `scale` and have
//! `precision` = B.
//!
//! # Options ([`GenOptions`]; the defaults give the values above, bit for bit)
//!
//! - **Distributions** ([`dist`]): the weights may be drawn from a Laplacian or a
//!   uniform law instead of the Gaussian (`--weight-dist`), the nonzero activations
//!   from a rectified Gaussian or Laplacian whose share of zeros is 1 − density, or a
//!   uniform law, instead of the half-normal (`--act-dist`). Only the magnitudes
//!   change: which elements are zero, and the signs, are drawn as above.
//! - **Precisions** ([`precision`]): an `int:B` operand may be quantized at a precision
//!   P ≤ B per layer (step = max / (2^(P−1) − 1) signed, max / (2^P − 1) unsigned,
//!   stored with `bits=B precision=P`), given per layer or profiled from the data.
//! - **Densities per layer**: each layer's activations may have their own density (an
//!   image into the first layer is dense), recorded as `ad=D1,D2,…`.
//!
//! The options that are not the defaults are recorded in the model's `source`, after
//! the settings above: `wdist=…`, `adist=…`, and per operand `wprec=`/`aprec=` with
//! where the precisions came from and every layer's value, e.g.
//! `aprec=stripes:9,8,5,5,7,16,16,16`.
//!
//! # Determinism
//!
//! Every tensor has its own seed, [`tensor_seed`]`(seed, layer index, kind, sample)`, and
//! is drawn in chunks of [`CHUNK`] elements, each from its own `Pcg64Mcg` seeded with
//! [`mix`]`(tensor seed, chunk index)`. Statistics across chunks are summed in chunk order.
//! Layers, samples and chunks run in parallel (rayon) and are gathered in order, so a seed
//! gives the same network whatever the thread count.

use std::collections::HashSet;

use rand::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;

use crate::encoding::{EncSpec, ScaleMode};
use crate::error::{Error, Result};
use crate::model::{Geometry, Layer, Network};
use crate::tensor::{plane_words, Tensor};
use crate::zoo;

pub mod dist;
pub mod precision;

use dist::Magnitude;
pub use dist::{ActDist, WeightDist};
pub use precision::LayerPrecision;

/// What to generate: encodings, densities, samples and seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GenSpec {
    /// Weight encoding.
    pub weights: EncSpec,
    /// Activation encoding.
    pub acts: EncSpec,
    /// Fraction of each layer's weights that are nonzero (ignored for `binary`).
    pub weight_density: f64,
    /// Fraction of each activation tensor that is nonzero (only shapes `binary` values).
    pub act_density: f64,
    /// Activation samples per layer, numbered 0..samples (0: weights only).
    pub samples: u32,
    /// The seed of every random draw.
    pub seed: u64,
}

impl Default for GenSpec {
    /// The seeded defaults of `mltq gen` (and of built-in networks named as a model):
    /// `ternary:2` weights at density 0.35, `ternary:2` activations at density 0.5,
    /// one sample, seed 1.
    fn default() -> GenSpec {
        GenSpec {
            weights: EncSpec::Ternary(2),
            acts: EncSpec::Ternary(2),
            weight_density: 0.35,
            act_density: 0.5,
            samples: 1,
            seed: 1,
        }
    }
}

impl GenSpec {
    /// Check the densities (in [0, 1]) and the encodings.
    pub fn validate(&self) -> Result<()> {
        check_density("weight", self.weight_density)?;
        check_density("activation", self.act_density)?;
        check_weight_enc(self.weights)?;
        check_enc(self.acts)
    }

    /// The generator settings as recorded in `network source=…`, e.g.
    /// `mltq gen resnet50 weights=ternary:2 acts=ternary:2 wd=0.35 ad=0.5 samples=1 seed=1`.
    pub fn source(&self, name: &str) -> String {
        self.source_with(name, &self.act_density.to_string())
    }

    /// [`GenSpec::source`] with the activation densities spelled `ad`.
    fn source_with(&self, name: &str, ad: &str) -> String {
        format!(
            "mltq gen {name} weights={} acts={} wd={} ad={ad} samples={} seed={}",
            self.weights, self.acts, self.weight_density, self.samples, self.seed
        )
    }
}

/// Densities as given on the command line: one for every layer, or one per layer in
/// order (comma-separated).
#[derive(Clone, Debug, PartialEq)]
pub struct DensityList(pub Vec<f64>);

impl std::str::FromStr for DensityList {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<DensityList, String> {
        s.split(',')
            .enumerate()
            .map(|(i, v)| {
                let v = v.trim();
                match v.parse::<f64>() {
                    Ok(d) if (0.0..=1.0).contains(&d) => Ok(d),
                    _ => Err(format!(
                        "{}`{v}` is not a density in [0, 1] (a fraction of nonzero values); give one density, or one per layer in order separated by commas",
                        if s.contains(',') { format!("value {}: ", i + 1) } else { String::new() }
                    )),
                }
            })
            .collect::<std::result::Result<_, _>>()
            .map(DensityList)
    }
}

/// Opt-in shapes of the generated values beyond [`GenSpec`]: distributions and per-layer
/// precisions of int operands. The default is what `gen` has always written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GenOptions {
    /// How weights are drawn before pruning and quantization.
    pub weight_dist: WeightDist,
    /// How the nonzero activations are drawn.
    pub act_dist: ActDist,
    /// Per-layer precisions of int weights.
    pub weight_precision: LayerPrecision,
    /// Per-layer precisions of int activations.
    pub act_precision: LayerPrecision,
    /// Per-layer activation densities, one per layer in order, replacing
    /// [`GenSpec::act_density`] (empty: every layer at that density). Recorded as
    /// `ad=D1,D2,…` in the source.
    pub act_densities: Vec<f64>,
}

impl GenOptions {
    /// Check the options against the encodings and the layers before anything is drawn:
    /// precisions only for int operands, one per layer, each in 1..=B (2..=B for signed
    /// values: a sign and a magnitude bit).
    pub fn validate(&self, spec: &GenSpec, layers: &[(String, Geometry)]) -> Result<()> {
        if !self.act_densities.is_empty() {
            if self.act_densities.len() != layers.len() {
                return Err(Error::invalid(format!(
                    "activation densities: {} values for {} layers; give one per layer in order",
                    self.act_densities.len(),
                    layers.len()
                )));
            }
            for &d in &self.act_densities {
                check_density("activation", d)?;
            }
        }
        for (what, prec, enc, signed) in [
            ("weight", &self.weight_precision, spec.weights, true),
            ("activation", &self.act_precision, spec.acts, false),
        ] {
            if *prec == LayerPrecision::Full {
                continue;
            }
            let EncSpec::Int(bits) = enc else {
                return Err(Error::invalid(format!(
                    "{what} precisions apply to int {what}s (int:B), but the {what}s are {enc}; generate them as int:B or drop the {what} precisions"
                )));
            };
            let LayerPrecision::Given { values, from } = prec else {
                continue;
            };
            if values.len() != layers.len() {
                return Err(Error::invalid(format!(
                    "{what} precisions ({from}): {} values for {} layers; give one per layer in order",
                    values.len(),
                    layers.len()
                )));
            }
            let lo = if signed { 2 } else { 1 };
            for ((layer, _), p) in layers.iter().zip(values) {
                let Some(p) = *p else { continue };
                if p > bits as u32 {
                    return Err(Error::invalid(format!(
                        "layer `{layer}`: {what} precision {p} ({from}) is more than the int:{bits} width; generate int:{p} {what}s or more, or give a smaller precision"
                    )));
                }
                if p < lo {
                    return Err(Error::invalid(format!(
                        "layer `{layer}`: {what} precision {p} ({from}) is too small for signed values (at least 2 bits: a sign and a magnitude bit)"
                    )));
                }
            }
        }
        if let Some(t) = [&self.weight_precision, &self.act_precision]
            .into_iter()
            .find_map(|p| match p {
                LayerPrecision::Profile { tolerance } => Some(*tolerance),
                _ => None,
            })
            .filter(|t| !(*t > 0.0 && *t <= 1.0))
        {
            return Err(Error::invalid(format!(
                "the precision profile's tolerance must be in (0, 1] (a relative L2 error, e.g. 0.01), got {t}"
            )));
        }
        Ok(())
    }

    /// What the model's source records beyond [`GenSpec::source`]: the options that are
    /// not the defaults, with every layer's resulting precision.
    fn source(&self, layers: &[Layer]) -> String {
        let mut s = String::new();
        if self.weight_dist != WeightDist::default() {
            s += &format!(" wdist={}", self.weight_dist);
        }
        if self.act_dist != ActDist::default() {
            s += &format!(" adist={}", self.act_dist);
        }
        let list = |t: Vec<&Tensor>| {
            t.iter()
                .map(|t| t.encoding().serial_planes().to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        if let Some(o) = self.weight_precision.origin() {
            s += &format!(
                " wprec={o}:{}",
                list(layers.iter().map(|l| &l.weights).collect())
            );
        }
        if let Some(o) = self.act_precision.origin() {
            // Every sample of a layer has the same precision; a model without samples
            // has nothing to record.
            let acts: Vec<&Tensor> = layers
                .iter()
                .filter_map(|l| l.acts.values().next())
                .collect();
            if acts.len() == layers.len() {
                s += &format!(" aprec={o}:{}", list(acts));
            }
        }
        s
    }
}

/// Bytes that generating `name` with `spec` and writing it takes at its peak, roughly:
/// every tensor as the simulator holds it (planes as stored, ints as `i32`), the
/// `.mltq` bytes twice (the payload, then the whole file), and the working buffers of
/// the largest tensor. Compared with the memory budget before generating (see
/// [`check_memory`]).
pub fn memory_needed(layers: &[(String, Geometry)], spec: &GenSpec) -> u64 {
    // (held in memory, in the file) for n elements.
    let size = |enc: EncSpec, n: u64| -> (u64, u64) {
        let words = n.div_ceil(64).saturating_mul(8);
        match enc {
            EncSpec::Ternary(l) => {
                let b = words.saturating_mul(2 * l as u64);
                (b, b)
            }
            EncSpec::Binary(l) => {
                let b = words.saturating_mul(l as u64);
                (b, b)
            }
            EncSpec::Int(bits) => (
                n.saturating_mul(4),
                n.saturating_mul(crate::model::header::int_storage_bytes(bits)),
            ),
        }
    };
    let count = |shape: Vec<usize>| shape.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64));
    let (mut held, mut file, mut largest) = (0u64, 0u64, 0u64);
    for (_, geom) in layers {
        let (nw, na) = (count(geom.weight_shape()), count(geom.act_shape()));
        let (hw, fw) = size(spec.weights, nw);
        let (ha, fa) = size(spec.acts, na);
        let samples = spec.samples as u64;
        held = held
            .saturating_add(hw)
            .saturating_add(ha.saturating_mul(samples));
        file = file
            .saturating_add(fw)
            .saturating_add(fa.saturating_mul(samples));
        largest = largest.max(nw).max(na);
    }
    // Gaussian draws (f64) and digits of the largest tensor while it is quantized.
    let work = largest.saturating_mul(16);
    held.saturating_add(file.saturating_mul(2))
        .saturating_add(work)
}

/// Refuse to generate `name` with `spec` when it would not fit in memory
/// ([`crate::budget`]), before anything is allocated.
pub fn check_memory(name: &str, spec: &GenSpec) -> Result<()> {
    let layers = zoo::lookup(name)?;
    crate::budget::check(
        &format!("generating {name} with {} samples", spec.samples),
        memory_needed(&layers, spec),
        "generate fewer samples (--samples), or free memory",
    )
}

/// A built-in network ([`zoo::NETWORKS`]) with synthetic weights and activations.
pub fn generate(name: &str, spec: &GenSpec) -> Result<Network> {
    synthesize(name, zoo::lookup(name)?, spec)
}

/// [`generate`] with value options (distributions, per-layer precisions).
pub fn generate_with(name: &str, spec: &GenSpec, opts: &GenOptions) -> Result<Network> {
    synthesize_with(name, zoo::lookup(name)?, spec, opts)
}

/// Any list of layers with synthetic weights and activations; layer i draws from
/// [`tensor_seed`]`(spec.seed, i, …)`.
pub fn synthesize(name: &str, layers: Vec<(String, Geometry)>, spec: &GenSpec) -> Result<Network> {
    synthesize_with(name, layers, spec, &GenOptions::default())
}

/// [`synthesize`] with value options. Layer i's precision is the i-th of a given list;
/// a profiled activation precision is one per layer, over all its samples together.
pub fn synthesize_with(
    name: &str,
    layers: Vec<(String, Geometry)>,
    spec: &GenSpec,
    opts: &GenOptions,
) -> Result<Network> {
    spec.validate()?;
    let mut seen = HashSet::new();
    for (layer, geom) in &layers {
        if !seen.insert(layer.as_str()) {
            return Err(Error::invalid(format!(
                "layer name `{layer}` appears twice; layer names must be unique"
            )));
        }
        geom.validate()
            .map_err(|e| Error::invalid(format!("layer `{layer}`: {e}")))?;
    }
    opts.validate(spec, &layers)?;
    let layers = layers
        .into_par_iter()
        .enumerate()
        .map(|(i, (name, geom))| {
            let in_layer = |e: Error| Error::invalid(format!("layer `{name}`: {e}"));
            let seed = tensor_seed(spec.seed, i, TensorKind::Weights, 0);
            let weights = weights_of(
                &geom,
                spec.weights,
                spec.weight_density,
                seed,
                opts.weight_dist,
                Prec::of(&opts.weight_precision, i),
            )
            .map_err(in_layer)?;
            let seeds: Vec<u64> = (0..spec.samples)
                .map(|s| tensor_seed(spec.seed, i, TensorKind::Acts, s))
                .collect();
            let acts = acts_of(
                &geom,
                spec.acts,
                opts.act_densities
                    .get(i)
                    .copied()
                    .unwrap_or(spec.act_density),
                &seeds,
                opts.act_dist,
                Prec::of(&opts.act_precision, i),
            )
            .map_err(in_layer)?;
            Ok(Layer {
                name,
                geom,
                weights,
                acts: (0..spec.samples).zip(acts).collect(),
            })
        })
        .collect::<Result<Vec<Layer>>>()?;
    let ad = if opts.act_densities.is_empty() {
        spec.act_density.to_string()
    } else {
        opts.act_densities
            .iter()
            .map(f64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let source = spec.source_with(name, &ad) + &opts.source(&layers);
    Ok(Network {
        name: name.to_string(),
        source: Some(source),
        layers,
    })
}

/// The precision of one int tensor, resolved for its layer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Prec {
    /// precision = bits.
    Full,
    /// A given precision.
    At(u8),
    /// The smallest within this relative L2 error.
    Profile(f64),
}

impl Prec {
    fn of(p: &LayerPrecision, layer: usize) -> Prec {
        match p {
            LayerPrecision::Full => Prec::Full,
            LayerPrecision::Given { values, .. } => match values.get(layer).copied().flatten() {
                Some(p) => Prec::At(p.min(32) as u8),
                None => Prec::Full,
            },
            LayerPrecision::Profile { tolerance } => Prec::Profile(*tolerance),
        }
    }
}

/// Synthetic weights for one layer (see the module docs), drawn from `seed`.
pub fn synthetic_weights(geom: &Geometry, enc: EncSpec, density: f64, seed: u64) -> Result<Tensor> {
    weights_of(geom, enc, density, seed, WeightDist::Gaussian, Prec::Full)
}

fn weights_of(
    geom: &Geometry,
    enc: EncSpec,
    density: f64,
    seed: u64,
    dist: WeightDist,
    prec: Prec,
) -> Result<Tensor> {
    check_density("weight", density)?;
    check_weight_enc(enc)?;
    geom.validate()?;
    let shape = geom.weight_shape();
    let n: usize = shape.iter().product();
    let sigma = (2.0 / (n / shape[0]) as f64).sqrt();
    let pruned = Draw {
        keep: density,
        dense: false,
        signed: true,
        mag: Magnitude::weights(dist, sigma, density),
    };
    match enc {
        EncSpec::Ternary(levels) => residual(&shape, levels, true, draw(n, seed, &pruned)),
        EncSpec::Binary(levels) => {
            let full = Draw {
                keep: 1.0,
                dense: true,
                mag: Magnitude::weights(dist, sigma, 1.0),
                ..pruned
            };
            residual(&shape, levels, false, draw(n, seed, &full))
        }
        EncSpec::Int(bits) => {
            let chunks = draw(n, seed, &pruned);
            let p = int_precision(prec, bits, true, std::slice::from_ref(&chunks))?;
            linear(&shape, bits, p, true, chunks)
        }
    }
}

/// Synthetic ReLU-like activations for one layer (see the module docs), drawn from
/// `seed`. [`tensor_seed`]`(S, i, TensorKind::Acts, k)` gives what `mltq gen --seed S`
/// puts in sample k of layer i.
pub fn synthetic_acts(geom: &Geometry, enc: EncSpec, density: f64, seed: u64) -> Result<Tensor> {
    let mut t = acts_of(geom, enc, density, &[seed], ActDist::HalfNormal, Prec::Full)?;
    Ok(t.pop().expect("one seed, one tensor"))
}

/// The activations of one layer for every seed (sample), in order.
fn acts_of(
    geom: &Geometry,
    enc: EncSpec,
    density: f64,
    seeds: &[u64],
    dist: ActDist,
    prec: Prec,
) -> Result<Vec<Tensor>> {
    check_density("activation", density)?;
    check_enc(enc)?;
    geom.validate()?;
    let shape = geom.act_shape();
    let n: usize = shape.iter().product();
    let relu = Draw {
        keep: density,
        dense: false,
        signed: false,
        mag: Magnitude::acts(dist, density),
    };
    match enc {
        EncSpec::Ternary(levels) => seeds
            .par_iter()
            .map(|&s| residual(&shape, levels, true, draw(n, s, &relu)))
            .collect(),
        EncSpec::Binary(levels) => {
            let all = Draw {
                dense: true,
                ..relu
            };
            seeds
                .par_iter()
                .map(|&s| residual(&shape, levels, false, draw(n, s, &all)))
                .collect()
        }
        EncSpec::Int(bits) => match prec {
            // A profile looks at every sample of the layer at once.
            Prec::Profile(_) => {
                let draws: Vec<Vec<Chunk>> = seeds.par_iter().map(|&s| draw(n, s, &relu)).collect();
                let p = int_precision(prec, bits, false, &draws)?;
                draws
                    .into_par_iter()
                    .map(|c| linear(&shape, bits, p, false, c))
                    .collect()
            }
            _ => {
                let p = int_precision(prec, bits, false, &[])?;
                seeds
                    .par_iter()
                    .map(|&s| linear(&shape, bits, p, false, draw(n, s, &relu)))
                    .collect()
            }
        },
    }
}

/// The precision of an int tensor of `bits` bits: full, given, or profiled over the
/// drawn values of every sample (`draws`) with the importer's rule
/// ([`crate::import::precision::profile`]).
fn int_precision(prec: Prec, bits: u8, signed: bool, draws: &[Vec<Chunk>]) -> Result<u8> {
    match prec {
        Prec::Full => Ok(bits),
        Prec::At(p) => Ok(p),
        Prec::Profile(tolerance) => {
            let lo = if signed { 2 } else { 1 };
            let pick = crate::import::precision::profile(lo, bits, tolerance, |p| {
                Ok(rel_l2_error(draws, p, signed))
            })?;
            Ok(pick.precision)
        }
    }
}

/// ‖x − x̂‖ / ‖x‖ over every sample's drawn values x and their `precision`-bit linear
/// quantization x̂ (each sample with its own step, as [`linear`] quantizes it). Zeros
/// are exact and add nothing. Summed chunk by chunk in order: deterministic.
fn rel_l2_error(draws: &[Vec<Chunk>], precision: u8, signed: bool) -> f64 {
    let (mut err, mut norm) = (0.0f64, 0.0f64);
    for chunks in draws {
        let (qmax, step) = quant_step(chunks, precision, signed);
        let parts: Vec<(f64, f64)> = chunks
            .par_iter()
            .map(|c| {
                c.mag.iter().fold((0.0, 0.0), |(e, n), &m| {
                    let m = m as f64;
                    let q = ((m / step).round() as i64).clamp(1, qmax) as f64;
                    let d = m - q * step;
                    (e + d * d, n + m * m)
                })
            })
            .collect();
        for (e, n) in parts {
            err += e;
            norm += n;
        }
    }
    if norm > 0.0 {
        (err / norm).sqrt()
    } else {
        0.0
    }
}

/// Which tensor of a layer a seed is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorKind {
    Weights = 0,
    Acts = 1,
}

/// The seed of one tensor: [`mix`] folded over (layer, kind, sample), starting from
/// `splitmix64(seed)`. Weights use sample 0.
pub fn tensor_seed(seed: u64, layer: usize, kind: TensorKind, sample: u32) -> u64 {
    [layer as u64, kind as u64, sample as u64]
        .into_iter()
        .fold(splitmix64(seed), mix)
}

/// `splitmix64(h ^ x)`: one step of the seed derivation. SplitMix64's finalizer is a
/// bijection with full avalanche, so nearby inputs give unrelated seeds.
pub fn mix(h: u64, x: u64) -> u64 {
    splitmix64(h ^ x)
}

/// SplitMix64 (Steele, Lea & Flood 2014): the golden-ratio increment, then the finalizer.
fn splitmix64(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Elements per independently seeded chunk: a multiple of 64, so a chunk owns whole
/// plane words. Part of the seeding contract: changing it changes every generated value.
pub const CHUNK: usize = 1 << 14;

fn check_density(what: &str, d: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&d) {
        return Err(Error::invalid(format!(
            "{what} density must be in [0, 1] (a fraction of nonzero values), got {d}"
        )));
    }
    Ok(())
}

fn check_enc(enc: EncSpec) -> Result<()> {
    // The command-line parser holds the rules; a spec built in code passes through it too.
    enc.to_string()
        .parse::<EncSpec>()
        .map(drop)
        .map_err(Error::invalid)
}

fn check_weight_enc(enc: EncSpec) -> Result<()> {
    check_enc(enc)?;
    if enc == EncSpec::Int(1) {
        return Err(Error::invalid(
            "int:1 weights cannot be signed symmetric (1-bit signed values are only -1 and 0); use int:2 or more",
        ));
    }
    Ok(())
}

/// How real values are drawn.
#[derive(Clone, Copy, Debug)]
struct Draw {
    /// Fraction of elements that are nonzero (exact after rounding to a count).
    keep: f64,
    /// Carry the zeros as values too (binary: every element gets digits).
    dense: bool,
    /// Random signs (weights) or all positive (activations).
    signed: bool,
    /// The law of the nonzero magnitudes: for weights the survivors of magnitude
    /// pruning (the distribution's largest `keep` fraction), for activations the
    /// positive values.
    mag: Magnitude,
}

/// One chunk of real values before quantization.
struct Chunk {
    /// Elements carried in `mag`, one bit each (the nonzero ones, or all when dense).
    present: Vec<u64>,
    /// Elements whose value is negative.
    neg: Vec<u64>,
    /// Magnitudes of the present elements in element order; during residual quantization,
    /// the residual relative to the element's sign.
    mag: Vec<f32>,
    /// Digit planes made so far: `levels` planes of `present.len()` words each.
    nonzero: Vec<u64>,
    negative: Vec<u64>,
}

/// Draw n values as chunks. Chunk c gets its share of the nonzero count by cumulative
/// rounding (so the total is exact) and picks its positions by selection sampling.
fn draw(n: usize, seed: u64, d: &Draw) -> Vec<Chunk> {
    let keep = (d.keep * n as f64).round() as u128;
    let share = |end: usize| (keep * end as u128 / n.max(1) as u128) as usize;
    (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let (start, end) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
            draw_chunk(
                end - start,
                share(end) - share(start),
                mix(seed, c as u64),
                d,
            )
        })
        .collect()
}

fn draw_chunk(m: usize, keep: usize, seed: u64, d: &Draw) -> Chunk {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let words = m.div_ceil(64);
    let mut present = vec![0u64; words];
    let mut mag = Vec::with_capacity(if d.dense { m } else { keep });
    let mut need = keep as u64;
    for i in 0..m {
        // Knuth's algorithm S: pick with probability need / left; exactly `keep` in all.
        let left = (m - i) as u64;
        let pick = need == left
            || (need > 0 && ((rng.next_u64() as u128 * left as u128) >> 64) < need as u128);
        if pick {
            need -= 1;
            mag.push(d.mag.at(unit(&mut rng)) as f32);
        } else if d.dense {
            mag.push(0.0);
        } else {
            continue;
        }
        present[i / 64] |= 1 << (i % 64);
    }
    let neg = if d.signed {
        present.iter().map(|&p| p & rng.next_u64()).collect()
    } else {
        vec![0; words]
    };
    Chunk {
        present,
        neg,
        mag,
        nonzero: Vec::new(),
        negative: Vec::new(),
    }
}

/// Uniform in [0, 1) with 53 random bits.
fn unit(rng: &mut Pcg64Mcg) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The standard normal quantile Φ⁻¹(p), p in (0, 1): Acklam's rational approximation
/// (relative error below 1.2e-9).
fn inv_normal_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    const LOW: f64 = 0.02425;
    let tail = |p: f64| {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail(p)
    } else if p > 1.0 - LOW {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

impl Chunk {
    /// Subtract the previous level (threshold t, scale s) from the residuals; return the
    /// sum of |residual|.
    fn subtract(&mut self, prev: Option<(f32, f32)>) -> f64 {
        if let Some((t, s)) = prev {
            for u in &mut self.mag {
                if u.abs() > t {
                    *u += if *u < 0.0 { s } else { -s };
                }
            }
        }
        self.mag.iter().map(|u| u.abs() as f64).sum()
    }

    /// Append the digit planes of the next level: sign(r) where |r| > t (sign(0) = +1),
    /// times the element's sign. Returns (Σ |r| over the nonzero digits, their count).
    fn level(&mut self, t: f32) -> (f64, u64) {
        let (mut sum, mut count, mut j) = (0.0, 0, 0);
        for (&present, &neg) in self.present.iter().zip(&self.neg) {
            let (mut nz, mut ng) = (0u64, 0u64);
            let mut bits = present;
            while bits != 0 {
                let b = bits.trailing_zeros();
                bits &= bits - 1;
                let r = self.mag[j];
                j += 1;
                if r.abs() > t {
                    nz |= 1 << b;
                    ng |= u64::from(r < 0.0) << b;
                    sum += r.abs() as f64;
                    count += 1;
                }
            }
            self.nonzero.push(nz);
            self.negative.push(ng ^ (neg & nz));
        }
        (sum, count)
    }
}

/// Residual ternarization (`ternary`) or binarization of drawn values (module docs).
fn residual(shape: &[usize], levels: u8, ternary: bool, mut chunks: Vec<Chunk>) -> Result<Tensor> {
    let present: u64 = chunks.iter().map(|c| c.mag.len() as u64).sum();
    let mut scales = Vec::with_capacity(levels as usize);
    let mut prev = None;
    for p in 0..levels {
        let sums: Vec<f64> = chunks.par_iter_mut().map(|c| c.subtract(prev)).collect();
        // Level 0 of ternary (every survivor) and every binary level take all elements.
        let t = if ternary && p > 0 {
            (0.7 * sums.iter().sum::<f64>() / present.max(1) as f64) as f32
        } else {
            -1.0
        };
        let parts: Vec<(f64, u64)> = chunks.par_iter_mut().map(|c| c.level(t)).collect();
        let (sum, count) = parts
            .iter()
            .fold((0.0, 0), |(s, n), &(ds, dn)| (s + ds, n + dn));
        let s = if count == 0 {
            0.0
        } else {
            (sum / count as f64) as f32
        };
        scales.push(s);
        prev = Some((t, s));
    }
    let n: usize = shape.iter().product();
    let words = plane_words(n);
    let gather = |planes: fn(&Chunk) -> &Vec<u64>| {
        let mut out = vec![0u64; levels as usize * words];
        for (c, chunk) in chunks.iter().enumerate() {
            let cw = chunk.present.len();
            for (p, plane) in planes(chunk).chunks_exact(cw).enumerate() {
                let at = p * words + c * (CHUNK / 64);
                out[at..at + cw].copy_from_slice(plane);
            }
        }
        out
    };
    let negative = gather(|c| &c.negative);
    if ternary {
        Tensor::ternary(
            shape,
            levels,
            ScaleMode::Tensor,
            gather(|c| &c.nonzero),
            negative,
            scales,
        )
    } else {
        Tensor::binary(shape, levels, ScaleMode::Tensor, negative, scales)
    }
}

/// The largest quantized magnitude at `precision` bits and the step that puts the
/// drawn maximum there (1.0 for an all-zero tensor).
fn quant_step(chunks: &[Chunk], precision: u8, signed: bool) -> (i64, f64) {
    let qmax: i64 = if signed {
        (1 << (precision - 1)) - 1
    } else {
        ((1i64 << precision) - 1).min(i32::MAX as i64)
    };
    let max = chunks
        .par_iter()
        .map(|c| c.mag.iter().fold(0f32, |a, &b| a.max(b)))
        .reduce(|| 0.0, f32::max);
    let step = if max > 0.0 {
        max as f64 / qmax as f64
    } else {
        1.0
    };
    (qmax, step)
}

/// Linear quantization of drawn values to `precision`-bit integers in a `bits`-wide
/// tensor, step = max / qmax; every present value rounds to at least 1 in magnitude.
fn linear(
    shape: &[usize],
    bits: u8,
    precision: u8,
    signed: bool,
    chunks: Vec<Chunk>,
) -> Result<Tensor> {
    let (qmax, step) = quant_step(&chunks, precision, signed);
    let n: usize = shape.iter().product();
    let mut values = vec![0i32; n];
    values
        .par_chunks_mut(CHUNK)
        .zip(&chunks)
        .for_each(|(out, chunk)| {
            let mut mags = chunk.mag.iter();
            for (w, (&present, &neg)) in chunk.present.iter().zip(&chunk.neg).enumerate() {
                let mut bits = present;
                while bits != 0 {
                    let b = bits.trailing_zeros();
                    bits &= bits - 1;
                    let m = *mags.next().expect("one magnitude per present element");
                    let q = ((m as f64 / step).round() as i64).clamp(1, qmax) as i32;
                    out[w * 64 + b as usize] = if neg >> b & 1 == 1 { -q } else { q };
                }
            }
        });
    Tensor::int(shape, bits, signed, precision, Some(step as f32), values)
}

/// Replace every layer's activations by seeded synthetic ones for `sample` (all other
/// samples are dropped), as `simulate --act-density D --seed S` does. Layer i's tensor
/// is the one `gen` would draw for sample `sample` of layer i with that seed.
pub fn fill_synthetic_acts(
    net: &mut Network,
    enc: EncSpec,
    density: f64,
    seed: u64,
    sample: u32,
) -> Result<()> {
    let acts: Vec<Tensor> = net
        .layers
        .par_iter()
        .enumerate()
        .map(|(i, l)| {
            synthetic_acts(
                &l.geom,
                enc,
                density,
                tensor_seed(seed, i, TensorKind::Acts, sample),
            )
        })
        .collect::<Result<_>>()?;
    for (l, a) in net.layers.iter_mut().zip(acts) {
        l.acts.clear();
        l.acts.insert(sample, a);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{Encoding, TermEncoding};
    use crate::model::Conv;

    fn conv(c: usize, h: usize, f: usize, k: usize) -> Geometry {
        Geometry::Conv(Conv::square(c, (h, h), f, k, 1, k / 2, 1))
    }

    fn spec(weights: EncSpec, acts: EncSpec) -> GenSpec {
        GenSpec {
            weights,
            acts,
            ..GenSpec::default()
        }
    }

    #[test]
    fn same_seed_same_network_whatever_the_thread_count() {
        let s = GenSpec::default();
        let a = generate("resnet20", &s).unwrap();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let b = one.install(|| generate("resnet20", &s).unwrap());
        assert_eq!(a, b);
        let c = generate("resnet20", &GenSpec { seed: 2, ..s }).unwrap();
        assert_ne!(a.layers[5].weights, c.layers[5].weights);
        assert_ne!(a.layers[5].acts, c.layers[5].acts);
        assert_eq!(a.name, "resnet20");
        assert_eq!(
            a.source.as_deref(),
            Some("mltq gen resnet20 weights=ternary:2 acts=ternary:2 wd=0.35 ad=0.5 samples=1 seed=1")
        );
    }

    #[test]
    fn ternary_densities_are_exact_per_layer() {
        let net = generate("resnet20", &GenSpec::default()).unwrap();
        let (mut nz, mut all) = (0.0, 0.0);
        for l in &net.layers {
            let n = l.weights.len() as f64;
            // Layers up to 36864 weights span several chunks; the count is still exact.
            assert!(
                (l.weights.word_density() - 0.35).abs() <= 0.5 / n,
                "{}",
                l.name
            );
            let a = &l.acts[&0];
            assert!(
                (a.word_density() - 0.5).abs() <= 0.5 / a.len() as f64,
                "{}",
                l.name
            );
            nz += l.weights.word_density() * n;
            all += n;
        }
        assert!((nz / all - 0.35).abs() < 0.01);
    }

    #[test]
    fn pruned_weights_are_zero_at_every_level_and_survivors_lead_with_a_digit() {
        let g = conv(64, 8, 64, 3); // 36864 weights: three chunks
        let w = synthetic_weights(&g, EncSpec::Ternary(3), 0.2, 7).unwrap();
        let mut later = 0;
        for i in 0..w.len() {
            if w.digit(i, 0) == 0 {
                assert_eq!((w.digit(i, 1), w.digit(i, 2)), (0, 0), "element {i}");
            } else {
                later += (w.digit(i, 1) != 0) as usize;
            }
        }
        assert!(later > 0, "later levels refine some survivors");
        let s = w.scales();
        assert!(s[0] > s[1] && s[1] > s[2] && s[2] > 0.0, "{s:?}");
        // Level 0 is the pruning: its nonzero digits are exactly the nonzero words.
        let lead = (0..w.len()).filter(|&i| w.digit(i, 0) != 0).count();
        assert_eq!(lead, (0.2 * w.len() as f64).round() as usize);
        assert!((w.word_density() - 0.2).abs() < 1e-4);
    }

    #[test]
    fn relu_acts_lead_with_plus_one() {
        let a = synthetic_acts(&conv(16, 12, 16, 3), EncSpec::Ternary(2), 0.4, 3).unwrap();
        assert!((0..a.len()).all(|i| a.digit(i, 0) >= 0));
        assert!(
            (0..a.len()).any(|i| a.digit(i, 1) == -1) && (0..a.len()).any(|i| a.digit(i, 1) == 1)
        );
    }

    #[test]
    fn binary_digits_are_never_zero() {
        let net = synthesize(
            "b",
            vec![("c".into(), conv(8, 6, 8, 3))],
            &spec(EncSpec::Binary(3), EncSpec::Binary(2)),
        )
        .unwrap();
        let l = &net.layers[0];
        assert!(l
            .weights
            .all_terms(TermEncoding::Plain, None)
            .iter()
            .all(|&t| t == 3));
        assert_eq!(l.weights.word_density(), 1.0);
        let a = &l.acts[&0];
        assert!((0..a.len()).all(|i| a.digit(i, 0) == 1 && a.digit(i, 1) != 0));
        assert!(
            (0..a.len()).any(|i| a.digit(i, 1) == -1),
            "zeros and small values go below the first scale"
        );
        assert!(a.scales()[0] > 0.0 && a.scales()[1] > 0.0);
    }

    #[test]
    fn ints_fit_their_width_with_exact_density() {
        let g = conv(32, 10, 32, 3);
        let w = synthetic_weights(&g, EncSpec::Int(4), 0.3, 5).unwrap();
        assert!(matches!(
            w.encoding(),
            Encoding::Int {
                bits: 4,
                signed: true,
                precision: 4,
                scale: Some(_)
            }
        ));
        let v: Vec<i32> = (0..w.len()).map(|i| w.int_value(i).unwrap()).collect();
        assert_eq!(v.iter().map(|x| x.abs()).max(), Some(7));
        assert!(v.iter().any(|&x| x < 0) && v.iter().all(|&x| (-7..=7).contains(&x)));
        assert_eq!(
            v.iter().filter(|&&x| x != 0).count(),
            (0.3 * w.len() as f64).round() as usize
        );
        let a = synthetic_acts(&g, EncSpec::Int(8), 0.5, 5).unwrap();
        let v: Vec<i32> = (0..a.len()).map(|i| a.int_value(i).unwrap()).collect();
        assert_eq!(v.iter().max(), Some(&255));
        assert!(v.iter().all(|&x| x >= 0));
        assert!((a.word_density() - 0.5).abs() < 1e-3);
        assert!(matches!(
            a.encoding(),
            Encoding::Int {
                signed: false,
                bits: 8,
                ..
            }
        ));
        assert!(synthetic_acts(&g, EncSpec::Int(32), 0.5, 5).is_ok());
        let e = synthetic_weights(&g, EncSpec::Int(1), 0.3, 5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("int:2"), "{e}");
    }

    #[test]
    fn samples_are_numbered_and_differ() {
        let net = generate(
            "alexnet",
            &GenSpec {
                samples: 3,
                weights: EncSpec::Int(8),
                ..GenSpec::default()
            },
        );
        let net = net.unwrap();
        assert_eq!(net.samples(), vec![0, 1, 2]);
        let l = &net.layers[2];
        assert_ne!(l.acts[&0], l.acts[&1]);
        let none = generate(
            "resnet20",
            &GenSpec {
                samples: 0,
                ..GenSpec::default()
            },
        )
        .unwrap();
        assert!(none.samples().is_empty());
    }

    #[test]
    fn synthetic_acts_reproduce_gen() {
        let s = GenSpec {
            seed: 9,
            act_density: 0.3,
            ..GenSpec::default()
        };
        let net = generate("resnet20", &s).unwrap();
        let l = &net.layers[4];
        let a = synthetic_acts(
            &l.geom,
            s.acts,
            s.act_density,
            tensor_seed(9, 4, TensorKind::Acts, 0),
        )
        .unwrap();
        assert_eq!(a, l.acts[&0]);
    }

    fn int_values(t: &Tensor) -> Vec<i32> {
        (0..t.len()).map(|i| t.int_value(i).unwrap()).collect()
    }

    fn given(values: Vec<Option<u32>>) -> LayerPrecision {
        LayerPrecision::Given {
            values,
            from: "list".into(),
        }
    }

    #[test]
    fn default_options_change_nothing() {
        let s = GenSpec {
            weights: EncSpec::Int(8),
            acts: EncSpec::Int(8),
            samples: 2,
            ..GenSpec::default()
        };
        let a = generate("resnet20", &s).unwrap();
        let b = generate_with("resnet20", &s, &GenOptions::default()).unwrap();
        assert_eq!(a, b);
        // Explicit defaults too: the half-normal is the rectified Gaussian at density
        // 0.5, so `--act-dist gaussian` at 0.5 gives the same network.
        let c = generate_with(
            "resnet20",
            &s,
            &GenOptions {
                act_dist: ActDist::Gaussian,
                ..GenOptions::default()
            },
        )
        .unwrap();
        assert_eq!(a.layers, c.layers);
        assert_eq!(
            c.source.as_deref(),
            Some("mltq gen resnet20 weights=int:8 acts=int:8 wd=0.35 ad=0.5 samples=2 seed=1 adist=gaussian")
        );
    }

    /// At precision P the values are the P-bit quantization in the B-bit container: the
    /// same integers as generating int:P outright (same draws, same step), with
    /// `bits=B precision=P`, and their magnitudes fit in P bits.
    #[test]
    fn a_precision_quantizes_at_p_bits_in_the_b_bit_container() {
        let layers = vec![
            ("a".to_string(), conv(24, 10, 16, 3)),
            ("b".to_string(), conv(16, 10, 8, 1)),
            ("c".to_string(), Geometry::Fc { c: 800, f: 10 }),
        ];
        let spec16 = spec(EncSpec::Int(16), EncSpec::Int(16));
        let opts = GenOptions {
            weight_precision: given(vec![Some(6), None, Some(2)]),
            act_precision: given(vec![Some(5), Some(9), None]),
            ..GenOptions::default()
        };
        let net = synthesize_with("t", layers.clone(), &spec16, &opts).unwrap();
        assert_eq!(
            net.source.as_deref().unwrap(),
            "mltq gen t weights=int:16 acts=int:16 wd=0.35 ad=0.5 samples=1 seed=1 wprec=list:6,16,2 aprec=list:5,9,16"
        );
        for (i, (w, a)) in [(6u8, 5u8), (16, 9), (2, 16)].into_iter().enumerate() {
            let l = &net.layers[i];
            let (wt, at) = (&l.weights, &l.acts[&0]);
            assert!(
                matches!(wt.encoding(), Encoding::Int { bits: 16, precision, signed: true, .. } if *precision == w)
            );
            assert!(
                matches!(at.encoding(), Encoding::Int { bits: 16, precision, signed: false, .. } if *precision == a)
            );
            let (wv, av) = (int_values(wt), int_values(at));
            // The largest magnitude sits at the top of the P-bit range.
            assert_eq!(wv.iter().map(|x| x.abs()).max(), Some((1 << (w - 1)) - 1));
            assert_eq!(av.iter().max(), Some(&((1 << a) - 1)));
            // Outright int:P, drawn from the same seeds.
            let direct = synthesize(
                "t",
                vec![layers[i].clone()],
                &GenSpec {
                    weights: EncSpec::Int(w),
                    acts: EncSpec::Int(a),
                    ..spec16
                },
            )
            .unwrap();
            // Layer seeds depend on the layer index: compare layer 0 only directly.
            if i == 0 {
                assert_eq!(wv, int_values(&direct.layers[0].weights));
                assert_eq!(av, int_values(&direct.layers[0].acts[&0]));
            }
            // Densities are exact whatever the precision.
            let nz = wv.iter().filter(|&&x| x != 0).count();
            assert_eq!(nz, (0.35 * wv.len() as f64).round() as usize);
            let nz = av.iter().filter(|&&x| x != 0).count();
            assert_eq!(nz, (0.5 * av.len() as f64).round() as usize);
        }
    }

    #[test]
    fn precisions_are_checked_against_the_encodings() {
        let layers = vec![("a".to_string(), conv(4, 6, 4, 3))];
        let check = |w: EncSpec, a: EncSpec, opts: GenOptions| {
            synthesize_with("t", layers.clone(), &spec(w, a), &opts)
                .unwrap_err()
                .to_string()
        };
        let e = check(
            EncSpec::Int(8),
            EncSpec::Ternary(2),
            GenOptions {
                act_precision: given(vec![Some(4)]),
                ..GenOptions::default()
            },
        );
        assert_eq!(e, "activation precisions apply to int activations (int:B), but the activations are ternary:2; generate them as int:B or drop the activation precisions");
        let e = check(
            EncSpec::Int(8),
            EncSpec::Int(8),
            GenOptions {
                act_precision: given(vec![Some(9)]),
                ..GenOptions::default()
            },
        );
        assert_eq!(e, "layer `a`: activation precision 9 (list) is more than the int:8 width; generate int:9 activations or more, or give a smaller precision");
        let e = check(
            EncSpec::Int(8),
            EncSpec::Int(8),
            GenOptions {
                weight_precision: given(vec![Some(1)]),
                ..GenOptions::default()
            },
        );
        assert!(
            e.contains("weight precision 1 (list) is too small for signed values"),
            "{e}"
        );
        let e = check(
            EncSpec::Int(8),
            EncSpec::Int(8),
            GenOptions {
                weight_precision: given(vec![Some(4), Some(4)]),
                ..GenOptions::default()
            },
        );
        assert_eq!(
            e,
            "weight precisions (list): 2 values for 1 layers; give one per layer in order"
        );
        // Unsigned activations may have one bit.
        let net = synthesize_with(
            "t",
            layers.clone(),
            &spec(EncSpec::Int(8), EncSpec::Int(8)),
            &GenOptions {
                act_precision: given(vec![Some(1)]),
                ..GenOptions::default()
            },
        )
        .unwrap();
        assert!(int_values(&net.layers[0].acts[&0]).iter().all(|&x| x <= 1));
    }

    /// The slow, literal reading of the profile: dequantize at every precision and
    /// measure the relative L2 error against the drawn values, element by element.
    fn slow_rel_error(values: &[f64], p: u8, signed: bool) -> f64 {
        let qmax = if signed {
            (1i64 << (p - 1)) - 1
        } else {
            (1i64 << p) - 1
        };
        let max = values.iter().fold(0.0f64, |a, &b| a.max(b.abs()));
        let step = max / qmax as f64;
        let (mut e, mut n) = (0.0, 0.0);
        for &x in values {
            if x == 0.0 {
                continue;
            }
            let q = ((x.abs() / step).round() as i64).clamp(1, qmax) as f64;
            e += (x.abs() - q * step).powi(2);
            n += x * x;
        }
        (e / n).sqrt()
    }

    #[test]
    fn profiled_precisions_are_the_smallest_within_the_tolerance() {
        let g = conv(48, 20, 32, 3); // 19200 activations, 13824 weights: several chunks
        let relu = Draw {
            keep: 0.4,
            dense: false,
            signed: false,
            mag: Magnitude::acts(ActDist::Gaussian, 0.4),
        };
        let seeds = [
            tensor_seed(3, 0, TensorKind::Acts, 0),
            tensor_seed(3, 0, TensorKind::Acts, 1),
        ];
        let n = 48 * 20 * 20;
        // Drawn values, as f32 like the generator keeps them.
        let values: Vec<Vec<f64>> = seeds
            .iter()
            .map(|&s| {
                draw(n, s, &relu)
                    .iter()
                    .flat_map(|c| c.mag.iter().map(|&m| m as f64))
                    .collect()
            })
            .collect();
        for tol in [0.05, 0.01, 0.002] {
            let err = |p: u8| {
                // Both samples together: Σ errors² / Σ norms², each with its own step.
                let (mut e, mut nn) = (0.0, 0.0);
                for v in &values {
                    let r = slow_rel_error(v, p, false);
                    let norm: f64 = v.iter().map(|x| x * x).sum();
                    e += r * r * norm;
                    nn += norm;
                }
                (e / nn).sqrt()
            };
            let want = (1..=16u8).find(|&p| err(p) <= tol).unwrap();
            let t = acts_of(
                &g,
                EncSpec::Int(16),
                0.4,
                &seeds,
                ActDist::Gaussian,
                Prec::Profile(tol),
            )
            .unwrap();
            for a in &t {
                assert_eq!(a.encoding().serial_planes(), want as u32, "tolerance {tol}");
            }
            assert!(want > 1 && err(want - 1) > tol);
        }
        // Weights: signed, from 2 bits.
        let w = weights_of(
            &g,
            EncSpec::Int(16),
            0.3,
            9,
            WeightDist::Laplace,
            Prec::Profile(0.01),
        )
        .unwrap();
        let p = w.encoding().serial_planes() as u8;
        let pruned = Draw {
            keep: 0.3,
            dense: false,
            signed: true,
            mag: Magnitude::weights(WeightDist::Laplace, (2.0f64 / (48.0 * 9.0)).sqrt(), 0.3),
        };
        let v: Vec<f64> = draw(13824, 9, &pruned)
            .iter()
            .flat_map(|c| c.mag.iter().map(|&m| m as f64))
            .collect();
        assert!(
            slow_rel_error(&v, p, true) <= 0.01 && slow_rel_error(&v, p - 1, true) > 0.01,
            "{p}"
        );
    }

    /// Share of a tensor's nonzero values (dequantized) at or below x.
    fn share_below(t: &Tensor, x: f64) -> f64 {
        let Encoding::Int { scale: Some(s), .. } = *t.encoding() else {
            panic!("int tensor")
        };
        let v: Vec<f64> = int_values(t)
            .iter()
            .filter(|&&q| q != 0)
            .map(|&q| q.abs() as f64 * s as f64)
            .collect();
        v.iter().filter(|&&m| m <= x).count() as f64 / v.len() as f64
    }

    /// Each law's median, derived by hand, splits the generated values in half (fixed
    /// seeds, int:16 so that quantization does not move them; within about three
    /// standard errors of a share of that many values).
    #[test]
    fn distributions_have_their_medians() {
        let g = conv(64, 32, 64, 3); // 36864 weights (fan-in 576), 65536 activations
        let sigma = (2.0f64 / 576.0).sqrt();
        for (dist, median) in [
            (WeightDist::Gaussian, 0.674489750 * sigma),
            (WeightDist::Laplace, sigma / 2f64.sqrt() * 2f64.ln()),
            (WeightDist::Uniform, sigma * 3f64.sqrt() / 2.0),
        ] {
            let w = weights_of(&g, EncSpec::Int(16), 1.0, 1, dist, Prec::Full).unwrap();
            let s = share_below(&w, median);
            assert!((s - 0.5).abs() < 0.01, "{dist}: {s}");
        }
        // Pruned to 20 %: the survivors' median is the law's 90th percentile of |w|.
        let w = weights_of(
            &g,
            EncSpec::Int(16),
            0.2,
            1,
            WeightDist::Laplace,
            Prec::Full,
        )
        .unwrap();
        // (7373 survivors: one standard error of the share is 0.006.)
        let s = share_below(&w, sigma / 2f64.sqrt() * 10f64.ln());
        assert!((s - 0.5).abs() < 0.02, "{s}");
        for (dist, d, median) in [
            (ActDist::HalfNormal, 0.3, 0.674489750),
            // μ = Φ⁻¹(0.2) = −0.841621234; the positive part's median μ − Φ⁻¹(0.1).
            (ActDist::Gaussian, 0.2, 1.281551566 - 0.841621234),
            // μ = Φ⁻¹(0.8) = 0.841621234; median μ − Φ⁻¹(0.4) = μ + 0.253347103.
            (ActDist::Gaussian, 0.8, 0.841621234 + 0.253347103),
            // Density ≤ ½: exponential positives of scale 1/√2, median ln 2 / √2.
            (ActDist::Laplace, 0.3, 2f64.ln() / 2f64.sqrt()),
            (ActDist::Uniform, 0.6, 0.5),
        ] {
            let a = acts_of(&g, EncSpec::Int(16), d, &[5], dist, Prec::Full).unwrap();
            // At least 13107 nonzero values: one standard error of the share is 0.0044.
            let s = share_below(&a[0], median);
            assert!((s - 0.5).abs() < 0.015, "{dist} at {d}: {s}");
            assert!((a[0].word_density() - d).abs() < 1e-4);
        }
    }

    /// Bit density of uniform activations by hand: quantized to 8 bits they are uniform
    /// over 1..=255, whose mean popcount is 4 (half the bits), so over the 8 planes a
    /// nonzero value has bit density ½ and the tensor d/2.
    #[test]
    fn uniform_activations_set_half_their_bits() {
        let g = conv(64, 32, 8, 1); // 65536 activations
        let a = acts_of(&g, EncSpec::Int(8), 0.4, &[2], ActDist::Uniform, Prec::Full).unwrap();
        let dd = a[0].digit_density();
        assert!((dd - 0.2).abs() < 0.003, "{dd}");
        // At precision 4 in int:16: q = round(15·v), v uniform on (0, 1]: 1..=14 with
        // probability 1/15 each (28 set bits), 15 with 1/30, and 0 (raised to 1) with
        // 1/30: a mean of 28/15 + (4 + 1)/30 set bits over the 4 planes.
        let a = acts_of(
            &g,
            EncSpec::Int(16),
            0.4,
            &[2],
            ActDist::Uniform,
            Prec::At(4),
        )
        .unwrap();
        // (Tensor::digit_density counts over the 16 planes of the container.)
        let bits: u32 = int_values(&a[0]).iter().map(|x| x.count_ones()).sum();
        let dd = bits as f64 / (a[0].len() as f64 * 4.0);
        let want = 0.4 * (28.0 / 15.0 + 5.0 / 30.0) / 4.0;
        assert!((dd - want).abs() < 0.003, "{dd} vs {want}");
    }

    #[test]
    fn density_extremes() {
        let g = conv(4, 9, 4, 3);
        let w = synthetic_weights(&g, EncSpec::Ternary(2), 0.0, 1).unwrap();
        assert_eq!(w.word_density(), 0.0);
        assert_eq!(w.scales(), &[0.0, 0.0]);
        let w = synthetic_weights(&g, EncSpec::Ternary(2), 1.0, 1).unwrap();
        assert_eq!(w.word_density(), 1.0);
        let a = synthetic_acts(&g, EncSpec::Int(4), 0.0, 1).unwrap();
        assert_eq!(a.word_density(), 0.0);
    }

    #[test]
    fn bad_input_is_refused_clearly() {
        let e = generate(
            "resnet20",
            &GenSpec {
                weight_density: 1.5,
                ..GenSpec::default()
            },
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("weight density must be in [0, 1]"),
            "{e}"
        );
        let e = generate(
            "resnet20",
            &GenSpec {
                act_density: f64::NAN,
                ..GenSpec::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("activation density"), "{e}");
        let e = generate("vgg61", &GenSpec::default()).unwrap_err();
        assert!(e.to_string().contains("did you mean `vgg16`?"), "{e}");
        let e = generate("resnet20", &spec(EncSpec::Ternary(9), EncSpec::Ternary(2))).unwrap_err();
        assert!(e.to_string().contains("bad encoding `ternary:9`"), "{e}");
        let twice = vec![
            ("a".to_string(), conv(1, 4, 1, 1)),
            ("a".to_string(), conv(1, 4, 1, 1)),
        ];
        let e = synthesize("x", twice, &GenSpec::default()).unwrap_err();
        assert!(e.to_string().contains("`a` appears twice"), "{e}");
        let Geometry::Conv(c) = conv(3, 4, 2, 1) else {
            unreachable!()
        };
        let bad = vec![("a".to_string(), Geometry::Conv(Conv { groups: 2, ..c }))];
        let e = synthesize("x", bad, &GenSpec::default()).unwrap_err();
        assert!(e.to_string().starts_with("layer `a`: "), "{e}");
    }

    #[test]
    fn normal_quantiles() {
        for (p, x) in [
            (0.5, 0.0),
            (0.025, -1.959963985),
            (0.001, -3.090232306),
            (0.841344746, 1.0),
            (1e-9, -5.997807015),
        ] {
            assert!(
                (inv_normal_cdf(p) - x).abs() < 1e-6 * x.abs().max(1.0),
                "{p}: {}",
                inv_normal_cdf(p)
            );
        }
    }

    /// `cargo test --no-default-features --lib gen::tests::timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn timing() {
        for name in ["resnet50", "vgg16"] {
            let t = std::time::Instant::now();
            let net = generate(name, &GenSpec::default()).unwrap();
            eprintln!("{name}: {} weights, {:?}", net.weight_count(), t.elapsed());
        }
    }
}
