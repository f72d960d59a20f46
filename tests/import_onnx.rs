//! ONNX import against a plain reference: tiny models written by the committed
//! generator in `tests/support/onnx_gen.rs` (nothing is downloaded).

#![cfg(feature = "onnx")]

mod support;

use std::path::{Path, PathBuf};

use mltq::encoding::{EncSpec, Encoding};
use mltq::import::onnx::{capture, Capture};
use mltq::import::{import_onnx, ImageOptions, ImportOptions, InputTensor, Resize};
use mltq::model::{Conv, Geometry};
use support::onnx_gen::{self, conv2d, reference, reference_with, Rng, TinyNet, Variant};

fn close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs reference {y}"
        );
    }
}

fn write_model(dir: &Path, net: &TinyNet, v: Variant) -> PathBuf {
    let p = dir.join("tiny.onnx");
    onnx_gen::write(&p, &onnx_gen::model(net, v));
    p
}

fn image(seed: u64) -> InputTensor {
    InputTensor {
        name: format!("x{seed}"),
        shape: vec![1, 3, 8, 8],
        data: Rng::new(seed).vec(3 * 64, -1.0, 1.0),
    }
}

fn tiny_capture(v: Variant, inputs: &[InputTensor]) -> (TinyNet, Capture) {
    let dir = tempfile::tempdir().unwrap();
    let net = TinyNet::new(7);
    let p = write_model(dir.path(), &net, v);
    let cap = capture(&p, inputs, false).unwrap();
    (net, cap)
}

#[test]
fn captured_activations_match_a_plain_reference() {
    let x = image(1);
    let (net, cap) = tiny_capture(Variant::default(), std::slice::from_ref(&x));
    let names: Vec<&str> = cap.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["conv1", "conv2", "fc"]);
    assert_eq!(
        cap.layers[0].geom,
        Geometry::Conv(Conv {
            c: 3,
            h: 8,
            w: 8,
            f: 4,
            kh: 3,
            kw: 3,
            sh: 1,
            sw: 1,
            ph: 1,
            pw: 1,
            groups: 1
        })
    );
    assert_eq!(
        cap.layers[1].geom,
        Geometry::Conv(Conv {
            c: 4,
            h: 8,
            w: 8,
            f: 6,
            kh: 3,
            kw: 3,
            sh: 2,
            sw: 2,
            ph: 1,
            pw: 1,
            groups: 2
        })
    );
    assert_eq!(cap.layers[2].geom, Geometry::Fc { c: 6, f: 5 });
    let r = reference(&net, &x.data);
    close(&cap.layers[0].acts[0], &r.conv1_in, "conv1 input");
    close(&cap.layers[1].acts[0], &r.conv2_in, "conv2 input");
    close(&cap.layers[2].acts[0], &r.fc_in, "fc input");
    close(&cap.outputs[0][0].values, &r.y, "output");
    assert!(r.conv2_in.contains(&0.0), "ReLU zeros reach the capture");
    // Unfolded weights are kept as they are.
    assert_eq!(cap.layers[1].weights, net.w2);
    assert_eq!(cap.layers[2].weights, net.wf);
}

#[test]
fn two_layers_reading_one_tensor_both_capture_it() {
    let x = image(6);
    let v = Variant {
        shortcut: true,
        ..Variant::default()
    };
    let (net, cap) = tiny_capture(v, std::slice::from_ref(&x));
    let names: Vec<&str> = cap.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["conv1", "conv2", "down", "fc"]);
    assert_eq!(
        cap.layers[2].geom,
        Geometry::Conv(Conv {
            c: 4,
            h: 8,
            w: 8,
            f: 6,
            kh: 1,
            kw: 1,
            sh: 2,
            sw: 2,
            ph: 0,
            pw: 0,
            groups: 1
        })
    );
    assert!(cap.layers[1].folded_bn.is_none() && cap.layers[2].folded_bn.is_none());
    let r = reference_with(&net, &x.data, v);
    close(&cap.layers[1].acts[0], &r.conv2_in, "conv2 input");
    close(&cap.layers[2].acts[0], &r.conv2_in, "down input");
    close(
        &cap.layers[3].acts[0],
        &r.fc_in,
        "fc input after the residual add",
    );
    close(&cap.outputs[0][0].values, &r.y, "output");
}

#[test]
fn batchnorm_is_folded_into_the_conv_weights() {
    let x = image(2);
    let (net, cap) = tiny_capture(Variant::default(), std::slice::from_ref(&x));
    let l = &cap.layers[0];
    assert_eq!(l.folded_bn.as_ref().map(|b| b.0.as_str()), Some("bn1"));
    // conv(x, W', b') must equal BN(conv(x, W) + b).
    let (out, _, _) = conv2d(
        &x.data,
        (3, 8, 8),
        &l.weights,
        4,
        3,
        1,
        1,
        1,
        l.bias.as_deref(),
    );
    let r = reference(&net, &x.data);
    close(&out, &r.bn_out, "folded conv1 output");
    // And it differs from the unfolded conv output (BN is not the identity here).
    assert!(out
        .iter()
        .zip(&r.conv1_out)
        .any(|(a, b)| (a - b).abs() > 1e-2));
}

