//! The `.mltq` v1 reader and writer against the format (docs/file-format.md):
//! the worked example, the spec's toy file built by hand, a generated round trip, one
//! malformed file per rule, and headers that claim more bytes than the file holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mltq::encoding::{Encoding, ScaleMode};
use mltq::model::{self, Conv, Geometry, Layer, Network};
use mltq::tensor::{int_range, Tensor};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// The format's worked example (tests/data/example.mltq).
fn example_path() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/example.mltq"
    ))
    .to_path_buf()
}

/// The committed example is the format's worked example byte for byte (its expected
/// numbers in tests/data/example.expected.csv were computed from exactly these bytes).
#[test]
fn the_committed_example_is_the_worked_example() {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(example_path()).unwrap();
    let hex: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        hex,
        "83b72deb8f5537097fe95af186d0556804177460d400a93d9973056dbff6ce62"
    );
}

#[test]
fn example_loads_with_the_right_shapes_and_encodings() {
    let net = model::load(&example_path()).unwrap();
    assert_eq!(net.name, "example");
    assert_eq!(net.source, None);
    assert_eq!(net.layers.len(), 2);

    let conv = &net.layers[0];
    assert_eq!(conv.name, "conv1");
    assert_eq!(
        conv.geom,
        Geometry::Conv(Conv {
            c: 20,
            h: 5,
            w: 4,
            f: 5,
            kh: 3,
            kw: 3,
            sh: 1,
            sw: 1,
            ph: 1,
            pw: 1,
            groups: 1
        })
    );
    assert_eq!(conv.weights.shape(), [5, 20, 3, 3]);
    assert_eq!(
        *conv.weights.encoding(),
        Encoding::Ternary {
            levels: 2,
            scale: ScaleMode::Tensor
        }
    );
    assert_eq!(conv.weights.scales().len(), 2);
    assert_eq!(conv.acts.keys().copied().collect::<Vec<_>>(), [0]);
    assert_eq!(conv.acts[&0].shape(), [20, 5, 4]);
    assert_eq!(
        *conv.acts[&0].encoding(),
        Encoding::Int {
            bits: 8,
            signed: false,
            precision: 8,
            scale: None
        }
    );

    let fc = &net.layers[1];
    assert_eq!(fc.name, "fc1");
    assert_eq!(fc.geom, Geometry::Fc { c: 37, f: 6 });
    assert_eq!(fc.weights.shape(), [6, 37]);
    assert_eq!(
        *fc.weights.encoding(),
        Encoding::Ternary {
            levels: 2,
            scale: ScaleMode::Tensor
        }
    );
    assert_eq!(fc.acts[&0].shape(), [37]);
    assert_eq!(net.samples(), [0]);
}

#[test]
fn example_is_rewritten_byte_for_byte() {
    let bytes = std::fs::read(example_path()).unwrap();
    let net = model::parse_bytes(&bytes, "example.mltq").unwrap();
    assert_eq!(net, model::load(&example_path()).unwrap());
    assert_eq!(model::to_bytes(&net), bytes);
}

#[test]
fn example_with_a_short_range_or_a_typo_names_line_and_rule() {
    let bytes = std::fs::read(example_path()).unwrap();
    let cut = bytes.windows(5).position(|w| w == b"\nend\n").unwrap() + 5;
    let text = String::from_utf8_lossy(&bytes[..cut]).into_owned();
    let edit = |from: &str, to: &str| {
        let mut b = text.replacen(from, to, 1).into_bytes();
        b.extend_from_slice(&bytes[cut..]);
        model::parse_bytes(&b, "model.mltq")
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        edit("data=0+480", "data=0+400"),
        "model.mltq:5: data=0+400: expected 480 bytes for 2-level ternary 5,20,3,3 \
         (2 planes × 8 bytes × 15 words per level); got 400; write data=0+480"
    );
    assert_eq!(
        edit("pad=1,1", "pad=1,1 strde=1,1"),
        "model.mltq:3: unknown key `strde` in an op=conv layer record (did you mean `stride`?); \
         allowed keys: name, op, in, out, kernel, stride, pad, groups"
    );
}

