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
//! `column_registers` (overrides of the arch's `[array]`).
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
//! each point's arch when the sweep starts).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::encoding::EncSpec;
use crate::error::{did_you_mean, Error, Result};

/// The most points a sweep may have: 2^24 (16 777 216). Each point costs a few bytes
/// of bookkeeping while the sweep runs (its model, its place in the journal).
pub const MAX_POINTS: usize = 1 << 24;

/// A sweep parameter, in canonical order (the order of axes and CSV columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
}

impl Param {
    /// Every parameter, in canonical order.
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

    /// The key in sweep files and the CSV column name.
    pub fn name(self) -> &'static str {
        match self {
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
    pub fn is_gen(self) -> bool {
        matches!(
            self,
            Param::Weights | Param::Acts | Param::WeightDensity | Param::ActDensity | Param::Seed
        )
    }

    /// The kind of this parameter's CSV cells (for typed readers, as
    /// [`crate::report::columns::kind`] for the report's columns).
    pub fn kind(self) -> crate::report::columns::ColumnKind {
        use crate::report::columns::ColumnKind;
        match self {
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
    pub fn is_array(self) -> bool {
        matches!(
            self,
            Param::Tiles | Param::Rows | Param::Columns | Param::Lanes | Param::ColumnRegisters
        )
    }

    /// Does this parameter get its own CSV column? `network` and `sample` do not: the
    /// report's own `network` and `sample` columns already hold them.
    pub fn has_column(self) -> bool {
        !matches!(self, Param::Network | Param::Sample)
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
    /// The value of a parameter, if the sweep sets it.
    pub fn get(&self, p: Param) -> Option<&Value> {
        self.values.iter().find(|(q, _)| *q == p).map(|(_, v)| v)
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
        let raw: RawSpec = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let mut msg = e.message().trim().to_string();
            if let Some(rest) = msg.strip_prefix("unknown field `") {
                if let Some((found, _)) = rest.split_once('`') {
                    let names = Param::ALL.iter().map(|p| p.name());
                    let tables = ["name", "description", "fixed", "grid", "zip"];
                    msg.push_str(&did_you_mean(found, names.chain(tables)));
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

        let mut fixed = BTreeMap::new();
        for (p, span, v) in raw.fixed.entries() {
            first_set(p, &span, "[fixed]")?;
            check_value(&cx, p, &span, &v, &dir, networks)?;
            fixed.insert(p, v);
        }
        let mut axes = Vec::new();
        for (p, span, values) in raw.grid.entries() {
            first_set(p, &span, "[grid]")?;
            if values.is_empty() {
                return Err(cx.err(
                    &span,
                    format!("[grid] `{p}` is empty: give at least one value"),
                ));
            }
            let mut seen_values = HashSet::with_capacity(values.len());
            for (vs, v) in &values {
                check_value(&cx, p, vs, v, &dir, networks)?;
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
        for z in raw.zip {
            let zspan = z.span();
            let mut entries = z.into_inner().entries();
            if entries.is_empty() {
                return Err(cx.err(&zspan, "empty [[zip]]: give two or more lists"));
            }
            entries.sort_by_key(|e| e.0);
            let (p0, _, v0) = &entries[0];
            let len = v0.len();
            for (p, span, values) in &entries {
                first_set(*p, span, "a [[zip]]")?;
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
                    check_value(&cx, *p, vs, v, &dir, networks)?;
                }
            }
            let params: Vec<Param> = entries.iter().map(|e| e.0).collect();
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
        axes.sort_by_key(|a| a.params[0]);

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
                if let Some(p) = Param::ALL.iter().find(|p| p.is_gen() && at(**p).is_some()) {
                    return Err(cx.err(
                        &at(*p).unwrap(),
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
        let params: Vec<Param> = seen.keys().copied().collect();
        Ok(Spec {
            name,
            description: raw.description,
            path: shown,
            text: text.to_string(),
            dir,
            fixed,
            axes,
            params,
        })
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
        values.sort_by_key(|(p, _)| *p);
        Point {
            index,
            id: point_id(index, &values),
            values,
        }
    }

    /// The parameter values of point `index`, fixed ones first, then axis by axis.
    fn values_at(&self, index: usize) -> Vec<(Param, Value)> {
        let mut values: Vec<(Param, Value)> =
            self.fixed.iter().map(|(p, v)| (*p, v.clone())).collect();
        let mut pos = vec![0usize; self.axes.len()];
        let mut rest = index;
        for (k, a) in self.axes.iter().enumerate().rev() {
            pos[k] = rest % a.len();
            rest /= a.len();
        }
        for (a, &i) in self.axes.iter().zip(&pos) {
            values.extend(a.params.iter().copied().zip(a.values[i].iter().cloned()));
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
            .copied()
            .filter(|p| p.has_column())
            .collect()
    }

    /// A path of the sweep file resolved against its directory.
    pub fn resolve(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }
}

/// The checks of one value that need no other parameter.
fn check_value(
    cx: &Ctx,
    p: Param,
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
