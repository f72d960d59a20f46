//! Sweep curves: network-total speedup over the baseline against one swept parameter,
//! one line per scheme (and per value of `--series`), achieved solid with dots,
//! potential dashed in the same color; optional panels per value of `--panel` and
//! dotted reference lines (`--hline 15,45`). Encodings on the x axis (`ternary:3`) are
//! plotted by their levels (or bits), with a tick at every swept value (labels that
//! would overlap are thinned, the last kept). The legend's heading names what a line
//! is (`scheme`, `weights`, `scheme, weights`); lines that coincide in every panel (the
//! same values at every x, as `laconic` and `mltq-bit` on ternary operands) are drawn
//! once, under one legend entry `laconic = mltq-bit`.

use std::collections::BTreeMap;

use clap::ValueEnum;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::table::Table;
use super::{
    abbreviate, caption, cell, color, legend, spaced, text_width, tick_count, times, title,
    DrawResult, Figure, Heading, Look, Mark,
};
use crate::encoding::EncSpec;
use crate::error::{did_you_mean, Error, Result};

/// Which speedups a sweep figure draws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum YSel {
    /// Achieved (cycles) only.
    Achieved,
    /// Potential (work) only.
    Potential,
    /// Both: achieved solid, potential dashed.
    #[default]
    Both,
}

/// What a sweep figure shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CurveOptions {
    /// The x column (a swept parameter).
    pub x: String,
    /// One line per value of this column too.
    pub series: Option<String>,
    /// One panel per value of this column.
    pub panel: Option<String>,
    /// Achieved, potential or both.
    pub y: YSel,
    /// A report column drawn instead of the speedups (one solid line per scheme).
    pub metric: Option<String>,
    /// Schemes to draw (empty: all but the baseline).
    pub schemes: Vec<String>,
    /// Baseline (None: detected).
    pub baseline: Option<String>,
    /// Reference lines at these speedups.
    pub hlines: Vec<f64>,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Logarithmic x axis (powers of two: lanes, columns).
    pub log_x: bool,
}

struct Line {
    color: usize,
    /// (x, achieved, potential), ascending x.
    pts: Vec<(f64, f64, f64)>,
}

struct Panel {
    title: String,
    lines: Vec<Line>,
}

pub(super) struct Curves {
    head: Heading,
    x_desc: String,
    y_desc: String,
    y: YSel,
    /// The y values are ratios (drawn as `2×`), not plain numbers.
    ratio: bool,
    /// A report column, not the speedups: no achieved / potential legend.
    metric: bool,
    panels: Vec<Panel>,
    /// What a line is (the legend's heading): `scheme`, `weights`, `scheme, weights`.
    line_key: String,
    /// Legend labels, by line color.
    labels: Vec<String>,
    hlines: Vec<f64>,
    log_y: bool,
    log_x: bool,
    xr: (f64, f64),
    /// Tick labels at the swept values (None: automatic ticks).
    xticks: Option<Vec<(f64, String)>>,
    yr: (f64, f64),
    data: Vec<Vec<String>>,
}

/// A numeric x value: a number, or an encoding's levels / bits.
fn x_value(s: &str) -> Option<f64> {
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    match s.parse::<EncSpec>().ok()? {
        EncSpec::Ternary(l) | EncSpec::Binary(l) | EncSpec::Int(l) => Some(l as f64),
    }
}

/// Axis description of a parameter column.
fn describe(col: &str, sample: &str) -> String {
    let enc_unit = match sample.parse::<EncSpec>() {
        Ok(EncSpec::Int(_)) => "bits",
        _ => "levels",
    };
    match col {
        "weight_density" => "weight density (fraction of nonzero weights)".to_string(),
        "act_density" => "activation density (fraction of nonzero activations)".to_string(),
        "weights" => format!("weight {enc_unit} (encoding `{sample}` → its number)"),
        "acts" => format!("activation {enc_unit} (encoding `{sample}` → its number)"),
        "lanes" => "lanes per PE (multipliers = channels per brick)".to_string(),
        "columns" => "PE columns (windows in flight)".to_string(),
        "rows" => "PE rows per tile (filters in flight)".to_string(),
        "tiles" => "tiles".to_string(),
        "column_registers" => "column registers (sync units a column may run ahead)".to_string(),
        "seed" => "seed".to_string(),
        c => c.to_string(),
    }
}