const TOY_HEADER: &str = "MLTQ 1
network name=toy
layer name=c1 op=conv in=2,2,1 out=2 kernel=1,1
weights layer=c1 shape=2,2,1,1 enc=ternary levels=2 scale=tensor data=0+32 scales=32+8
acts layer=c1 sample=0 shape=2,2,1 enc=int bits=8 data=40+4
end
";

/// The toy payload: weights (digits per element, level 0 then 1)
/// w0 = (+1, 0), w1 = (−1, +1), w2 = (0, 0), w3 = (+1, −1); scales 0.5, 0.25;
/// acts 3, −1, 0, 127.
fn toy_payload() -> Vec<u8> {
    let mut p = Vec::new();
    for word in [0b1011u64, 0b0010, 0b1010, 0b1000] {
        p.extend_from_slice(&word.to_le_bytes());
    }
    p.extend_from_slice(&0.5f32.to_le_bytes());
    p.extend_from_slice(&0.25f32.to_le_bytes());
    p.extend_from_slice(&[3, 0xff, 0, 127]);
    p
}

fn file(header: &str, payload: &[u8]) -> Vec<u8> {
    let mut b = header.as_bytes().to_vec();
    b.extend_from_slice(payload);
    b
}

#[test]
fn spec_toy_example_built_by_hand() {
    let bytes = file(TOY_HEADER, &toy_payload());
    let net = model::parse_bytes(&bytes, "toy.mltq").unwrap();

    let digits = [1, 0, -1, 1, 0, 0, 1, -1];
    let weights = Tensor::from_digits(
        &[2, 2, 1, 1],
        false,
        2,
        ScaleMode::Tensor,
        &digits,
        vec![0.5, 0.25],
    )
    .unwrap();
    let acts = Tensor::int(&[2, 2, 1], 8, true, 8, None, vec![3, -1, 0, 127]).unwrap();
    let want = Network {
        name: "toy".into(),
        source: None,
        layers: vec![Layer {
            name: "c1".into(),
            geom: Geometry::Conv(Conv {
                c: 2,
                h: 2,
                w: 1,
                f: 2,
                kh: 1,
                kw: 1,
                sh: 1,
                sw: 1,
                ph: 0,
                pw: 0,
                groups: 1,
            }),
            weights,
            acts: BTreeMap::from([(0, acts)]),
        }],
    };
    assert_eq!(net, want);
    assert_eq!(net.layers[0].weights.dequant(1, 0), -0.25);
    assert_eq!(net.layers[0].weights.dequant(3, 1), 0.25);
    // The writer reproduces the spec's file exactly.
    assert_eq!(model::to_bytes(&want), bytes);
}

#[test]
fn quoted_names_and_source_round_trip() {
    let header = TOY_HEADER
        .replace(
            "network name=toy",
            "network name=\"toy net #1\" source=\"exported by x=1, y='2'\"",
        )
        .replace("name=c1", "name=\"conv 1\"")
        .replace("layer=c1", "layer=\"conv 1\"");
    let bytes = file(&header, &toy_payload());
    let net = model::parse_bytes(&bytes, "q.mltq").unwrap();
    assert_eq!(net.name, "toy net #1");
    assert_eq!(net.source.as_deref(), Some("exported by x=1, y='2'"));
    assert_eq!(net.layers[0].name, "conv 1");
    assert_eq!(model::to_bytes(&net), bytes);
}

#[test]
fn comments_blank_lines_gaps_and_any_record_order_are_accepted() {
    let header = "MLTQ 1
# a comment line
network name=toy

acts layer=c1 sample=7 shape=2,2,1 enc=int bits=8 signed=true precision=5 scale=0.125 data=100+4
 \t
weights layer=c1 shape=2,2,1,1 enc=ternary levels=2 scale=tensor data=0+32 scales=50+8
layer name=c1 op=conv in=2,2,1 out=2 kernel=1,1 stride=1,1 pad=0,0 groups=1
end
";
    let p = toy_payload();
    let mut payload = vec![0xee; 110];
    payload[..32].copy_from_slice(&p[..32]);
    payload[50..58].copy_from_slice(&p[32..40]);
    payload[100..104].copy_from_slice(&p[40..44]);
    let net = model::parse_bytes(&file(header, &payload), "gaps.mltq").unwrap();
    let a = &net.layers[0].acts[&7];
    assert_eq!(
        *a.encoding(),
        Encoding::Int {
            bits: 8,
            signed: true,
            precision: 5,
            scale: Some(0.125)
        }
    );
    assert_eq!(a.int_value(1), Some(-1));
    assert_eq!(net.layers[0].weights.scales(), [0.5, 0.25]);
}

