//! ONNX models as exporters write them (built by tests/support/onnx_gen.rs): symbolic
//! dims of any name, declared shapes, channel-last inputs, recurrent cells next to
//! convs, products over sequences, outputs that are not class vectors. Numbers are
//! derived by hand in the comments.

#![cfg(feature = "onnx")]

mod support;

use std::path::{Path, PathBuf};

use mltq::encoding::EncSpec;
use mltq::import::onnx::{capture, Capture};
use mltq::import::{import_onnx, ImportOptions, InputTensor};
use mltq::model::{Conv, Geometry};
use support::onnx_gen::{self, reference, with_input_dims, Decl, Rng, Seq, TinyNet, Variant};

fn write(dir: &Path, name: &str, m: &tract_onnx::pb::ModelProto) -> PathBuf {
    let p = dir.join(name);
    onnx_gen::write(&p, m);
    p
}

fn tensor(name: &str, shape: &[usize], data: Vec<f32>) -> InputTensor {
    InputTensor {
        name: name.into(),
        shape: shape.to_vec(),
        data,
    }
}

fn image(seed: u64) -> InputTensor {
    tensor("x.npy", &[1, 3, 8, 8], Rng::new(seed).vec(192, -1.0, 1.0))
}

fn close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

fn cap(m: &tract_onnx::pb::ModelProto, inputs: &[InputTensor]) -> Capture {
    let dir = tempfile::tempdir().unwrap();
    capture(&write(dir.path(), "m.onnx", m), inputs, false).unwrap()
}

fn cap_err(m: &tract_onnx::pb::ModelProto, inputs: &[InputTensor]) -> String {
    let dir = tempfile::tempdir().unwrap();
    capture(&write(dir.path(), "m.onnx", m), inputs, false)
        .unwrap_err()
        .to_string()
}

// --- 1. Symbolic dims of any name ----------------------------------------------------

#[test]
fn symbolic_dims_of_any_name_are_bound_from_the_input() {
    let net = TinyNet::new(7);
    let x = image(1);
    let want = reference(&net, &x.data);
    for batch in [
        Decl::P("p2o.DynamicDimension.0"),
        Decl::P("unk__123"),
        Decl::P("?"),
        Decl::P("batch_size"),
        Decl::P("N"),
        Decl::P("2*n + 1"),
        Decl::None,
    ] {
        let m = with_input_dims(
            onnx_gen::model(&net, Variant::default()),
            &[batch, Decl::V(3), Decl::V(8), Decl::V(8)],
        );
        let c = cap(&m, std::slice::from_ref(&x));
        assert_eq!(c.layers.len(), 3, "{batch:?}");
        close(&c.outputs[0][0].values, &want.y, &format!("{batch:?}"));
    }
}

#[test]
fn symbolic_height_and_width_take_the_given_size() {
    // paddle2onnx: every dynamic axis its own p2o name; H and W bound to 10 here.
    let m = with_input_dims(
        onnx_gen::model(&TinyNet::new(7), Variant::default()),
        &[
            Decl::P("p2o.DynamicDimension.0"),
            Decl::V(3),
            Decl::P("p2o.DynamicDimension.1"),
            Decl::P("p2o.DynamicDimension.2"),
        ],
    );
    let x = tensor("x10", &[1, 3, 10, 10], Rng::new(2).vec(300, -1.0, 1.0));
    let c = cap(&m, &[x]);
    assert_eq!(
        c.layers[0].geom,
        Geometry::Conv(Conv::square(3, (10, 10), 4, 3, 1, 1, 1))
    );
    assert_eq!(c.input_shape, vec![1, 3, 10, 10]);
}

#[test]
fn one_symbol_on_two_axes_must_take_one_size() {
    let m = with_input_dims(
        onnx_gen::model(&TinyNet::new(7), Variant::default()),
        &[Decl::P("N"), Decl::V(3), Decl::P("S"), Decl::P("S")],
    );
    let x = tensor("x.npy", &[1, 3, 8, 10], vec![0.0; 240]);
    let e = cap_err(&m, &[x]);
    assert!(
        e.contains("axes 2 and 3 share the size 'S' but are 8 and 10"),
        "{e}"
    );
}

// --- 2. Declared shapes are enforced --------------------------------------------------

#[test]
fn a_declared_224_input_given_100_is_refused_naming_both_shapes() {
    let x = tensor("photo.npy", &[1, 3, 100, 100], vec![0.5; 30000]);
    let e = cap_err(&onnx_gen::declared(224), &[x]);
    assert!(
        e.ends_with(
            "m.onnx: input photo.npy of shape (1, 3, 100, 100) does not fit the model's input 'x' \
             (batch_size, 3, 224, 224): axis 2 is 100 where the model declares 224\n\
             hint: the model takes 224x224 images: resize photos with --resize 224,224, or \
             --resize-short S --crop 224,224 (or a --preprocess preset)"
        ),
        "{e}"
    );
}

