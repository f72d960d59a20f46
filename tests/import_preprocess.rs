//! Photos prepared as real pipelines prepare them, through the command line: the
//! `torchvision` and `caffe` presets against numbers computed by hand, flags overriding
//! a preset's parts, the layout taken from the model, gray inputs.
//!
//! The photos are uniform, (R, G, B) = (200, 100, 50) everywhere, so resizing and
//! cropping keep every pixel and each channel of the tensor is one number. The model
//! is [`onnx_gen::declared`]: its first conv reads the input itself, and its activation
//! is quantized `int:8` signed with scale max|x| / 127.

#![cfg(feature = "onnx")]

mod support;

use std::path::{Path, PathBuf};

use clap::Parser;
use mltq::import::{import_cmd, ChannelOrder, ImportArgs, Layout, PixelScale, Resize};
use support::onnx_gen::{self, graph_model, init, node, tensor_info, Decl, TinyNet};

#[derive(Debug, Parser)]
struct Cmd {
    #[command(flatten)]
    args: ImportArgs,
}

fn parse(argv: &[&str]) -> ImportArgs {
    Cmd::try_parse_from(std::iter::once("import").chain(argv.iter().copied()))
        .unwrap()
        .args
}

fn run(argv: &[&str]) -> anyhow::Result<String> {
    let mut out = Vec::new();
    import_cmd(parse(argv), &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

fn photo(dir: &Path, w: u32, h: u32) -> PathBuf {
    photo_of(dir, w, h, [200, 100, 50])
}

fn photo_of(dir: &Path, w: u32, h: u32, rgb: [u8; 3]) -> PathBuf {
    let p = dir.join(format!("photo{w}x{h}.png"));
    let px: Vec<u8> = rgb.repeat((w * h) as usize);
    image::RgbImage::from_raw(w, h, px)
        .unwrap()
        .save(&p)
        .unwrap();
    p
}

/// The first layer's activation of sample 0, per channel (the channel's first value
/// and whether every value of it is that one).
fn channels(out: &Path) -> Vec<(i32, bool)> {
    let net = mltq::model::load(out).unwrap();
    let a = &net.layers[0].acts[&0];
    let (c, per) = (a.shape()[0], a.len() / a.shape()[0]);
    (0..c)
        .map(|k| {
            let v: Vec<i32> = (k * per..(k + 1) * per)
                .map(|i| a.int_value(i).unwrap())
                .collect();
            (v[0], v.iter().all(|&x| x == v[0]))
        })
        .collect()
}

#[test]
fn torchvision_preset_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("d.onnx");
    onnx_gen::write(&m, &onnx_gen::declared(224));
    let img = photo(dir.path(), 400, 300);
    let out = dir.path().join("d.mltq");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    run(&[
        "--from",
        "onnx",
        &s(&m),
        "--image",
        &s(&img),
        "--preprocess",
        "torchvision",
        "--out",
        &s(&out),
    ])
    .unwrap();
    // 300x400 → short side 256: 256x341, center crop 224x224. Values:
    // R (200/255 − 0.485)/0.229 = 1.30705, G (100/255 − 0.456)/0.224 = −0.28501,
    // B (50/255 − 0.406)/0.225 = −0.93299. Scale 1.30705/127: q = 127,
    // round(−0.28501/1.30705·127) = round(−27.69) = −28, round(−90.65) = −91.
    assert_eq!(channels(&out), vec![(127, true), (-28, true), (-91, true)]);
    let net = mltq::model::load(&out).unwrap();
    assert_eq!(net.layers[0].acts[&0].shape(), &[3, 224, 224]);
}

#[test]
fn caffe_preset_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("d.onnx");
    onnx_gen::write(&m, &onnx_gen::declared(224));
    let img = photo(dir.path(), 300, 300);
    let out = dir.path().join("d.mltq");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    run(&[
        "--from",
        "onnx",
        &s(&m),
        "--image",
        &s(&img),
        "--preprocess",
        "caffe",
        "--out",
        &s(&out),
    ])
    .unwrap();
    // BGR in [0, 255] less (103.939, 116.779, 123.68): (50 − 103.939, 100 − 116.779,
    // 200 − 123.68) = (−53.939, −16.779, 76.32). Scale 76.32/127:
    // round(−53.939/76.32·127) = round(−89.76) = −90, round(−27.92) = −28, 127.
    assert_eq!(channels(&out), vec![(-90, true), (-28, true), (127, true)]);
}