#[test]
fn save_writes_a_file_that_loads_back() {
    let net = model::parse_bytes(&file(TOY_HEADER, &toy_payload()), "toy.mltq").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("toy.mltq");
    model::save(&net, &path).unwrap();
    assert_eq!(model::load(&path).unwrap(), net);
}

#[test]
fn save_refuses_strings_no_header_can_hold() {
    let mut net = model::parse_bytes(&file(TOY_HEADER, &toy_payload()), "toy.mltq").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.mltq");
    net.layers[0].name = "say \"hi\"".into();
    let e = model::save(&net, &path).unwrap_err().to_string();
    assert!(
        e.contains("layer name") && e.contains("ASCII without"),
        "{e}"
    );
    assert!(!path.exists());
    net.layers[0].name = "c1".into();
    net.source = Some("caf\u{e9}".into());
    assert!(model::save(&net, &path).is_err());
    // to_bytes cannot fail: it substitutes, and the result still loads.
    let back = model::parse_bytes(&model::to_bytes(&net), "sub.mltq").unwrap();
    assert_eq!(back.source.as_deref(), Some("caf?"));
}

#[test]
fn save_refuses_duplicate_layer_names_and_wrong_shapes() {
    let net = model::parse_bytes(&file(TOY_HEADER, &toy_payload()), "toy.mltq").unwrap();
    let mut two = net.clone();
    two.layers.push(net.layers[0].clone());
    assert!(model::write::check(&two)
        .unwrap_err()
        .to_string()
        .contains("used twice"));
    let mut wrong = net.clone();
    wrong.layers[0].geom = Geometry::Fc { c: 3, f: 2 };
    assert!(model::write::check(&wrong)
        .unwrap_err()
        .to_string()
        .contains("implies"));
}

// ---------------------------------------------------------------------------------
// Malformed files: one per rule
// ---------------------------------------------------------------------------------

/// The toy header with `from` replaced by `to` (which must occur).
fn toy(from: &str, to: &str) -> Vec<u8> {
    assert!(TOY_HEADER.contains(from), "{from}");
    file(&TOY_HEADER.replacen(from, to, 1), &toy_payload())
}

/// The toy file with payload byte `at` set to `v`.
fn toy_byte(at: usize, v: &[u8]) -> Vec<u8> {
    let mut p = toy_payload();
    p[at..at + v.len()].copy_from_slice(v);
    file(TOY_HEADER, &p)
}