#[test]
fn the_tiny_model_declaring_8x8_no_longer_imports_a_10x10_input() {
    // Before, tract took the given shape over the declared one and the layers came out
    // 10x10 with exit status 0.
    let x = tensor("x10.npy", &[1, 3, 10, 10], vec![0.5; 300]);
    let e = cap_err(&onnx_gen::model(&TinyNet::new(7), Variant::default()), &[x]);
    assert!(e.contains("axis 2 is 10 where the model declares 8"), "{e}");
}

#[test]
fn an_nhwc_model_takes_nhwc_and_refuses_nchw_with_a_transpose_hint() {
    let net = TinyNet::new(7);
    let x = image(3);
    // The same image channel-last.
    let mut hwc = vec![0f32; 192];
    for c in 0..3 {
        for i in 0..64 {
            hwc[i * 3 + c] = x.data[c * 64 + i];
        }
    }
    let c = cap(&onnx_gen::nhwc(&net), &[tensor("hwc", &[1, 8, 8, 3], hwc)]);
    assert_eq!(
        c.layers[0].geom,
        Geometry::Conv(Conv::square(3, (8, 8), 4, 3, 1, 1, 1))
    );
    close(
        &c.layers[0].acts[0],
        &x.data,
        "conv1 input after the transpose",
    );
    close(
        &c.outputs[0][0].values,
        &reference(&net, &x.data).y,
        "output",
    );

    let e = cap_err(&onnx_gen::nhwc(&net), &[x]);
    assert!(
        e.contains("input x.npy of shape (1, 3, 8, 8) does not fit the model's input 'x_nhwc' (unk__123, 8, 8, 3): axis 1 is 3 where the model declares 8")
            && e.contains("hint: the model takes channel-last (N, H, W, C) input: transpose the array (x.transpose(0, 2, 3, 1))"),
        "{e}"
    );
}

#[test]
fn a_missing_batch_axis_is_added_and_a_wrong_rank_refused() {
    let x = tensor("chw", &[3, 8, 8], image(4).data);
    let c = cap(&onnx_gen::declared(8), &[x]);
    assert_eq!(c.input_shape, vec![1, 3, 8, 8]);
    let e = cap_err(
        &onnx_gen::declared(8),
        &[tensor("flat.npy", &[192], vec![0.0; 192])],
    );
    assert!(
        e.contains("input flat.npy of shape (192,) does not fit the model's input 'x' (batch_size, 3, 8, 8): it has 1 axes, the model takes 4"),
        "{e}"
    );
}

#[test]
fn an_integer_input_gets_integers_and_refuses_fractions() {
    // uint8 photo input: the values 0..=191 cast to float reach the conv unchanged.
    let x: Vec<f32> = (0..192).map(|v| v as f32).collect();
    let c = cap(
        &onnx_gen::uint8_input(),
        &[tensor("x", &[1, 3, 8, 8], x.clone())],
    );
    assert_eq!(c.layers[0].acts[0], x);
    let e = cap_err(
        &onnx_gen::uint8_input(),
        &[tensor("half.npy", &[1, 3, 8, 8], vec![0.5; 192])],
    );
    assert!(
        e.contains(
            "input half.npy: element 0 = 0.5 is not a value of the model's input type (uint8)"
        ),
        "{e}"
    );
}

// --- 3. Nothing dropped silently ------------------------------------------------------

#[test]
fn an_lstm_next_to_a_conv_is_listed_with_weights_macs_and_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "crnn.onnx", &onnx_gen::lstm_after_conv(5));
    let x = tensor("x.npy", &[1, 2, 1, 4], Rng::new(1).vec(8, 0.0, 1.0));
    let (net, report) =
        import_onnx(&p, std::slice::from_ref(&x), &ImportOptions::default()).unwrap();
    assert_eq!(net.layers.len(), 1);
    assert_eq!(net.layers[0].name, "conv");
    let skipped = report.skipped.as_ref().unwrap();
    assert_eq!(skipped.len(), 1);
    let s = &skipped[0];
    // W (1, 20, 3) + R (1, 20, 5) = 60 + 100; 4 steps of 1 row × 160 MACs.
    assert_eq!(
        (s.op.as_str(), s.name.as_str(), s.weights, s.macs),
        ("LSTM", "lstm", 160, Some(640))
    );
    // The conv: 6 weights, 3 filters × 2 channels × 4 positions = 24 MACs.
    assert_eq!(report.weight_coverage(), (6, 166));
    assert_eq!(report.mac_coverage(), (24, 664, 0));
    let table = report.table();
    assert!(
        table.contains("LSTM  lstm      160   640  recurrent cell: not simulated")
            && table.contains(
                "coverage: the imported layers hold 3.6% of the model's weights (6 of 166) and 3.6% of its MACs per sample (24 of 664)"
            ),
        "{table}"
    );
    assert_eq!(
        net.source.as_deref(),
        Some("onnx:crnn.onnx weights=ternary:2 acts=int:8 not-imported=LSTM:lstm:160")
    );

    let strict = ImportOptions {
        strict: true,
        ..ImportOptions::default()
    };
    let e = import_onnx(&p, &[x], &strict).unwrap_err().to_string();
    assert!(
        e.contains(
            "--strict: 1 node with weights would not be imported: LSTM 'lstm' (160 weights)"
        ),
        "{e}"
    );
}

