//! The cost model (docs/cost-model.md): beside the compute cycles of `sim`, what an
//! embedded designer weighs — how many bits each operand takes in memory
//! ([`footprint`]), how many move between DRAM, the on-chip buffers and the PEs and
//! whether a layer is bound by compute or by DRAM ([`traffic`]), the energy of it all
//! ([`energy`]) and the area of the hardware ([`area`]), with the parameters of the arch
//! file's `[memory]`, `[energy]` and `[area]` tables ([`params`]).
//!
//! It is fed by what `sim` counts (cycles, busy and total lane-cycles) and by the
//! tensors, after the simulation of a layer: nothing of it runs inside the cycle model.
//! Every count is an integer; energies and areas are counts times parameters (f64).

pub mod area;
pub mod energy;
pub mod footprint;
pub mod params;
pub mod traffic;

use serde::Serialize;

use crate::arch::Arch;
use crate::model::{Geometry, Layer, Network};
use crate::scheme::{Operand, Scheme};
use crate::sim::LayerRun;
use crate::tensor::Tensor;
use footprint::{Counts, Width};

/// Whether a layer's time is set by its compute cycles or by its DRAM traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bound {
    /// cycles ≥ memory cycles.
    Compute,
    /// memory cycles > cycles.
    Memory,
}

impl Bound {
    /// `compute` when `cycles` ≥ `memory_cycles`, else `memory`.
    pub fn of(cycles: u64, memory_cycles: u64) -> Bound {
        if cycles >= memory_cycles {
            Bound::Compute
        } else {
            Bound::Memory
        }
    }

    /// The spelling in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Bound::Compute => "compute",
            Bound::Memory => "memory",
        }
    }
}

/// What one layer costs under one scheme, beside its cycles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LayerCost {
    /// Footprint of the weights in the scheme's `store_weight` format (bits).
    pub weight_bits: u64,
    /// Footprint of the simulated sample's activations in `store_act` (bits).
    pub act_bits: u64,
    /// Bits moved to and from DRAM.
    pub dram_bits: u64,
    /// Activation bits read from the on-chip buffer.
    pub act_sram_bits: u64,
    /// Weight bits read from the on-chip buffer.
    pub weight_sram_bits: u64,
    /// ⌈dram_bits · clock / (8 · bandwidth)⌉.
    pub memory_cycles: u64,
    /// max(cycles, memory_cycles).
    pub total_cycles: u64,
    /// Energy (pJ), split.
    pub energy: energy::Split,
}

impl LayerCost {
    /// `act_sram_bits + weight_sram_bits`.
    pub fn sram_bits(&self) -> u64 {
        self.act_sram_bits.saturating_add(self.weight_sram_bits)
    }

    /// Element-wise sum (totals over layers): counts add, energies add.
    pub fn add(&self, o: &LayerCost) -> LayerCost {
        LayerCost {
            weight_bits: self.weight_bits.saturating_add(o.weight_bits),
            act_bits: self.act_bits.saturating_add(o.act_bits),
            dram_bits: self.dram_bits.saturating_add(o.dram_bits),
            act_sram_bits: self.act_sram_bits.saturating_add(o.act_sram_bits),
            weight_sram_bits: self.weight_sram_bits.saturating_add(o.weight_sram_bits),
            memory_cycles: self.memory_cycles.saturating_add(o.memory_cycles),
            total_cycles: self.total_cycles.saturating_add(o.total_cycles),
            energy: self.energy.add(&o.energy),
        }
    }
}

/// The dense widths of a scheme's operands on a layer (with its planes overrides).
fn widths(s: &Scheme, weights: &Tensor, acts: &Tensor) -> (Width, Width) {
    (
        Width::of(weights.encoding(), s.planes_override(Operand::Weight)),
        Width::of(acts.encoding(), s.planes_override(Operand::Act)),
    )
}

/// Per scheme of `arch` (in its order), the area (mm²) of its hardware for `net` with the
/// activations of `sample`: lanes sized for the widest operands over the layers.
pub fn areas(arch: &Arch, net: &Network, sample: u32) -> Vec<f64> {
    arch.schemes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let lane = arch.designs[i].lane_um2.unwrap_or_else(|| {
                let (mut bw, mut ba) = (0, 0);
                for l in &net.layers {
                    let acts = l.acts.get(&sample).unwrap_or(&l.weights);
                    let (w, a) = widths(s, &l.weights, acts);
                    bw = bw.max(w.dense);
                    ba = ba.max(a.dense);
                }
                area::lane_um2(s.serial, bw, ba, &arch.cost.area)
            });
            area::area_mm2(
                arch.array_of(i).total_lanes(),
                lane,
                &arch.cost.memory,
                &arch.cost.area,
            )
        })
        .collect()
}

/// What a layer's costs share across its schemes: the counts of both tensors and, for
/// conv layers, the per-position counts of the activations.
pub struct LayerStats<'l> {
    layer: &'l Layer,
    acts: &'l Tensor,
    weights: Counts,
    act_counts: Counts,
    /// Conv layers: per input position, with the prefix sums of receptive fields.
    positions: Option<traffic::Positions>,
    /// Conv layers: Σ over every (window, kernel offset) reading a position of its
    /// nonzero elements and digits (see `Positions::read_counts`).
    read: (u64, u64),
}

