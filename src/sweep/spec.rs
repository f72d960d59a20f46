//! The sweep file (`experiments/NAME.toml`, docs in experiments/README.md): raw TOML as
//! serde parses it, validated once into a [`Spec`], then enumerated into [`Point`]s.
//!
//! ```toml
//! name = "density"                       # optional; default: the file's stem
//! description = "free text"              # optional
//!
//! [fixed]                                # one value per parameter
//! arch = "arch/pe16.toml"                # relative to this file
//! acts = "ternary:2"
//!
//! [grid]                                 # each list is an axis; the points are
//! network = ["resnet20", "resnet18"]     # the cartesian product of all axes
//! weight_density = [1.0, 0.5, 0.1]
//!
//! [[zip]]                                # lists of one [[zip]] vary together:
//! weights = ["ternary:1", "ternary:2"]   # one axis, all lists the same length
//! acts = ["ternary:1", "ternary:2"]
//! ```
//!
//! Parameters, in their canonical order (see [`Param`]): `model` (a `.mltq` file or a
//! built-in name, as `simulate --model`) or `network` (a built-in network generated
//! with `weights`, `acts`, `weight_density`, `act_density`, `seed`); `sample` (file
//! models); `arch` (an arch file); `tiles`, `rows`, `columns`, `lanes`,
//! `column_registers` (overrides of the arch's `[array]`); then `scheme.NAME.KEY` (a key
//! of one `[[scheme]]` of the arch, [`SchemeKey`]), sorted by scheme name, then key.
//! Those are written quoted (`"scheme.mltq-bit.min_cycles" = [0, 1]`) or dotted
//! (`scheme.mltq-bit.min_cycles = [0, 1]`), so their names are not known in advance:
//! they are taken out of the document before serde reads the rest.
//!
//! Points are enumerated with the axes in the canonical order of their first parameter,
//! the last axis varying fastest: model and generator settings outermost, array
//! overrides innermost. Point `i` has the id `i-HASH`, HASH being the first 8 hex digits
//! of the SHA-256 of its `name=value;` parameter list. Points are computed from their
//! index on demand ([`Spec::point`], [`Spec::points`]), never all held at once; a sweep
//! has at most [`MAX_POINTS`].
//!
//! Array overrides are checked by [`crate::arch::array_value`], the function that
//! checks the same keys in an arch file, so a sweep accepts exactly what an arch file
//! accepts (the checks across keys, such as the total number of multipliers, run on
//! each point's arch when the sweep starts). Scheme keys likewise, by
//! [`crate::arch::scheme_value`], with the arch file's message at the value.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::arch::{
    scheme_key_type, scheme_value, KeyType, KeyValue, SchemeSetting, SETTABLE_SCHEME_KEYS,
};
use crate::encoding::EncSpec;
use crate::error::{did_you_mean, Error, Result};

/// The most points a sweep may have: 2^24 (16 777 216). Each point costs a few bytes
/// of bookkeeping while the sweep runs (its model, its place in the journal).
pub const MAX_POINTS: usize = 1 << 24;

/// A sweep parameter, in canonical order (the order of axes and CSV columns): the fixed
/// parameters in the order of [`Param::ALL`], then the scheme keys ([`SchemeKey`]) by
/// scheme name, then key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Param {
    /// A `.mltq` file or a built-in network name (generated with the default settings).
    Model,
    /// A built-in network generated with the `weights` … `seed` parameters.
    Network,
    /// Weight encoding of a generated network (`ternary:L`, `binary:L`, `int:B`).
    Weights,
    /// Activation encoding of a generated network.
    Acts,
    /// Fraction of nonzero weights of a generated network.
    WeightDensity,
    /// Fraction of nonzero activations of a generated network.
    ActDensity,
    /// Seed of a generated network.
    Seed,
    /// Sample of a model file whose activations are simulated.
    Sample,
    /// Arch file.
    Arch,
    /// Override of `[array] tiles`.
    Tiles,
    /// Override of `[array] rows`.
    Rows,
    /// Override of `[array] columns`.
    Columns,
    /// Override of `[array] lanes`.
    Lanes,
    /// Override of `[array] column_registers`.
    ColumnRegisters,
    /// A key of one scheme of the arch: `scheme.NAME.KEY`.
    Scheme(SchemeKey),
}

/// A `[[scheme]]` key of one scheme, set by a sweep: the parameter `scheme.NAME.KEY`.
/// KEY is one of [`crate::arch::SETTABLE_SCHEME_KEYS`]; NAME any scheme name (the arch
/// files of the sweep must list it). Ordered by scheme name, then key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SchemeKey {
    scheme: Arc<str>,
    key: &'static str,
    name: Arc<str>,
}

