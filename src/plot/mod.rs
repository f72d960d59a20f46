//! Figures (plotters, embedded font), SVG or PNG by the file's extension. Every figure
//! also writes the CSV it was drawn from next to it (`FIG.svg` → `FIG.csv`); the two
//! are committed together ([`output::commit_all`]), so a failed run leaves neither new.
//! A PNG larger than [`MAX_PNG_PIXELS`] is refused (with a hint: SVG, or fewer layers).
//!
//! - [`layers`]: per-layer speedup bars of each scheme over the baseline, the potential
//!   marked by a black tick on each bar (`simulate --plot`, `plot layers`);
//! - [`gap`]: achieved vs potential speedup, one marker per layer (or sweep point) and
//!   scheme, against the y = x line of a scheme that loses nothing to synchronization;
//!   on a CSV of `simulate --gap` (its `gap_` columns), where the lane-cycles go
//!   instead: one bar per scheme, busy and each cause of loss stacked as shares of the
//!   network's lane-cycles, the achieved and potential speedups above it;
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
//!
//! Every figure is ready for a caption: under its title, what its marks mean and what
//! its rows hold fixed (the `--filter`s, and every setting with one value: network,
//! arch, array sizes, encodings, densities, seed, sample; [`caption`]); its legend
//! names what its series are; series that coincide are drawn once under one entry
//! (`laconic = mltq-bit`); tick labels that would overlap are thinned. `--size`,
//! `--scale` and `--font-size` ([`look`]) change how big it is drawn.

mod bars;
mod breakdown;
mod caption;
mod costs;
mod curves;
mod font;
mod gap;
pub mod look;
pub mod table;

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::arch::Arch;
use crate::error::{Error, Result};
use crate::files::Files;
use crate::output::{self, Staged};
use crate::report::Row;
use crate::run::{ActSource, Run};
pub use curves::{CurveOptions, YSel};
pub use look::FigureOptions;
use look::Look;
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

/// The text above a figure: its title, what it shows, and what was held fixed.
#[derive(Clone, Debug, Default, PartialEq)]
struct Heading {
    title: String,
    /// What the marks mean (one line, wrapped to the width).
    subtitle: String,
    /// The settings the rows share (see [`caption::held_fixed`]), wrapped too.
    fixed: String,
}

impl Heading {
    fn new(title: impl Into<String>, subtitle: impl Into<String>) -> Heading {
        Heading {
            title: title.into(),
            subtitle: subtitle.into(),
            fixed: String::new(),
        }
    }
}

/// Something that can be drawn on any plotters backend.
trait Figure {
    /// Width and height in pixels at pixel scale 1 when `--size` is not given (the
    /// look's font size may make room for larger labels).
    fn size(&self, look: &Look) -> (u32, u32);
    /// Draw on a white root area.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        look: &Look,
    ) -> DrawResult<DB>;
    /// The data drawn, as CSV (header first).
    fn data(&self) -> Vec<Vec<String>>;
    /// The title and subtitles, for `--title` and the settings held fixed.
    fn heading_mut(&mut self) -> &mut Heading;
}

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("cannot draw {}: {e}", path.display()))
}

/// What is drawn around a figure's data: the title (instead of the figure's own), the
/// `--filter`s that selected its rows (listed under the title with the other settings
/// the rows share) and its size options.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decor {
    /// Title [default: from the data].
    pub title: Option<String>,
    /// The filters that selected the table's rows.
    pub filters: Vec<Filter>,
    /// `--size`, `--scale`, `--font-size`.
    pub options: FigureOptions,
}

impl Decor {
    /// The default decor with a title.
    pub fn titled(title: &str) -> Decor {
        Decor {
            title: Some(title.to_string()),
            ..Decor::default()
        }
    }
}

/// Put `decor`'s title on `fig`, and list under it what the rows of `t` hold fixed
/// (with `extra` settings known from elsewhere).
fn dress(fig: &mut impl Figure, t: &Table, decor: &Decor, extra: &[(String, String)]) {
    let h = fig.heading_mut();
    if let Some(s) = &decor.title {
        h.title = s.clone();
    }
    h.fixed = caption::fixed_line(&caption::held_fixed(t, &decor.filters, extra));
}