/// (name, file bytes, where the error must point, a phrase the message must contain)
fn malformed() -> Vec<(&'static str, Vec<u8>, &'static str, &'static str)> {
    vec![
        ("empty file", Vec::new(), ":1:", "empty file"),
        ("not an mltq file", b"PK\x03\x04 zip".to_vec(), ":1:", "not a .mltq file"),
        ("unsupported version", toy("MLTQ 1", "MLTQ 2"), ":1:", "version 2 is not supported"),
        ("crlf line endings", TOY_HEADER.replace('\n', "\r\n").into_bytes(), ":1:", "CRLF"),
        ("no end line", b"MLTQ 1\nnetwork name=toy\n".to_vec(), ":3:", "without the header's `end` line"),
        ("end without newline", b"MLTQ 1\nnetwork name=toy\nend".to_vec(), ":3:", "must end with a newline"),
        ("end with trailing space", toy("end\n", "end \n"), ":6:", "exactly `end`"),
        ("no network record", b"MLTQ 1\nend\n".to_vec(), ":2:", "no `network` record"),
        ("unknown kind", toy("layer name", "layr name"), ":3:", "unknown record kind `layr` (did you mean `layer`?)"),
        ("unknown key", toy("network name=toy", "network nmae=toy"), ":2:", "unknown key `nmae` in the network record (did you mean `name`?)"),
        ("conv-only key on fc", toy("op=conv in=2,2,1", "op=fc in=2"), ":3:", "key `kernel` is not allowed in an op=fc layer record: it is only for op=conv"),
        ("missing required key", toy(" kernel=1,1", ""), ":3:", "missing required key `kernel`"),
        ("repeated key", toy("name=toy", "name=toy name=toy2"), ":2:", "key `name` is repeated"),
        ("network not first", toy("network name=toy\nlayer name=c1 op=conv in=2,2,1 out=2 kernel=1,1", "layer name=c1 op=conv in=2,2,1 out=2 kernel=1,1\nnetwork name=toy"), ":2:", "before the `network` record"),
        ("second network", toy("layer name=c1", "network name=again\nlayer name=c1"), ":3:", "second `network` record (the first is on line 2)"),
        ("duplicate layer name", toy("weights", "layer name=c1 op=fc in=2 out=2\nweights"), ":4:", "layer name `c1` is already used on line 3"),
        ("layer without weights", toy("weights", "layer name=c2 op=fc in=4 out=1\nweights"), ":4:", "layer `c2` has no `weights` record"),
        ("two weights for a layer", toy("acts", "weights layer=c1 shape=2,2,1,1 enc=ternary levels=2 scale=tensor data=0+32 scales=32+8\nacts"), ":5:", "second `weights` record for layer `c1`"),
        ("duplicate sample", toy("end\n", "acts layer=c1 sample=0 shape=2,2,1 enc=int bits=8 data=40+4\nend\n"), ":6:", "already has acts for sample 0"),
        ("unknown layer", toy("weights layer=c1", "weights layer=c2"), ":4:", "unknown layer `c2` (did you mean `c1`?)"),
        ("shape mismatch", toy("shape=2,2,1,1", "shape=2,1,1,2"), ":4:", "shape=2,1,1,2 does not match the shape 2,2,1,1"),
        ("data length", toy("data=0+32", "data=0+24"), ":4:", "expected 32 bytes for 2-level ternary 2,2,1,1 (2 planes × 8 bytes × 1 word per level); got 24"),
        ("scales length", toy("scales=32+8", "scales=32+4"), ":4:", "expected 8 bytes of scales for scale=tensor with 2 levels"),
        ("range past the end", toy("data=40+4", "data=42+4"), ":5:", "ends at payload byte 46 but the payload has only 44 bytes"),
        ("overlapping ranges", toy("data=40+4", "data=36+4"), ":5:", "data=36+4 (payload bytes 36..40) overlaps scales=32+8 on line 4"),
        ("range syntax", toy("data=40+4", "data=40-4"), ":5:", "expected OFF+LEN"),
        ("range overflow", toy("data=40+4", "data=18446744073709551615+4"), ":5:", "overflows 64 bits"),
        ("number too big", toy("data=40+4", "data=40+99999999999999999999"), ":5:", "`data=40+99999999999999999999`: the length `99999999999999999999` does not fit in 64 bits"),
        ("huge claimed length", toy("data=0+32", "data=0+99999999999"), ":4:", "expected 32 bytes"),
        ("negative without nonzero", toy_byte(8, &[0b0110]), "payload bytes 8..16", "element 2 [1,0,0,0] level 0: the negative bit is set but the nonzero bit (payload bytes 0..8) is 0"),
        ("bits past n", toy_byte(16, &[0b1_1010]), "payload bytes 16..24", "level 1 nonzero plane: bits past element 4"),
        ("non-finite scale", toy_byte(36, &f32::NAN.to_le_bytes()), "payload bytes 36..40", "scale 1 (level 1) is NaN; scales must be finite"),
        ("payload offsets are explained", toy_byte(36, &f32::INFINITY.to_le_bytes()), "payload bytes 36..40", "relative to the payload start, file byte 223"),
        ("channel scales on acts", toy("enc=int bits=8 data=40+4", "enc=ternary levels=1 scale=channel data=40+8 scales=48+8"), ":5:", "scale=channel is only for weights"),
        ("int value too wide", toy("bits=8", "bits=4"), "payload bytes 43..44", "element 3 [1,1,0] = 127 does not fit in 4 signed bits (-8..=7)"),
        ("unsigned int value too wide", toy("bits=8", "bits=7 signed=false"), "payload bytes 41..42", "element 1 [0,1,0] = 255 does not fit in 7 unsigned bits (0..=127)"),
        ("precision above bits", toy("bits=8", "bits=8 precision=9"), ":5:", "precision must be in 1..=8"),
        ("levels out of range", toy("levels=2", "levels=9"), ":4:", "levels must be in 1..=8"),
        ("bits out of range", toy("bits=8", "bits=33"), ":5:", "bits must be in 1..=32"),
        ("ternary without scales", toy(" scales=32+8", ""), ":4:", "missing required key `scales`"),
        ("int with scales", toy("data=40+4", "data=40+4 scales=32+8"), ":5:", "int tensors have no `scales`"),
        ("int scale not a number", toy("bits=8", "bits=8 scale=tensor"), ":5:", "f32 literal"),
        ("int scale not finite", toy("bits=8", "bits=8 scale=1e60"), ":5:", "must be a finite f32"),
        ("bits on a ternary tensor", toy("levels=2", "levels=2 bits=8"), ":4:", "key `bits` is not allowed in an enc=ternary weights record: it is only for enc=int"),
        ("sample on weights", toy("weights layer=c1", "weights layer=c1 sample=0"), ":4:", "weights have no sample"),
        ("sample too large", toy("sample=0", "sample=4294967296"), ":5:", "at most 4294967295"),
        ("signed not a boolean", toy("bits=8", "bits=8 signed=yes"), ":5:", "expected true or false"),
        ("unknown encoding", toy("enc=ternary", "enc=ternery"), ":4:", "did you mean `ternary`"),
        ("unknown scale mode", toy("scale=tensor", "scale=chanel"), ":4:", "did you mean `channel`"),
        ("unknown op", toy("op=conv", "op=cnv"), ":3:", "did you mean `conv`"),
        ("wrong number of dims", toy("in=2,2,1", "in=2,2"), ":3:", "needs 3 numbers C,H,W; got 2"),
        ("negative number", toy("out=2", "out=-2"), ":3:", "expected a whole number"),
        ("groups must divide", toy("kernel=1,1", "kernel=1,1 groups=3"), ":3:", "divisible by groups=3"),
        ("kernel larger than input", toy("kernel=1,1", "kernel=3,3"), ":3:", "larger than the padded input"),
        ("zero size", toy("out=2", "out=0"), ":3:", "out must be at least 1"),
        ("geometry overflow", toy("in=2,2,1", "in=2,4294967296,4294967296"), ":3:", "overflows 64 bits"),
        ("bad bare value", toy("name=toy", "name=to;y"), ":2:", "`;` at column 16 is not allowed in a bare value"),
        ("unterminated quote", toy("name=toy", "name=\"toy"), ":2:", "unterminated quoted value"),
        ("non-ascii header", toy("name=toy", "name=\"caf\u{e9}\""), ":2:", "is not ASCII"),
        ("leading whitespace", toy("layer name", "  layer name"), ":3:", "remove the leading whitespace"),
        ("field without value", toy("out=2", "out="), ":3:", "has no value"),
    ]
}