impl SchemeKey {
    /// The key `key` of scheme `scheme`, if `key` is one a sweep may set.
    pub fn new(scheme: &str, key: &str) -> Option<SchemeKey> {
        let key = *SETTABLE_SCHEME_KEYS.iter().find(|k| **k == key)?;
        Some(SchemeKey {
            scheme: Arc::from(scheme),
            key,
            name: Arc::from(format!("scheme.{scheme}.{key}")),
        })
    }

    /// The key of a parameter name `scheme.NAME.KEY` (NAME may hold dots).
    pub fn parse(name: &str) -> Option<SchemeKey> {
        let (scheme, key) = name.strip_prefix("scheme.")?.rsplit_once('.')?;
        SchemeKey::new(scheme, key)
    }

    /// The scheme's name.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The `[[scheme]]` key.
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// `scheme.NAME.KEY`: the parameter's name and CSV column.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the key holds.
    pub fn key_type(&self) -> KeyType {
        scheme_key_type(self.key).expect("a settable key has a type")
    }

    /// `value` (of this key's type, as parsed) as the arch layer takes it.
    pub fn setting(&self, value: &Value) -> SchemeSetting {
        let value = match value {
            Value::Text(t) => KeyValue::Text(t.clone()),
            Value::Int(n) => KeyValue::Int(i64::try_from(*n).unwrap_or(i64::MAX)),
            Value::Real(x) => KeyValue::Number(*x),
            Value::Enc(e) => KeyValue::Text(e.to_string()),
        };
        SchemeSetting {
            scheme: self.scheme.to_string(),
            key: self.key.to_string(),
            value,
        }
    }
}

impl PartialOrd for SchemeKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SchemeKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.scheme, self.key).cmp(&(&other.scheme, other.key))
    }
}

impl Param {
    /// Every parameter with a fixed name, in canonical order (the scheme keys follow).
    pub const ALL: [Param; 14] = [
        Param::Model,
        Param::Network,
        Param::Weights,
        Param::Acts,
        Param::WeightDensity,
        Param::ActDensity,
        Param::Seed,
        Param::Sample,
        Param::Arch,
        Param::Tiles,
        Param::Rows,
        Param::Columns,
        Param::Lanes,
        Param::ColumnRegisters,
    ];

    /// The parameter of a name: one of [`Param::ALL`] or `scheme.NAME.KEY`.
    pub fn from_name(name: &str) -> Option<Param> {
        Param::ALL
            .iter()
            .find(|p| p.name() == name)
            .cloned()
            .or_else(|| SchemeKey::parse(name).map(Param::Scheme))
    }

    /// The key in sweep files and the CSV column name.
    pub fn name(&self) -> &str {
        match self {
            Param::Scheme(k) => k.name(),
            Param::Model => "model",
            Param::Network => "network",
            Param::Weights => "weights",
            Param::Acts => "acts",
            Param::WeightDensity => "weight_density",
            Param::ActDensity => "act_density",
            Param::Seed => "seed",
            Param::Sample => "sample",
            Param::Arch => "arch",
            Param::Tiles => "tiles",
            Param::Rows => "rows",
            Param::Columns => "columns",
            Param::Lanes => "lanes",
            Param::ColumnRegisters => "column_registers",
        }
    }

    /// Is this a setting of `mltq gen`?
    pub fn is_gen(&self) -> bool {
        matches!(
            self,
            Param::Weights | Param::Acts | Param::WeightDensity | Param::ActDensity | Param::Seed
        )
    }

    /// The kind of this parameter's CSV cells (for typed readers, as
    /// [`crate::report::columns::kind`] for the report's columns).
    pub fn kind(&self) -> crate::report::columns::ColumnKind {
        use crate::report::columns::ColumnKind;
        match self {
            Param::Scheme(k) => match k.key_type() {
                KeyType::Text => ColumnKind::Text,
                KeyType::Int => ColumnKind::Int,
                KeyType::Number => ColumnKind::Float,
            },
            Param::Model | Param::Network | Param::Weights | Param::Acts | Param::Arch => {
                ColumnKind::Text
            }
            Param::WeightDensity | Param::ActDensity => ColumnKind::Float,
            Param::Seed
            | Param::Sample
            | Param::Tiles
            | Param::Rows
            | Param::Columns
            | Param::Lanes
            | Param::ColumnRegisters => ColumnKind::Int,
        }
    }

    /// Is this an override of the arch's `[array]`?
    pub fn is_array(&self) -> bool {
        matches!(
            self,
            Param::Tiles | Param::Rows | Param::Columns | Param::Lanes | Param::ColumnRegisters
        )
    }

    /// Does this parameter get its own CSV column? `network` and `sample` do not: the
    /// report's own `network` and `sample` columns already hold them.
    pub fn has_column(&self) -> bool {
        !matches!(self, Param::Network | Param::Sample)
    }

    /// The scheme key this parameter sets, if it is one.
    pub fn scheme_key(&self) -> Option<&SchemeKey> {
        match self {
            Param::Scheme(k) => Some(k),
            _ => None,
        }
    }
}

