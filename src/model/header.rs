//! The `.mltq` header: text records parsed with nom, then validated into a [`Header`].
//!
//! Reading happens in two steps so that nothing the header claims is trusted before it
//! is checked:
//!
//! 1. [`read_header`] pulls lines one at a time from a reader (at most
//!    [`MAX_HEADER_BYTES`]), checks `MLTQ 1`, stops at the `end` line and parses each
//!    record's syntax (kind word, `key=value` fields) into a [`RawRecord`].
//! 2. [`Header::validate`] applies every rule of the format (keys, geometry, shapes,
//!    encodings, byte ranges) against the payload's real length.
//!
//! Every error names its 1-based header line and says what was found, what the rule
//! is and how to fix it. See `docs/file-format.md`.

use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::path::Path;

use nom::branch::alt;
use nom::bytes::complete::{take_while, take_while1};
use nom::character::complete::char;
use nom::combinator::map;
use nom::sequence::{delimited, separated_pair};
use nom::{IResult, Parser};

use super::{Conv, Geometry};
use crate::encoding::{Encoding, ScaleMode};
use crate::error::{did_you_mean, Error, Result};

/// The exact first line of a version-1 file.
pub const MAGIC: &str = "MLTQ 1";

/// The longest header the reader accepts, in bytes (16 MiB).
pub const MAX_HEADER_BYTES: u64 = 16 << 20;

/// The record kinds.
pub const KINDS: [&str; 4] = ["network", "layer", "weights", "acts"];

/// True for a character allowed in a bare (unquoted) value: `[A-Za-z0-9_.:/+,-]`.
pub fn is_bare_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '+' | ',' | '-')
}

/// True when `s` can be written as a bare value (non-empty, bare characters only).
pub fn is_bare(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_bare_char)
}

/// True when `s` can be written at all: as a bare value or inside double quotes
/// (ASCII, no `"`, no newline).
pub fn is_writable(s: &str) -> bool {
    s.is_ascii() && !s.contains(['"', '\n'])
}

/// One `key=value` field as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The key.
    pub key: String,
    /// The value, without quotes.
    pub value: String,
    /// True when the value was double-quoted.
    pub quoted: bool,
    /// 1-based column of the key.
    pub column: usize,
}

/// One header record as parsed, before its meaning is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRecord {
    /// 1-based header line.
    pub line: usize,
    /// The kind word (`network`, `layer`, …; not yet checked).
    pub kind: String,
    /// The fields in order.
    pub fields: Vec<Field>,
}

/// The records of a header and where the payload starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawHeader {
    /// Records in file order (comments and blank lines dropped).
    pub records: Vec<RawRecord>,
    /// 1-based line number of the `end` line.
    pub end_line: usize,
    /// Header length in bytes, up to and including the `end` line's `\n`: the file
    /// offset of the payload.
    pub len: u64,
}

// ---------------------------------------------------------------------------------
// Syntax: lines and records
// ---------------------------------------------------------------------------------

fn word(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_')(i)
}

fn separator(i: &str) -> IResult<&str, &str> {
    take_while(|c: char| c == ' ' || c == '\t')(i)
}

fn quoted_value(i: &str) -> IResult<&str, &str> {
    delimited(
        char('"'),
        take_while(|c: char| c != '"' && c != '\n'),
        char('"'),
    )
    .parse(i)
}

fn bare_value(i: &str) -> IResult<&str, &str> {
    take_while1(is_bare_char)(i)
}

/// `key=value` where value is bare or quoted; yields (key, value, quoted).
fn field(i: &str) -> IResult<&str, (&str, (&str, bool))> {
    separated_pair(
        word,
        char('='),
        alt((
            map(quoted_value, |v| (v, true)),
            map(bare_value, |v| (v, false)),
        )),
    )
    .parse(i)
}

/// Show a character in a message: printable as itself, others escaped.
fn show_char(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("`{c}`")
    } else {
        format!("{c:?}")
    }
}

const BARE_HELP: &str =
    "bare values use only letters, digits and _ . : / + , - ; put anything else in double quotes";

/// Parse one header line (no trailing `\n`, already known to be ASCII). `Ok(None)` for
/// blank and comment lines. The error is the message without the line number.
pub fn parse_record(line: &str) -> std::result::Result<Option<(String, Vec<Field>)>, String> {
    if line.chars().all(|c| c == ' ' || c == '\t') || line.starts_with('#') {
        return Ok(None);
    }
    if line.ends_with('\r') {
        return Err("line ends in a carriage return (\\r): header lines end in \\n only; convert CRLF line endings to LF".into());
    }
    if line.starts_with([' ', '\t']) {
        return Err("a record starts at column 1 with its kind word (network, layer, weights or acts); remove the leading whitespace (comments start with `#` at column 1)".into());
    }
    let col = |rest: &str| line.len() - rest.len() + 1;
    let (mut rest, kind) = word(line).map_err(|_| {
        let c = line.chars().next().unwrap_or(' ');
        format!(
            "expected a record kind word (network, layer, weights or acts) at column 1, found {}",
            show_char(c)
        )
    })?;
    let mut fields: Vec<Field> = Vec::new();
    let mut last_quoted: Option<bool> = None;
    loop {
        let (r, sep) = separator(rest).unwrap_or((rest, ""));
        if r.is_empty() {
            break;
        }
        if sep.is_empty() {
            let c = r.chars().next().unwrap_or(' ');
            let at = col(r);
            return Err(match last_quoted {
                None => format!(
                    "character {} at column {at} is not allowed in the kind word `{kind}`; separate fields with spaces",
                    show_char(c)
                ),
                Some(false) => format!("character {} at column {at} is not allowed in a bare value; {BARE_HELP}", show_char(c)),
                Some(true) => {
                    format!("expected a space after the closing quote, found {} at column {at}", show_char(c))
                }
            });
        }
        match field(r) {
            Ok((r2, (key, (value, quoted)))) => {
                fields.push(Field {
                    key: key.into(),
                    value: value.into(),
                    quoted,
                    column: col(r),
                });
                last_quoted = Some(quoted);
                rest = r2;
            }
            Err(_) => return Err(diagnose_field(r, col(r))),
        }
    }
    Ok(Some((kind.to_string(), fields)))
}