impl Curves {
    pub(super) fn new(t: &Table, o: &CurveOptions) -> Result<Curves> {
        let totals = t.totals()?;
        if totals.rows.is_empty() {
            return Err(Error::invalid(format!(
                "{}: no `total` rows; sweep curves need network totals",
                t.source
            )));
        }
        let t = &totals;
        let baseline = t.baseline(o.baseline.as_deref())?;
        let sc = t.col("scheme")?;
        let all = t.distinct(sc);
        // A ratio over the baseline is 1 for the baseline itself: leave it out, as the
        // speedups do; an absolute column (energy, bits) shows every scheme.
        let ratio = o.metric.as_deref().is_none_or(is_ratio);
        let schemes: Vec<String> = if o.schemes.is_empty() {
            all.iter()
                .filter(|s| !ratio || **s != baseline)
                .cloned()
                .collect()
        } else {
            for s in &o.schemes {
                if !all.contains(s) {
                    return Err(Error::invalid(format!(
                        "{}: no scheme `{s}`{}; schemes: {}",
                        t.source,
                        did_you_mean(s, all.iter().map(String::as_str)),
                        all.join(", ")
                    )));
                }
            }
            o.schemes.clone()
        };
        if schemes.is_empty() {
            return Err(Error::invalid(format!(
                "{}: only the baseline `{baseline}` to plot",
                t.source
            )));
        }
        let xc = t.col(&o.x)?;
        let series = o.series.as_deref().map(|c| t.col(c)).transpose()?;
        let panel = o.panel.as_deref().map(|c| t.col(c)).transpose()?;
        let (sp, po) = match &o.metric {
            Some(m) => (t.col(m)?, t.col(m)?),
            None => (t.col("speedup")?, t.col("potential_speedup")?),
        };
        let ysel = if o.metric.is_some() {
            YSel::Achieved
        } else {
            o.y
        };

        // (panel, scheme, series value) → x → row.
        type Key = (String, String, String);
        let mut groups: BTreeMap<Key, Vec<(f64, usize)>> = BTreeMap::new();
        let mut order: Vec<Key> = Vec::new();
        for (r, row) in t.rows.iter().enumerate() {
            if !schemes.contains(&row[sc]) {
                continue;
            }
            let x = x_value(&row[xc]).ok_or_else(|| {
                Error::invalid(format!(
                    "{}: `{}` = `{}` is not a number or an encoding; put a numeric \
                     parameter on the x axis, and split lines with --series {}",
                    t.source, o.x, row[xc], o.x
                ))
            })?;
            let key = (
                panel.map_or(String::new(), |c| row[c].clone()),
                row[sc].clone(),
                series.map_or(String::new(), |c| row[c].clone()),
            );
            if !groups.contains_key(&key) {
                order.push(key.clone());
            }
            let g = groups.entry(key.clone()).or_default();
            if let Some(&(_, prev)) = g.iter().find(|(px, _)| *px == x) {
                let differ: Vec<&str> = t
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(c, name)| {
                        t.rows[prev][*c] != row[*c]
                            && !crate::report::csv::is_report_column(name)
                            && !["point", "point_id"].contains(&name.as_str())
                    })
                    .map(|(_, n)| n.as_str())
                    .collect();
                return Err(Error::invalid(format!(
                    "{}: several points for {} = {} and scheme {}{}; they differ in {}: \
                     pick one with --filter COL=VALUE, or split them with --series / --panel",
                    t.source,
                    o.x,
                    row[xc],
                    row[sc],
                    if key.2.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", key.2)
                    },
                    if differ.is_empty() {
                        "nothing but the point".to_string()
                    } else {
                        differ
                            .iter()
                            .map(|d| format!("`{d}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )));
            }
            g.push((x, r));
        }
        if order.is_empty() {
            return Err(Error::invalid(format!("{}: no rows to plot", t.source)));
        }

        let series_name = o.series.clone().unwrap_or_default();
        let scheme_is_panel = o.panel.as_deref() == Some("scheme");
        let scheme_only = o.series.is_none() || o.series.as_deref() == Some("scheme");
        // The `line` of the data CSV.
        let label_of = |k: &Key| -> String {
            match (k.2.is_empty() || scheme_only, scheme_is_panel) {
                (true, _) => k.1.clone(),
                (false, true) => format!("{series_name} {}", k.2),
                (false, false) => format!("{}, {series_name} {}", k.1, k.2),
            }
        };
        // The legend's entry, under a heading that names the columns.
        let legend_of = |k: &Key| -> String {
            match (scheme_only, scheme_is_panel) {
                (true, _) => k.1.clone(),
                (false, true) => k.2.clone(),
                (false, false) => format!("{}, {}", k.1, k.2),
            }
        };
        let line_key = match (scheme_only, scheme_is_panel) {
            (true, _) => "scheme".to_string(),
            (false, true) => series_name.clone(),
            (false, false) => format!("scheme, {series_name}"),
        };
        let mut labels: Vec<String> = Vec::new();
        let mut panels: Vec<Panel> = Vec::new();
        let mut data = vec![match &o.metric {
            Some(m) => vec![
                "panel",
                "line",
                "scheme",
                "series",
                o.x.as_str(),
                m.as_str(),
            ],
            None => vec![
                "panel",
                "line",
                "scheme",
                "series",
                o.x.as_str(),
                "speedup",
                "potential_speedup",
            ],
        }
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()];
        let (mut xmin, mut xmax) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut ymin, mut ymax) = (f64::INFINITY, 0.0f64);
        let panel_name = o.panel.clone().unwrap_or_default();
        for key in &order {
            let mut pts: Vec<(f64, f64, f64)> = Vec::new();
            let mut rows = groups[key].clone();
            rows.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (x, r) in rows {
                let (a, p) = (t.num(r, sp)?, t.num(r, po)?);
                let mut line = vec![
                    key.0.clone(),
                    label_of(key),
                    key.1.clone(),
                    key.2.clone(),
                    t.rows[r][xc].clone(),
                ];
                if o.metric.is_some() {
                    line.push(t.rows[r][sp].clone());
                } else {
                    line.extend([cell(a), cell(p)]);
                }
                data.push(line);
                xmin = xmin.min(x);
                xmax = xmax.max(x);
                for (v, on) in [(a, ysel != YSel::Potential), (p, ysel != YSel::Achieved)] {
                    if on && v.is_finite() && v > 0.0 {
                        ymin = ymin.min(v);
                        ymax = ymax.max(v);
                    }
                }
                pts.push((x, a, p));
            }
            let label = legend_of(key);
            let c = match labels.iter().position(|l| *l == label) {
                Some(i) => i,
                None => {
                    labels.push(label.clone());
                    labels.len() - 1
                }
            };
            let ptitle = if panel.is_some() {
                format!("{panel_name} = {}", key.0)
            } else {
                String::new()
            };
            let line = Line { color: c, pts };
            match panels.iter_mut().find(|p| p.title == ptitle) {
                Some(p) => p.lines.push(line),
                None => panels.push(Panel {
                    title: ptitle,
                    lines: vec![line],
                }),
            }
        }
        for &h in &o.hlines {
            ymin = ymin.min(h);
            ymax = ymax.max(h);
        }
        if !ymax.is_finite() || ymax <= 0.0 {
            return Err(Error::invalid(format!(
                "{}: no finite positive values of {} to plot",
                t.source,
                o.metric.as_deref().unwrap_or("speedup")
            )));
        }
        if o.log_x && xmin <= 0.0 {
            return Err(Error::invalid(format!(
                "{}: --log-x needs positive `{}` values, got {xmin}",
                t.source, o.x
            )));
        }
        let xr = if o.log_x {
            let f = if xmax > xmin {
                (xmax / xmin).powf(0.04)
            } else {
                1.5
            };
            (xmin / f, xmax * f)
        } else if xmax > xmin {
            let pad = (xmax - xmin) * 0.03;
            (xmin - pad, xmax + pad)
        } else {
            (xmin - 0.5, xmax + 0.5)
        };
        // Ticks at the swept values when there are few of them.
        let mut xs: Vec<(f64, String)> = Vec::new();
        for row in &t.rows {
            if let Some(x) = x_value(&row[xc]) {
                if !xs.iter().any(|(v, _)| *v == x) {
                    xs.push((x, row[xc].clone()));
                }
            }
        }
        xs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let xticks = (xs.len() <= 16).then_some(xs);
        let yr = if o.log_y {
            (ymin.min(1.0) / 1.2, ymax * 1.25)
        } else {
            (0.0, ymax * 1.08)
        };
        let sample_x = &t.rows[groups[&order[0]][0].1][xc];
        let labels = merge_coinciding(&mut panels, labels, ysel);
        let what = match (&o.metric, o.y) {
            (Some(m), _) => metric_desc(m, &baseline),
            (None, YSel::Both) => "solid: achieved (cycles), dashed: potential (work)".to_string(),
            (None, YSel::Achieved) => "achieved speedup (baseline cycles / cycles)".to_string(),
            (None, YSel::Potential) => "potential speedup (baseline work / work)".to_string(),
        };
        Ok(Curves {
            head: Heading::new(
                match &o.metric {
                    Some(m) => format!("{m} vs {}", o.x),
                    None => format!("Speedup over {baseline} vs {}", o.x),
                },
                format!("network totals; {what}"),
            ),
            x_desc: describe(&o.x, sample_x),
            y_desc: match &o.metric {
                Some(m) => format!(
                    "{m}{}{}",
                    if ratio { " (×)" } else { "" },
                    if o.log_y { ", log scale" } else { "" }
                ),
                None => format!(
                    "speedup over {baseline} (×{})",
                    if o.log_y { ", log scale" } else { "" }
                ),
            },
            y: ysel,
            ratio,
            metric: o.metric.is_some(),
            panels,
            line_key,
            labels,
            hlines: o.hlines.clone(),
            log_y: o.log_y,
            log_x: o.log_x,
            xr,
            xticks,
            yr,
            data,
        })
    }
}

impl Curves {
    fn draw_panel<DB: DrawingBackend, X, Y>(
        &self,
        area: &DrawingArea<DB, Shift>,
        look: &Look,
        p: &Panel,
        x_range: X,
        y_range: Y,
    ) -> DrawResult<DB>
    where
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let mut b = ChartBuilder::on(area);
        b.margin(look.pxu(14))
            .x_label_area_size(look.tx(56.0))
            .y_label_area_size(look.tx(76.0));
        if !p.title.is_empty() {
            b.caption(&p.title, look.font(17.0));
        }
        let mut chart = b.build_cartesian_2d(x_range, y_range)?;
        let yfmt = |v: &f64| {
            if self.ratio {
                times(*v)
            } else {
                compact(*v)
            }
        };
        let xfmt = |v: &f64| {
            if self.xticks.is_some() {
                String::new()
            } else {
                number(*v)
            }
        };
        let (pw, ph) = chart.plotting_area().dim_in_pixel();
        let mut mesh = chart.configure_mesh();
        mesh.bold_line_style(look.stroke(RGBColor(215, 215, 215), 1))
            .light_line_style(look.stroke(RGBColor(243, 243, 243), 1))
            .max_light_lines(4)
            .x_labels(tick_count(pw as f64, look.tx(70.0) as f64))
            .y_labels(tick_count(ph as f64, 2.0 * look.line(14.0)))
            .y_label_formatter(&yfmt)
            .x_label_formatter(&xfmt)
            .label_style(look.font(14.0))
            .x_desc(self.x_desc.clone())
            .y_desc(self.y_desc.clone())
            .axis_desc_style(look.font(16.0));
        if self.xticks.is_some() {
            mesh.disable_x_mesh()
                .x_labels(0)
                .set_tick_mark_size(LabelAreaPosition::Bottom, 0);
        }
        mesh.draw()?;
        let base = area.get_base_pixel();
        if let Some(ticks) = &self.xticks {
            // Grid lines and ticks at the swept values; labels where they fit.
            let style = look.font(14.0).pos(Pos::new(HPos::Center, VPos::Top));
            let labels: Vec<String> = ticks.iter().map(|t| abbreviate(&t.1, 12)).collect();
            let at: Vec<(i32, i32)> = ticks
                .iter()
                .map(|t| chart.backend_coord(&(t.0, self.yr.0)))
                .collect();
            let xs: Vec<f64> = at.iter().map(|p| p.0 as f64).collect();
            let half: Vec<f64> = labels
                .iter()
                .map(|l| text_width(area, l, &style) as f64 / 2.0)
                .collect();
            let keep = spaced(&xs, &half, look.px(6.0));
            for (((x, _), label), ((px, py), keep)) in
                ticks.iter().zip(labels).zip(at.into_iter().zip(keep))
            {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(*x, self.yr.0), (*x, self.yr.1)],
                    look.stroke(RGBColor(225, 225, 225), 1),
                )))?;
                area.draw(&PathElement::new(
                    vec![
                        (px - base.0, py - base.1),
                        (px - base.0, py - base.1 + look.pxi(5)),
                    ],
                    look.stroke(BLACK, 1),
                ))?;
                if keep {
                    area.draw(&Text::new(
                        label,
                        (px - base.0, py - base.1 + look.pxi(8)),
                        style.clone(),
                    ))?;
                }
            }
        }
        for &h in &self.hlines {
            let gray = RGBColor(110, 110, 110);
            chart.draw_series(DashedLineSeries::new(
                vec![(self.xr.0, h), (self.xr.1, h)],
                look.pxu(2),
                look.pxu(5),
                look.stroke(gray, 1),
            ))?;
            let (px, py) = chart.backend_coord(&(self.xr.1, h));
            area.draw(&Text::new(
                times(h),
                (px - look.pxi(4) - base.0, py - look.pxi(4) - base.1),
                look.font(13.0)
                    .color(&gray)
                    .pos(Pos::new(HPos::Right, VPos::Bottom)),
            ))?;
        }
        for l in &p.lines {
            let c = color(l.color);
            if self.y != YSel::Achieved {
                let pts: Vec<(f64, f64)> = l
                    .pts
                    .iter()
                    .filter(|q| q.2.is_finite())
                    .map(|q| (q.0, q.2))
                    .collect();
                chart.draw_series(DashedLineSeries::new(
                    pts,
                    look.pxu(7),
                    look.pxu(5),
                    look.stroke(c, 2),
                ))?;
            }
            if self.y != YSel::Potential {
                let pts: Vec<(f64, f64)> = l
                    .pts
                    .iter()
                    .filter(|q| q.1.is_finite())
                    .map(|q| (q.0, q.1))
                    .collect();
                chart.draw_series(LineSeries::new(pts.clone(), look.stroke(c, 2)))?;
                chart.draw_series(pts.iter().map(|&q| Circle::new(q, look.pxi(4), c.filled())))?;
            }
        }
        Ok(())
    }
}