impl Serialize for Param {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One parameter value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// A path or a name.
    Text(String),
    /// An encoding.
    Enc(EncSpec),
    /// A fraction.
    Real(f64),
    /// A count, seed or size.
    Int(u64),
}

impl fmt::Display for Value {
    /// The spelling used in CSV cells and point hashes: `{}` of the value (the shortest
    /// decimal that reads back as the same f64).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) => f.write_str(s),
            Value::Enc(e) => write!(f, "{e}"),
            Value::Real(x) => write!(f, "{x}"),
            Value::Int(n) => write!(f, "{n}"),
        }
    }
}

impl Value {
    /// The value as text (paths, names).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an encoding.
    pub fn as_enc(&self) -> Option<EncSpec> {
        match self {
            Value::Enc(e) => Some(*e),
            _ => None,
        }
    }

    /// The value as a fraction.
    pub fn as_real(&self) -> Option<f64> {
        match self {
            Value::Real(x) => Some(*x),
            _ => None,
        }
    }

    /// The value as an integer.
    pub fn as_int(&self) -> Option<u64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// A hashable form: values equal as [`Value`]s have equal keys (0.0 and -0.0 too),
    /// so repeats are found in one pass, not by comparing every pair.
    fn key(&self) -> ValueKey {
        match self {
            Value::Text(s) => ValueKey::Text(s.clone()),
            Value::Enc(e) => ValueKey::Text(e.to_string()),
            Value::Real(x) => ValueKey::Real((x + 0.0).to_bits()),
            Value::Int(n) => ValueKey::Int(*n),
        }
    }
}

/// See [`Value::key`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ValueKey {
    Text(String),
    Real(u64),
    Int(u64),
}

type Span = Range<usize>;

/// Declares the raw tables once for every parameter: `[fixed]` (one value each) and
/// `[grid]` / `[[zip]]` (a list each).
macro_rules! raw_params {
    ($( $field:ident : $ty:ty => $param:ident ),* $(,)?) => {
        /// `[fixed]` as parsed.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RawFixed {
            $( #[serde(default)] $field: Option<Spanned<$ty>>, )*
        }

        /// `[grid]` or one `[[zip]]` as parsed.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RawAxes {
            $( #[serde(default)] $field: Option<Spanned<Vec<Spanned<$ty>>>>, )*
        }

        impl RawFixed {
            fn entries(self) -> Vec<(Param, Span, Value)> {
                let mut out = Vec::new();
                $( if let Some(v) = self.$field {
                    let span = v.span();
                    out.push((Param::$param, span, Value::from(v.into_inner())));
                } )*
                out
            }
        }

        impl RawAxes {
            fn entries(self) -> Vec<(Param, Span, Vec<(Span, Value)>)> {
                let mut out = Vec::new();
                $( if let Some(v) = self.$field {
                    let span = v.span();
                    let values = v
                        .into_inner()
                        .into_iter()
                        .map(|x| (x.span(), Value::from(x.into_inner())))
                        .collect();
                    out.push((Param::$param, span, values));
                } )*
                out
            }
        }
    };
}

raw_params! {
    model: String => Model,
    network: String => Network,
    weights: EncSpec => Weights,
    acts: EncSpec => Acts,
    weight_density: f64 => WeightDensity,
    act_density: f64 => ActDensity,
    seed: u64 => Seed,
    sample: u64 => Sample,
    arch: String => Arch,
    tiles: u64 => Tiles,
    rows: u64 => Rows,
    columns: u64 => Columns,
    lanes: u64 => Lanes,
    column_registers: u64 => ColumnRegisters,
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(s)
    }
}
impl From<EncSpec> for Value {
    fn from(e: EncSpec) -> Value {
        Value::Enc(e)
    }
}
impl From<f64> for Value {
    fn from(x: f64) -> Value {
        Value::Real(x)
    }
}
impl From<u64> for Value {
    fn from(n: u64) -> Value {
        Value::Int(n)
    }
}

/// The whole file as parsed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: Option<Spanned<String>>,
    description: Option<String>,
    #[serde(default)]
    fixed: RawFixed,
    #[serde(default)]
    grid: RawAxes,
    #[serde(default)]
    zip: Vec<Spanned<RawAxes>>,
}

/// Whether an axis comes from `[grid]` or a `[[zip]]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AxisKind {
    /// One parameter of `[grid]`.
    Grid,
    /// All parameters of one `[[zip]]`.
    Zip,
}

/// One axis of the sweep: parameters varied together.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Axis {
    /// Grid or zip.
    pub kind: AxisKind,
    /// Its parameters, in canonical order.
    pub params: Vec<Param>,
    /// `values[i]`: the values of every parameter at position i of the axis.
    pub values: Vec<Vec<Value>>,
}

