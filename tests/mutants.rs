//! Mutation test at the command line: valid models and arch files are truncated,
//! bit-flipped, have header lines deleted, duplicated, swapped or spliced in from
//! another file, numbers replaced by huge, negative or zero values and key names
//! swapped; the real binary runs
//! `mltq simulate --arch A --model M --csv OUT [--csv-stream] --json OUT2` on each.
//!
//! Every mutant either succeeds (exit 0, a complete CSV and JSON, and the library reads
//! the same files) or is refused with exit 2, `error` and no `panicked` on stderr, and
//! no file at all left in the output directory (neither the outputs nor a temporary
//! file). A mutant that is still valid but asks for an enormous amount of work (a
//! padding of 2^32 is legal) is a long run, not an error: it is interrupted with
//! SIGTERM after a moment, which must leave the output directory empty too.

mod common;

use std::time::Duration;

use common::{bin, entries, example_arch, example_model, run_limited, signal, small_model};
use mltq::arch::Arch;
use mltq::encoding::EncSpec;
use mltq::model::{self, Geometry, Network};
use proptest::prelude::*;

/// Values that numbers are replaced with.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "9",
    "-1",
    "-7",
    "64",
    "255",
    "65537",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "1e9",
    "2.5",
    "",
];

/// Header keys (and near misses) that a key is swapped for.
const MODEL_KEYS: &[&str] = &[
    "name",
    "source",
    "op",
    "in",
    "out",
    "kernel",
    "stride",
    "pad",
    "groups",
    "layer",
    "sample",
    "shape",
    "enc",
    "levels",
    "scale",
    "scales",
    "bits",
    "signed",
    "precision",
    "data",
    "strde",
    "Data",
    "kernal",
];

/// Arch keys (and near misses).
const ARCH_KEYS: &[&str] = &[
    "name",
    "clock_ghz",
    "baseline",
    "schemes",
    "tiles",
    "rows",
    "columns",
    "lanes",
    "column_registers",
    "serial",
    "skip_act",
    "skip_weight",
    "sync",
    "min_cycles",
    "term_encoding",
    "first_stage_bits",
    "planes_act",
    "planes_weight",
    "colums",
    "lane",
];

/// Strings that quoted arch values are replaced with.
const ARCH_WORDS: &[&str] = &[
    "mlb",
    "mltq-bit",
    "pragmatic",
    "pragmatic-b1",
    "none",
    "act",
    "weight",
    "both",
    "term",
    "word",
    "window",
    "step",
    "booth",
    "naf",
    "",
    "MLB",
    "x",
];

/// A position among `len` candidates.
#[derive(Clone, Copy, Debug)]
struct Index(u64);

impl Index {
    fn index(&self, len: usize) -> usize {
        (self.0 % len as u64) as usize
    }
}

impl Arbitrary for Index {
    type Parameters = ();
    type Strategy = BoxedStrategy<Index>;

    fn arbitrary_with(_: ()) -> Self::Strategy {
        any::<u64>().prop_map(Index).boxed()
    }
}

/// One edit of a file.
#[derive(Clone, Debug)]
enum Mutation {
    Truncate(Index),
    Flip(Index, u8),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// Insert a line of the other file of the same kind.
    SpliceLine(Index, Index),
    Number(Index, &'static str),
    Key(Index, &'static str),
    Word(Index, &'static str),
}

fn mutation(keys: &'static [&'static str]) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (any::<Index>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        1 => any::<Index>().prop_map(Mutation::DeleteLine),
        1 => any::<Index>().prop_map(Mutation::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SpliceLine(a, b)),
        4 => (any::<Index>(), prop::sample::select(NUMBERS)).prop_map(|(i, v)| Mutation::Number(i, v)),
        2 => (any::<Index>(), prop::sample::select(keys)).prop_map(|(i, k)| Mutation::Key(i, k)),
        1 => (any::<Index>(), prop::sample::select(ARCH_WORDS)).prop_map(|(i, w)| Mutation::Word(i, w)),
    ]
}

/// Byte ranges of the lines of `text` (each with its `\n`).
fn lines(text: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if b == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push((start, text.len()));
    }
    out
}

/// Byte ranges of maximal runs of bytes matching `f` within `text[..limit]`.
fn runs(text: &[u8], limit: usize, f: impl Fn(u8) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < limit {
        if f(text[i]) {
            let s = i;
            while i < limit && f(text[i]) {
                i += 1;
            }
            out.push((s, i));
        } else {
            i += 1;
        }
    }
    out
}

fn replace(text: &[u8], (s, e): (usize, usize), with: &[u8]) -> Vec<u8> {
    let mut v = text[..s].to_vec();
    v.extend_from_slice(with);
    v.extend_from_slice(&text[e..]);
    v
}

