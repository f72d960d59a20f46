//! The cycle model (docs/cycle-model.md): per layer and scheme, cycles on the PE array,
//! work (potentials) and utilization counters.
//!
//! `operand` turns tensors into per-value factors and brick layouts; `group` holds what
//! a group's schemes share (bricks, maxima, step costs); `conv` and `fc` run the loop
//! nests; `step`, `window` and `first_stage` are the PE families (what a PE
//! spends per sync unit); `schedule` is Bit-Tactical's weight schedule in front of the
//! step-synchronous PEs (docs/weight-scheduling.md); `columns` adds sync units up;
//! `potential` sums work; `reference` is the slow, literal reading of the spec that
//! tests compare against.

pub mod columns;
pub mod conv;
#[cfg(test)]
mod fast_paths;
pub mod fc;
pub mod first_stage;
pub mod gap;
mod group;
pub mod operand;
pub mod potential;
pub mod reference;
pub mod schedule;
pub mod step;
#[cfg(test)]
pub(crate) mod strategies;
pub mod window;

use crate::arch::ArrayShape;
use crate::encoding::TermEncoding;
use crate::error::Result;
use crate::model::{Geometry, Layer};
use crate::scheme::{Operand, Scheme, SyncMode, WeightSchedule};
use crate::tensor::Tensor;
use operand::{Rule, TermKey};
pub use schedule::ScheduleCache;

/// What one scheme did on one layer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LayerRun {
    /// Multiply-accumulates of the layer (padding positions included).
    pub macs: u64,
    /// Cycles on the array.
    pub cycles: u64,
    /// Work: Σ over MACs of the two work factors.
    pub work: u64,
    /// Σ over MACs of the pair cost (lane-cycles spent on the scheme's own work).
    pub busy_lane_cycles: u64,
    /// cycles × every lane of the array.
    pub lane_cycles: u64,
    /// What the weight schedule did, for a scheme with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleCounts>,
    /// Where `lane_cycles` went (busy and the causes of loss), when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap: Option<gap::Gap>,
}

/// What a weight schedule did on a layer (docs/weight-scheduling.md, "Reports").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScheduleCounts {
    /// Σ over sync units of their calls: the steps the schedule kept.
    pub kept_steps: u64,
    /// Σ over sync units of the steps they take without a schedule.
    pub steps: u64,
    /// Weights moved by the schedule, counted once per buffer set.
    pub promoted: u64,
}

impl ScheduleCounts {
    /// Element-wise sum (totals over layers).
    pub fn add(&self, o: &ScheduleCounts) -> ScheduleCounts {
        ScheduleCounts {
            kept_steps: self.kept_steps.saturating_add(o.kept_steps),
            steps: self.steps.saturating_add(o.steps),
            promoted: self.promoted.saturating_add(o.promoted),
        }
    }

    /// Steps the schedule removed: `steps − kept_steps`.
    pub fn removed(&self) -> u64 {
        self.steps.saturating_sub(self.kept_steps)
    }
}

/// What a scheduled scheme's schedule did on a layer, as the loop nests report it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scheduled {
    pub counts: ScheduleCounts,
    /// Per index of `potential::Stats` (the layer's channel ·KH·KW + ky·KW + kx), the
    /// zero weights no kept step pairs in place (filled only where a zero weight's
    /// cycle factor is not 0).
    pub removed: Vec<u64>,
}

impl LayerRun {
    /// Share of the array's lane-cycles doing the scheme's work (0 when no cycles).
    pub fn utilization(&self) -> f64 {
        if self.lane_cycles == 0 {
            0.0
        } else {
            self.busy_lane_cycles as f64 / self.lane_cycles as f64
        }
    }
}

/// Which PE family a scheme's cost comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Lanes sync every step: max over lanes of the pair cost.
    Step,
    /// Lanes sync per window set: max over lanes of the summed pair cost.
    Window,
    /// Step sync with Pragmatic's two-stage shifter on one serial operand.
    FirstStage { serial: Operand, bits: u32 },
}

impl Family {
    /// The family of a scheme.
    pub fn of(s: &Scheme) -> Family {
        match (s.first_stage_operand(), s.first_stage_bits) {
            (Some(serial), Some(bits)) => Family::FirstStage { serial, bits },
            _ if s.sync == SyncMode::Window => Family::Window,
            _ => Family::Step,
        }
    }
}

