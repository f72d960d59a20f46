//! The cycle model (docs/cycle-model.md): per layer and scheme, cycles on the PE array,
//! work (potentials) and utilization counters.
//!
//! `operand` turns tensors into per-value factors and brick layouts; `conv` and `fc`
//! run the loop nests; `step`, `window` and `first_stage` are the PE families (what a PE
//! spends per sync unit); `columns` adds sync units up; `potential` sums work;
//! `reference` is the slow, literal reading of the spec that tests compare against.

pub mod columns;
pub mod conv;
pub mod fc;
pub mod first_stage;
pub mod operand;
pub mod potential;
pub mod reference;
pub mod step;
pub mod window;

use crate::arch::ArrayShape;
use crate::error::Result;
use crate::model::{Geometry, Layer};
use crate::scheme::{Operand, Scheme, SyncMode};
use crate::tensor::Tensor;
use operand::Rule;

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

/// Both operands of a layer as one scheme sees them.
pub struct Operands {
    /// terms(x) of every weight.
    pub weight_terms: Vec<u8>,
    /// terms(x) of every activation.
    pub act_terms: Vec<u8>,
    /// Term positions of int weights (first-stage schemes only).
    pub weight_masks: Option<Vec<u64>>,
    /// Term positions of int activations (first-stage schemes only).
    pub act_masks: Option<Vec<u64>>,
    /// How the weights are treated.
    pub weight_rule: Rule,
    /// How the activations are treated.
    pub act_rule: Rule,
}

impl Operands {
    /// Prepare a layer's operands for a scheme.
    pub fn new(weights: &Tensor, acts: &Tensor, scheme: &Scheme) -> Operands {
        let fs = scheme.first_stage_operand();
        Operands {
            weight_terms: operand::terms(weights, scheme, Operand::Weight),
            act_terms: operand::terms(acts, scheme, Operand::Act),
            weight_masks: (fs == Some(Operand::Weight))
                .then(|| weights.term_masks(scheme.term_encoding))
                .flatten(),
            act_masks: (fs == Some(Operand::Act))
                .then(|| acts.term_masks(scheme.term_encoding))
                .flatten(),
            weight_rule: Rule::new(scheme, Operand::Weight, weights.encoding()),
            act_rule: Rule::new(scheme, Operand::Act, acts.encoding()),
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
    scheme.check_layer(&layer.name, layer.weights.encoding(), acts.encoding())?;
    let ops = Operands::new(&layer.weights, acts, scheme);
    let family = Family::of(scheme);
    let used = used_array(&layer.geom, array);
    let (cycles, (work, busy)) = match layer.geom {
        Geometry::Conv(c) => (
            conv::cycles(&c, &ops, family, &used, scheme.min_cycles),
            potential::sums(Some(&c), None, &ops),
        ),
        Geometry::Fc { c, f } => (
            fc::cycles(c, f, &ops, family, &used, scheme.min_cycles),
            potential::sums(None, Some((c, f)), &ops),
        ),
    };
    Ok(LayerRun {
        macs: layer.geom.macs(),
        cycles,
        work,
        busy_lane_cycles: busy,
        // Every lane of the real array counts, used or idle.
        lane_cycles: cycles.saturating_mul(array.total_lanes()),
    })
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
