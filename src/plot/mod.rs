//! Figures (plotters, embedded font), SVG or PNG by the file's extension. Every figure
//! also writes the CSV it was drawn from next to it (`FIG.svg` → `FIG.csv`); the two
//! are committed together ([`output::commit_all`]), so a failed run leaves neither new.
//! A PNG larger than [`MAX_PNG_PIXELS`] is refused (with a hint: SVG, or fewer layers).
//!
//! - [`layers`]: per-layer speedup bars of each scheme over the baseline, the potential
//!   marked by a black tick on each bar (`simulate --plot`, `plot layers`);
//! - [`gap`]: achieved vs potential speedup, one marker per layer (or sweep point) and
//!   scheme, against the y = x line of a scheme that loses nothing to synchronization;
//! - [`curves`]: speedup vs a swept parameter (weight density, activation density,
//!   levels, lanes, …), one line per scheme (and per `--series` value), achieved solid,
//!   potential dashed;
//! - [`utilization`]: per-layer lane utilization of every scheme (grouped bars);
//! - [`totals`]: network-total speedup bars per sweep point, potential marked;
//! - [`energy`]: the energy of each scheme split into compute, SRAM, DRAM and static
//!   (stacked bars, network totals, per run or sweep point);
//! - [`memory`]: per layer, compute cycles against memory cycles, memory-bound layers
//!   marked, one panel per scheme.
//!
//! Figure data come from a [`Table`]: a report or sweep CSV, or a run's rows.

mod bars;
mod costs;
mod curves;
mod font;
mod gap;
pub mod table;

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{Error, Result};
use crate::files::Files;
use crate::output::{self, Staged};
use crate::report::Row;
use crate::run::Run;
pub use curves::{CurveOptions, YSel};
pub use table::{Filter, Table};

/// Image formats, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Svg,
    Png,
}

impl Format {
    fn of(path: &Path) -> Result<Format> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(Error::invalid(format!(
                "{}: figures are .svg or .png files; name the file FIG.svg or FIG.png",
                path.display()
            ))),
        }
    }
}

/// The largest PNG drawn, in pixels (3 bytes each in memory while it is drawn):
/// 2^26, e.g. 8192 × 8192.
pub const MAX_PNG_PIXELS: u64 = 1 << 26;

/// The longest side of a PNG, in pixels.
pub const MAX_PNG_SIDE: u32 = 32_768;

/// The CSV a figure writes next to its image: `FIG.svg` → `FIG.csv`.
pub fn data_path(path: &Path) -> PathBuf {
    path.with_extension("csv")
}

/// Check a figure path before any work: a .svg or .png name whose data CSV
/// ([`data_path`]) is not `other_csv` (e.g. `simulate --csv`).
pub fn check_path(path: &Path, other_csv: Option<&Path>) -> Result<()> {
    Format::of(path)?;
    if other_csv.is_some_and(|c| c == data_path(path)) {
        return Err(Error::invalid(format!(
            "the figure {} writes its data to {}, the same file as --csv; name the figure \
             differently",
            path.display(),
            data_path(path).display()
        )));
    }
    Ok(())
}

/// Something that can be drawn on any plotters backend.
trait Figure {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draw on a white root area.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
    /// The data drawn, as CSV (header first).
    fn data(&self) -> Vec<Vec<String>>;
    /// The title, for `--title` to replace.
    fn title_mut(&mut self) -> &mut String;
}

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("cannot draw {}: {e}", path.display()))
}

/// Render a figure to `path` (SVG or PNG) and its data to [`data_path`]`(path)`,
/// both committed together. `input`, when the data came from a file, may be neither.
fn save(fig: &impl Figure, path: &Path, input: Option<&Path>) -> Result<()> {
    Format::of(path)?;
    let mut files = Files::new();
    if let Some(i) = input {
        files.input("the input", i);
    }
    files
        .output("the figure", path)
        .output("the figure's data CSV", &data_path(path))
        .check()?;
    output::commit_all(stage(fig, path)?)
}