impl Axis {
    /// Positions along the axis.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True for an axis without positions (never after validation).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A validated sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// `name`, or the file's stem.
    pub name: String,
    /// `description`.
    pub description: Option<String>,
    /// The file as given (messages and the JSON record).
    pub path: String,
    /// The file's text.
    pub text: String,
    /// Directory relative paths are resolved against (the file's).
    pub dir: PathBuf,
    /// `[fixed]` values.
    pub fixed: BTreeMap<Param, Value>,
    /// Axes, in the canonical order of their first parameter (the last varies fastest).
    pub axes: Vec<Axis>,
    /// Every parameter the file names, in canonical order.
    pub params: Vec<Param>,
    /// Where each parameter is set (the byte span of its key), for messages about it
    /// once the arch files are read ([`Spec::error_at`]).
    pub spans: BTreeMap<Param, Span>,
}

/// One point of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Position in the enumeration (0-based).
    pub index: usize,
    /// `index-HASH`.
    pub id: String,
    /// Every parameter's value, in canonical order.
    pub values: Vec<(Param, Value)>,
}

impl Point {
    /// The value of a parameter (given or borrowed), if the sweep sets it.
    pub fn get(&self, p: impl Borrow<Param>) -> Option<&Value> {
        let p = p.borrow();
        self.values.iter().find(|(q, _)| q == p).map(|(_, v)| v)
    }

