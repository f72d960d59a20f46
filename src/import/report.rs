//! What an import did to each tensor: quantization error and density, per layer and in
//! total, plus the `--check` accuracy proxy. Rendered as a plain-text table.

use std::fmt::Write as _;

use super::precision::Pick;
use super::quantize::QuantStats;
use crate::encoding::{Encoding, ScaleMode};
use crate::model::Network;

/// One layer's quantization.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LayerReport {
    /// Layer name.
    pub name: String,
    /// Geometry, e.g. `conv 3x8x8 -> 4 k3x3 s1x1 p1x1 g1`.
    pub geometry: String,
    /// Weight encoding, e.g. `ternary:2`.
    pub weight_enc: String,
    /// Weights against their float values (after BN folding, before pruning).
    pub weights: QuantStats,
    /// Activation encoding (of the first sample), if any.
    pub act_enc: Option<String>,
    /// Activations of every sample pooled, if any.
    pub acts: Option<QuantStats>,
    /// The BatchNormalization node folded into this layer's weights, if any.
    pub folded_bn: Option<String>,
    /// Things worth knowing about this layer.
    pub notes: Vec<String>,
    /// MACs per sample.
    pub macs: u64,
    /// The profiled precision of int weights, when profiling.
    pub weight_precision: Option<Pick>,
    /// The profiled precision of int activations, when profiling.
    pub act_precision: Option<Pick>,
}

/// One output of the float model against the quantized-weights model.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct OutputCheck {
    /// The output's name.
    pub name: String,
    /// Its shape in the float run.
    pub shape: Vec<usize>,
    /// Its shape in the quantized run when that differs (nothing else is compared).
    pub other_shape: Option<Vec<usize>>,
    /// max |y_q − y|.
    pub max_abs_diff: f64,
    /// ⟨y_q, y⟩ / (‖y_q‖·‖y‖) (1 when both are zero).
    pub cosine: f64,
    /// ‖y_q − y‖ / ‖y‖.
    pub rel_l2: f64,
}

/// One input's `--check`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CheckResult {
    /// The input (file name).
    pub input: String,
    /// When the first output is a class vector: (samples whose top-1 class agrees,
    /// samples).
    pub top1: Option<(usize, usize)>,
    /// Every output of the model, in order.
    pub outputs: Vec<OutputCheck>,
}

/// A node that carries weights but was not imported.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Skipped {
    /// ONNX op type.
    pub op: String,
    /// Node name.
    pub name: String,
    /// Weights it holds.
    pub weights: u64,
    /// Its MACs per sample, when the shapes tell.
    pub macs: Option<u64>,
    /// Why it is not imported.
    pub reason: String,
}

/// Everything an import reports.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ImportReport {
    /// Per layer, in execution order.
    pub layers: Vec<LayerReport>,
    /// `--check` results, one per input, when asked for.
    pub check: Option<Vec<CheckResult>>,
    /// Import-wide notes (nodes that are not weight layers, assumptions).
    pub notes: Vec<String>,
    /// Weighted nodes not imported, in graph order (`None`: not applicable, e.g. a
    /// DNNsim trace, which holds only layers).
    pub skipped: Option<Vec<Skipped>>,
    /// Where int precisions came from, when not the full width (e.g. "profiled: …").
    pub precision: Option<String>,
}

impl ImportReport {
    /// Weights of every layer pooled.
    pub fn total_weights(&self) -> QuantStats {
        QuantStats::merge(self.layers.iter().map(|l| &l.weights))
    }

    /// Activations of every layer and sample pooled.
    pub fn total_acts(&self) -> Option<QuantStats> {
        let a: Vec<&QuantStats> = self.layers.iter().filter_map(|l| l.acts.as_ref()).collect();
        (!a.is_empty()).then(|| QuantStats::merge(a))
    }