/// Render a figure and its data CSV into staged outputs, to be committed with the
/// run's other outputs.
fn stage(fig: &impl Figure, path: &Path) -> Result<Vec<Staged>> {
    let format = Format::of(path)?;
    let csv_path = data_path(path);
    let (w, h) = fig.size();
    if format == Format::Png
        && (w > MAX_PNG_SIDE || h > MAX_PNG_SIDE || w as u64 * h as u64 > MAX_PNG_PIXELS)
    {
        return Err(Error::invalid(format!(
            "{}: this figure would be {w} × {h} pixels, too large for a PNG (at most {} \
             pixels, {MAX_PNG_SIDE} on a side); draw it as .svg, or draw fewer layers or \
             points (--filter)",
            path.display(),
            MAX_PNG_PIXELS
        )));
    }
    font::ensure();
    let bytes = match format {
        Format::Svg => {
            let mut s = String::new();
            {
                let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
                root.fill(&WHITE).map_err(|e| draw_err(path, e))?;
                fig.draw(&root).map_err(|e| draw_err(path, e))?;
                root.present().map_err(|e| draw_err(path, e))?;
            }
            s.into_bytes()
        }
        Format::Png => {
            let mut buf = vec![255u8; w as usize * h as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
                root.fill(&WHITE).map_err(|e| draw_err(path, e))?;
                fig.draw(&root).map_err(|e| draw_err(path, e))?;
                root.present().map_err(|e| draw_err(path, e))?;
            }
            let mut png_bytes = Vec::new();
            {
                let mut enc = png::Encoder::new(&mut png_bytes, w, h);
                enc.set_color(png::ColorType::Rgb);
                enc.set_depth(png::BitDepth::Eight);
                enc.set_compression(png::Compression::Best);
                enc.set_filter(png::FilterType::Paeth);
                enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
                let mut wr = enc.write_header().map_err(|e| draw_err(path, e))?;
                wr.write_image_data(&buf).map_err(|e| draw_err(path, e))?;
                wr.finish().map_err(|e| draw_err(path, e))?;
            }
            png_bytes
        }
    };
    let data = fig.data();
    let csv = output::stage(&csv_path, |w| {
        let mut out = csv::Writer::from_writer(w);
        for r in &data {
            out.write_record(r)?;
        }
        out.flush()
    })?;
    let image = output::stage(path, |w| w.write_all(&bytes))?;
    Ok(vec![csv, image])
}

/// [`save`] `fig`, titled `title` instead of its own when one is given.
fn save_titled(
    mut fig: impl Figure,
    title: Option<&str>,
    path: &Path,
    input: Option<&Path>,
) -> Result<()> {
    if let Some(s) = title {
        *fig.title_mut() = s.to_string();
    }
    save(&fig, path, input)
}

/// Per-layer speedup bars of one run (`simulate --plot FILE`): writes FILE (.svg or
/// .png) and FILE.csv.
pub fn layers(run: &Run, rows: &[Row], path: &Path) -> Result<()> {
    let t = Table::from_rows(rows);
    let fig = bars::Bars::speedups(&t, &run.schemes[run.baseline], &run.arch)?;
    save(&fig, path, None)
}

/// [`layers`], staged to be committed with the run's other outputs.
pub fn stage_layers(run: &Run, rows: &[Row], path: &Path) -> Result<Vec<Staged>> {
    let t = Table::from_rows(rows);
    let fig = bars::Bars::speedups(&t, &run.schemes[run.baseline], &run.arch)?;
    stage(&fig, path)
}

/// Per-layer speedup bars from a report CSV (one run; filter a sweep CSV to one point).
pub fn layers_from(
    t: &Table,
    baseline: Option<&str>,
    title: Option<&str>,
    path: &Path,
    input: Option<&Path>,
) -> Result<()> {
    t.one_run()?;
    let b = t.baseline(baseline)?;
    save_titled(bars::Bars::speedups(t, &b, "")?, title, path, input)
}

/// Network-total speedup bars of every point of a sweep CSV (or of one run), the
/// potential marked: one group per point, labelled by the parameters that vary.
pub fn totals(
    t: &Table,
    baseline: Option<&str>,
    title: Option<&str>,
    path: &Path,
    input: Option<&Path>,
) -> Result<()> {
    let b = t.baseline(baseline)?;
    save_titled(bars::Bars::totals(t, &b)?, title, path, input)
}

/// Per-layer lane utilization of every scheme of one run.
pub fn utilization(
    t: &Table,
    title: Option<&str>,
    path: &Path,
    input: Option<&Path>,
) -> Result<()> {
    t.one_run()?;
    save_titled(bars::Bars::utilization(t)?, title, path, input)
}

