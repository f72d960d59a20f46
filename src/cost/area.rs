//! Area (mm²) of a scheme's hardware: its lanes and the on-chip buffers.
//!
//! Hardware is built once for a whole network, so a lane is sized for the widest
//! operands it meets: bw and ba are the largest dense widths of the weights and
//! activations over the model's layers (with the scheme's `planes_*` overrides). A lane
//! is an accumulator (`add_um2`), plus a bw × ba multiplier (`mult_um2_per_bit2 · bw ·
//! ba`) when both operands are parallel, or gating per parallel bit
//! (`select_um2_per_bit · b`) when one is serial; a scheme may set its `lane_um2`
//! directly. `area_mm2` = lanes · lane_um2 / 10^6 + (act_buffer_kib +
//! weight_buffer_kib) · sram_mm2_per_kib.

use super::energy::lane_figure;
use super::params;
use crate::scheme::Serial;

/// A lane's area (µm²) for the widest dense widths `bw`, `ba`.
pub fn lane_um2(serial: Serial, bw: u32, ba: u32, p: &params::Area) -> f64 {
    lane_figure(
        serial,
        bw,
        ba,
        p.add_um2,
        p.mult_um2_per_bit2,
        p.select_um2_per_bit,
    )
}

/// The area (mm²) of an array of `lanes` lanes of `lane_um2` each, with the buffers of
/// `memory`.
pub fn area_mm2(lanes: u64, lane_um2: f64, memory: &params::Memory, p: &params::Area) -> f64 {
    lanes as f64 * lane_um2 / 1e6
        + (memory.act_buffer_kib as f64 + memory.weight_buffer_kib as f64) * p.sram_mm2_per_kib
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_by_hand() {
        let p = params::Area::default();
        // 256 serial-serial lanes and two 1 KiB buffers: 256·137 µm² + 2·0.006 mm².
        let m = params::Memory {
            act_buffer_kib: 1,
            weight_buffer_kib: 1,
            dram_gbps: 25.6,
        };
        let a = area_mm2(256, lane_um2(Serial::Both, 4, 6, &p), &m, &p);
        assert!((a - 0.047072).abs() < 1e-12);
        // A 16×16 multiplier lane: 137 + 4.4·256.
        assert!((lane_um2(Serial::None, 16, 16, &p) - 1263.4).abs() < 1e-9);
        assert!((lane_um2(Serial::Act, 16, 8, &p) - 233.0).abs() < 1e-9);
    }
}
