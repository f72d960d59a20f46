//! Figures of the cost model:
//!
//! - [`EnergySplit`]: the network's energy per scheme as a stacked bar — compute (the
//!   lanes), SRAM (buffer reads), DRAM (traffic) and static (leakage) — one group of bars
//!   per run or sweep point;
//! - [`MemoryBound`]: per layer, the compute cycles as a bar and the memory cycles as a
//!   black tick, one panel per scheme; a bar is orange where the layer is memory-bound
//!   (its DRAM traffic takes longer than its compute, so it takes the memory cycles).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::table::Table;
use super::{
    abbreviate, color, font, legend, network_of, point_labels, title, DrawResult, Figure, Mark,
};
use crate::error::{Error, Result};

/// The energy parts, in stacking order (bottom first), with their CSV columns.
const PARTS: [(&str, &str); 4] = [
    ("compute", "energy_compute_pj"),
    ("SRAM", "energy_sram_pj"),
    ("DRAM", "energy_dram_pj"),
    ("static", "energy_static_pj"),
];

/// Colors of the energy parts.
fn part_color(i: usize) -> RGBColor {
    [
        RGBColor(31, 119, 180),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(150, 150, 150),
    ][i]
}

/// Longest bar label.
const LABEL_CHARS: usize = 28;

pub(super) struct EnergySplit {
    title: String,
    subtitle: String,
    /// One bar per (group, scheme): its label and the four parts in µJ.
    bars: Vec<(String, String, [f64; 4])>,
    data: Vec<Vec<String>>,
}

impl EnergySplit {
    pub(super) fn new(t: &Table) -> Result<EnergySplit> {
        let tot = t.totals()?;
        if tot.rows.is_empty() {
            return Err(Error::invalid(format!(
                "{}: no `total` rows; the energy split is drawn from network totals",
                t.source
            )));
        }
        let sc = tot.col("scheme")?;
        let cols: Vec<usize> = PARTS
            .iter()
            .map(|(_, c)| tot.col(c))
            .collect::<Result<_>>()?;
        let (labels, _) = point_labels(&tot);
        let mut bars = Vec::new();
        let mut data = vec![[
            "point",
            "scheme",
            "energy_compute_pj",
            "energy_sram_pj",
            "energy_dram_pj",
            "energy_static_pj",
        ]
        .map(String::from)
        .to_vec()];
        for (r, label) in labels.iter().enumerate() {
            let mut parts = [0.0; 4];
            let mut row = vec![label.clone(), tot.rows[r][sc].clone()];
            for (p, &c) in parts.iter_mut().zip(&cols) {
                let pj = tot.num(r, c)?;
                *p = pj / 1e6;
                row.push(tot.rows[r][c].clone());
            }
            bars.push((label.clone(), tot.rows[r][sc].clone(), parts));
            data.push(row);
        }
        let net = tot
            .col("network")
            .ok()
            .map(|c| tot.distinct(c).join(", "))
            .unwrap_or_default();
        Ok(EnergySplit {
            title: "Energy per scheme".to_string(),
            subtitle: format!(
                "{}network totals: lanes' work, buffer reads, DRAM traffic, leakage",
                if net.is_empty() {
                    String::new()
                } else {
                    format!("{net}: ")
                }
            ),
            bars,
            data,
        })
    }
}

impl Figure for EnergySplit {
    fn size(&self) -> (u32, u32) {
        let longest = self
            .bars
            .iter()
            .map(|(g, s, _)| abbreviate(&bar_label(g, s), LABEL_CHARS).chars().count())
            .max()
            .unwrap_or(4) as u32;
        (
            (160 + self.bars.len() as u32 * 44).max(960),
            560 + longest * 7,
        )
    }

    fn data(&self) -> Vec<Vec<String>> {
        self.data.clone()
    }

