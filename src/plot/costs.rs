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
    abbreviate, color, legend, point_labels, spaced, tick_count, title, DrawResult, Figure,
    Heading, Look, Mark,
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

/// Longest bar label: a sweep point's part is shortened in the middle, the scheme kept.
const LABEL_CHARS: usize = 36;

pub(super) struct EnergySplit {
    head: Heading,
    /// The x axis: `scheme`, or the settings that vary and the scheme.
    x_desc: String,
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
        let (labels, varied) = point_labels(&tot);
        // One setting varies: the x axis names it, the bars give its value.
        let prefix = match varied.as_slice() {
            [one] => format!("{one}="),
            _ => String::new(),
        };
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
            let shown = label.strip_prefix(&prefix).unwrap_or(label);
            bars.push((shown.to_string(), tot.rows[r][sc].clone(), parts));
            data.push(row);
        }
        Ok(EnergySplit {
            head: Heading::new(
                "Energy per scheme",
                "network totals: lanes' work, buffer reads, DRAM traffic, leakage",
            ),
            x_desc: if varied.is_empty() {
                "scheme".to_string()
            } else {
                format!("{}: scheme", varied.join(", "))
            },
            bars,
            data,
        })
    }
}

impl EnergySplit {
    /// The longest bar label, in characters.
    fn longest(&self) -> u32 {
        self.bars
            .iter()
            .map(|(g, s, _)| bar_label(g, s).chars().count())
            .max()
            .unwrap_or(4) as u32
    }
}

impl Figure for EnergySplit {
    fn size(&self, look: &Look) -> (u32, u32) {
        (
            (160 + self.bars.len() as u32 * 44).max(960),
            560 + look.tx((self.longest() * 7) as f64),
        )
    }

    fn data(&self) -> Vec<Vec<String>> {
        self.data.clone()
    }

    fn heading_mut(&mut self) -> &mut Heading {
        &mut self.head
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        look: &Look,
    ) -> DrawResult<DB> {
        let area = title(root, look, &self.head)?;
        let mut items: Vec<(String, Mark)> = vec![("energy part:".to_string(), Mark::Heading)];
        items.extend(
            PARTS
                .iter()
                .enumerate()
                .map(|(i, (name, _))| (name.to_string(), Mark::Box(part_color(i)))),
        );
        let area = legend(&area, look, &items)?;
        let n = self.bars.len();
        let ymax = self
            .bars
            .iter()
            .map(|(_, _, p)| p.iter().sum::<f64>())
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.08;
        let label_px = look.tx((self.longest() * 7 + 34) as f64);
        let mut chart = ChartBuilder::on(&area)
            .margin_left(look.pxu(10))
            .margin_right(look.pxu(20))
            .margin_top(look.pxu(6))
            .x_label_area_size(label_px)
            .y_label_area_size(look.tx(84.0))
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0.0..ymax)?;
        let ph = chart.plotting_area().dim_in_pixel().1 as f64;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .x_label_formatter(&|_| String::new())
            .bold_line_style(look.stroke(RGBColor(215, 215, 215), 1))
            .light_line_style(look.stroke(RGBColor(243, 243, 243), 1))
            .max_light_lines(4)
            .y_labels(tick_count(ph, 2.0 * look.line(14.0)))
            .y_label_formatter(&|v| short(*v))
            .y_label_style(look.font(14.0))
            .y_desc("energy (µJ)")
            .x_desc(self.x_desc.clone())
            .axis_desc_style(look.font(16.0))
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
                    look.stroke(RGBColor(120, 120, 120), 1),
                )))?;
            }
        }
        let style = look
            .font(13.0)
            .transform(FontTransform::Rotate90)
            .pos(Pos::new(HPos::Left, VPos::Center));
        let at: Vec<(i32, i32)> = (0..n)
            .map(|i| chart.backend_coord(&(i as f64, 0.0)))
            .collect();
        let xs: Vec<f64> = at.iter().map(|p| p.0 as f64).collect();
        let keep = spaced(&xs, &vec![look.line(13.0) / 2.0; n], 0.0);
        for (((g, s, _), (x, y)), keep) in self.bars.iter().zip(at).zip(keep) {
            if keep {
                root.draw(&Text::new(
                    bar_label(g, s),
                    (x, y + look.pxi(8)),
                    style.clone(),
                ))?;
            }
        }
        Ok(())
    }
}

