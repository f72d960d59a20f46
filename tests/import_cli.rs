//! `mltq import` as the command line runs it: clap parsing of [`ImportArgs`], the
//! report on stdout, the model written atomically (and readable back), errors that map
//! to exit status 2 and leave no file behind.

mod support;

use std::path::Path;

use clap::Parser;
use mltq::import::npy::write_f32;
use mltq::import::{import_cmd, import_dnnsim, ImportArgs};

#[derive(Debug, Parser)]
struct Cmd {
    #[command(flatten)]
    args: ImportArgs,
}

fn run(argv: &[&str]) -> (anyhow::Result<()>, String) {
    let cmd = Cmd::try_parse_from(std::iter::once("mltq-import").chain(argv.iter().copied()))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    let r = import_cmd(cmd.args, &mut out);
    (r, String::from_utf8(out).unwrap())
}

/// `import --from dnnsim FOLDER --out OUT`, then `extra` flags.
fn run_dnnsim(folder: &Path, out: &Path, extra: &[&str]) -> (anyhow::Result<()>, String) {
    let mut argv = vec![
        "--from",
        "dnnsim",
        folder.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    argv.extend_from_slice(extra);
    run(&argv)
}

/// A two-layer DNNsim trace folder: conv (2 samples) then fc.
fn dnnsim_folder(dir: &Path) {
    std::fs::write(dir.join("model.csv"), "conv1,conv,2,1\nfc1,fc,1,0\n").unwrap();
    let w: Vec<f32> = (0..4 * 2 * 3 * 3).map(|i| (i % 9) as f32 - 4.0).collect();
    write_f32(&dir.join("wgt-conv1.npy"), &[4, 2, 3, 3], &w).unwrap();
    for k in 0..2 {
        let a: Vec<f32> = (0..2 * 5 * 5).map(|i| ((i + k) % 4) as f32 * 3.0).collect();
        write_f32(&dir.join(format!("act-conv1-{k}.npy")), &[1, 2, 5, 5], &a).unwrap();
        let a: Vec<f32> = (0..36).map(|i| (i % 5) as f32).collect();
        write_f32(&dir.join(format!("act-fc1-{k}.npy")), &[1, 4, 3, 3], &a).unwrap();
    }
    let wf: Vec<f32> = (0..3 * 36).map(|i| (i % 7) as f32 - 3.0).collect();
    write_f32(&dir.join("wgt-fc1.npy"), &[3, 36], &wf).unwrap();
}

#[test]
fn dnnsim_folder_is_written_and_reads_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("tiny_trace");
    std::fs::create_dir(&trace).unwrap();
    dnnsim_folder(&trace);
    let out = dir.path().join("t.mltq");
    let (r, stdout) = run_dnnsim(&trace, &out, &[]);
    r.unwrap();
    assert!(
        stdout.contains("conv1") && stdout.contains("int:16s") && stdout.contains("wrote"),
        "{stdout}"
    );
    let back = mltq::model::load(&out).unwrap();
    let direct = import_dnnsim(&trace).unwrap();
    assert_eq!(back, direct);
    assert_eq!(back.name, "tiny_trace");
    assert_eq!(back.samples(), vec![0, 1]);
}

#[test]
fn onnx_only_flags_are_refused_for_dnnsim_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    dnnsim_folder(dir.path());
    let out = dir.path().join("t.mltq");
    let (r, _) = run_dnnsim(dir.path(), &out, &["--weights", "ternary:2"]);
    let e = r.unwrap_err();
    assert!(
        e.downcast_ref::<mltq::Error>().is_some(),
        "bad input maps to exit 2"
    );
    assert!(
        e.to_string()
            .contains("--weights only applies to --from onnx"),
        "{e}"
    );
    assert!(!out.exists());
}

#[test]
fn broken_trace_fails_cleanly_without_an_output_file() {
    let dir = tempfile::tempdir().unwrap();
    dnnsim_folder(dir.path());
    std::fs::remove_file(dir.path().join("wgt-fc1.npy")).unwrap();
    let out = dir.path().join("t.mltq");
    let (r, _) = run_dnnsim(dir.path(), &out, &[]);
    let e = r.unwrap_err();
    assert!(e.downcast_ref::<mltq::Error>().is_some());
    assert!(e.to_string().contains("wgt-fc1.npy"), "{e}");
    assert!(!out.exists());
}