    fn title_mut(&mut self) -> &mut String {
        &mut self.title
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let area = title(root, &self.title, &self.subtitle)?;
        let items: Vec<(String, Mark)> = PARTS
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.to_string(), Mark::Box(part_color(i))))
            .collect();
        let area = legend(&area, &items)?;
        let n = self.bars.len();
        let ymax = self
            .bars
            .iter()
            .map(|(_, _, p)| p.iter().sum::<f64>())
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.08;
        let longest = self
            .bars
            .iter()
            .map(|(g, s, _)| abbreviate(&bar_label(g, s), LABEL_CHARS).chars().count())
            .max()
            .unwrap_or(4) as u32;
        let mut chart = ChartBuilder::on(&area)
            .margin_left(10)
            .margin_right(20)
            .margin_top(6)
            .x_label_area_size(longest * 7 + 34)
            .y_label_area_size(84)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0.0..ymax)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .x_label_formatter(&|_| String::new())
            .bold_line_style(RGBColor(215, 215, 215))
            .light_line_style(RGBColor(243, 243, 243))
            .max_light_lines(4)
            .y_label_formatter(&|v| short(*v))
            .y_label_style(font(14.0))
            .y_desc("energy (µJ)")
            .x_desc("scheme")
            .axis_desc_style(font(16.0))
            .draw()?;
        for (i, (g, _, parts)) in self.bars.iter().enumerate() {
            let (x0, x1) = (i as f64 - 0.35, i as f64 + 0.35);
            let mut y = 0.0;
            for (k, &p) in parts.iter().enumerate() {
                if p.is_finite() && p > 0.0 {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(x0, y), (x1, y + p)],
                        part_color(k).filled(),
                    )))?;
                    y += p;
                }
            }
            // A gap line between points.
            if i + 1 < n && self.bars[i + 1].0 != *g {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(i as f64 + 0.5, 0.0), (i as f64 + 0.5, ymax)],
                    RGBColor(120, 120, 120).stroke_width(1),
                )))?;
            }
        }
        let style = font(13.0)
            .transform(FontTransform::Rotate90)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (i, (g, s, _)) in self.bars.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(i as f64, 0.0));
            root.draw(&Text::new(
                abbreviate(&bar_label(g, s), LABEL_CHARS),
                (x, y + 8),
                style.clone(),
            ))?;
        }
        Ok(())
    }
}

/// A bar's label: the scheme, after the point for sweeps.
fn bar_label(point: &str, scheme: &str) -> String {
    if point == "total" {
        scheme.to_string()
    } else {
        format!("{point}: {scheme}")
    }
}

