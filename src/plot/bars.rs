//! Per-layer grouped bars: speedup of each scheme over the baseline with the potential
//! as a black tick on each bar, or lane utilization of every scheme. Layer names are
//! drawn vertically (and shortened past 22 characters) so 50+ layers stay readable; the
//! figure widens with the number of layers; the `total` group stands apart.

use std::collections::HashMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::table::Table;
use super::{abbreviate, cell, color, font, legend, light, times, title, DrawResult, Figure, Mark};
use crate::error::{Error, Result};

/// Longest layer label on the axis.
const LABEL_CHARS: usize = 22;

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
    data: Vec<Vec<String>>,
}

/// Row index of every (layer, scheme) of a one-run table.
fn index(t: &Table) -> Result<(Vec<String>, Vec<String>, HashMap<(String, String), usize>)> {
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

fn network_of(t: &Table) -> String {
    t.col("network")
        .ok()
        .and_then(|c| t.rows.first().map(|r| r[c].clone()))
        .unwrap_or_default()
}

impl Bars {
    /// Speedup bars of every scheme but `baseline`, potentials as ticks.
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
        Ok(Bars {
            title: format!("Per-layer speedup over {baseline}"),
            subtitle: format!(
                "{on}bars = achieved speedup ({baseline} cycles / cycles), \
                 ticks = potential speedup ({baseline} work / work)"
            ),
            y_desc: format!("speedup over {baseline} (×)"),
            groups,
            series,
            values,
            ticks: Some(ticks),
            percent: false,
            baseline: Some(baseline.to_string()),
            data,
        })
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
            data,
        })
    }

    fn group_px(&self) -> u32 {
        (self.series.len() as u32 * 9 + 10).max(26)
    }

    fn label_px(&self) -> u32 {
        let longest = self
            .groups
            .iter()
            .map(|g| abbreviate(g, LABEL_CHARS).chars().count())
            .max()
            .unwrap_or(4) as u32;
        longest * 7 + 34
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
        (w, 520 + self.label_px())
    }

    fn data(&self) -> Vec<Vec<String>> {
        self.data.clone()
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
        let n = self.groups.len();
        let ymax = self.ymax();
        let mut chart = ChartBuilder::on(&area)
            .margin_left(10)
            .margin_right(20)
            .margin_top(6)
            .x_label_area_size(self.label_px())
            .y_label_area_size(76)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..ymax)?;
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
            .light_line_style(RGBColor(240, 240, 240))
            .y_labels(10)
            .y_label_formatter(&yfmt)
            .y_label_style(font(14.0))
            .y_desc(self.y_desc.clone())
            .x_desc("layer")
            .axis_desc_style(font(16.0))
            .draw()?;

        let ns = self.series.len() as f64;
        let bw = 0.8 / ns;
        for (g, vals) in self.values.iter().enumerate() {
            for (s, &v) in vals.iter().enumerate() {
                let x0 = g as f64 - 0.4 + s as f64 * bw;
                let x1 = x0 + bw * 0.88;
                let c = color(s);
                if v.is_finite() {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(x0, 0.0), (x1, v.min(ymax))],
                        c.filled(),
                    )))?;
                }
                if let Some(t) = &self.ticks {
                    let p = t[g][s];
                    if p.is_finite() {
                        let xm = (x0 + x1) / 2.0;
                        if v.is_finite() && p > v {
                            chart.draw_series(std::iter::once(PathElement::new(
                                vec![(xm, v), (xm, p.min(ymax))],
                                light(c, 0.3).stroke_width(1),
                            )))?;
                        }
                        let pad = bw * 0.12;
                        chart.draw_series(std::iter::once(PathElement::new(
                            vec![(x0 - pad, p.min(ymax)), (x1 + pad, p.min(ymax))],
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
                vec![(xs, 0.0), (xs, ymax)],
                RGBColor(120, 120, 120).stroke_width(1),
            )))?;
        }
        // Layer labels, vertical, under each group.
        let style = font(if n > 60 { 12.0 } else { 13.0 })
            .transform(FontTransform::Rotate90)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (g, name) in self.groups.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(g as f64, 0.0));
            let label = abbreviate(name, LABEL_CHARS);
            let style = if name == "total" {
                style.clone().color(&RGBColor(0, 0, 0))
            } else {
                style.clone()
            };
            root.draw(&Text::new(label, (x, y + 8), style))?;
        }
        Ok(())
    }
}
