//! A readable overview of a network (`mltq inspect`): one row per layer with its
//! geometry, weight shape and encoding, the word and digit densities of its weights and of
//! each sample's activations, and its MACs; then a total row and the samples present;
//! then each layer's footprints in the four storage formats of the cost model (KiB, the
//! weights and sample 0), with the network total. `--json` writes the same, every sample's
//! footprints included, in bits.
//!
//! Word density is the fraction of nonzero elements, digit density the fraction of
//! nonzero digits over all planes (as [`Tensor::word_density`] and
//! [`Tensor::digit_density`]). Totals weigh each layer's density by its element count.
//! Everything comes from one count of each tensor's digits.

use std::collections::BTreeMap;

use itertools::Itertools;
use rayon::prelude::*;
use serde::Serialize;

use crate::cost::footprint::{self, Counts, Format};
use crate::model::{Layer, Network};
use crate::tensor::Tensor;

/// What inspect reports of one tensor: its counts, densities and footprints.
#[derive(Clone, Copy, Debug)]
struct Stats {
    /// Elements, nonzero elements, nonzero digits.
    counts: Counts,
    /// Word and digit density.
    density: Density,
    /// Footprints in bits, `[dense, zvc, planes, packed]`.
    footprint: [u64; 4],
}

impl Stats {
    fn of(t: &Tensor) -> Stats {
        let counts = Counts::of(t);
        let n = counts.n as f64;
        let density = if counts.n == 0 {
            Density::default()
        } else {
            Density {
                word: counts.nonzero as f64 / n,
                digit: counts.terms as f64 / (n * t.levels() as f64),
                len: n,
            }
        };
        Stats {
            counts,
            density,
            footprint: footprint::all_formats(t.encoding(), counts),
        }
    }
}

/// Word and digit density of a tensor, with its element count as the weight for totals.
#[derive(Clone, Copy, Debug, Default)]
struct Density {
    word: f64,
    digit: f64,
    len: f64,
}

