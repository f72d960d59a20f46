//! Every way `mltq import --from onnx` refuses input, through the real binary in a
//! scratch directory: exit status 2, one `error:` line (and at most one `hint:` line),
//! no panic, no file written. Each message is pinned by an insta snapshot
//! (tests/snapshots/import_errors__*.snap).

#![cfg(feature = "onnx")]

mod common;
mod support;

use std::path::Path;

use common::{bin, entries};
use mltq::import::npy::write_f32;
use support::onnx_gen::{self, Decl, TinyNet, Variant};

/// A scratch directory with `m.onnx` (the tiny network, declared (N, 3, 8, 8)) and
/// `x.npy` (a (1, 3, 8, 8) input).
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        onnx_gen::write(
            &dir.path().join("m.onnx"),
            &onnx_gen::model(&TinyNet::new(7), Variant::default()),
        );
        write_f32(&dir.path().join("x.npy"), &[1, 3, 8, 8], &[0.5; 192]).unwrap();
        Case { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn model(self, name: &str, m: &tract_onnx::pb::ModelProto) -> Case {
        onnx_gen::write(&self.path().join(name), m);
        self
    }

    fn file(self, name: &str, bytes: &[u8]) -> Case {
        std::fs::write(self.path().join(name), bytes).unwrap();
        self
    }

    fn npy(self, name: &str, shape: &[usize]) -> Case {
        let n = shape.iter().product();
        write_f32(&self.path().join(name), shape, &vec![0.5; n]).unwrap();
        self
    }

    /// Run `mltq import --from onnx ARGS --out out.mltq`; check the rules; return
    /// stderr with the scratch path normalized.
    fn fails(&self, args: &[&str]) -> String {
        let before = entries(self.path());
        let out = bin()
            .current_dir(self.path())
            .args(["import", "--from", "onnx"])
            .args(args)
            .args(["--out", "out.mltq"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert!(
            lines[0].starts_with("error: ")
                && lines.len() <= 2
                && lines.get(1).is_none_or(|l| l.starts_with("hint: ")),
            "one error line and at most a hint: {stderr}"
        );
        assert!(
            !stderr.contains(" { ") && !stderr.contains("Dimension"),
            "no debug dump: {stderr}"
        );
        assert_eq!(entries(self.path()), before, "no file is written: {stderr}");
        stderr.replace(&self.path().to_string_lossy().into_owned(), "[TMP]")
    }
}

macro_rules! case {
    ($name:ident, $stderr:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), $stderr);
        }
    };
}

// --- The model file -----------------------------------------------------------------

case!(model_is_a_directory, {
    let c = Case::new();
    std::fs::create_dir(c.path().join("resnet")).unwrap();
    let c = c.model("resnet/model.onnx", &onnx_gen::declared(8));
    c.fails(&["resnet", "--input", "x.npy"])
});
case!(
    model_is_a_paddle_program,
    Case::new()
        .file("inference.pdmodel", b"\x0a\x05paddle")
        .fails(&["inference.pdmodel", "--input", "x.npy"])
);
case!(
    model_is_an_npy_array,
    Case::new().fails(&["x.npy", "--input", "x.npy"])
);
case!(
    model_is_a_pytorch_checkpoint,
    Case::new()
        .file(
            "resnet50.pth",
            b"PK\x03\x04\x14\x00\x00\x00archive/data.pkl"
        )
        .fails(&["resnet50.pth", "--input", "x.npy"])
);
case!(
    model_is_a_text_file,
    Case::new()
        .file("model.onnx", b"name,conv,1,0\n")
        .fails(&["model.onnx", "--input", "x.npy"])
);
case!(
    model_is_not_a_protobuf,
    Case::new()
        .file(
            "model.onnx",
            b"\x08\x07\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"
        )
        .fails(&["model.onnx", "--input", "x.npy"])
);
case!(
    model_is_missing,
    Case::new().fails(&["none.onnx", "--input", "x.npy"])
);
case!(
    model_has_an_operator_tract_cannot_run,
    Case::new()
        .model("fused.onnx", &onnx_gen::unsupported_op())
        .npy("x8.npy", &[1, 3, 8, 8])
        .fails(&["fused.onnx", "--input", "x8.npy"])
);
case!(
    model_has_two_inputs,
    Case::new()
        .model("det.onnx", &onnx_gen::two_inputs())
        .fails(&["det.onnx", "--input", "x.npy"])
);
case!(
    strict_refuses_an_lstm,
    Case::new()
        .model("crnn.onnx", &onnx_gen::lstm_after_conv(5))
        .npy("seq.npy", &[1, 2, 1, 4])
        .fails(&["crnn.onnx", "--input", "seq.npy", "--strict"])
);