    /// `name=value name=value …`, for messages.
    pub fn label(&self) -> String {
        self.values
            .iter()
            .map(|(p, v)| format!("{p}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The id of point `index` with these values: `index-HASH`.
pub fn point_id(index: usize, values: &[(Param, Value)]) -> String {
    let mut h = Sha256::new();
    for (p, v) in values {
        h.update(format!("{p}={v};").as_bytes());
    }
    let hex: String = h.finalize()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{index}-{hex}")
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

struct Ctx<'a> {
    text: &'a str,
    path: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: &Span, msg: impl Into<String>) -> Error {
        let (line, col) = line_col(self.text, span.start);
        Error::sweep(self.path, line, col, msg)
    }
}

impl Spec {
    /// Read and validate a sweep file. `networks` are the built-in network names.
    pub fn load(path: &Path, networks: &[&str]) -> Result<Spec> {
        let text = crate::files::read_text(path, "a sweep file", crate::files::Limit::Toml)?;
        Spec::parse(&text, path, networks)
    }

    /// Parse and validate sweep TOML. `path` names the file in messages, gives the
    /// default name (its stem) and the directory relative paths start from.
    pub fn parse(text: &str, path: &Path, networks: &[&str]) -> Result<Spec> {
        let shown = path.display().to_string();
        let cx = Ctx { text, path: &shown };
        let (raw, scheme_keys) = read_raw(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let mut msg = e.message().trim().to_string();
            if let Some(rest) = msg.strip_prefix("unknown field `") {
                if let Some((found, _)) = rest.split_once('`') {
                    let names = Param::ALL.iter().map(|p| p.name());
                    let tables = ["name", "description", "fixed", "grid", "zip"];
                    let hint = did_you_mean(found, names.chain(tables));
                    let scheme_hint = if hint.is_empty() && SETTABLE_SCHEME_KEYS.contains(&found) {
                        format!(
                            "; `{found}` is a key of a [[scheme]]: set it for one scheme as \
                             `scheme.NAME.{found}` (e.g. `scheme.mltq-bit.{found}`)"
                        )
                    } else {
                        String::new()
                    };
                    msg.push_str(&hint);
                    msg.push_str(&scheme_hint);
                }
            }
            cx.err(&span, msg)
        })?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };

        let name = match raw.name {
            Some(n) => {
                let span = n.span();
                let n = n.into_inner();
                let ok = !n.is_empty()
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
                if !ok {
                    return Err(cx.err(
                        &span,
                        format!("name `{n}`: use letters, digits, `-`, `_` and `.` only"),
                    ));
                }
                n
            }
            None => path
                .file_stem()
                .map_or("sweep".to_string(), |s| s.to_string_lossy().into_owned()),
        };

        // Where each parameter was set, to refuse a second setting.
        let mut seen: BTreeMap<Param, (Span, &'static str)> = BTreeMap::new();
        let mut first_set = |p: Param, span: &Span, table: &'static str| -> Result<()> {
            if let Some((prev, prev_table)) = seen.get(&p) {
                let (line, _) = line_col(text, prev.start);
                return Err(cx.err(
                    span,
                    format!(
                        "`{p}` is already set in {prev_table} (line {line}); a parameter is \
                         either fixed, one [grid] axis or part of one [[zip]]"
                    ),
                ));
            }
            seen.insert(p, (span.clone(), table));
            Ok(())
        };

        let mut fixed_entries = raw.fixed.entries();
        for e in scheme_keys.fixed {
            let (p, span) = scheme_param(&cx, &e)?;
            let k = p.scheme_key().expect("a scheme key");
            let v = scheme_entry_value(&cx, k, e.value)?;
            fixed_entries.push((p, span, v));
        }
        let mut grid_entries = raw.grid.entries();
        grid_entries.extend(scheme_lists(&cx, "[grid]", scheme_keys.grid)?);
        let mut zips = Vec::with_capacity(raw.zip.len());
        let mut zip_keys = scheme_keys.zip.into_iter();
        for z in raw.zip {
            let zspan = z.span();
            let mut entries = z.into_inner().entries();
            entries.extend(scheme_lists(
                &cx,
                "[[zip]]",
                zip_keys.next().unwrap_or_default(),
            )?);
            zips.push((zspan, entries));
        }

        let mut fixed = BTreeMap::new();
        for (p, span, v) in fixed_entries {
            first_set(p.clone(), &span, "[fixed]")?;
            check_value(&cx, &p, &span, &v, &dir, networks)?;
            fixed.insert(p, v);
        }
        let mut axes = Vec::new();
        for (p, span, values) in grid_entries {
            first_set(p.clone(), &span, "[grid]")?;
            if values.is_empty() {
                return Err(cx.err(
                    &span,
                    format!("[grid] `{p}` is empty: give at least one value"),
                ));
            }
            let mut seen_values = HashSet::with_capacity(values.len());
            for (vs, v) in &values {
                check_value(&cx, &p, vs, v, &dir, networks)?;
                if !seen_values.insert(v.key()) {
                    return Err(cx.err(vs, format!("[grid] `{p}` lists {v} twice")));
                }
            }
            axes.push(Axis {
                kind: AxisKind::Grid,
                params: vec![p],
                values: values.into_iter().map(|(_, v)| vec![v]).collect(),
            });
        }
        for (zspan, mut entries) in zips {
            if entries.is_empty() {
                return Err(cx.err(&zspan, "empty [[zip]]: give two or more lists"));
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let (p0, _, v0) = &entries[0];
            let len = v0.len();
            for (p, span, values) in &entries {
                first_set(p.clone(), span, "a [[zip]]")?;
                if values.len() != len {
                    return Err(cx.err(
                        span,
                        format!(
                            "[[zip]] lists vary together and must have the same length: \
                             `{p}` has {} values, `{p0}` has {len}",
                            values.len()
                        ),
                    ));
                }
                if values.is_empty() {
                    return Err(cx.err(span, format!("[[zip]] `{p}` is empty")));
                }
                for (vs, v) in values {
                    check_value(&cx, p, vs, v, &dir, networks)?;
                }
            }
            let params: Vec<Param> = entries.iter().map(|e| e.0.clone()).collect();
            let values: Vec<Vec<Value>> = (0..len)
                .map(|i| entries.iter().map(|e| e.2[i].1.clone()).collect())
                .collect();
            let mut seen_positions = HashSet::with_capacity(len);
            for (i, position) in values.iter().enumerate() {
                if !seen_positions.insert(position.iter().map(Value::key).collect::<Vec<_>>()) {
                    let span = &entries[0].2[i].0;
                    return Err(cx.err(span, "[[zip]] position repeats an earlier one"));
                }
            }
            axes.push(Axis {
                kind: AxisKind::Zip,
                params,
                values,
            });
        }
        axes.sort_by(|a, b| a.params[0].cmp(&b.params[0]));

        // Rules across parameters.
        let whole = 0..0;
        let at = |p: Param| seen.get(&p).map(|(s, _)| s.clone());
        match (at(Param::Model), at(Param::Network)) {
            (Some(_), Some(s)) => {
                return Err(cx.err(
                    &s,
                    "set either `model` (model files or built-in names with default \
                     settings) or `network` (built-in networks generated with `weights`, \
                     `acts`, `weight_density`, `act_density`, `seed`), not both",
                ))
            }
            (None, None) => {
                return Err(cx.err(
                    &whole,
                    "no model: set `model` (a .mltq file or a built-in name) or `network` \
                     (a built-in network to generate) in [fixed], [grid] or a [[zip]]",
                ))
            }
            (Some(_), None) => {
                if let Some(p) = Param::ALL
                    .iter()
                    .find(|p| p.is_gen() && at((*p).clone()).is_some())
                {
                    return Err(cx.err(
                        &at(p.clone()).unwrap(),
                        format!(
                            "`{p}` is a setting of generated networks: use `network = …` \
                             instead of `model = …`"
                        ),
                    ));
                }
            }
            (None, Some(_)) => {
                if let Some(s) = at(Param::Sample) {
                    return Err(cx.err(
                        &s,
                        "`sample` picks a sample of a model file; generated networks have \
                         one sample (0)",
                    ));
                }
            }
        }
        if at(Param::Arch).is_none() {
            return Err(cx.err(
                &whole,
                "no arch: set `arch` (an arch file, relative to this file) in [fixed], \
                 [grid] or a [[zip]]",
            ));
        }
        let count = axes
            .iter()
            .try_fold(1usize, |n, a| n.checked_mul(a.len()))
            .filter(|&n| n <= MAX_POINTS);
        if count.is_none() {
            let sizes: Vec<String> = axes.iter().map(|a| a.len().to_string()).collect();
            return Err(cx.err(
                &whole,
                format!(
                    "the axes ({} values) make more than {MAX_POINTS} points (2^24), the most \
                     a sweep may have; split it into several sweep files",
                    sizes.join(" × ")
                ),
            ));
        }
        let params: Vec<Param> = seen.keys().cloned().collect();
        let spans = seen.into_iter().map(|(p, (s, _))| (p, s)).collect();
        Ok(Spec {
            name,
            description: raw.description,
            path: shown,
            text: text.to_string(),
            dir,
            fixed,
            axes,
            params,
            spans,
        })
    }

    /// An error of this file at where parameter `p` is set.
    pub fn error_at(&self, p: &Param, msg: impl Into<String>) -> Error {
        let span = self.spans.get(p).cloned().unwrap_or(0..0);
        let (line, col) = line_col(&self.text, span.start);
        Error::sweep(&self.path, line, col, msg)
    }

    /// The scheme keys the sweep sets, in canonical order.
    pub fn scheme_keys(&self) -> impl Iterator<Item = &SchemeKey> {
        self.params.iter().filter_map(Param::scheme_key)
    }

    /// Number of points (at most [`MAX_POINTS`] after validation).
    pub fn len(&self) -> usize {
        self.axes
            .iter()
            .try_fold(1usize, |n, a| n.checked_mul(a.len()))
            .unwrap_or(usize::MAX)
    }

    /// True when the sweep has no point (never after validation).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Point `index` (< [`Spec::len`]): its position on each axis is the index's digits
    /// in the mixed radix of the axes' lengths, the last axis varying fastest.
    pub fn point(&self, index: usize) -> Point {
        let mut values = self.values_at(index);
        values.sort_by(|a, b| a.0.cmp(&b.0));
        Point {
            index,
            id: point_id(index, &values),
            values,
        }
    }

    /// The parameter values of point `index`, fixed ones first, then axis by axis.
    fn values_at(&self, index: usize) -> Vec<(Param, Value)> {
        let mut values: Vec<(Param, Value)> = self
            .fixed
            .iter()
            .map(|(p, v)| (p.clone(), v.clone()))
            .collect();
        let mut pos = vec![0usize; self.axes.len()];
        let mut rest = index;
        for (k, a) in self.axes.iter().enumerate().rev() {
            pos[k] = rest % a.len();
            rest /= a.len();
        }
        for (a, &i) in self.axes.iter().zip(&pos) {
            values.extend(a.params.iter().cloned().zip(a.values[i].iter().cloned()));
        }
        values
    }

    /// Every point, in enumeration order, computed one at a time.
    pub fn points(&self) -> impl ExactSizeIterator<Item = Point> + '_ {
        (0..self.len()).map(|i| self.point(i))
    }

    /// Every distinct value the sweep gives `p` (e.g. each arch file), in the order
    /// of the file: `[fixed]`, then the axes.
    pub fn distinct(&self, p: Param) -> Vec<&Value> {
        let mut out: Vec<&Value> = Vec::new();
        let mut seen = HashSet::new();
        let fixed = self.fixed.get(&p).into_iter();
        let axes = self.axes.iter().flat_map(|a| {
            let k = a.params.iter().position(|q| *q == p);
            a.values.iter().filter_map(move |vs| k.map(|k| &vs[k]))
        });
        for v in fixed.chain(axes) {
            if seen.insert(v.key()) {
                out.push(v);
            }
        }
        out
    }

    /// The parameters that get a CSV column, in canonical order.
    pub fn param_columns(&self) -> Vec<Param> {
        self.params
            .iter()
            .filter(|p| p.has_column())
            .cloned()
            .collect()
    }

    /// A path of the sweep file resolved against its directory.
    pub fn resolve(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }
}

/// The checks of one value that need no other parameter (a scheme key's value is
/// checked when it is read, [`scheme_entry_value`]).
fn check_value(
    cx: &Ctx,
    p: &Param,
    span: &Span,
    v: &Value,
    dir: &Path,
    networks: &[&str],
) -> Result<()> {
    let msg = match (p, v) {
        (Param::WeightDensity | Param::ActDensity, Value::Real(x)) if !(0.0..=1.0).contains(x) => {
            format!("`{p}` = {x}: a density is a fraction of nonzero values, in 0.0..=1.0")
        }
        (p, Value::Int(n)) if p.is_array() => {
            // Exactly the check of the same key in an arch file.
            let x = i64::try_from(*n).unwrap_or(i64::MAX);
            match crate::arch::array_value("[array]", p.name(), x) {
                Ok(_) => return Ok(()),
                Err(m) => format!("{m} (sweep overrides are held to the arch file's limits)"),
            }
        }
        (Param::Sample, Value::Int(n)) if *n > u32::MAX as u64 => {
            format!("`sample` = {n} is too large")
        }
        (Param::Network, Value::Text(n)) if !networks.contains(&n.as_str()) => format!(
            "unknown network `{n}`{}; built-in networks: {}",
            did_you_mean(n, networks.iter().copied()),
            networks.join(", ")
        ),
        (Param::Model | Param::Arch, Value::Text(f)) if is_loop(&dir.join(f)) => format!(
            "`{p}` = \"{f}\" is a symlink loop (a chain of symbolic links that never reaches \
             a file); point the link at a real file"
        ),
        (Param::Model, Value::Text(m))
            if !dir.join(m).is_file() && !networks.contains(&m.as_str()) =>
        {
            format!(
                "model `{m}` is neither a file (relative to {}) nor a built-in network{}; \
                 built-ins: {}",
                dir.display(),
                did_you_mean(m, networks.iter().copied()),
                networks.join(", ")
            )
        }
        (Param::Arch, Value::Text(a)) if !dir.join(a).is_file() => format!(
            "arch file `{a}` not found (paths are relative to {})",
            dir.display()
        ),
        _ => return Ok(()),
    };
    Err(cx.err(span, msg))
}

/// One `scheme…` key of `[fixed]`, `[grid]` or a `[[zip]]`, taken out of the document
/// before serde reads the rest: the key's segments after `scheme` (each with its span)
/// and the value.
struct RawSchemeEntry<'i> {
    path: Vec<(String, Span)>,
    value: Spanned<DeValue<'i>>,
}