    /// A report of an already-quantized network (exact: zero error), e.g. a DNNsim import.
    pub fn of_network(net: &Network) -> ImportReport {
        let layers = net
            .layers
            .iter()
            .map(|l| {
                let exact = |t: &crate::tensor::Tensor| {
                    // The tensor is its own reference: error 0, densities as stored.
                    let deq: Vec<f32> = super::quantize::dequantize(t)
                        .iter()
                        .map(|&v| v as f32)
                        .collect();
                    QuantStats::measure(&deq, t)
                };
                let acts: Vec<QuantStats> = l.acts.values().map(exact).collect();
                LayerReport {
                    name: l.name.clone(),
                    geometry: l.geom.describe(),
                    weight_enc: short_enc(l.weights.encoding()),
                    weights: exact(&l.weights),
                    act_enc: l.acts.values().next().map(|t| short_enc(t.encoding())),
                    acts: (!acts.is_empty()).then(|| QuantStats::merge(&acts)),
                    folded_bn: None,
                    notes: Vec::new(),
                    macs: l.geom.macs(),
                    weight_precision: None,
                    act_precision: None,
                }
            })
            .collect();
        ImportReport {
            layers,
            ..ImportReport::default()
        }
    }

    /// Weights held by the imported layers, and by them plus the skipped nodes.
    pub fn weight_coverage(&self) -> (u64, u64) {
        let imported: u64 = self.layers.iter().map(|l| l.weights.elements).sum();
        let skipped: u64 = self.skipped.iter().flatten().map(|s| s.weights).sum();
        (imported, imported + skipped)
    }

    /// MACs per sample of the imported layers, of them plus the skipped nodes whose
    /// MACs are known, and how many skipped nodes' MACs are unknown.
    pub fn mac_coverage(&self) -> (u64, u64, usize) {
        let imported: u64 = self.layers.iter().map(|l| l.macs).sum();
        let skipped = self.skipped.iter().flatten();
        let known: u64 = skipped.clone().filter_map(|s| s.macs).sum();
        let unknown = skipped.filter(|s| s.macs.is_none()).count();
        (imported, imported + known, unknown)
    }

