//! `mltq gen`'s value options through the real binary: per-layer precisions (lists,
//! precision files in the importer's layouts, the built-in Stripes profile, profiles
//! from the data), per-layer activation densities and distributions, all recorded in the
//! model's source; and the bit and term densities docs/cli.md documents for each
//! distribution. The refusals are in tests/error_catalogue.rs (`gen_*`).

mod common;

use std::path::Path;

use common::bin;
use mltq::encoding::{EncSpec, Encoding, TermEncoding};
use mltq::gen::{synthesize_with, ActDist, GenOptions, GenSpec, WeightDist};
use mltq::model::{self, Conv, Geometry, Network};
use mltq::tensor::Tensor;

/// Run `mltq gen ARGS --out DIR/m.mltq`; return stdout and the model written.
fn gen(dir: &Path, args: &[&str]) -> (String, Network) {
    let out = dir.join("m.mltq");
    let o = bin()
        .arg("gen")
        .args(args)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (
        String::from_utf8(o.stdout).unwrap(),
        model::load(&out).unwrap(),
    )
}

fn values(t: &Tensor) -> Vec<i32> {
    (0..t.len()).map(|i| t.int_value(i).unwrap()).collect()
}

/// (bits, precision) of an int tensor.
fn width(t: &Tensor) -> (u8, u8) {
    match *t.encoding() {
        Encoding::Int {
            bits, precision, ..
        } => (bits, precision),
        e => panic!("not int: {e}"),
    }
}

/// Every value fits in P magnitude bits, and the largest takes all of them (unsigned:
/// 2^P − 1; signed: 2^(P−1) − 1, a sign and P − 1 magnitude bits).
fn check_fits(t: &Tensor, p: u8) {
    let signed = matches!(t.encoding(), Encoding::Int { signed: true, .. });
    let top = if signed {
        (1 << (p - 1)) - 1
    } else {
        (1 << p) - 1
    };
    let max = values(t).iter().map(|v| v.unsigned_abs()).max().unwrap();
    assert_eq!(max, top, "precision {p}");
}

#[test]
fn the_stripes_profile_sets_alexnets_conv_activations() {
    let dir = tempfile::tempdir().unwrap();
    // Pruned-away ternary weights keep the run short; the activations are int:16.
    let (stdout, net) = gen(
        dir.path(),
        &[
            "alexnet",
            "--weights",
            "ternary:1",
            "--weight-density",
            "0",
            "--acts",
            "int:16",
            "--act-dist",
            "gaussian",
            "--precision-profile",
            "stripes",
        ],
    );
    let want = [9, 8, 5, 5, 7, 16, 16, 16];
    for (l, &p) in net.layers.iter().zip(&want) {
        let a = &l.acts[&0];
        assert_eq!(width(a), (16, p), "{}", l.name);
        check_fits(a, p);
    }
    assert!(
        stdout.contains("activation precisions (stripes; int:16), per layer: 9,8,5,5,7,16,16,16"),
        "{stdout}"
    );
    assert_eq!(
        net.source.as_deref(),
        Some("mltq gen alexnet weights=ternary:1 acts=int:16 wd=0 ad=0.5 samples=1 seed=1 adist=gaussian aprec=stripes:9,8,5,5,7,16,16,16")
    );
}