/// Achieved vs potential speedup: per layer for one run, per point (totals) for a sweep.
pub fn gap(
    t: &Table,
    baseline: Option<&str>,
    title: Option<&str>,
    path: &Path,
    input: Option<&Path>,
) -> Result<()> {
    let b = t.baseline(baseline)?;
    save_titled(gap::Gap::new(t, &b)?, title, path, input)
}

/// The energy split of every scheme (network totals), per run or sweep point.
pub fn energy(t: &Table, title: Option<&str>, path: &Path, input: Option<&Path>) -> Result<()> {
    save_titled(costs::EnergySplit::new(t)?, title, path, input)
}

/// Per-layer compute vs memory cycles of one run, one panel per scheme.
pub fn memory(t: &Table, title: Option<&str>, path: &Path, input: Option<&Path>) -> Result<()> {
    save_titled(costs::MemoryBound::new(t)?, title, path, input)
}

/// Sweep curves: speedup vs a parameter column of a sweep CSV (`total` rows).
pub fn curves(t: &Table, opts: &CurveOptions, path: &Path, input: Option<&Path>) -> Result<()> {
    let fig = curves::Curves::new(t, opts)?;
    save(&fig, path, input)
}

// ---------------------------------------------------------------------------------
// Shared drawing helpers.

/// Tableau 10: distinct, colorblind-tolerant colors.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A lighter shade of a color (for potentials and backgrounds).
fn light(c: RGBColor, amount: f64) -> RGBColor {
    let mix = |x: u8| (x as f64 + (255.0 - x as f64) * amount).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

fn font(size: f64) -> TextStyle<'static> {
    (font::FAMILY, size).into_font().color(&BLACK)
}

/// A legend entry's swatch.
#[derive(Clone, Copy, Debug)]
enum Mark {
    /// A filled box.
    Box(RGBColor),
    /// A solid line with a dot.
    Line(RGBColor),
    /// A dashed line.
    Dashed(RGBColor),
    /// A hollow marker of shape `usize` (see [`marker`]).
    Shape(RGBColor, usize),
    /// A black tick over a gray box (potential marker on bars).
    Tick,
}

/// Draw a marker centered at backend pixel `at` on `area`: shape 0 circle, 1 triangle,
/// 2 square, 3 diamond, 4 cross, 5 inverted triangle, then around again; `r` is its
/// radius in pixels.
fn marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    shape: usize,
    r: i32,
    style: ShapeStyle,
) -> DrawResult<DB> {
    let base = area.get_base_pixel();
    let (cx, cy) = (at.0 - base.0, at.1 - base.1);
    let poly = |pts: &[(f64, f64)]| -> Vec<(i32, i32)> {
        let mut v: Vec<(i32, i32)> = pts
            .iter()
            .map(|&(x, y)| {
                (
                    cx + (x * r as f64).round() as i32,
                    cy + (y * r as f64).round() as i32,
                )
            })
            .collect();
        v.push(v[0]);
        v
    };
    match shape % 6 {
        0 => area.draw(&Circle::new((cx, cy), r, style)),
        1 => area.draw(&PathElement::new(
            poly(&[(0.0, -1.15), (1.0, 0.6), (-1.0, 0.6)]),
            style,
        )),
        2 => area.draw(&PathElement::new(
            poly(&[(-0.85, -0.85), (0.85, -0.85), (0.85, 0.85), (-0.85, 0.85)]),
            style,
        )),
        3 => area.draw(&PathElement::new(
            poly(&[(0.0, -1.2), (1.0, 0.0), (0.0, 1.2), (-1.0, 0.0)]),
            style,
        )),
        4 => {
            area.draw(&PathElement::new(
                vec![(cx - r, cy - r), (cx + r, cy + r)],
                style,
            ))?;
            area.draw(&PathElement::new(
                vec![(cx - r, cy + r), (cx + r, cy - r)],
                style,
            ))
        }
        _ => area.draw(&PathElement::new(
            poly(&[(0.0, 1.15), (1.0, -0.6), (-1.0, -0.6)]),
            style,
        )),
    }
}

