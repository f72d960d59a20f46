//! Per-layer grouped bars: speedup of each scheme over the baseline with the potential
//! as a black tick on each bar, or lane utilization of every scheme. Layer names are
//! drawn vertically (and shortened past 22 characters) so 50+ layers stay readable; the
//! figure widens with the number of layers (when `--size` narrows it, every k-th name
//! is drawn, `total` always); the `total` group stands apart. Network totals of one run
//! are one bar per scheme, named on the x axis.

use std::collections::HashMap;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::table::Table;
use super::{
    abbreviate, cell, color, legend, light, point_labels, spaced, tick_count, times, title,
    DrawResult, Figure, Heading, Look, Mark,
};
use crate::error::{Error, Result};

/// Longest layer label on the axis.
const LABEL_CHARS: usize = 22;

/// Use a log axis when speedups span more than this ratio or fall below 1/5.
const LOG_SPAN: f64 = 50.0;

pub(super) struct Bars {
    head: Heading,
    y_desc: String,
    /// Layers, `total` last.
    groups: Vec<String>,
    /// Schemes drawn.
    series: Vec<String>,
    /// `values[group][series]`.
    values: Vec<Vec<f64>>,
    /// Potential ticks, `[group][series]`.
    ticks: Option<Vec<Vec<f64>>>,
    /// Utilization: y in percent, 0..100.
    percent: bool,
    /// The baseline's name (a dashed line at 1×), for speedups.
    baseline: Option<String>,
    /// What a group is (the x axis description).
    x_desc: String,
    /// Longest group label before it is shortened.
    label_chars: usize,
    /// Logarithmic y axis (bars grow up or down from 1×).
    log: bool,
    /// One bar per group (one series), each group in its own color, named on the x
    /// axis only (network totals of one run: a group per scheme).
    per_group: bool,
    data: Vec<Vec<String>>,
}

/// Layers, schemes, and the row of every (layer, scheme).
type Index = (Vec<String>, Vec<String>, HashMap<(String, String), usize>);

/// Row index of every (layer, scheme) of a one-run table.
fn index(t: &Table) -> Result<Index> {
    let lc = t.col("layer")?;
    let sc = t.col("scheme")?;
    let mut at = HashMap::new();
    for (i, r) in t.rows.iter().enumerate() {
        if at.insert((r[lc].clone(), r[sc].clone()), i).is_some() {
            return Err(Error::invalid(format!(
                "{}: layer `{}` and scheme `{}` appear twice; this figure shows one run: \
                 select one with --filter",
                t.source, r[lc], r[sc]
            )));
        }
    }
    let mut layers = t.distinct(lc);
    // `total` last, as in reports.
    if let Some(p) = layers.iter().position(|l| l == "total") {
        let tot = layers.remove(p);
        layers.push(tot);
    }
    Ok((layers, t.distinct(sc), at))
}

fn lookup(
    t: &Table,
    at: &HashMap<(String, String), usize>,
    layer: &str,
    scheme: &str,
) -> Result<usize> {
    at.get(&(layer.to_string(), scheme.to_string()))
        .copied()
        .ok_or_else(|| {
            Error::invalid(format!(
                "{}: no row for layer `{layer}` and scheme `{scheme}`",
                t.source
            ))
        })
}