// --- Inputs -------------------------------------------------------------------------

case!(
    declared_224_given_100,
    Case::new()
        .model("r.onnx", &onnx_gen::declared(224))
        .npy("photo.npy", &[1, 3, 100, 100])
        .fails(&["r.onnx", "--input", "photo.npy"])
);
case!(
    nhwc_model_given_nchw,
    Case::new()
        .model("keras.onnx", &onnx_gen::nhwc(&TinyNet::new(7)))
        .fails(&["keras.onnx", "--input", "x.npy"])
);
case!(
    input_of_the_wrong_rank,
    Case::new()
        .npy("flat.npy", &[8, 8])
        .fails(&["m.onnx", "--input", "flat.npy"])
);
case!(input_of_the_wrong_dtype, {
    // A bool array, as numpy writes it: header then one byte per element.
    let header = "{'descr': '|b1', 'fortran_order': False, 'shape': (1, 3, 8, 8), }";
    let pad = 64 - (10 + header.len() + 1) % 64;
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend(((header.len() + pad + 1) as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(std::iter::repeat_n(b' ', pad));
    bytes.push(b'\n');
    bytes.extend([1u8; 192]);
    Case::new()
        .file("mask.npy", &bytes)
        .fails(&["m.onnx", "--input", "mask.npy"])
});
case!(
    input_is_a_photo,
    Case::new()
        .file("cat.npy", b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
        .fails(&["m.onnx", "--input", "cat.npy"])
);
case!(
    image_is_not_an_image,
    Case::new()
        .file("cat.jpg", b"not a photo\n")
        .fails(&["m.onnx", "--image", "cat.jpg"])
);
case!(
    inputs_of_two_shapes,
    Case::new()
        .npy("x2.npy", &[2, 3, 8, 8])
        .fails(&["m.onnx", "--input", "x.npy", "--input", "x2.npy"])
);

// --- Flags --------------------------------------------------------------------------

case!(
    prune_negative,
    Case::new().fails(&["m.onnx", "--input", "x.npy", "--prune", "-0.1"])
);
case!(
    prune_above_one,
    Case::new().fails(&["m.onnx", "--input", "x.npy", "--prune", "1.5"])
);
case!(
    image_flag_without_an_image,
    Case::new().fails(&["m.onnx", "--input", "x.npy", "--preprocess", "torchvision"])
);
case!(
    tolerance_without_profile,
    Case::new().fails(&["m.onnx", "--input", "x.npy", "--tolerance", "0.01"])
);
case!(
    tolerance_out_of_range,
    Case::new().fails(&[
        "m.onnx",
        "--input",
        "x.npy",
        "--profile-precision",
        "--tolerance",
        "2"
    ])
);
case!(
    precision_file_names_no_layer,
    Case::new().file("prec.txt", b"conv9 4 4\n").fails(&[
        "m.onnx",
        "--input",
        "x.npy",
        "--weights",
        "int:8",
        "--precision",
        "prec.txt"
    ])
);
case!(
    precision_without_int_tensors,
    Case::new().fails(&[
        "m.onnx",
        "--input",
        "x.npy",
        "--acts",
        "ternary:2",
        "--profile-precision"
    ])
);

#[test]
fn out_naming_the_model_is_refused_and_the_model_kept() {
    let c = Case::new();
    let before = std::fs::read(c.path().join("m.onnx")).unwrap();
    let out = bin()
        .current_dir(c.path())
        .args([
            "import", "--from", "onnx", "m.onnx", "--input", "x.npy", "--out", "m.onnx",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr,
        "error: --out m.onnx is the same file as the input m.onnx: an output never replaces \
         an input of the same run; write the output elsewhere\n"
    );
    assert_eq!(std::fs::read(c.path().join("m.onnx")).unwrap(), before);
}

#[test]
fn a_paddle2onnx_model_with_symbolic_dims_imports() {
    // Before: refused with a 600-character dump of the parser's internals.
    let c = Case::new().model(
        "p2o.onnx",
        &onnx_gen::with_input_dims(
            onnx_gen::model(&TinyNet::new(7), Variant::default()),
            &[
                Decl::P("p2o.DynamicDimension.0"),
                Decl::V(3),
                Decl::P("p2o.DynamicDimension.1"),
                Decl::P("p2o.DynamicDimension.2"),
            ],
        ),
    );
    let out = bin()
        .current_dir(c.path())
        .args([
            "import", "--from", "onnx", "p2o.onnx", "--input", "x.npy", "--out", "p.mltq",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let net = mltq::model::load(&c.path().join("p.mltq")).unwrap();
    assert_eq!(net.layers.len(), 3);
}
