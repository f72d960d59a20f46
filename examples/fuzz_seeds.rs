//! Writes the seed corpora of the fuzz targets (docs/fuzzing.md): nothing in them is
//! edited by hand.
//!
//! ```text
//! cargo run --no-default-features --example fuzz_seeds -- fuzz/corpus
//! ```
//!
//! - `mltq_reader/`: the spec's worked example (tests/data/example.mltq), and small
//!   networks made by `gen`'s own synthesizer (`mltq::gen::synthesize`, what
//!   `mltq gen` runs on the built-in geometries, which are too big to be good seeds) in
//!   every encoding, with 0, 1 and 2 samples; conv (padded, strided, grouped,
//!   depthwise) and FC layers.
//! - `arch_file/`: every shipped `arch/*.toml`, the spec's `example.toml`
//!   (tests/data), and one file that sets every key of a custom scheme.
//! - `sweep_file/`: the shipped `experiments/*.toml` with their paths pointed at the
//!   fuzz target's own `a.toml` and `m.mltq`, and one small file of each shape (grid,
//!   zip, overrides, generated networks).
//! - `plot_csv/`: the `simulate --csv` report of the spec's example (tests/data) and a
//!   small sweep-shaped CSV with parameter columns.

use std::path::{Path, PathBuf};

use mltq::encoding::EncSpec;
use mltq::gen::{synthesize, GenSpec};
use mltq::model::{self, Conv, Geometry};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let models = root.join("mltq_reader");
    let arches = root.join("arch_file");
    std::fs::create_dir_all(&models)?;
    std::fs::create_dir_all(&arches)?;

    std::fs::copy(
        repo.join("tests/data/example.mltq"),
        models.join("example.mltq"),
    )?;
    let layers = vec![
        (
            "c1".to_string(),
            Geometry::Conv(Conv::square(4, (5, 4), 3, 3, 1, 1, 1)),
        ),
        (
            "c2".to_string(),
            Geometry::Conv(Conv::square(4, (3, 3), 4, 1, 2, 0, 2)),
        ),
        (
            "dw".to_string(),
            Geometry::Conv(Conv::square(3, (4, 4), 3, 3, 1, 1, 3)),
        ),
        ("fc".to_string(), Geometry::Fc { c: 37, f: 6 }),
    ];
    let encs = [
        (EncSpec::Ternary(2), EncSpec::Ternary(2)),
        (EncSpec::Ternary(3), EncSpec::Int(8)),
        (EncSpec::Binary(2), EncSpec::Binary(1)),
        (EncSpec::Int(8), EncSpec::Int(4)),
        (EncSpec::Int(12), EncSpec::Ternary(1)),
    ];
    let mut n = 0;
    for (i, (w, a)) in encs.iter().enumerate() {
        for samples in 0..=2 {
            let spec = GenSpec {
                weights: *w,
                acts: *a,
                weight_density: 0.4,
                act_density: 0.5,
                samples,
                seed: 7 + i as u64,
            };
            let net = synthesize("seed", layers.clone(), &spec)?;
            let name = format!(
                "gen-{}-{}-s{samples}.mltq",
                w.to_string().replace(':', ""),
                a.to_string().replace(':', "")
            );
            std::fs::write(models.join(name), model::to_bytes(&net))?;
            n += 1;
        }
    }

    let mut a = 0;
    for dir in [repo.join("arch"), repo.join("tests/data")] {
        for e in std::fs::read_dir(dir)? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "toml") {
                std::fs::copy(&p, arches.join(p.file_name().unwrap()))?;
                a += 1;
            }
        }
    }
    std::fs::write(
        arches.join("every-key.toml"),
        "name = \"every-key\"\nclock_ghz = 0.8\nbaseline = \"mlb\"\n\
         schemes = [\"mlb\", \"prag\", \"cnv\"]\n\n[array]\ntiles = 2\nrows = 4\ncolumns = 4\n\
         lanes = 8\ncolumn_registers = 2\n\n[[scheme]]\nname = \"prag\"\nserial = \"act\"\n\
         skip_act = \"term\"\nskip_weight = \"none\"\nsync = \"step\"\nmin_cycles = 0\n\
         term_encoding = \"booth\"\nfirst_stage_bits = 2\nplanes_act = 8\nplanes_weight = 2\n\n\
         [[scheme]]\nname = \"cnv\"\nserial = \"none\"\nskip_act = \"word\"\nsync = \"window\"\n",
    )?;
    a += 1;

    let sweeps = root.join("sweep_file");
    std::fs::create_dir_all(&sweeps)?;
    let mut w = 0;
    for e in std::fs::read_dir(repo.join("experiments"))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "toml") {
            let text = std::fs::read_to_string(&p)?;
            // The target's directory holds `a.toml` and `m.mltq` only.
            let text: String = text
                .lines()
                .map(|l| {
                    let t = l.trim_start();
                    if t.starts_with("arch") {
                        "arch = \"a.toml\"".to_string()
                    } else if t.starts_with("model") {
                        "model = \"m.mltq\"".to_string()
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            std::fs::write(sweeps.join(p.file_name().unwrap()), text)?;
            w += 1;
        }
    }
    for (name, text) in [
        (
            "grid.toml",
            "name = \"g\"\n[fixed]\narch = \"a.toml\"\nmodel = \"m.mltq\"\n\
             [grid]\nlanes = [1, 2, 4]\ncolumn_registers = [0, 3]\n",
        ),
        (
            "zip.toml",
            "[fixed]\narch = \"a.toml\"\nnetwork = \"tiny\"\n[grid]\nseed = [1, 2]\n\
             [[zip]]\nweights = [\"ternary:1\", \"int:8\"]\nacts = [\"binary:2\", \"int:4\"]\n",
        ),
        (
            "overrides.toml",
            "[fixed]\narch = \"a.toml\"\nmodel = \"m.mltq\"\nsample = 0\ntiles = 4\nrows = 2\n\
             [grid]\ncolumns = [1, 1048576]\n",
        ),
    ] {
        std::fs::write(sweeps.join(name), text)?;
        w += 1;
    }

    let csvs = root.join("plot_csv");
    std::fs::create_dir_all(&csvs)?;
    std::fs::copy(
        repo.join("tests/data/example.expected.csv"),
        csvs.join("example.csv"),
    )?;
    std::fs::write(
        csvs.join("sweep.csv"),
        "point,point_id,weight_density,network,layer,scheme,macs,cycles,speedup,work,\
         potential_speedup,utilization,busy_lane_cycles,lane_cycles,time_us,sample\n\
         0,0-aa,1,n,l1,mlb,8,8,1.000000,8,1.000000,1,8,8,0.008,0\n\
         0,0-aa,1,n,l1,x,8,4,2.000000,2,4.000000,0.5,4,8,0.004,0\n\
         0,0-aa,1,n,total,mlb,8,8,1.000000,8,1.000000,1,8,8,0.008,0\n\
         0,0-aa,1,n,total,x,8,4,2.000000,2,4.000000,0.5,4,8,0.004,0\n\
         1,1-bb,0.5,n,l1,mlb,8,8,1.000000,8,1.000000,1,8,8,0.008,0\n\
         1,1-bb,0.5,n,l1,x,8,2,4.000000,1,8.000000,0.5,4,8,0.002,0\n\
         1,1-bb,0.5,n,total,mlb,8,8,1.000000,8,1.000000,1,8,8,0.008,0\n\
         1,1-bb,0.5,n,total,x,8,2,4.000000,1,8.000000,0.5,4,8,0.002,0\n",
    )?;
    println!(
        "wrote {} model seeds, {a} arch seeds, {w} sweep seeds and 2 CSV seeds under {}",
        n + 1,
        root.display()
    );
    Ok(())
}