/// Apply `m` to `text`, whose editable lines are the first `head` bytes (a model's
/// header; the whole of an arch file). `donor` lends lines for splicing.
fn apply(text: &[u8], head: usize, donor: &[u8], m: &Mutation) -> Vec<u8> {
    let ls: Vec<(usize, usize)> = lines(&text[..head]);
    let pick = |v: &[(usize, usize)], i: &Index| (!v.is_empty()).then(|| v[i.index(v.len())]);
    match m {
        Mutation::Truncate(i) => text[..i.index(text.len())].to_vec(),
        Mutation::Flip(i, x) => {
            let mut v = text.to_vec();
            if !v.is_empty() {
                let k = i.index(v.len());
                v[k] ^= x;
            }
            v
        }
        Mutation::DeleteLine(i) => match pick(&ls, i) {
            Some(r) => replace(text, r, b""),
            None => text.to_vec(),
        },
        Mutation::DuplicateLine(i) => match pick(&ls, i) {
            Some((s, e)) => replace(text, (s, s), &text[s..e]),
            None => text.to_vec(),
        },
        Mutation::SwapLines(a, b) => match (pick(&ls, a), pick(&ls, b)) {
            (Some(x), Some(y)) if x != y => {
                let (x, y) = if x.0 < y.0 { (x, y) } else { (y, x) };
                let mut v = text[..x.0].to_vec();
                v.extend_from_slice(&text[y.0..y.1]);
                v.extend_from_slice(&text[x.1..y.0]);
                v.extend_from_slice(&text[x.0..x.1]);
                v.extend_from_slice(&text[y.1..]);
                v
            }
            _ => text.to_vec(),
        },
        Mutation::SpliceLine(at, from) => {
            let dl = lines(donor);
            match (pick(&ls, at), pick(&dl, from)) {
                (Some((s, _)), Some((ds, de))) => replace(text, (s, s), &donor[ds..de]),
                _ => text.to_vec(),
            }
        }
        Mutation::Number(i, v) => match pick(&runs(text, head, |b| b.is_ascii_digit()), i) {
            Some(r) => replace(text, r, v.as_bytes()),
            None => text.to_vec(),
        },
        Mutation::Key(i, k) => {
            // A key is a word directly followed by `=` (header) or ` =` (TOML).
            let words = runs(text, head, |b| b.is_ascii_alphanumeric() || b == b'_');
            let keys: Vec<(usize, usize)> = words
                .into_iter()
                .filter(|&(_, e)| text.get(e) == Some(&b'=') || text[e..].starts_with(b" ="))
                .collect();
            match pick(&keys, i) {
                Some(r) => replace(text, r, k.as_bytes()),
                None => text.to_vec(),
            }
        }
        Mutation::Word(i, w) => {
            // The inside of a double-quoted string.
            let mut quoted = Vec::new();
            let mut open: Option<usize> = None;
            for (k, &b) in text[..head].iter().enumerate() {
                match (b, open) {
                    (b'"', None) => open = Some(k + 1),
                    (b'"', Some(s)) => {
                        quoted.push((s, k));
                        open = None;
                    }
                    (b'\n', _) => open = None,
                    _ => {}
                }
            }
            match pick(&quoted, i) {
                Some(r) => replace(text, r, w.as_bytes()),
                None => text.to_vec(),
            }
        }
    }
}

/// Length of a model's header (through the `end` line), or the whole file.
fn header_len(bytes: &[u8]) -> usize {
    bytes
        .windows(5)
        .position(|w| w == b"\nend\n")
        .map_or(bytes.len(), |p| p + 5)
}

/// A rough bound of the engine's work: MACs per scheme over the PEs that share them.
fn work(net: &Network, arch: &Arch) -> f64 {
    let pes = (arch.array.tiles * arch.array.rows) as f64;
    net.layers
        .iter()
        .map(|l| {
            let f = match l.geom {
                Geometry::Conv(c) => c.fg(),
                Geometry::Fc { f, .. } => f,
            } as f64;
            l.geom.macs() as f64 / pes.min(f).max(1.0)
        })
        .sum::<f64>()
        * arch.schemes.len() as f64
}

/// Above this, a valid mutant is a long run: interrupt it instead of waiting.
const LONG_RUN: f64 = 2e8;