/// Why `r` (starting at column `at`) is not a `key=value` field.
fn diagnose_field(r: &str, at: usize) -> String {
    let tok = r.split([' ', '\t']).next().unwrap_or(r);
    let Some((key, _)) = tok.split_once('=') else {
        return format!("expected key=value at column {at}, found `{tok}`");
    };
    if key.is_empty() {
        return format!("missing key before `=` at column {at}; fields are key=value");
    }
    if let Some(c) = key
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '_'))
    {
        return format!(
            "key `{key}` at column {at} contains {}; keys are letters, digits and _",
            show_char(c)
        );
    }
    let vat = at + key.len() + 1;
    let value = r.get(key.len() + 1..).unwrap_or("");
    if value.starts_with('"') {
        return format!(
            "unterminated quoted value for key `{key}` starting at column {vat}; close it with `\"` (a quoted value cannot contain `\"`)"
        );
    }
    match value.chars().next() {
        None | Some(' ') | Some('\t') => {
            format!("key `{key}` has no value at column {vat}; write {key}=VALUE")
        }
        Some(c) => format!(
            "character {} at column {vat} is not allowed in the value of `{key}`; {BARE_HELP}",
            show_char(c)
        ),
    }
}

/// Describe the first line when it is not `MLTQ 1`.
fn first_line_error(line: &[u8], complete: bool) -> String {
    if line.is_empty() && !complete {
        return format!("empty file: a .mltq file starts with the line `{MAGIC}`");
    }
    let shown: String = String::from_utf8_lossy(&line[..line.len().min(32)]).into_owned();
    if line == b"MLTQ 1\r" {
        return "the first line is `MLTQ 1\\r`: header lines end in \\n only; convert CRLF line endings to LF"
            .to_string();
    }
    if let Some(v) = line.strip_prefix(b"MLTQ ") {
        if !v.is_empty() && v.iter().all(u8::is_ascii_digit) {
            return format!(
                "format version {} is not supported: this reader reads version 1 (first line `{MAGIC}`)",
                String::from_utf8_lossy(v)
            );
        }
    }
    format!("not a .mltq file: the first line must be exactly `{MAGIC}`, found {shown:?}")
}

/// Read and parse the header from `r`, leaving `r` just past the `end` line.
///
/// Reads at most [`MAX_HEADER_BYTES`]; the first line is read with a small cap so that
/// a file of another kind is refused after a few bytes.
pub fn read_header<R: BufRead>(r: &mut R, path: &str) -> Result<RawHeader> {
    let mut records = Vec::new();
    let mut len: u64 = 0;
    let mut buf = Vec::new();
    let mut lineno = 0usize;
    loop {
        lineno += 1;
        buf.clear();
        let cap = if lineno == 1 {
            64
        } else {
            MAX_HEADER_BYTES - len
        };
        let got = r
            .by_ref()
            .take(cap)
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::read(Path::new(path), e))? as u64;
        len += got;
        let Some(line) = buf.strip_suffix(b"\n") else {
            if lineno == 1 {
                return Err(Error::header(path, 1, first_line_error(&buf, got == cap)));
            }
            if got == cap {
                return Err(Error::header(
                    path,
                    lineno,
                    format!(
                        "the header is longer than {MAX_HEADER_BYTES} bytes (16 MiB) without an `end` line; \
                         end the header with a line `end` (is this a .mltq file?)"
                    ),
                ));
            }
            if buf == b"end" {
                return Err(Error::header(
                    path,
                    lineno,
                    "the `end` line must end with a newline (\\n), even when the payload is empty",
                ));
            }
            let msg = if got == 0 {
                format!("the file ends after line {} without the header's `end` line; add a line `end` after the last record", lineno - 1)
            } else {
                "the file ends inside this line without the header's `end` line; header lines end in \\n and the header ends with a line `end`".to_string()
            };
            return Err(Error::header(path, lineno, msg));
        };
        if lineno == 1 {
            if line != MAGIC.as_bytes() {
                return Err(Error::header(path, 1, first_line_error(line, true)));
            }
            continue;
        }
        if line == b"end" {
            return Ok(RawHeader {
                records,
                end_line: lineno,
                len,
            });
        }
        if let Some(i) = line.iter().position(|b| !b.is_ascii()) {
            return Err(Error::header(
                path,
                lineno,
                format!(
                    "byte 0x{:02x} at column {} is not ASCII: the header is ASCII text (did the header miss its `end` line?)",
                    line[i],
                    i + 1
                ),
            ));
        }
        // ASCII, hence UTF-8.
        let text = String::from_utf8_lossy(line);
        if text.trim_end_matches([' ', '\t', '\r']) == "end" {
            return Err(Error::header(
                path,
                lineno,
                "the header's last line must be exactly `end` (no spaces, tabs or \\r after it)",
            ));
        }
        match parse_record(&text) {
            Ok(Some((kind, fields))) => records.push(RawRecord {
                line: lineno,
                kind,
                fields,
            }),
            Ok(None) => {}
            Err(msg) => return Err(Error::header(path, lineno, msg)),
        }
    }
}

