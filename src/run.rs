//! Simulating a whole network on an arch: every layer under every scheme, in parallel
//! across layers (rayon; a layer's schemes share its prepared operands), gathered in
//! file order so output never depends on the thread count. All checks that tie the arch to the model run before any layer is simulated.

use rayon::prelude::*;

use crate::arch::Arch;
use crate::error::{Error, Result};
use crate::model::{Geometry, Network};
use crate::sim::{simulate_schemes, LayerRun};

/// Where a run's activations came from.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ActSource {
    /// The model's own activations for this sample.
    Sample { sample: u32 },
    /// Seeded synthetic activations (`--act-density D --seed S`).
    Synthetic {
        sample: u32,
        encoding: String,
        density: f64,
        seed: u64,
    },
}

impl ActSource {
    /// The sample index simulated.
    pub fn sample(&self) -> u32 {
        match *self {
            ActSource::Sample { sample } | ActSource::Synthetic { sample, .. } => sample,
        }
    }
}

/// One layer of a run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LayerInfo {
    /// Layer name.
    pub name: String,
    /// Geometry.
    pub geometry: String,
    /// "conv" or "fc".
    pub op: &'static str,
}

/// Every scheme of an arch on every layer of a network, for one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// Network name.
    pub network: String,
    /// Arch name.
    pub arch: String,
    /// Scheme names, in the arch's order.
    pub schemes: Vec<String>,
    /// Index of the baseline scheme.
    pub baseline: usize,
    /// Clock (GHz), for times.
    pub clock_ghz: f64,
    /// Where the activations came from.
    pub acts: ActSource,
    /// Layers in file order.
    pub layers: Vec<LayerInfo>,
    /// `runs[layer][scheme]`.
    pub runs: Vec<Vec<LayerRun>>,
}

/// Check that every scheme can run on every layer and that each layer has activations
/// for `sample`; nothing is simulated before this passes.
pub fn check(net: &Network, arch: &Arch, sample: u32) -> Result<()> {
    for layer in &net.layers {
        let Some(acts) = layer.acts.get(&sample) else {
            let have = layer.acts.keys().map(|k| k.to_string()).collect::<Vec<_>>();
            let have = if have.is_empty() {
                "none".to_string()
            } else {
                have.join(", ")
            };
            return Err(Error::invalid(format!(
                "layer '{}' has no activations for sample {sample} (samples in the file: {have}); \
                 pick one with --sample K, or simulate synthetic activations with --act-density D --seed S",
                layer.name
            )));
        };
        for s in &arch.schemes {
            s.check_layer(&layer.name, layer.weights.encoding(), acts.encoding())?;
        }
    }
    Ok(())
}

/// Simulate `net` on `arch` with the activations of `acts.sample()`.
/// `progress` is called once per finished (layer, scheme) pair.
pub fn simulate(
    net: &Network,
    arch: &Arch,
    acts: ActSource,
    progress: &(dyn Fn() + Sync),
) -> Result<Run> {
    let sample = acts.sample();
    check(net, arch, sample)?;
    // One task per layer: its schemes share the layer's terms and layouts.
    let runs: Vec<Vec<LayerRun>> = net
        .layers
        .par_iter()
        .map(|layer| {
            let r = simulate_schemes(layer, &layer.acts[&sample], &arch.schemes, &arch.array);
            for _ in &arch.schemes {
                progress();
            }
            r
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Run {
        network: net.name.clone(),
        arch: arch.name.clone(),
        schemes: arch.schemes.iter().map(|s| s.name.clone()).collect(),
        baseline: arch.baseline,
        clock_ghz: arch.clock_ghz,
        acts,
        layers: net
            .layers
            .iter()
            .map(|l| LayerInfo {
                name: l.name.clone(),
                geometry: l.geom.describe(),
                op: match l.geom {
                    Geometry::Conv(_) => "conv",
                    Geometry::Fc { .. } => "fc",
                },
            })
            .collect(),
        runs,
    })
}
