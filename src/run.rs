//! Simulating a whole network on an arch: every layer under every scheme, in parallel
//! across layers (rayon; a layer's schemes share its prepared operands), gathered in
//! file order so output never depends on the thread count. All checks that tie the
//! arch to the model run before any layer is simulated.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use rayon::prelude::*;

use crate::arch::{Arch, ArrayShape};
use crate::cost::{self, LayerCost};
use crate::encoding::{EncSpec, Encoding};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Geometry, Layer, Network};
use crate::scheme::WeightSchedule;
use crate::sim::{self, simulate_schemes_with, LayerRun, ScheduleCache};
use crate::tensor::Tensor;

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
    /// Each scheme's weight schedule, if any (same order).
    pub schedules: Vec<Option<WeightSchedule>>,
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
    /// `costs[layer][scheme]`: footprints, traffic, memory cycles, energy.
    pub costs: Vec<Vec<LayerCost>>,
    /// Per scheme, the area (mm²) of its hardware for this network.
    pub areas: Vec<f64>,
    /// The cost parameters in force.
    pub cost: cost::params::Params,
}

/// Which activations a run simulates: `mltq simulate`'s `--sample K`, `--all-samples`,
/// or `--act-density D --seed S [--act-enc ENC] [--sample K]`.
#[derive(Clone, Debug, PartialEq)]
pub enum ActsChoice {
    /// The model's activations of one sample.
    Sample(u32),
    /// The model's activations of every sample it has.
    AllSamples,
    /// Seeded synthetic activations in place of the model's, numbered `sample`.
    Synthetic {
        sample: u32,
        /// Their encoding (default: the weights' kind and levels or bits).
        enc: Option<EncSpec>,
        density: f64,
        seed: u64,
    },
}

/// Settle what a run simulates, before any work: synthetic activations are drawn into
/// `net` (cloned first when borrowed), then every sample is checked against every
/// scheme of `arch` and every layer ([`check`]). `model` and `arch_name` (as the user
/// gave them) name the inputs in messages.
pub fn prepare(
    net: &mut Cow<'_, Network>,
    arch: &Arch,
    choice: &ActsChoice,
    model: &str,
    arch_name: &str,
) -> Result<Vec<ActSource>> {
    let sources = match *choice {
        ActsChoice::Synthetic {
            sample,
            enc,
            density,
            seed,
        } => {
            let enc = enc.unwrap_or_else(|| default_act_enc(net));
            crate::gen::fill_synthetic_acts(net.to_mut(), enc, density, seed, sample)?;
            vec![ActSource::Synthetic {
                sample,
                encoding: enc.to_string(),
                density,
                seed,
            }]
        }
        ActsChoice::AllSamples => {
            let s = net.samples();
            if s.is_empty() {
                return Err(Error::invalid(format!(
                    "model {model} has no activations; simulate synthetic ones with --act-density D --seed S"
                )));
            }
            s.into_iter()
                .map(|sample| ActSource::Sample { sample })
                .collect()
        }
        ActsChoice::Sample(sample) => vec![ActSource::Sample { sample }],
    };
    for s in &sources {
        check(net, arch, s.sample()).map_err(|e| {
            let place = match e.kind() {
                ErrorKind::Mismatch { .. } => format!("{arch_name} on {model}"),
                _ => model.to_string(),
            };
            Error::invalid(format!("{place}: {e}"))
        })?;
    }
    Ok(sources)
}

/// Synthetic activations default to the weights' kind: ternary:L, binary:L or int:B.
fn default_act_enc(net: &Network) -> EncSpec {
    match net.layers.first().map(|l| *l.weights.encoding()) {
        Some(Encoding::Binary { levels, .. }) => EncSpec::Binary(levels),
        Some(Encoding::Int { bits, .. }) => EncSpec::Int(bits),
        Some(Encoding::Ternary { levels, .. }) => EncSpec::Ternary(levels),
        None => EncSpec::Ternary(2),
    }
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
                "layer `{}` has no activations for sample {sample} (samples in the file: {have}); \
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
    simulate_with(net, arch, acts, progress, None)
}

/// Called with a layer's index and its results and costs (one per scheme, arch order) as
/// soon as that layer and every layer before it are done: always in file order.
pub type OnLayer<'a> = &'a (dyn Fn(usize, &[LayerRun], &[LayerCost]) -> Result<()> + Sync);