// ---------------------------------------------------------------------------------
// Meaning: the validated header
// ---------------------------------------------------------------------------------

/// A byte range `OFF+LEN` of the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// Offset from the payload start.
    pub off: u64,
    /// Length in bytes.
    pub len: u64,
}

impl Range {
    /// One past the last byte (validated ranges never overflow).
    pub fn end(&self) -> u64 {
        self.off.saturating_add(self.len)
    }
}

/// A validated `layer` record.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerHeader {
    /// 1-based header line.
    pub line: usize,
    /// Layer name.
    pub name: String,
    /// Validated geometry (sizes fit in 64 bits).
    pub geom: Geometry,
}

/// A validated `weights` or `acts` record.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorHeader {
    /// 1-based header line.
    pub line: usize,
    /// Index into [`Header::layers`].
    pub layer: usize,
    /// `None` for weights, the sample index for acts.
    pub sample: Option<u32>,
    /// The shape (equal to the one the layer implies).
    pub shape: Vec<usize>,
    /// The encoding (levels, bits and precision in range).
    pub enc: Encoding,
    /// `data=OFF+LEN`, of exactly the implied length and inside the payload.
    pub data: Range,
    /// `scales=OFF+LEN` (ternary and binary), likewise checked.
    pub scales: Option<Range>,
}

/// A header whose every rule has been checked against the payload length.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// `network name=…`.
    pub name: String,
    /// `network source=…`.
    pub source: Option<String>,
    /// Layers in file order.
    pub layers: Vec<LayerHeader>,
    /// Tensor records in file order.
    pub tensors: Vec<TensorHeader>,
    /// Header length in bytes (file offset of the payload).
    pub len: u64,
}

impl TensorHeader {
    /// "weights of layer `c1`" or "acts sample 0 of layer `c1`".
    pub fn describe(&self, layers: &[LayerHeader]) -> String {
        let name = layers
            .get(self.layer)
            .map(|l| l.name.as_str())
            .unwrap_or("?");
        match self.sample {
            None => format!("weights of layer `{name}`"),
            Some(s) => format!("acts sample {s} of layer `{name}`"),
        }
    }
}

type Msg<T> = std::result::Result<T, String>;

/// The syntax of each key, for "add …" hints.
fn syntax(key: &str) -> &'static str {
    match key {
        "name" => "name=NAME",
        "source" => "source=\"TEXT\"",
        "op" => "op=conv or op=fc",
        "in" => "in=C,H,W (conv) or in=C (fc)",
        "out" => "out=F",
        "kernel" => "kernel=KH,KW",
        "stride" => "stride=SH,SW",
        "pad" => "pad=PH,PW",
        "groups" => "groups=G",
        "layer" => "layer=NAME",
        "sample" => "sample=N",
        "shape" => "shape=D0,D1,…",
        "enc" => "enc=ternary, enc=binary or enc=int",
        "levels" => "levels=L (1..=8)",
        "scale" => "scale=tensor or scale=channel (ternary, binary), scale=S (int)",
        "scales" => "scales=OFF+LEN",
        "bits" => "bits=B (1..=32)",
        "signed" => "signed=true or signed=false",
        "precision" => "precision=P",
        "data" => "data=OFF+LEN",
        _ => "KEY=VALUE",
    }
}

/// A record's fields by key, with repeated keys refused.
struct Fields<'a> {
    map: HashMap<&'a str, &'a Field>,
    order: Vec<&'a str>,
}

impl<'a> Fields<'a> {
    fn new(rec: &'a RawRecord) -> Msg<Fields<'a>> {
        let mut map: HashMap<&str, &Field> = HashMap::new();
        let mut order = Vec::new();
        for f in &rec.fields {
            if let Some(first) = map.get(f.key.as_str()) {
                return Err(format!(
                    "key `{}` is repeated (columns {} and {}); give each key once",
                    f.key, first.column, f.column
                ));
            }
            map.insert(&f.key, f);
            order.push(f.key.as_str());
        }
        Ok(Fields { map, order })
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.map.get(key).map(|f| f.value.as_str())
    }

    /// The value of a key that [`Fields::check`] has made sure is present.
    fn req(&self, key: &str) -> Msg<&'a str> {
        self.get(key)
            .ok_or_else(|| format!("missing required key `{key}`; add {}", syntax(key)))
    }