#[test]
fn inputs_and_batch_rows_become_samples_in_order() {
    let (a, b) = (image(3), image(4));
    let (net, cap) = tiny_capture(Variant::default(), &[a.clone(), b.clone()]);
    assert_eq!(cap.layers[2].acts.len(), 2);
    close(
        &cap.layers[2].acts[1],
        &reference(&net, &b.data).fc_in,
        "sample 1",
    );

    let batch = InputTensor {
        name: "batch".into(),
        shape: vec![2, 3, 8, 8],
        data: [a.data.clone(), b.data.clone()].concat(),
    };
    let (_, cap2) = tiny_capture(Variant::default(), &[batch]);
    for (l, l2) in cap.layers.iter().zip(&cap2.layers) {
        assert_eq!(l2.acts.len(), 2, "{}", l.name);
        close(&l2.acts[0], &l.acts[0], &l.name);
        close(&l2.acts[1], &l.acts[1], &l.name);
    }

    // A (3,8,8) array for an (N,3,8,8) model gets its batch axis.
    let bare = InputTensor {
        name: "bare".into(),
        shape: vec![3, 8, 8],
        data: a.data.clone(),
    };
    let (_, cap3) = tiny_capture(Variant::default(), &[bare]);
    close(
        &cap3.layers[1].acts[0],
        &cap.layers[1].acts[0],
        "bare input",
    );
}

#[test]
fn matmul_and_gemm_with_alpha_give_the_same_fc_weights() {
    let x = image(5);
    let (net, plain) = tiny_capture(Variant::default(), std::slice::from_ref(&x));
    for v in [
        Variant {
            matmul: true,
            ..Variant::default()
        },
        Variant {
            gemm_alpha: Some(0.5),
            ..Variant::default()
        },
    ] {
        let (_, cap) = tiny_capture(v, std::slice::from_ref(&x));
        assert_eq!(cap.layers.len(), 3, "{v:?}");
        assert_eq!(cap.layers[2].geom, Geometry::Fc { c: 6, f: 5 });
        close(&cap.layers[2].weights, &net.wf, "fc weights");
        close(&cap.layers[2].acts[0], &plain.layers[2].acts[0], "fc input");
    }
}

#[test]
fn a_product_of_two_activations_is_skipped_with_a_note() {
    let v = Variant {
        outer_product: true,
        ..Variant::default()
    };
    let (_, cap) = tiny_capture(v, &[image(1)]);
    let names: Vec<&str> = cap.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["conv1", "conv2", "fc"]);
    assert!(
        cap.notes
            .iter()
            .any(|n| n.contains("'outer' skipped") && n.contains("not constant")),
        "{:?}",
        cap.notes
    );
}

#[test]
fn a_dilated_conv_is_listed_with_its_weights_and_macs_not_imported() {
    let v = Variant {
        dilation2: true,
        ..Variant::default()
    };
    let (_, cap) = tiny_capture(v, &[image(1)]);
    let names: Vec<&str> = cap.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["conv1", "fc"]);
    assert_eq!(cap.skipped.len(), 1);
    let s = &cap.skipped[0];
    assert_eq!((s.op.as_str(), s.name.as_str()), ("Conv", "conv2"));
    // W2 is (6, 2, 3, 3): 108 weights. Dilation 2 makes the kernel span 5: output
    // (8 + 2 − 5)/2 + 1 = 3 per axis, 9 positions × 108 = 972 MACs.
    assert_eq!(s.weights, 108);
    assert_eq!(s.macs, Some(972));
    assert!(s.reason.contains("dilation 2x2"), "{}", s.reason);
}

