//! Photos → input tensors, as real pipelines prepare them (docs/import.md, "Photos").
//!
//! The steps, in order:
//!
//! 1. decode (PNG or JPEG) to 8-bit RGB; `gray` converts to luma as PIL does,
//!    L = (19595·R + 38470·G + 7471·B + 2^15) >> 16;
//! 2. resize ([`Resize`]): to an exact H×W, or so that the short side is S (the long
//!    side ⌊S·long/short⌋, as torchvision's `Resize(S)`), with a triangle (bilinear,
//!    antialiased when shrinking) filter;
//! 3. center crop H×W (offsets round((size − crop)/2), halves to even, as torchvision's
//!    `CenterCrop`);
//! 4. scale: a pixel p becomes p/255 ([`PixelScale::Unit`]) or p ([`PixelScale::Byte`]);
//! 5. order the channels (RGB, BGR or one gray channel) and normalize each,
//!    (v − mean[c]) / std[c], with mean and std given in that channel order;
//! 6. lay out as `(1, C, H, W)` or `(1, H, W, C)`.
//!
//! [`Preset`]s fill in the usual recipes; explicit options override them.

use std::path::Path;

use image::imageops::FilterType;
use image::DynamicImage;

use crate::error::{Error, Result};

/// Axis order of an image tensor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// `(1, C, H, W)`: PyTorch, PaddlePaddle and most ONNX vision models.
    #[default]
    Nchw,
    /// `(1, H, W, C)`: TensorFlow/Keras exports.
    Nhwc,
}

/// Channels of the tensor, in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ChannelOrder {
    /// Red, green, blue (PyTorch, PaddlePaddle, most models).
    #[default]
    Rgb,
    /// Blue, green, red (Caffe and OpenCV-based pipelines).
    Bgr,
    /// One luma channel (text recognizers, MNIST-like models).
    Gray,
}

impl ChannelOrder {
    /// Channels in the tensor.
    pub fn channels(self) -> usize {
        match self {
            ChannelOrder::Gray => 1,
            _ => 3,
        }
    }
}

/// What a pixel's 0..=255 value is scaled to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PixelScale {
    /// [0, 1]: p / 255.
    #[default]
    #[value(name = "1")]
    Unit,
    /// [0, 255]: p as it is.
    #[value(name = "255")]
    Byte,
}

/// How a photo is resized before cropping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resize {
    /// To exactly H×W (the aspect ratio is not kept).
    Exact(usize, usize),
    /// The short side to S, the long side in proportion (rounded down).
    Short(usize),
}

/// A named recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// torchvision's ImageNet evaluation: short side 256, center crop 224×224, RGB in
    /// [0, 1], mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
    Torchvision,
    /// The classic Caffe ImageNet models (and Keras' `caffe` mode): short side 256,
    /// center crop 224×224, BGR in [0, 255], mean (103.939, 116.779, 123.68) subtracted
    /// (B, G, R), no std.
    Caffe,
}

impl Preset {
    /// The options of the recipe.
    pub fn options(self) -> ImageOptions {
        match self {
            Preset::Torchvision => ImageOptions {
                resize: Some(Resize::Short(256)),
                crop: Some((224, 224)),
                channels: ChannelOrder::Rgb,
                scale: PixelScale::Unit,
                mean: vec![0.485, 0.456, 0.406],
                std: vec![0.229, 0.224, 0.225],
                layout: Layout::Nchw,
            },
            Preset::Caffe => ImageOptions {
                resize: Some(Resize::Short(256)),
                crop: Some((224, 224)),
                channels: ChannelOrder::Bgr,
                scale: PixelScale::Byte,
                mean: vec![103.939, 116.779, 123.68],
                std: vec![1.0, 1.0, 1.0],
                layout: Layout::Nchw,
            },
        }
    }
}

/// How a photo becomes an input tensor (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct ImageOptions {
    /// Resize first (`None` keeps the size).
    pub resize: Option<Resize>,
    /// Then a center crop of (H, W).
    pub crop: Option<(usize, usize)>,
    /// Channels and their order.
    pub channels: ChannelOrder,
    /// [0, 1] or [0, 255].
    pub scale: PixelScale,
    /// Per-channel mean, in the tensor's channel order (one value: every channel;
    /// empty: 0).
    pub mean: Vec<f32>,
    /// Per-channel standard deviation, likewise (empty: 1).
    pub std: Vec<f32>,
    /// Axis order of the result.
    pub layout: Layout,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            resize: None,
            crop: None,
            channels: ChannelOrder::Rgb,
            scale: PixelScale::Unit,
            mean: Vec::new(),
            std: Vec::new(),
            layout: Layout::Nchw,
        }
    }
}

/// A prepared photo: shape and values.
pub type Prepared = (Vec<usize>, Vec<f32>);

