//! Per-layer grouped bars: speedup of each scheme over the baseline with the potential
//! as a black tick on each bar, or lane utilization of every scheme. Layer names are
//! drawn vertically (and shortened past 22 characters) so 50+ layers stay readable; the
//! figure widens with the number of layers; the `total` group stands apart.

use std::collections::HashMap;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::table::Table;
use super::{
    abbreviate, cell, color, font, legend, light, network_of, point_labels, times, title,
    DrawResult, Figure, Mark,
};
use crate::error::{Error, Result};

/// Longest layer label on the axis.
const LABEL_CHARS: usize = 22;

/// Use a log axis when speedups span more than this ratio or fall below 1/5.
const LOG_SPAN: f64 = 50.0;

pub(super) struct Bars {
    title: String,
    subtitle: String,
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
    /// Speedup bars of every scheme but `baseline`, potentials as ticks. `arch` names
    /// the arch in the subtitle when known.
    pub(super) fn speedups(t: &Table, baseline: &str, arch: &str) -> Result<Bars> {
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
        let net = network_of(t);
        let on = match (net.is_empty(), arch.is_empty()) {
            (false, false) => format!("{net} on {arch}: "),
            (false, true) => format!("{net}: "),
            _ => String::new(),
        };
        let finite = values
            .iter()
            .chain(&ticks)
            .flatten()
            .copied()
            .filter(|v: &f64| v.is_finite() && *v > 0.0);
        let (lo, hi) = finite.fold((1.0f64, 1.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let log = lo < 0.2 || hi / lo > LOG_SPAN;
        Ok(Bars {
            title: format!("Per-layer speedup over {baseline}"),
            subtitle: format!(
                "{on}bars = achieved speedup ({baseline} cycles / cycles), \
                 ticks = potential speedup ({baseline} work / work)"
            ),
            y_desc: format!(
                "speedup over {baseline} (×{})",
                if log { ", log scale" } else { "" }
            ),
            groups,
            series,
            values,
            ticks: Some(ticks),
            percent: false,
            baseline: Some(baseline.to_string()),
            x_desc: "layer".to_string(),
            label_chars: LABEL_CHARS,
            log,
            data,
        })
    }

    /// Network-total speedup bars of a sweep: one group per point, labelled by the
    /// parameters that vary between points.
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
        let mut b = Bars::speedups(&tot, baseline, "")?;
        b.title = format!("Network speedup over {baseline}");
        b.subtitle = format!(
            "network totals; bars = achieved speedup ({baseline} cycles / cycles), \
             ticks = potential speedup ({baseline} work / work)"
        );
        b.x_desc = if varied.is_empty() {
            "sweep point".to_string()
        } else {
            varied.join(", ")
        };
        b.label_chars = 44;
        if let Some(h) = b.data.first_mut() {
            h[0] = "point".to_string();
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
        let net = network_of(t);
        Ok(Bars {
            title: "Per-layer lane utilization".to_string(),
            subtitle: format!(
                "{}share of the array's lane-cycles spent on each scheme's own work \
                 (the rest waits on synchronization or idles)",
                if net.is_empty() {
                    String::new()
                } else {
                    format!("{net}: ")
                }
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
            data,
        })
    }

    /// Pixels per group: narrower bars when there are many groups.
    fn group_px(&self) -> u32 {
        let per_bar = if self.groups.len() > 30 { 6 } else { 9 };
        (self.series.len() as u32 * per_bar + 8).max(22)
    }

    fn label_px(&self) -> u32 {
        let longest = self
            .groups
            .iter()
            .map(|g| abbreviate(g, self.label_chars).chars().count())
            .max()
            .unwrap_or(4) as u32;
        longest * 7 + 34
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

impl Figure for Bars {
    fn size(&self) -> (u32, u32) {
        let w = (120 + self.groups.len() as u32 * self.group_px()).max(960);
        let h = if self.groups.len() > 30 { 640 } else { 520 };
        (w, h + self.label_px())
    }

    fn data(&self) -> Vec<Vec<String>> {
        self.data.clone()
    }

    fn title_mut(&mut self) -> &mut String {
        &mut self.title
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let area = title(root, &self.title, &self.subtitle)?;
        let mut items: Vec<(String, Mark)> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let what = if self.percent { "" } else { " (achieved)" };
                (format!("{s}{what}"), Mark::Box(color(i)))
            })
            .collect();
        if self.ticks.is_some() {
            items.push(("potential".to_string(), Mark::Tick));
        }
        if let Some(b) = &self.baseline {
            items.push((
                format!("{b} (baseline) = 1×"),
                Mark::Dashed(RGBColor(90, 90, 90)),
            ));
        }
        let area = legend(&area, &items)?;
        let (lo, hi) = self.yrange();
        if self.log {
            self.chart(root, &area, (lo..hi).log_scale(), 1.0)
        } else {
            self.chart(root, &area, lo..hi, 0.0)
        }
    }
}

impl Bars {
    /// The axes, bars, ticks and labels; bars grow from `floor` (0, or 1× on a log axis).
    fn chart<DB: DrawingBackend, Y>(
        &self,
        root: &DrawingArea<DB, Shift>,
        area: &DrawingArea<DB, Shift>,
        y_range: Y,
        floor: f64,
    ) -> DrawResult<DB>
    where
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let n = self.groups.len();
        let (ylo, ymax) = self.yrange();
        let mut chart = ChartBuilder::on(area)
            .margin_left(10)
            .margin_right(20)
            .margin_top(6)
            .x_label_area_size(self.label_px())
            .y_label_area_size(76)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, y_range)?;
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
            .bold_line_style(RGBColor(215, 215, 215))
            .light_line_style(RGBColor(243, 243, 243))
            .max_light_lines(4)
            .y_labels(10)
            .y_label_formatter(&yfmt)
            .y_label_style(font(14.0))
            .y_desc(self.y_desc.clone())
            .x_desc(self.x_desc.clone())
            .axis_desc_style(font(16.0))
            .draw()?;
        let clamp = |v: f64| v.clamp(ylo, ymax);

        let ns = self.series.len() as f64;
        let bw = 0.8 / ns;
        for (g, vals) in self.values.iter().enumerate() {
            for (s, &v) in vals.iter().enumerate() {
                let x0 = g as f64 - 0.4 + s as f64 * bw;
                let x1 = x0 + bw * 0.88;
                let c = color(s);
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
                                light(c, 0.3).stroke_width(1),
                            )))?;
                        }
                        let pad = bw * 0.12;
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(x0 - pad, clamp(p)), (x1 + pad, clamp(p))],
                            BLACK.stroke_width(if n > 60 { 2 } else { 3 }),
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
                    gray.stroke_width(1),
                )))?;
                x += step;
            }
        }
        if n > 1 && self.groups.last().map(String::as_str) == Some("total") {
            let xs = n as f64 - 1.5;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(xs, ylo), (xs, ymax)],
                RGBColor(120, 120, 120).stroke_width(1),
            )))?;
        }
        // Group labels, vertical, under each group.
        let style = font(if n > 60 { 12.0 } else { 13.0 })
            .transform(FontTransform::Rotate90)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (g, name) in self.groups.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(g as f64, ylo));
            let label = abbreviate(name, self.label_chars);
            root.draw(&Text::new(label, (x, y + 8), style.clone()))?;
        }
        Ok(())
    }
}
