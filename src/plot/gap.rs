//! Achieved vs potential speedup on log–log axes: a scheme that loses nothing to
//! synchronization (lanes, rows, columns waiting for the slowest) sits on the diagonal;
//! the distance below it is the work the array's lock-step wastes. One marker per layer
//! and scheme (network totals drawn large) for a run; one per point and scheme (totals)
//! for a sweep CSV, the settings that vary between points named under the title.
//! Schemes whose markers all coincide (`laconic` and `mltq-bit` on ternary operands)
//! are drawn once, under one legend entry `laconic = mltq-bit`.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::table::Table;
use super::{
    caption, cell, color, legend, log_ticks, marker, spaced, text_width, times, title, DrawResult,
    Figure, Heading, Look, Mark,
};
use crate::error::{Error, Result};

struct Dot {
    scheme: usize,
    potential: f64,
    achieved: f64,
    big: bool,
}

pub(super) struct Gap {
    head: Heading,
    /// Legend labels, by marker (schemes that coincide share one: `a = b`).
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
        // What each scheme draws, exactly: (label, potential, achieved) in row order.
        let mut drawn: Vec<Vec<(String, u64, u64)>> = vec![Vec::new(); schemes.len()];
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
            drawn[s].push((label.clone(), p.to_bits(), a.to_bits()));
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
        // Schemes that coincide everywhere: one marker shape, one legend entry.
        let groups = caption::coinciding(&drawn);
        let mut group_of = vec![0; schemes.len()];
        let mut first = vec![false; schemes.len()];
        for (g, members) in groups.iter().enumerate() {
            first[members[0]] = true;
            for &m in members {
                group_of[m] = g;
            }
        }
        dots.retain(|d| first[d.scheme]);
        for d in &mut dots {
            d.scheme = group_of[d.scheme];
        }
        let labels: Vec<String> = groups
            .iter()
            .map(|g| {
                let names: Vec<&str> = g.iter().map(|&i| schemes[i].as_str()).collect();
                caption::same_label(&names)
            })
            .collect();
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
        let what = if sweep {
            let varying: Vec<String> = caption::varying(&t.totals()?)
                .into_iter()
                .map(|(c, n)| format!("{c} ({n} values)"))
                .collect();
            if varying.is_empty() {
                "one marker per sweep point and scheme (network totals)".to_string()
            } else {
                format!(
                    "one marker per sweep point and scheme (network totals; points vary in \
                     {})",
                    varying.join(", ")
                )
            }
        } else {
            "one marker per layer and scheme; large, outlined: whole network".to_string()
        };
        Ok(Gap {
            head: Heading::new(
                format!("Achieved vs potential speedup over {baseline}"),
                format!("{what}; below the diagonal, synchronization loses work"),
            ),
            schemes: labels,
            baseline: baseline.to_string(),
            dots,
            lo,
            hi,
            data,
        })
    }
}

impl Figure for Gap {
    fn size(&self, _look: &Look) -> (u32, u32) {
        (960, 860)
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
        let mut items: Vec<(String, Mark)> = vec![("scheme:".to_string(), Mark::Heading)];
        items.extend(
            self.schemes
                .iter()
                .enumerate()
                .map(|(i, s)| (s.clone(), Mark::Shape(color(i), i))),
        );
        items.push((
            "achieved = potential (no synchronization loss)".to_string(),
            Mark::Line(RGBColor(60, 60, 60)),
        ));
        let area = legend(&area, look, &items)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(look.pxu(20))
            .x_label_area_size(look.tx(60.0))
            .y_label_area_size(look.tx(80.0))
            .build_cartesian_2d(
                (self.lo..self.hi).log_scale(),
                (self.lo..self.hi).log_scale(),
            )?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(0)
            .y_labels(0)
            .x_label_formatter(&|_| String::new())
            .y_label_formatter(&|_| String::new())
            .x_desc(format!(
                "potential speedup ({} work / work, ×, log scale)",
                self.baseline
            ))
            .y_desc(format!(
                "achieved speedup ({} cycles / cycles, ×, log scale)",
                self.baseline
            ))
            .axis_desc_style(look.font(16.0))
            .draw()?;
        // Grid and labels at 1-2-5 (or 1…9) times powers of ten, labels that would
        // overlap left out.
        let ticks = log_ticks(self.lo, self.hi);
        let grid = look.stroke(RGBColor(225, 225, 225), 1);
        for &v in &ticks {
            chart.draw_series([
                PathElement::new(vec![(v, self.lo), (v, self.hi)], grid),
                PathElement::new(vec![(self.lo, v), (self.hi, v)], grid),
            ])?;
        }
        let labels: Vec<String> = ticks.iter().map(|&v| times(v)).collect();
        let x_at: Vec<(i32, i32)> = ticks
            .iter()
            .map(|&v| chart.backend_coord(&(v, self.lo)))
            .collect();
        let y_at: Vec<(i32, i32)> = ticks
            .iter()
            .map(|&v| chart.backend_coord(&(self.lo, v)))
            .collect();
        let below = look.font(14.0).pos(Pos::new(HPos::Center, VPos::Top));
        let left = look.font(14.0).pos(Pos::new(HPos::Right, VPos::Center));
        let xs: Vec<f64> = x_at.iter().map(|p| p.0 as f64).collect();
        let half: Vec<f64> = labels
            .iter()
            .map(|l| text_width(root, l, &below) as f64 / 2.0)
            .collect();
        let keep_x = spaced(&xs, &half, look.px(6.0));
        // Up the y axis, pixels decrease: measure from the bottom.
        let ys: Vec<f64> = y_at.iter().map(|p| -p.1 as f64).collect();
        let keep_y = spaced(&ys, &vec![look.line(14.0) / 2.0; ys.len()], look.px(2.0));
        let tick = look.stroke(BLACK, 1);
        for (i, label) in labels.iter().enumerate() {
            let ((x, y), (x2, y2)) = (x_at[i], y_at[i]);
            root.draw(&PathElement::new(vec![(x, y), (x, y + look.pxi(5))], tick))?;
            root.draw(&PathElement::new(
                vec![(x2 - look.pxi(5), y2), (x2, y2)],
                tick,
            ))?;
            if keep_x[i] {
                root.draw(&Text::new(
                    label.clone(),
                    (x, y + look.pxi(8)),
                    below.clone(),
                ))?;
            }
            if keep_y[i] {
                root.draw(&Text::new(
                    label.clone(),
                    (x2 - look.pxi(8), y2),
                    left.clone(),
                ))?;
            }
        }
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(self.lo, self.lo), (self.hi, self.hi)],
            look.stroke(RGBColor(60, 60, 60), 2),
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
                        look.pxi(10),
                        look.stroke(c, 5),
                    )?;
                    marker(
                        &root,
                        chart.backend_coord(&(d.potential, d.achieved)),
                        d.scheme,
                        look.pxi(10),
                        look.stroke(BLACK, 1),
                    )?;
                } else {
                    marker(
                        &root,
                        chart.backend_coord(&(d.potential, d.achieved)),
                        d.scheme,
                        look.pxi(5),
                        look.stroke(c, 2),
                    )?;
                }
            }
        }
        Ok(())
    }
}
