//! The cycle model (docs/cycle-model.md): per layer and scheme, cycles on the PE array,
//! work (potentials) and utilization counters.
//!
//! `operand` turns tensors into per-value factors and brick layouts; `group` holds what
//! a group's schemes share (bricks, maxima, step costs); `conv` and `fc` run the loop
//! nests; `step`, `window` and `first_stage` are the PE families (what a PE
//! spends per sync unit); `columns` adds sync units up; `potential` sums work;
//! `reference` is the slow, literal reading of the spec that tests compare against.

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
pub mod step;
#[cfg(test)]
pub(crate) mod strategies;
pub mod window;

use crate::arch::ArrayShape;
use crate::encoding::TermEncoding;
use crate::error::Result;
use crate::model::{Geometry, Layer};
use crate::scheme::{Operand, Scheme, SyncMode};
use crate::tensor::Tensor;
use operand::{Rule, TermKey};

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
    /// Where `lane_cycles` went (busy and the causes of loss), when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap: Option<gap::Gap>,
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
    simulate_schemes_with(layer, acts, schemes, array, false)
}

/// [`simulate_schemes`], with each run's lane-cycles broken down by cause
/// ([`gap::Gap`]) when `with_gap` (a loop of the order of the MACs: see [`gap`]).
pub fn simulate_schemes_with(
    layer: &Layer,
    acts: &Tensor,
    schemes: &[Scheme],
    array: &ArrayShape,
    with_gap: bool,
) -> Result<Vec<LayerRun>> {
    for s in schemes {
        s.check_layer(&layer.name, layer.weights.encoding(), acts.encoding())?;
    }
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
    let used = used_array(&layer.geom, array);
    let cycles = match layer.geom {
        Geometry::Conv(c) => conv::cycles(&c, &ops, &used),
        Geometry::Fc { c, f } => fc::cycles(c, f, &ops, &used),
    };
    let sums = potential::sums(&layer.geom, &ops);
    let gaps = with_gap.then(|| {
        let busy: Vec<u64> = sums.iter().map(|s| s.1).collect();
        let g = gap::gaps(&layer.geom, &ops, &used, array, &busy);
        for (i, (c, _)) in g.iter().enumerate() {
            assert_eq!(*c, cycles[i], "the breakdown's cycles are the engine's");
        }
        g
    });
    Ok(of
        .into_iter()
        .map(|u| (cycles[u], sums[u], gaps.as_ref().map(|g| g[u].1)))
        .map(|(cycles, (work, busy), gap)| LayerRun {
            macs: layer.geom.macs(),
            cycles,
            work,
            busy_lane_cycles: busy,
            // Every lane of the real array counts, used or idle.
            lane_cycles: cycles.saturating_mul(array.total_lanes()),
            gap,
        })
        .collect())
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
