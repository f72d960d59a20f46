//! Achieved vs potential speedup on log–log axes: a scheme that loses nothing to
//! synchronization (lanes, rows, columns waiting for the slowest) sits on the diagonal;
//! the distance below it is the work the array's lock-step wastes. One marker per layer
//! and scheme (network totals drawn large) for a run; one per point and scheme (totals)
//! for a sweep CSV.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::table::Table;
use super::{cell, color, font, legend, marker, times, title, DrawResult, Figure, Mark};
use crate::error::{Error, Result};

struct Dot {
    scheme: usize,
    potential: f64,
    achieved: f64,
    big: bool,
}

pub(super) struct Gap {
    title: String,
    subtitle: String,
    schemes: Vec<String>,
    baseline: String,
    dots: Vec<Dot>,
    lo: f64,
    hi: f64,
    data: Vec<Vec<String>>,
}

impl Gap {
    pub(super) fn new(t: &Table, baseline: &str) -> Result<Gap> {
        let lc = t.col("layer")?;
        let sc = t.col("scheme")?;
        let (sp, po) = (t.col("speedup")?, t.col("potential_speedup")?);
        let point = t.col("point").ok();
        let sweep = point.is_some_and(|c| t.distinct(c).len() > 1);
        let schemes: Vec<String> = t
            .distinct(sc)
            .into_iter()
            .filter(|s| s != baseline)
            .collect();
        if schemes.is_empty() {
            return Err(Error::invalid(format!(
                "{}: only the baseline `{baseline}` to plot",
                t.source
            )));
        }
        let mut dots = Vec::new();
        let mut data = vec![[
            "label",
            "scheme",
            "potential_speedup",
            "speedup",
            "achieved_share",
        ]
        .map(String::from)
        .to_vec()];
        for (r, row) in t.rows.iter().enumerate() {
            let total = row[lc] == "total";
            if sweep && !total {
                continue;
            }
            let Some(s) = schemes.iter().position(|x| *x == row[sc]) else {
                continue;
            };
            let (a, p) = (t.num(r, sp)?, t.num(r, po)?);
            let label = match point {
                Some(c) if sweep => format!("point {}", row[c]),
                _ => row[lc].clone(),
            };
            data.push(vec![
                label,
                row[sc].clone(),
                cell(p),
                cell(a),
                cell(if p > 0.0 { a / p } else { f64::NAN }),
            ]);
            if a.is_finite() && p.is_finite() && a > 0.0 && p > 0.0 {
                dots.push(Dot {
                    scheme: s,
                    potential: p,
                    achieved: a,
                    big: total && !sweep,
                });
            }
        }
        if dots.is_empty() {
            return Err(Error::invalid(format!(
                "{}: no finite speedups to plot",
                t.source
            )));
        }
        let lo = dots
            .iter()
            .flat_map(|d| [d.potential, d.achieved])
            .fold(f64::INFINITY, f64::min)
            .min(1.0)
            / 1.25;
        let hi = dots
            .iter()
            .flat_map(|d| [d.potential, d.achieved])
            .fold(0.0, f64::max)
            * 1.25;
        let net = t
            .col("network")
            .ok()
            .map(|c| t.distinct(c).join(", "))
            .unwrap_or_default();
        let what = if sweep {
            "one marker per sweep point and scheme (network totals)"
        } else {
            "one marker per layer and scheme; large, outlined: whole network"
        };
        Ok(Gap {
            title: format!("Achieved vs potential speedup over {baseline}"),
            subtitle: format!(
                "{}{what}; below the diagonal, synchronization loses work",
                if net.is_empty() {
                    String::new()
                } else {
                    format!("{net}: ")
                }
            ),
            schemes,
            baseline: baseline.to_string(),
            dots,
            lo,
            hi,
            data,
        })
    }
}

impl Figure for Gap {
    fn size(&self) -> (u32, u32) {
        (960, 860)
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
            .schemes
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), Mark::Shape(color(i), i)))
            .collect();
        items.push((
            "achieved = potential (no synchronization loss)".to_string(),
            Mark::Line(RGBColor(60, 60, 60)),
        ));
        let area = legend(&area, &items)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(80)
            .build_cartesian_2d(
                (self.lo..self.hi).log_scale(),
                (self.lo..self.hi).log_scale(),
            )?;
        let fmt = |v: &f64| times(*v);
        chart
            .configure_mesh()
            .bold_line_style(RGBColor(215, 215, 215))
            .light_line_style(RGBColor(243, 243, 243))
            .max_light_lines(4)
            .x_label_formatter(&fmt)
            .y_label_formatter(&fmt)
            .label_style(font(14.0))
            .x_desc(format!(
                "potential speedup ({} work / work, ×, log scale)",
                self.baseline
            ))
            .y_desc(format!(
                "achieved speedup ({} cycles / cycles, ×, log scale)",
                self.baseline
            ))
            .axis_desc_style(font(16.0))
            .draw()?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(self.lo, self.lo), (self.hi, self.hi)],
            RGBColor(60, 60, 60).stroke_width(2),
        )))?;
        let root = root.clone();
        for big in [false, true] {
            for d in self.dots.iter().filter(|d| d.big == big) {
                let c = color(d.scheme);
                if big {
                    marker(
                        &root,
                        chart.backend_coord(&(d.potential, d.achieved)),
                        d.scheme,
                        10,
                        c.stroke_width(5),
                    )?;
                    marker(
                        &root,
                        chart.backend_coord(&(d.potential, d.achieved)),
                        d.scheme,
                        10,
                        BLACK.stroke_width(1),
                    )?;
                } else {
                    marker(
                        &root,
                        chart.backend_coord(&(d.potential, d.achieved)),
                        d.scheme,
                        5,
                        c.stroke_width(2),
                    )?;
                }
            }
        }
        Ok(())
    }
}