    /// The per-layer table, a total line, notes and check results.
    pub fn table(&self) -> String {
        const HEAD: [&str; 12] = [
            "layer", "geometry", "weights", "w.err", "w.sqnr", "w.words", "w.digits", "acts",
            "a.err", "a.sqnr", "a.words", "a.digits",
        ];
        // Text columns are left-aligned, numbers right-aligned.
        const LEFT: [bool; 12] = [
            true, true, true, false, false, false, false, true, false, false, false, false,
        ];
        let row = |name: &str,
                   geom: &str,
                   wenc: &str,
                   w: &QuantStats,
                   aenc: Option<&str>,
                   a: Option<&QuantStats>| {
            let opt = |f: &dyn Fn(&QuantStats) -> String| a.map_or("-".to_string(), f);
            vec![
                crate::report::table::shorten(name).into_owned(),
                geom.to_string(),
                wenc.to_string(),
                err(w.rel_l2_error),
                db(w.sqnr_db),
                pct(w.word_density),
                pct(w.digit_density),
                aenc.unwrap_or("-").to_string(),
                opt(&|a| err(a.rel_l2_error)),
                opt(&|a| db(a.sqnr_db)),
                opt(&|a| pct(a.word_density)),
                opt(&|a| pct(a.digit_density)),
            ]
        };
        let mut rows: Vec<Vec<String>> = vec![HEAD.iter().map(|s| s.to_string()).collect()];
        for l in &self.layers {
            let (ae, a) = (l.act_enc.as_deref(), l.acts.as_ref());
            rows.push(row(&l.name, &l.geometry, &l.weight_enc, &l.weights, ae, a));
        }
        let (tw, ta) = (self.total_weights(), self.total_acts());
        rows.push(row("total", "", "", &tw, None, ta.as_ref()));

        let mut widths = [0usize; 12];
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        for r in &rows {
            let cells: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if LEFT[i] {
                        format!("{c:<w$}", w = widths[i])
                    } else {
                        format!("{c:>w$}", w = widths[i])
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out.push_str(
            "err = relative L2 error against the float tensor; sqnr in dB; words = fraction of nonzero values; digits = fraction of nonzero digits\n",
        );
        let folded: Vec<&str> = self
            .layers
            .iter()
            .filter(|l| l.folded_bn.is_some())
            .map(|l| l.name.as_str())
            .collect();
        if !folded.is_empty() {
            let more = if folded.len() > 3 { ", …" } else { "" };
            let _ = writeln!(
                out,
                "note: BatchNormalization folded into the weights of {} of {} layers ({}{more})",
                folded.len(),
                self.layers.len(),
                folded[..folded.len().min(3)].join(", ")
            );
        }
        for l in &self.layers {
            for n in &l.notes {
                let _ = writeln!(out, "note: {}: {n}", l.name);
            }
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        self.precision_block(&mut out);
        self.coverage_block(&mut out);
        if let Some(check) = &self.check {
            check_block(&mut out, check);
        }
        out
    }

    /// The precisions a profile picked, per layer.
    fn precision_block(&self, out: &mut String) {
        let Some(how) = &self.precision else {
            return;
        };
        let _ = writeln!(out, "precision: {how}");
        if !self
            .layers
            .iter()
            .any(|l| l.weight_precision.is_some() || l.act_precision.is_some())
        {
            return;
        }
        let cell = |p: &Option<Pick>| match p {
            None => ("-".to_string(), "-".to_string()),
            Some(p) => (
                format!("{}{}", p.precision, if p.reached { "" } else { "!" }),
                err(p.error),
            ),
        };
        let mut rows = vec![["layer", "w.prec", "w.err", "a.prec", "a.err"].map(String::from)];
        for l in &self.layers {
            let (wp, we) = cell(&l.weight_precision);
            let (ap, ae) = cell(&l.act_precision);
            rows.push([l.name.clone(), wp, we, ap, ae]);
        }
        push_aligned(out, &rows, &[true, false, false, false, false], "  ");
        if self.layers.iter().any(|l| {
            [l.weight_precision, l.act_precision]
                .iter()
                .flatten()
                .any(|p| !p.reached)
        }) {
            let _ = writeln!(
                out,
                "  ! = even the full width misses the tolerance (the full width is kept)"
            );
        }
    }

    /// The weighted nodes that are not imported, and the share the layers cover.
    fn coverage_block(&self, out: &mut String) {
        let Some(skipped) = &self.skipped else {
            return;
        };
        if !skipped.is_empty() {
            let _ = writeln!(
                out,
                "not imported: {} node{} with weights (--strict refuses such a model)",
                skipped.len(),
                if skipped.len() == 1 { "" } else { "s" }
            );
            let mut rows = vec![["op", "node", "weights", "MACs", "why"].map(String::from)];
            for s in skipped {
                rows.push([
                    s.op.clone(),
                    s.name.clone(),
                    s.weights.to_string(),
                    s.macs.map_or("?".into(), |m| m.to_string()),
                    s.reason.clone(),
                ]);
            }
            push_aligned(out, &rows, &[true, true, false, false, true], "  ");
        }
        let (wi, wt) = self.weight_coverage();
        let (mi, mt, unknown) = self.mac_coverage();
        let share = |a: u64, b: u64| {
            if b == 0 {
                "100.0%".to_string()
            } else {
                format!("{:.1}%", 100.0 * a as f64 / b as f64)
            }
        };
        let unknown = if unknown > 0 {
            format!(
                " ({unknown} node{} of unknown MACs left out)",
                if unknown == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "coverage: the imported layers hold {} of the model's weights ({wi} of {wt}) and {} of its MACs per sample ({mi} of {mt}){unknown}",
            share(wi, wt),
            share(mi, mt)
        );
    }
}

/// The `--check` section.
fn check_block(out: &mut String, check: &[CheckResult]) {
    let _ = writeln!(
        out,
        "\ncheck: float model vs quantized weights (activations float)"
    );
    let (mut agree, mut rows, mut any_top1) = (0, 0, false);
    let mut worst_cos: Option<(f64, &str)> = None;
    let mut worst_diff: Option<(f64, &str)> = None;
    for c in check {
        let mut parts = Vec::new();
        if let Some((a, r)) = c.top1 {
            parts.push(format!("top-1 agrees on {a}/{r}"));
            agree += a;
            rows += r;
            any_top1 = true;
        }
        for o in &c.outputs {
            let shape = super::show_shape(&o.shape);
            match &o.other_shape {
                Some(other) => parts.push(format!(
                    "{} {shape}: shape {} with quantized weights, not compared",
                    o.name,
                    super::show_shape(other)
                )),
                None => {
                    parts.push(format!(
                        "{} {shape}: max |diff| {:.4}, cosine {:.5}, relative L2 {:.4}",
                        o.name, o.max_abs_diff, o.cosine, o.rel_l2
                    ));
                    if worst_cos.is_none_or(|(w, _)| o.cosine < w) {
                        worst_cos = Some((o.cosine, &o.name));
                    }
                    if worst_diff.is_none_or(|(w, _)| o.max_abs_diff > w) {
                        worst_diff = Some((o.max_abs_diff, &o.name));
                    }
                }
            }
        }
        let _ = writeln!(out, "  {}: {}", c.input, parts.join("; "));
    }
    let mut total = Vec::new();
    if any_top1 {
        total.push(format!("top-1 agreement {agree}/{rows}"));
    } else {
        total.push("no top-1 (the first output is not one class vector per sample)".into());
    }
    if let (Some((c, cn)), Some((d, dn))) = (worst_cos, worst_diff) {
        total.push(format!(
            "lowest cosine {c:.5} ({cn}), largest max |diff| {d:.4} ({dn})"
        ));
    }
    let _ = writeln!(out, "  total: {}", total.join("; "));
}

/// Rows of cells, columns aligned (left or right), each line indented.
fn push_aligned<const N: usize>(
    out: &mut String,
    rows: &[[String; N]],
    left: &[bool; N],
    indent: &str,
) {
    // Long names shortened, as in every table (a format width past 65 535 panics).
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| crate::report::table::shorten(c).into_owned())
                .collect()
        })
        .collect();
    let mut widths = [0usize; N];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if left[i] {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect();
        let _ = writeln!(out, "{indent}{}", cells.join("  ").trim_end());
    }
}

/// `ternary:2`, `ternary:2/ch`, `binary:1`, `int:8s`, `int:8u`; `int:8u/p5` for a
/// precision below the width.
pub fn short_enc(e: &Encoding) -> String {
    let ch = |s: ScaleMode| if s == ScaleMode::Channel { "/ch" } else { "" };
    match *e {
        Encoding::Ternary { levels, scale } => format!("ternary:{levels}{}", ch(scale)),
        Encoding::Binary { levels, scale } => format!("binary:{levels}{}", ch(scale)),
        Encoding::Int {
            bits,
            signed,
            precision,
            ..
        } => {
            let p = if precision < bits {
                format!("/p{precision}")
            } else {
                String::new()
            };
            format!("int:{bits}{}{p}", if signed { "s" } else { "u" })
        }
    }
}

fn err(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "inf".into()
    }
}