/// The scheme keys of `[fixed]`, `[grid]` and each `[[zip]]` (by position).
#[derive(Default)]
struct RawSchemeKeys<'i> {
    fixed: Vec<RawSchemeEntry<'i>>,
    grid: Vec<RawSchemeEntry<'i>>,
    zip: Vec<Vec<RawSchemeEntry<'i>>>,
}

/// Parse the file: the scheme keys (`"scheme.NAME.KEY" = …` or, as dotted keys or
/// tables, `scheme.NAME.KEY = …`), whose names are not known in advance, are taken out
/// of `[fixed]`, `[grid]` and the `[[zip]]`s; serde reads the rest, unknown keys
/// refused.
fn read_raw(text: &str) -> std::result::Result<(RawSpec, RawSchemeKeys<'_>), toml::de::Error> {
    let mut doc = DeTable::parse(text)?;
    let mut keys = RawSchemeKeys::default();
    if let Some(DeValue::Table(t)) = doc.get_mut().get_mut("fixed").map(Spanned::get_mut) {
        keys.fixed = take_scheme_keys(t);
    }
    if let Some(DeValue::Table(t)) = doc.get_mut().get_mut("grid").map(Spanned::get_mut) {
        keys.grid = take_scheme_keys(t);
    }
    if let Some(DeValue::Array(zs)) = doc.get_mut().get_mut("zip").map(Spanned::get_mut) {
        for z in zs.iter_mut() {
            keys.zip.push(match z.get_mut() {
                DeValue::Table(t) => take_scheme_keys(t),
                _ => Vec::new(),
            });
        }
    }
    let raw = RawSpec::deserialize(toml::de::Deserializer::from(doc))?;
    Ok((raw, keys))
}