/// Report columns that are ratios over the baseline.
fn is_ratio(col: &str) -> bool {
    [
        "speedup",
        "potential_speedup",
        "speedup_total",
        "energy_ratio",
        "perf_per_area",
    ]
    .contains(&col)
}

/// What a metric column means, for the subtitle.
fn metric_desc(col: &str, baseline: &str) -> String {
    match col {
        "speedup_total" => format!("{baseline} total cycles / total cycles (memory included)"),
        "energy_ratio" => format!("{baseline} energy / energy"),
        "perf_per_area" => format!("speedup_total × {baseline} area / area"),
        "energy_pj" => "energy (pJ)".to_string(),
        "dram_bits" => "DRAM traffic (bits)".to_string(),
        "sram_bits" => "on-chip buffer reads (bits)".to_string(),
        "weight_bits" | "act_bits" => format!("{col}: footprint in the scheme's format (bits)"),
        "area_mm2" => "area (mm²)".to_string(),
        "total_cycles" => "max(cycles, memory cycles) per layer, summed".to_string(),
        c => c.to_string(),
    }
}

/// An axis number for large values too: `12`, `0.25`, `3.4e6`.
fn compact(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        format!("{v:.1e}")
    } else {
        number(v)
    }
}

/// An axis number without float noise: `4`, `0.25`.
fn number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Lines that coincide in every panel (the same drawn values at every x) are drawn
/// once: the later ones leave their panels, and the first one's legend label names
/// them all (`laconic = mltq-bit`). Returns the legend labels, indexed by the new
/// colors (one per group, in order).
fn merge_coinciding(panels: &mut [Panel], labels: Vec<String>, y: YSel) -> Vec<String> {
    // What a line draws: per panel, its (x, y…) values as bits, or nothing.
    let keys: Vec<Vec<Option<Vec<[u64; 3]>>>> = (0..labels.len())
        .map(|c| {
            panels
                .iter()
                .map(|p| {
                    p.lines.iter().find(|l| l.color == c).map(|l| {
                        l.pts
                            .iter()
                            .map(|&(x, a, q)| {
                                let a = if y == YSel::Potential { 0.0 } else { a };
                                let q = if y == YSel::Achieved { 0.0 } else { q };
                                [x.to_bits(), a.to_bits(), q.to_bits()]
                            })
                            .collect()
                    })
                })
                .collect()
        })
        .collect();
    let groups = caption::coinciding(&keys);
    let mut new_color = vec![0; labels.len()];
    let mut first = vec![false; labels.len()];
    for (g, members) in groups.iter().enumerate() {
        first[members[0]] = true;
        for &m in members {
            new_color[m] = g;
        }
    }
    for p in panels.iter_mut() {
        p.lines.retain(|l| first[l.color]);
        for l in &mut p.lines {
            l.color = new_color[l.color];
        }
    }
    groups
        .iter()
        .map(|g| {
            let names: Vec<&str> = g.iter().map(|&i| labels[i].as_str()).collect();
            caption::same_label(&names)
        })
        .collect()
}