#[test]
fn flags_override_the_parts_of_a_preset() {
    let a = parse(&[
        "--from",
        "onnx",
        "m.onnx",
        "--image",
        "p.png",
        "--out",
        "o.mltq",
        "--preprocess",
        "caffe",
        "--crop",
        "227,227",
        "--std",
        "58",
        "--channel-order",
        "rgb",
    ]);
    let o = a.image_options(Layout::Nchw);
    assert_eq!(o.resize, Some(Resize::Short(256)));
    assert_eq!(o.crop, Some((227, 227)));
    assert_eq!(o.channels, ChannelOrder::Rgb);
    assert_eq!(o.scale, PixelScale::Byte);
    assert_eq!(o.mean, vec![103.939, 116.779, 123.68]);
    assert_eq!(o.std, vec![58.0]);
    let a = parse(&[
        "--from", "onnx", "m.onnx", "--image", "p.png", "--out", "o.mltq", "--resize", "32,100",
        "--scale", "255", "--mean", "127.5", "--std", "127.5",
    ]);
    let o = a.image_options(Layout::Nhwc);
    assert_eq!(o.resize, Some(Resize::Exact(32, 100)));
    assert_eq!((o.crop, o.layout), (None, Layout::Nhwc));
    assert_eq!((o.mean.clone(), o.std.clone()), (vec![127.5], vec![127.5]));
}

#[test]
fn photos_take_the_layout_the_model_declares() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("nhwc.onnx");
    onnx_gen::write(&m, &onnx_gen::nhwc(&TinyNet::new(7)));
    let img = photo_of(dir.path(), 8, 8, [200, 90, 50]);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let out = dir.path().join("n.mltq");
    let stdout = run(&[
        "--from",
        "onnx",
        &s(&m),
        "--image",
        &s(&img),
        "--out",
        &s(&out),
    ])
    .unwrap();
    assert!(stdout.contains("wrote"), "{stdout}");
    // The conv reads the transposed photo: channels R, G, B of 200/255, 90/255, 50/255
    // (unsigned int:8, scale (200/255)/255: 255, round(114.75) = 115, round(63.75) = 64).
    assert_eq!(channels(&out), vec![(255, true), (115, true), (64, true)]);
    let e = run(&[
        "--from",
        "onnx",
        &s(&m),
        "--image",
        &s(&img),
        "--layout",
        "nchw",
        "--out",
        &s(&dir.path().join("x.mltq")),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("channel-last (N, H, W, C)"), "{e}");
    assert!(!dir.path().join("x.mltq").exists());
}

#[test]
fn gray_photos_for_a_one_channel_model() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("gray.onnx");
    // x (N, 1, 8, 8) → conv 1x1 1→2.
    onnx_gen::write(
        &m,
        &graph_model(
            vec![node("c", "Conv", &["x", "W"], &["y"], vec![])],
            vec![init("W", &[2, 1, 1, 1], &[1.0, -1.0])],
            vec![tensor_info(
                "x",
                &[Decl::P("N"), Decl::V(1), Decl::V(8), Decl::V(8)],
            )],
            vec![tensor_info(
                "y",
                &[Decl::P("N"), Decl::V(2), Decl::V(8), Decl::V(8)],
            )],
        ),
    );
    let img = photo(dir.path(), 8, 8);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let e = run(&[
        "--from",
        "onnx",
        &s(&m),
        "--image",
        &s(&img),
        "--out",
        &s(&dir.path().join("g.mltq")),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("hint: the model takes 1 channel: give photos with --channel-order gray"),
        "{e}"
    );
    let out = dir.path().join("g.mltq");
    run(&[
        "--from",
        "onnx",
        &s(&m),
        "--image",
        &s(&img),
        "--channel-order",
        "gray",
        "--scale",
        "255",
        "--out",
        &s(&out),
    ])
    .unwrap();
    // PIL luma of (200, 100, 50) is 124 (src/import/preprocess.rs): unsigned, the
    // only value, so q = 255 everywhere.
    assert_eq!(channels(&out), vec![(255, true)]);
}