/// Run `mltq simulate` on one (model, arch) pair and check the outcome.
fn check_mutant(model_bytes: &[u8], arch_text: &[u8], stream: bool) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir_all(&input).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let (mp, ap) = (input.join("m.mltq"), input.join("a.toml"));
    std::fs::write(&mp, model_bytes).unwrap();
    std::fs::write(&ap, arch_text).unwrap();
    let (csv, json) = (out.join("r.csv"), out.join("r.json"));

    // What the library makes of the files.
    let net = model::parse_bytes(model_bytes, "m.mltq").ok();
    let arch = std::str::from_utf8(arch_text)
        .ok()
        .and_then(|t| Arch::parse(t, "a.toml").ok());
    let long = match (&net, &arch) {
        (Some(n), Some(a)) => work(n, a) > LONG_RUN,
        _ => false,
    };

    let mut cmd = bin();
    cmd.args(["simulate", "--quiet", "--arch"])
        .arg(&ap)
        .arg("--model")
        .arg(&mp)
        .arg("--csv")
        .arg(&csv)
        .arg("--json")
        .arg(&json);
    if stream {
        cmd.arg("--csv-stream");
    }

    if long {
        // A long run by the rough bound: SIGTERM must leave no partial output.
        let child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(400));
        signal(child.id(), "TERM");
        let o = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        prop_assert!(!stderr.contains("panicked"), "{stderr}");
        match o.status.code() {
            // Done before the signal (`work` is a rough bound; the engine skips much of
            // it): both outputs whole, no temporary file.
            Some(0) => prop_assert_eq!(
                entries(&out),
                vec!["r.csv".to_string(), "r.json".to_string()],
                "{}",
                stderr
            ),
            // 130 from the cleanup handler (or 2 if it was refused after all); killed
            // by the signal itself only if it arrived before the handler was installed:
            // nothing left behind.
            Some(130) | Some(2) | None => {
                prop_assert_eq!(entries(&out), Vec::<String>::new(), "{}", stderr)
            }
            other => prop_assert!(false, "exit {:?}: {}", other, stderr),
        }
        return Ok(());
    }

    let o = run_limited(&mut cmd, dir.path(), Duration::from_secs(120));
    prop_assert!(
        !o.timed_out,
        "still running after {:?}: {}",
        o.elapsed,
        o.stderr
    );
    prop_assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    match o.code {
        Some(0) => {
            let net = net.as_ref();
            prop_assert!(
                net.is_some(),
                "the binary accepted a model the library refuses"
            );
            prop_assert!(
                arch.is_some(),
                "the binary accepted an arch the library refuses"
            );
            let (net, arch) = (net.unwrap(), arch.unwrap());
            prop_assert_eq!(
                entries(&out),
                vec!["r.csv".to_string(), "r.json".to_string()]
            );
            let text = std::fs::read_to_string(&csv).unwrap();
            let mut r = ::csv::Reader::from_reader(text.as_bytes());
            let head = r.headers().unwrap().clone();
            prop_assert_eq!(&head[0], "network");
            prop_assert_eq!(&head[7], "potential_speedup");
            let rows: Vec<::csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
            let ns = arch.schemes.len();
            prop_assert_eq!(rows.len(), (net.layers.len() + 1) * ns, "{}", text);
            for row in &rows[rows.len() - ns..] {
                prop_assert_eq!(&row[1], "total");
            }
            let doc: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
            prop_assert_eq!(doc["totals"].as_array().map(Vec::len), Some(ns));
        }
        Some(2) => {
            prop_assert!(o.stderr.contains("error"), "{}", o.stderr);
            prop_assert_eq!(entries(&out), Vec::<String>::new(), "{}", o.stderr);
        }
        other => prop_assert!(false, "exit {:?}: {}", other, o.stderr),
    }
    Ok(())
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    }
}

fn models() -> Vec<Vec<u8>> {
    vec![
        example_model(),
        small_model(EncSpec::Ternary(2), EncSpec::Ternary(2), 1, 1),
        small_model(EncSpec::Int(8), EncSpec::Int(6), 2, 2),
        small_model(EncSpec::Binary(2), EncSpec::Ternary(3), 1, 3),
    ]
}

/// An arch every mutant model is run on: the spec's example without the custom
/// schemes that need int activations, so that valid mutants of ternary models run.
fn model_arch() -> String {
    "name = \"mut\"\nbaseline = \"mlb\"\n\
     schemes = [\"mlb\", \"mltq-word\", \"mltq-bit\", \"dadiannao\", \"stripes\", \"cnvlutin\", \"pragmatic\", \"laconic\"]\n\
     [array]\ntiles = 2\nrows = 2\ncolumns = 3\nlanes = 8\ncolumn_registers = 1\n"
        .to_string()
}

