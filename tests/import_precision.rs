//! Per-layer fixed-point precisions on import: given in a file (both layouts) or
//! profiled. The model is [`onnx_gen::two_weights`]: one 1x1 conv whose weights and
//! (given x = [1.0, 0.2]) activation are both [1.0, 0.2], so every number is by hand:
//!
//! | P | signed qmax, q, rel. L2 | unsigned qmax, q, rel. L2 |
//! |---|---|---|
//! | 1 | — | 1: [1, 1 (nonzero kept)], √(0.64/1.04) = 0.784 |
//! | 2 | 1: [1, 0], √(0.04/1.04) = 0.196 | 3: [3, 1], √((2/15)²/1.04) = 0.131 |
//! | 3 | 3: [3, 1], 0.131 | 7: [7, 1], √((2/35)²/1.04) = 0.0560 |
//! | 4 | 7: [7, 1], 0.0560 | 15: [15, 3], 0 |
//! | 5 | 15: [15, 3], 0 | |
//!
//! (0.2·qmax rounds to q; the error is 0.2 − q/qmax.)

#![cfg(feature = "onnx")]

mod support;

use std::path::{Path, PathBuf};

use clap::Parser;
use mltq::encoding::{EncSpec, Encoding};
use mltq::import::precision::PrecisionSource;
use mltq::import::{import_cmd, import_onnx, ImportArgs, ImportOptions, InputTensor};
use mltq::model::Network;
use mltq::tensor::Tensor;
use support::onnx_gen;

fn model(dir: &Path) -> PathBuf {
    let p = dir.join("two.onnx");
    onnx_gen::write(&p, &onnx_gen::two_weights());
    p
}

fn x(second: f32) -> InputTensor {
    InputTensor {
        name: "x.npy".into(),
        shape: vec![1, 1, 1, 2],
        data: vec![1.0, second],
    }
}

fn int_opts(precision: PrecisionSource) -> ImportOptions {
    ImportOptions {
        weights: EncSpec::Int(8),
        precision,
        ..ImportOptions::default()
    }
}

/// (bits, precision, values) of an int tensor.
fn int(t: &Tensor) -> (u8, u8, Vec<i32>) {
    let Encoding::Int {
        bits, precision, ..
    } = *t.encoding()
    else {
        panic!("{:?}", t.encoding())
    };
    (
        bits,
        precision,
        (0..t.len()).map(|i| t.int_value(i).unwrap()).collect(),
    )
}

fn import(dir: &Path, second: f32, opts: &ImportOptions) -> (Network, mltq::import::ImportReport) {
    import_onnx(&model(dir), &[x(second)], opts).unwrap()
}

#[test]
fn without_a_precision_source_the_full_width_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (net, report) = import(dir.path(), 0.2, &int_opts(PrecisionSource::Full));
    let l = &net.layers[0];
    // int:8: weights qmax 127: [127, round(25.4) = 25]; acts unsigned qmax 255:
    // [255, 51].
    assert_eq!(int(&l.weights), (8, 8, vec![127, 25]));
    assert_eq!(int(&l.acts[&0]), (8, 8, vec![255, 51]));
    assert_eq!(report.precision, None);
}

#[test]
fn profiles_pick_the_smallest_precision_within_the_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    for (tol, w, a) in [
        (0.01, (5, vec![15, 3]), (4, vec![15, 3])),
        (0.06, (4, vec![7, 1]), (3, vec![7, 1])),
        (0.2, (2, vec![1, 0]), (2, vec![3, 1])),
    ] {
        let (net, report) = import(
            dir.path(),
            0.2,
            &int_opts(PrecisionSource::Profile { tolerance: tol }),
        );
        let l = &net.layers[0];
        assert_eq!(int(&l.weights), (8, w.0, w.1), "tolerance {tol}");
        assert_eq!(int(&l.acts[&0]), (8, a.0, a.1), "tolerance {tol}");
        let r = &report.layers[0];
        let (wp, ap) = (r.weight_precision.unwrap(), r.act_precision.unwrap());
        assert_eq!((wp.precision, ap.precision), (w.0, a.0));
        assert!(wp.reached && ap.reached && wp.error <= tol && ap.error <= tol);
    }
    // At 0.06 the errors are those of the table: 0.0560 both.
    let (_, report) = import(
        dir.path(),
        0.2,
        &int_opts(PrecisionSource::Profile { tolerance: 0.06 }),
    );
    let r = &report.layers[0];
    let e = (2.0f64 / 35.0).powi(2) / 1.04;
    assert!((r.weight_precision.unwrap().error - e.sqrt()).abs() < 1e-6);
    assert!((r.act_precision.unwrap().error - e.sqrt()).abs() < 1e-6);
    let table = report.table();
    assert!(
        table.contains("int:8s/p4")
            && table.contains("int:8u/p3")
            && table.contains("precision: profiled")
            && table.contains("conv        4  0.0560       3  0.0560"),
        "{table}"
    );
}