/// An error message names a header line (`path:N:`) or a payload range.
fn located(msg: &str, path: &str, loc: &str) -> bool {
    if let Some(range) = loc.strip_prefix("payload") {
        msg.starts_with(&format!("{path}: payload{range}:"))
    } else {
        msg.starts_with(&format!("{path}{loc}"))
    }
}

#[test]
fn malformed_files_are_refused_with_line_or_range_and_rule() {
    let cases = malformed();
    let names: std::collections::HashSet<_> = cases.iter().map(|c| c.0).collect();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    assert!(cases.len() >= 30);
    let dir = tempfile::tempdir().unwrap();
    for (i, (name, bytes, loc, phrase)) in cases.into_iter().enumerate() {
        let e = match model::parse_bytes(&bytes, "bad.mltq") {
            Ok(_) => panic!("case `{name}` was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(
            located(&e, "bad.mltq", loc),
            "case `{name}`: expected location {loc:?} in\n  {e}"
        );
        assert!(
            e.contains(phrase),
            "case `{name}`: expected {phrase:?} in\n  {e}"
        );
        // `load` reads the same file the same way.
        let path = dir.path().join(format!("case{i}.mltq"));
        std::fs::write(&path, &bytes).unwrap();
        let shown = path.display().to_string();
        let e2 = model::load(&path).unwrap_err().to_string();
        assert_eq!(
            e2.replacen(&shown, "bad.mltq", 1),
            e,
            "case `{name}`: load and parse_bytes disagree"
        );
    }
}

#[test]
fn header_longer_than_the_cap_is_refused() {
    let mut b = b"MLTQ 1\nnetwork name=n\n".to_vec();
    let comment = format!("#{}\n", "x".repeat(1000));
    while b.len() <= (16 << 20) + 10 {
        b.extend_from_slice(comment.as_bytes());
    }
    let e = model::parse_bytes(&b, "big.mltq").unwrap_err().to_string();
    assert!(e.contains("longer than 16777216 bytes (16 MiB)"), "{e}");
}

/// A header claiming a 10 GB tensor in a tiny file.
fn huge_claim() -> Vec<u8> {
    let header = "MLTQ 1
network name=huge
layer name=fc op=fc in=100000 out=100000
weights layer=fc shape=100000,100000 enc=int bits=8 data=0+10000000000
end
";
    file(header, &[0u8; 16])
}

#[test]
fn huge_claimed_range_is_refused_quickly_from_bytes_and_files() {
    let bytes = huge_claim();
    let t = Instant::now();
    let e = model::parse_bytes(&bytes, "huge.mltq")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("huge.mltq:4:"), "{e}");
    assert!(
        e.contains("ends at payload byte 10000000000 but the payload has only 16 bytes"),
        "{e}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.mltq");
    std::fs::write(&path, &bytes).unwrap();
    let e = model::load(&path).unwrap_err().to_string();
    assert!(e.contains("the payload has only 16 bytes"), "{e}");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
}