/// One layer under every scheme of `arch`, each on its own array: schemes with equal
/// arrays are simulated together (sharing the layer's prepared operands), results in
/// the arch's order.
pub fn simulate_layer(layer: &Layer, acts: &Tensor, arch: &Arch) -> Result<Vec<LayerRun>> {
    simulate_layer_with(layer, acts, arch, sim::Options::default())
}

/// [`simulate_layer`] with `opts`: for one sample of several, sharing their weight
/// schedules through `opts.cache`; with the lane-cycles by cause if `opts.gap`.
pub fn simulate_layer_with(
    layer: &Layer,
    acts: &Tensor,
    arch: &Arch,
    opts: sim::Options,
) -> Result<Vec<LayerRun>> {
    let arrays: Vec<ArrayShape> = (0..arch.schemes.len()).map(|i| arch.array_of(i)).collect();
    let mut out: Vec<Option<LayerRun>> = vec![None; arch.schemes.len()];
    let mut done = vec![false; arch.schemes.len()];
    for i in 0..arch.schemes.len() {
        if done[i] {
            continue;
        }
        let same: Vec<usize> = (i..arch.schemes.len())
            .filter(|&j| !done[j] && arrays[j] == arrays[i])
            .collect();
        let schemes: Vec<_> = same.iter().map(|&j| arch.schemes[j].clone()).collect();
        let runs = simulate_schemes_with(layer, acts, &schemes, &arrays[i], opts)?;
        for (&j, r) in same.iter().zip(runs) {
            done[j] = true;
            out[j] = Some(r);
        }
    }
    Ok(out
        .into_iter()
        .map(|r| r.expect("every scheme ran"))
        .collect())
}

/// [`simulate`], also handing each finished layer to `on_layer` in file order (layers
/// that finish early wait for the ones before them). An error from `on_layer` stops the
/// run: layers not yet started are skipped and the error is returned.
pub fn simulate_with(
    net: &Network,
    arch: &Arch,
    acts: ActSource,
    progress: &(dyn Fn() + Sync),
    on_layer: Option<OnLayer<'_>>,
) -> Result<Run> {
    simulate_sample(net, arch, acts, progress, on_layer, sim::Options::default())
}

/// Every sample of `sources` (as [`prepare`] gives them), in parallel, results in their
/// order (the first error in that order if any fails). The samples share their weight
/// schedules: each layer's is built once for the whole run.
pub fn simulate_samples(
    net: &Network,
    arch: &Arch,
    sources: Vec<ActSource>,
    progress: &(dyn Fn() + Sync),
    on_layer: Option<OnLayer<'_>>,
) -> Result<Vec<Run>> {
    simulate_samples_with(net, arch, sources, progress, on_layer, false)
}

/// [`simulate_samples`], with every run's lane-cycles broken down by cause when `gap`
/// (`mltq simulate --gap`; see [`crate::sim::gap`]).
pub fn simulate_samples_with(
    net: &Network,
    arch: &Arch,
    sources: Vec<ActSource>,
    progress: &(dyn Fn() + Sync),
    on_layer: Option<OnLayer<'_>>,
    gap: bool,
) -> Result<Vec<Run>> {
    let cache = (sources.len() > 1).then(|| ScheduleCache::new(sources.len()));
    let opts = sim::Options {
        cache: cache.as_ref(),
        gap,
    };
    sources
        .into_par_iter()
        .map(|src| simulate_sample(net, arch, src, progress, on_layer, opts))
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// [`simulate_with`] with `opts`: for one sample of a run of several that share their
/// weight schedules through `opts.cache` (a layer's schedule depends on its weights
/// alone); with every layer's lane-cycles by cause if `opts.gap`.
pub fn simulate_sample(
    net: &Network,
    arch: &Arch,
    acts: ActSource,
    progress: &(dyn Fn() + Sync),
    on_layer: Option<OnLayer<'_>>,
    opts: sim::Options,
) -> Result<Run> {
    let sample = acts.sample();
    check(net, arch, sample)?;
    // One task per layer: its schemes share the layer's terms and layouts.
    let order = Mutex::new(InOrder {
        slots: vec![None; net.layers.len()],
        next: 0,
    });
    let failed: Mutex<Option<Error>> = Mutex::new(None);
    let stop = AtomicBool::new(false);
    (0..net.layers.len()).into_par_iter().for_each(|l| {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let layer = &net.layers[l];
        let acts = &layer.acts[&sample];
        let r = simulate_layer_with(layer, acts, arch, opts).map(|runs| {
            let costs = cost::layer_costs(&cost::LayerStats::new(layer, acts), arch, &runs);
            (runs, costs)
        });
        for _ in &arch.schemes {
            progress();
        }
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                lock(&failed).get_or_insert(e);
                return;
            }
        };
        let mut o = lock(&order);
        o.slots[l] = Some(r);
        while o.next < o.slots.len() && o.slots[o.next].is_some() {
            let n = o.next;
            o.next += 1;
            if let Some(sink) = on_layer {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let (runs, costs) = o.slots[n].as_ref().expect("just checked");
                if let Err(e) = sink(n, runs, costs) {
                    stop.store(true, Ordering::Relaxed);
                    lock(&failed).get_or_insert(e);
                    break;
                }
            }
        }
    });
    if let Some(e) = failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let o = order.into_inner().unwrap_or_else(|e| e.into_inner());
    let (runs, costs): (Vec<Vec<LayerRun>>, Vec<Vec<LayerCost>>) = o
        .slots
        .into_iter()
        .map(|l| l.expect("every layer ran"))
        .unzip();
    Ok(Run {
        network: net.name.clone(),
        arch: arch.name.clone(),
        schemes: arch.schemes.iter().map(|s| s.name.clone()).collect(),
        schedules: arch.schemes.iter().map(|s| s.weight_schedule).collect(),
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
        costs,
        areas: cost::areas(arch, net, sample),
        cost: arch.cost,
    })
}

