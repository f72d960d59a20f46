//! The readable stdout report: a per-layer matrix (cycles, speedup and potential
//! speedup of each scheme), then a network summary per scheme.
//!
//! Names longer than [`MAX_NAME_CHARS`] are shortened in the middle ([`shorten`]), so
//! one long layer name neither widens every line of the table nor overflows a
//! format width; the CSV and JSON keep every name whole.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::json::ModelMeta;
use super::Row;
use crate::arch::Arch;
use crate::run::{ActSource, Run};
use crate::scheme::{Scheme, Serial};

fn x(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}x")
    } else {
        "inf".to_string()
    }
}

/// The longest name (or any cell) a table shows, in characters.
pub const MAX_NAME_CHARS: usize = 48;

/// `s` if it has at most [`MAX_NAME_CHARS`] characters, else its start and end around
/// `…` (`layer4.2.downsample…4.2.downsample.0.conv`).
pub fn shorten(s: &str) -> Cow<'_, str> {
    let n = s.chars().count();
    if n <= MAX_NAME_CHARS {
        return Cow::Borrowed(s);
    }
    let head = (MAX_NAME_CHARS - 1) / 2;
    let tail = MAX_NAME_CHARS - 1 - head;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    Cow::Owned(out)
}

/// Column widths of a grid of cells.
fn widths(grid: &[Vec<String>]) -> Vec<usize> {
    let cols = grid.iter().map(Vec::len).max().unwrap_or(0);
    (0..cols)
        .map(|c| {
            grid.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// Render rows of text as aligned columns: the first `left` columns left-aligned.
/// Cells longer than [`MAX_NAME_CHARS`] are [`shorten`]ed.
pub fn align(grid: &[Vec<String>], left: usize) -> String {
    let grid: Vec<Vec<String>> = grid
        .iter()
        .map(|r| r.iter().map(|c| shorten(c).into_owned()).collect())
        .collect();
    let grid = &grid[..];
    let width = widths(grid);
    let mut out = String::new();
    for r in grid {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            if c < left {
                let _ = write!(line, "{cell:<w$}", w = width[c]);
            } else {
                let _ = write!(line, "{cell:>w$}", w = width[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A header line that centres each of `names` over its group of `per` columns, the
/// groups starting after `skip` columns of a grid with these widths.
fn group_header(width: &[usize], skip: usize, per: usize, names: &[String]) -> String {
    let mut line = String::new();
    let mut pos: usize = width[..skip].iter().map(|w| w + 2).sum();
    line.push_str(&" ".repeat(pos));
    for (i, name) in names.iter().enumerate() {
        let name = shorten(name);
        let span: usize = width[skip + i * per..skip + (i + 1) * per]
            .iter()
            .sum::<usize>()
            + 2 * (per - 1);
        let label = format!("{name:-^span$}", name = format!(" {name} "));
        line.push_str(&label);
        line.push_str("  ");
        pos += span + 2;
    }
    let _ = pos;
    line.trim_end().to_string() + "\n"
}

/// The whole stdout report of one run of the model `model`; `quiet` leaves out the
/// per-layer matrix.
pub fn render(run: &Run, rows: &[Row], quiet: bool, model: &ModelMeta, arch: &Arch) -> String {
    let ns = run.schemes.len();
    let mut out = String::new();
    let acts = match &run.acts {
        ActSource::Sample { sample } => format!("sample {sample}"),
        ActSource::Synthetic {
            encoding,
            density,
            seed,
            ..
        } => {
            format!("SYNTHETIC activations ({encoding}, density {density}, seed {seed})")
        }
    };
    let _ = writeln!(
        out,
        "{} on {} — {}; baseline {}; speedup = baseline cycles / cycles, potential = baseline work / work",
        shorten(&run.network),
        shorten(&run.arch),
        acts,
        shorten(&run.schemes[run.baseline])
    );
    let _ = writeln!(out, "{}\n", super::provenance::model_line(model));
    let mut grid: Vec<Vec<String>> = Vec::new();
    let mut h2 = vec!["layer".to_string(), "macs".to_string()];
    for _ in &run.schemes {
        h2.extend([
            "cycles".to_string(),
            "speedup".to_string(),
            "potential".to_string(),
        ]);
    }

    grid.push(h2);
    for chunk in rows.chunks(ns) {
        let mut line = vec![
            shorten(&chunk[0].layer).into_owned(),
            chunk[0].macs.to_string(),
        ];
        for r in chunk {
            line.extend([r.cycles.to_string(), x(r.speedup), x(r.potential_speedup)]);
        }
        grid.push(line);
    }
    if !quiet {
        out.push_str(&group_header(&widths(&grid), 2, 3, &run.schemes));
        out.push_str(&align(&grid, 1));
        out.push('\n');
    }
    let totals = &rows[rows.len() - ns..];
    let mut sum: Vec<Vec<String>> = vec![[
        "scheme",
        "cycles",
        "speedup",
        "potential",
        "achieved/potential",
        "utilization",
        "time (ms)",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()];
    let notes = Notes::of(arch, &run.schemes);
    for (s, r) in totals.iter().enumerate() {
        let share = if notes.other_kind[s] {
            "n/a †".to_string()
        } else if r.potential_speedup.is_finite()
            && r.potential_speedup > 0.0
            && r.speedup.is_finite()
        {
            format!("{:.1}%", 100.0 * r.speedup / r.potential_speedup)
        } else {
            "-".to_string()
        };
        sum.push(vec![
            r.scheme.clone(),
            r.cycles.to_string(),
            x(r.speedup),
            x(r.potential_speedup),
            share,
            format!("{:.1}%", 100.0 * r.utilization),
            format!("{:.3}", r.time_us / 1e3),
        ]);
    }
    let _ = writeln!(
        out,
        "network total ({} layers, {} MACs):",
        run.layers.len(),
        totals[0].macs
    );
    out.push_str(&align(&sum, 1));
    out.push_str(&notes.text);
    out.push_str(&schedules(run, totals));
    out.push('\n');
    out.push_str(&gap(totals));
    out.push_str(&costs(run, rows));
    out
}

/// A footnote wrapped at 90 characters, its continuation lines indented by two.
fn wrap(text: &str) -> String {
    const WIDTH: usize = 90;
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out += &line;
            out.push('\n');
            line = "  ".to_string();
        } else if !line.is_empty() && line != "  " {
            line.push(' ');
        }
        line += word;
    }
    out += &line;
    out.push('\n');
    out
}

/// Where each scheme's lane-cycles went over the network (`simulate --gap`): busy and
/// the seven causes of loss, as shares of cycles × lanes (empty without the breakdown).
fn gap(totals: &[Row]) -> String {
    if totals.iter().any(|r| r.gap.is_none()) {
        return String::new();
    }
    let mut grid = vec![[
        "scheme",
        "busy",
        "floor",
        "lane wait",
        "row wait",
        "column wait",
        "idle columns",
        "idle rows",
        "channel padding",
    ]
    .map(String::from)
    .to_vec()];
    for r in totals {
        let g = r.gap.expect("checked");
        let mut line = vec![r.scheme.clone()];
        line.extend(g.parts().iter().map(|&p| {
            if r.lane_cycles == 0 {
                "-".to_string()
            } else {
                format!("{:.1}%", 100.0 * p as f64 / r.lane_cycles as f64)
            }
        }));
        grid.push(line);
    }
    let scheduled = if totals.iter().any(|r| r.schedule.is_some()) {
        "; with a weight schedule the unit is a call, a tile whose kept steps ran out waits \
         in row wait, and the steps the schedule removed cost no lane-cycles at all"
    } else {
        ""
    };
    let mut out = wrap(&format!(
        "where the lane-cycles went (shares of cycles × lanes; busy is the scheme's own work, \
         the rest is lost: floor = min_cycles paid by PEs with nothing to do, lane/row/column \
         wait = waiting for the slowest lane of a PE / PE of a column / column, idle = \
         columns without a window or PEs without a filter, channel padding = lanes past the \
         channel count{scheduled}):",
    ));
    out.push_str(&align(&grid, 1));
    out.push('\n');
    out
}

/// What a lane of `s` does per cycle, in words.
fn lane_kind(s: &Scheme) -> &'static str {
    match s.serial {
        Serial::None => "bit-parallel lanes (a whole product per cycle)",
        Serial::Act => "lanes serial in the activations (weights bit-parallel)",
        Serial::Weight => "lanes serial in the weights (activations bit-parallel)",
        Serial::Both => "lanes serial in both operands (one digit pair per cycle)",
    }
}

/// The footnotes under the network summary: schemes whose lanes differ in kind from the
/// baseline's (their potential counts work in other units, so it is no ceiling), and
/// schemes that are the same lane under two names.
struct Notes {
    /// Per scheme: are its lanes of another kind than the baseline's?
    other_kind: Vec<bool>,
    text: String,
}

impl Notes {
    fn of(arch: &Arch, names: &[String]) -> Notes {
        let schemes = &arch.schemes;
        if schemes.len() != names.len() || schemes.iter().zip(names).any(|(s, n)| &s.name != n) {
            return Notes {
                other_kind: vec![false; names.len()],
                text: String::new(),
            };
        }
        let base = &schemes[arch.baseline];
        let other_kind: Vec<bool> = schemes.iter().map(|s| s.serial != base.serial).collect();
        let mut text = String::new();
        if other_kind.iter().any(|&o| o) {
            let list: Vec<&Scheme> = schemes
                .iter()
                .zip(&other_kind)
                .filter(|(_, &o)| o)
                .map(|(s, _)| s)
                .collect();
            let shown: Vec<Cow<str>> = list.iter().map(|s| shorten(&s.name)).collect();
            text += &wrap(&format!(
                "† {}: lanes of another kind than the baseline's, so the potential is no ceiling \
                 and achieved/potential no efficiency (a potential counts work in lane-cycles of \
                 the scheme's own lanes); compare such designs at equal area: perf/area below.",
                shown.join(", ")
            ));
            let _ = writeln!(
                text,
                "  {} (baseline): {}",
                shorten(&base.name),
                lane_kind(base)
            );
            for s in list {
                let _ = writeln!(text, "  {}: {}", shorten(&s.name), lane_kind(s));
            }
        }
        // One lane under two names (laconic and mltq-bit): every setting but the name
        // equal, and the same array.
        for (i, a) in schemes.iter().enumerate() {
            for (j, b) in schemes.iter().enumerate().skip(i + 1) {
                let same = Scheme {
                    name: b.name.clone(),
                    ..a.clone()
                } == *b;
                if !same || arch.array_of(i) != arch.array_of(j) {
                    continue;
                }
                let why = if [&a.name, &b.name].iter().any(|n| n.as_str() == "laconic") {
                    " Laconic was built for the terms of fixed-point values, MLTQ for ternary \
                     digits; both skip the zero terms of both operands with lanes synchronized \
                     every step, and on ternary operands a term is a nonzero digit."
                } else {
                    ""
                };
                text += &wrap(&format!(
                    "= {} and {}: one lane under two names (every setting but the name equal, \
                     same array), so their numbers are equal.{why}",
                    shorten(&a.name),
                    shorten(&b.name)
                ));
            }
        }
        Notes { other_kind, text }
    }
}

/// Bits as KiB, one decimal.
fn kib(bits: u64) -> String {
    format!("{:.1}", bits as f64 / 8192.0)
}

/// Bits as MiB, two decimals.
fn mib(bits: u64) -> String {
    format!("{:.2}", bits as f64 / (8192.0 * 1024.0))
}

/// pJ as µJ, three decimals.
fn uj(pj: f64) -> String {
    format!("{:.3}", pj / 1e6)
}

/// The cost model's network summary: per scheme, memory (footprints, traffic, memory
/// cycles, what bounds the time) and energy and area with the three ratios.
fn costs(run: &Run, rows: &[Row]) -> String {
    let ns = run.schemes.len();
    let totals = &rows[rows.len() - ns..];
    let layers = &rows[..rows.len() - ns];
    let m = &run.cost.memory;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "memory (buffers: {} KiB activations, {} KiB weights; DRAM {} GB/s; a layer takes max(cycles, memory cycles)):",
        m.act_buffer_kib, m.weight_buffer_kib, m.dram_gbps
    );
    let mut grid = vec![[
        "scheme",
        "weights KiB",
        "acts KiB",
        "DRAM MiB",
        "SRAM MiB",
        "memory cycles",
        "total cycles",
        "bound",
        "memory-bound layers",
        "speedup",
    ]
    .map(String::from)
    .to_vec()];
    for (s, r) in totals.iter().enumerate() {
        let bound_layers = layers
            .iter()
            .skip(s)
            .step_by(ns)
            .filter(|l| l.bound == crate::cost::Bound::Memory)
            .count();
        grid.push(vec![
            r.scheme.clone(),
            kib(r.weight_bits),
            kib(r.act_bits),
            mib(r.dram_bits),
            mib(r.sram_bits),
            r.memory_cycles.to_string(),
            r.total_cycles.to_string(),
            r.bound.as_str().to_string(),
            format!("{bound_layers} of {}", run.layers.len()),
            x(r.speedup_total),
        ]);
    }
    out.push_str(&align(&grid, 1));
    out.push('\n');
    out.push_str("energy (µJ) and area (mm²); ratios over the baseline:\n");
    let mut grid = vec![[
        "scheme",
        "energy",
        "compute",
        "SRAM",
        "DRAM",
        "static",
        "area",
        "energy ratio",
        "perf/area",
    ]
    .map(String::from)
    .to_vec()];
    for r in totals {
        grid.push(vec![
            r.scheme.clone(),
            uj(r.energy_pj),
            uj(r.energy_compute_pj),
            uj(r.energy_sram_pj),
            uj(r.energy_dram_pj),
            uj(r.energy_static_pj),
            format!("{:.3}", r.area_mm2),
            x(r.energy_ratio),
            x(r.perf_per_area),
        ]);
    }
    out.push_str(&align(&grid, 1));
    out
}

/// For the schemes with a weight schedule, the steps it removed over the network (and
/// nothing when no scheme has one).
fn schedules(run: &Run, totals: &[Row]) -> String {
    let mut grid = vec![[
        "scheme",
        "schedule",
        "steps",
        "kept steps",
        "removed",
        "weights promoted",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect::<Vec<_>>()];
    for (r, ws) in totals.iter().zip(&run.schedules) {
        let (Some(ws), Some(c)) = (ws, r.schedule) else {
            continue;
        };
        let share = if c.steps == 0 {
            "-".to_string()
        } else {
            format!("{:.1}%", 100.0 * c.removed() as f64 / c.steps as f64)
        };
        grid.push(vec![
            r.scheme.clone(),
            ws.to_string(),
            c.steps.to_string(),
            c.kept_steps.to_string(),
            format!("{} ({share})", c.removed()),
            c.promoted.to_string(),
        ]);
    }
    if grid.len() == 1 {
        return String::new();
    }
    format!(
        "\nweight schedules (steps = every unit's steps without the schedule; removed = steps \
         the schedule skipped):\n{}",
        align(&grid, 2)
    )
}

/// Summary over several samples: per scheme, the speedup of the summed cycles and work
/// (ratios of sums), and the range of the per-sample total speedups.
pub fn across_samples(runs: &[Run], rows: &[Vec<Row>]) -> String {
    let run = &runs[0];
    let ns = run.schemes.len();
    let totals: Vec<&[Row]> = rows.iter().map(|r| &r[r.len() - ns..]).collect();
    let mut grid = vec![[
        "scheme",
        "cycles (all samples)",
        "speedup",
        "min",
        "max",
        "potential",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect::<Vec<_>>()];
    let sum = |s: usize, f: fn(&Row) -> u64| totals.iter().map(|t| f(&t[s])).sum::<u64>();
    for (s, name) in run.schemes.iter().enumerate() {
        let sp: Vec<f64> = totals.iter().map(|t| t[s].speedup).collect();
        let min = sp.iter().copied().fold(f64::INFINITY, f64::min);
        let max = sp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        grid.push(vec![
            name.clone(),
            sum(s, |r| r.cycles).to_string(),
            x(super::ratio(
                sum(run.baseline, |r| r.cycles),
                sum(s, |r| r.cycles),
            )),
            x(min),
            x(max),
            x(super::ratio(
                sum(run.baseline, |r| r.work),
                sum(s, |r| r.work),
            )),
        ]);
    }
    format!("summary over {} samples:\n{}", runs.len(), align(&grid, 1))
}