// ---------------------------------------------------------------------------------
// Generated round trip
// ---------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum EncChoice {
    Ternary(u8, bool),
    Binary(u8, bool),
    Int {
        bits: u8,
        signed: bool,
        precision: u8,
        scale: Option<f32>,
    },
}

fn enc_choice(weights: bool) -> impl Strategy<Value = EncChoice> {
    prop_oneof![
        (1u8..=8, any::<bool>()).prop_map(move |(l, c)| EncChoice::Ternary(l, c && weights)),
        (1u8..=8, any::<bool>()).prop_map(move |(l, c)| EncChoice::Binary(l, c && weights)),
        (
            1u8..=32,
            any::<bool>(),
            any::<u8>(),
            proptest::option::of(any::<f32>().prop_filter("finite", |x| x.is_finite()))
        )
            .prop_map(|(bits, signed, p, scale)| EncChoice::Int {
                bits,
                signed,
                precision: 1 + p % bits,
                scale
            }),
    ]
}

fn geometry() -> impl Strategy<Value = Geometry> {
    prop_oneof![
        (
            1usize..=3,
            1usize..=3,
            1usize..=3,
            1usize..=6,
            1usize..=6,
            0usize..=2,
            0usize..=2,
            1usize..=4,
            1usize..=4,
            1usize..=3,
            1usize..=3
        )
            .prop_map(|(g, cg, fg, h, w, ph, pw, kh, kw, sh, sw)| {
                Geometry::Conv(Conv {
                    c: g * cg,
                    h,
                    w,
                    f: g * fg,
                    kh: kh.min(h + 2 * ph),
                    kw: kw.min(w + 2 * pw),
                    sh,
                    sw,
                    ph,
                    pw,
                    groups: g,
                })
            }),
        (1usize..=150, 1usize..=5).prop_map(|(c, f)| Geometry::Fc { c, f }),
    ]
}

#[derive(Clone, Debug)]
struct LayerSpec {
    name: String,
    geom: Geometry,
    weights: EncChoice,
    acts: BTreeMap<u32, EncChoice>,
}