/// One scheme's view of a layer's [`Operands`]: everything the engine reads of the
/// scheme, so two schemes with equal views simulate alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemeOps {
    /// Index of the weight terms in `Operands::weight_terms`.
    pub w: usize,
    /// Index of the activation terms in `Operands::act_terms`.
    pub a: usize,
    /// How the weights are treated.
    pub weight_rule: Rule,
    /// How the activations are treated.
    pub act_rule: Rule,
    /// The PE family.
    pub family: Family,
    /// The scheme's term encoding (term positions of first-stage operands).
    pub term_encoding: TermEncoding,
    /// The least every PE holding a window and a filter spends per sync unit.
    pub min_cycles: u32,
    /// The weight schedule, if any.
    pub schedule: Option<WeightSchedule>,
}

/// The operands of one layer as a set of schemes sees them: `terms(x)` of each tensor,
/// computed once per distinct [`TermKey`] and shared by every scheme with that key, and
/// per scheme which of them it reads and how.
pub struct Operands<'t> {
    /// The layer's weights.
    pub weights: &'t Tensor,
    /// The activations simulated.
    pub acts: &'t Tensor,
    /// terms(x) of every weight, per distinct key.
    pub weight_terms: Vec<(TermKey, Vec<u8>)>,
    /// terms(x) of every activation, per distinct key.
    pub act_terms: Vec<(TermKey, Vec<u8>)>,
    /// One entry per scheme, in order.
    pub schemes: Vec<SchemeOps>,
}

impl<'t> Operands<'t> {
    /// Prepare a layer's operands for `schemes`.
    pub fn new(weights: &'t Tensor, acts: &'t Tensor, schemes: &[Scheme]) -> Operands<'t> {
        let mut weight_terms: Vec<(TermKey, Vec<u8>)> = Vec::new();
        let mut act_terms: Vec<(TermKey, Vec<u8>)> = Vec::new();
        let index = |list: &mut Vec<(TermKey, Vec<u8>)>, t: &Tensor, key: TermKey| {
            list.iter().position(|(k, _)| *k == key).unwrap_or_else(|| {
                list.push((key, key.terms(t)));
                list.len() - 1
            })
        };
        let schemes = schemes
            .iter()
            .map(|s| SchemeOps {
                w: index(
                    &mut weight_terms,
                    weights,
                    TermKey::of(weights, s, Operand::Weight),
                ),
                a: index(&mut act_terms, acts, TermKey::of(acts, s, Operand::Act)),
                weight_rule: Rule::new(s, Operand::Weight, weights.encoding()),
                act_rule: Rule::new(s, Operand::Act, acts.encoding()),
                family: Family::of(s),
                term_encoding: s.term_encoding,
                min_cycles: s.min_cycles,
                schedule: s.weight_schedule,
            })
            .collect();
        Operands {
            weights,
            acts,
            weight_terms,
            act_terms,
            schemes,
        }
    }
}

/// Simulate one layer under one scheme with the given input activations.
pub fn simulate_layer(
    layer: &Layer,
    acts: &Tensor,
    scheme: &Scheme,
    array: &ArrayShape,
) -> Result<LayerRun> {
    let mut runs = simulate_schemes(layer, acts, std::slice::from_ref(scheme), array)?;
    Ok(runs.pop().expect("one run per scheme"))
}

/// Simulate one layer under every scheme of `schemes` (results in the same order). The
/// schemes share the layer's terms, brick layouts and potential statistics, so this is
/// cheaper than one [`simulate_layer`] per scheme. Single-threaded and deterministic.
pub fn simulate_schemes(
    layer: &Layer,
    acts: &Tensor,
    schemes: &[Scheme],
    array: &ArrayShape,
) -> Result<Vec<LayerRun>> {
    simulate_schemes_with(layer, acts, schemes, array, Options::default())
}

/// What a simulation does beyond cycles and potentials.
#[derive(Clone, Copy, Default)]
pub struct Options<'c> {
    /// For one sample of a run of several: the weight schedules, kept so that every
    /// sample uses the one built for the first.
    pub cache: Option<&'c ScheduleCache>,
    /// Break each run's lane-cycles down by cause ([`gap::Gap`]): a loop of the order
    /// of the MACs (see [`gap`]).
    pub gap: bool,
}