/// A bar's label: the scheme, after the point for sweeps (shortened in the middle to
/// fit [`LABEL_CHARS`] with the scheme whole).
pub(super) fn bar_label(point: &str, scheme: &str) -> String {
    if point == "total" {
        scheme.to_string()
    } else {
        let room = LABEL_CHARS
            .saturating_sub(scheme.chars().count() + 2)
            .max(8);
        format!("{}: {scheme}", abbreviate(point, room))
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
    head: Heading,
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
        Ok(MemoryBound {
            head: Heading::new(
                "Compute vs memory cycles per layer",
                "bars: compute cycles (orange where DRAM takes longer); ticks: memory cycles",
            ),
            layers,
            panels,
            data,
        })
    }

    fn label_px(&self, look: &Look) -> u32 {
        let longest = self
            .layers
            .iter()
            .map(|g| abbreviate(g, 22).chars().count())
            .max()
            .unwrap_or(4) as u32;
        look.tx((longest * 7 + 34) as f64)
    }
}

impl Figure for MemoryBound {
    fn size(&self, look: &Look) -> (u32, u32) {
        let per = if self.layers.len() > 30 { 14 } else { 22 };
        let w = (140 + self.layers.len() as u32 * per).max(960);
        (
            w,
            150 + self.panels.len() as u32 * 240 + self.label_px(look),
        )
    }

    fn data(&self) -> Vec<Vec<String>> {
        self.data.clone()
    }

    fn heading_mut(&mut self) -> &mut Heading {
        &mut self.head
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        look: &Look,
    ) -> DrawResult<DB> {
        let area = title(root, look, &self.head)?;
        let (compute, memory) = (color(0), color(1));
        let items = vec![
            ("compute-bound layer".to_string(), Mark::Box(compute)),
            ("memory-bound layer".to_string(), Mark::Box(memory)),
            ("memory cycles".to_string(), Mark::Tick),
        ];
        let area = legend(&area, look, &items)?;
        let n = self.layers.len();
        let all = self
            .panels
            .iter()
            .flat_map(|(_, v)| v.iter().flat_map(|&(c, m)| [c, m]))
            .filter(|v| v.is_finite() && *v > 0.0);
        let (lo, hi) = all.fold((f64::INFINITY, 1.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = (lo.min(hi).max(0.5) / 1.5, hi * 1.5);
        let label_h = self.label_px(look);
        let (panels_area, _) = area.split_vertically(area.dim_in_pixel().1.saturating_sub(label_h));
        let cells = panels_area.split_evenly((self.panels.len(), 1));
        for (k, ((scheme, vals), cell)) in self.panels.iter().zip(&cells).enumerate() {
            let last = k + 1 == self.panels.len();
            let mut chart = ChartBuilder::on(cell)
                .margin_left(look.pxu(10))
                .margin_right(look.pxu(20))
                .margin_top(look.pxu(4))
                .caption(scheme, look.font(15.0))
                .x_label_area_size(look.pxu(if last { 6 } else { 2 }))
                .y_label_area_size(look.tx(84.0))
                .build_cartesian_2d(-0.5f64..n as f64 - 0.5, (lo..hi).log_scale())?;
            let ph = chart.plotting_area().dim_in_pixel().1 as f64;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .x_label_formatter(&|_| String::new())
                .bold_line_style(look.stroke(RGBColor(215, 215, 215), 1))
                .light_line_style(look.stroke(RGBColor(243, 243, 243), 1))
                .y_labels(tick_count(ph, 2.0 * look.line(12.0)).min(5))
                .y_label_formatter(&|v| short(*v))
                .y_label_style(look.font(12.0))
                .y_desc("cycles (log)")
                .axis_desc_style(look.font(13.0))
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
                        look.stroke(BLACK, 2),
                    )))?;
                }
            }
            if last {
                let size = if n > 60 { 11.0 } else { 12.0 };
                let style = look
                    .font(size)
                    .transform(FontTransform::Rotate90)
                    .pos(Pos::new(HPos::Left, VPos::Center));
                let at: Vec<(i32, i32)> = (0..n)
                    .map(|i| chart.backend_coord(&(i as f64, lo)))
                    .collect();
                let xs: Vec<f64> = at.iter().map(|p| p.0 as f64).collect();
                let keep = spaced(&xs, &vec![look.line(size) / 2.0; n], 0.0);
                for ((name, (x, y)), keep) in self.layers.iter().zip(at).zip(keep) {
                    if keep {
                        let label = abbreviate(name, 22);
                        root.draw(&Text::new(label, (x, y + look.pxi(8)), style.clone()))?;
                    }
                }
            }
        }
        Ok(())
    }
}