/// Draw a title (and subtitle) at the top of `root`; returns the area below.
fn title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
) -> std::result::Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let h = if subtitle.is_empty() { 44 } else { 66 };
    let (top, rest) = root.split_vertically(h);
    let w = top.dim_in_pixel().0 as i32;
    let center = Pos::new(HPos::Center, VPos::Top);
    top.draw(&Text::new(
        title.to_string(),
        (w / 2, 12),
        font(22.0).pos(center),
    ))?;
    if !subtitle.is_empty() {
        top.draw(&Text::new(
            subtitle.to_string(),
            (w / 2, 42),
            font(14.0).color(&RGBColor(80, 80, 80)).pos(center),
        ))?;
    }
    Ok(rest)
}

/// Lay out legend entries in centered rows; returns the rows' height.
fn legend_height<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, Mark)],
) -> u32 {
    legend_rows(area, items).len() as u32 * 24 + 8
}

fn legend_rows<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, Mark)],
) -> Vec<Vec<(usize, i32)>> {
    let width = area.dim_in_pixel().0 as i32 - 40;
    let style = font(14.0);
    let mut rows: Vec<Vec<(usize, i32)>> = vec![Vec::new()];
    let mut x = 0;
    for (i, (label, _)) in items.iter().enumerate() {
        let tw = area
            .estimate_text_size(label, &style)
            .map_or(label.len() as i32 * 8, |(w, _)| w as i32);
        let item_w = 34 + tw + 22;
        if x + item_w > width && x > 0 {
            rows.push(Vec::new());
            x = 0;
        }
        rows.last_mut().expect("a row").push((i, item_w));
        x += item_w;
    }
    rows
}

/// Draw legend entries at the top of `area`; returns the area below.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, Mark)],
) -> std::result::Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let h = legend_height(area, items);
    let (top, rest) = area.split_vertically(h);
    let width = top.dim_in_pixel().0 as i32;
    for (r, row) in legend_rows(&top, items).iter().enumerate() {
        let total: i32 = row.iter().map(|(_, w)| w).sum();
        let mut x = (width - total) / 2;
        let y = 12 + r as i32 * 24;
        for &(i, w) in row {
            let (label, mark) = &items[i];
            match *mark {
                Mark::Box(c) => {
                    top.draw(&Rectangle::new([(x, y - 6), (x + 24, y + 6)], c.filled()))?;
                }
                Mark::Line(c) => {
                    top.draw(&PathElement::new(
                        vec![(x, y), (x + 24, y)],
                        c.stroke_width(2),
                    ))?;
                    top.draw(&Circle::new((x + 12, y), 3, c.filled()))?;
                }
                Mark::Dashed(c) => {
                    for k in 0..3 {
                        let x0 = x + k * 9;
                        top.draw(&PathElement::new(
                            vec![(x0, y), (x0 + 5, y)],
                            c.stroke_width(2),
                        ))?;
                    }
                }
                Mark::Shape(c, k) => {
                    let b = top.get_base_pixel();
                    marker(&top, (b.0 + x + 12, b.1 + y), k, 6, c.stroke_width(2))?;
                }
                Mark::Tick => {
                    top.draw(&Rectangle::new(
                        [(x + 4, y - 2), (x + 20, y + 8)],
                        RGBColor(200, 200, 200).filled(),
                    ))?;
                    top.draw(&PathElement::new(
                        vec![(x + 1, y - 3), (x + 23, y - 3)],
                        BLACK.stroke_width(3),
                    ))?;
                }
            }
            top.draw(&Text::new(
                label.clone(),
                (x + 32, y),
                font(14.0).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
            x += w;
        }
    }
    Ok(rest)
}

/// A short layer label for crowded axes: at most `max` characters, `…` in the middle.
fn abbreviate(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    let chars: Vec<char> = s.chars().collect();
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[n - tail..]);
    out
}