#[test]
fn a_model_with_every_weight_imported_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "d.onnx", &onnx_gen::declared(8));
    let x = tensor("x", &[1, 3, 8, 8], vec![1.0; 192]);
    let (_, report) = import_onnx(&p, &[x], &ImportOptions::default()).unwrap();
    // proj: 6 weights, 2·3·64 = 384 MACs; fc: 4 weights and MACs.
    assert_eq!(report.weight_coverage(), (10, 10));
    assert_eq!(report.mac_coverage(), (388, 388, 0));
    assert!(report.table().contains(
        "coverage: the imported layers hold 100.0% of the model's weights (10 of 10) and 100.0% of its MACs per sample (388 of 388)"
    ));
}

// --- 4. Sequence models ---------------------------------------------------------------

/// x for [`onnx_gen::sequence`]: sample n is (C=2, T=3) = [1, 2, 3; 4, 5, 6] + 10·n.
fn seq_input(n: usize) -> InputTensor {
    let data: Vec<f32> = (0..n)
        .flat_map(|k| (1..=6).map(move |v| (v + 10 * k) as f32))
        .collect();
    tensor("seq.npy", &[n, 2, 1, 3], data)
}

fn seq_conv() -> Geometry {
    Geometry::Conv(Conv {
        c: 2,
        h: 1,
        w: 3,
        f: 4,
        kh: 1,
        kw: 1,
        sh: 1,
        sw: 1,
        ph: 0,
        pw: 0,
        groups: 1,
    })
}

#[test]
fn matmul_over_a_time_first_sequence_is_a_1x1_conv_over_its_positions() {
    let c = cap(&onnx_gen::sequence(Seq::TimeFirst), &[seq_input(1)]);
    let l = &c.layers[0];
    assert_eq!(l.geom, seq_conv());
    // Weights F,C = Bᵀ: [1, 0], [0, 1], [−1, 1], [2, −1].
    assert_eq!(l.weights, vec![1.0, 0.0, 0.0, 1.0, -1.0, 1.0, 2.0, -1.0]);
    // The activation C,1,T is x itself.
    assert_eq!(l.acts, vec![vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]);
    assert!(
        l.notes[0].contains("sequence of 3 vectors"),
        "{:?}",
        l.notes
    );
    // y (3, 1, 4): position t = (x0, x1) → (x0, x1, x1 − x0, 2·x0 − x1):
    // (1, 4) → (1, 4, 3, −2); (2, 5) → (2, 5, 3, −1); (3, 6) → (3, 6, 3, 0).
    assert_eq!(c.outputs[0][0].shape, vec![3, 1, 4]);
    close(
        &c.outputs[0][0].values,
        &[1.0, 4.0, 3.0, -2.0, 2.0, 5.0, 3.0, -1.0, 3.0, 6.0, 3.0, 0.0],
        "y",
    );
}

#[test]
fn sequences_with_a_batch_give_each_sample_its_positions() {
    for kind in [Seq::TimeFirst, Seq::BatchFirst] {
        let c = cap(&onnx_gen::sequence(kind), &[seq_input(2)]);
        let l = &c.layers[0];
        assert_eq!(l.geom, seq_conv(), "{kind:?}");
        assert_eq!(
            l.acts,
            vec![
                vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                vec![11.0, 12.0, 13.0, 14.0, 15.0, 16.0]
            ],
            "{kind:?}"
        );
    }
}

#[test]
fn gemm_with_trans_a_over_a_squeezed_sequence() {
    let c = cap(&onnx_gen::sequence(Seq::GemmTransA), &[seq_input(1)]);
    let l = &c.layers[0];
    assert_eq!(l.geom, seq_conv());
    assert_eq!(l.acts, vec![vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]);
}