/// [`simulate_schemes`] with `opts`: schedules shared with other samples, the
/// lane-cycles by cause.
pub fn simulate_schemes_with(
    layer: &Layer,
    acts: &Tensor,
    schemes: &[Scheme],
    array: &ArrayShape,
    opts: Options,
) -> Result<Vec<LayerRun>> {
    for s in schemes {
        s.check_layer(&layer.name, layer.weights.encoding(), acts.encoding())?;
        s.check_array(array)?;
    }
    let used = used_array(&layer.geom, array);
    if used.lanes < array.lanes && schemes.iter().any(|s| s.weight_schedule.is_some()) {
        // A schedule moves weights across every lane of the PE (lanes past the channels
        // hold zeros that neighbours may fill): scheduled schemes run on all the lanes,
        // the others on the few the layer can use.
        let sched = ArrayShape {
            lanes: array.lanes,
            ..used
        };
        let mut out: Vec<Option<LayerRun>> = vec![None; schemes.len()];
        for with in [false, true] {
            let idx: Vec<usize> = (0..schemes.len())
                .filter(|&i| schemes[i].weight_schedule.is_some() == with)
                .collect();
            if idx.is_empty() {
                continue;
            }
            let part: Vec<Scheme> = idx.iter().map(|&i| schemes[i].clone()).collect();
            let on = if with { &sched } else { &used };
            let runs = simulate_on(layer, acts, &part, on, array, opts);
            for (i, r) in idx.into_iter().zip(runs) {
                out[i] = Some(r);
            }
        }
        return Ok(out
            .into_iter()
            .map(|r| r.expect("every scheme ran"))
            .collect());
    }
    Ok(simulate_on(layer, acts, schemes, &used, array, opts))
}

/// [`simulate_schemes`] on the part `used` of `array` that the layer can use (checks
/// done).
fn simulate_on(
    layer: &Layer,
    acts: &Tensor,
    schemes: &[Scheme],
    used: &ArrayShape,
    array: &ArrayShape,
    opts: Options,
) -> Vec<LayerRun> {
    let cache = opts.cache.map(|c| (c, layer.name.as_str()));
    let mut ops = Operands::new(&layer.weights, acts, schemes);
    // Schemes that see the layer alike (laconic and mltq-bit on ternary operands, say)
    // are simulated once: `of[i]` is the unique view scheme i takes its results from.
    let mut of = Vec::with_capacity(ops.schemes.len());
    let mut unique: Vec<SchemeOps> = Vec::new();
    for s in &ops.schemes {
        of.push(unique.iter().position(|u| u == s).unwrap_or_else(|| {
            unique.push(*s);
            unique.len() - 1
        }));
    }
    ops.schemes = unique;
    let (cycles, scheduled) = match layer.geom {
        Geometry::Conv(c) => conv::cycles(&c, &ops, used, cache),
        Geometry::Fc { c, f } => fc::cycles(c, f, &ops, used, cache),
    };
    let sums = potential::sums(&layer.geom, &ops, &scheduled);
    let gaps = opts.gap.then(|| {
        let busy: Vec<u64> = sums.iter().map(|s| s.1).collect();
        let g = gap::gaps(&layer.geom, &ops, used, array, &busy);
        for (i, (c, _)) in g.iter().enumerate() {
            assert_eq!(*c, cycles[i], "the breakdown's cycles are the engine's");
        }
        g
    });
    of.into_iter()
        .map(|u| {
            let gap = gaps.as_ref().map(|g| g[u].1);
            (
                cycles[u],
                sums[u],
                scheduled[u].as_ref().map(|s| s.counts),
                gap,
            )
        })
        .map(|(cycles, (work, busy), schedule, gap)| LayerRun {
            macs: layer.geom.macs(),
            cycles,
            work,
            busy_lane_cycles: busy,
            // Every lane of the real array counts, used or idle.
            lane_cycles: cycles.saturating_mul(array.total_lanes()),
            schedule,
            gap,
        })
        .collect()
}

/// The part of `array` that a layer can keep busy, with the same cycle count:
///
/// - lanes past channel Cg all hold padding (cycle factor of the value 0), so with more
///   than Cg + 1 lanes the extra ones repeat lane Cg and change no max over lanes;
/// - columns past the layer's last window (FC: past its last issued step) never get
///   work: their cost is 0 in every unit and they never finish last.
///
/// Simulating this array keeps time and memory proportional to the layer rather than to
/// the array: an arch with 2^20 lanes would otherwise lay out H·W·2^20 factors per layer.
/// `lane_cycles` still counts every lane of the real array.
pub fn used_array(geom: &Geometry, array: &ArrayShape) -> ArrayShape {
    let (cg, windows) = match *geom {
        Geometry::Conv(c) => (c.cg(), c.oy().saturating_mul(c.ox())),
        Geometry::Fc { c, .. } => (c, 1),
    };
    let lanes = array.lanes.min(cg.saturating_add(1)).max(1);
    let columns = match *geom {
        Geometry::Conv(_) => windows,
        Geometry::Fc { c, f } => {
            let passes = f.div_ceil(array.rows).div_ceil(array.tiles);
            passes.saturating_mul(c.div_ceil(lanes))
        }
    };
    ArrayShape {
        lanes,
        columns: array.columns.min(columns.max(1)),
        ..*array
    }
}