/// Finished layers waiting for the layers before them.
struct InOrder {
    /// `slots[layer]`: one run and one cost per scheme once the layer is done.
    slots: Vec<Option<(Vec<LayerRun>, Vec<LayerCost>)>>,
    /// The next layer to hand out.
    next: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::{synthesize, GenSpec};
    use crate::model::Conv;

    /// Three samples of a grouped conv and an FC layer under two schedule patterns (one
    /// shared by two schemes): each layer, group and pattern's schedule is built once for
    /// the three samples, and each sample's run is the one it gets alone.
    #[test]
    fn samples_share_their_weight_schedules() {
        let layers = vec![
            (
                "c1".to_string(),
                Geometry::Conv(Conv::square(8, (5, 5), 6, 3, 1, 1, 2)),
            ),
            ("fc".to_string(), Geometry::Fc { c: 40, f: 7 }),
        ];
        let spec = GenSpec {
            samples: 3,
            ..GenSpec::default()
        };
        let net = synthesize("tiny", layers, &spec).unwrap();
        let arch = Arch::parse(
            "name = \"t\"\nbaseline = \"mlb\"\n\
             schemes = [\"mlb\", \"bittactical\", \"bittactical-e\", \"bit-l\"]\n\
             [array]\ntiles = 2\nrows = 2\ncolumns = 3\nlanes = 4\n\
             [[scheme]]\nname = \"bit-l\"\nbase = \"mltq-bit\"\n\
             weight_schedule = { shape = \"L\", lookahead = 1, lookaside = 2 }\n",
            "t.toml",
        )
        .unwrap();
        let cache = ScheduleCache::new(3);
        for sample in 0..3 {
            let src = || ActSource::Sample { sample };
            let opts = sim::Options {
                cache: Some(&cache),
                gap: false,
            };
            let shared = simulate_sample(&net, &arch, src(), &|| {}, None, opts).unwrap();
            let alone = simulate(&net, &arch, src(), &|| {}).unwrap();
            assert_eq!(shared.runs, alone.runs, "sample {sample}");
        }
        // conv: 2 groups × 2 patterns; fc: 1 group × 2 patterns.
        assert_eq!(cache.built(), 6);
        // In parallel, as `mltq simulate --all-samples` runs them: the same runs.
        let sources: Vec<ActSource> = (0..3).map(|sample| ActSource::Sample { sample }).collect();
        let all = simulate_samples(&net, &arch, sources, &|| {}, None).unwrap();
        for (sample, r) in all.iter().enumerate() {
            let alone = simulate(
                &net,
                &arch,
                ActSource::Sample {
                    sample: sample as u32,
                },
                &|| {},
            );
            assert_eq!(r.runs, alone.unwrap().runs);
        }
    }
}