/// Render a figure to `path` (SVG or PNG) and its data to [`data_path`]`(path)`,
/// both committed together. `input`, when the data came from a file, may be neither.
fn save(
    mut fig: impl Figure,
    t: &Table,
    decor: &Decor,
    path: &Path,
    input: Option<&Path>,
) -> Result<()> {
    Format::of(path)?;
    let mut files = Files::new();
    if let Some(i) = input {
        files.input("the input", i);
    }
    files
        .output("the figure", path)
        .output("the figure's data CSV", &data_path(path))
        .check()?;
    dress(&mut fig, t, decor, &[]);
    output::commit_all(stage(&fig, path, &decor.options)?)
}

/// A length times a scale, in whole pixels.
fn scaled(v: u32, s: f64) -> u32 {
    (v as f64 * s).round().max(1.0) as u32
}

/// Render a figure and its data CSV into staged outputs, to be committed with the
/// run's other outputs.
fn stage(fig: &impl Figure, path: &Path, o: &FigureOptions) -> Result<Vec<Staged>> {
    let format = Format::of(path)?;
    let csv_path = data_path(path);
    let (w, h) = o.size.unwrap_or_else(|| fig.size(&Look::logical(o)));
    // A PNG is drawn `--scale` times larger; an SVG keeps its drawing (and viewBox)
    // and says it is that much larger (width, height).
    let (pw, ph) = (scaled(w, o.scale), scaled(h, o.scale));
    if format == Format::Png
        && (pw > MAX_PNG_SIDE || ph > MAX_PNG_SIDE || pw as u64 * ph as u64 > MAX_PNG_PIXELS)
    {
        return Err(Error::invalid(format!(
            "{}: this figure would be {pw} × {ph} pixels, too large for a PNG (at most {} \
             pixels, {MAX_PNG_SIDE} on a side); draw it as .svg, with a smaller --scale or \
             --size, or draw fewer layers or points (--filter)",
            path.display(),
            MAX_PNG_PIXELS
        )));
    }
    font::ensure();
    let bytes = match format {
        Format::Svg => {
            let look = Look::new(o, 1.0);
            let mut s = String::new();
            {
                let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
                root.fill(&WHITE).map_err(|e| draw_err(path, e))?;
                fig.draw(&root, &look).map_err(|e| draw_err(path, e))?;
                root.present().map_err(|e| draw_err(path, e))?;
            }
            if (pw, ph) != (w, h) {
                let from = format!("<svg width=\"{w}\" height=\"{h}\" ");
                let to = format!("<svg width=\"{pw}\" height=\"{ph}\" ");
                if s.starts_with(&from) {
                    s.replace_range(..from.len(), &to);
                }
            }
            s.into_bytes()
        }
        Format::Png => {
            let look = Look::new(o, o.scale);
            let mut buf = vec![255u8; pw as usize * ph as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut buf, (pw, ph)).into_drawing_area();
                root.fill(&WHITE).map_err(|e| draw_err(path, e))?;
                fig.draw(&root, &look).map_err(|e| draw_err(path, e))?;
                root.present().map_err(|e| draw_err(path, e))?;
            }
            let mut png_bytes = Vec::new();
            {
                let mut enc = png::Encoder::new(&mut png_bytes, pw, ph);
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

/// The settings of a run that its rows do not hold: the arch, its array, the
/// activations simulated and where the model came from.
fn run_settings(run: &Run, arch: &Arch, model_source: Option<&str>) -> Vec<(String, String)> {
    let a = &arch.array;
    let mut out = vec![
        ("arch".to_string(), run.arch.clone()),
        (
            "array".to_string(),
            format!(
                "{}×{}×{}×{} (tiles×rows×columns×lanes)",
                a.tiles, a.rows, a.columns, a.lanes
            ),
        ),
    ];
    if a.column_registers > 0 {
        out.push((
            "column_registers".to_string(),
            a.column_registers.to_string(),
        ));
    }
    if let ActSource::Synthetic {
        encoding,
        density,
        seed,
        ..
    } = &run.acts
    {
        out.push((
            "acts".to_string(),
            format!("synthetic {encoding} at density {density}, seed {seed}"),
        ));
    }
    if let Some(s) = model_source.filter(|s| !s.is_empty()) {
        out.push(("model".to_string(), abbreviate(s, 100)));
    }
    out
}

/// The per-layer speedup bars of one run (`simulate --plot FILE`), staged to be
/// committed with the run's other outputs: FILE (.svg or .png) and FILE.csv. Under the
/// title: the network, sample, arch, array, synthetic activations and the model's
/// source (`model_source`, e.g. the `mltq gen` settings of a built-in network).
pub fn stage_layers(
    run: &Run,
    rows: &[Row],
    arch: &Arch,
    model_source: Option<&str>,
    path: &Path,
    options: &FigureOptions,
) -> Result<Vec<Staged>> {
    let t = Table::from_rows(rows);
    let mut fig = bars::Bars::speedups(&t, &run.schemes[run.baseline])?;
    let decor = Decor {
        options: *options,
        ..Decor::default()
    };
    dress(&mut fig, &t, &decor, &run_settings(run, arch, model_source));
    stage(&fig, path, options)
}

/// [`stage_layers`], written at once.
pub fn layers(
    run: &Run,
    rows: &[Row],
    arch: &Arch,
    path: &Path,
    options: &FigureOptions,
) -> Result<()> {
    Files::new()
        .output("the figure", path)
        .output("the figure's data CSV", &data_path(path))
        .check()?;
    output::commit_all(stage_layers(run, rows, arch, None, path, options)?)
}

/// Per-layer speedup bars from a report CSV (one run; filter a sweep CSV to one point).
pub fn layers_from(
    t: &Table,
    baseline: Option<&str>,
    decor: &Decor,
    path: &Path,
    input: Option<&Path>,
) -> Result<()> {
    t.one_run()?;
    let b = t.baseline(baseline)?;
    save(bars::Bars::speedups(t, &b)?, t, decor, path, input)
}

/// Network-total speedup bars of every point of a sweep CSV (one group per point,
/// labelled by the parameters that vary), or of one run (one bar per scheme); the
/// potential marked.
pub fn totals(
    t: &Table,
    baseline: Option<&str>,
    decor: &Decor,
    path: &Path,
    input: Option<&Path>,
) -> Result<()> {
    let b = t.baseline(baseline)?;
    save(bars::Bars::totals(t, &b)?, t, decor, path, input)
}

/// Per-layer lane utilization of every scheme of one run.
pub fn utilization(t: &Table, decor: &Decor, path: &Path, input: Option<&Path>) -> Result<()> {
    t.one_run()?;
    save(bars::Bars::utilization(t)?, t, decor, path, input)
}

/// Why achieved trails potential. With the lane-cycles by cause in `t` (the `gap_`
/// columns of `simulate --gap --csv`): where they go, one stacked bar per scheme
/// (network totals; per point for several runs), the achieved and potential speedups
/// above each. Without them: achieved vs potential speedup, per layer for one run, per
/// point (totals) for a sweep.
pub fn gap(
    t: &Table,
    baseline: Option<&str>,
    decor: &Decor,
    path: &Path,
    input: Option<&Path>,
) -> Result<()> {
    let b = t.baseline(baseline)?;
    if breakdown::present(t) {
        save(breakdown::Breakdown::new(t, &b)?, t, decor, path, input)
    } else {
        save(gap::Gap::new(t, &b)?, t, decor, path, input)
    }
}

/// The energy split of every scheme (network totals), per run or sweep point.
pub fn energy(t: &Table, decor: &Decor, path: &Path, input: Option<&Path>) -> Result<()> {
    save(costs::EnergySplit::new(t)?, t, decor, path, input)
}

/// Per-layer compute vs memory cycles of one run, one panel per scheme.
pub fn memory(t: &Table, decor: &Decor, path: &Path, input: Option<&Path>) -> Result<()> {
    save(costs::MemoryBound::new(t)?, t, decor, path, input)
}

/// Sweep curves: speedup vs a parameter column of a sweep CSV (`total` rows).
pub fn curves(
    t: &Table,
    opts: &CurveOptions,
    decor: &Decor,
    path: &Path,
    input: Option<&Path>,
) -> Result<()> {
    save(curves::Curves::new(t, opts)?, t, decor, path, input)
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
    /// No swatch: the legend's title (what its entries are).
    Heading,
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

/// The width of `text` in `style`, in pixels (a rough guess if the font cannot say).
fn text_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
) -> i32 {
    area.estimate_text_size(text, style).map_or_else(
        |_| (text.chars().count() as f64 * style.font.get_size() * 0.6) as i32,
        |(w, _)| w as i32,
    )
}

/// Break `text` at spaces into lines at most `width` pixels wide (a word longer than
/// that gets a line of its own).
fn wrap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
    width: i32,
) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let longer = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && text_width(area, &longer, style) > width {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = longer;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Draw the title, subtitle and the settings held fixed at the top of `root`, each
/// wrapped to the width; returns the area below.
fn title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    look: &Look,
    head: &Heading,
) -> std::result::Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let w = root.dim_in_pixel().0 as i32;
    let width = w - 2 * look.pxi(20);
    let big = look.font(22.0);
    let small = look.font(14.0).color(&RGBColor(80, 80, 80));
    let mut lines: Vec<(String, TextStyle, i32)> = Vec::new();
    for l in wrap(root, &head.title, &big, width) {
        lines.push((l, big.clone(), look.txi(30.0)));
    }
    for text in [&head.subtitle, &head.fixed] {
        for l in wrap(root, text, &small, width) {
            lines.push((l, small.clone(), look.txi(20.0)));
        }
    }
    let small_lines = lines.len() > 1;
    let h: i32 = look.pxi(12)
        + lines.iter().map(|l| l.2).sum::<i32>()
        + if small_lines {
            look.pxi(4)
        } else {
            look.pxi(2)
        };
    let (top, rest) = root.split_vertically(h);
    let center = Pos::new(HPos::Center, VPos::Top);
    let mut y = look.pxi(12);
    for (text, style, lh) in lines {
        top.draw(&Text::new(text, (w / 2, y), style.pos(center)))?;
        y += lh;
    }
    Ok(rest)
}

/// Lay out legend entries in centered rows: per row, the entries and their widths.
fn legend_rows<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    look: &Look,
    items: &[(String, Mark)],
) -> Vec<Vec<(usize, i32)>> {
    let width = area.dim_in_pixel().0 as i32 - look.pxi(40);
    let style = look.font(14.0);
    let mut rows: Vec<Vec<(usize, i32)>> = vec![Vec::new()];
    let mut x = 0;
    for (i, (label, mark)) in items.iter().enumerate() {
        let tw = text_width(area, label, &style);
        let item_w = match mark {
            Mark::Heading => tw + look.txi(12.0),
            _ => look.txi(34.0) + tw + look.txi(22.0),
        };
        if x + item_w > width && x > 0 {
            rows.push(Vec::new());
            x = 0;
        }
        rows.last_mut().expect("a row").push((i, item_w));
        x += item_w;
    }
    rows
}