fn db(x: f64) -> String {
    if x.is_infinite() && x > 0.0 {
        "exact".into()
    } else if x.is_finite() {
        format!("{x:.1}")
    } else {
        "-inf".into()
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(
        elements: u64,
        signal: f64,
        error: f64,
        words: u64,
        digits: u64,
        slots: u64,
    ) -> QuantStats {
        QuantStats::merge(&[QuantStats {
            elements,
            signal_energy: signal,
            error_energy: error,
            nonzero_words: words,
            nonzero_digits: digits,
            digit_slots: slots,
            ..QuantStats::default()
        }])
    }

    #[test]
    fn table_layout_is_pinned() {
        let report = ImportReport {
            layers: vec![
                LayerReport {
                    name: "conv1".into(),
                    geometry: "conv 3x8x8 -> 4 k3x3 s1x1 p1x1 g1".into(),
                    weight_enc: "ternary:2".into(),
                    weights: stats(108, 10.0, 0.1, 90, 130, 216),
                    act_enc: Some("int:8s".into()),
                    acts: Some(stats(192, 50.0, 0.0, 192, 700, 1536)),
                    folded_bn: Some("bn1".into()),
                    notes: vec![],
                    macs: 6912,
                    weight_precision: None,
                    act_precision: None,
                },
                LayerReport {
                    name: "fc".into(),
                    geometry: "fc 6 -> 5".into(),
                    weight_enc: "ternary:2/ch".into(),
                    weights: stats(30, 3.0, 0.3, 29, 40, 60),
                    act_enc: None,
                    acts: None,
                    folded_bn: None,
                    notes: vec!["an example note".into()],
                    macs: 30,
                    weight_precision: None,
                    act_precision: None,
                },
            ],
            check: Some(vec![CheckResult {
                input: "x.npy".into(),
                top1: Some((1, 1)),
                outputs: vec![OutputCheck {
                    name: "y".into(),
                    shape: vec![1, 5],
                    other_shape: None,
                    max_abs_diff: 0.25,
                    cosine: 0.99871,
                    rel_l2: 0.0123,
                }],
            }]),
            notes: vec!["MatMul node 'outer' skipped".into()],
            skipped: Some(vec![Skipped {
                op: "LSTM".into(),
                name: "lstm".into(),
                weights: 160,
                macs: Some(640),
                reason: "recurrent cell: not simulated".into(),
            }]),
            precision: None,
        };
        insta::assert_snapshot!(report.table());
    }

    /// Every part the table can have: a profile, a node of unknown MACs, outputs that
    /// are not class vectors (one of them changing shape).
    #[test]
    fn table_with_profile_unknown_macs_and_non_class_outputs_is_pinned() {
        let pick = |precision, error, reached| {
            Some(Pick {
                precision,
                error,
                reached,
            })
        };
        let report = ImportReport {
            layers: vec![LayerReport {
                name: "conv".into(),
                geometry: "conv 1x1x2 -> 2 k1x1 s1x1 p0x0 g1".into(),
                weight_enc: "int:8s/p5".into(),
                weights: stats(2, 1.04, 0.0, 2, 3, 10),
                act_enc: Some("int:8u/p4".into()),
                acts: Some(stats(2, 1.04, 0.0, 2, 3, 8)),
                folded_bn: None,
                notes: vec![],
                macs: 4,
                weight_precision: pick(5, 0.0, true),
                act_precision: pick(8, 0.013, false),
            }],
            check: Some(vec![CheckResult {
                input: "img.png".into(),
                top1: None,
                outputs: vec![
                    OutputCheck {
                        name: "boxes".into(),
                        shape: vec![1, 2, 4],
                        other_shape: None,
                        max_abs_diff: 0.5,
                        cosine: 0.9,
                        rel_l2: 0.4,
                    },
                    OutputCheck {
                        name: "n".into(),
                        shape: vec![1],
                        other_shape: Some(vec![2]),
                        max_abs_diff: f64::NAN,
                        cosine: f64::NAN,
                        rel_l2: f64::NAN,
                    },
                ],
            }]),
            notes: vec![],
            skipped: Some(vec![Skipped {
                op: "Einsum".into(),
                name: "e".into(),
                weights: 2,
                macs: None,
                reason: "Einsum: not simulated".into(),
            }]),
            precision: Some("profiled: per tensor, the smallest …".into()),
        };
        insta::assert_snapshot!(report.table());
    }

    #[test]
    fn coverage_counts_weights_and_known_macs() {
        let mut r = ImportReport::default();
        assert_eq!(r.weight_coverage(), (0, 0));
        r.layers.push(LayerReport {
            name: "c".into(),
            geometry: String::new(),
            weight_enc: String::new(),
            weights: stats(6, 1.0, 0.0, 6, 6, 6),
            act_enc: None,
            acts: None,
            folded_bn: None,
            notes: vec![],
            macs: 24,
            weight_precision: None,
            act_precision: None,
        });
        r.skipped = Some(vec![
            Skipped {
                op: "LSTM".into(),
                name: "l".into(),
                weights: 160,
                macs: Some(640),
                reason: String::new(),
            },
            Skipped {
                op: "Einsum".into(),
                name: "e".into(),
                weights: 4,
                macs: None,
                reason: String::new(),
            },
        ]);
        assert_eq!(r.weight_coverage(), (6, 170));
        assert_eq!(r.mac_coverage(), (24, 664, 1));
    }

    #[test]
    fn short_encodings() {
        assert_eq!(
            short_enc(&Encoding::Ternary {
                levels: 2,
                scale: ScaleMode::Channel
            }),
            "ternary:2/ch"
        );
        assert_eq!(
            short_enc(&Encoding::Int {
                bits: 8,
                signed: false,
                precision: 8,
                scale: None
            }),
            "int:8u"
        );
        assert_eq!(
            short_enc(&Encoding::Int {
                bits: 8,
                signed: true,
                precision: 5,
                scale: None
            }),
            "int:8s/p5"
        );
    }
}
