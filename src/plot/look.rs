//! How big a figure is drawn: `--size W,H` (its size in pixels, instead of the size each
//! figure picks for its data), `--font-size PT` (the size of tick labels and legend
//! entries; titles and axis names keep their proportion to it) and `--scale S` (a PNG
//! drawn S times larger in pixels, everything in it too, for print; an SVG keeps its
//! drawing and viewBox and gets width and height S times larger).
//!
//! A figure draws through a [`Look`]: every pixel length is multiplied by its pixel
//! scale, every font size by its pixel and font scales. Without the options, a figure is
//! drawn exactly as before they existed.

use plotters::prelude::*;

use super::font;

/// The font size of tick labels and legend entries when `--font-size` is not given.
pub const DEFAULT_FONT_SIZE: f64 = 14.0;

/// Allowed `--font-size` values, in points (pixels at scale 1).
pub const FONT_SIZES: std::ops::RangeInclusive<f64> = 6.0..=48.0;

/// Allowed `--scale` values.
pub const SCALES: std::ops::RangeInclusive<f64> = 0.25..=8.0;

/// Allowed `--size` widths, in pixels.
pub const WIDTHS: std::ops::RangeInclusive<u32> = 320..=32_768;

/// Allowed `--size` heights, in pixels.
pub const HEIGHTS: std::ops::RangeInclusive<u32> = 240..=32_768;

/// The size options of a figure (`--size`, `--scale`, `--font-size`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FigureOptions {
    /// Width and height in pixels at scale 1 (None: the figure's own size).
    pub size: Option<(u32, u32)>,
    /// Multiplies the pixel size of a PNG (and the width and height of an SVG).
    pub scale: f64,
    /// Font size of tick labels and legend entries.
    pub font_size: f64,
}

impl Default for FigureOptions {
    fn default() -> FigureOptions {
        FigureOptions {
            size: None,
            scale: 1.0,
            font_size: DEFAULT_FONT_SIZE,
        }
    }
}

/// Parse `--size W,H`.
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let bad = || {
        format!(
            "`{s}` is not a size: expected WIDTH,HEIGHT in pixels, e.g. 1200,800 (width \
             {}..={}, height {}..={})",
            WIDTHS.start(),
            WIDTHS.end(),
            HEIGHTS.start(),
            HEIGHTS.end()
        )
    };
    let (w, h) = s.split_once([',', 'x', 'X', '×']).ok_or_else(bad)?;
    let w: u32 = w.trim().parse().map_err(|_| bad())?;
    let h: u32 = h.trim().parse().map_err(|_| bad())?;
    if !WIDTHS.contains(&w) || !HEIGHTS.contains(&h) {
        return Err(bad());
    }
    Ok((w, h))
}

fn parse_real(s: &str, what: &str, range: &std::ops::RangeInclusive<f64>) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if range.contains(&v) => Ok(v),
        _ => Err(format!(
            "`{s}` is not {what}: expected a number in {}..={}",
            range.start(),
            range.end()
        )),
    }
}

/// Parse `--scale S`.
pub fn parse_scale(s: &str) -> Result<f64, String> {
    parse_real(s, "a scale", &SCALES).map_err(|e| format!("{e} (e.g. 3 for a print PNG)"))
}

/// Parse `--font-size PT`.
pub fn parse_font_size(s: &str) -> Result<f64, String> {
    parse_real(s, "a font size", &FONT_SIZES)
        .map_err(|e| format!("{e} points (default {DEFAULT_FONT_SIZE})"))
}

/// The scales a figure is drawn at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Look {
    /// Pixels per figure pixel (`--scale` for a PNG, 1 for an SVG).
    px: f64,
    /// Font sizes relative to the default ones (`--font-size` / 14).
    font: f64,
}

impl Look {
    /// A look at pixel scale `px`.
    pub(super) fn new(o: &FigureOptions, px: f64) -> Look {
        Look {
            px,
            font: o.font_size / DEFAULT_FONT_SIZE,
        }
    }

    /// The look of a figure's default size (pixel scale 1).
    pub(super) fn logical(o: &FigureOptions) -> Look {
        Look::new(o, 1.0)
    }

    /// A length in pixels.
    pub(super) fn px(&self, v: f64) -> f64 {
        v * self.px
    }

    /// A length in whole pixels (at least 1 for a positive length).
    pub(super) fn pxi(&self, v: i32) -> i32 {
        let r = (v as f64 * self.px).round() as i32;
        if v > 0 {
            r.max(1)
        } else {
            r
        }
    }

    /// A length in whole pixels, unsigned.
    pub(super) fn pxu(&self, v: u32) -> u32 {
        self.pxi(v as i32).max(0) as u32
    }

    /// A length that holds text (label areas, line heights), in whole pixels.
    pub(super) fn tx(&self, v: f64) -> u32 {
        (v * self.px * self.font).round().max(1.0) as u32
    }

    /// [`Look::tx`], signed.
    pub(super) fn txi(&self, v: f64) -> i32 {
        self.tx(v) as i32
    }

    /// The figure font at `size` (points at the default font size and scale 1).
    pub(super) fn font(&self, size: f64) -> TextStyle<'static> {
        (font::FAMILY, size * self.px * self.font)
            .into_font()
            .color(&BLACK)
    }

    /// A stroke `w` pixels wide.
    pub(super) fn stroke(&self, c: RGBColor, w: u32) -> ShapeStyle {
        c.stroke_width(self.pxu(w))
    }

    /// The height of a line of text of `size`, in pixels.
    pub(super) fn line(&self, size: f64) -> f64 {
        size * self.px * self.font * 1.25
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_bounds() {
        assert_eq!(parse_size("1200,800"), Ok((1200, 800)));
        assert_eq!(parse_size("1200x800"), Ok((1200, 800)));
        assert_eq!(parse_size(" 960 , 720 "), Ok((960, 720)));
        for bad in [
            "1200",
            "0,800",
            "1200,-1",
            "a,b",
            "319,800",
            "1200,239",
            "40000,800",
        ] {
            let e = parse_size(bad).unwrap_err();
            assert!(
                e.contains("320..=32768") && e.contains("240..=32768"),
                "{e}"
            );
        }
    }

    #[test]
    fn scales_and_font_sizes_parse_with_bounds() {
        assert_eq!(parse_scale("3"), Ok(3.0));
        assert_eq!(parse_scale("0.25"), Ok(0.25));
        for bad in ["0", "-1", "9", "NaN", "inf", "x"] {
            assert!(parse_scale(bad).unwrap_err().contains("0.25..=8"), "{bad}");
        }
        assert_eq!(parse_font_size("18"), Ok(18.0));
        for bad in ["5", "49", "NaN", ""] {
            assert!(
                parse_font_size(bad).unwrap_err().contains("6..=48"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_default_look_changes_no_length() {
        let l = Look::logical(&FigureOptions::default());
        assert_eq!(l.pxi(76), 76);
        assert_eq!(l.tx(44.0), 44);
        let l = Look::new(
            &FigureOptions {
                font_size: 21.0,
                ..FigureOptions::default()
            },
            2.0,
        );
        assert_eq!(l.pxi(10), 20);
        assert_eq!(l.tx(44.0), 132);
    }
}