impl Bars {
    /// Speedup bars of every scheme but `baseline`, potentials as ticks.
    pub(super) fn speedups(t: &Table, baseline: &str) -> Result<Bars> {
        let (groups, schemes, at) = index(t)?;
        let series: Vec<String> = schemes.into_iter().filter(|s| s != baseline).collect();
        if series.is_empty() {
            return Err(Error::invalid(format!(
                "{}: only the baseline `{baseline}` to plot; simulate other schemes too",
                t.source
            )));
        }
        let (sp, po) = (t.col("speedup")?, t.col("potential_speedup")?);
        let (cy, wo) = (t.col("cycles")?, t.col("work")?);
        let mut values = Vec::new();
        let mut ticks = Vec::new();
        let mut data = vec![[
            "layer",
            "scheme",
            "speedup",
            "potential_speedup",
            "cycles",
            "work",
        ]
        .map(String::from)
        .to_vec()];
        for g in &groups {
            let mut v = Vec::new();
            let mut k = Vec::new();
            for s in &series {
                let r = lookup(t, &at, g, s)?;
                let (a, p) = (t.num(r, sp)?, t.num(r, po)?);
                v.push(a);
                k.push(p);
                data.push(vec![
                    g.clone(),
                    s.clone(),
                    cell(a),
                    cell(p),
                    t.rows[r][cy].clone(),
                    t.rows[r][wo].clone(),
                ]);
            }
            values.push(v);
            ticks.push(k);
        }
        let finite = values
            .iter()
            .chain(&ticks)
            .flatten()
            .copied()
            .filter(|v: &f64| v.is_finite() && *v > 0.0);
        let (lo, hi) = finite.fold((1.0f64, 1.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let log = lo < 0.2 || hi / lo > LOG_SPAN;
        Ok(Bars {
            head: Heading::new(
                format!("Per-layer speedup over {baseline}"),
                format!(
                    "bars = achieved speedup ({baseline} cycles / cycles), \
                     ticks = potential speedup ({baseline} work / work)"
                ),
            ),
            y_desc: speedup_desc(baseline, log),
            groups,
            series,
            values,
            ticks: Some(ticks),
            percent: false,
            baseline: Some(baseline.to_string()),
            x_desc: "layer".to_string(),
            label_chars: LABEL_CHARS,
            log,
            per_group: false,
            data,
        })
    }

    /// Network-total speedup bars of a sweep: one group per point, labelled by the
    /// parameters that vary between points; of one run (nothing varies): one bar per
    /// scheme, the scheme on the x axis.
    pub(super) fn totals(t: &Table, baseline: &str) -> Result<Bars> {
        let lc = t.col("layer")?;
        let mut tot = t.totals()?;
        if tot.rows.is_empty() {
            return Err(Error::invalid(format!("{}: no `total` rows", t.source)));
        }
        let (labels, varied) = point_labels(&tot);
        for (r, label) in tot.rows.iter_mut().zip(labels) {
            r[lc] = label;
        }
        let mut b = Bars::speedups(&tot, baseline)?;
        b.head = Heading::new(
            format!("Network speedup over {baseline}"),
            format!(
                "network totals; bars = achieved speedup ({baseline} cycles / cycles), \
                 ticks = potential speedup ({baseline} work / work)"
            ),
        );
        if let Some(h) = b.data.first_mut() {
            h[0] = "point".to_string();
        }
        if varied.is_empty() {
            // One run: a group per scheme, its one bar in the scheme's color.
            let one_each = |m: &[Vec<f64>]| -> Vec<Vec<f64>> {
                m.concat().into_iter().map(|v| vec![v]).collect()
            };
            b.groups = std::mem::take(&mut b.series);
            b.values = one_each(&b.values);
            b.ticks = b.ticks.map(|t| one_each(&t));
            b.series = vec!["network total".to_string()];
            b.per_group = true;
            b.x_desc = "scheme".to_string();
        } else {
            b.x_desc = varied.join(", ");
            b.label_chars = 44;
        }
        Ok(b)
    }

    /// Lane utilization of every scheme, per layer.
    pub(super) fn utilization(t: &Table) -> Result<Bars> {
        let (groups, series, at) = index(t)?;
        let (u, b, l) = (
            t.col("utilization")?,
            t.col("busy_lane_cycles")?,
            t.col("lane_cycles")?,
        );
        let mut values = Vec::new();
        let mut data = vec![[
            "layer",
            "scheme",
            "utilization",
            "busy_lane_cycles",
            "lane_cycles",
        ]
        .map(String::from)
        .to_vec()];
        for g in &groups {
            let mut v = Vec::new();
            for s in &series {
                let r = lookup(t, &at, g, s)?;
                let x = t.num(r, u)?;
                v.push(100.0 * x);
                data.push(vec![
                    g.clone(),
                    s.clone(),
                    format!("{x:.6}"),
                    t.rows[r][b].clone(),
                    t.rows[r][l].clone(),
                ]);
            }
            values.push(v);
        }
        Ok(Bars {
            head: Heading::new(
                "Per-layer lane utilization",
                "share of the array's lane-cycles spent on each scheme's own work \
                 (the rest waits on synchronization or idles)",
            ),
            y_desc: "lane utilization (% of lane-cycles)".to_string(),
            groups,
            series,
            values,
            ticks: None,
            percent: true,
            baseline: None,
            x_desc: "layer".to_string(),
            label_chars: LABEL_CHARS,
            log: false,
            per_group: false,
            data,
        })
    }

    /// Pixels per group: narrower bars when there are many groups.
    fn group_px(&self) -> u32 {
        let per_bar = if self.groups.len() > 30 { 6 } else { 9 };
        (self.series.len() as u32 * per_bar + 8).max(22)
    }

    /// The height of the group labels' area (they are drawn vertically).
    fn label_px(&self, look: &Look) -> u32 {
        let longest = self
            .groups
            .iter()
            .map(|g| abbreviate(g, self.label_chars).chars().count())
            .max()
            .unwrap_or(4) as u32;
        look.tx((longest * 7 + 34) as f64)
    }

    /// The y range: log (around 1×) or linear from 0.
    fn yrange(&self) -> (f64, f64) {
        if !self.log {
            return (0.0, self.ymax());
        }
        let all = self
            .values
            .iter()
            .flatten()
            .chain(self.ticks.iter().flatten().flatten())
            .copied()
            .filter(|v| v.is_finite() && *v > 0.0);
        let (lo, hi) = all.fold((1.0f64, 1.0f64), |(a, b), v| (a.min(v), b.max(v)));
        (lo / 1.6, hi * 1.6)
    }

    fn ymax(&self) -> f64 {
        if self.percent {
            // Headroom over the highest bar, in steps of 5%, at most 100%.
            let m = self.values.iter().flatten().copied().fold(0.0, f64::max);
            return ((m * 1.15 / 5.0).ceil() * 5.0).clamp(5.0, 100.0);
        }
        let all = self
            .values
            .iter()
            .flatten()
            .chain(self.ticks.iter().flatten().flatten());
        let m = all.copied().filter(|v| v.is_finite()).fold(1.0, f64::max);
        m * 1.08
    }
}

/// The y axis of speedup bars.
fn speedup_desc(baseline: &str, log: bool) -> String {
    format!(
        "speedup over {baseline} ({baseline} cycles / cycles, ×{})",
        if log { ", log scale" } else { "" }
    )
}

impl Figure for Bars {
    fn size(&self, look: &Look) -> (u32, u32) {
        let w = (120 + self.groups.len() as u32 * self.group_px()).max(960);
        let h = if self.groups.len() > 30 { 640 } else { 520 };
        (w, h + self.label_px(look))
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
        let mut items: Vec<(String, Mark)> = Vec::new();
        if !self.per_group {
            items.push(("scheme:".to_string(), Mark::Heading));
            items.extend(self.series.iter().enumerate().map(|(i, s)| {
                let what = if self.percent { "" } else { " (achieved)" };
                (format!("{s}{what}"), Mark::Box(color(i)))
            }));
        }
        if self.ticks.is_some() {
            items.push(("potential".to_string(), Mark::Tick));
        }
        if let Some(b) = &self.baseline {
            items.push((
                format!("{b} (baseline) = 1×"),
                Mark::Dashed(RGBColor(90, 90, 90)),
            ));
        }
        let area = legend(&area, look, &items)?;
        let (lo, hi) = self.yrange();
        if self.log {
            self.chart(root, &area, look, (lo..hi).log_scale(), 1.0)
        } else {
            self.chart(root, &area, look, lo..hi, 0.0)
        }
    }
}

impl Bars {
    /// The axes, bars, ticks and labels; bars grow from `floor` (0, or 1× on a log axis).
    fn chart<DB: DrawingBackend, Y>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        look: &Look,
        y_range: Y,
        floor: f64,
    ) -> DrawResult<DB>
    where
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let n = self.groups.len();
        let (ylo, ymax) = self.yrange();
        let label_px = self.label_px(look);
        let mut chart = ChartBuilder::on(area)
            .margin_left(look.pxu(10))
            .margin_right(look.pxu(20))
            .margin_top(look.pxu(6))
            .x_label_area_size(label_px)
            .y_label_area_size(look.tx(76.0))
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, y_range)?;
        let plot_h = area.dim_in_pixel().1 as f64 - label_px as f64;
        let yfmt = |v: &f64| {
            if self.percent {
                format!("{v:.0}%")
            } else {
                times(*v)
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .x_label_formatter(&|_| String::new())
            .bold_line_style(look.stroke(RGBColor(215, 215, 215), 1))
            .light_line_style(look.stroke(RGBColor(243, 243, 243), 1))
            .max_light_lines(4)
            .y_labels(tick_count(plot_h, 2.0 * look.line(14.0)))
            .y_label_formatter(&yfmt)
            .y_label_style(look.font(14.0))
            .y_desc(self.y_desc.clone())
            .x_desc(self.x_desc.clone())
            .axis_desc_style(look.font(16.0))
            .draw()?;
        let clamp = |v: f64| v.clamp(ylo, ymax);

        let ns = self.series.len() as f64;
        let bw = 0.8 / ns;
        for (g, vals) in self.values.iter().enumerate() {
            for (s, &v) in vals.iter().enumerate() {
                let x0 = g as f64 - 0.4 + s as f64 * bw;
                let x1 = x0 + bw * 0.88;
                let c = color(if self.per_group { g } else { s });
                if v.is_finite() {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(x0, floor), (x1, clamp(v))],
                        c.filled(),
                    )))?;
                }
                if let Some(t) = &self.ticks {
                    let p = t[g][s];
                    if p.is_finite() && p > 0.0 {
                        let xm = (x0 + x1) / 2.0;
                        if v.is_finite() && p > v {
                            chart.draw_series(std::iter::once(PathElement::new(
                                vec![(xm, clamp(v.max(floor))), (xm, clamp(p))],
                                look.stroke(light(c, 0.3), 1),
                            )))?;
                        }
                        let pad = bw * 0.12;
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(x0 - pad, clamp(p)), (x1 + pad, clamp(p))],
                            look.stroke(BLACK, if n > 60 { 2 } else { 3 }),
                        )))?;
                    }
                }
            }
        }
        if self.baseline.is_some() {
            // Dashed line at 1× (the baseline).
            let gray = RGBColor(90, 90, 90);
            let mut x = -0.5;
            let step = 0.25;
            while x < n as f64 - 0.5 {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x, 1.0), ((x + step * 0.6).min(n as f64 - 0.5), 1.0)],
                    look.stroke(gray, 1),
                )))?;
                x += step;
            }
        }
        if n > 1 && self.groups.last().map(String::as_str) == Some("total") {
            let xs = n as f64 - 1.5;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(xs, ylo), (xs, ymax)],
                look.stroke(RGBColor(120, 120, 120), 1),
            )))?;
        }
        // Group labels, vertical, under each group; every k-th where they would overlap.
        let size = if n > 60 { 12.0 } else { 13.0 };
        let style = look
            .font(size)
            .transform(FontTransform::Rotate90)
            .pos(Pos::new(HPos::Left, VPos::Center));
        let at: Vec<(i32, i32)> = (0..n)
            .map(|g| chart.backend_coord(&(g as f64, ylo)))
            .collect();
        let xs: Vec<f64> = at.iter().map(|p| p.0 as f64).collect();
        let keep = spaced(&xs, &vec![look.line(size) / 2.0; n], 0.0);
        for ((name, (x, y)), keep) in self.groups.iter().zip(at).zip(keep) {
            if keep {
                let label = abbreviate(name, self.label_chars);
                root.draw(&Text::new(label, (x, y + look.pxi(8)), style.clone()))?;
            }
        }
        Ok(())
    }
}
