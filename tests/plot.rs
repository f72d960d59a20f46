//! Figures: every kind renders a non-empty SVG and PNG and writes the CSV it was drawn
//! from, with the run's own numbers in it.

#[path = "tiny/mod.rs"]
mod common;

use std::path::Path;

use common::{tiny_arch, tiny_network, TinyInputs};
use mltq::plot::{self, CurveOptions, Decor, FigureOptions, Filter, Table, YSel};
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
        plot::layers(&run, &rows, &tiny_arch("t"), &p, &FigureOptions::default()).unwrap();
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
    plot::utilization(&t, &Decor::default(), &u, None).unwrap();
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
    plot::gap(&t, None, &Decor::default(), &g, None).unwrap();
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
    plot::curves(&t, &opts, &Decor::default(), &fig, Some(&s.csv)).unwrap();
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
    plot::curves(&f, &opts, &Decor::default(), &fig, None).unwrap();
    assert_png(&fig);
    let data = csv(&dir.path().join("levels.csv"));
    assert_eq!(data[1][4], "ternary:1");

    // Without a filter, several points share each x: the error names the column.
    let e = plot::curves(&t, &opts, &Decor::default(), &fig, None)
        .unwrap_err()
        .to_string();
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
        &Decor::default(),
        &clash,
        Some(&s.csv),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("is the same file as the input"), "{e}");
    // Network totals per point, labelled by what varies.
    let tot = dir.path().join("totals.png");
    plot::totals(&t, None, &Decor::default(), &tot, Some(&s.csv)).unwrap();
    assert_png(&tot);
    let data = csv(&dir.path().join("totals.csv"));
    assert_eq!(
        data[0][..4],
        ["point", "scheme", "speedup", "potential_speedup"]
    );
    assert_eq!(data.len(), 1 + 6 * 2);
    assert_eq!(data[1][0], "weights=ternary:1, weight_density=1");
    // One-run figures refuse a whole sweep.
    let e = plot::utilization(&t, &Decor::default(), &dir.path().join("u.svg"), None)
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
    plot::energy(&t, &Decor::default(), &e, None).unwrap();
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
    plot::memory(&t, &Decor::default(), &m, None).unwrap();
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
    plot::curves(&t, &opts, &Decor::default(), &fig, Some(&s.csv)).unwrap();
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
    plot::curves(&t, &opts, &Decor::default(), &fig, Some(&s.csv)).unwrap();
    assert_eq!(csv(&dir.path().join("energy.csv")).len(), 1 + 6);
}

// ---------------------------------------------------------------------------------
// Figures ready for a caption: titles, subtitles (what was held fixed), legends and
// tick labels, pinned as the text of the SVG; coinciding series; size options.

/// The size of an SVG and the text of every `<text>` element, one per line, in
/// document order: what a reader of the figure reads.
fn svg_text(svg: &str) -> String {
    let head = svg.lines().next().unwrap_or("");
    let size: Vec<&str> = ["width=\"", "height=\"", "viewBox=\""]
        .iter()
        .map(|k| {
            let at = head.find(k).map(|i| i + k.len()).unwrap_or(0);
            head[at..].split('"').next().unwrap_or("")
        })
        .collect();
    let mut out = format!("svg {} × {}, viewBox {}\n", size[0], size[1], size[2]);
    let mut rest = svg;
    while let Some(i) = rest.find("<text") {
        rest = &rest[i..];
        let open = rest.find('>').unwrap() + 1;
        let close = rest.find("</text>").unwrap();
        let text = rest[open..close].trim();
        if !text.is_empty() {
            out.push_str(text);
            out.push('\n');
        }
        rest = &rest[close..];
    }
    out
}

/// The lines of [`svg_text`] of the figure at `p`.
fn figure_text(p: &Path) -> String {
    svg_text(&std::fs::read_to_string(p).unwrap())
}

/// A sweep of the tiny network over weight density and levels; its results table.
fn tiny_sweep(dir: &Path) -> (Table, std::path::PathBuf) {
    std::fs::write(dir.join("a.toml"), "").unwrap();
    let sp = dir.join("s.toml");
    std::fs::write(&sp, SWEEP).unwrap();
    let spec = Spec::load(&sp, &TinyInputs.networks()).unwrap();
    let s = sweep_run(&spec, &TinyInputs, &dir.join("out"), &Options::default()).unwrap();
    (Table::read(&s.csv).unwrap(), s.csv)
}

