//! Energy (pJ) of one layer under one scheme: its lanes' work, its buffer reads, its DRAM
//! traffic and the leakage of its whole array over the layer's time.
//!
//! A busy lane-cycle costs the scheme's `lane_pj`: an accumulate (`add_pj`), plus a
//! bw × ba multiplier (`mult_pj_per_bit2 · bw · ba`) when both operands are parallel, or
//! the gating of the parallel operand's b bits by a serial digit (`select_pj_per_bit ·
//! b`) when exactly one is serial; bw and ba are the layer's dense widths. An idle
//! lane-cycle costs `idle_lane_pj` (0: clock-gated), and every lane of the array leaks
//! `static_pj_per_lane_cycle` in every cycle of `total_cycles` (a memory-bound layer's
//! wait for DRAM is leakage, not idle work).

use serde::Serialize;

use super::params;
use crate::scheme::Serial;

/// Per-lane energy or area of a lane kind: an accumulator, plus a multiplier of the
/// dense widths when both operands are parallel, or gating of the parallel operand's
/// bits when one is serial. Energy and area share this shape (`per_bit2`, `per_bit`
/// being the multiplier and gating coefficients).
pub fn lane_figure(serial: Serial, bw: u32, ba: u32, add: f64, per_bit2: f64, per_bit: f64) -> f64 {
    match serial {
        Serial::None => add + per_bit2 * bw as f64 * ba as f64,
        // The parallel operand is the weight.
        Serial::Act => add + per_bit * bw as f64,
        Serial::Weight => add + per_bit * ba as f64,
        Serial::Both => add,
    }
}

/// A scheme's energy per busy lane-cycle on a layer with dense widths `bw`, `ba`.
pub fn lane_pj(serial: Serial, bw: u32, ba: u32, p: &params::Energy) -> f64 {
    lane_figure(
        serial,
        bw,
        ba,
        p.add_pj,
        p.mult_pj_per_bit2,
        p.select_pj_per_bit,
    )
}

/// Energy of one layer under one scheme, split by where it goes (pJ).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Split {
    /// The lanes: busy lane-cycles · lane_pj + idle lane-cycles · idle_lane_pj.
    pub compute: f64,
    /// On-chip buffer reads: sram_bits · sram_pj_per_bit.
    pub sram: f64,
    /// DRAM traffic: dram_bits · dram_pj_per_bit.
    pub dram: f64,
    /// Leakage: total_cycles · lanes · static_pj_per_lane_cycle.
    pub static_: f64,
}

impl Split {
    /// The sum, in the order compute, SRAM, DRAM, static.
    pub fn total(&self) -> f64 {
        self.compute + self.sram + self.dram + self.static_
    }

    /// Element-wise sum (totals over layers).
    pub fn add(&self, o: &Split) -> Split {
        Split {
            compute: self.compute + o.compute,
            sram: self.sram + o.sram,
            dram: self.dram + o.dram,
            static_: self.static_ + o.static_,
        }
    }
}

/// The counts energy is made of, for one layer and scheme.
#[derive(Clone, Copy, Debug)]
pub struct Events {
    /// Lane-cycles spent on the scheme's own work.
    pub busy_lane_cycles: u64,
    /// cycles × the lanes of the scheme's array.
    pub lane_cycles: u64,
    /// Bits read from the on-chip buffers.
    pub sram_bits: u64,
    /// Bits moved to and from DRAM.
    pub dram_bits: u64,
    /// max(cycles, memory cycles).
    pub total_cycles: u64,
    /// Lanes of the scheme's array.
    pub lanes: u64,
}

/// The energy of `e` at `lane_pj` per busy lane-cycle.
pub fn split(e: &Events, lane_pj: f64, p: &params::Energy) -> Split {
    let idle = e.lane_cycles.saturating_sub(e.busy_lane_cycles);
    Split {
        compute: e.busy_lane_cycles as f64 * lane_pj + idle as f64 * p.idle_lane_pj,
        sram: e.sram_bits as f64 * p.sram_pj_per_bit,
        dram: e.dram_bits as f64 * p.dram_pj_per_bit,
        static_: e.total_cycles as f64 * e.lanes as f64 * p.static_pj_per_lane_cycle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_energy_by_kind() {
        let p = params::Energy::default();
        // Bit-parallel 16×16 multiplier: 0.1 + 0.003125·256 = 0.9.
        assert!((lane_pj(Serial::None, 16, 16, &p) - 0.9).abs() < 1e-12);
        // Activations serial: the 16 weight bits gated, 0.1 + 0.048.
        assert!((lane_pj(Serial::Act, 16, 8, &p) - 0.148).abs() < 1e-12);
        // Weights serial: the 8 activation bits gated.
        assert!((lane_pj(Serial::Weight, 16, 8, &p) - 0.124).abs() < 1e-12);
        assert_eq!(lane_pj(Serial::Both, 16, 8, &p), 0.1);
    }

    #[test]
    fn split_by_hand() {
        let p = params::Energy {
            idle_lane_pj: 0.5,
            ..Default::default()
        };
        let e = Events {
            busy_lane_cycles: 10,
            lane_cycles: 16,
            sram_bits: 100,
            dram_bits: 3,
            total_cycles: 5,
            lanes: 4,
        };
        let s = split(&e, 2.0, &p);
        assert_eq!(s.compute, 10.0 * 2.0 + 6.0 * 0.5);
        assert_eq!(s.sram, 16.0);
        assert_eq!(s.dram, 60.0);
        assert!((s.static_ - 0.2).abs() < 1e-15);
        assert!((s.total() - 99.2).abs() < 1e-12);
    }
}