    /// Refuse unknown keys (`misplaced` explains keys that belong elsewhere) and
    /// missing required keys. `what` names the record in messages.
    fn check(
        &self,
        what: &str,
        allowed: &[&str],
        required: &[&str],
        misplaced: impl Fn(&str) -> Option<String>,
    ) -> Msg<()> {
        for &key in &self.order {
            if allowed.contains(&key) {
                continue;
            }
            if let Some(why) = misplaced(key) {
                return Err(format!("key `{key}` is not allowed in {what}: {why}"));
            }
            return Err(format!(
                "unknown key `{key}` in {what}{}; allowed keys: {}",
                did_you_mean(key, allowed.iter().copied()),
                allowed.join(", ")
            ));
        }
        for key in required {
            if !self.map.contains_key(key) {
                return Err(format!(
                    "missing required key `{key}` in {what}; add {}",
                    syntax(key)
                ));
            }
        }
        Ok(())
    }
}

/// A non-negative decimal number that fits in 64 bits.
fn number(key: &str, v: &str) -> Msg<u64> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{key}={v}`: expected a whole number (digits only), e.g. {}",
            syntax(key)
        ));
    }
    v.parse::<u64>()
        .map_err(|_| format!("`{key}={v}`: the number does not fit in 64 bits"))
}

fn size(key: &str, v: &str) -> Msg<usize> {
    let n = number(key, v)?;
    usize::try_from(n)
        .map_err(|_| format!("`{key}={v}`: the number does not fit in this machine's usize"))
}

/// A comma-separated list of exactly `want` numbers (`names` spells them out).
fn dims<const N: usize>(key: &str, v: &str, names: &str, context: &str) -> Msg<[usize; N]> {
    let parts: Vec<&str> = v.split(',').collect();
    if parts.len() != N {
        return Err(format!(
            "`{key}={v}` {context}needs {N} number{} {names}; got {}",
            if N == 1 { "" } else { "s" },
            parts.len()
        ));
    }
    let mut out = [0; N];
    for (o, p) in out.iter_mut().zip(&parts) {
        *o = size(key, p)?;
    }
    Ok(out)
}

fn shape_list(v: &str) -> Msg<Vec<usize>> {
    v.split(',').map(|p| size("shape", p)).collect()
}

fn show_shape(shape: &[usize]) -> String {
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn boolean(key: &str, v: &str) -> Msg<bool> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("`{key}={v}`: expected true or false")),
    }
}

fn range(key: &str, v: &str) -> Msg<Range> {
    let bad = || {
        format!("`{key}={v}`: expected OFF+LEN (two whole numbers: byte offset from the payload start and length), e.g. {key}=0+32")
    };
    let (off, len) = v.split_once('+').ok_or_else(bad)?;
    if off.is_empty() || len.is_empty() {
        return Err(bad());
    }
    let part = |what: &str, x: &str| {
        if !x.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        x.parse::<u64>()
            .map_err(|_| format!("`{key}={v}`: the {what} `{x}` does not fit in 64 bits"))
    };
    let off = part("offset", off)?;
    let len = part("length", len)?;
    if off.checked_add(len).is_none() {
        return Err(format!("`{key}={v}`: offset + length overflows 64 bits"));
    }
    Ok(Range { off, len })
}

/// Check a geometry completely: no arithmetic on it can overflow, then
/// [`Geometry::validate`], then every size the simulator derives from it (elements,
/// output positions, MACs) fits in 64 bits.
pub fn check_geometry(geom: &Geometry) -> Msg<()> {
    let too_big = |what: &str| format!("the layer is too large: its {what} overflows 64 bits");
    if let Geometry::Conv(c) = geom {
        for (padded, (side, pad)) in [("H + 2·PH", (c.h, c.ph)), ("W + 2·PW", (c.w, c.pw))] {
            pad.checked_mul(2)
                .and_then(|p| p.checked_add(side))
                .ok_or_else(|| too_big(padded))?;
        }
    }
    geom.validate().map_err(|e| e.to_string())?;
    let mul = |xs: &[usize]| {
        xs.iter()
            .try_fold(1u64, |acc, &x| acc.checked_mul(x as u64))
    };
    match *geom {
        Geometry::Conv(c) => {
            let oy = (c.h + 2 * c.ph - c.kh) / c.sh + 1;
            let ox = (c.w + 2 * c.pw - c.kw) / c.sw + 1;
            mul(&[c.c, c.h, c.w]).ok_or_else(|| too_big("activation count C·H·W"))?;
            mul(&[c.f, c.cg(), c.kh, c.kw]).ok_or_else(|| too_big("weight count F·C/G·KH·KW"))?;
            mul(&[c.f, oy, ox]).ok_or_else(|| too_big("output count F·Oy·Ox"))?;
            mul(&[c.f, oy, ox, c.cg(), c.kh, c.kw]).ok_or_else(|| too_big("MAC count"))?;
        }
        Geometry::Fc { c, f } => {
            mul(&[c, f]).ok_or_else(|| too_big("weight count F·C"))?;
        }
    }
    Ok(())
}

/// Storage bytes per int element for `bits`: 1, 2 or 4.
pub fn int_storage_bytes(bits: u8) -> u64 {
    match bits {
        0..=8 => 1,
        9..=16 => 2,
        _ => 4,
    }
}

/// The exact `data` length of a tensor of `n` elements, with a human explanation.
pub fn data_len(shape: &[usize], enc: &Encoding) -> (Option<u64>, String) {
    let n = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    let shown = show_shape(shape);
    match (*enc, n) {
        (_, None) => (None, format!("tensor {shown}")),
        (Encoding::Ternary { levels, .. }, Some(n))
        | (Encoding::Binary { levels, .. }, Some(n)) => {
            let words = n.div_ceil(64);
            let planes: u64 = if enc_is_ternary(enc) { 2 } else { 1 };
            let kind = if planes == 2 { "ternary" } else { "binary" };
            let len = words
                .checked_mul(8 * planes)
                .and_then(|x| x.checked_mul(levels as u64));
            let planes_txt = if planes == 2 { "2 planes" } else { "1 plane" };
            let word_txt = if words == 1 { "word" } else { "words" };
            (len, format!("{levels}-level {kind} {shown} ({planes_txt} × 8 bytes × {words} {word_txt} per level)"))
        }
        (Encoding::Int { bits, signed, .. }, Some(n)) => {
            let w = int_storage_bytes(bits);
            let store = format!("{}{}", if signed { "i" } else { "u" }, 8 * w);
            let len = n.checked_mul(w);
            let unit = if w == 1 { "byte" } else { "bytes" };
            (
                len,
                format!(
                    "{}int{bits} {shown} ({n} elements × {w} {unit}, {store} storage)",
                    if signed { "" } else { "unsigned " }
                ),
            )
        }
    }
}

fn enc_is_ternary(enc: &Encoding) -> bool {
    matches!(enc, Encoding::Ternary { .. })
}

/// The exact `scales` length, with a human explanation (ternary and binary only).
pub fn scales_len(shape: &[usize], enc: &Encoding) -> Option<(u64, String)> {
    match *enc {
        Encoding::Ternary { levels, scale } | Encoding::Binary { levels, scale } => {
            Some(match scale {
                ScaleMode::Tensor => (
                    4 * levels as u64,
                    format!("scale=tensor with {levels} levels ({levels} f32 × 4 bytes)"),
                ),
                ScaleMode::Channel => {
                    let f = shape.first().copied().unwrap_or(1) as u64;
                    (
                    f.saturating_mul(levels as u64).saturating_mul(4),
                    format!("scale=channel with {f} filters and {levels} levels ({f} × {levels} f32 × 4 bytes)"),
                )
                }
            })
        }
        Encoding::Int { .. } => None,
    }
}

const NETWORK_KEYS: [&str; 2] = ["name", "source"];
const CONV_KEYS: [&str; 8] = [
    "name", "op", "in", "out", "kernel", "stride", "pad", "groups",
];
const FC_KEYS: [&str; 4] = ["name", "op", "in", "out"];
const PLANE_KEYS: [&str; 3] = ["levels", "scale", "scales"];
const INT_KEYS: [&str; 4] = ["bits", "signed", "precision", "scale"];

impl Header {
    /// Check every rule of the format on `raw`, whose payload is `payload_len` bytes.
    pub fn validate(raw: &RawHeader, payload_len: u64, path: &str) -> Result<Header> {
        let at = |line: usize| move |msg: String| Error::header(path, line, msg);

        // Kinds, and `network` exactly once and first.
        let mut network: Option<(usize, String, Option<String>)> = None;
        for rec in &raw.records {
            if !KINDS.contains(&rec.kind.as_str()) {
                return Err(Error::header(
                    path,
                    rec.line,
                    format!(
                        "unknown record kind `{}`{}; records are network, layer, weights and acts",
                        rec.kind,
                        did_you_mean(&rec.kind, KINDS)
                    ),
                ));
            }
            match (&network, rec.kind.as_str()) {
                (None, "network") => {
                    let f = Fields::new(rec).map_err(at(rec.line))?;
                    f.check("the network record", &NETWORK_KEYS, &["name"], |_| None).map_err(at(rec.line))?;
                    let name = f.req("name").map_err(at(rec.line))?.to_string();
                    network = Some((rec.line, name, f.get("source").map(str::to_string)));
                }
                (None, kind) => {
                    return Err(Error::header(
                        path,
                        rec.line,
                        format!("found a `{kind}` record before the `network` record; the first record must be `network name=NAME`"),
                    ))
                }
                (Some((first, ..)), "network") => {
                    return Err(Error::header(
                        path,
                        rec.line,
                        format!("a second `network` record (the first is on line {first}); a file holds exactly one network"),
                    ))
                }
                _ => {}
            }
        }
        let Some((_, name, source)) = network else {
            return Err(Error::header(
                path,
                raw.end_line,
                "the header has no `network` record; add `network name=NAME` as its first record",
            ));
        };

        // Layers.
        let mut layers: Vec<LayerHeader> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        for rec in raw.records.iter().filter(|r| r.kind == "layer") {
            let layer = layer_record(rec).map_err(at(rec.line))?;
            if let Some(&i) = by_name.get(&layer.name) {
                return Err(Error::header(
                    path,
                    rec.line,
                    format!(
                        "layer name `{}` is already used on line {}; layer names must be unique",
                        layer.name, layers[i].line
                    ),
                ));
            }
            by_name.insert(layer.name.clone(), layers.len());
            layers.push(layer);
        }

        // Tensors.
        let mut tensors: Vec<TensorHeader> = Vec::new();
        let mut weights_line: Vec<Option<usize>> = vec![None; layers.len()];
        let mut act_lines: HashMap<(usize, u32), usize> = HashMap::new();
        for rec in raw
            .records
            .iter()
            .filter(|r| r.kind == "weights" || r.kind == "acts")
        {
            let t = tensor_record(rec, &layers, &by_name, payload_len).map_err(at(rec.line))?;
            let lname = &layers[t.layer].name;
            match t.sample {
                None => {
                    if let Some(first) = weights_line[t.layer] {
                        return Err(Error::header(
                            path,
                            rec.line,
                            format!("a second `weights` record for layer `{lname}` (the first is on line {first}); each layer has exactly one"),
                        ));
                    }
                    weights_line[t.layer] = Some(rec.line);
                }
                Some(s) => {
                    if let Some(first) = act_lines.insert((t.layer, s), rec.line) {
                        return Err(Error::header(
                            path,
                            rec.line,
                            format!("layer `{lname}` already has acts for sample {s} (line {first}); samples of one layer must be unique"),
                        ));
                    }
                }
            }
            tensors.push(t);
        }
        if let Some(l) = layers
            .iter()
            .zip(&weights_line)
            .find(|(_, w)| w.is_none())
            .map(|(l, _)| l)
        {
            return Err(Error::header(
                path,
                l.line,
                format!(
                    "layer `{}` has no `weights` record; add exactly one `weights layer={} …`",
                    l.name, l.name
                ),
            ));
        }

        // No two ranges overlap.
        let mut ranges: Vec<(Range, &'static str, usize)> = Vec::new();
        for t in &tensors {
            ranges.push((t.data, "data", t.line));
            if let Some(s) = t.scales {
                ranges.push((s, "scales", t.line));
            }
        }
        ranges.sort_by_key(|&(r, _, line)| (r.off, r.end(), line));
        let mut reach: Option<(Range, &str, usize)> = None;
        for &(r, key, line) in &ranges {
            if let Some((p, pkey, pline)) = reach {
                if r.off < p.end() {
                    let (first, second) = if pline <= line {
                        ((p, pkey, pline), (r, key, line))
                    } else {
                        ((r, key, line), (p, pkey, pline))
                    };
                    let (a, akey, aline) = first;
                    let (b, bkey, bline) = second;
                    return Err(Error::header(
                        path,
                        bline,
                        format!(
                            "{bkey}={}+{} (payload bytes {}..{}) overlaps {akey}={}+{} on line {aline} (payload bytes {}..{}); ranges may not overlap, move one of them",
                            b.off,
                            b.len,
                            b.off,
                            b.end(),
                            a.off,
                            a.len,
                            a.off,
                            a.end()
                        ),
                    ));
                }
            }
            if reach.is_none_or(|(p, ..)| r.end() > p.end()) {
                reach = Some((r, key, line));
            }
        }

        Ok(Header {
            name,
            source,
            layers,
            tensors,
            len: raw.len,
        })
    }
}

fn layer_record(rec: &RawRecord) -> Msg<LayerHeader> {
    let f = Fields::new(rec)?;
    let op = f.req("op")?;
    let geom = match op {
        "conv" => {
            f.check(
                "an op=conv layer record",
                &CONV_KEYS,
                &["name", "op", "in", "out", "kernel"],
                |_| None,
            )?;
            let [c, h, w] = dims("in", f.req("in")?, "C,H,W", "for an op=conv layer ")?;
            let out = size("out", f.req("out")?)?;
            let [kh, kw] = dims("kernel", f.req("kernel")?, "KH,KW", "")?;
            let [sh, sw] = match f.get("stride") {
                Some(v) => dims("stride", v, "SH,SW", "")?,
                None => [1, 1],
            };
            let [ph, pw] = match f.get("pad") {
                Some(v) => dims("pad", v, "PH,PW", "")?,
                None => [0, 0],
            };
            let groups = match f.get("groups") {
                Some(v) => size("groups", v)?,
                None => 1,
            };
            Geometry::Conv(Conv {
                c,
                h,
                w,
                f: out,
                kh,
                kw,
                sh,
                sw,
                ph,
                pw,
                groups,
            })
        }
        "fc" => {
            f.check(
                "an op=fc layer record",
                &FC_KEYS,
                &["name", "op", "in", "out"],
                |k| {
                    ["kernel", "stride", "pad", "groups"]
                        .contains(&k)
                        .then(|| "it is only for op=conv layers; remove it".to_string())
                },
            )?;
            let [c] = dims("in", f.req("in")?, "C", "for an op=fc layer ")?;
            let out = size("out", f.req("out")?)?;
            Geometry::Fc { c, f: out }
        }
        other => {
            return Err(format!(
                "`op={other}`: expected op=conv or op=fc{}",
                did_you_mean(other, ["conv", "fc"])
            ))
        }
    };
    let name = f.req("name")?.to_string();
    check_geometry(&geom).map_err(|m| format!("layer `{name}`: {m}"))?;
    Ok(LayerHeader {
        line: rec.line,
        name,
        geom,
    })
}

fn tensor_record(
    rec: &RawRecord,
    layers: &[LayerHeader],
    by_name: &HashMap<String, usize>,
    payload_len: u64,
) -> Msg<TensorHeader> {
    let is_acts = rec.kind == "acts";
    let f = Fields::new(rec)?;
    let enc_name = f.req("enc")?;
    let mut allowed: Vec<&str> = vec!["layer"];
    if is_acts {
        allowed.push("sample");
    }
    allowed.extend(["shape", "enc", "data"]);
    let plane = match enc_name {
        "ternary" | "binary" => true,
        "int" => false,
        other => {
            return Err(format!(
                "`enc={other}`: expected enc=ternary, enc=binary or enc=int{}",
                did_you_mean(other, ["ternary", "binary", "int"])
            ))
        }
    };
    allowed.extend(if plane {
        &PLANE_KEYS[..]
    } else {
        &INT_KEYS[..]
    });
    let mut required = allowed.clone();
    if !plane {
        required.retain(|k| !["signed", "precision", "scale"].contains(k));
    }
    let what = format!("an enc={enc_name} {} record", rec.kind);
    f.check(&what, &allowed, &required, |k| match k {
        "sample" => Some("weights have no sample; only acts records do".into()),
        "scales" => Some("int tensors have no `scales` (an int tensor may carry one `scale=S` literal); remove it".into()),
        "levels" => Some("it is only for enc=ternary and enc=binary".into()),
        "bits" | "signed" | "precision" => Some("it is only for enc=int".into()),
        _ => None,
    })?;

    let lname = f.req("layer")?;
    let layer = *by_name.get(lname).ok_or_else(|| {
        format!(
            "unknown layer `{lname}`{}; weights and acts must name a layer record",
            did_you_mean(lname, layers.iter().map(|l| l.name.as_str()))
        )
    })?;
    let geom = &layers[layer].geom;
    let sample = match is_acts {
        true => {
            let v = f.req("sample")?;
            let n = number("sample", v)?;
            Some(u32::try_from(n).map_err(|_| {
                format!(
                    "`sample={v}`: the sample index must be at most {}",
                    u32::MAX
                )
            })?)
        }
        false => None,
    };

    let shape = shape_list(f.req("shape")?)?;
    let (implied, what_shape) = if is_acts {
        (
            geom.act_shape(),
            if geom.op() == "conv" { "C,H,W" } else { "C" },
        )
    } else {
        (
            geom.weight_shape(),
            if geom.op() == "conv" {
                "F,C/G,KH,KW"
            } else {
                "F,C"
            },
        )
    };
    if shape != implied {
        return Err(format!(
            "shape={} does not match the shape {} ({what_shape}) that layer `{lname}` ({}) implies for its {}; write shape={}",
            show_shape(&shape),
            show_shape(&implied),
            geom.describe(),
            if is_acts { "acts" } else { "weights" },
            show_shape(&implied)
        ));
    }

    let enc = if plane {
        let levels = small("levels", f.req("levels")?, 1, 8)?;
        let scale = match f.req("scale")? {
            "tensor" => ScaleMode::Tensor,
            "channel" => ScaleMode::Channel,
            other => {
                return Err(format!(
                    "`scale={other}`: expected scale=tensor or scale=channel{}",
                    did_you_mean(other, ["tensor", "channel"])
                ))
            }
        };
        if is_acts && scale == ScaleMode::Channel {
            return Err("scale=channel is only for weights (one scale per filter and level); acts use scale=tensor".into());
        }
        if enc_name == "ternary" {
            Encoding::Ternary { levels, scale }
        } else {
            Encoding::Binary { levels, scale }
        }
    } else {
        let bits = small("bits", f.req("bits")?, 1, 32)?;
        let signed = match f.get("signed") {
            Some(v) => boolean("signed", v)?,
            None => true,
        };
        let precision = match f.get("precision") {
            Some(v) => small("precision", v, 1, bits as u64)?,
            None => bits,
        };
        let scale = match f.get("scale") {
            Some(v) => {
                let s: f32 = v.parse().map_err(|_| {
                    format!("`scale={v}`: an int tensor's scale is an f32 literal such as scale=0.05 (tensor/channel are for ternary and binary)")
                })?;
                if !s.is_finite() {
                    return Err(format!("`scale={v}`: the scale must be a finite f32"));
                }
                Some(s)
            }
            None => None,
        };
        Encoding::Int {
            bits,
            signed,
            precision,
            scale,
        }
    };

    let (want, explain) = data_len(&shape, &enc);
    let want = want.ok_or_else(|| format!("{explain}: the data length overflows 64 bits"))?;
    let data = range("data", f.req("data")?)?;
    if data.len != want {
        return Err(format!(
            "data={}+{}: expected {want} bytes for {explain}; got {}; write data={}+{want}",
            data.off, data.len, data.len, data.off
        ));
    }
    inside("data", data, payload_len)?;
    let scales = match scales_len(&shape, &enc) {
        Some((want, explain)) => {
            let r = range("scales", f.req("scales")?)?;
            if r.len != want {
                return Err(format!(
                    "scales={}+{}: expected {want} bytes of scales for {explain}; got {}; write scales={}+{want}",
                    r.off, r.len, r.len, r.off
                ));
            }
            inside("scales", r, payload_len)?;
            Some(r)
        }
        None => None,
    };
    Ok(TensorHeader {
        line: rec.line,
        layer,
        sample,
        shape,
        enc,
        data,
        scales,
    })
}

fn inside(key: &str, r: Range, payload_len: u64) -> Msg<()> {
    if r.end() > payload_len {
        return Err(format!(
            "{key}={}+{} ends at payload byte {} but the payload has only {payload_len} bytes; ranges must lie inside the file (is the file truncated?)",
            r.off,
            r.len,
            r.end()
        ));
    }
    Ok(())
}

fn small(key: &str, v: &str, lo: u64, hi: u64) -> Msg<u8> {
    let n = number(key, v)
        .map_err(|_| format!("`{key}={v}`: expected a whole number in {lo}..={hi}"))?;
    if n < lo || n > hi {
        return Err(format!("`{key}={v}`: {key} must be in {lo}..={hi}"));
    }
    u8::try_from(n).map_err(|_| format!("`{key}={v}`: {key} must be in {lo}..={hi}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(line: &str) -> (String, Vec<(String, String, bool)>) {
        let (k, f) = parse_record(line).unwrap().unwrap();
        (
            k,
            f.into_iter().map(|f| (f.key, f.value, f.quoted)).collect(),
        )
    }

    #[test]
    fn parses_bare_and_quoted_values() {
        let (k, f) = rec(r#"network name=a.b:c/d+e,f-g_h  source="x y # z""#);
        assert_eq!(k, "network");
        assert_eq!(f[0], ("name".into(), "a.b:c/d+e,f-g_h".into(), false));
        assert_eq!(f[1], ("source".into(), "x y # z".into(), true));
        assert_eq!(rec("network name=\"\"").1[0].1, "");
    }

    #[test]
    fn blank_and_comment_lines_are_skipped() {
        assert_eq!(parse_record("").unwrap(), None);
        assert_eq!(parse_record(" \t ").unwrap(), None);
        assert_eq!(parse_record("# anything = goes \"").unwrap(), None);
    }

    #[test]
    fn syntax_errors_say_where_and_why() {
        let e = parse_record("layer name=a;b").unwrap_err();
        assert!(
            e.contains("`;` at column 13") && e.contains("double quotes"),
            "{e}"
        );
        let e = parse_record("layer name=\"ab").unwrap_err();
        assert!(e.contains("unterminated") && e.contains("column 12"), "{e}");
        let e = parse_record("layer name= op=fc").unwrap_err();
        assert!(e.contains("has no value"), "{e}");
        let e = parse_record("layer name").unwrap_err();
        assert!(e.contains("expected key=value"), "{e}");
        let e = parse_record("layer name=\"a\"op=fc").unwrap_err();
        assert!(e.contains("after the closing quote"), "{e}");
        let e = parse_record("  layer name=a").unwrap_err();
        assert!(e.contains("leading whitespace"), "{e}");
        let e = parse_record("layer name=a\r").unwrap_err();
        assert!(e.contains("CRLF"), "{e}");
    }

    #[test]
    fn header_reading_stops_at_end_and_counts_bytes() {
        let text = b"MLTQ 1\n# c\nnetwork name=n\n\nend\nPAYLOAD";
        let mut r: &[u8] = text;
        let h = read_header(&mut r, "t").unwrap();
        assert_eq!(h.len, 31);
        assert_eq!(h.end_line, 5);
        assert_eq!(h.records.len(), 1);
        assert_eq!(h.records[0].line, 3);
        assert_eq!(r, b"PAYLOAD");
    }

    #[test]
    fn first_line_is_checked_before_reading_on() {
        let mut r: &[u8] = b"MLTQ 2\nnetwork name=n\nend\n";
        let e = read_header(&mut r, "t").unwrap_err().to_string();
        assert!(e.starts_with("t:1:") && e.contains("version 2"), "{e}");
        let long = vec![b'x'; 1 << 20];
        let mut r: &[u8] = &long;
        let e = read_header(&mut r, "t").unwrap_err().to_string();
        assert!(e.contains("not a .mltq file"), "{e}");
        assert_eq!(r.len(), (1 << 20) - 64, "only a few bytes are read");
    }

    #[test]
    fn data_lengths_follow_the_spec() {
        let t = Encoding::Ternary {
            levels: 2,
            scale: ScaleMode::Tensor,
        };
        let (n, why) = data_len(&[5, 20, 3, 3], &t);
        assert_eq!(n, Some(480));
        assert_eq!(
            why,
            "2-level ternary 5,20,3,3 (2 planes × 8 bytes × 15 words per level)"
        );
        let b = Encoding::Binary {
            levels: 3,
            scale: ScaleMode::Tensor,
        };
        assert_eq!(data_len(&[65], &b).0, Some(48));
        let i = |bits| Encoding::Int {
            bits,
            signed: true,
            precision: bits,
            scale: None,
        };
        assert_eq!(data_len(&[3], &i(8)).0, Some(3));
        assert_eq!(data_len(&[3], &i(9)).0, Some(6));
        assert_eq!(data_len(&[3], &i(17)).0, Some(12));
        assert_eq!(data_len(&[usize::MAX, 2], &t).0, None);
        let c = Encoding::Ternary {
            levels: 2,
            scale: ScaleMode::Channel,
        };
        assert_eq!(scales_len(&[5, 20, 3, 3], &c).unwrap().0, 40);
    }

    #[test]
    fn huge_geometry_is_refused_without_overflow() {
        let g = Geometry::Conv(Conv {
            c: 1,
            h: 1,
            w: 1,
            f: 1,
            kh: 1,
            kw: 1,
            sh: 1,
            sw: 1,
            ph: usize::MAX / 2 + 1,
            pw: 0,
            groups: 1,
        });
        assert!(check_geometry(&g).unwrap_err().contains("overflows"));
        let g = Geometry::Fc {
            c: usize::MAX,
            f: 2,
        };
        assert!(check_geometry(&g).unwrap_err().contains("overflows"));
    }
}