/// Prepare a photo (see the module docs).
pub fn prepare(path: &Path, opts: &ImageOptions) -> Result<Prepared> {
    let ch = opts.channels.channels();
    let per_channel = |v: &[f32], default: f32, flag: &str| -> Result<Vec<f32>> {
        match v.len() {
            0 => Ok(vec![default; ch]),
            1 => Ok(vec![v[0]; ch]),
            n if n == ch => Ok(v.to_vec()),
            n => Err(Error::invalid(format!(
                "{flag} has {n} values but the tensor has {ch} channel{} ({:?} order); give {ch} (or one for all)",
                if ch == 1 { "" } else { "s" },
                opts.channels
            ))),
        }
    };
    let mean = per_channel(&opts.mean, 0.0, "--mean")?;
    let std = per_channel(&opts.std, 1.0, "--std")?;
    if let Some(i) = std.iter().position(|&s| s == 0.0 || !s.is_finite()) {
        return Err(Error::invalid(format!(
            "--std value {} for channel {i} must be a nonzero number",
            std[i]
        )));
    }
    if let Some(i) = mean.iter().position(|m| !m.is_finite()) {
        return Err(Error::invalid(format!(
            "--mean value {} for channel {i} must be a number",
            mean[i]
        )));
    }
    let mut img = decode(path)?;
    if opts.channels == ChannelOrder::Gray {
        img = DynamicImage::ImageLuma8(luma(&img.to_rgb8()));
    }
    let (w0, h0) = (img.width() as usize, img.height() as usize);
    let target = match opts.resize {
        None => None,
        Some(Resize::Exact(h, w)) => Some((h, w)),
        Some(Resize::Short(s)) => Some(short_side(h0, w0, s)),
    };
    if let Some((h, w)) = target {
        if h == 0 || w == 0 {
            return Err(Error::invalid(format!(
                "{}: resizing the {w0}x{h0} photo would give {w}x{h} (W x H); sizes must be at least 1",
                path.display()
            )));
        }
        if (h, w) != (h0, w0) {
            img = img.resize_exact(w as u32, h as u32, FilterType::Triangle);
        }
    }
    if let Some((ch_, cw)) = opts.crop {
        let (w, h) = (img.width() as usize, img.height() as usize);
        if ch_ == 0 || cw == 0 || ch_ > h || cw > w {
            return Err(Error::invalid(format!(
                "{}: --crop {ch_},{cw} does not fit in the {}photo of {h}x{w} (H x W)\nhint: resize first, e.g. --resize-short {}",
                path.display(),
                if target.is_some() { "resized " } else { "" },
                ch_.max(cw)
            )));
        }
        let (top, left) = (center_offset(h, ch_), center_offset(w, cw));
        img = img.crop_imm(left as u32, top as u32, cw as u32, ch_ as u32);
    }
    let (w, h) = (img.width() as usize, img.height() as usize);
    let scale = match opts.scale {
        PixelScale::Unit => 1.0 / 255.0,
        PixelScale::Byte => 1.0,
    };
    // Source channel (of RGB or luma) of each tensor channel.
    let src: &[usize] = match opts.channels {
        ChannelOrder::Rgb => &[0, 1, 2],
        ChannelOrder::Bgr => &[2, 1, 0],
        ChannelOrder::Gray => &[0],
    };
    let pixels: Vec<u8> = match opts.channels {
        ChannelOrder::Gray => img.to_luma8().into_raw(),
        _ => img.to_rgb8().into_raw(),
    };
    let stride = src.iter().max().map_or(1, |m| m + 1);
    let mut data = vec![0f32; ch * h * w];
    for y in 0..h {
        for x in 0..w {
            let px = &pixels[(y * w + x) * stride..(y * w + x + 1) * stride];
            for (c, &s) in src.iter().enumerate() {
                let v = (px[s] as f32 * scale - mean[c]) / std[c];
                let i = match opts.layout {
                    Layout::Nchw => (c * h + y) * w + x,
                    Layout::Nhwc => (y * w + x) * ch + c,
                };
                data[i] = v;
            }
        }
    }
    let shape = match opts.layout {
        Layout::Nchw => vec![1, ch, h, w],
        Layout::Nhwc => vec![1, h, w, ch],
    };
    Ok((shape, data))
}

/// Decode a photo, refusing what is not one by what it is.
fn decode(path: &Path) -> Result<DynamicImage> {
    let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
    if meta.is_dir() {
        return Err(Error::invalid(format!(
            "{}: is a directory, not a photo",
            path.display()
        )));
    }
    let bytes = crate::files::read_bytes(path, "an image", crate::files::Limit::Data)?;
    image::load_from_memory(&bytes).map_err(|e| {
        let head = &bytes[..bytes.len().min(super::sniff::HEAD)];
        Error::invalid(match super::sniff::describe(head) {
            Some(what) if !what.ends_with("image") => format!(
                "{}: {what}, not a photo; PNG and JPEG photos are supported",
                path.display()
            ),
            _ => format!(
                "{}: cannot decode the image ({e}); PNG and JPEG are supported",
                path.display()
            ),
        })
    })
}