impl<'l> LayerStats<'l> {
    /// Count a layer's tensors once.
    pub fn new(layer: &'l Layer, acts: &'l Tensor) -> LayerStats<'l> {
        let digits = footprint::digit_counts(acts);
        let (act_counts, positions, read) = match layer.geom {
            Geometry::Conv(c) => {
                let p = traffic::Positions::of(&c, &digits);
                let read = p.read_counts();
                (p.totals(), Some(p), read)
            }
            Geometry::Fc { .. } => {
                let counts = Counts::of_digits(&digits);
                (counts, None, (counts.nonzero, counts.terms))
            }
        };
        LayerStats {
            layer,
            acts,
            weights: Counts::of(&layer.weights),
            act_counts,
            positions,
            read,
        }
    }
}

/// Per scheme of `arch`, what `layer` costs (`runs[i]` is scheme i's simulation).
pub fn layer_costs(stats: &LayerStats, arch: &Arch, runs: &[LayerRun]) -> Vec<LayerCost> {
    let layer = stats.layer;
    let p = &arch.cost;
    let mut streamed: Vec<(usize, Counts)> = Vec::new();
    arch.schemes
        .iter()
        .zip(runs)
        .enumerate()
        .map(|(i, (s, run))| {
            let array = arch.array_of(i);
            let d = &arch.designs[i];
            let (ww, wa) = widths(s, &layer.weights, stats.acts);
            let (cw, ca) = (ww.cost(d.store_weight), wa.cost(d.store_act));
            let weight_bits = cw.bits(stats.weights);
            let act_bits = ca.bits(stats.act_counts);
            let lanes = array.lanes as u64;
            let (dram, act_sram, weight_sram) = match layer.geom {
                Geometry::Conv(c) => {
                    let chunks = c.cg().div_ceil(array.lanes) as u64;
                    let kk = (c.kh * c.kw) as u64;
                    let windows = (c.oy() * c.ox()) as u64;
                    let sets = windows.div_ceil(array.columns as u64);
                    let passes = c.fg().div_ceil(array.rows).div_ceil(array.tiles) as u64;
                    let act_sram = traffic::brick_bits(
                        ca,
                        c.groups as u64 * windows * kk * chunks * lanes,
                        stats.read.0,
                        stats.read.1,
                        passes,
                    );
                    let weight_sram = traffic::brick_bits(
                        cw,
                        c.f as u64 * kk * chunks * lanes,
                        stats.weights.nonzero,
                        stats.weights.terms,
                        sets,
                    );
                    let mut streamed_counts =
                        || match streamed.iter().find(|(cn, _)| *cn == array.columns) {
                            Some(&(_, counts)) => counts,
                            None => {
                                let pos = stats.positions.as_ref().expect("conv layers");
                                let counts = pos.streamed(array.columns);
                                streamed.push((array.columns, counts));
                                counts
                            }
                        };
                    let need_stream = act_bits > p.memory.act_buffer_bits();
                    let r = if need_stream {
                        ca.bits(streamed_counts())
                    } else {
                        act_bits
                    };
                    let dram = traffic::dram_bits(
                        &traffic::DramInput {
                            weights: weight_bits,
                            acts: act_bits,
                            streamed: r,
                            window_sets: sets,
                            out_bits: c.f as u64 * windows * wa.dense as u64,
                            fc: false,
                        },
                        p.memory.act_buffer_bits(),
                        p.memory.weight_buffer_bits(),
                    );
                    (dram, act_sram, weight_sram)
                }
                Geometry::Fc { c, f } => {
                    let chunks = c.div_ceil(array.lanes) as u64;
                    let passes = f.div_ceil(array.rows).div_ceil(array.tiles) as u64;
                    let act_sram = traffic::brick_bits(
                        ca,
                        chunks * lanes,
                        stats.act_counts.nonzero,
                        stats.act_counts.terms,
                        passes,
                    );
                    let weight_sram = traffic::brick_bits(
                        cw,
                        f as u64 * chunks * lanes,
                        stats.weights.nonzero,
                        stats.weights.terms,
                        1,
                    );
                    let dram = traffic::dram_bits(
                        &traffic::DramInput {
                            weights: weight_bits,
                            acts: act_bits,
                            streamed: act_bits,
                            window_sets: 1,
                            out_bits: f as u64 * wa.dense as u64,
                            fc: true,
                        },
                        p.memory.act_buffer_bits(),
                        p.memory.weight_buffer_bits(),
                    );
                    (dram, act_sram, weight_sram)
                }
            };
            let memory_cycles = traffic::memory_cycles(dram, arch.clock_ghz, p.memory.dram_gbps);
            let total_cycles = run.cycles.max(memory_cycles);
            let lane_pj = d
                .lane_pj
                .unwrap_or_else(|| energy::lane_pj(s.serial, ww.dense, wa.dense, &p.energy));
            let energy = energy::split(
                &energy::Events {
                    busy_lane_cycles: run.busy_lane_cycles,
                    lane_cycles: run.lane_cycles,
                    sram_bits: act_sram.saturating_add(weight_sram),
                    dram_bits: dram,
                    total_cycles,
                    lanes: array.total_lanes(),
                },
                lane_pj,
                &p.energy,
            );
            LayerCost {
                weight_bits,
                act_bits,
                dram_bits: dram,
                act_sram_bits: act_sram,
                weight_sram_bits: weight_sram,
                memory_cycles,
                total_cycles,
                energy,
            }
        })
        .collect()
}