impl Figure for Curves {
    fn size(&self, _look: &Look) -> (u32, u32) {
        let k = self.panels.len() as u32;
        ((k * 620).max(960), 720)
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
        let mut items: Vec<(String, Mark)> = vec![(format!("{}:", self.line_key), Mark::Heading)];
        items.extend(
            self.labels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.clone(), Mark::Box(color(i)))),
        );
        let gray = RGBColor(70, 70, 70);
        if self.y != YSel::Potential && !self.metric {
            items.push(("achieved".to_string(), Mark::Line(gray)));
        }
        if self.y != YSel::Achieved {
            items.push(("potential".to_string(), Mark::Dashed(gray)));
        }
        let area = legend(&area, look, &items)?;
        let cells = area.split_evenly((1, self.panels.len()));
        let (x, y) = (self.xr.0..self.xr.1, self.yr.0..self.yr.1);
        for (cell, p) in cells.iter().zip(&self.panels) {
            let l = look;
            match (self.log_x, self.log_y) {
                (false, false) => self.draw_panel(cell, l, p, x.clone(), y.clone())?,
                (false, true) => self.draw_panel(cell, l, p, x.clone(), y.clone().log_scale())?,
                (true, false) => self.draw_panel(cell, l, p, x.clone().log_scale(), y.clone())?,
                (true, true) => {
                    self.draw_panel(cell, l, p, x.clone().log_scale(), y.clone().log_scale())?
                }
            }
        }
        Ok(())
    }
}