#[test]
fn a_sequence_whose_batch_axis_cannot_be_told_is_listed_not_guessed() {
    // (T=3, N=3, C=2): both leading axes are 3. The model holds only this product, so
    // nothing is left to import; the message says why.
    let e = cap_err(&onnx_gen::sequence(Seq::TimeFirst), &[seq_input(3)]);
    assert!(
        e.contains(
            "no layer could be imported (MatMul 'proj': A of shape (3, 3, 2) holds 9 vectors for 3 samples and its first two axes both have the batch size, so the vectors of each sample cannot be told; give one sample per --input file)"
        ),
        "{e}"
    );
}

// --- 7. --check fits the model --------------------------------------------------------

#[test]
fn check_of_a_sequence_output_reports_distances_not_top1() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.onnx", &onnx_gen::sequence(Seq::TimeFirst));
    // int:16 weights: all but exact.
    let opts = ImportOptions {
        weights: EncSpec::Int(16),
        check: true,
        ..ImportOptions::default()
    };
    let (_, report) = import_onnx(&p, &[seq_input(1)], &opts).unwrap();
    let c = &report.check.as_ref().unwrap()[0];
    assert_eq!(c.top1, None);
    let o = &c.outputs[0];
    assert_eq!((o.name.as_str(), &o.shape[..]), ("y", &[3, 1, 4][..]));
    assert!(o.max_abs_diff < 1e-3, "{o:?}");
    assert!((o.cosine - 1.0).abs() < 1e-6, "{o:?}");
    assert!(report
        .table()
        .contains("no top-1 (the first output is not one class vector per sample)"));

    // ternary:2 weights. Bᵀ = [1, 0, 0, 1, −1, 1, 2, −1]: level 0, threshold
    // 0.7·7/6 = 0.817, every nonzero weight a digit, s0 = 7/6; residuals ∓1/6 (the
    // ±1s) and 5/6 (the 2): level 1, threshold 0.7·(10/6)/6 = 0.194, only the 2 gets a
    // digit, s1 = 5/6. So ±1 → ±7/6 and 2 → 2: y_q = (7/6·x0, 7/6·x1, 7/6·(x1 − x0),
    // 2·x0 − 7/6·x1). At t = 2, x = (3, 6): (3.5, 7, 3.5, −1) against (3, 6, 3, 0):
    // differences 1/2, 1, 1/2, 1; at t = 0 and 1 at most 5/6.
    let opts = ImportOptions {
        check: true,
        ..ImportOptions::default()
    };
    let (_, report) = import_onnx(&p, &[seq_input(1)], &opts).unwrap();
    let o = &report.check.as_ref().unwrap()[0].outputs[0];
    assert!((o.max_abs_diff - 1.0).abs() < 1e-4, "{o:?}");
    assert!(o.cosine < 1.0 && o.cosine > 0.9, "{o:?}");
}

#[test]
fn check_of_a_classifier_reports_top1() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "d.onnx", &onnx_gen::declared(8));
    let x = tensor("x", &[1, 3, 8, 8], Rng::new(3).vec(192, 0.0, 1.0));
    let opts = ImportOptions {
        weights: EncSpec::Int(8),
        check: true,
        ..ImportOptions::default()
    };
    let (_, report) = import_onnx(&p, &[x], &opts).unwrap();
    let c = &report.check.unwrap()[0];
    assert_eq!(c.top1, Some((1, 1)));
}

// --- Conv1d ---------------------------------------------------------------------------

#[test]
fn a_1d_conv_is_a_conv_of_height_1() {
    use onnx_gen::{graph_model, init, ints, node, tensor_info};
    // x (N, 2, 5), W (3, 2, 3), stride 2, pads [1, 0]: output (5 + 1 − 3)/2 + 1 = 2.
    // The left pad of 1 with no right pad: one explicit zero column, in=2x1x6.
    let m = graph_model(
        vec![node(
            "c1d",
            "Conv",
            &["x", "W"],
            &["y"],
            vec![ints("strides", &[2]), ints("pads", &[1, 0])],
        )],
        vec![init("W", &[3, 2, 3], &Rng::new(1).vec(18, -1.0, 1.0))],
        vec![tensor_info("x", &[Decl::P("N"), Decl::V(2), Decl::V(5)])],
        vec![tensor_info("y", &[Decl::P("N"), Decl::V(3), Decl::V(2)])],
    );
    let x: Vec<f32> = (1..=10).map(|v| v as f32).collect();
    let c = cap(&m, &[tensor("x", &[1, 2, 5], x)]);
    let l = &c.layers[0];
    assert_eq!(
        l.geom,
        Geometry::Conv(Conv {
            c: 2,
            h: 1,
            w: 6,
            f: 3,
            kh: 1,
            kw: 3,
            sh: 1,
            sw: 2,
            ph: 0,
            pw: 0,
            groups: 1
        })
    );
    assert_eq!(
        l.acts[0],
        vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    );
}