/// `t` with a copy of `scheme`'s rows under the name `copy`, right after each.
fn with_copy(t: &Table, scheme: &str, copy: &str) -> Table {
    let sc = t.col("scheme").unwrap();
    let mut rows = Vec::new();
    for r in &t.rows {
        rows.push(r.clone());
        if r[sc] == scheme {
            let mut c = r.clone();
            c[sc] = copy.to_string();
            rows.push(c);
        }
    }
    Table { rows, ..t.clone() }
}

#[test]
fn simulate_plot_names_the_arch_array_and_network_it_held_fixed() {
    let (run, rows) = tiny_run();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("layers.svg");
    plot::layers(&run, &rows, &tiny_arch("t"), &p, &FigureOptions::default()).unwrap();
    insta::assert_snapshot!("layers_of_a_run", figure_text(&p));
}

#[test]
fn one_run_figures_pin_titles_legends_and_ticks() {
    let (_, rows) = tiny_run();
    let t = Table::from_rows(&rows);
    let dir = tempfile::tempdir().unwrap();
    let d = Decor::default();
    let p = |n: &str| dir.path().join(n);
    plot::layers_from(&t, None, &d, &p("layers.svg"), None).unwrap();
    plot::totals(&t, None, &d, &p("totals.svg"), None).unwrap();
    plot::utilization(&t, &d, &p("util.svg"), None).unwrap();
    plot::gap(&t, None, &d, &p("gap.svg"), None).unwrap();
    plot::energy(&t, &d, &p("energy.svg"), None).unwrap();
    plot::memory(&t, &d, &p("memory.svg"), None).unwrap();
    // `plot totals` of one run: a bar per scheme, axes named for what they show.
    let totals = figure_text(&p("totals.svg"));
    assert!(totals.contains("\nscheme\n"), "{totals}");
    assert!(
        totals.contains("speedup over mlb (mlb cycles / cycles, ×)"),
        "{totals}"
    );
    for kind in ["layers", "totals", "util", "gap", "energy", "memory"] {
        insta::assert_snapshot!(
            format!("one_run_{kind}"),
            figure_text(&p(&format!("{kind}.svg")))
        );
    }
}

/// `plot gap` of a run with the lane-cycles by cause (`simulate --gap`): one bar per
/// scheme stacking busy and the causes of loss, the speedups above the bars; its data
/// CSV holds the run's totals, integers that add up to the lane-cycles.
#[test]
fn gap_figure_of_a_gap_run_stacks_the_parts_per_scheme() {
    let net = tiny_network("tiny", &TinyInputs.gen_defaults());
    let opts = mltq::sim::Options {
        cache: None,
        gap: true,
    };
    let run = run::simulate_sample(
        &net,
        &tiny_arch("t"),
        ActSource::Sample { sample: 0 },
        &|| {},
        None,
        opts,
    )
    .unwrap();
    let rows = report::rows(&run);
    let t = Table::from_rows(&rows);
    assert!(t.has("gap_busy") && t.has("gap_channel_padding"));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("gap.svg");
    plot::gap(&t, None, &Decor::default(), &p, None).unwrap();
    insta::assert_snapshot!("one_run_gap_breakdown", figure_text(&p));
    let data = csv(&dir.path().join("gap.csv"));
    assert_eq!(
        data[0],
        [
            "point",
            "scheme",
            "speedup",
            "potential_speedup",
            "lane_cycles",
            "gap_busy",
            "gap_floor",
            "gap_lane_wait",
            "gap_row_wait",
            "gap_column_wait",
            "gap_idle_columns",
            "gap_idle_rows",
            "gap_channel_padding"
        ]
    );
    // Every scheme, the baseline too, in the run's order.
    let totals: Vec<&report::Row> = rows.iter().filter(|r| r.layer == "total").collect();
    assert_eq!(data.len(), 1 + totals.len());
    for (d, r) in data[1..].iter().zip(totals) {
        assert_eq!(d[1], r.scheme);
        assert_eq!(d[2], fmt_ratio(r.speedup));
        assert_eq!(d[3], fmt_ratio(r.potential_speedup));
        assert_eq!(d[4], r.lane_cycles.to_string());
        let parts: Vec<String> = r.gap.unwrap().parts().iter().map(u64::to_string).collect();
        assert_eq!(d[5..], parts);
    }
    // The same figure from the CSV `simulate --gap --csv` would write.
    let f = dir.path().join("run.csv");
    let mut w = std::fs::File::create(&f).unwrap();
    report::csv::write(&mut w, &rows, true, true).unwrap();
    drop(w);
    let q = dir.path().join("again.svg");
    plot::gap(
        &Table::read(&f).unwrap(),
        None,
        &Decor::default(),
        &q,
        Some(&f),
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&q).unwrap(),
        std::fs::read_to_string(&p).unwrap()
    );
}

