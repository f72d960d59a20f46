//! Sweep curves: network-total speedup over the baseline against one swept parameter,
//! one line per scheme (and per value of `--series`), achieved solid with dots,
//! potential dashed in the same color; optional panels per value of `--panel` and
//! dotted reference lines (`--hline 15,45`). Encodings on the x axis (`ternary:3`) are
//! plotted by their levels (or bits).

use std::collections::BTreeMap;

use clap::ValueEnum;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::table::Table;
use super::{cell, color, font, legend, times, title, DrawResult, Figure, Mark};
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
    /// Title (None: from the data).
    pub title: Option<String>,
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
    title: String,
    subtitle: String,
    x_desc: String,
    y_desc: String,
    y: YSel,
    /// The y values are ratios (drawn as `2×`), not plain numbers.
    ratio: bool,
    /// A report column, not the speedups: no achieved / potential legend.
    metric: bool,
    panels: Vec<Panel>,
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
                            && !crate::report::csv::HEADER.contains(&name.as_str())
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
        let label_of = |k: &Key| -> String {
            let scheme_is_panel = o.panel.as_deref() == Some("scheme");
            let scheme_is_series = o.series.as_deref() == Some("scheme");
            match (k.2.is_empty() || scheme_is_series, scheme_is_panel) {
                (true, _) => k.1.clone(),
                (false, true) => format!("{series_name} {}", k.2),
                (false, false) => format!("{}, {series_name} {}", k.1, k.2),
            }
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
            let label = label_of(key);
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
        let net = t
            .col("network")
            .ok()
            .map(|c| t.distinct(c).join(", "))
            .unwrap_or_default();
        let what = match (&o.metric, o.y) {
            (Some(m), _) => metric_desc(m, &baseline),
            (None, YSel::Both) => "solid: achieved (cycles), dashed: potential (work)".to_string(),
            (None, YSel::Achieved) => "achieved speedup (baseline cycles / cycles)".to_string(),
            (None, YSel::Potential) => "potential speedup (baseline work / work)".to_string(),
        };
        Ok(Curves {
            title: o.title.clone().unwrap_or_else(|| match &o.metric {
                Some(m) => format!("{m} vs {}", o.x),
                None => format!("Speedup over {baseline} vs {}", o.x),
            }),
            subtitle: format!(
                "{}network totals; {what}",
                if net.is_empty() {
                    String::new()
                } else {
                    format!("{net}: ")
                }
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
        b.margin(14).x_label_area_size(56).y_label_area_size(76);
        if !p.title.is_empty() {
            b.caption(&p.title, font(17.0));
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
        let mut mesh = chart.configure_mesh();
        mesh.bold_line_style(RGBColor(215, 215, 215))
            .light_line_style(RGBColor(243, 243, 243))
            .max_light_lines(4)
            .y_label_formatter(&yfmt)
            .x_label_formatter(&xfmt)
            .label_style(font(14.0))
            .x_desc(self.x_desc.clone())
            .y_desc(self.y_desc.clone())
            .axis_desc_style(font(16.0));
        if self.xticks.is_some() {
            mesh.disable_x_mesh()
                .x_labels(0)
                .set_tick_mark_size(LabelAreaPosition::Bottom, 0);
        }
        mesh.draw()?;
        let base = area.get_base_pixel();
        if let Some(ticks) = &self.xticks {
            // Grid lines and labels at the swept values.
            for (x, label) in ticks {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(*x, self.yr.0), (*x, self.yr.1)],
                    RGBColor(225, 225, 225).stroke_width(1),
                )))?;
                let (px, py) = chart.backend_coord(&(*x, self.yr.0));
                area.draw(&PathElement::new(
                    vec![(px - base.0, py - base.1), (px - base.0, py - base.1 + 5)],
                    BLACK.stroke_width(1),
                ))?;
                area.draw(&Text::new(
                    label.clone(),
                    (px - base.0, py - base.1 + 8),
                    font(14.0).pos(Pos::new(HPos::Center, VPos::Top)),
                ))?;
            }
        }
        for &h in &self.hlines {
            let gray = RGBColor(110, 110, 110);
            chart.draw_series(DashedLineSeries::new(
                vec![(self.xr.0, h), (self.xr.1, h)],
                2,
                5,
                gray.stroke_width(1),
            ))?;
            let (px, py) = chart.backend_coord(&(self.xr.1, h));
            area.draw(&Text::new(
                times(h),
                (px - 4 - base.0, py - 4 - base.1),
                font(13.0)
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
                chart.draw_series(DashedLineSeries::new(pts, 7, 5, c.stroke_width(2)))?;
            }
            if self.y != YSel::Potential {
                let pts: Vec<(f64, f64)> = l
                    .pts
                    .iter()
                    .filter(|q| q.1.is_finite())
                    .map(|q| (q.0, q.1))
                    .collect();
                chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?;
                chart.draw_series(pts.iter().map(|&q| Circle::new(q, 4, c.filled())))?;
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

impl Figure for Curves {
    fn size(&self) -> (u32, u32) {
        let k = self.panels.len() as u32;
        ((k * 620).max(960), 720)
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
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), Mark::Box(color(i))))
            .collect();
        let gray = RGBColor(70, 70, 70);
        if self.y != YSel::Potential && !self.metric {
            items.push(("achieved".to_string(), Mark::Line(gray)));
        }
        if self.y != YSel::Achieved {
            items.push(("potential".to_string(), Mark::Dashed(gray)));
        }
        let area = legend(&area, &items)?;
        let cells = area.split_evenly((1, self.panels.len()));
        let (x, y) = (self.xr.0..self.xr.1, self.yr.0..self.yr.1);
        for (cell, p) in cells.iter().zip(&self.panels) {
            match (self.log_x, self.log_y) {
                (false, false) => self.draw_panel(cell, p, x.clone(), y.clone())?,
                (false, true) => self.draw_panel(cell, p, x.clone(), y.clone().log_scale())?,
                (true, false) => self.draw_panel(cell, p, x.clone().log_scale(), y.clone())?,
                (true, true) => {
                    self.draw_panel(cell, p, x.clone().log_scale(), y.clone().log_scale())?
                }
            }
        }
        Ok(())
    }
}