#[test]
fn lists_give_each_layer_its_precision_and_density() {
    let dir = tempfile::tempdir().unwrap();
    // resnet20: 22 layers (19 main-path convs, 2 projections, the fc).
    let mut prec = vec!["-".to_string(); 22];
    prec[0] = "9".into();
    prec[5] = "3".into();
    prec[21] = "12".into();
    let mut dens = vec!["0.5".to_string(); 22];
    dens[0] = "1".into();
    dens[1] = "0.25".into();
    let (prec, dens) = (prec.join(","), dens.join(","));
    let (_, net) = gen(
        dir.path(),
        &[
            "resnet20",
            "--weights",
            "int:8",
            "--acts",
            "int:16",
            "--act-precision",
            &prec,
            "--weight-precision",
            "5",
            "--act-density",
            &dens,
            "--weight-dist",
            "laplace",
            "--seed",
            "4",
        ],
    );
    assert_eq!(net.layers.len(), 22);
    for (i, l) in net.layers.iter().enumerate() {
        let p = match i {
            0 => 9,
            5 => 3,
            21 => 12,
            _ => 16,
        };
        let a = &l.acts[&0];
        assert_eq!(width(a), (16, p), "{}", l.name);
        check_fits(a, p);
        assert_eq!(width(&l.weights), (8, 5), "{}", l.name);
        check_fits(&l.weights, 5);
        // The density of every layer is exact (rounded to a count).
        let d = match i {
            0 => 1.0,
            1 => 0.25,
            _ => 0.5,
        };
        let nz = values(a).iter().filter(|&&v| v != 0).count();
        assert_eq!(nz, (d * a.len() as f64).round() as usize, "{}", l.name);
    }
    let src = net.source.unwrap();
    assert!(
        src.starts_with(&format!(
            "mltq gen resnet20 weights=int:8 acts=int:16 wd=0.35 ad={dens} samples=1 seed=4 wdist=laplace wprec=list:5,5,"
        )),
        "{src}"
    );
    assert!(
        src.ends_with(&format!(" aprec=list:{}", prec.replace('-', "16"))),
        "{src}"
    );
}

/// `--precision FILE` reads the importer's layouts; here DNNsim's precision.txt
/// (precision = magnitude + fraction, values past the layer count ignored).
#[test]
fn a_dnnsim_precision_file_sets_both_operands() {
    let dir = tempfile::tempdir().unwrap();
    let row = |v: &str| vec![v; 23].join(";");
    let text = format!(
        "title\n{}\n{}\n{}\n{}\n",
        row("5"),
        row("2"),
        row("3"),
        row("1")
    );
    let file = dir.path().join("precision.txt");
    std::fs::write(&file, text).unwrap();
    let (_, net) = gen(
        dir.path(),
        &[
            "resnet20",
            "--weights",
            "int:8",
            "--acts",
            "int:8",
            "--precision",
            file.to_str().unwrap(),
        ],
    );
    for l in &net.layers {
        assert_eq!(width(&l.acts[&0]), (8, 7));
        assert_eq!(width(&l.weights), (8, 4));
        check_fits(&l.weights, 4);
    }
    assert!(net
        .source
        .unwrap()
        .contains(" wprec=file:precision.txt:4,4,"));
}

/// A profile from the data picks, per layer, the smallest precision within the
/// tolerance: a looser tolerance never picks more bits, and the picks are recorded.
#[test]
fn profiles_from_the_data_follow_the_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let pick = |tol: &str| {
        let (stdout, net) = gen(
            dir.path(),
            &[
                "resnet20",
                "--weights",
                "ternary:2",
                "--acts",
                "int:16",
                "--act-dist",
                "laplace",
                "--profile-precision",
                "--tolerance",
                tol,
            ],
        );
        let p: Vec<u8> = net.layers.iter().map(|l| width(&l.acts[&0]).1).collect();
        for (l, &p) in net.layers.iter().zip(&p) {
            check_fits(&l.acts[&0], p);
        }
        let list: Vec<String> = p.iter().map(u8::to_string).collect();
        assert!(
            stdout.contains(&format!(
                "activation precisions (profile:{}; int:16), per layer: {}",
                mltq::import::precision::parse_tolerance(tol).unwrap(),
                list.join(",")
            )),
            "{stdout}"
        );
        p
    };
    let (tight, loose) = (pick("0.2%"), pick("5%"));
    assert!(tight.iter().zip(&loose).all(|(t, l)| t >= l));
    assert!(tight.iter().sum::<u8>() > loose.iter().sum::<u8>());
    assert!(loose.iter().all(|&p| p < 16));
}

