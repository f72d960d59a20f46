//! The JSON exporter: the same rows as the CSV plus the run's metadata (tool version,
//! arch, model path and hash, sample or synthetic-activation seed, schema version) and
//! the cost parameters in force (`memory`, `energy`, `area`, defaults included). A
//! scheme with a weight schedule has it in `arch.schemes[i].weight_schedule`, and its
//! rows carry `kept_steps` and `promoted` (left out for the other schemes).

use std::io::Write;

use serde::Serialize;

use super::Row;
use crate::arch::Arch;
use crate::cost::params;
use crate::cost::Bound;
use crate::run::{ActSource, Run};

/// Version of the JSON layout; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Where the model came from.
#[derive(Clone, Debug, Serialize)]
pub struct ModelMeta {
    /// The path given, or `builtin:NAME`.
    pub path: String,
    /// SHA-256 of the model's `.mltq` bytes (for built-ins: of the file `mltq gen` writes).
    pub sha256: String,
    /// `network source=…`, if any.
    pub source: Option<String>,
}

/// The `tool` object of the JSON outputs (this report and a sweep's record).
#[derive(Serialize)]
pub struct Tool {
    name: &'static str,
    version: &'static str,
}

impl Tool {
    /// This program, at this version.
    pub const MLTQ: Tool = Tool {
        name: "mltq",
        version: env!("CARGO_PKG_VERSION"),
    };
}

#[derive(Serialize)]
struct Doc<'a> {
    schema_version: u32,
    tool: Tool,
    network: &'a str,
    arch: &'a Arch,
    arch_path: &'a str,
    /// The cost parameters in force, defaults included.
    memory: &'a params::Memory,
    energy: &'a params::Energy,
    area: &'a params::Area,
    model: &'a ModelMeta,
    /// One entry per simulated sample, in the order of `layers` and `totals`.
    activations: Vec<&'a ActSource>,
    baseline: &'a str,
    layers: Vec<JsonRow<'a>>,
    totals: Vec<JsonRow<'a>>,
}

/// A row with non-finite ratios as null (JSON has no infinity).
#[derive(Serialize)]
struct JsonRow<'a> {
    sample: u32,
    layer: &'a str,
    scheme: &'a str,
    macs: u64,
    cycles: u64,
    speedup: Option<f64>,
    work: u64,
    potential_speedup: Option<f64>,
    utilization: f64,
    busy_lane_cycles: u64,
    lane_cycles: u64,
    time_us: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    kept_steps: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    promoted: Option<u64>,
    total_cycles: u64,
    memory_cycles: u64,
    bound: Bound,
    weight_bits: u64,
    act_bits: u64,
    dram_bits: u64,
    sram_bits: u64,
    energy_pj: f64,
    energy_compute_pj: f64,
    energy_sram_pj: f64,
    energy_dram_pj: f64,
    energy_static_pj: f64,
    area_mm2: f64,
    speedup_total: Option<f64>,
    energy_ratio: Option<f64>,
    perf_per_area: Option<f64>,
    /// `lane_cycles` by cause, with `--gap` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    gap: Option<crate::sim::gap::Gap>,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// Write the report of one or more runs (samples) of one network and arch as JSON.
/// `rows[i]` are the rows of `runs[i]`.
pub fn write(
    w: &mut dyn Write,
    runs: &[Run],
    rows: &[Vec<Row>],
    arch: &Arch,
    arch_path: &str,
    model: &ModelMeta,
) -> std::io::Result<()> {
    let run = &runs[0];
    let ns = run.schemes.len();
    let doc = Doc {
        schema_version: SCHEMA_VERSION,
        tool: Tool::MLTQ,
        network: &run.network,
        arch,
        arch_path,
        memory: &arch.cost.memory,
        energy: &arch.cost.energy,
        area: &arch.cost.area,
        model,
        activations: runs.iter().map(|r| &r.acts).collect(),
        baseline: &run.schemes[run.baseline],
        layers: rows
            .iter()
            .flat_map(|r| r[..r.len() - ns].iter().map(json_row))
            .collect(),
        totals: rows
            .iter()
            .flat_map(|r| r[r.len() - ns..].iter().map(json_row))
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}

fn json_row(r: &Row) -> JsonRow<'_> {
    JsonRow {
        sample: r.sample,
        layer: &r.layer,
        scheme: &r.scheme,
        macs: r.macs,
        cycles: r.cycles,
        speedup: finite(r.speedup),
        work: r.work,
        potential_speedup: finite(r.potential_speedup),
        utilization: r.utilization,
        busy_lane_cycles: r.busy_lane_cycles,
        lane_cycles: r.lane_cycles,
        time_us: r.time_us,
        kept_steps: r.schedule.map(|s| s.kept_steps),
        promoted: r.schedule.map(|s| s.promoted),
        total_cycles: r.total_cycles,
        memory_cycles: r.memory_cycles,
        bound: r.bound,
        weight_bits: r.weight_bits,
        act_bits: r.act_bits,
        dram_bits: r.dram_bits,
        sram_bits: r.sram_bits,
        energy_pj: r.energy_pj,
        energy_compute_pj: r.energy_compute_pj,
        energy_sram_pj: r.energy_sram_pj,
        energy_dram_pj: r.energy_dram_pj,
        energy_static_pj: r.energy_static_pj,
        area_mm2: r.area_mm2,
        speedup_total: finite(r.speedup_total),
        energy_ratio: finite(r.energy_ratio),
        perf_per_area: finite(r.perf_per_area),
        gap: r.gap,
    }
}
