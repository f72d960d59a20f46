//! Model inputs for the ONNX importer: a float32 `.npy` array as the model takes it, or
//! a photo turned into one (decode, resize, scale to [0, 1], normalize, lay out).

use std::path::Path;

use super::npy;
use crate::error::{Error, Result};

/// One input tensor (one run of the model).
#[derive(Clone, Debug, PartialEq)]
pub struct InputTensor {
    /// Where it came from (for messages and reports).
    pub name: String,
    /// Shape, e.g. `[1, 3, 224, 224]`.
    pub shape: Vec<usize>,
    /// Values in C order.
    pub data: Vec<f32>,
}

/// Axis order of an image tensor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// `(1, 3, H, W)`: PyTorch and most ONNX vision models.
    #[default]
    Nchw,
    /// `(1, H, W, 3)`: TensorFlow/Keras exports.
    Nhwc,
}

/// How a photo becomes an input tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageOptions {
    /// Resize to (H, W) first (bilinear, aspect ratio not kept); `None` keeps the size.
    pub resize: Option<(usize, usize)>,
    /// Per-channel mean (R, G, B) subtracted after scaling pixels to [0, 1].
    pub mean: [f32; 3],
    /// Per-channel standard deviation (R, G, B) divided by after the mean.
    pub std: [f32; 3],
    /// Axis order of the result.
    pub layout: Layout,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            resize: None,
            mean: [0.0; 3],
            std: [1.0; 3],
            layout: Layout::Nchw,
        }
    }
}

impl InputTensor {
    /// A tensor from a `.npy` file (any float or integer dtype; converted to f32).
    pub fn from_npy(path: &Path) -> Result<InputTensor> {
        let a = npy::read(path)?;
        Ok(InputTensor {
            name: path.display().to_string(),
            shape: a.shape.clone(),
            data: a.to_f32(),
        })
    }

    /// A tensor from a PNG or JPEG photo: decoded to RGB, resized, each value
    /// `(pixel / 255 − mean[c]) / std[c]`, laid out as `(1, 3, H, W)` or `(1, H, W, 3)`.
    pub fn from_image(path: &Path, opts: &ImageOptions) -> Result<InputTensor> {
        if let Some(i) = opts.std.iter().position(|&s| s == 0.0 || !s.is_finite()) {
            return Err(Error::invalid(format!(
                "--std value {} for channel {i} must be a nonzero number",
                opts.std[i]
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::read(path, e))?;
        let img = image::load_from_memory(&bytes).map_err(|e| {
            Error::invalid(format!(
                "{}: cannot decode the image ({e}); PNG and JPEG are supported",
                path.display()
            ))
        })?;
        let mut rgb = img.to_rgb8();
        if let Some((h, w)) = opts.resize {
            if h == 0 || w == 0 {
                return Err(Error::invalid(format!(
                    "--resize {h},{w}: both sizes must be at least 1"
                )));
            }
            rgb = image::imageops::resize(
                &rgb,
                w as u32,
                h as u32,
                image::imageops::FilterType::Triangle,
            );
        }
        let (w, h) = (rgb.width() as usize, rgb.height() as usize);
        let mut data = vec![0f32; 3 * h * w];
        for (x, y, px) in rgb.enumerate_pixels() {
            let (x, y) = (x as usize, y as usize);
            for c in 0..3 {
                let v = (px.0[c] as f32 / 255.0 - opts.mean[c]) / opts.std[c];
                let i = match opts.layout {
                    Layout::Nchw => (c * h + y) * w + x,
                    Layout::Nhwc => (y * w + x) * 3 + c,
                };
                data[i] = v;
            }
        }
        let shape = match opts.layout {
            Layout::Nchw => vec![1, 3, h, w],
            Layout::Nhwc => vec![1, h, w, 3],
        };
        Ok(InputTensor {
            name: path.display().to_string(),
            shape,
            data,
        })
    }
}

/// Parse `A,B` (e.g. `--resize 224,224`).
pub fn parse_pair(s: &str) -> std::result::Result<(usize, usize), String> {
    let v: Vec<&str> = s.split(',').map(str::trim).collect();
    match v[..] {
        [a, b] => Ok((
            a.parse().map_err(|_| format!("`{a}` is not a size"))?,
            b.parse().map_err(|_| format!("`{b}` is not a size"))?,
        )),
        _ => Err(format!("expected H,W (e.g. 224,224), got `{s}`")),
    }
}

/// Parse `R,G,B` (e.g. `--mean 0.485,0.456,0.406`).
pub fn parse_triple(s: &str) -> std::result::Result<[f32; 3], String> {
    let v: Vec<&str> = s.split(',').map(str::trim).collect();
    if v.len() != 3 {
        return Err(format!("expected three values R,G,B, got `{s}`"));
    }
    let mut out = [0f32; 3];
    for (o, x) in out.iter_mut().zip(v) {
        *o = x.parse().map_err(|_| format!("`{x}` is not a number"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_pixels_become_normalized_nchw_and_nhwc() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("img.png");
        // 2x1 image: red pixel, then (0, 51, 255).
        let img = image::RgbImage::from_raw(2, 1, vec![255, 0, 0, 0, 51, 255]).unwrap();
        img.save(&p).unwrap();
        let opts = ImageOptions {
            mean: [0.5, 0.0, 0.0],
            std: [0.5, 1.0, 2.0],
            ..ImageOptions::default()
        };
        let t = InputTensor::from_image(&p, &opts).unwrap();
        assert_eq!(t.shape, vec![1, 3, 1, 2]);
        // R plane: (1−0.5)/0.5 = 1, (0−0.5)/0.5 = −1; G: 0, 0.2; B: 0, 0.5.
        let want = [1.0, -1.0, 0.0, 0.2, 0.0, 0.5];
        for (a, b) in t.data.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{:?}", t.data);
        }
        let t = InputTensor::from_image(
            &p,
            &ImageOptions {
                layout: Layout::Nhwc,
                ..opts.clone()
            },
        )
        .unwrap();
        assert_eq!(t.shape, vec![1, 1, 2, 3]);
        assert!((t.data[3] + 1.0).abs() < 1e-6 && (t.data[5] - 0.5).abs() < 1e-6);
        let t = InputTensor::from_image(
            &p,
            &ImageOptions {
                resize: Some((4, 6)),
                ..opts
            },
        )
        .unwrap();
        assert_eq!(t.shape, vec![1, 3, 4, 6]);
    }

    #[test]
    fn undecodable_image_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jpg");
        std::fs::write(&p, b"nope").unwrap();
        let e = InputTensor::from_image(&p, &ImageOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.jpg") && e.contains("decode"), "{e}");
    }

    #[test]
    fn pairs_and_triples_parse() {
        assert_eq!(parse_pair("224, 224"), Ok((224, 224)));
        assert!(parse_pair("224").is_err());
        assert_eq!(parse_triple("0.5,1,2"), Ok([0.5, 1.0, 2.0]));
        assert!(parse_triple("1,2").is_err());
    }
}
