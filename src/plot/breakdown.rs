//! Where the lane-cycles go (`plot gap` on a CSV of `simulate --gap`): one bar per
//! scheme (per run or sweep point), its network's lane-cycles (cycles × lanes) as 100 %,
//! stacked from the bottom: busy (the scheme's own work), then each cause of loss in the
//! order of docs/cycle-model.md — the `min_cycles` floor, waits for the slowest lane,
//! PE and column, idle columns and rows, channel padding — each cause one colour, the
//! legend naming the causes present. Above each bar, its speedup over the baseline,
//! achieved and the potential it trails: the bar says why the first is below the second.
//!
//! The parts are read as integers and must add up to the row's `lane_cycles` (as
//! `simulate --gap` writes them); the shares drawn are their quotients.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::costs::bar_label;
use super::table::Table;
use super::{legend, point_labels, spaced, text_width, title, DrawResult, Figure, Heading};
use super::{Look, Mark};
use crate::error::{Error, Result};
use crate::report::csv::GAP_HEADER;

/// Legend entries of the parts, in [`GAP_HEADER`]'s order (stacking order, bottom first).
const NAMES: [&str; 8] = [
    "busy (own work)",
    "min_cycles floor",
    "lane wait (slowest lane of the PE)",
    "row wait (slowest PE of the column)",
    "column wait (other columns)",
    "idle columns (no window)",
    "idle rows (no filter)",
    "channel padding (lanes past the channels)",
];

/// Colours of the parts: busy blue, the losses each distinct.
fn part_color(i: usize) -> RGBColor {
    [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(255, 127, 14),
        RGBColor(188, 189, 34),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ][i]
}

/// Does the table hold the lane-cycles by cause (any `gap_` column)?
pub(super) fn present(t: &Table) -> bool {
    GAP_HEADER.iter().any(|c| t.has(c))
}

struct Bar {
    /// The point's label (`total` for one run) and the scheme.
    point: String,
    scheme: String,
    /// Shares of the lane-cycles, in [`GAP_HEADER`]'s order.
    shares: [f64; 8],
    achieved: f64,
    potential: f64,
}

pub(super) struct Breakdown {
    head: Heading,
    /// The x axis: `scheme`, or the settings that vary and the scheme.
    x_desc: String,
    bars: Vec<Bar>,
    /// The parts some bar has (legend entries).
    used: Vec<usize>,
    data: Vec<Vec<String>>,
}

impl Breakdown {
    pub(super) fn new(t: &Table, baseline: &str) -> Result<Breakdown> {
        let tot = t.totals()?;
        if tot.rows.is_empty() {
            return Err(Error::invalid(format!(
                "{}: no `total` rows; where the lane-cycles go is drawn from network totals",
                t.source
            )));
        }
        let sc = tot.col("scheme")?;
        let lc = tot.col("lane_cycles")?;
        let (sp, po) = (tot.col("speedup")?, tot.col("potential_speedup")?);
        let cols: Vec<usize> = GAP_HEADER
            .iter()
            .map(|c| tot.col(c))
            .collect::<Result<_>>()?;
        // Rows of `tot` are rows of `t` in order; their line numbers in the file.
        let lines: Vec<usize> = {
            let layer = t.col("layer")?;
            (0..t.rows.len())
                .filter(|&r| t.rows[r][layer] == "total")
                .map(|r| r + 2)
                .collect()
        };
        let count = |r: usize, c: usize| -> Result<u64> {
            tot.rows[r][c].trim().parse::<u64>().map_err(|_| {
                Error::invalid(format!(
                    "{}: row {}: `{}` = `{}` is not a count of lane-cycles",
                    t.source, lines[r], tot.columns[c], tot.rows[r][c]
                ))
            })
        };
        let (labels, varied) = point_labels(&tot);
        // One setting varies: the x axis names it, the bars give its value.
        let prefix = match varied.as_slice() {
            [one] => format!("{one}="),
            _ => String::new(),
        };
        let mut header = vec![
            "point",
            "scheme",
            "speedup",
            "potential_speedup",
            "lane_cycles",
        ];
        header.extend(GAP_HEADER);
        let mut data = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
        let mut bars = Vec::new();
        let mut used = [false; 8];
        for (r, label) in labels.iter().enumerate() {
            let lane_cycles = count(r, lc)?;
            let parts: Vec<u64> = cols.iter().map(|&c| count(r, c)).collect::<Result<_>>()?;
            let sum = parts.iter().try_fold(0u64, |a, &p| a.checked_add(p));
            if sum != Some(lane_cycles) {
                return Err(Error::invalid(format!(
                    "{}: row {} ({}): the gap_ columns add up to {}, not lane_cycles = \
                     {lane_cycles}; draw the CSV `simulate --gap --csv` wrote, unchanged",
                    t.source,
                    lines[r],
                    tot.rows[r][sc],
                    sum.map_or("more than 2^64".to_string(), |s| s.to_string())
                )));
            }
            let mut shares = [0.0; 8];
            for (k, &p) in parts.iter().enumerate() {
                if lane_cycles > 0 {
                    shares[k] = p as f64 / lane_cycles as f64;
                }
                used[k] |= p > 0;
            }
            let shown = label.strip_prefix(&prefix).unwrap_or(label);
            bars.push(Bar {
                point: shown.to_string(),
                scheme: tot.rows[r][sc].clone(),
                shares,
                achieved: tot.num(r, sp)?,
                potential: tot.num(r, po)?,
            });
            let mut row = vec![
                label.clone(),
                tot.rows[r][sc].clone(),
                tot.rows[r][sp].clone(),
                tot.rows[r][po].clone(),
                lane_cycles.to_string(),
            ];
            row.extend(parts.iter().map(u64::to_string));
            data.push(row);
        }
        Ok(Breakdown {
            head: Heading::new(
                "Where the lane-cycles go",
                format!(
                    "network totals: each scheme's cycles × lanes split into busy and the \
                     causes of loss; above each bar, its speedup over {baseline}: achieved \
                     of potential"
                ),
            ),
            x_desc: if varied.is_empty() {
                "scheme".to_string()
            } else {
                format!("{}: scheme", varied.join(", "))
            },
            bars,
            used: (0..8).filter(|&k| used[k]).collect(),
            data,
        })
    }