#[test]
fn sweep_figures_pin_titles_legends_ticks_and_what_was_held_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let (t, _) = tiny_sweep(dir.path());
    let p = |n: &str| dir.path().join(n);
    let filters: Vec<Filter> = vec!["weights=ternary:2".parse().unwrap()];
    let d = Decor {
        filters: filters.clone(),
        ..Decor::default()
    };
    let f = t.filter(&filters).unwrap();
    let opts = CurveOptions {
        x: "weight_density".into(),
        hlines: vec![2.0],
        ..CurveOptions::default()
    };
    plot::curves(&f, &opts, &d, &p("sweep.svg"), None).unwrap();
    let opts = CurveOptions {
        x: "weight_density".into(),
        series: Some("weights".into()),
        panel: Some("scheme".into()),
        ..CurveOptions::default()
    };
    plot::curves(&t, &opts, &Decor::default(), &p("panels.svg"), None).unwrap();
    plot::totals(&t, None, &Decor::default(), &p("totals.svg"), None).unwrap();
    plot::gap(&t, None, &Decor::default(), &p("gap.svg"), None).unwrap();
    plot::energy(&f, &d, &p("energy.svg"), None).unwrap();
    let sweep = figure_text(&p("sweep.svg"));
    // The filter and every parameter with one value, under the title.
    assert!(
        sweep.contains("\nheld fixed: weights=ternary:2, arch=a.toml, network=tiny, sample=0\n"),
        "{sweep}"
    );
    // The legend names what a line is; ticks at the swept values.
    assert!(
        sweep.contains("\nscheme:\n") && sweep.contains("\n0.25\n"),
        "{sweep}"
    );
    let panels = figure_text(&p("panels.svg"));
    assert!(
        panels.contains("\nweights:\nternary:1\nternary:2\n"),
        "{panels}"
    );
    for kind in ["sweep", "panels", "totals", "gap", "energy"] {
        insta::assert_snapshot!(
            format!("sweep_{kind}"),
            figure_text(&p(&format!("{kind}.svg")))
        );
    }
}

#[test]
fn coinciding_series_are_drawn_once_under_one_legend_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (t, _) = tiny_sweep(dir.path());
    let t = with_copy(
        &t.filter(&["weights=ternary:2".parse::<Filter>().unwrap()])
            .unwrap(),
        "mltq-bit",
        "laconic",
    );
    let p = |n: &str| dir.path().join(n);
    let opts = CurveOptions {
        x: "weight_density".into(),
        ..CurveOptions::default()
    };
    plot::curves(&t, &opts, &Decor::default(), &p("sweep.svg"), None).unwrap();
    plot::gap(&t, None, &Decor::default(), &p("gap.svg"), None).unwrap();
    for fig in ["sweep.svg", "gap.svg"] {
        let text = figure_text(&p(fig));
        assert!(text.contains("\nmltq-bit = laconic\n"), "{fig}: {text}");
        assert!(text.contains("\nmltq-word\n"), "{fig}: {text}");
        assert!(!text.contains("\nlaconic\n"), "{fig}: {text}");
    }
    // Drawn once: as many achieved dots (r = 4) as without the copy; the data keep both.
    let dots = |f: &str| {
        std::fs::read_to_string(p(f))
            .unwrap()
            .matches("r=\"4\"")
            .count()
    };
    let plain = Table {
        rows: t
            .rows
            .iter()
            .filter(|r| !r.iter().any(|c| c == "laconic"))
            .cloned()
            .collect(),
        ..t.clone()
    };
    plot::curves(&plain, &opts, &Decor::default(), &p("plain.svg"), None).unwrap();
    assert_eq!(dots("sweep.svg"), dots("plain.svg"));
    assert!(dots("plain.svg") > 0);
    let data = csv(&p("sweep.csv"));
    assert!(data.iter().any(|r| r[2] == "laconic"));
    // Series that differ somewhere keep their own entries.
    let mut changed = t.clone();
    let (sc, sp) = (t.col("scheme").unwrap(), t.col("speedup").unwrap());
    let lc = t.col("layer").unwrap();
    let r = changed
        .rows
        .iter_mut()
        .find(|r| r[sc] == "laconic" && r[lc] == "total")
        .unwrap();
    r[sp] = "1.5".to_string();
    plot::curves(&changed, &opts, &Decor::default(), &p("apart.svg"), None).unwrap();
    let text = figure_text(&p("apart.svg"));
    assert!(
        text.contains("\nmltq-bit\n") && text.contains("\nlaconic\n"),
        "{text}"
    );
}