impl Density {
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

/// Per layer, the stats of its weights and of each sample's activations.
struct LayerStats {
    weights: Stats,
    acts: BTreeMap<u32, Stats>,
}

fn layer_stats(net: &Network) -> Vec<LayerStats> {
    net.layers
        .par_iter()
        .map(|l| LayerStats {
            weights: Stats::of(&l.weights),
            acts: l.acts.iter().map(|(&s, a)| (s, Stats::of(a))).collect(),
        })
        .collect()
}

/// The per-layer table, totals and samples of `net`, then its footprints.
pub fn table(net: &Network) -> String {
    let samples = net.samples();
    // One pair of activation columns per sample; one pair of dashes when there is none.
    let slots: Vec<Option<u32>> = if samples.is_empty() {
        vec![None]
    } else {
        samples.iter().copied().map(Some).collect()
    };
    let all = layer_stats(net);
    let stats: Vec<(Density, Vec<Option<Density>>)> = all
        .iter()
        .map(|l| {
            let acts = slots
                .iter()
                .map(|s| s.and_then(|s| l.acts.get(&s)).map(|a| a.density));
            (l.weights.density, acts.collect())
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
        match crate::report::provenance::generated(source) {
            Some(text) => out += &format!(" (synthetic: {text})"),
            None => out += &format!(" ({source})"),
        }
    }
    out.push('\n');
    out += &align(&rows, 4);
    let listed = if samples.is_empty() {
        "none".to_string()
    } else {
        samples.iter().join(", ")
    };
    out += &format!("samples: {listed}\n");
    out += &footprints(net, &all, samples.first().copied());
    out
}

/// The footprints table: per layer, the weights' and one sample's activations' in each
/// format (KiB), and the network total.
fn footprints(net: &Network, all: &[LayerStats], sample: Option<u32>) -> String {
    let a = sample.map_or_else(|| "a".to_string(), |s| format!("a{s}"));
    let mut header = vec!["layer".to_string()];
    header.extend(Format::ALL.iter().map(|f| format!("w.{}", f.as_str())));
    header.extend(Format::ALL.iter().map(|f| format!("{a}.{}", f.as_str())));
    let mut rows = vec![header];
    let kib = |bits: u64| format!("{:.1}", bits as f64 / 8192.0);
    let mut total_w = [0u64; 4];
    let mut total_a: Option<[u64; 4]> = sample.map(|_| [0; 4]);
    for (l, st) in net.layers.iter().zip(all) {
        let mut row = vec![l.name.clone()];
        row.extend(st.weights.footprint.map(kib));
        for (t, f) in total_w.iter_mut().zip(st.weights.footprint) {
            *t += f;
        }
        match sample.and_then(|s| st.acts.get(&s)) {
            Some(a) => {
                row.extend(a.footprint.map(kib));
                if let Some(t) = total_a.as_mut() {
                    for (t, f) in t.iter_mut().zip(a.footprint) {
                        *t += f;
                    }
                }
            }
            None => row.extend(["-"; 4].map(String::from)),
        }
        rows.push(row);
    }
    let mut total = vec!["total".to_string()];
    total.extend(total_w.map(kib));
    match total_a {
        Some(t) => total.extend(t.map(kib)),
        None => total.extend(["-"; 4].map(String::from)),
    }
    rows.push(total);
    format!(
        "footprints (KiB) of the weights and of {} in each storage format:\n{}",
        match sample {
            Some(s) => format!("sample {s}'s activations"),
            None => "the activations (none in the file)".to_string(),
        },
        align(&rows, 1)
    )
}

/// Footprints of one tensor in bits, by format name.
#[derive(Serialize)]
struct JsonFootprint {
    dense: u64,
    zvc: u64,
    planes: u64,
    packed: u64,
}

impl JsonFootprint {
    fn of(f: [u64; 4]) -> JsonFootprint {
        let [dense, zvc, planes, packed] = f;
        JsonFootprint {
            dense,
            zvc,
            planes,
            packed,
        }
    }
}

/// One tensor in the JSON: shape, encoding, counts and densities.
#[derive(Serialize)]
struct JsonTensor {
    shape: Vec<usize>,
    encoding: String,
    elements: u64,
    nonzero: u64,
    nonzero_digits: u64,
    word_density: f64,
    digit_density: f64,
}

impl JsonTensor {
    fn of(t: &Tensor, s: &Stats) -> JsonTensor {
        JsonTensor {
            shape: t.shape().to_vec(),
            encoding: t.encoding().short(),
            elements: s.counts.n,
            nonzero: s.counts.nonzero,
            nonzero_digits: s.counts.terms,
            word_density: s.density.word,
            digit_density: s.density.digit,
        }
    }
}

#[derive(Serialize)]
struct JsonFootprints {
    weights: JsonFootprint,
    /// Keyed by the sample number as a string.
    acts: BTreeMap<String, JsonFootprint>,
}

#[derive(Serialize)]
struct JsonLayer {
    name: String,
    op: &'static str,
    geometry: String,
    macs: u64,
    weights: JsonTensor,
    acts: BTreeMap<String, JsonTensor>,
    footprint: JsonFootprints,
}

#[derive(Serialize)]
struct JsonDoc {
    schema_version: u32,
    tool: crate::report::json::Tool,
    network: String,
    source: Option<String>,
    samples: Vec<u32>,
    macs: u64,
    weights: u64,
    layers: Vec<JsonLayer>,
}

/// Write `mltq inspect --json`: per layer its geometry, tensors, MACs and
/// `footprint: {"weights": F, "acts": {"0": F, …}}`, F the bits in each format.
pub fn write_json(w: &mut dyn std::io::Write, net: &Network) -> std::io::Result<()> {
    let all = layer_stats(net);
    let doc = JsonDoc {
        schema_version: crate::report::json::SCHEMA_VERSION,
        tool: crate::report::json::Tool::MLTQ,
        network: net.name.clone(),
        source: net.source.clone(),
        samples: net.samples(),
        macs: net.macs(),
        weights: net.weight_count() as u64,
        layers: net
            .layers
            .iter()
            .zip(&all)
            .map(|(l, st)| JsonLayer {
                name: l.name.clone(),
                op: match l.geom {
                    crate::model::Geometry::Conv(_) => "conv",
                    crate::model::Geometry::Fc { .. } => "fc",
                },
                geometry: l.geom.describe(),
                macs: l.geom.macs(),
                weights: JsonTensor::of(&l.weights, &st.weights),
                acts: l
                    .acts
                    .iter()
                    .map(|(s, a)| (s.to_string(), JsonTensor::of(a, &st.acts[s])))
                    .collect(),
                footprint: JsonFootprints {
                    weights: JsonFootprint::of(st.weights.footprint),
                    acts: st
                        .acts
                        .iter()
                        .map(|(s, a)| (s.to_string(), JsonFootprint::of(a.footprint)))
                        .collect(),
                },
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
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
/// (numbers) right-aligned. Lines carry no trailing spaces. Names past
/// [`crate::report::table::MAX_NAME_CHARS`] are shortened (the JSON keeps them whole).
fn align(rows: &[Vec<String>], text: usize) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| crate::report::table::shorten(c).into_owned())
                .collect()
        })
        .collect();
    let rows = &rows[..];
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
footprints (KiB) of the weights and of sample 0's activations in each storage format:
layer       w.dense  w.zvc  w.planes  w.packed  a0.dense  a0.zvc  a0.planes  a0.packed
c1              0.0    0.0       0.0       0.0       0.0     0.0        0.0        0.0
classifier      2.2    4.4       2.2       2.2         -       -          -          -
total           2.2    4.4       2.2       2.2       0.0     0.0        0.0        0.0
";
        assert_eq!(table(&toy()), expected);
    }

    #[test]
    fn json_footprints_by_hand() {
        let mut buf = Vec::new();
        write_json(&mut buf, &toy()).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        let fp = |l: usize| &doc["layers"][l]["footprint"];
        // c1 weights: 4 ternary:2 elements (b = 4), 2 nonzero with 3 nonzero digits;
        // packed: 2 digits in 4 bits.
        assert_eq!(
            fp(0)["weights"],
            serde_json::json!({"dense": 16, "zvc": 4 + 2 * 4, "planes": 2 * 4 + 3, "packed": 16})
        );
        // c1 acts: 18 int4 elements, 9 nonzero; planes and packed are dense for ints.
        assert_eq!(
            fp(0)["acts"]["0"],
            serde_json::json!({"dense": 72, "zvc": 18 + 9 * 4, "planes": 72, "packed": 72})
        );
        // The classifier: 18,000 binary:1 weights, never zero; no activations.
        assert_eq!(
            fp(1)["weights"],
            serde_json::json!({"dense": 18000, "zvc": 36000, "planes": 18000, "packed": 18000})
        );
        assert_eq!(fp(1)["acts"], serde_json::json!({}));
        assert_eq!(doc["layers"][0]["weights"]["nonzero_digits"], 3);
        assert_eq!(doc["samples"], serde_json::json!([0]));
    }

    #[test]
    fn weights_only_networks_show_dashes() {
        let mut net = toy();
        net.layers[0].acts.clear();
        net.source = None;
        let t = table(&net);
        assert!(t.starts_with("network toy\nlayer "), "{t}");
        assert!(t.contains("  a.word  a.digit  "), "{t}");
        assert!(t.contains("samples: none\n"), "{t}");
        assert!(t.contains("a.dense  a.zvc"), "{t}");
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(4_089_184_256), "4,089,184,256");
    }
}