    /// The longest bar label, in characters.
    fn longest(&self) -> u32 {
        self.bars
            .iter()
            .map(|b| bar_label(&b.point, &b.scheme).chars().count())
            .max()
            .unwrap_or(4) as u32
    }
}

/// A speedup above a bar: two significant decimals below 10×, `–` when undefined.
fn speedup(v: f64) -> String {
    if !v.is_finite() || v < 0.0 {
        "–".to_string()
    } else if v < 10.0 {
        format!("{v:.2}×")
    } else if v < 100.0 {
        format!("{v:.1}×")
    } else {
        format!("{v:.0}×")
    }
}

impl Figure for Breakdown {
    fn size(&self, look: &Look) -> (u32, u32) {
        (
            (200 + self.bars.len() as u32 * 76).max(960),
            620 + look.tx((self.longest() * 7) as f64),
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
        let mut items: Vec<(String, Mark)> = vec![(
            "lane-cycles (stacked from the bottom):".to_string(),
            Mark::Heading,
        )];
        items.extend(
            self.used
                .iter()
                .map(|&k| (NAMES[k].to_string(), Mark::Box(part_color(k)))),
        );
        let area = legend(&area, look, &items)?;
        let n = self.bars.len();
        let label_px = look.tx((self.longest() * 7 + 34) as f64);
        // Room above the bars for two lines of speedups.
        let above = look.line(13.0) * 2.0 + look.px(10.0);
        let mut chart = ChartBuilder::on(&area)
            .margin_left(look.pxu(10))
            .margin_right(look.pxu(20))
            .margin_top(above.round() as u32)
            .x_label_area_size(label_px)
            .y_label_area_size(look.tx(84.0))
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0.0..100.0)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .x_label_formatter(&|_| String::new())
            .bold_line_style(look.stroke(RGBColor(215, 215, 215), 1))
            .light_line_style(look.stroke(RGBColor(243, 243, 243), 1))
            .max_light_lines(1)
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.0}%"))
            .y_label_style(look.font(14.0))
            .y_desc("share of lane-cycles (cycles × lanes)")
            .x_desc(self.x_desc.clone())
            .axis_desc_style(look.font(16.0))
            .draw()?;
        for (i, b) in self.bars.iter().enumerate() {
            let (x0, x1) = (i as f64 - 0.35, i as f64 + 0.35);
            let mut y = 0.0;
            for (k, &s) in b.shares.iter().enumerate() {
                if s > 0.0 {
                    let top = (y + 100.0 * s).min(100.0);
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(x0, y), (x1, top)],
                        part_color(k).filled(),
                    )))?;
                    y = top;
                }
            }
            // A gap line between points.
            if i + 1 < n && self.bars[i + 1].point != b.point {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(i as f64 + 0.5, 0.0), (i as f64 + 0.5, 100.0)],
                    look.stroke(RGBColor(120, 120, 120), 1),
                )))?;
            }
        }
        // Speedups above the bars (left out where they would overlap), names below.
        let top_at: Vec<(i32, i32)> = (0..n)
            .map(|i| chart.backend_coord(&(i as f64, 100.0)))
            .collect();
        let xs: Vec<f64> = top_at.iter().map(|p| p.0 as f64).collect();
        let over = look.font(13.0).pos(Pos::new(HPos::Center, VPos::Bottom));
        let lines: Vec<[String; 2]> = self
            .bars
            .iter()
            .map(|b| [speedup(b.achieved), format!("of {}", speedup(b.potential))])
            .collect();
        let half: Vec<f64> = lines
            .iter()
            .map(|l| {
                l.iter()
                    .map(|s| text_width(root, s, &over))
                    .max()
                    .unwrap_or(0) as f64
                    / 2.0
            })
            .collect();
        let keep = spaced(&xs, &half, look.px(4.0));
        let lh = look.line(13.0).round() as i32;
        for ((l, (x, y)), keep) in lines.iter().zip(&top_at).zip(keep) {
            if keep {
                let y = y - look.pxi(4);
                root.draw(&Text::new(l[0].clone(), (*x, y - lh), over.clone()))?;
                root.draw(&Text::new(l[1].clone(), (*x, y), over.clone()))?;
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
        for ((b, (x, y)), keep) in self.bars.iter().zip(at).zip(keep) {
            if keep {
                root.draw(&Text::new(
                    bar_label(&b.point, &b.scheme),
                    (x, y + look.pxi(8)),
                    style.clone(),
                ))?;
            }
        }
        Ok(())
    }
}