/// A ratio for axis labels: `2×`, `1.5×`, `0.25×`, `0.1×`.
fn times(v: f64) -> String {
    let digits = if v >= 10.0 || v <= 0.0 || !v.is_finite() {
        0
    } else if v >= 1.0 {
        1
    } else {
        // Enough decimals for the first significant digit and one more.
        (2 - v.log10().floor() as i32).clamp(2, 6) as usize
    };
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}×")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_ratios_read_short() {
        assert_eq!(times(45.0), "45×");
        assert_eq!(times(2.0), "2×");
        assert_eq!(times(1.5), "1.5×");
        assert_eq!(times(0.1), "0.1×");
        assert_eq!(times(0.25), "0.25×");
        assert_eq!(times(0.01), "0.01×");
        assert_eq!(times(0.0), "0×");
    }

    #[test]
    fn long_layer_names_are_shortened_in_the_middle() {
        assert_eq!(abbreviate("conv1", 22), "conv1");
        assert_eq!(abbreviate("layer2.0.downsample.0.conv", 12), "layer…0.conv");
        assert_eq!(abbreviate("abcdefghij", 5).chars().count(), 5);
    }

    fn totals_table(header: &[&str], rows: &[&[&str]]) -> Table {
        Table {
            source: "t.csv".into(),
            columns: header.iter().map(|c| c.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect(),
        }
    }

    #[test]
    fn a_model_file_per_network_adds_nothing_to_the_labels() {
        let h = ["point", "model", "network", "lanes", "scheme"];
        // One model file per network: the network names the point (an array setting
        // that varies with it still shows).
        let t = totals_table(
            &h,
            &[
                &["0", "m/alexnet.mltq", "alexnet", "16", "s"],
                &["1", "m/vgg16.mltq", "vgg16", "8", "s"],
            ],
        );
        assert_eq!(
            point_labels(&t),
            (
                vec!["alexnet, lanes=16".into(), "vgg16, lanes=8".into()],
                vec!["network".into(), "lanes".into()]
            )
        );
        // Two files of one network: the file tells the points apart.
        let t = totals_table(
            &h,
            &[
                &["0", "a.mltq", "alexnet", "16", "s"],
                &["1", "b.mltq", "alexnet", "16", "s"],
                &["2", "c.mltq", "vgg16", "8", "s"],
            ],
        );
        assert_eq!(
            point_labels(&t).0,
            [
                "alexnet, model=a.mltq, lanes=16",
                "alexnet, model=b.mltq, lanes=16",
                "vgg16, model=c.mltq, lanes=8"
            ]
        );
    }
}

/// The network of a table's first row, or "".
fn network_of(t: &Table) -> String {
    t.col("network")
        .ok()
        .and_then(|c| t.rows.first().map(|r| r[c].clone()))
        .unwrap_or_default()
}

/// Labels of the rows of a `total`-rows table (one per point and scheme): the
/// parameters that vary between points, the network first (`resnet18, lanes=4`), or
/// `total` for one run; and the names of those parameters. A model file per network
/// (the `model` column varying one to one with the network) says nothing the network
/// does not, and is left out.
fn point_labels(tot: &Table) -> (Vec<String>, Vec<String>) {
    let report_cols = crate::report::csv::HEADER;
    let mut varying: Vec<usize> = (0..tot.columns.len())
        .filter(|&c| {
            let name = tot.columns[c].as_str();
            (name == "network" || !report_cols.contains(&name))
                && !["point", "point_id"].contains(&name)
                && tot.distinct(c).len() > 1
        })
        .collect();
    if let Some(&net) = varying.iter().find(|&&c| tot.columns[c] == "network") {
        let networks = tot.distinct(net).len();
        varying.retain(|&c| {
            if tot.columns[c] != "model" {
                return true;
            }
            let mut pairs: Vec<(&str, &str)> = tot
                .rows
                .iter()
                .map(|r| (r[net].as_str(), r[c].as_str()))
                .collect();
            pairs.sort_unstable();
            pairs.dedup();
            !(pairs.len() == networks && tot.distinct(c).len() == networks)
        });
    }
    varying.sort_by_key(|&c| tot.columns[c] != "network");
    let labels = tot
        .rows
        .iter()
        .map(|r| {
            let label: Vec<String> = varying
                .iter()
                .map(|&c| {
                    if tot.columns[c] == "network" {
                        r[c].clone()
                    } else {
                        format!("{}={}", tot.columns[c], r[c])
                    }
                })
                .collect();
            if label.is_empty() {
                "total".to_string()
            } else {
                label.join(", ")
            }
        })
        .collect();
    let names = varying.iter().map(|&c| tot.columns[c].clone()).collect();
    (labels, names)
}

/// A ratio for CSV cells: six decimals, `inf` for +∞ (as the report writes them).
fn cell(v: f64) -> String {
    crate::report::fmt_ratio(v)
}

// ---------------------------------------------------------------------------------
// The command line.