#[test]
fn size_scale_and_font_size_change_the_svg() {
    let (_, rows) = tiny_run();
    let t = Table::from_rows(&rows);
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let with = |o: FigureOptions| Decor {
        options: o,
        ..Decor::default()
    };
    let d = FigureOptions::default();
    plot::gap(&t, None, &with(d), &p("default.svg"), None).unwrap();
    let size = FigureOptions {
        size: Some((1200, 800)),
        ..d
    };
    plot::gap(&t, None, &with(size), &p("size.svg"), None).unwrap();
    let scale = FigureOptions { scale: 2.0, ..d };
    plot::gap(&t, None, &with(scale), &p("scale.svg"), None).unwrap();
    let font = FigureOptions {
        font_size: 21.0,
        ..d
    };
    plot::gap(&t, None, &with(font), &p("font.svg"), None).unwrap();
    let head = |f: &str| figure_text(&p(f)).lines().next().unwrap().to_string();
    assert_eq!(head("default.svg"), "svg 960 × 860, viewBox 0 0 960 860");
    assert_eq!(head("size.svg"), "svg 1200 × 800, viewBox 0 0 1200 800");
    // An SVG at scale 2: the same drawing, twice as wide and high.
    assert_eq!(head("scale.svg"), "svg 1920 × 1720, viewBox 0 0 960 860");
    let read = |f: &str| std::fs::read_to_string(p(f)).unwrap();
    assert_eq!(
        read("scale.svg").split_once('\n').unwrap().1,
        read("default.svg").split_once('\n').unwrap().1
    );
    // Fonts 1.5 times larger: title, subtitle, held fixed, legend heading (14 → 21
    // points).
    let sizes = |f: &str| -> Vec<String> {
        read(f)
            .split("font-size=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_string())
            .collect()
    };
    let (a, b) = (sizes("default.svg"), sizes("font.svg"));
    for (x, y) in a.iter().zip(&b).take(4) {
        let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
        assert!((y / x - 1.5).abs() < 0.02, "{x} → {y}");
    }
    // A PNG at scale 2 has twice the pixels on each side.
    plot::gap(&t, None, &with(scale), &p("scale.png"), None).unwrap();
    let bytes = std::fs::read(p("scale.png")).unwrap();
    let info = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap()
        .info()
        .clone();
    assert_eq!((info.width, info.height), (1920, 1720));
    // The PNG limit holds for the scaled size: refused, nothing written.
    let huge = FigureOptions {
        size: Some((8000, 8000)),
        scale: 2.0,
        ..d
    };
    let e = plot::gap(&t, None, &with(huge), &p("huge.png"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("16000 × 16000") && e.contains("--scale"), "{e}");
    assert!(!p("huge.png").exists() && !p("huge.csv").exists());
}

#[test]
fn crowded_layer_labels_are_thinned_not_overlapped() {
    let (_, rows) = tiny_run();
    // 40 layers: the tiny network's rows repeated under new names.
    let mut many = Vec::new();
    for k in 0..10 {
        for r in rows.iter().filter(|r| r.layer != "total") {
            let mut r = r.clone();
            r.layer = format!("block{k}.{}", r.layer);
            many.push(r);
        }
    }
    many.extend(rows.iter().filter(|r| r.layer == "total").cloned());
    let t = Table::from_rows(&many);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("narrow.svg");
    let d = Decor {
        options: FigureOptions {
            size: Some((400, 600)),
            ..FigureOptions::default()
        },
        ..Decor::default()
    };
    plot::layers_from(&t, None, &d, &p, None).unwrap();
    let text = figure_text(&p);
    let labels: Vec<&str> = text.lines().filter(|l| l.starts_with("block")).collect();
    // 31 groups on ~300 pixels, 16 pixels a label: about every other one.
    assert!(labels.len() < 30 && labels.len() > 5, "{labels:?}");
    assert!(text.lines().any(|l| l == "total"), "{text}");
    // At the default size every label is drawn.
    plot::layers_from(&t, None, &Decor::default(), &p, None).unwrap();
    let text = figure_text(&p);
    assert_eq!(text.lines().filter(|l| l.starts_with("block")).count(), 30);
}

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// `mltq simulate` of the example arch and model, with more arguments.
fn simulate_example(args: &[&std::ffi::OsStr]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("mltq")
        .unwrap()
        .args(["simulate", "--quiet", "--arch"])
        .arg(example("example.toml"))
        .arg("--model")
        .arg(example("example.mltq"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn laconic_and_mltq_bit_of_the_example_share_one_legend_entry() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run.csv");
    let o = simulate_example(&["--csv".as_ref(), run.as_os_str()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let fig = dir.path().join("gap.svg");
    let o = assert_cmd::Command::cargo_bin("mltq")
        .unwrap()
        .args(["plot", "gap", "--from"])
        .arg(&run)
        .arg("--out")
        .arg(&fig)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = figure_text(&fig);
    assert!(text.contains("\nmltq-bit = laconic\n"), "{text}");
    // `plot totals` of the run: one bar per scheme, axes that say so.
    let fig = dir.path().join("totals.svg");
    let o = assert_cmd::Command::cargo_bin("mltq")
        .unwrap()
        .args(["plot", "totals", "--size", "1400,700", "--from"])
        .arg(&run)
        .arg("--out")
        .arg(&fig)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    insta::assert_snapshot!("example_totals", figure_text(&fig));
}

#[test]
fn simulate_plot_takes_the_figure_options() {
    let dir = tempfile::tempdir().unwrap();
    let fig = dir.path().join("run.svg");
    let o = simulate_example(&[
        "--plot".as_ref(),
        fig.as_os_str(),
        "--size".as_ref(),
        "1000,700".as_ref(),
        "--scale".as_ref(),
        "1.5".as_ref(),
        "--font-size".as_ref(),
        "16".as_ref(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = figure_text(&fig);
    assert!(
        text.starts_with("svg 1500 × 1050, viewBox 0 0 1000 700\n"),
        "{text}"
    );
    assert!(
        text.contains("held fixed: network=example, sample=0, arch=example, array=2×2×3×8"),
        "{text}"
    );
    // Without --plot the options have nothing to size.
    let o = simulate_example(&["--size".as_ref(), "1000,700".as_ref()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with("error: --size sizes the figure of --plot"),
        "{err}"
    );
}

#[test]
fn bad_figure_options_get_one_error_line_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run.csv");
    let o = simulate_example(&["--csv".as_ref(), run.as_os_str()]);
    assert!(o.status.success());
    let fig = dir.path().join("fig.png");
    for (flag, value, allowed) in [
        ("--size", "10,10", "width 320..=32768, height 240..=32768"),
        ("--size", "1200", "WIDTH,HEIGHT"),
        ("--size", "1200,99999", "height 240..=32768"),
        ("--scale", "0", "0.25..=8"),
        ("--scale", "NaN", "0.25..=8"),
        ("--font-size", "100", "6..=48"),
        ("--font-size", "big", "6..=48"),
    ] {
        let o = assert_cmd::Command::cargo_bin("mltq")
            .unwrap()
            .args(["plot", "layers", "--from"])
            .arg(&run)
            .arg("--out")
            .arg(&fig)
            .args([flag, value])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8(o.stderr).unwrap();
        let first = err.lines().next().unwrap();
        assert!(
            first.starts_with("error:") && first.contains(flag) && first.contains(allowed),
            "{flag} {value}: {err}"
        );
        assert_eq!(err.matches("error:").count(), 1, "{err}");
        assert!(o.stdout.is_empty());
        assert!(!fig.exists() && !fig.with_extension("csv").exists());
    }
}