#[test]
fn a_missing_output_directory_is_refused_before_importing() {
    let dir = tempfile::tempdir().unwrap();
    dnnsim_folder(dir.path());
    let out = dir.path().join("no/such/dir/t.mltq");
    let (r, _) = run_dnnsim(dir.path(), &out, &[]);
    let e = r.unwrap_err();
    assert!(e.downcast_ref::<mltq::Error>().is_some());
    assert!(e.to_string().contains("does not exist"), "{e}");
}

#[test]
fn onnx_needs_an_input_and_image_flags_need_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.mltq");
    // The model must exist: a missing one is named before any flag is checked.
    let (r, _) = run(&["--from", "onnx", "m.onnx", "--out", out.to_str().unwrap()]);
    let e = r.unwrap_err().to_string();
    assert!(e.starts_with("cannot read m.onnx"), "{e}");
    let model = dir.path().join("m.onnx");
    std::fs::write(&model, b"not read before the flags are checked").unwrap();
    let m = model.to_str().unwrap();
    let (r, _) = run(&["--from", "onnx", m, "--out", out.to_str().unwrap()]);
    let e = r.unwrap_err().to_string();
    assert!(e.contains("--input X.npy") && e.contains("--image"), "{e}");
    let x = dir.path().join("x.npy");
    write_f32(&x, &[1, 3], &[0.0; 3]).unwrap();
    let (r, _) = run(&[
        "--from",
        "onnx",
        m,
        "--input",
        x.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--resize",
        "224,224",
    ]);
    let e = r.unwrap_err().to_string();
    assert_eq!(
        e,
        "--resize prepares photos given with --image; .npy inputs are taken as they are"
    );
    let e = Cmd::try_parse_from([
        "mltq-import",
        "--from",
        "onnx",
        "m.onnx",
        "--out",
        "o",
        "--weights",
        "ternary:9",
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("ternary:9"), "{e}");
}

#[cfg(not(feature = "onnx"))]
#[test]
fn onnx_without_the_feature_says_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.npy");
    write_f32(&x, &[1, 3], &[0.0; 3]).unwrap();
    let (r, _) = run(&[
        "--from",
        "onnx",
        "m.onnx",
        "--input",
        x.to_str().unwrap(),
        "--out",
        "o.mltq",
    ]);
    let e = r.unwrap_err().to_string();
    assert!(e.contains("--features onnx"), "{e}");
}

#[cfg(feature = "onnx")]
#[test]
fn onnx_model_with_npy_inputs_and_check() {
    use support::onnx_gen::{model, write, Rng, TinyNet, Variant};
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("tiny.onnx");
    write(&m, &model(&TinyNet::new(3), Variant::default()));
    let mut argv = vec!["--from".to_string(), "onnx".into(), m.display().to_string()];
    for k in 0..2 {
        let x = dir.path().join(format!("x{k}.npy"));
        write_f32(&x, &[1, 3, 8, 8], &Rng::new(k).vec(192, -1.0, 1.0)).unwrap();
        argv.extend(["--input".to_string(), x.display().to_string()]);
    }
    let out = dir.path().join("tiny.mltq");
    argv.extend(
        [
            "--out",
            out.to_str().unwrap(),
            "--weights",
            "binary:2",
            "--per-channel",
            "--check",
            "--name",
            "tiny-net",
        ]
        .map(String::from),
    );
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let (r, stdout) = run(&argv);
    r.unwrap();
    assert!(
        stdout.contains("binary:2/ch") && stdout.contains("top-1 agreement"),
        "{stdout}"
    );
    let net = mltq::model::load(&out).unwrap();
    assert_eq!(net.name, "tiny-net");
    assert_eq!(net.layers.len(), 3);
    assert_eq!(net.samples(), vec![0, 1]);
}