/// PIL's RGB → L conversion.
fn luma(rgb: &image::RgbImage) -> image::GrayImage {
    let (w, h) = rgb.dimensions();
    let data = rgb
        .pixels()
        .map(|p| {
            let [r, g, b] = p.0.map(u32::from);
            ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) as u8
        })
        .collect();
    image::GrayImage::from_raw(w, h, data).expect("one byte per pixel")
}

/// (H, W) with the short side `s` and the long one ⌊s·long/short⌋.
pub fn short_side(h: usize, w: usize, s: usize) -> (usize, usize) {
    if w <= h {
        (s * h / w.max(1), s)
    } else {
        (s, s * w / h.max(1))
    }
}

/// round((size − crop) / 2) with halves to even (Python's `round`).
pub fn center_offset(size: usize, crop: usize) -> usize {
    let d = size - crop;
    let k = d / 2;
    if d % 2 == 1 && k % 2 == 1 {
        k + 1
    } else {
        k
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

/// Per-channel values of a flag (`--mean`, `--std`): one, or three.
#[derive(Clone, Debug, PartialEq)]
pub struct PerChannel(pub Vec<f32>);

/// Parse one value or three (`--mean 0.485,0.456,0.406`, `--std 0.5`).
pub fn parse_values(s: &str) -> std::result::Result<PerChannel, String> {
    let v: Vec<&str> = s.split(',').map(str::trim).collect();
    if v.len() != 1 && v.len() != 3 {
        return Err(format!(
            "expected one value or three (one per channel), got `{s}`"
        ));
    }
    v.iter()
        .map(|x| x.parse().map_err(|_| format!("`{x}` is not a number")))
        .collect::<std::result::Result<_, _>>()
        .map(PerChannel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(dir: &Path, w: u32, h: u32, px: Vec<u8>) -> std::path::PathBuf {
        let p = dir.join("img.png");
        image::RgbImage::from_raw(w, h, px)
            .unwrap()
            .save(&p)
            .unwrap();
        p
    }

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn pixels_become_normalized_nchw_and_nhwc() {
        let dir = tempfile::tempdir().unwrap();
        // 2x1 image: red pixel, then (0, 51, 255).
        let p = png(dir.path(), 2, 1, vec![255, 0, 0, 0, 51, 255]);
        let opts = ImageOptions {
            mean: vec![0.5, 0.0, 0.0],
            std: vec![0.5, 1.0, 2.0],
            ..ImageOptions::default()
        };
        let (shape, data) = prepare(&p, &opts).unwrap();
        assert_eq!(shape, vec![1, 3, 1, 2]);
        // R plane: (1−0.5)/0.5 = 1, (0−0.5)/0.5 = −1; G: 0, 0.2; B: 0, 0.5.
        close(&data, &[1.0, -1.0, 0.0, 0.2, 0.0, 0.5]);
        let (shape, data) = prepare(
            &p,
            &ImageOptions {
                layout: Layout::Nhwc,
                ..opts.clone()
            },
        )
        .unwrap();
        assert_eq!(shape, vec![1, 1, 2, 3]);
        close(&data, &[1.0, 0.0, 0.0, -1.0, 0.2, 0.5]);
    }

    #[test]
    fn bgr_byte_scale_and_means_in_tensor_order() {
        let dir = tempfile::tempdir().unwrap();
        // One pixel (R, G, B) = (200, 100, 50); BGR, [0, 255], mean (B, G, R) =
        // (50, 60, 70), std 2: ((50−50)/2, (100−60)/2, (200−70)/2) = (0, 20, 65).
        let p = png(dir.path(), 1, 1, vec![200, 100, 50]);
        let opts = ImageOptions {
            channels: ChannelOrder::Bgr,
            scale: PixelScale::Byte,
            mean: vec![50.0, 60.0, 70.0],
            std: vec![2.0],
            ..ImageOptions::default()
        };
        let (shape, data) = prepare(&p, &opts).unwrap();
        assert_eq!(shape, vec![1, 3, 1, 1]);
        close(&data, &[0.0, 20.0, 65.0]);
    }

    #[test]
    fn gray_is_pil_luma() {
        let dir = tempfile::tempdir().unwrap();
        // (200, 100, 50): (200·19595 + 100·38470 + 50·7471 + 32768) >> 16
        // = (3919000 + 3847000 + 373550 + 32768) >> 16 = 8172318 >> 16 = 124.
        let p = png(dir.path(), 1, 1, vec![200, 100, 50]);
        let opts = ImageOptions {
            channels: ChannelOrder::Gray,
            scale: PixelScale::Byte,
            ..ImageOptions::default()
        };
        assert_eq!(prepare(&p, &opts).unwrap(), (vec![1, 1, 1, 1], vec![124.0]));
        let e = prepare(
            &p,
            &ImageOptions {
                mean: vec![1.0, 2.0, 3.0],
                ..opts
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("--mean has 3 values but the tensor has 1 channel"),
            "{e}"
        );
    }

    #[test]
    fn short_side_and_center_crop_follow_torchvision() {
        // 375x500 (H x W) to short side 256: W = ⌊256·500/375⌋ = ⌊341.33⌋ = 341.
        assert_eq!(short_side(375, 500, 256), (256, 341));
        assert_eq!(short_side(500, 375, 256), (341, 256));
        assert_eq!(short_side(10, 10, 4), (4, 4));
        // (341 − 224)/2 = 58.5 → 58 (even); 1.5 → 2; 2.5 → 2; 3.5 → 4; 2 → 1.
        assert_eq!(center_offset(341, 224), 58);
        assert_eq!(center_offset(7, 4), 2);
        assert_eq!(center_offset(9, 4), 2);
        assert_eq!(center_offset(11, 4), 4);
        assert_eq!(center_offset(6, 4), 1);
    }

    #[test]
    fn crop_takes_the_center_columns() {
        let dir = tempfile::tempdir().unwrap();
        // A 1x9 row of grays 0, 10, …, 80; crop 1x4 starts at round(2.5) = 2:
        // 20, 30, 40, 50. Resize-short 1 keeps the size.
        let px: Vec<u8> = (0..9).flat_map(|i| [i * 10; 3]).collect();
        let p = png(dir.path(), 9, 1, px);
        let opts = ImageOptions {
            resize: Some(Resize::Short(1)),
            crop: Some((1, 4)),
            scale: PixelScale::Byte,
            channels: ChannelOrder::Gray,
            ..ImageOptions::default()
        };
        assert_eq!(
            prepare(&p, &opts).unwrap(),
            (vec![1, 1, 1, 4], vec![20.0, 30.0, 40.0, 50.0])
        );
        let e = prepare(
            &p,
            &ImageOptions {
                crop: Some((2, 2)),
                ..opts
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--crop 2,2 does not fit"), "{e}");
    }

    #[test]
    fn presets_on_a_uniform_photo_by_hand() {
        let dir = tempfile::tempdir().unwrap();
        // 300x400 of (R, G, B) = (200, 100, 50): resizing a uniform photo keeps it.
        let px: Vec<u8> = [200u8, 100, 50].repeat(300 * 400);
        let p = png(dir.path(), 400, 300, px);
        let (shape, data) = prepare(&p, &Preset::Torchvision.options()).unwrap();
        assert_eq!(shape, vec![1, 3, 224, 224]);
        let n = 224 * 224;
        // ((200/255 − 0.485)/0.229, (100/255 − 0.456)/0.224, (50/255 − 0.406)/0.225)
        let want = [
            (200.0 / 255.0 - 0.485) / 0.229,
            (100.0 / 255.0 - 0.456) / 0.224,
            (50.0 / 255.0 - 0.406) / 0.225,
        ];
        for c in 0..3 {
            close(&data[c * n..c * n + 1], &[want[c]]);
            close(&data[(c + 1) * n - 1..(c + 1) * n], &[want[c]]);
        }
        let (shape, data) = prepare(&p, &Preset::Caffe.options()).unwrap();
        assert_eq!(shape, vec![1, 3, 224, 224]);
        // BGR − (103.939, 116.779, 123.68): (−53.939, −16.779, 76.32).
        for (c, v) in [-53.939f32, -16.779, 76.32].into_iter().enumerate() {
            close(&data[c * n..c * n + 1], &[v]);
        }
    }

    #[test]
    fn undecodable_image_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jpg");
        std::fs::write(&p, b"nope").unwrap();
        let e = prepare(&p, &ImageOptions::default())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "{}: a text file, not a photo; PNG and JPEG photos are supported",
                p.display()
            )
        );
    }

    #[test]
    fn pairs_and_values_parse() {
        assert_eq!(parse_pair("224, 224"), Ok((224, 224)));
        assert!(parse_pair("224").is_err());
        assert_eq!(parse_values("0.5,1,2"), Ok(PerChannel(vec![0.5, 1.0, 2.0])));
        assert_eq!(parse_values("0.5"), Ok(PerChannel(vec![0.5])));
        assert!(parse_values("1,2").is_err());
    }
}
