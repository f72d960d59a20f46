//! The one font of every figure: DejaVu Sans, embedded in the binary
//! (assets/fonts/DejaVuSans.ttf, license in assets/fonts/LICENSE-DejaVu.txt) and
//! registered with plotters as `sans-serif` on first use, so PNG text renders the same on
//! every machine (SVG files name the family; viewers draw it with their own copy).

use std::sync::Once;

use plotters::style::FontStyle;

/// DejaVu Sans 2.37.
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family figures use.
pub const FAMILY: &str = "sans-serif";

/// Register the font (once per process).
pub fn ensure() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // The bytes are a valid TrueType font, checked by the tests.
            let _ = plotters::style::register_font(FAMILY, style, DEJAVU_SANS);
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_font_parses() {
        assert!(plotters::style::register_font(
            "mltq-test",
            super::FontStyle::Normal,
            super::DEJAVU_SANS
        )
        .is_ok());
    }
}