/// An axis number: `0`, `12.5`, `3400`, `1.2e6`.
fn short(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else if v.abs() >= 1e5 || v.abs() < 1e-3 {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

pub(super) struct MemoryBound {
    title: String,
    subtitle: String,
    /// Layers, in file order.
    layers: Vec<String>,
    /// Per scheme: its name and per layer (compute cycles, memory cycles).
    panels: Vec<(String, Vec<(f64, f64)>)>,
    data: Vec<Vec<String>>,
}

impl MemoryBound {
    pub(super) fn new(t: &Table) -> Result<MemoryBound> {
        t.one_run()?;
        let (lc, sc) = (t.col("layer")?, t.col("scheme")?);
        let (cc, mc, bc) = (t.col("cycles")?, t.col("memory_cycles")?, t.col("bound")?);
        let mut layers: Vec<String> = Vec::new();
        let mut panels: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        let mut data = vec![["layer", "scheme", "cycles", "memory_cycles", "bound"]
            .map(String::from)
            .to_vec()];
        for (r, row) in t.rows.iter().enumerate() {
            if row[lc] == "total" {
                continue;
            }
            if !layers.contains(&row[lc]) {
                layers.push(row[lc].clone());
            }
            let (c, m) = (t.num(r, cc)?, t.num(r, mc)?);
            match panels.iter_mut().find(|(s, _)| *s == row[sc]) {
                Some((_, v)) => v.push((c, m)),
                None => panels.push((row[sc].clone(), vec![(c, m)])),
            }
            data.push(vec![
                row[lc].clone(),
                row[sc].clone(),
                row[cc].clone(),
                row[mc].clone(),
                row[bc].clone(),
            ]);
        }
        if layers.is_empty() {
            return Err(Error::invalid(format!("{}: no layer rows", t.source)));
        }
        if panels.iter().any(|(_, v)| v.len() != layers.len()) {
            return Err(Error::invalid(format!(
                "{}: every scheme needs a row for every layer; this figure shows one run",
                t.source
            )));
        }
        let net = network_of(t);
        Ok(MemoryBound {
            title: "Compute vs memory cycles per layer".to_string(),
            subtitle: format!(
                "{}bars: compute cycles (orange where DRAM takes longer); ticks: memory cycles",
                if net.is_empty() {
                    String::new()
                } else {
                    format!("{net}: ")
                }
            ),
            layers,
            panels,
            data,
        })
    }

    fn label_px(&self) -> u32 {
        let longest = self
            .layers
            .iter()
            .map(|g| abbreviate(g, 22).chars().count())
            .max()
            .unwrap_or(4) as u32;
        longest * 7 + 34
    }
}

impl Figure for MemoryBound {
    fn size(&self) -> (u32, u32) {
        let per = if self.layers.len() > 30 { 14 } else { 22 };
        let w = (140 + self.layers.len() as u32 * per).max(960);
        (w, 150 + self.panels.len() as u32 * 240 + self.label_px())
    }

    fn data(&self) -> Vec<Vec<String>> {
        self.data.clone()
    }

    fn title_mut(&mut self) -> &mut String {
        &mut self.title
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let area = title(root, &self.title, &self.subtitle)?;
        let (compute, memory) = (color(0), color(1));
        let items = vec![
            ("compute-bound layer".to_string(), Mark::Box(compute)),
            ("memory-bound layer".to_string(), Mark::Box(memory)),
            ("memory cycles".to_string(), Mark::Tick),
        ];
        let area = legend(&area, &items)?;
        let n = self.layers.len();
        let all = self
            .panels
            .iter()
            .flat_map(|(_, v)| v.iter().flat_map(|&(c, m)| [c, m]))
            .filter(|v| v.is_finite() && *v > 0.0);
        let (lo, hi) = all.fold((f64::INFINITY, 1.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = (lo.min(hi).max(0.5) / 1.5, hi * 1.5);
        let label_h = self.label_px();
        let (panels_area, _) = area.split_vertically(area.dim_in_pixel().1 - label_h);
        let cells = panels_area.split_evenly((self.panels.len(), 1));
        for (k, ((scheme, vals), cell)) in self.panels.iter().zip(&cells).enumerate() {
            let last = k + 1 == self.panels.len();
            let mut chart = ChartBuilder::on(cell)
                .margin_left(10)
                .margin_right(20)
                .margin_top(4)
                .caption(scheme, font(15.0))
                .x_label_area_size(if last { 6 } else { 2 })
                .y_label_area_size(84)
                .build_cartesian_2d(-0.5f64..n as f64 - 0.5, (lo..hi).log_scale())?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .x_label_formatter(&|_| String::new())
                .bold_line_style(RGBColor(215, 215, 215))
                .light_line_style(RGBColor(243, 243, 243))
                .y_labels(5)
                .y_label_formatter(&|v| short(*v))
                .y_label_style(font(12.0))
                .y_desc("cycles (log)")
                .axis_desc_style(font(13.0))
                .draw()?;
            for (i, &(c, m)) in vals.iter().enumerate() {
                let (x0, x1) = (i as f64 - 0.38, i as f64 + 0.38);
                let fill = if m > c { memory } else { compute };
                if c.is_finite() && c > 0.0 {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(x0, lo), (x1, c.min(hi))],
                        fill.filled(),
                    )))?;
                }
                if m.is_finite() && m > 0.0 {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(x0 - 0.08, m.min(hi)), (x1 + 0.08, m.min(hi))],
                        BLACK.stroke_width(2),
                    )))?;
                }
            }
            if last {
                let style = font(if n > 60 { 11.0 } else { 12.0 })
                    .transform(FontTransform::Rotate90)
                    .pos(Pos::new(HPos::Left, VPos::Center));
                for (i, name) in self.layers.iter().enumerate() {
                    let (x, y) = chart.backend_coord(&(i as f64, lo));
                    root.draw(&Text::new(abbreviate(name, 22), (x, y + 8), style.clone()))?;
                }
            }
        }
        Ok(())
    }
}