/// Take the scheme keys out of one table.
fn take_scheme_keys<'i>(t: &mut DeTable<'i>) -> Vec<RawSchemeEntry<'i>> {
    let mut out = Vec::new();
    for (k, v) in std::mem::take(t) {
        let key: &str = k.get_ref();
        if key == "scheme" {
            collect_scheme_keys(Vec::new(), v, &mut out);
        } else if let Some(rest) = key.strip_prefix("scheme.") {
            let span = k.span();
            let path = match rest.rsplit_once('.') {
                Some((scheme, key)) => {
                    vec![(scheme.to_string(), span.clone()), (key.to_string(), span)]
                }
                None => vec![(rest.to_string(), span)],
            };
            out.push(RawSchemeEntry { path, value: v });
        } else {
            t.insert(k, v);
        }
    }
    out
}

/// The entries under a dotted `scheme` key: tables are walked down to NAME.KEY, the
/// value there taken whole (a deeper table is an entry with a longer path, refused by
/// [`scheme_param`]).
fn collect_scheme_keys<'i>(
    path: Vec<(String, Span)>,
    v: Spanned<DeValue<'i>>,
    out: &mut Vec<RawSchemeEntry<'i>>,
) {
    if path.len() < 2 && v.get_ref().is_table() {
        let DeValue::Table(t) = v.into_inner() else {
            unreachable!("a table")
        };
        for (k, v) in t {
            let mut p = path.clone();
            p.push((k.get_ref().to_string(), k.span()));
            collect_scheme_keys(p, v, out);
        }
    } else {
        out.push(RawSchemeEntry { path, value: v });
    }
}