#[test]
fn asymmetric_padding_becomes_zero_rows_and_columns_of_the_input() {
    // conv2 with pads [1, 1, 0, 0] (top 1, left 1, bottom 0, right 0) on 8x8, k3 s2:
    // output (8 + 1 − 3)/2 + 1 = 4 per axis. Imported as in=4x9x9 with pad 0: the
    // top row and left column of zeros made explicit, windows unchanged.
    let x = image(1);
    let v = Variant {
        asymmetric_pads: true,
        ..Variant::default()
    };
    let (net, cap) = tiny_capture(v, std::slice::from_ref(&x));
    let l = &cap.layers[1];
    assert_eq!(
        l.geom,
        Geometry::Conv(Conv {
            c: 4,
            h: 9,
            w: 9,
            f: 6,
            kh: 3,
            kw: 3,
            sh: 2,
            sw: 2,
            ph: 0,
            pw: 0,
            groups: 2
        })
    );
    assert!(
        l.notes[0].contains("top 1, bottom 0, left 1, right 0"),
        "{:?}",
        l.notes
    );
    let r = reference(&net, &x.data).conv2_in;
    for c in 0..4 {
        for y in 0..9 {
            for xx in 0..9 {
                let got = l.acts[0][(c * 9 + y) * 9 + xx];
                let want = if y == 0 || xx == 0 {
                    0.0
                } else {
                    r[(c * 8 + y - 1) * 8 + xx - 1]
                };
                assert!((got - want).abs() < 1e-4, "({c},{y},{xx}): {got} vs {want}");
            }
        }
    }
    // The float output is the plain network's with the same windows (checked through
    // the padded conv by the reference with pad 0).
    let (out, oh, ow) = conv2d(&l.acts[0], (4, 9, 9), &l.weights, 6, 3, 2, 0, 2, None);
    assert_eq!((oh, ow), (4, 4));
    let fc_in: Vec<f32> = (0..6)
        .map(|ch| {
            out[ch * 16..(ch + 1) * 16]
                .iter()
                .map(|v| v.max(0.0))
                .sum::<f32>()
                / 16.0
        })
        .collect();
    close(
        &cap.layers[2].acts[0],
        &fc_in,
        "fc input after the padded conv",
    );
}

#[test]
fn missing_garbage_and_mismatched_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = capture(&dir.path().join("none.onnx"), &[image(1)], false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("none.onnx"), "{e}");
    let g = dir.path().join("garbage.onnx");
    std::fs::write(&g, b"\x08\x07garbage").unwrap();
    assert!(capture(&g, &[image(1)], false).is_err());
    let p = write_model(dir.path(), &TinyNet::new(7), Variant::default());
    let pair = InputTensor {
        name: "pair".into(),
        shape: vec![2, 3, 8, 8],
        data: vec![0.0; 384],
    };
    let e = capture(&p, &[image(1), pair], false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("pair") && e.contains("one shape"), "{e}");
}

#[test]
fn import_quantizes_weights_and_acts_and_checks_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_model(dir.path(), &TinyNet::new(7), Variant::default());
    let inputs = [image(1), image(2)];
    let opts = ImportOptions {
        check: true,
        ..ImportOptions::default()
    };
    let (net, report) = import_onnx(&p, &inputs, &opts).unwrap();
    assert_eq!(net.name, "tiny");
    assert_eq!(net.layers.len(), 3);
    assert_eq!(net.samples(), vec![0, 1]);
    for l in &net.layers {
        assert!(
            matches!(l.weights.encoding(), Encoding::Ternary { levels: 2, .. }),
            "{}",
            l.name
        );
    }
    // The image input has negatives: signed; post-ReLU inputs: unsigned.
    let signed = |l: usize| match net.layers[l].acts[&0].encoding() {
        Encoding::Int {
            bits: 8, signed, ..
        } => *signed,
        e => panic!("{e:?}"),
    };
    assert!(signed(0));
    assert!(!signed(1) && !signed(2));
    // ReLU zeros survive quantization exactly.
    let (_, cap) = tiny_capture(Variant::default(), &inputs);
    let zeros = cap.layers[1].acts[0].iter().filter(|v| **v == 0.0).count();
    let t = &net.layers[1].acts[&0];
    let qzeros = (0..t.len()).filter(|&i| t.int_value(i) == Some(0)).count();
    assert_eq!(zeros, qzeros);

    assert_eq!(report.layers.len(), 3);
    assert_eq!(report.layers[0].folded_bn.as_deref(), Some("bn1"));
    let check = report.check.as_ref().unwrap();
    assert_eq!(check.len(), 2);
    for c in check {
        assert!(matches!(c.top1, Some((_, 1))), "{c:?}");
        assert_eq!(c.outputs.len(), 1);
        let o = &c.outputs[0];
        assert_eq!((o.name.as_str(), &o.shape[..]), ("y", &[1, 5][..]));
        assert!(o.rel_l2 > 0.0 && o.rel_l2 < 1.0, "{c:?}");
        assert!(o.cosine > 0.0 && o.cosine < 1.0, "{c:?}");
    }
    let table = report.table();
    assert!(
        table.contains("conv2") && table.contains("total") && table.contains("top-1"),
        "{table}"
    );
}

