//! What an import did to each tensor: quantization error and density, per layer and in
//! total, plus the `--check` accuracy proxy. Rendered as a plain-text table.

use std::fmt::Write as _;

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
}

/// The final output of the float model against the quantized-weights model.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CheckResult {
    /// The input (file name).
    pub input: String,
    /// Rows (batch items) whose top-1 class agrees.
    pub top1_agree: usize,
    /// Rows compared.
    pub rows: usize,
    /// ‖y_q − y‖ / ‖y‖ over the whole output.
    pub rel_l2: f64,
}

/// Everything an import reports.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ImportReport {
    /// Per layer, in execution order.
    pub layers: Vec<LayerReport>,
    /// `--check` results, one per input, when asked for.
    pub check: Option<Vec<CheckResult>>,
    /// Import-wide notes (skipped nodes, assumptions).
    pub notes: Vec<String>,
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
                }
            })
            .collect();
        ImportReport {
            layers,
            check: None,
            notes: Vec::new(),
        }
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
                name.to_string(),
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
        if let Some(check) = &self.check {
            let _ = writeln!(
                out,
                "\ncheck: float model vs quantized weights (activations float)"
            );
            let (mut agree, mut rows, mut worst) = (0, 0, 0.0f64);
            for c in check {
                let _ = writeln!(
                    out,
                    "  {}: top-1 agrees on {}/{}, output relative L2 error {:.4}",
                    c.input, c.top1_agree, c.rows, c.rel_l2
                );
                agree += c.top1_agree;
                rows += c.rows;
                worst = worst.max(c.rel_l2);
            }
            let _ = writeln!(
                out,
                "  total: top-1 agreement {agree}/{rows}, worst output relative L2 error {worst:.4}"
            );
        }
        out
    }
}

/// `ternary:2`, `ternary:2/ch`, `binary:1`, `int:8s`, `int:8u`.
pub fn short_enc(e: &Encoding) -> String {
    let ch = |s: ScaleMode| if s == ScaleMode::Channel { "/ch" } else { "" };
    match *e {
        Encoding::Ternary { levels, scale } => format!("ternary:{levels}{}", ch(scale)),
        Encoding::Binary { levels, scale } => format!("binary:{levels}{}", ch(scale)),
        Encoding::Int { bits, signed, .. } => {
            format!("int:{bits}{}", if signed { "s" } else { "u" })
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
                },
            ],
            check: Some(vec![CheckResult {
                input: "x.npy".into(),
                top1_agree: 1,
                rows: 1,
                rel_l2: 0.0123,
            }]),
            notes: vec!["MatMul node 'outer' skipped".into()],
        };
        insta::assert_snapshot!(report.table());
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
    }
}