#[test]
fn signed_activations_need_a_sign_bit_more() {
    // x = [1.0, −0.2]: signed, like the weights but with the nonzero kept at P = 2
    // ([1, −1]: error 0.8): P = 2 0.784, 3 0.131, 4 0.0560, 5 exact.
    let dir = tempfile::tempdir().unwrap();
    let (net, _) = import(
        dir.path(),
        -0.2,
        &int_opts(PrecisionSource::Profile { tolerance: 0.01 }),
    );
    assert_eq!(int(&net.layers[0].acts[&0]), (8, 5, vec![15, -3]));
}

#[test]
fn a_precision_file_sets_each_layer_in_either_layout() {
    let dir = tempfile::tempdir().unwrap();
    let named = dir.path().join("prec.txt");
    std::fs::write(&named, "# layer acts weights\nconv 3 2\n").unwrap();
    let dnnsim = dir.path().join("precision.txt");
    // Act magnitude 2 + fraction 1 = 3; weight magnitude 1 + fraction 1 = 2.
    std::fs::write(&dnnsim, "magnitude and fraction bits\n2;\n1;\n1;\n1;\n").unwrap();
    for f in [named, dnnsim] {
        let (net, report) = import(dir.path(), 0.2, &int_opts(PrecisionSource::File(f.clone())));
        let l = &net.layers[0];
        assert_eq!(int(&l.weights), (8, 2, vec![1, 0]), "{}", f.display());
        assert_eq!(int(&l.acts[&0]), (8, 3, vec![7, 1]), "{}", f.display());
        assert!(
            report
                .precision
                .as_deref()
                .unwrap()
                .starts_with(&format!("from {}", f.display())),
            "{:?}",
            report.precision
        );
        assert!(net.source.as_deref().unwrap().contains(" precision=file:"));
    }
}

#[test]
fn precision_files_that_do_not_fit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("prec.txt");
    for (text, want) in [
        ("conv 9 2\n", "layer 'conv': activation precision 9 is more than the int:8 width; give --acts int:9 or more"),
        ("conv 3 1\n", "layer 'conv': weight precision 1 is too small for signed values (at least 2 bits"),
        ("cnv 3 2\n", ":1: no imported layer is named 'cnv' (did you mean `conv`?)"),
        ("t\n1\n1\n", ":4: missing the weight magnitude row"),
    ] {
        std::fs::write(&f, text).unwrap();
        let e = import_onnx(
            &model(dir.path()),
            &[x(0.2)],
            &int_opts(PrecisionSource::File(f.clone())),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(want), "{text:?}: {e}");
    }
    let opts = ImportOptions {
        weights: EncSpec::Ternary(2),
        acts: EncSpec::Ternary(2),
        precision: PrecisionSource::Profile { tolerance: 0.01 },
        ..ImportOptions::default()
    };
    let e = import_onnx(&model(dir.path()), &[x(0.2)], &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("precisions apply to int tensors"), "{e}");
}

#[derive(Debug, Parser)]
struct Cmd {
    #[command(flatten)]
    args: ImportArgs,
}

#[test]
fn the_command_line_profiles_with_a_percentage_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let m = model(dir.path());
    let xp = dir.path().join("x.npy");
    mltq::import::npy::write_f32(&xp, &[1, 1, 1, 2], &[1.0, 0.2]).unwrap();
    let out = dir.path().join("two.mltq");
    let cmd = Cmd::try_parse_from([
        "import",
        "--from",
        "onnx",
        m.to_str().unwrap(),
        "--input",
        xp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--weights",
        "int:8",
        "--profile-precision",
        "--tolerance",
        "6%",
    ])
    .unwrap();
    let mut stdout = Vec::new();
    import_cmd(cmd.args, &mut stdout).unwrap();
    let stdout = String::from_utf8(stdout).unwrap();
    assert!(
        stdout.contains("int:8s/p4") && stdout.contains("int:8u/p3"),
        "{stdout}"
    );
    let net = mltq::model::load(&out).unwrap();
    assert_eq!(int(&net.layers[0].weights), (8, 4, vec![7, 1]));
    assert!(net.source.unwrap().contains("precision=profile:0.06"));
}