/// Figure kinds of `mltq plot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Per-layer speedup of each scheme over the baseline, potential marked (one run).
    Layers,
    /// Network-total speedup of each scheme per sweep point, potential marked.
    Totals,
    /// Achieved vs potential speedup (per layer of a run, or per point of a sweep).
    Gap,
    /// Speedup vs a swept parameter, one line per scheme (sweep CSV).
    Sweep,
    /// Per-layer lane utilization of every scheme (one run).
    Util,
    /// Energy of each scheme split into compute, SRAM, DRAM and static (network totals).
    Energy,
    /// Per-layer compute vs memory cycles, memory-bound layers marked (one run).
    Memory,
}

/// `mltq plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Figure to draw.
    #[arg(value_enum)]
    pub kind: Kind,
    /// Input CSV: `simulate --csv` output, or a sweep's results.csv.
    #[arg(long, value_name = "CSV")]
    pub from: PathBuf,
    /// Figure file, .svg or .png; its data go to the same name with .csv.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Keep only rows where COLUMN equals VALUE (repeatable), e.g. --filter network=resnet20.
    #[arg(long, value_name = "COL=VALUE")]
    pub filter: Vec<Filter>,
    /// Baseline scheme [default: the scheme whose speedup is 1 on every row].
    #[arg(long, value_name = "SCHEME")]
    pub baseline: Option<String>,
    /// sweep: the parameter column on the x axis (weight_density, act_density, weights, lanes, …).
    #[arg(long, value_name = "COL", required_if_eq("kind", "sweep"))]
    pub x: Option<String>,
    /// sweep: one line per value of this column too (e.g. weights, for levels).
    #[arg(long, value_name = "COL")]
    pub series: Option<String>,
    /// sweep: one panel per value of this column (e.g. scheme or network).
    #[arg(long, value_name = "COL")]
    pub panel: Option<String>,
    /// sweep: which speedups to draw.
    #[arg(long, value_enum, default_value_t = YSel::Both)]
    pub y: YSel,
    /// sweep: draw this report column instead of the speedups (energy_ratio,
    /// perf_per_area, speedup_total, energy_pj, dram_bits, act_bits, …).
    #[arg(long, value_name = "COL", conflicts_with = "y")]
    pub metric: Option<String>,
    /// sweep: only these schemes (comma-separated) [default: all but the baseline].
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub schemes: Vec<String>,
    /// sweep: dotted reference lines at these speedups (comma-separated), e.g. 15,45.
    #[arg(long, value_name = "Y,…", value_delimiter = ',')]
    pub hline: Vec<f64>,
    /// sweep: logarithmic y axis.
    #[arg(long)]
    pub log_y: bool,
    /// sweep: logarithmic x axis (for powers of two: lanes, columns).
    #[arg(long)]
    pub log_x: bool,
    /// Figure title [default: from the data].
    #[arg(long)]
    pub title: Option<String>,
}

/// `mltq plot`: draw a figure from a CSV; prints what it wrote.
pub fn plot_cmd(a: PlotArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    Format::of(&a.out)?;
    Files::new()
        .input("--from", &a.from)
        .output("--out", &a.out)
        .output("--out's data CSV", &data_path(&a.out))
        .check()?;
    let t = Table::read(&a.from)?;
    let t = if a.filter.is_empty() {
        t
    } else {
        t.filter(&a.filter)?
    };
    let input = Some(a.from.as_path());
    let title = a.title.as_deref();
    match a.kind {
        Kind::Layers => layers_from(&t, a.baseline.as_deref(), title, &a.out, input)?,
        Kind::Totals => totals(&t, a.baseline.as_deref(), title, &a.out, input)?,
        Kind::Util => utilization(&t, title, &a.out, input)?,
        Kind::Gap => gap(&t, a.baseline.as_deref(), title, &a.out, input)?,
        Kind::Energy => energy(&t, title, &a.out, input)?,
        Kind::Memory => memory(&t, title, &a.out, input)?,
        Kind::Sweep => {
            let opts = CurveOptions {
                x: a.x.clone().unwrap_or_default(),
                series: a.series.clone(),
                panel: a.panel.clone(),
                y: a.y,
                metric: a.metric.clone(),
                schemes: a.schemes.clone(),
                baseline: a.baseline.clone(),
                hlines: a.hline.clone(),
                log_y: a.log_y,
                log_x: a.log_x,
                title: a.title.clone(),
            };
            curves(&t, &opts, &a.out, input)?;
        }
    }
    writeln!(
        out,
        "wrote {} and {}",
        a.out.display(),
        data_path(&a.out).display()
    )?;
    Ok(())
}