proptest! {
    #![proptest_config(config(160))]

    #[test]
    fn mutated_models_run_or_are_refused_cleanly(
        which in 0usize..4,
        ms in prop::collection::vec(mutation(MODEL_KEYS), 1..=3),
        stream in any::<bool>(),
    ) {
        let all = models();
        let mut bytes = all[which].clone();
        let donor = all[(which + 1) % all.len()].clone();
        for m in &ms {
            let head = header_len(&bytes);
            bytes = apply(&bytes, head, &donor, m);
        }
        check_mutant(&bytes, model_arch().as_bytes(), stream)?;
    }
}

proptest! {
    #![proptest_config(config(80))]

    #[test]
    fn mutated_arch_files_run_or_are_refused_cleanly(
        which in 0usize..3,
        ms in prop::collection::vec(mutation(ARCH_KEYS), 1..=3),
        stream in any::<bool>(),
    ) {
        let archs = [
            example_arch(),
            std::fs::read_to_string(common::repo("arch/pe16-registers.toml")).unwrap(),
            std::fs::read_to_string(common::repo("arch/dnnsim.toml")).unwrap(),
        ];
        let mut text = archs[which].clone().into_bytes();
        let donor = archs[(which + 1) % archs.len()].clone().into_bytes();
        for m in &ms {
            let len = text.len();
            text = apply(&text, len, &donor, m);
        }
        // dnnsim.toml's int-only schemes need an int model.
        let model = if which == 2 {
            small_model(EncSpec::Int(8), EncSpec::Int(8), 1, 5)
        } else {
            example_model()
        };
        check_mutant(&model, &text, stream)?;
    }
}

proptest! {
    #![proptest_config(config(10))]

    /// A real-size generated model (resnet20, 250 KB): truncated anywhere, or with a
    /// header number changed.
    #[test]
    fn mutated_resnet20_runs_or_is_refused_cleanly(
        m in prop_oneof![
            any::<Index>().prop_map(Mutation::Truncate),
            (any::<Index>(), prop::sample::select(NUMBERS)).prop_map(|(i, v)| Mutation::Number(i, v)),
        ],
    ) {
        let bytes = resnet20();
        let head = header_len(&bytes);
        let mutant = apply(&bytes, head, b"", &m);
        check_mutant(&mutant, std::fs::read(common::repo("arch/pe16.toml")).unwrap().as_slice(), false)?;
    }
}

/// `mltq gen resnet20` once per test binary.
fn resnet20() -> Vec<u8> {
    static R: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r20.mltq");
        let ok = bin()
            .args(["gen", "resnet20", "--out"])
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        std::fs::read(&p).unwrap()
    })
    .clone()
}

#[test]
fn the_unmutated_inputs_run() {
    for m in models() {
        check_mutant(&m, model_arch().as_bytes(), true).unwrap();
    }
    check_mutant(&example_model(), example_arch().as_bytes(), false).unwrap();
}

/// `pad=65537,1` is legal and makes the example's conv 131 077 windows tall: hours of
/// work from a 1.5 KB file. It runs (no error, no allocation of the padded input), and
/// SIGTERM leaves the output directory empty.
#[test]
fn a_legal_but_enormous_padding_is_a_long_run_that_sigterm_cleans_up() {
    let ex = example_model();
    let at = ex.windows(7).position(|w| w == b"pad=1,1").unwrap();
    let bytes = [&ex[..at], b"pad=65537,1", &ex[at + 7..]].concat();
    let net = model::parse_bytes(&bytes, "m.mltq").unwrap();
    let arch = Arch::parse(&model_arch(), "a.toml").unwrap();
    assert!(work(&net, &arch) > LONG_RUN);
    check_mutant(&bytes, model_arch().as_bytes(), true).unwrap();
    check_mutant(&bytes, model_arch().as_bytes(), false).unwrap();
}

#[test]
fn helpers_edit_what_they_say() {
    let t = b"a=1 b=22\nc = \"x\"\nend\nPAY";
    let head = header_len(t);
    assert_eq!(head, t.len() - 3);
    assert_eq!(
        apply(t, head, b"", &Mutation::Number(Index(1), "-5")),
        b"a=1 b=-5\nc = \"x\"\nend\nPAY"
    );
    assert_eq!(
        apply(t, head, b"", &Mutation::Key(Index(0), "zz")),
        b"zz=1 b=22\nc = \"x\"\nend\nPAY"
    );
    assert_eq!(
        apply(t, head, b"", &Mutation::Key(Index(2), "d")),
        b"a=1 b=22\nd = \"x\"\nend\nPAY"
    );
    assert_eq!(
        apply(t, head, b"", &Mutation::Word(Index(0), "mlb")),
        b"a=1 b=22\nc = \"mlb\"\nend\nPAY"
    );
    assert_eq!(
        apply(t, head, b"", &Mutation::SwapLines(Index(0), Index(1))),
        b"c = \"x\"\na=1 b=22\nend\nPAY"
    );
}
