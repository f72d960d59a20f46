//! A readable overview of a network (`mltq inspect`): one row per layer with its
//! geometry, weight shape and encoding, the word and digit densities of its weights and of
//! each sample's activations, and its MACs; then a total row and the samples present.
//!
//! Word density is the fraction of nonzero elements, digit density the fraction of
//! nonzero digits over all planes ([`Tensor::word_density`], [`Tensor::digit_density`]).
//! Totals weigh each layer's density by its element count.

use itertools::Itertools;
use rayon::prelude::*;

use crate::model::{Layer, Network};
use crate::tensor::Tensor;

/// Word and digit density of a tensor, with its element count as the weight for totals.
#[derive(Clone, Copy, Default)]
struct Density {
    word: f64,
    digit: f64,
    len: f64,
}

impl Density {
    fn of(t: &Tensor) -> Density {
        Density {
            word: t.word_density(),
            digit: t.digit_density(),
            len: t.len() as f64,
        }
    }

    /// The element-weighted mean of several densities.
    fn total(all: impl Iterator<Item = Density>) -> Option<Density> {
        let (word, digit, len) = all.fold((0.0, 0.0, 0.0), |(w, d, n), x| {
            (w + x.word * x.len, d + x.digit * x.len, n + x.len)
        });
        (len > 0.0).then(|| Density {
            word: word / len,
            digit: digit / len,
            len,
        })
    }
}

/// The per-layer table, totals and samples of `net`.
pub fn table(net: &Network) -> String {
    let samples = net.samples();
    // One pair of activation columns per sample; one pair of dashes when there is none.
    let slots: Vec<Option<u32>> = if samples.is_empty() {
        vec![None]
    } else {
        samples.iter().copied().map(Some).collect()
    };
    let stats: Vec<(Density, Vec<Option<Density>>)> = net
        .layers
        .par_iter()
        .map(|l| {
            let acts = slots
                .iter()
                .map(|s| s.and_then(|s| l.acts.get(&s)).map(Density::of));
            (Density::of(&l.weights), acts.collect())
        })
        .collect();

    let mut header = ["layer", "geometry", "weights", "acts", "w.word", "w.digit"]
        .map(String::from)
        .to_vec();
    for s in &slots {
        let a = s.map_or_else(|| "a".to_string(), |s| format!("a{s}"));
        header.extend([format!("{a}.word"), format!("{a}.digit")]);
    }
    header.push("MACs".into());

    let mut rows = vec![header];
    for (l, (w, acts)) in net.layers.iter().zip(&stats) {
        let weights = format!(
            "{} {}",
            l.weights.shape().iter().join("x"),
            l.weights.encoding().short()
        );
        let mut row = vec![l.name.clone(), l.geom.describe(), weights, acts_encoding(l)];
        row.extend(densities(Some(*w)));
        row.extend(acts.iter().flat_map(|a| densities(*a)));
        row.push(thousands(l.geom.macs()));
        rows.push(row);
    }

    let mut total = vec![
        "total".to_string(),
        format!("{} layers", net.layers.len()),
        format!("{} weights", thousands(net.weight_count() as u64)),
        String::new(),
    ];
    total.extend(densities(Density::total(stats.iter().map(|(w, _)| *w))));
    for k in 0..slots.len() {
        total.extend(densities(Density::total(
            stats.iter().filter_map(|(_, a)| a[k]),
        )));
    }
    total.push(thousands(net.macs()));
    rows.push(total);

    let mut out = format!("network {}", net.name);
    if let Some(source) = &net.source {
        out += &format!(" ({source})");
    }
    out.push('\n');
    out += &align(&rows, 4);
    let listed = if samples.is_empty() {
        "none".to_string()
    } else {
        samples.iter().join(", ")
    };
    out += &format!("samples: {listed}\n");
    out
}

/// The encoding of a layer's activations (its first sample's), or "-".
fn acts_encoding(l: &Layer) -> String {
    l.acts
        .values()
        .next()
        .map_or_else(|| "-".to_string(), |a| a.encoding().short())
}

/// Two cells: word and digit density, or "-" for a missing tensor.
fn densities(d: Option<Density>) -> [String; 2] {
    match d {
        Some(d) => [format!("{:.3}", d.word), format!("{:.3}", d.digit)],
        None => ["-".to_string(), "-".to_string()],
    }
}

/// `4089184256` → `4,089,184,256`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() * 4 / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Columns separated by two spaces, the first `text` columns left-aligned and the rest
/// (numbers) right-aligned. Lines carry no trailing spaces.
fn align(rows: &[Vec<String>], text: usize) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let line = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if c < text {
                    format!("{cell:<w$}", w = width[c])
                } else {
                    format!("{cell:>w$}", w = width[c])
                }
            })
            .join("  ");
        out += line.trim_end();
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::encoding::ScaleMode;
    use crate::model::{Conv, Geometry};

    fn toy() -> Network {
        let conv = Geometry::Conv(Conv {
            c: 2,
            h: 3,
            w: 3,
            f: 2,
            kh: 1,
            kw: 1,
            sh: 1,
            sw: 1,
            ph: 0,
            pw: 0,
            groups: 1,
        });
        // 4 weights × 2 levels: (+1, 0), (0, 0), (−1, +1), (0, 0) → words 2/4, digits 3/8.
        let w = Tensor::from_digits(
            &[2, 2, 1, 1],
            false,
            2,
            ScaleMode::Tensor,
            &[1, 0, 0, 0, -1, 1, 0, 0],
            vec![1.0, 0.5],
        )
        .unwrap();
        // 18 int4 acts: 9 zeros, 9 threes (2 of 4 bits) → words 0.5, digits 0.25.
        let a = Tensor::int(
            &[2, 3, 3],
            4,
            false,
            4,
            None,
            (0..18).map(|i| if i % 2 == 0 { 3 } else { 0 }).collect(),
        )
        .unwrap();
        let fc = Geometry::Fc { c: 18, f: 1000 };
        let fw =
            Tensor::binary(&[1000, 18], 1, ScaleMode::Tensor, vec![0; 282], vec![1.0]).unwrap();
        Network {
            name: "toy".into(),
            source: Some("hand-built".into()),
            layers: vec![
                Layer {
                    name: "c1".into(),
                    geom: conv,
                    weights: w,
                    acts: BTreeMap::from([(0, a)]),
                },
                Layer {
                    name: "classifier".into(),
                    geom: fc,
                    weights: fw,
                    acts: BTreeMap::new(),
                },
            ],
        }
    }

    #[test]
    fn table_of_a_hand_built_network() {
        let expected = "\
network toy (hand-built)
layer       geometry                           weights            acts   w.word  w.digit  a0.word  a0.digit    MACs
c1          conv 2x3x3 -> 2 k1x1 s1x1 p0x0 g1  2x2x1x1 ternary:2  int:4   0.500    0.375    0.500     0.250      36
classifier  fc 18 -> 1000                      1000x18 binary:1   -       1.000    1.000        -         -  18,000
total       2 layers                           18,004 weights             1.000    1.000    0.500     0.250  18,036
samples: 0
";
        assert_eq!(table(&toy()), expected);
    }

    #[test]
    fn weights_only_networks_show_dashes() {
        let mut net = toy();
        net.layers[0].acts.clear();
        net.source = None;
        let t = table(&net);
        assert!(t.starts_with("network toy\nlayer "), "{t}");
        assert!(t.contains("  a.word  a.digit  "), "{t}");
        assert!(t.ends_with("samples: none\n"), "{t}");
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(4_089_184_256), "4,089,184,256");
    }
}