fn layer_spec() -> impl Strategy<Value = LayerSpec> {
    (
        "[a-z][a-z0-9_.]{0,5}( [A-Z#=]{1,3})?",
        geometry(),
        enc_choice(true),
        proptest::collection::btree_map(
            prop_oneof![0u32..4, any::<u32>()],
            enc_choice(false),
            0..4,
        ),
    )
        .prop_map(|(name, geom, weights, acts)| LayerSpec {
            name,
            geom,
            weights,
            acts,
        })
}

fn random_tensor(shape: &[usize], enc: &EncChoice, rng: &mut Pcg64) -> Tensor {
    let n: usize = shape.iter().product();
    let scales = |rng: &mut Pcg64, count: usize| -> Vec<f32> {
        (0..count)
            .map(|_| match rng.random_range(0..4) {
                0 => 0.0,
                1 => rng.random_range(-1.0f32..1.0),
                2 => f32::from_bits(rng.random_range(0..0x7f00_0000u32)),
                _ => -f32::from_bits(rng.random_range(0..0x7f00_0000u32)),
            })
            .collect()
    };
    match *enc {
        EncChoice::Ternary(l, channel) | EncChoice::Binary(l, channel) => {
            let binary = matches!(enc, EncChoice::Binary(..));
            let zeros = rng.random_range(0.0..1.0);
            let digits: Vec<i8> = (0..n * l as usize)
                .map(|_| {
                    if !binary && rng.random_bool(zeros) {
                        0
                    } else if rng.random_bool(0.5) {
                        1
                    } else {
                        -1
                    }
                })
                .collect();
            let mode = if channel {
                ScaleMode::Channel
            } else {
                ScaleMode::Tensor
            };
            let count = if channel {
                shape[0] * l as usize
            } else {
                l as usize
            };
            Tensor::from_digits(shape, binary, l, mode, &digits, scales(rng, count)).unwrap()
        }
        EncChoice::Int {
            bits,
            signed,
            precision,
            scale,
        } => {
            let (lo, hi) = int_range(bits, signed);
            let hi = hi.min(i32::MAX as i64);
            let values = (0..n)
                .map(|_| match rng.random_range(0..4) {
                    0 => 0,
                    1 => lo as i32,
                    2 => hi as i32,
                    _ => rng.random_range(lo..=hi) as i32,
                })
                .collect();
            Tensor::int(shape, bits, signed, precision, scale, values).unwrap()
        }
    }
}

fn network() -> impl Strategy<Value = Network> {
    (
        "[ -~&&[^\"]]{0,12}",
        proptest::option::of("[ -~&&[^\"]]{0,20}"),
        proptest::collection::vec(layer_spec(), 0..4),
        any::<u64>(),
    )
        .prop_map(|(name, source, specs, seed)| {
            let mut rng = Pcg64::seed_from_u64(seed);
            let layers = specs
                .into_iter()
                .enumerate()
                .map(|(i, s)| Layer {
                    name: format!("{}{i}", s.name),
                    geom: s.geom,
                    weights: random_tensor(&s.geom.weight_shape(), &s.weights, &mut rng),
                    acts: s
                        .acts
                        .iter()
                        .map(|(&k, e)| (k, random_tensor(&s.geom.act_shape(), e, &mut rng)))
                        .collect(),
                })
                .collect();
            Network {
                name,
                source,
                layers,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn write_then_read_gives_the_same_network(net in network()) {
        model::write::check(&net).unwrap();
        let bytes = model::to_bytes(&net);
        let back = model::parse_bytes(&bytes, "gen.mltq").unwrap();
        prop_assert_eq!(&back, &net);
        prop_assert_eq!(model::to_bytes(&back), bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_start_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..200), cut in 0usize..300) {
        let mut b = file(TOY_HEADER, &toy_payload());
        b.truncate(cut.min(b.len()));
        b.extend_from_slice(&tail);
        let _ = model::parse_bytes(&b, "fuzz.mltq");
    }

    #[test]
    fn mutated_headers_never_panic(pos in 0usize..223, byte in any::<u8>()) {
        let mut b = file(TOY_HEADER, &toy_payload());
        b[pos] = byte;
        let _ = model::parse_bytes(&b, "fuzz.mltq");
    }
}
