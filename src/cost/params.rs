//! The cost model's parameters: the `[memory]`, `[energy]` and `[area]` tables of an arch
//! file, with their defaults (45 nm figures from M. Horowitz, "Computing's energy
//! problem (and what we can do about it)", ISSCC 2014, as docs/cost-model.md explains).
//!
//! An arch file that leaves a table or a key out gets these defaults; reports write the
//! values in force, defaults included.

use serde::Serialize;

/// Bits in one KiB of buffer.
pub const BITS_PER_KIB: u64 = 8192;

/// `[memory]`: on-chip buffers and the off-chip bandwidth, shared by every scheme.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Memory {
    /// On-chip activation buffer, KiB (8192 bits each). Default 2048 (2 MiB).
    pub act_buffer_kib: u64,
    /// On-chip weight buffer, KiB. Default 2048 (2 MiB).
    pub weight_buffer_kib: u64,
    /// Off-chip (DRAM) bandwidth, GB/s (10^9 bytes per second). Default 25.6 (one
    /// 64-bit DDR4-3200 channel).
    pub dram_gbps: f64,
}

impl Default for Memory {
    fn default() -> Memory {
        Memory {
            act_buffer_kib: 2048,
            weight_buffer_kib: 2048,
            dram_gbps: 25.6,
        }
    }
}

impl Memory {
    /// The activation buffer in bits (saturating: a buffer larger than any tensor).
    pub fn act_buffer_bits(&self) -> u64 {
        self.act_buffer_kib.saturating_mul(BITS_PER_KIB)
    }

    /// The weight buffer in bits (saturating).
    pub fn weight_buffer_bits(&self) -> u64 {
        self.weight_buffer_kib.saturating_mul(BITS_PER_KIB)
    }
}

/// `[energy]`: picojoules per event.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Energy {
    /// A 32-bit accumulate: one busy lane-cycle of a lane whose operands are both serial.
    /// Default 0.1 pJ (Horowitz: 32-bit integer add, 0.1 pJ).
    pub add_pj: f64,
    /// A bw × ba multiplier costs `mult_pj_per_bit2 · bw · ba` per busy lane-cycle.
    /// Default 0.003125 pJ (Horowitz: 8-bit multiply, 0.2 pJ = 0.003125 · 8 · 8).
    pub mult_pj_per_bit2: f64,
    /// Gating one bit of the parallel operand by a serial digit (a lane with exactly one
    /// serial operand), per busy lane-cycle. Default 0.003 pJ (Horowitz: an AND gate and
    /// its share of wiring, about 0.03 of the 0.1 pJ 32-bit add per bit).
    pub select_pj_per_bit: f64,
    /// A lane-cycle with no work. Default 0 (clock-gated lanes).
    pub idle_lane_pj: f64,
    /// Leakage of every lane of the array, every cycle of `total_cycles`. Default 0.01 pJ
    /// (a tenth of an add: leakage of an adder and its registers at 45 nm).
    pub static_pj_per_lane_cycle: f64,
    /// One bit read from an on-chip buffer. Default 0.16 pJ (Horowitz: 10 pJ per 64-bit
    /// read of an 8 KiB SRAM).
    pub sram_pj_per_bit: f64,
    /// One bit moved to or from DRAM. Default 20 pJ (Horowitz: 1.3–2.6 nJ per 64 bits).
    pub dram_pj_per_bit: f64,
}

impl Default for Energy {
    fn default() -> Energy {
        Energy {
            add_pj: 0.1,
            mult_pj_per_bit2: 0.003125,
            select_pj_per_bit: 0.003,
            idle_lane_pj: 0.0,
            static_pj_per_lane_cycle: 0.01,
            sram_pj_per_bit: 0.16,
            dram_pj_per_bit: 20.0,
        }
    }
}

/// `[area]`: square micrometres per lane part, square millimetres per KiB of buffer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Area {
    /// A 32-bit adder and accumulator per lane. Default 137 µm² (Horowitz: 32-bit add).
    pub add_um2: f64,
    /// A bw × ba multiplier costs `mult_um2_per_bit2 · bw · ba`. Default 4.4 µm²
    /// (Horowitz: 8-bit multiply, 282 µm² ≈ 4.4 · 8 · 8).
    pub mult_um2_per_bit2: f64,
    /// Gating per bit of the parallel operand (a lane with one serial operand). Default
    /// 6 µm² (an AND gate and a mux input per bit).
    pub select_um2_per_bit: f64,
    /// On-chip buffer, mm² per KiB. Default 0.006 (Horowitz's 8 KiB SRAM bank, about
    /// 0.05 mm²).
    pub sram_mm2_per_kib: f64,
}

impl Default for Area {
    fn default() -> Area {
        Area {
            add_um2: 137.0,
            mult_um2_per_bit2: 4.4,
            select_um2_per_bit: 6.0,
            sram_mm2_per_kib: 0.006,
        }
    }
}

/// Every cost parameter of an arch file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Params {
    /// `[memory]`.
    pub memory: Memory,
    /// `[energy]`.
    pub energy: Energy,
    /// `[area]`.
    pub area: Area,
}

/// The keys of `[memory]`, in file order (for messages and suggestions).
pub const MEMORY_KEYS: [&str; 3] = ["act_buffer_kib", "weight_buffer_kib", "dram_gbps"];
/// The keys of `[energy]`.
pub const ENERGY_KEYS: [&str; 7] = [
    "add_pj",
    "mult_pj_per_bit2",
    "select_pj_per_bit",
    "idle_lane_pj",
    "static_pj_per_lane_cycle",
    "sram_pj_per_bit",
    "dram_pj_per_bit",
];
/// The keys of `[area]`.
pub const AREA_KEYS: [&str; 4] = [
    "add_um2",
    "mult_um2_per_bit2",
    "select_um2_per_bit",
    "sram_mm2_per_kib",
];