/// Draw legend entries at the top of `area`; returns the area below. An entry marked
/// [`Mark::Heading`] (first) names what the entries are.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    look: &Look,
    items: &[(String, Mark)],
) -> std::result::Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let rows = legend_rows(area, look, items);
    let row_h = look.txi(24.0);
    let h = rows.len() as i32 * row_h + look.txi(8.0);
    let (top, rest) = area.split_vertically(h);
    let width = top.dim_in_pixel().0 as i32;
    let u = |v: f64| look.txi(v);
    for (r, row) in rows.iter().enumerate() {
        let total: i32 = row.iter().map(|(_, w)| w).sum();
        let mut x = (width - total) / 2;
        let y = u(12.0) + r as i32 * row_h;
        for &(i, w) in row {
            let (label, mark) = &items[i];
            let mut text_x = x + u(32.0);
            match *mark {
                Mark::Box(c) => {
                    top.draw(&Rectangle::new(
                        [(x, y - u(6.0)), (x + u(24.0), y + u(6.0))],
                        c.filled(),
                    ))?;
                }
                Mark::Line(c) => {
                    top.draw(&PathElement::new(
                        vec![(x, y), (x + u(24.0), y)],
                        look.stroke(c, 2),
                    ))?;
                    top.draw(&Circle::new((x + u(12.0), y), u(3.0), c.filled()))?;
                }
                Mark::Dashed(c) => {
                    for k in 0..3 {
                        let x0 = x + k * u(9.0);
                        top.draw(&PathElement::new(
                            vec![(x0, y), (x0 + u(5.0), y)],
                            look.stroke(c, 2),
                        ))?;
                    }
                }
                Mark::Shape(c, k) => {
                    let b = top.get_base_pixel();
                    marker(
                        &top,
                        (b.0 + x + u(12.0), b.1 + y),
                        k,
                        u(6.0),
                        look.stroke(c, 2),
                    )?;
                }
                Mark::Tick => {
                    top.draw(&Rectangle::new(
                        [(x + u(4.0), y - u(2.0)), (x + u(20.0), y + u(8.0))],
                        RGBColor(200, 200, 200).filled(),
                    ))?;
                    top.draw(&PathElement::new(
                        vec![(x + u(1.0), y - u(3.0)), (x + u(23.0), y - u(3.0))],
                        look.stroke(BLACK, 3),
                    ))?;
                }
                Mark::Heading => text_x = x,
            }
            top.draw(&Text::new(
                label.clone(),
                (text_x, y),
                look.font(14.0).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
            x += w;
        }
    }
    Ok(rest)
}

/// Which of the labels centered at `at` (pixels along the axis, ascending) with
/// half-extents `half` to draw so that no two overlap (at least `gap` pixels apart):
/// from the first on, each that fits after the last one drawn; the last label always.
fn spaced(at: &[f64], half: &[f64], gap: f64) -> Vec<bool> {
    let n = at.len();
    let mut keep = vec![false; n];
    let Some(last) = n.checked_sub(1) else {
        return keep;
    };
    keep[last] = true;
    let last_lo = at[last] - half[last];
    let mut hi = f64::NEG_INFINITY;
    for i in 0..last {
        let (lo, h) = (at[i] - half[i], at[i] + half[i]);
        if lo >= hi + gap && h + gap <= last_lo {
            keep[i] = true;
            hi = h;
        }
    }
    keep
}

/// Ticks of a log axis over `lo..=hi`: 1, 2 and 5 times the powers of ten in it, or
/// 1…9 times them when that gives fewer than three.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    if !(lo > 0.0 && hi >= lo && hi.is_finite()) {
        return out;
    }
    for mults in [
        &[1.0, 2.0, 5.0][..],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ] {
        out.clear();
        let mut e = lo.log10().floor() as i32;
        while 10f64.powi(e) <= hi {
            for m in mults {
                // A power of ten read from text is exact where the product is not.
                let v: f64 = format!("{m}e{e}").parse().unwrap_or(f64::NAN);
                if v >= lo && v <= hi {
                    out.push(v);
                }
            }
            e += 1;
        }
        if out.len() >= 3 {
            break;
        }
    }
    out
}