/// The parameter of a scheme entry, checked: `scheme.NAME.KEY` with KEY a settable
/// `[[scheme]]` key; located at NAME.
fn scheme_param(cx: &Ctx, e: &RawSchemeEntry) -> Result<(Param, Span)> {
    let shape = "a scheme's key is set as `scheme.NAME.KEY` (e.g. `scheme.mltq-bit.min_cycles`, \
                 or quoted: `\"scheme.mltq-bit.min_cycles\"`), NAME a scheme the arch lists";
    let (name, key) = match e.path.as_slice() {
        [] => return Err(cx.err(&e.value.span(), format!("`scheme` alone: {shape}"))),
        [(n, s)] => return Err(cx.err(s, format!("`scheme.{n}`: {shape}"))),
        [(n, s), (k, ks)] => ((n, s), (k, ks)),
        // Never made by `collect_scheme_keys`, which stops at NAME.KEY.
        [_, _, (_, s), ..] => return Err(cx.err(s, shape)),
    };
    match SchemeKey::new(name.0, key.0) {
        Some(k) => Ok((Param::Scheme(k), name.1.clone())),
        None => {
            let (n, k) = (name.0, key.0.as_str());
            let why = match k {
                "name" | "base" => format!(
                    "`{k}` of a scheme cannot be swept (it names the scheme or its preset): \
                     list the schemes to compare in the arch's `schemes`"
                ),
                "array" => format!(
                    "a scheme's own array keys are set directly, as `scheme.{n}.lanes` (tiles, \
                     rows, columns, lanes, column_registers)"
                ),
                _ => format!(
                    "unknown key `{k}` of a [[scheme]]{}; a sweep sets: {}",
                    did_you_mean(k, SETTABLE_SCHEME_KEYS),
                    SETTABLE_SCHEME_KEYS.join(", ")
                ),
            };
            Err(cx.err(key.1, format!("`scheme.{n}.{k}`: {why}")))
        }
    }
}

/// One value of a scheme key, read with its key's type and checked alone exactly as the
/// same key of an arch file ([`crate::arch::scheme_value`]; the message is the arch
/// file's); the rules across keys are checked with each point's arch.
fn scheme_entry_value(cx: &Ctx, k: &SchemeKey, v: Spanned<DeValue<'_>>) -> Result<Value> {
    let span = v.span();
    let found = crate::arch::describe(v.get_ref());
    let de = toml::de::ValueDeserializer::from(v);
    let kv = match k.key_type() {
        KeyType::Text => String::deserialize(de).map(KeyValue::Text),
        KeyType::Int => i64::deserialize(de).map(KeyValue::Int),
        KeyType::Number => f64::deserialize(de).map(KeyValue::Number),
    };
    let label = format!("`{}` in [[scheme]] `{}`", k.key(), k.scheme());
    let kv = kv.map_err(|_| {
        let msg = match found.strip_prefix("an integer (") {
            Some(digits) if k.key_type() == KeyType::Int => {
                format!(
                    "{label}: integer {} is out of range",
                    digits.trim_end_matches(')')
                )
            }
            _ => format!(
                "{label}: expected {}, found {found}",
                k.key_type().describe()
            ),
        };
        cx.err(&span, msg)
    })?;
    scheme_value(k.scheme(), k.key(), &kv).map_err(|m| cx.err(&span, m))?;
    Ok(match kv {
        KeyValue::Text(t) => Value::Text(t),
        KeyValue::Int(x) => Value::Int(u64::try_from(x).expect("checked: no key takes a negative")),
        KeyValue::Number(x) => Value::Real(x),
    })
}

/// One list of `[grid]` or a `[[zip]]`: its parameter, where it is set, its values.
type AxisEntry = (Param, Span, Vec<(Span, Value)>);

/// The scheme entries of `[grid]` or a `[[zip]]`: lists of values.
fn scheme_lists(cx: &Ctx, table: &str, entries: Vec<RawSchemeEntry<'_>>) -> Result<Vec<AxisEntry>> {
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let (p, span) = scheme_param(cx, &e)?;
        let k = p.scheme_key().expect("a scheme key").clone();
        let list_span = e.value.span();
        let DeValue::Array(items) = e.value.into_inner() else {
            return Err(cx.err(
                &list_span,
                format!(
                    "{table} `{}` must be a list of values, e.g. {} = [0, 1]",
                    k.name(),
                    k.name()
                ),
            ));
        };
        let mut values = Vec::with_capacity(items.len());
        for item in items {
            let s = item.span();
            values.push((s, scheme_entry_value(cx, &k, item)?));
        }
        out.push((p, span, values));
    }
    Ok(out)
}

/// Is `path` behind a loop of symbolic links?
fn is_loop(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Err(e) => {
            #[cfg(unix)]
            return e.raw_os_error() == Some(libc::ELOOP);
            #[cfg(not(unix))]
            return false;
        }
        Ok(_) => false,
    }
}