#[test]
fn check_with_near_exact_weights_reproduces_the_float_output() {
    // int:16 weights are all but exact: the edited model (BN removed, folded bias,
    // replaced weights) must give the float output back.
    let dir = tempfile::tempdir().unwrap();
    for v in [
        Variant::default(),
        Variant {
            gemm_alpha: Some(0.5),
            ..Variant::default()
        },
        Variant {
            matmul: true,
            ..Variant::default()
        },
    ] {
        let p = write_model(dir.path(), &TinyNet::new(7), v);
        let opts = ImportOptions {
            weights: EncSpec::Int(16),
            check: true,
            ..ImportOptions::default()
        };
        let (_, report) = import_onnx(&p, &[image(3)], &opts).unwrap();
        let c = &report.check.unwrap()[0];
        assert_eq!(c.top1, Some((1, 1)), "{v:?}");
        assert!(c.outputs[0].rel_l2 < 1e-3, "{v:?}: {c:?}");
        assert!(c.outputs[0].cosine > 1.0 - 1e-6, "{v:?}: {c:?}");
    }
}

#[test]
fn pruning_and_per_channel_reach_the_weights() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_model(dir.path(), &TinyNet::new(7), Variant::default());
    let opts = ImportOptions {
        prune: Some(0.5),
        per_channel: true,
        weights: EncSpec::Ternary(3),
        ..ImportOptions::default()
    };
    let (net, report) = import_onnx(&p, &[image(1)], &opts).unwrap();
    for (l, r) in net.layers.iter().zip(&report.layers) {
        let n = l.weights.len();
        let zero = (0..n)
            .filter(|&i| (0..3).all(|p| l.weights.digit(i, p) == 0))
            .count();
        assert_eq!(zero, (n as f64 * 0.5).round() as usize, "{}", l.name);
        assert_eq!(r.weights.nonzero_words as usize, n - zero);
        assert_eq!(l.weights.scales().len(), l.geom.filters() * 3);
    }
}

#[test]
fn photos_are_inputs_too() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_model(dir.path(), &TinyNet::new(7), Variant::default());
    let png = dir.path().join("photo.png");
    let px: Vec<u8> = (0..16 * 12 * 3).map(|i| (i * 37 % 256) as u8).collect();
    image::RgbImage::from_raw(16, 12, px)
        .unwrap()
        .save(&png)
        .unwrap();
    let opts = ImageOptions {
        resize: Some(Resize::Exact(8, 8)),
        mean: vec![0.485, 0.456, 0.406],
        std: vec![0.229, 0.224, 0.225],
        ..ImageOptions::default()
    };
    let x = InputTensor::from_image(&png, &opts).unwrap();
    assert_eq!(x.shape, vec![1, 3, 8, 8]);
    let (net, _) = import_onnx(&p, &[x], &ImportOptions::default()).unwrap();
    assert_eq!(net.samples(), vec![0]);
}

#[test]
fn imported_model_round_trips_through_the_file_format() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_model(dir.path(), &TinyNet::new(7), Variant::default());
    let (net, _) = import_onnx(&p, &[image(1), image(2)], &ImportOptions::default()).unwrap();
    let out = dir.path().join("tiny.mltq");
    mltq::model::save(&net, &out).unwrap();
    let back = mltq::model::load(&out).unwrap();
    assert_eq!(back, net);
}

/// Scale test on a ResNet-50-shaped model (seeded random weights, 224x224, ~100 MB):
/// `cargo test --test import_onnx -- --ignored` (slow in debug builds).
#[test]
#[ignore]
fn resnet50_shaped_model_imports_with_every_layer_and_exact_relu_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r50.onnx");
    let t = std::time::Instant::now();
    onnx_gen::write(&p, &onnx_gen::resnet50(1, 224));
    eprintln!("generated in {:?}", t.elapsed());
    let x = InputTensor {
        name: "x".into(),
        shape: vec![1, 3, 224, 224],
        data: Rng::new(9).vec(3 * 224 * 224, -2.0, 2.0),
    };
    let t = std::time::Instant::now();
    let cap = capture(&p, std::slice::from_ref(&x), false).unwrap();
    eprintln!("captured in {:?}", t.elapsed());
    assert_eq!(cap.layers.len(), 54);
    assert_eq!(
        cap.layers.iter().filter(|l| l.folded_bn.is_some()).count(),
        53
    );
    assert_eq!(cap.layers[53].geom, Geometry::Fc { c: 2048, f: 1000 });
    let t = std::time::Instant::now();
    let (net, report) = import_onnx(
        &p,
        &[x],
        &ImportOptions {
            check: true,
            ..ImportOptions::default()
        },
    )
    .unwrap();
    eprintln!("imported + checked in {:?}", t.elapsed());
    eprintln!("{}", report.table());
    for (l, f) in net.layers.iter().zip(&cap.layers) {
        let zeros = f.acts[0].iter().filter(|v| **v == 0.0).count();
        let a = &l.acts[&0];
        let q = (0..a.len()).filter(|&i| a.int_value(i) == Some(0)).count();
        assert_eq!(zeros, q, "{}", l.name);
    }
}
