//! Figures: every kind renders a non-empty SVG and PNG and writes the CSV it was drawn
//! from, with the run's own numbers in it.

#[path = "tiny/mod.rs"]
mod common;

use std::path::Path;

use common::{tiny_arch, tiny_network, TinyInputs};
use mltq::plot::{self, CurveOptions, Filter, Table, YSel};
use mltq::report::{self, fmt_ratio};
use mltq::run::{self, ActSource};
use mltq::sweep::{sweep_run, Inputs, Options, Spec};

fn tiny_run() -> (mltq::run::Run, Vec<report::Row>) {
    let net = tiny_network("tiny", &TinyInputs.gen_defaults());
    let run = run::simulate(
        &net,
        &tiny_arch("t"),
        ActSource::Sample { sample: 0 },
        &|| {},
    )
    .unwrap();
    let rows = report::rows(&run);
    (run, rows)
}

fn csv(p: &Path) -> Vec<Vec<String>> {
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(p)
        .unwrap();
    rd.records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

fn assert_svg(p: &Path) {
    let s = std::fs::read_to_string(p).unwrap();
    assert!(
        s.starts_with("<svg") && s.contains("</svg>") && s.len() > 2000,
        "{}",
        p.display()
    );
}

fn assert_png(p: &Path) {
    let bytes = std::fs::read(p).unwrap();
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let reader = dec.read_info().unwrap();
    let info = reader.info();
    assert!(
        info.width >= 900 && info.height >= 500,
        "{}x{}",
        info.width,
        info.height
    );
}

#[test]
fn layer_speedup_bars_in_svg_and_png_with_their_data() {
    let (run, rows) = tiny_run();
    let dir = tempfile::tempdir().unwrap();
    for name in ["layers.svg", "layers.png"] {
        let p = dir.path().join(name);
        plot::layers(&run, &rows, &p).unwrap();
        if name.ends_with("svg") {
            assert_svg(&p);
            let s = std::fs::read_to_string(&p).unwrap();
            assert!(s.contains("Per-layer speedup over mlb") && s.contains("conv2"));
        } else {
            assert_png(&p);
        }
    }
    let data = csv(&dir.path().join("layers.csv"));
    assert_eq!(
        data[0],
        [
            "layer",
            "scheme",
            "speedup",
            "potential_speedup",
            "cycles",
            "work"
        ]
    );
    // Two schemes (all but the baseline) × (3 layers + total).
    assert_eq!(data.len(), 1 + 2 * 4);
    let total_bit = data
        .iter()
        .find(|r| r[0] == "total" && r[1] == "mltq-bit")
        .unwrap();
    let row = rows
        .iter()
        .find(|r| r.layer == "total" && r.scheme == "mltq-bit")
        .unwrap();
    assert_eq!(total_bit[2], fmt_ratio(row.speedup));
    assert_eq!(total_bit[3], fmt_ratio(row.potential_speedup));
    assert_eq!(total_bit[4], row.cycles.to_string());
}

#[test]
fn utilization_and_gap_figures_write_their_data() {
    let (_, rows) = tiny_run();
    let t = Table::from_rows(&rows);
    let dir = tempfile::tempdir().unwrap();
    let u = dir.path().join("util.png");
    plot::utilization(&t, None, &u, None).unwrap();
    assert_png(&u);
    let data = csv(&dir.path().join("util.csv"));
    // Every scheme, baseline included.
    assert_eq!(data.len(), 1 + 3 * 4);
    let conv1_mlb = data
        .iter()
        .find(|r| r[0] == "conv1" && r[1] == "mlb")
        .unwrap();
    let row = rows
        .iter()
        .find(|r| r.layer == "conv1" && r.scheme == "mlb")
        .unwrap();
    assert_eq!(conv1_mlb[2], format!("{:.6}", row.utilization));
    assert_eq!(conv1_mlb[4], row.lane_cycles.to_string());

    let g = dir.path().join("gap.svg");
    plot::gap(&t, None, None, &g, None).unwrap();
    assert_svg(&g);
    let data = csv(&dir.path().join("gap.csv"));
    assert_eq!(
        data[0][..4],
        ["label", "scheme", "potential_speedup", "speedup"]
    );
    let fc = data
        .iter()
        .find(|r| r[0] == "fc" && r[1] == "mltq-word")
        .unwrap();
    let row = rows
        .iter()
        .find(|r| r.layer == "fc" && r.scheme == "mltq-word")
        .unwrap();
    assert_eq!(fc[2], fmt_ratio(row.potential_speedup));
    assert_eq!(fc[3], fmt_ratio(row.speedup));
}

const SWEEP: &str = r#"
[fixed]
arch = "a.toml"
network = "tiny"
[grid]
weight_density = [1.0, 0.25, 0.5]
weights = ["ternary:1", "ternary:2"]
"#;

#[test]
fn sweep_curves_from_a_sweep_csv() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), "").unwrap();
    let sp = dir.path().join("s.toml");
    std::fs::write(&sp, SWEEP).unwrap();
    let spec = Spec::load(&sp, &TinyInputs.networks()).unwrap();
    let out = dir.path().join("out");
    let o = Options {
        threads: Some(2),
        ..Options::default()
    };
    let s = sweep_run(&spec, &TinyInputs, &out, &o).unwrap();
    let t = Table::read(&s.csv).unwrap();

    let fig = dir.path().join("curves.svg");
    let opts = CurveOptions {
        x: "weight_density".into(),
        series: Some("weights".into()),
        panel: Some("scheme".into()),
        hlines: vec![2.0],
        ..CurveOptions::default()
    };
    plot::curves(&t, &opts, &fig, Some(&s.csv)).unwrap();
    assert_svg(&fig);
    let data = csv(&dir.path().join("curves.csv"));
    assert_eq!(
        data[0],
        [
            "panel",
            "line",
            "scheme",
            "series",
            "weight_density",
            "speedup",
            "potential_speedup"
        ]
    );
    // 2 schemes × 2 levels × 3 densities, x ascending within each line.
    assert_eq!(data.len(), 1 + 12);
    let line: Vec<&str> = data[1..4].iter().map(|r| r[4].as_str()).collect();
    assert_eq!(line, ["0.25", "0.5", "1"]);
    assert_eq!(data[1][1], "weights ternary:1");
    // The numbers are the sweep's own total rows.
    let results = csv(&s.csv);
    let h = &results[0];
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let src = results
        .iter()
        .find(|r| {
            r[col("layer")] == "total"
                && r[col("scheme")] == data[1][2]
                && r[col("weights")] == "ternary:1"
                && r[col("weight_density")] == "0.25"
        })
        .unwrap();
    assert_eq!(data[1][5], src[col("speedup")]);
    assert_eq!(data[1][6], src[col("potential_speedup")]);

    // PNG, levels on the x axis, achieved only, log y.
    let fig = dir.path().join("levels.png");
    let opts = CurveOptions {
        x: "weights".into(),
        y: YSel::Achieved,
        log_y: true,
        ..CurveOptions::default()
    };
    let f = t
        .filter(&["weight_density=0.5".parse::<Filter>().unwrap()])
        .unwrap();
    plot::curves(&f, &opts, &fig, None).unwrap();
    assert_png(&fig);
    let data = csv(&dir.path().join("levels.csv"));
    assert_eq!(data[1][4], "ternary:1");

    // Without a filter, several points share each x: the error names the column.
    let e = plot::curves(&t, &opts, &fig, None).unwrap_err().to_string();
    assert!(e.contains("differ in `weight_density`"), "{e}");
    // The figure's data may not overwrite the input CSV.
    let clash = s.csv.with_extension("svg");
    let e = plot::curves(
        &t,
        &CurveOptions {
            x: "weight_density".into(),
            series: Some("weights".into()),
            ..CurveOptions::default()
        },
        &clash,
        Some(&s.csv),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("is the same file as the input"), "{e}");
    // Network totals per point, labelled by what varies.
    let tot = dir.path().join("totals.png");
    plot::totals(&t, None, None, &tot, Some(&s.csv)).unwrap();
    assert_png(&tot);
    let data = csv(&dir.path().join("totals.csv"));
    assert_eq!(
        data[0][..4],
        ["point", "scheme", "speedup", "potential_speedup"]
    );
    assert_eq!(data.len(), 1 + 6 * 2);
    assert_eq!(data[1][0], "weights=ternary:1, weight_density=1");
    // One-run figures refuse a whole sweep.
    let e = plot::utilization(&t, None, &dir.path().join("u.svg"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--filter point="), "{e}");
}

#[test]
fn figure_names_must_be_svg_or_png() {
    let e = plot::check_path(Path::new("fig.pdf"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains(".svg or .png"), "{e}");
    let e = plot::check_path(Path::new("run.svg"), Some(Path::new("run.csv")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("same file as --csv"), "{e}");
}

#[test]
fn energy_split_and_memory_bound_figures_write_the_runs_numbers() {
    let (_, rows) = tiny_run();
    let t = Table::from_rows(&rows);
    let dir = tempfile::tempdir().unwrap();
    let e = dir.path().join("energy.svg");
    plot::energy(&t, None, &e, None).unwrap();
    assert_svg(&e);
    let s = std::fs::read_to_string(&e).unwrap();
    assert!(s.contains("Energy per scheme") && s.contains("DRAM"));
    let data = csv(&dir.path().join("energy.csv"));
    assert_eq!(
        data[0],
        [
            "point",
            "scheme",
            "energy_compute_pj",
            "energy_sram_pj",
            "energy_dram_pj",
            "energy_static_pj"
        ]
    );
    // One stacked bar per scheme, every scheme (the baseline too), from the totals.
    assert_eq!(data.len(), 1 + 3);
    let bit = rows
        .iter()
        .find(|r| r.layer == "total" && r.scheme == "mltq-bit")
        .unwrap();
    let drawn = data.iter().find(|r| r[1] == "mltq-bit").unwrap();
    assert_eq!(drawn[0], "total");
    assert_eq!(drawn[4].parse::<f64>().unwrap(), bit.energy_dram_pj);
    assert_eq!(drawn[5].parse::<f64>().unwrap(), bit.energy_static_pj);

    let m = dir.path().join("memory.png");
    plot::memory(&t, None, &m, None).unwrap();
    assert_png(&m);
    let data = csv(&dir.path().join("memory.csv"));
    assert_eq!(
        data[0],
        ["layer", "scheme", "cycles", "memory_cycles", "bound"]
    );
    // Every (layer, scheme), no totals.
    assert_eq!(data.len(), 1 + 3 * 3);
    for r in &data[1..] {
        let row = rows
            .iter()
            .find(|x| x.layer == r[0] && x.scheme == r[1])
            .unwrap();
        assert_eq!(r[3], row.memory_cycles.to_string());
        assert_eq!(r[4], row.bound.as_str());
    }
}

#[test]
fn sweep_curves_of_a_cost_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), "").unwrap();
    let sp = dir.path().join("s.toml");
    std::fs::write(&sp, SWEEP).unwrap();
    let spec = Spec::load(&sp, &TinyInputs.networks()).unwrap();
    let out = dir.path().join("out");
    let s = sweep_run(&spec, &TinyInputs, &out, &Options::default()).unwrap();
    let t = Table::read(&s.csv)
        .unwrap()
        .filter(&["weights=ternary:2".parse::<Filter>().unwrap()])
        .unwrap();
    let fig = dir.path().join("energy.svg");
    let opts = CurveOptions {
        x: "weight_density".into(),
        metric: Some("energy_pj".into()),
        ..CurveOptions::default()
    };
    plot::curves(&t, &opts, &fig, Some(&s.csv)).unwrap();
    assert_svg(&fig);
    let data = csv(&dir.path().join("energy.csv"));
    assert_eq!(
        data[0],
        [
            "panel",
            "line",
            "scheme",
            "series",
            "weight_density",
            "energy_pj"
        ]
    );
    // An absolute column shows the baseline too: 3 schemes × 3 densities.
    assert_eq!(data.len(), 1 + 9);
    // A ratio column leaves the baseline out.
    let opts = CurveOptions {
        metric: Some("energy_ratio".into()),
        ..opts
    };
    plot::curves(&t, &opts, &fig, Some(&s.csv)).unwrap();
    assert_eq!(csv(&dir.path().join("energy.csv")).len(), 1 + 6);
}