/// How many tick labels fit along `len` pixels when each takes `each` pixels (2..=10).
fn tick_count(len: f64, each: f64) -> usize {
    ((len / each.max(1.0)).floor() as usize).clamp(2, 10)
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
    fn labels_that_would_overlap_are_left_out_the_last_kept() {
        // Labels 10 pixels wide, 6 apart: every other one, the last one always.
        let at: Vec<f64> = (0..7).map(|i| i as f64 * 6.0).collect();
        let keep = spaced(&at, &[5.0; 7], 0.0);
        assert_eq!(keep, [true, false, true, false, true, false, true]);
        // Room for all.
        assert!(spaced(&at, &[2.0; 7], 1.0).iter().all(|&k| k));
        assert!(spaced(&[], &[], 0.0).is_empty());
        // Ticks at 0.05, 0.1, 0.15, 0.2 … 1 over 500 pixels, labels 30 wide.
        let xs = [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0];
        let at: Vec<f64> = xs.iter().map(|x| x * 500.0).collect();
        let keep = spaced(&at, &[15.0; 9], 6.0);
        let drawn: Vec<f64> = xs
            .iter()
            .zip(&keep)
            .filter(|p| *p.1)
            .map(|p| *p.0)
            .collect();
        assert_eq!(drawn, [0.05, 0.15, 0.3, 0.4, 0.6, 0.8, 1.0]);
    }

    #[test]
    fn log_ticks_step_by_1_2_5_or_by_units() {
        assert_eq!(log_ticks(0.8, 12.5), [1.0, 2.0, 5.0, 10.0]);
        assert_eq!(
            log_ticks(0.05, 60.0),
            [0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
        );
        assert_eq!(log_ticks(1.5, 4.5), [2.0, 3.0, 4.0]);
        assert!(log_ticks(0.0, 1.0).is_empty());
    }

    #[test]
    fn tick_counts_follow_the_axis_length() {
        assert_eq!(tick_count(400.0, 35.0), 10);
        assert_eq!(tick_count(200.0, 35.0), 5);
        assert_eq!(tick_count(20.0, 35.0), 2);
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

/// Labels of the rows of a `total`-rows table (one per point and scheme): the
/// settings that vary between points, the network first (`resnet18, lanes=4`), or
/// `total` for one run; and the names of those settings. A model file per network
/// (the `model` column varying one to one with the network) says nothing the network
/// does not, and is left out.
fn point_labels(tot: &Table) -> (Vec<String>, Vec<String>) {
    let mut varying: Vec<usize> = (0..tot.columns.len())
        .filter(|&c| caption::is_setting(&tot.columns[c]) && tot.distinct(c).len() > 1)
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
    /// Achieved vs potential speedup (per layer of a run, or per point of a sweep); on
    /// a CSV of `simulate --gap`, where each scheme's lane-cycles go (stacked causes).
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
    #[command(flatten)]
    pub figure: FigureArgs,
}

/// The size options of every figure (`mltq plot`, `mltq simulate --plot`).
#[derive(Clone, Copy, Debug, Default, Args)]
pub struct FigureArgs {
    /// Figure size in pixels, WIDTH,HEIGHT (320..=32768 × 240..=32768) [default: from
    /// the data].
    #[arg(long, value_name = "W,H", value_parser = look::parse_size)]
    pub size: Option<(u32, u32)>,
    /// Draw a PNG S times larger in pixels, text and lines too (0.25..=8, e.g. 3 for
    /// print); an SVG keeps its drawing and viewBox and gets S times the width and
    /// height.
    #[arg(long, value_name = "S", value_parser = look::parse_scale)]
    pub scale: Option<f64>,
    /// Font size of tick labels and legends, in points (6..=48; titles and axis names in
    /// proportion) [default: 14].
    #[arg(long, value_name = "PT", value_parser = look::parse_font_size)]
    pub font_size: Option<f64>,
}

impl FigureArgs {
    /// The first of these flags given, if any (`--size`), for a command where they
    /// need another flag.
    pub fn given(&self) -> Option<&'static str> {
        if self.size.is_some() {
            Some("--size")
        } else if self.scale.is_some() {
            Some("--scale")
        } else if self.font_size.is_some() {
            Some("--font-size")
        } else {
            None
        }
    }

    /// The options these flags give.
    pub fn options(&self) -> FigureOptions {
        let d = FigureOptions::default();
        FigureOptions {
            size: self.size,
            scale: self.scale.unwrap_or(d.scale),
            font_size: self.font_size.unwrap_or(d.font_size),
        }
    }
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
    let decor = Decor {
        title: a.title.clone(),
        filters: a.filter.clone(),
        options: a.figure.options(),
    };
    let d = &decor;
    match a.kind {
        Kind::Layers => layers_from(&t, a.baseline.as_deref(), d, &a.out, input)?,
        Kind::Totals => totals(&t, a.baseline.as_deref(), d, &a.out, input)?,
        Kind::Util => utilization(&t, d, &a.out, input)?,
        Kind::Gap => gap(&t, a.baseline.as_deref(), d, &a.out, input)?,
        Kind::Energy => energy(&t, d, &a.out, input)?,
        Kind::Memory => memory(&t, d, &a.out, input)?,
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
            };
            curves(&t, &opts, d, &a.out, input)?;
        }
    }
    writeln!(
        out,
        "wrote {} and {}",
        a.out.display(),
        data_path(&a.out).display()
    )?;
    if a.kind == Kind::Gap && !breakdown::present(&t) {
        writeln!(
            out,
            "hint: {} has no gap_ columns: the CSV of `mltq simulate --gap --csv FILE` has \
             them, and `plot gap` draws from it where each scheme's lane-cycles go (busy and \
             each cause of loss)",
            a.from.display()
        )?;
    }
    Ok(())
}