/// One row of the "Value distributions" tables of docs/cli.md, computed as
/// examples/gen_densities.rs computes it: a 3×3 conv, 256 → 256 channels on 28×28, seed
/// 1, as int:8 and as ternary:2.
fn density_row(name: &str, density: f64, weights: bool, dist_opts: GenOptions) -> String {
    let layer = (
        "c".to_string(),
        Geometry::Conv(Conv::square(256, (28, 28), 256, 3, 1, 1, 1)),
    );
    let at = |enc: EncSpec| -> Tensor {
        let spec = if weights {
            GenSpec {
                weights: enc,
                weight_density: density,
                samples: 0,
                ..GenSpec::default()
            }
        } else {
            GenSpec {
                acts: enc,
                act_density: density,
                weight_density: 0.0,
                ..GenSpec::default()
            }
        };
        let mut net = synthesize_with("d", vec![layer.clone()], &spec, &dist_opts).unwrap();
        let mut l = net.layers.pop().unwrap();
        if weights {
            l.weights
        } else {
            l.acts.remove(&0).unwrap()
        }
    };
    let (int, ternary) = (at(EncSpec::Int(8)), at(EncSpec::Ternary(2)));
    let n = int.len() as f64;
    let plain = int.all_terms(TermEncoding::Plain, None);
    let booth = int.all_terms(TermEncoding::Booth, None);
    let nz = plain.iter().filter(|&&t| t > 0).count() as f64;
    let sum = |t: &[u8]| t.iter().map(|&x| x as f64).sum::<f64>();
    let tern = ternary.all_terms(TermEncoding::Plain, None);
    format!(
        "| {name} | {density} | {:.3} | {:.3} | {:.2} | {:.2} | {:.3} |",
        int.word_density(),
        sum(&plain) / (n * 8.0),
        sum(&plain) / nz.max(1.0),
        sum(&booth) / nz.max(1.0),
        sum(&tern) / (n * 2.0),
    )
}

/// The bit and term densities documented for each distribution are what `gen` gives:
/// a few rows of docs/cli.md's tables recomputed, digit for digit (seeded, so exact).
#[test]
fn documented_distribution_densities_are_what_gen_gives() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli.md")).unwrap();
    let w = |d: WeightDist| GenOptions {
        weight_dist: d,
        ..GenOptions::default()
    };
    let a = |d: ActDist| GenOptions {
        act_dist: d,
        ..GenOptions::default()
    };
    let rows = [
        density_row("gaussian", 1.0, true, w(WeightDist::Gaussian)),
        density_row("laplace", 0.35, true, w(WeightDist::Laplace)),
        density_row("uniform", 0.1, true, w(WeightDist::Uniform)),
        density_row("halfnormal", 1.0, false, a(ActDist::HalfNormal)),
        density_row("gaussian", 0.3, false, a(ActDist::Gaussian)),
        density_row("laplace", 0.5, false, a(ActDist::Laplace)),
    ];
    // The rows as computed here, to compare by eye with the docs when this fails.
    assert_eq!(
        rows[0],
        "| gaussian | 1 | 1.000 | 0.318 | 2.54 | 2.23 | 0.805 |"
    );
    for row in &rows {
        assert!(docs.contains(row.as_str()), "docs/cli.md lacks {row}");
    }
}

/// The default laws spelled out write the very bytes `gen` writes without them (and
/// record nothing); another law changes the values and is recorded.
#[test]
fn distribution_flags_default_to_the_laws_gen_always_used() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let o = bin()
            .args(["gen", "resnet20", "--weights", "int:8", "--acts", "int:8"])
            .args(extra)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (std::fs::read(&out).unwrap(), model::load(&out).unwrap())
    };
    let (plain, net) = run("plain.mltq", &[]);
    let (spelled, _) = run(
        "spelled.mltq",
        &["--weight-dist", "gaussian", "--act-dist", "halfnormal"],
    );
    assert!(plain == spelled, "the default laws changed the file");
    assert_eq!(
        net.source.as_deref(),
        Some("mltq gen resnet20 weights=int:8 acts=int:8 wd=0.35 ad=0.5 samples=1 seed=1")
    );
    let (_, uni) = run(
        "uniform.mltq",
        &["--weight-dist", "uniform", "--act-dist", "uniform"],
    );
    assert_eq!(
        uni.source.as_deref(),
        Some("mltq gen resnet20 weights=int:8 acts=int:8 wd=0.35 ad=0.5 samples=1 seed=1 wdist=uniform adist=uniform")
    );
    // As many nonzero values per layer, other magnitudes.
    let (a, b) = (&net.layers[3], &uni.layers[3]);
    let nz = |t: &Tensor| values(t).iter().filter(|&&v| v != 0).count();
    assert_eq!(nz(&a.weights), nz(&b.weights));
    assert_eq!(nz(&a.acts[&0]), nz(&b.acts[&0]));
    assert_ne!(values(&a.weights), values(&b.weights));
    assert_ne!(values(&a.acts[&0]), values(&b.acts[&0]));
}
