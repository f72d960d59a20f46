//! Architecture files (`arch/*.toml`, docs/arch-files.md): `RawArch` as parsed by serde,
//! validated once into an [`Arch`] the engine trusts.
//!
//! Parsing happens in two steps. serde (with `deny_unknown_fields`) turns the TOML into
//! a [`RawArch`] and catches syntax errors, unknown keys and wrong types; then
//! `RawArch::validate` checks ranges and the links between keys (`baseline` among
//! `schemes`, every listed scheme defined, custom schemes valid). Every error is an
//! [`ErrorKind::Arch`] at the 1-based line:column of the offending key or value, and says
//! what was found, what is allowed and, for names, the closest valid one.

use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::cost::footprint::Format;
use crate::cost::params::{self, Params, AREA_KEYS, ENERGY_KEYS, MEMORY_KEYS};
use crate::encoding::TermEncoding;
use crate::error::{closest, did_you_mean, Error, ErrorKind, Result};
use crate::scheme::{
    Operand, PatternShape, Scheme, Serial, Skip, SyncMode, WeightSchedule, PRESETS,
};

/// The PE array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ArrayShape {
    /// Tiles (filter sets dealt across them).
    pub tiles: usize,
    /// PE rows per tile (one filter each).
    pub rows: usize,
    /// PE columns (one window each).
    pub columns: usize,
    /// Multipliers per PE (channels per brick).
    pub lanes: usize,
    /// How many sync units a column may run ahead of the slowest (0: lock-step).
    pub column_registers: usize,
}

impl ArrayShape {
    /// Total lanes of the array.
    pub fn total_lanes(&self) -> u64 {
        (self.tiles * self.rows * self.columns * self.lanes) as u64
    }

    /// Set one `[array]` key, checked by [`array_value`] as in an arch file.
    pub fn set(&mut self, key: &str, x: i64) -> std::result::Result<(), String> {
        let v = array_value("[array]", key, x)?;
        match key {
            "tiles" => self.tiles = v,
            "rows" => self.rows = v,
            "columns" => self.columns = v,
            "lanes" => self.lanes = v,
            "column_registers" => self.column_registers = v,
            _ => return Err(format!("[array] has no key `{key}`")),
        }
        Ok(())
    }

    /// Refuse an array past the supported sizes (each size at most [`MAX_ARRAY_SIZE`],
    /// at most [`MAX_TOTAL_LANES`] multipliers in all): the message says which.
    pub fn check_limits(&self) -> std::result::Result<(), String> {
        for (key, v) in [
            ("tiles", self.tiles),
            ("rows", self.rows),
            ("columns", self.columns),
            ("lanes", self.lanes),
            ("column_registers", self.column_registers),
        ] {
            if v > MAX_ARRAY_SIZE {
                return Err(format!(
                    "`{key}` = {v} is too large: at most {MAX_ARRAY_SIZE} (2^20) is supported"
                ));
            }
            if v == 0 && key != "column_registers" {
                return Err(format!("`{key}` must be an integer >= 1, found 0"));
            }
        }
        let total = [self.tiles, self.rows, self.columns, self.lanes]
            .iter()
            .try_fold(1u64, |acc, &x| acc.checked_mul(x as u64))
            .filter(|&t| t <= MAX_TOTAL_LANES);
        if total.is_none() {
            return Err(format!(
                "the array has tiles × rows × columns × lanes = {} × {} × {} × {} multipliers; \
                 at most {MAX_TOTAL_LANES} (2^32) are supported",
                self.tiles, self.rows, self.columns, self.lanes
            ));
        }
        Ok(())
    }
}

/// A scheme's own overrides of `[array]` (`[scheme.array]`): each key set replaces the
/// file's value for that scheme alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ArrayOverride {
    /// `tiles`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiles: Option<usize>,
    /// `rows`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
    /// `columns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<usize>,
    /// `lanes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lanes: Option<usize>,
    /// `column_registers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_registers: Option<usize>,
}

impl ArrayOverride {
    /// `base` with these overrides applied.
    pub fn apply(&self, base: &ArrayShape) -> ArrayShape {
        ArrayShape {
            tiles: self.tiles.unwrap_or(base.tiles),
            rows: self.rows.unwrap_or(base.rows),
            columns: self.columns.unwrap_or(base.columns),
            lanes: self.lanes.unwrap_or(base.lanes),
            column_registers: self.column_registers.unwrap_or(base.column_registers),
        }
    }

    /// True when no key is overridden.
    pub fn is_empty(&self) -> bool {
        *self == ArrayOverride::default()
    }
}

/// What the cost model needs of a scheme beside its cycle rules: its array, how it
/// stores each operand, and optional per-lane energy and area.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Design {
    /// The preset a `[[scheme]]` table started from (`base`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// `[scheme.array]`: overrides of the file's `[array]`.
    pub array: ArrayOverride,
    /// `store_act`: the activations' storage format.
    pub store_act: Format,
    /// `store_weight`: the weights' storage format.
    pub store_weight: Format,
    /// `lane_pj`: energy per busy lane-cycle, if set (else from `[energy]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lane_pj: Option<f64>,
    /// `lane_um2`: area per lane, if set (else from `[area]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lane_um2: Option<f64>,
}

impl Design {
    /// A scheme's design with every cost key at its default: the file's array, `zvc` for
    /// an operand skipped at word level and `dense` otherwise.
    pub fn default_for(s: &Scheme) -> Design {
        Design {
            base: None,
            array: ArrayOverride::default(),
            store_act: default_format(s, Operand::Act),
            store_weight: default_format(s, Operand::Weight),
            lane_pj: None,
            lane_um2: None,
        }
    }

    /// The storage format of an operand.
    pub fn store(&self, op: Operand) -> Format {
        match op {
            Operand::Act => self.store_act,
            Operand::Weight => self.store_weight,
        }
    }
}

/// `zvc` for an operand the scheme skips at word level, `dense` otherwise.
fn default_format(s: &Scheme, op: Operand) -> Format {
    if s.skip(op) == Skip::Word {
        Format::Zvc
    } else {
        Format::Dense
    }
}

/// A validated architecture: array plus the schemes to compare on it.
#[derive(Clone, Debug, PartialEq)]
pub struct Arch {
    /// `name`.
    pub name: String,
    /// `clock_ghz` (default 1.0).
    pub clock_ghz: f64,
    /// The array.
    pub array: ArrayShape,
    /// Schemes in the order of `schemes`.
    pub schemes: Vec<Scheme>,
    /// Index of the baseline in `schemes`.
    pub baseline: usize,
    /// Per scheme (same order): its array, storage formats, lane energy and area.
    pub designs: Vec<Design>,
    /// `[memory]`, `[energy]`, `[area]` (reports write them at their own top-level keys).
    pub cost: Params,
}

/// The arch as the JSON report writes it: the baseline by its scheme's name (as the
/// report's top-level `baseline`), the cost tables left to their own top-level keys.
impl serde::Serialize for Arch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Arch", 6)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("clock_ghz", &self.clock_ghz)?;
        st.serialize_field("array", &self.array)?;
        st.serialize_field("schemes", &self.schemes)?;
        st.serialize_field("baseline", &self.schemes[self.baseline].name)?;
        st.serialize_field("designs", &self.designs)?;
        st.end()
    }
}

/// The largest accepted array size (`tiles`, `rows`, `columns`, `lanes`) and
/// `column_registers`: 2^20. Larger values are typos, and would only exhaust memory.
pub const MAX_ARRAY_SIZE: usize = 1 << 20;

/// The largest accepted number of multipliers, tiles · rows · columns · lanes: 2^32.
pub const MAX_TOTAL_LANES: u64 = 1 << 32;

impl Arch {
    /// Read and validate an arch file.
    pub fn load(path: &Path) -> Result<Arch> {
        ArchFile::load(path)?.validate()
    }

    /// Parse and validate arch TOML; `path` is only used in messages.
    ///
    /// ```
    /// use mltq::arch::Arch;
    ///
    /// let arch = Arch::parse(
    ///     "name = \"tiny\"\nbaseline = \"mlb\"\nschemes = [\"mlb\", \"mltq-bit\"]\n\
    ///      [array]\ntiles = 1\nrows = 2\ncolumns = 2\nlanes = 4\n",
    ///     "tiny.toml",
    /// )
    /// .unwrap();
    /// assert_eq!(arch.baseline_scheme().name, "mlb");
    /// assert_eq!(arch.array.column_registers, 0);
    ///
    /// let err = Arch::parse("name = \"x\"\nbaseline = \"mlb\"\nschemes = [\"mlb\"]\n\
    ///     [array]\ntiles = 1\nrows = 1\ncolums = 1\nlanes = 1\n", "x.toml").unwrap_err();
    /// assert!(err.to_string().starts_with("x.toml:7:1: unknown key `colums` in [array] (did you mean `columns`?)"));
    /// ```
    pub fn parse(text: &str, path: &str) -> Result<Arch> {
        ArchFile::parse(text, path)?.validate()
    }

    /// An arch of `schemes` on `array`, each with the default design (the file's array,
    /// storage by skip level) and the default cost parameters, as a file with no cost
    /// keys gives.
    pub fn new(
        name: &str,
        clock_ghz: f64,
        array: ArrayShape,
        schemes: Vec<Scheme>,
        baseline: usize,
    ) -> Arch {
        Arch {
            name: name.to_string(),
            clock_ghz,
            array,
            designs: schemes.iter().map(Design::default_for).collect(),
            schemes,
            baseline,
            cost: Params::default(),
        }
    }

    /// The baseline scheme.
    pub fn baseline_scheme(&self) -> &Scheme {
        &self.schemes[self.baseline]
    }

    /// A scheme of this architecture by name.
    pub fn scheme(&self, name: &str) -> Option<&Scheme> {
        self.schemes.iter().find(|s| s.name == name)
    }

    /// The array scheme `i` runs on: `[array]` with the scheme's own overrides.
    pub fn array_of(&self, i: usize) -> ArrayShape {
        self.designs[i].array.apply(&self.array)
    }

    /// Check every scheme's array against the size limits and its weight schedule (after
    /// `[array]` changed, as a sweep's overrides change it): the first that is too large
    /// or too narrow, with its scheme.
    pub fn check_arrays(&self) -> Result<()> {
        self.array.check_limits().map_err(Error::invalid)?;
        for (i, s) in self.schemes.iter().enumerate() {
            if !self.designs[i].array.is_empty() {
                self.array_of(i).check_limits().map_err(|m| {
                    Error::invalid(format!("the array of scheme `{}`: {m}", s.name))
                })?;
            }
            s.check_array(&self.array_of(i))?;
        }
        Ok(())
    }
}

/// An arch file read and parsed (TOML syntax, key names, value types) but not yet
/// validated, so that it can be validated again with other `[array]` values (a sweep's
/// overrides, [`ArchFile::with_array`]) without being read again.
#[derive(Clone, Debug)]
pub struct ArchFile {
    path: String,
    text: String,
    raw: RawArch,
}

impl ArchFile {
    /// Read and parse an arch file, at most [`crate::files::Limit::Toml`] bytes.
    pub fn load(path: &Path) -> Result<ArchFile> {
        let bytes = crate::files::read_bytes(path, "an arch file", crate::files::Limit::Toml)?;
        let name = path.display().to_string();
        match std::str::from_utf8(&bytes) {
            Ok(text) => ArchFile::parse(text, &name),
            Err(e) => {
                // Locate the first bad byte in the valid text before it.
                let good = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or("");
                let cx = Cx {
                    text: good,
                    path: &name,
                };
                Err(cx.at(
                    good.len()..good.len(),
                    format!(
                        "byte 0x{:02x} is not UTF-8: an arch file is UTF-8 text (TOML); \
                         is this the right file?",
                        bytes[e.valid_up_to()]
                    ),
                ))
            }
        }
    }

    /// Parse arch TOML; `path` is only used in messages.
    pub fn parse(text: &str, path: &str) -> Result<ArchFile> {
        let cx = Cx { text, path };
        let raw: RawArch = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;
        Ok(ArchFile {
            path: path.to_string(),
            text: text.to_string(),
            raw,
        })
    }

    /// Validate: every check of an arch file.
    pub fn validate(&self) -> Result<Arch> {
        self.with_overrides(&[], &[])
    }

    /// The names listed in `schemes`, in order.
    pub fn listed_schemes(&self) -> Vec<&str> {
        self.raw
            .schemes
            .get_ref()
            .iter()
            .map(|s| s.get_ref().as_str())
            .collect()
    }

    /// Validate with some `[array]` values replaced, as if the file said so: every check
    /// of an arch file applies to the new values (ranges, the limits of the whole array
    /// and of every scheme's own array, and whatever else the file's keys are checked
    /// against). Each value is first checked alone by [`array_value`] (an error names
    /// the key and the value); an error of the whole points at the file's `[array]`.
    pub fn with_array(&self, values: &[(&str, i64)]) -> Result<Arch> {
        self.with_overrides(values, &[])
    }

    /// Validate with some `[array]` values and some `[[scheme]]` keys replaced, as if the
    /// file said so: [`ArchFile::with_array`] plus, for each setting, the key set in that
    /// scheme's `[[scheme]]` table (its `[scheme.array]` for an array key) before the
    /// whole file is validated, so every check of the file applies: the value alone
    /// ([`scheme_value`]), the rules across the scheme's keys, its array's limits.
    ///
    /// The scheme must be listed in `schemes`. A preset listed by name gets a table of
    /// its own (`base` = the preset) that keeps the preset's name: a file may not
    /// shadow a preset, a sweep's setting of one of its keys does. An error about a set
    /// value points at the scheme's table (a preset's: its entry in `schemes`) and
    /// says the value was set by a sweep.
    pub fn with_overrides(&self, array: &[(&str, i64)], schemes: &[SchemeSetting]) -> Result<Arch> {
        let cx = Cx {
            text: &self.text,
            path: &self.path,
        };
        let mut raw = self.raw.clone();
        let table = raw.array.span();
        for &(key, x) in array {
            array_value("[array]", key, x)
                .map_err(|m| cx.at(table.clone(), format!("{m} (set by a sweep)")))?;
            raw.array.get_mut().set(key, x, table.clone());
        }
        for set in schemes {
            let name = set.scheme.as_str();
            let Some(entry) = raw.schemes.get_ref().iter().find(|e| e.get_ref() == name) else {
                let listed = self.listed_schemes();
                return Err(cx.at(
                    raw.schemes.span(),
                    format!(
                        "a sweep sets `{}` of scheme `{name}`, which is not in `schemes` ({}){}",
                        set.key,
                        listed.join(", "),
                        did_you_mean(name, listed.iter().copied())
                    ),
                ));
            };
            let entry_span = entry.span();
            let i = match raw
                .scheme
                .iter()
                .position(|t| t.get_ref().name.get_ref() == name)
            {
                Some(i) => i,
                None if PRESETS.contains(&name) => {
                    raw.scheme.push(Spanned::new(
                        entry_span.clone(),
                        RawScheme::of_preset(name, entry_span),
                    ));
                    raw.scheme.len() - 1
                }
                // Neither a preset nor a table: the file's own check refuses it.
                None => return raw.validate(&cx),
            };
            let span = raw.scheme[i].span();
            scheme_value(name, &set.key, &set.value)
                .map_err(|m| cx.at(span.clone(), format!("{m} (set by a sweep)")))?;
            raw.scheme[i].get_mut().set(&set.key, &set.value, span);
        }
        raw.validate(&cx)
    }
}

/// One array value checked as an arch file checks it: an integer >= 1 (>= 0 for
/// `column_registers`) and at most [`MAX_ARRAY_SIZE`]. The value, or a message saying
/// what was found and what is allowed; `table` names where it is (`[array]`,
/// `[scheme.array] of …`). Sweep overrides go through the same function, so they are
/// held to exactly the file's limits.
pub fn array_value(table: &str, key: &str, x: i64) -> std::result::Result<usize, String> {
    let min = if key == "column_registers" { 0 } else { 1 };
    if x < min {
        let what = if min == 0 {
            "an integer >= 0"
        } else {
            "an integer >= 1"
        };
        return Err(format!("`{key}` in {table} must be {what}, found {x}"));
    }
    if x > MAX_ARRAY_SIZE as i64 {
        return Err(format!(
            "`{key}` in {table} = {x} is too large: at most {MAX_ARRAY_SIZE} (2^20) is supported"
        ));
    }
    Ok(x as usize)
}

/// The `[[scheme]]` keys a sweep may set (`scheme.NAME.KEY`): every key of the table but
/// `name`, `base` and the `[scheme.array]` sub-table, whose keys are set by name instead
/// (`scheme.NAME.lanes` sets `lanes` of the scheme's own array).
pub const SETTABLE_SCHEME_KEYS: [&str; 18] = concat(VALUE_KEYS, ARRAY_KEYS);

/// The `[[scheme]]` keys that hold one value each (all but `name`, `base`, `array` and
/// `weight_schedule`).
const VALUE_KEYS: [&str; 13] = [
    "serial",
    "skip_act",
    "skip_weight",
    "sync",
    "min_cycles",
    "term_encoding",
    "first_stage_bits",
    "planes_act",
    "planes_weight",
    "store_act",
    "store_weight",
    "lane_pj",
    "lane_um2",
];

/// `a` then `b` (N = A + B, checked when the constant is evaluated).
const fn concat<const A: usize, const B: usize, const N: usize>(
    a: [&'static str; A],
    b: [&'static str; B],
) -> [&'static str; N] {
    assert!(A + B == N, "N must be A + B");
    let mut out = [""; N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

/// What a `[[scheme]]` key holds, as its field in an arch file is typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// A string (an enumeration's spelling).
    Text,
    /// An integer.
    Int,
    /// A number (an integer is taken as a number, as in an arch file).
    Number,
}

impl KeyType {
    /// The type in words, for messages: "a string", "an integer", "a number".
    pub fn describe(self) -> &'static str {
        match self {
            KeyType::Text => "a string",
            KeyType::Int => "an integer",
            KeyType::Number => "a number",
        }
    }
}

/// The type of a settable `[[scheme]]` key ([`SETTABLE_SCHEME_KEYS`]), `None` for any
/// other key.
pub fn scheme_key_type(key: &str) -> Option<KeyType> {
    match key {
        "serial" | "skip_act" | "skip_weight" | "sync" | "term_encoding" | "store_act"
        | "store_weight" => Some(KeyType::Text),
        "lane_pj" | "lane_um2" => Some(KeyType::Number),
        k if INT_KEYS.iter().any(|(n, _, _)| *n == k) || ARRAY_KEYS.contains(&k) => {
            Some(KeyType::Int)
        }
        _ => None,
    }
}

/// A value for one `[[scheme]]` key, as a sweep gives it.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyValue {
    /// A string key's value.
    Text(String),
    /// An integer key's value.
    Int(i64),
    /// A number key's value.
    Number(f64),
}

/// One `[[scheme]]` key set from outside the file (a sweep's `scheme.NAME.KEY`).
#[derive(Clone, Debug, PartialEq)]
pub struct SchemeSetting {
    /// The scheme, as listed in `schemes`: a `[[scheme]]` table or a preset.
    pub scheme: String,
    /// The key, one of [`SETTABLE_SCHEME_KEYS`].
    pub key: String,
    /// The value, of the key's [`KeyType`].
    pub value: KeyValue,
}

/// One `[[scheme]]` value of scheme `scheme` checked alone, exactly as the same key in an
/// arch file is checked (the same functions): an enumeration's spelling, an integer's
/// range, a cost number, a `[scheme.array]` size. `Ok`, or the arch file's message
/// (what was found, what is allowed). Rules across keys are checked with the whole file
/// ([`ArchFile::with_overrides`]).
pub fn scheme_value(scheme: &str, key: &str, v: &KeyValue) -> std::result::Result<(), String> {
    let label = format!("[[scheme]] `{scheme}`");
    let wrong = || {
        let want = scheme_key_type(key).map_or("nothing", KeyType::describe);
        Err(format!("`{key}` in {label} takes {want}"))
    };
    match (key, v) {
        ("serial", KeyValue::Text(t)) => pick_value(key, &label, t, &SERIALS).map(drop),
        ("skip_act" | "skip_weight", KeyValue::Text(t)) => {
            pick_value(key, &label, t, &SKIPS).map(drop)
        }
        ("sync", KeyValue::Text(t)) => pick_value(key, &label, t, &SYNCS).map(drop),
        ("term_encoding", KeyValue::Text(t)) => {
            pick_value(key, &label, t, &TERM_ENCODINGS).map(drop)
        }
        ("store_act" | "store_weight", KeyValue::Text(t)) => {
            pick_value(key, &label, t, &FORMATS).map(drop)
        }
        ("lane_pj" | "lane_um2", KeyValue::Number(x)) => {
            number_value(&label, key, *x, false).map(drop)
        }
        (k, KeyValue::Int(x)) if ARRAY_KEYS.contains(&k) => {
            array_value(&format!("[scheme.array] of {label}"), k, *x).map(drop)
        }
        (k, KeyValue::Int(x)) if INT_KEYS.iter().any(|(n, _, _)| *n == k) => {
            int_value(&label, k, *x).map(drop)
        }
        _ => wrong(),
    }
}

// ---------------------------------------------------------------------------------------
// As parsed
// ---------------------------------------------------------------------------------------

/// An arch file as parsed: TOML syntax, key names and value types are checked, nothing
/// else. Spans locate values for the semantic errors of [`RawArch::validate`].
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArch {
    /// `name` (required): names the architecture in reports.
    name: Spanned<String>,
    /// `clock_ghz` (default 1.0): only converts cycles to time.
    clock_ghz: Option<Spanned<f64>>,
    /// `baseline` (required): the scheme every speedup is relative to.
    baseline: Spanned<String>,
    /// `schemes` (required): presets or custom names, in report order.
    schemes: Spanned<Vec<Spanned<String>>>,
    /// `[array]` (required).
    array: Spanned<RawArray>,
    /// `[[scheme]]` tables (zero or more).
    #[serde(default)]
    scheme: Vec<Spanned<RawScheme>>,
    /// `[memory]` (optional): buffers and DRAM bandwidth.
    memory: Option<Spanned<RawMemory>>,
    /// `[energy]` (optional).
    energy: Option<Spanned<RawEnergy>>,
    /// `[area]` (optional).
    area: Option<Spanned<RawArea>>,
}

/// `[memory]` as parsed (every key optional; defaults in `cost::params`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMemory {
    act_buffer_kib: Option<Spanned<i64>>,
    weight_buffer_kib: Option<Spanned<i64>>,
    dram_gbps: Option<Spanned<f64>>,
}

/// `[energy]` as parsed.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnergy {
    add_pj: Option<Spanned<f64>>,
    mult_pj_per_bit2: Option<Spanned<f64>>,
    select_pj_per_bit: Option<Spanned<f64>>,
    idle_lane_pj: Option<Spanned<f64>>,
    static_pj_per_lane_cycle: Option<Spanned<f64>>,
    sram_pj_per_bit: Option<Spanned<f64>>,
    dram_pj_per_bit: Option<Spanned<f64>>,
}

/// `[area]` as parsed.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArea {
    add_um2: Option<Spanned<f64>>,
    mult_um2_per_bit2: Option<Spanned<f64>>,
    select_um2_per_bit: Option<Spanned<f64>>,
    sram_mm2_per_kib: Option<Spanned<f64>>,
}

/// `[scheme.array]` as parsed: any of `[array]`'s keys.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArrayOverride {
    tiles: Option<Spanned<i64>>,
    rows: Option<Spanned<i64>>,
    columns: Option<Spanned<i64>>,
    lanes: Option<Spanned<i64>>,
    column_registers: Option<Spanned<i64>>,
}

/// The `[array]` table as parsed. Integers are read as `i64` so that a negative value
/// gets a range message rather than a type message.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArray {
    /// `tiles` (required, >= 1).
    tiles: Spanned<i64>,
    /// `rows` (required, >= 1).
    rows: Spanned<i64>,
    /// `columns` (required, >= 1).
    columns: Spanned<i64>,
    /// `lanes` (required, >= 1).
    lanes: Spanned<i64>,
    /// `column_registers` (default 0, >= 0).
    column_registers: Option<Spanned<i64>>,
}

/// One `[[scheme]]` table as parsed. Enumerations are read as strings so that an unknown
/// spelling gets a suggestion (see [`pick`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScheme {
    /// `name` (required; unique, not a preset name).
    name: Spanned<String>,
    /// `base` (optional): a preset whose fields come first.
    base: Option<Spanned<String>>,
    /// `serial` (default `none`).
    serial: Option<Spanned<String>>,
    /// `skip_act` (default `none`).
    skip_act: Option<Spanned<String>>,
    /// `skip_weight` (default `none`).
    skip_weight: Option<Spanned<String>>,
    /// `sync` (default `step`).
    sync: Option<Spanned<String>>,
    /// `min_cycles` (default 1; 0 or 1).
    min_cycles: Option<Spanned<i64>>,
    /// `term_encoding` (default `plain`).
    term_encoding: Option<Spanned<String>>,
    /// `first_stage_bits` (optional, 0..=32).
    first_stage_bits: Option<Spanned<i64>>,
    /// `planes_act` (optional, 1..=32).
    planes_act: Option<Spanned<i64>>,
    /// `planes_weight` (optional, 1..=32).
    planes_weight: Option<Spanned<i64>>,
    /// `store_act` (default by skip level).
    store_act: Option<Spanned<String>>,
    /// `store_weight` (default by skip level).
    store_weight: Option<Spanned<String>>,
    /// `lane_pj` (optional, finite >= 0).
    lane_pj: Option<Spanned<f64>>,
    /// `lane_um2` (optional, finite >= 0).
    lane_um2: Option<Spanned<f64>>,
    /// `[scheme.array]` (optional).
    array: Option<Spanned<RawArrayOverride>>,
    /// `weight_schedule = { shape, lookahead, lookaside }` (optional; step sync only).
    weight_schedule: Option<Spanned<RawWeightSchedule>>,
    /// Made by [`ArchFile::with_overrides`] for a preset listed by name: it may keep the
    /// preset's name (never set by a file).
    #[serde(skip)]
    of_preset: bool,
}

/// `weight_schedule` as parsed: all three keys required.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeightSchedule {
    /// `shape`: "L" or "T".
    shape: Spanned<String>,
    /// `lookahead` = h >= 1.
    lookahead: Spanned<i64>,
    /// `lookaside` = d >= 1.
    lookaside: Spanned<i64>,
}

/// Top-level keys, for hints about keys written in the wrong table.
const TOP_KEYS: [&str; 9] = [
    "name",
    "clock_ghz",
    "baseline",
    "schemes",
    "array",
    "scheme",
    "memory",
    "energy",
    "area",
];
/// `[array]` keys.
const ARRAY_KEYS: [&str; 5] = ["tiles", "rows", "columns", "lanes", "column_registers"];
/// `[[scheme]]` keys.
const SCHEME_KEYS: [&str; 17] = concat(
    concat::<2, 13, 15>(["name", "base"], VALUE_KEYS),
    ["array", "weight_schedule"],
);

/// Spellings of the enumerations (the same as their serde names, checked by a test).
const SERIALS: [(&str, Serial); 4] = [
    ("none", Serial::None),
    ("act", Serial::Act),
    ("weight", Serial::Weight),
    ("both", Serial::Both),
];
const SKIPS: [(&str, Skip); 3] = [
    ("none", Skip::None),
    ("word", Skip::Word),
    ("term", Skip::Term),
];
const SYNCS: [(&str, SyncMode); 2] = [("step", SyncMode::Step), ("window", SyncMode::Window)];
const FORMATS: [(&str, Format); 4] = [
    ("dense", Format::Dense),
    ("zvc", Format::Zvc),
    ("planes", Format::Planes),
    ("packed", Format::Packed),
];
const SHAPES: [(&str, PatternShape); 2] = [("L", PatternShape::L), ("T", PatternShape::T)];
const TERM_ENCODINGS: [(&str, TermEncoding); 3] = [
    ("plain", TermEncoding::Plain),
    ("booth", TermEncoding::Booth),
    ("naf", TermEncoding::Naf),
];

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

impl RawArch {
    /// Every check that needs no model, in file order where it matters.
    fn validate(self, cx: &Cx) -> Result<Arch> {
        let name = self.name.get_ref();
        if name.trim().is_empty() {
            return Err(cx.at(
                self.name.span(),
                "`name` is empty; give the architecture a name for reports",
            ));
        }

        let clock_ghz = match &self.clock_ghz {
            None => 1.0,
            Some(c) => {
                let v = *c.get_ref();
                if !(v.is_finite() && v > 0.0) {
                    return Err(cx.at(
                        c.span(),
                        format!("`clock_ghz` must be a finite number > 0 (GHz), found {v}"),
                    ));
                }
                v
            }
        };

        let array = self.array.get_ref().validate(cx, self.array.span())?;
        let cost = Params {
            memory: validate_memory(cx, self.memory.as_ref())?,
            energy: validate_energy(cx, self.energy.as_ref())?,
            area: validate_area(cx, self.area.as_ref())?,
        };

        // Custom schemes: every [[scheme]] table is checked, listed or not.
        let mut custom: Vec<(Scheme, Range<usize>, Design)> = Vec::new();
        for table in &self.scheme {
            let (scheme, design) = table.get_ref().validate(cx, table.span(), &array)?;
            let name_span = table.get_ref().name.span();
            if let Some((_, first, _)) = custom.iter().find(|(s, _, _)| s.name == scheme.name) {
                let (line, column) = cx.line_col(first.start);
                return Err(cx.at(
                    name_span,
                    format!(
                        "custom scheme `{}` is defined twice (first at line {line}, column {column}); \
                         give each [[scheme]] its own name",
                        scheme.name
                    ),
                ));
            }
            custom.push((scheme, name_span, design));
        }
        let known: Vec<&str> = PRESETS
            .iter()
            .copied()
            .chain(custom.iter().map(|(s, _, _)| s.name.as_str()))
            .collect();

        // The list of schemes.
        let listed = self.schemes.get_ref();
        if listed.is_empty() {
            return Err(cx.at(
                self.schemes.span(),
                "`schemes` is empty; list at least the baseline, e.g. schemes = [\"mlb\", \"mltq-bit\"]",
            ));
        }
        let mut schemes: Vec<Scheme> = Vec::with_capacity(listed.len());
        let mut designs: Vec<Design> = Vec::with_capacity(listed.len());
        for (i, entry) in listed.iter().enumerate() {
            let n = entry.get_ref().as_str();
            if let Some(first) = listed[..i].iter().find(|e| e.get_ref() == n) {
                let (line, column) = cx.line_col(first.span().start);
                return Err(cx.at(
                    entry.span(),
                    format!(
                        "scheme `{n}` is listed twice in `schemes` (first at line {line}, column {column}); \
                         list each scheme once"
                    ),
                ));
            }
            let (scheme, design) = match custom.iter().find(|(s, _, _)| s.name == n) {
                Some((s, _, d)) => (s.clone(), d.clone()),
                None => Scheme::preset(n).map(|s| {
                    let d = Design::default_for(&s);
                    (s, d)
                }).ok_or_else(|| {
                    cx.at(
                        entry.span(),
                        format!(
                            "unknown scheme `{n}` in `schemes`{}; a scheme is a preset ({}) or the name \
                             of a [[scheme]] table in this file",
                            did_you_mean(n, known.iter().copied()),
                            PRESETS.join(", ")
                        ),
                    )
                })?,
            };
            // A preset's weight schedule must fit the file's lanes (a custom scheme's was
            // checked against its own array with its table).
            if Scheme::preset(n).is_some() {
                if let Some(ws) = scheme.weight_schedule {
                    ws.check_lanes(array.lanes).map_err(|msg| {
                        cx.at(
                            entry.span(),
                            format!(
                                "preset `{n}`: {msg} (lanes from [array]); or define a [[scheme]] \
                                 with base = \"{n}\" and its own weight_schedule or [scheme.array] lanes"
                            ),
                        )
                    })?;
                }
            }
            schemes.push(scheme);
            designs.push(design);
        }

        let b = self.baseline.get_ref().as_str();
        let baseline = schemes.iter().position(|s| s.name == b).ok_or_else(|| {
            let names: Vec<&str> = schemes.iter().map(|s| s.name.as_str()).collect();
            let hint = match closest(b, names.iter().copied()) {
                Some(c) => format!(" (did you mean `{c}`?)"),
                None if known.contains(&b) => format!(
                    "; add `{b}` to `schemes`: the baseline must be one of the schemes compared"
                ),
                None => format!(
                    "; `{b}` is not a scheme either{}: name a preset or a [[scheme]] table, and \
                     list it in `schemes`",
                    did_you_mean(b, known.iter().copied())
                ),
            };
            cx.at(
                self.baseline.span(),
                format!(
                    "`baseline` = \"{b}\" is not one of `schemes` ({}){hint}",
                    names.join(", ")
                ),
            )
        })?;

        Ok(Arch {
            name: name.to_string(),
            clock_ghz,
            array,
            schemes,
            baseline,
            designs,
            cost,
        })
    }
}

/// One array size as parsed ([`array_value`]), located at its value.
fn array_size(cx: &Cx, table: &str, key: &str, v: &Spanned<i64>) -> Result<usize> {
    array_value(table, key, *v.get_ref()).map_err(|m| cx.at(v.span(), m))
}

impl RawArray {
    /// Replace one key's value (a sweep override), located at `span` for messages
    /// about the whole table.
    fn set(&mut self, key: &str, x: i64, span: Range<usize>) {
        let v = Spanned::new(span, x);
        match key {
            "tiles" => self.tiles = v,
            "rows" => self.rows = v,
            "columns" => self.columns = v,
            "lanes" => self.lanes = v,
            "column_registers" => self.column_registers = Some(v),
            _ => unreachable!("[array] has no key `{key}`"),
        }
    }

    fn validate(&self, cx: &Cx, table: Range<usize>) -> Result<ArrayShape> {
        let size = |key: &str, v: &Spanned<i64>| array_size(cx, "[array]", key, v);
        let shape = ArrayShape {
            tiles: size("tiles", &self.tiles)?,
            rows: size("rows", &self.rows)?,
            columns: size("columns", &self.columns)?,
            lanes: size("lanes", &self.lanes)?,
            column_registers: match &self.column_registers {
                Some(r) => size("column_registers", r)?,
                None => 0,
            },
        };
        shape.check_limits().map_err(|m| cx.at(table, m))?;
        Ok(shape)
    }
}

impl RawArrayOverride {
    /// The overrides, each checked as the same key of `[array]`, and the scheme's whole
    /// array against the limits.
    fn validate(
        &self,
        cx: &Cx,
        table: Range<usize>,
        label: &str,
        file: &ArrayShape,
    ) -> Result<ArrayOverride> {
        let where_ = format!("[scheme.array] of {label}");
        let size = |key: &str, v: &Option<Spanned<i64>>| {
            v.as_ref()
                .map(|v| array_size(cx, &where_, key, v))
                .transpose()
        };
        let o = ArrayOverride {
            tiles: size("tiles", &self.tiles)?,
            rows: size("rows", &self.rows)?,
            columns: size("columns", &self.columns)?,
            lanes: size("lanes", &self.lanes)?,
            column_registers: size("column_registers", &self.column_registers)?,
        };
        o.apply(file)
            .check_limits()
            .map_err(|m| cx.at(table, format!("{where_} with [array]: {m}")))?;
        Ok(o)
    }
}

/// A cost parameter: a finite number >= 0 (`> 0` when `positive`), or an error naming
/// the key, its table and what is allowed.
fn number(cx: &Cx, table: &str, key: &str, v: &Spanned<f64>, positive: bool) -> Result<f64> {
    number_value(table, key, *v.get_ref(), positive).map_err(|m| cx.at(v.span(), m))
}

/// [`number`] without a location: the value, or the message.
fn number_value(
    table: &str,
    key: &str,
    x: f64,
    positive: bool,
) -> std::result::Result<f64, String> {
    let ok = x.is_finite() && if positive { x > 0.0 } else { x >= 0.0 };
    if ok {
        Ok(x)
    } else {
        let allowed = if positive {
            "a finite number > 0"
        } else {
            "a finite number >= 0"
        };
        Err(format!("`{key}` in {table} must be {allowed}, found {x}"))
    }
}

fn validate_memory(cx: &Cx, raw: Option<&Spanned<RawMemory>>) -> Result<params::Memory> {
    let mut m = params::Memory::default();
    let Some(raw) = raw.map(Spanned::get_ref) else {
        return Ok(m);
    };
    let kib = |key: &str, v: &Spanned<i64>| -> Result<u64> {
        u64::try_from(*v.get_ref()).map_err(|_| {
            cx.at(
                v.span(),
                format!(
                    "`{key}` in [memory] must be an integer >= 0 (KiB), found {}",
                    v.get_ref()
                ),
            )
        })
    };
    if let Some(v) = &raw.act_buffer_kib {
        m.act_buffer_kib = kib("act_buffer_kib", v)?;
    }
    if let Some(v) = &raw.weight_buffer_kib {
        m.weight_buffer_kib = kib("weight_buffer_kib", v)?;
    }
    if let Some(v) = &raw.dram_gbps {
        m.dram_gbps = number(cx, "[memory]", "dram_gbps", v, true)?;
    }
    debug_assert_eq!(MEMORY_KEYS.len(), 3);
    Ok(m)
}

fn validate_energy(cx: &Cx, raw: Option<&Spanned<RawEnergy>>) -> Result<params::Energy> {
    let mut e = params::Energy::default();
    let Some(raw) = raw.map(Spanned::get_ref) else {
        return Ok(e);
    };
    for (key, v, dst) in [
        ("add_pj", &raw.add_pj, &mut e.add_pj),
        (
            "mult_pj_per_bit2",
            &raw.mult_pj_per_bit2,
            &mut e.mult_pj_per_bit2,
        ),
        (
            "select_pj_per_bit",
            &raw.select_pj_per_bit,
            &mut e.select_pj_per_bit,
        ),
        ("idle_lane_pj", &raw.idle_lane_pj, &mut e.idle_lane_pj),
        (
            "static_pj_per_lane_cycle",
            &raw.static_pj_per_lane_cycle,
            &mut e.static_pj_per_lane_cycle,
        ),
        (
            "sram_pj_per_bit",
            &raw.sram_pj_per_bit,
            &mut e.sram_pj_per_bit,
        ),
        (
            "dram_pj_per_bit",
            &raw.dram_pj_per_bit,
            &mut e.dram_pj_per_bit,
        ),
    ] {
        debug_assert!(ENERGY_KEYS.contains(&key));
        if let Some(v) = v {
            *dst = number(cx, "[energy]", key, v, false)?;
        }
    }
    Ok(e)
}

fn validate_area(cx: &Cx, raw: Option<&Spanned<RawArea>>) -> Result<params::Area> {
    let mut p = params::Area::default();
    let Some(raw) = raw.map(Spanned::get_ref) else {
        return Ok(p);
    };
    for (key, v, dst) in [
        ("add_um2", &raw.add_um2, &mut p.add_um2),
        (
            "mult_um2_per_bit2",
            &raw.mult_um2_per_bit2,
            &mut p.mult_um2_per_bit2,
        ),
        (
            "select_um2_per_bit",
            &raw.select_um2_per_bit,
            &mut p.select_um2_per_bit,
        ),
        (
            "sram_mm2_per_kib",
            &raw.sram_mm2_per_kib,
            &mut p.sram_mm2_per_kib,
        ),
    ] {
        debug_assert!(AREA_KEYS.contains(&key));
        if let Some(v) = v {
            *dst = number(cx, "[area]", key, v, false)?;
        }
    }
    Ok(p)
}

impl RawScheme {
    /// The table of preset `name` listed by name (`base` = the preset, nothing else
    /// set), located at `span` (its entry in `schemes`).
    fn of_preset(name: &str, span: Range<usize>) -> RawScheme {
        RawScheme {
            name: Spanned::new(span.clone(), name.to_string()),
            base: Some(Spanned::new(span, name.to_string())),
            serial: None,
            skip_act: None,
            skip_weight: None,
            sync: None,
            min_cycles: None,
            term_encoding: None,
            first_stage_bits: None,
            planes_act: None,
            planes_weight: None,
            store_act: None,
            store_weight: None,
            lane_pj: None,
            lane_um2: None,
            array: None,
            weight_schedule: None,
            of_preset: true,
        }
    }

    /// Set one key (checked by [`scheme_value`] first), located at `span`.
    fn set(&mut self, key: &str, v: &KeyValue, span: Range<usize>) {
        let text = |t: &str| Some(Spanned::new(span.clone(), t.to_string()));
        let int = |x: i64| Some(Spanned::new(span.clone(), x));
        match (key, v) {
            ("serial", KeyValue::Text(t)) => self.serial = text(t),
            ("skip_act", KeyValue::Text(t)) => self.skip_act = text(t),
            ("skip_weight", KeyValue::Text(t)) => self.skip_weight = text(t),
            ("sync", KeyValue::Text(t)) => self.sync = text(t),
            ("term_encoding", KeyValue::Text(t)) => self.term_encoding = text(t),
            ("store_act", KeyValue::Text(t)) => self.store_act = text(t),
            ("store_weight", KeyValue::Text(t)) => self.store_weight = text(t),
            ("min_cycles", KeyValue::Int(x)) => self.min_cycles = int(*x),
            ("first_stage_bits", KeyValue::Int(x)) => self.first_stage_bits = int(*x),
            ("planes_act", KeyValue::Int(x)) => self.planes_act = int(*x),
            ("planes_weight", KeyValue::Int(x)) => self.planes_weight = int(*x),
            ("lane_pj", KeyValue::Number(x)) => self.lane_pj = Some(Spanned::new(span.clone(), *x)),
            ("lane_um2", KeyValue::Number(x)) => {
                self.lane_um2 = Some(Spanned::new(span.clone(), *x))
            }
            (k, KeyValue::Int(x)) if ARRAY_KEYS.contains(&k) => {
                let arr = self.array.get_or_insert_with(|| {
                    Spanned::new(
                        span.clone(),
                        RawArrayOverride {
                            tiles: None,
                            rows: None,
                            columns: None,
                            lanes: None,
                            column_registers: None,
                        },
                    )
                });
                let v = int(*x);
                let a = arr.get_mut();
                match k {
                    "tiles" => a.tiles = v,
                    "rows" => a.rows = v,
                    "columns" => a.columns = v,
                    "lanes" => a.lanes = v,
                    _ => a.column_registers = v,
                }
            }
            _ => unreachable!("checked by scheme_value: `{key}` = {v:?}"),
        }
    }

    fn validate(
        &self,
        cx: &Cx,
        table: Range<usize>,
        file: &ArrayShape,
    ) -> Result<(Scheme, Design)> {
        let name = self.name.get_ref().as_str();
        if name.trim().is_empty() {
            return Err(cx.at(
                self.name.span(),
                "[[scheme]] `name` is empty; give the scheme a name",
            ));
        }
        if PRESETS.contains(&name) && !self.of_preset {
            return Err(cx.at(
                self.name.span(),
                format!(
                    "[[scheme]] name `{name}` is a preset; a custom scheme may not shadow a preset: \
                     list the preset in `schemes` as it is, or rename this scheme (e.g. `{name}-custom`)"
                ),
            ));
        }
        let label = format!("[[scheme]] `{name}`");
        let int = |key: &str, v: &Option<Spanned<i64>>| {
            v.as_ref()
                .map(|v| int_value(&label, key, *v.get_ref()).map_err(|m| cx.at(v.span(), m)))
                .transpose()
        };
        let mut s = match &self.base {
            None => Scheme::custom(name),
            Some(b) => {
                let v = b.get_ref().as_str();
                let Some(preset) = PRESETS.iter().find(|&&p| p == v) else {
                    return Err(cx.at(
                        b.span(),
                        format!(
                            "`base` in {label} = \"{v}\" is not a preset{}; `base` names one of \
                             the presets ({}), never a custom scheme: copy that scheme's keys \
                             into this table instead",
                            did_you_mean(v, PRESETS),
                            PRESETS.join(", ")
                        ),
                    ));
                };
                Scheme {
                    name: name.to_string(),
                    ..Scheme::preset(preset).expect("a preset name")
                }
            }
        };
        if let Some(v) = &self.serial {
            s.serial = pick(cx, "serial", &label, v, &SERIALS)?;
        }
        if let Some(v) = &self.skip_act {
            s.skip_act = pick(cx, "skip_act", &label, v, &SKIPS)?;
        }
        if let Some(v) = &self.skip_weight {
            s.skip_weight = pick(cx, "skip_weight", &label, v, &SKIPS)?;
        }
        if let Some(v) = &self.sync {
            s.sync = pick(cx, "sync", &label, v, &SYNCS)?;
        }
        if let Some(v) = &self.term_encoding {
            s.term_encoding = pick(cx, "term_encoding", &label, v, &TERM_ENCODINGS)?;
        }
        if let Some(m) = int("min_cycles", &self.min_cycles)? {
            s.min_cycles = m;
        }
        s.first_stage_bits = int("first_stage_bits", &self.first_stage_bits)?;
        s.planes_act = int("planes_act", &self.planes_act)?;
        s.planes_weight = int("planes_weight", &self.planes_weight)?;
        if let Some(ws) = &self.weight_schedule {
            let ws = ws.get_ref();
            let within = format!("weight_schedule of {label}");
            let step = |key: &str, what: &str, v: &Spanned<i64>| -> Result<u32> {
                let x = *v.get_ref();
                u32::try_from(x).ok().filter(|&x| x >= 1).ok_or_else(|| {
                    let most = if x > 0 {
                        format!(" and at most {}", u32::MAX)
                    } else {
                        String::new()
                    };
                    cx.at(
                        v.span(),
                        format!(
                            "`{key}` in {within} must be an integer >= 1{most} ({what}), found {x}"
                        ),
                    )
                })
            };
            s.weight_schedule = Some(WeightSchedule {
                shape: pick(cx, "shape", &within, &ws.shape, &SHAPES)?,
                lookahead: step(
                    "lookahead",
                    "h: how many steps ahead a weight may come from",
                    &ws.lookahead,
                )?,
                lookaside: step(
                    "lookaside",
                    "d: how many lanes aside it may come from",
                    &ws.lookaside,
                )?,
            });
        }

        s.validate().map_err(|e| {
            let msg = match e.kind() {
                ErrorKind::Invalid(m) => m.clone(),
                _ => e.to_string(),
            };
            // Point at the key the message is about, if this table sets it.
            let key: String = msg
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            let span = self.value_span(&key).unwrap_or(table.clone());
            cx.at(span, format!("{label}: {msg}"))
        })?;

        let mut d = Design::default_for(&s);
        d.base = self.base.as_ref().map(|b| b.get_ref().clone());
        if let Some(v) = &self.store_act {
            d.store_act = pick(cx, "store_act", &label, v, &FORMATS)?;
        }
        if let Some(v) = &self.store_weight {
            d.store_weight = pick(cx, "store_weight", &label, v, &FORMATS)?;
        }
        d.lane_pj = self
            .lane_pj
            .as_ref()
            .map(|v| number(cx, &label, "lane_pj", v, false))
            .transpose()?;
        d.lane_um2 = self
            .lane_um2
            .as_ref()
            .map(|v| number(cx, &label, "lane_um2", v, false))
            .transpose()?;
        if let Some(arr) = &self.array {
            d.array = arr.get_ref().validate(cx, arr.span(), &label, file)?;
        }
        if let Some(ws) = s.weight_schedule {
            ws.check_lanes(d.array.apply(file).lanes).map_err(|msg| {
                // At `lookaside` if this table sets the schedule, else at `base`.
                let span = self
                    .weight_schedule
                    .as_ref()
                    .map(|w| w.get_ref().lookaside.span())
                    .or_else(|| self.base.as_ref().map(Spanned::span))
                    .unwrap_or(table.clone());
                cx.at(span, format!("{label}: {msg}"))
            })?;
        }
        Ok((s, d))
    }

    /// The span of a key's value in this table, if it is set.
    fn value_span(&self, key: &str) -> Option<Range<usize>> {
        let s = |v: &Option<Spanned<String>>| v.as_ref().map(Spanned::span);
        let i = |v: &Option<Spanned<i64>>| v.as_ref().map(Spanned::span);
        match key {
            "name" => Some(self.name.span()),
            "serial" => s(&self.serial),
            "skip_act" => s(&self.skip_act),
            "skip_weight" => s(&self.skip_weight),
            "sync" => s(&self.sync),
            "term_encoding" => s(&self.term_encoding),
            "min_cycles" => i(&self.min_cycles),
            "first_stage_bits" => i(&self.first_stage_bits),
            "planes_act" => i(&self.planes_act),
            "planes_weight" => i(&self.planes_weight),
            "weight_schedule" => self.weight_schedule.as_ref().map(Spanned::span),
            _ => None,
        }
    }
}

/// One of a fixed set of spellings, or an error suggesting the closest.
fn pick<T: Copy>(
    cx: &Cx,
    key: &str,
    label: &str,
    v: &Spanned<String>,
    options: &[(&str, T)],
) -> Result<T> {
    pick_value(key, label, v.get_ref(), options).map_err(|m| cx.at(v.span(), m))
}

/// [`pick`] without a location: the value, or the message.
fn pick_value<T: Copy>(
    key: &str,
    label: &str,
    found: &str,
    options: &[(&str, T)],
) -> std::result::Result<T, String> {
    match options.iter().find(|(n, _)| *n == found) {
        Some(&(_, t)) => Ok(t),
        None => {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            Err(format!(
                "`{key}` in {label} = \"{found}\" is not allowed{}; allowed: {}",
                did_you_mean(found, names.iter().copied()),
                quoted(&names)
            ))
        }
    }
}

/// The integer keys of a `[[scheme]]` table: their ranges and the words for them.
const INT_KEYS: [(&str, Range<i64>, &str); 4] = [
    ("min_cycles", 0..2, "0 or 1"),
    ("first_stage_bits", 0..33, "an integer in 0..=32"),
    ("planes_act", 1..33, "an integer in 1..=32"),
    ("planes_weight", 1..33, "an integer in 1..=32"),
];

/// An integer key of `[[scheme]]` ([`INT_KEYS`]) checked against its range: the value,
/// or a message saying what was found and what is allowed.
fn int_value(label: &str, key: &str, x: i64) -> std::result::Result<u32, String> {
    let (_, range, allowed) = INT_KEYS
        .iter()
        .find(|(k, _, _)| *k == key)
        .expect("an integer key of [[scheme]]");
    if range.contains(&x) {
        Ok(x as u32)
    } else {
        Err(format!("`{key}` in {label} must be {allowed}, found {x}"))
    }
}

/// `"a", "b", "c"`.
fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------
// Locations and serde/toml errors
// ---------------------------------------------------------------------------------------

/// The file being parsed: turns byte spans into `path:line:column` errors.
struct Cx<'a> {
    text: &'a str,
    path: &'a str,
}

impl Cx<'_> {
    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.matches('\n').count() + 1;
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// An arch error at the start of `span`.
    fn at(&self, span: Range<usize>, msg: impl Into<String>) -> Error {
        let (line, column) = self.line_col(span.start);
        ErrorKind::Arch {
            path: self.path.to_string(),
            line,
            column,
            msg: msg.into(),
        }
        .into()
    }

    /// A syntax, unknown-key or type error from toml/serde, rewritten to name the key,
    /// what was found, what is allowed, and the closest valid key.
    fn toml_error(&self, e: &toml::de::Error) -> Error {
        let span = e.span().unwrap_or(0..0);
        let raw = e.message().trim();
        let Ok(doc) = DeTable::parse(self.text) else {
            // A syntax error: toml's own message is precise enough.
            let mut msg = format!("invalid TOML: {}", raw.replace('\n', "; "));
            if raw.starts_with("duplicate key") {
                if let Some(key) = self
                    .text
                    .get(span.clone())
                    .filter(|k| !k.is_empty() && k.len() <= 80)
                {
                    msg.push_str(&format!(
                        " `{}`; each key may appear once per table",
                        key.trim()
                    ));
                }
            }
            return self.at(span, msg);
        };
        let found = locate(doc.get_ref(), &span);
        let msg = if let Some(rest) = raw.strip_prefix("unknown field ") {
            let (key, allowed) = split_expected(rest);
            let table = found
                .as_ref()
                .map_or(&[][..], |f| &f.path[..f.path.len().saturating_sub(1)]);
            let mut msg = format!(
                "unknown key `{key}` {}{}; allowed keys: {}",
                table_name(table),
                did_you_mean(&key, allowed.iter().map(String::as_str)),
                allowed
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            msg.push_str(&misplaced_hint(&key, table));
            msg
        } else if let Some(rest) = raw.strip_prefix("missing field ") {
            let (key, _) = split_expected(rest);
            let path = found.map(|f| f.path).unwrap_or_default();
            let what = match (path.as_slice(), key.as_str()) {
                ([], "array") => "; add an [array] table with tiles, rows, columns and lanes",
                ([], "name") => "; it names the architecture in reports",
                ([], "baseline") => "; it is the scheme every speedup is relative to",
                ([], "schemes") => {
                    "; list the schemes to compare, e.g. schemes = [\"mlb\", \"mltq-bit\"]"
                }
                ([Seg::Key(t), _], "name") if t == "scheme" => {
                    "; `schemes` refers to a custom scheme by its name"
                }
                ([Seg::Key(t), _, Seg::Key(w)], _) if t == "scheme" && w == "weight_schedule" => {
                    "; a weight schedule needs all three keys, e.g. \
                     weight_schedule = { shape = \"T\", lookahead = 2, lookaside = 5 }"
                }
                _ => "",
            };
            format!("missing required key `{key}` {}{what}", table_name(&path))
        } else if let Some(rest) = raw
            .strip_prefix("invalid type: ")
            .or_else(|| raw.strip_prefix("invalid value: "))
        {
            let (serde_found, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, "?"));
            let (path, found) = match found {
                Some(f) => (f.path, f.found.unwrap_or_else(|| serde_found.to_string())),
                None => (Vec::new(), serde_found.to_string()),
            };
            let expected = match expected {
                "i64" | "i32" | "u32" | "u64" | "usize" => "an integer",
                "f64" | "f32" => "a number",
                "a sequence" => "an array",
                e if e.starts_with("struct ") => "a table",
                e => e,
            };
            if expected == "an integer" && found.starts_with("an integer") {
                let digits = found
                    .trim_start_matches("an integer (")
                    .trim_end_matches(')');
                format!("{}: integer {digits} is out of range", key_name(&path))
            } else {
                format!(
                    "{}: expected {expected}, found {found}{}",
                    key_name(&path),
                    type_hint(&path, &found)
                )
            }
        } else {
            let path = found.map(|f| f.path).unwrap_or_default();
            if path.is_empty() {
                raw.to_string()
            } else {
                format!("{}: {raw}", key_name(&path))
            }
        };
        self.at(span, msg)
    }
}

/// "`x`, expected one of `a`, `b`" → ("x", ["a", "b"]); also "`x`" → ("x", []).
fn split_expected(s: &str) -> (String, Vec<String>) {
    let mut ticks = s.split('`').skip(1).step_by(2).map(str::to_string);
    let key = ticks.next().unwrap_or_default();
    (key, ticks.collect())
}

/// One step of a path into the document.
#[derive(Clone, Debug)]
enum Seg {
    /// A key of a table.
    Key(String),
    /// An element of an array, with the `name` it holds if it is a table.
    Index(usize, Option<String>),
}

/// Where a serde error points: the path of the key or value, and, for a value, what it
/// holds in words.
struct Found {
    path: Vec<Seg>,
    found: Option<String>,
}

/// The deepest key or value of `doc` whose span holds `span`.
fn locate(doc: &DeTable, span: &Range<usize>) -> Option<Found> {
    fn within(span: &Range<usize>, outer: &Range<usize>) -> bool {
        // An empty span (toml's "missing field" at the top level) is about no key.
        span.start < span.end && outer.start <= span.start && span.end <= outer.end
    }
    fn in_table(t: &DeTable, span: &Range<usize>) -> Option<Found> {
        for (k, v) in t.iter() {
            if within(span, &k.span()) {
                return Some(Found {
                    path: vec![Seg::Key(k.get_ref().to_string())],
                    found: None,
                });
            }
            if let Some(mut f) = in_value(v, span) {
                f.path.insert(0, Seg::Key(k.get_ref().to_string()));
                return Some(f);
            }
        }
        None
    }
    fn in_value(v: &Spanned<DeValue>, span: &Range<usize>) -> Option<Found> {
        let inner = match v.get_ref() {
            DeValue::Table(t) => in_table(t, span),
            DeValue::Array(a) => a.iter().enumerate().find_map(|(i, item)| {
                let mut f = in_value(item, span)?;
                let name = match item.get_ref() {
                    DeValue::Table(t) => t.get("name").and_then(|n| match n.get_ref() {
                        DeValue::String(s) => Some(s.to_string()),
                        _ => None,
                    }),
                    _ => None,
                };
                f.path.insert(0, Seg::Index(i, name));
                Some(f)
            }),
            _ => None,
        };
        inner.or_else(|| {
            within(span, &v.span()).then(|| Found {
                path: Vec::new(),
                found: Some(describe(v.get_ref())),
            })
        })
    }
    in_table(doc, span)
}

/// A value in words: `a string ("4")`, `an integer (4)`, `a table`.
pub(crate) fn describe(v: &DeValue) -> String {
    match v {
        DeValue::String(s) => format!("a string ({s:?})"),
        DeValue::Integer(i) => format!("an integer ({})", i.as_str()),
        DeValue::Float(f) => format!("a float ({})", f.as_str()),
        DeValue::Boolean(b) => format!("a boolean ({b})"),
        DeValue::Datetime(d) => format!("a date-time ({d})"),
        DeValue::Array(_) => "an array".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    }
}

/// A key in words: "`name`", "`lanes` in [array]", "`sync` in [[scheme]] `x`", "entry 2
/// of `schemes`".
fn key_name(path: &[Seg]) -> String {
    match path {
        [] => "the file".to_string(),
        [Seg::Key(k)] => format!("`{k}`"),
        [Seg::Key(k), Seg::Index(i, _)] if k != "scheme" => format!("entry {} of `{k}`", i + 1),
        [table @ .., Seg::Key(k)] => format!("`{k}` {}", table_name(table)),
        _ => table_name(path).trim_start_matches("in ").to_string(),
    }
}

/// A table in words: "at the top level", "in [array]", "in [[scheme]] `x`".
fn table_name(path: &[Seg]) -> String {
    match path {
        [] => "at the top level".to_string(),
        [Seg::Key(t)] => format!("in [{t}]"),
        [Seg::Key(t), Seg::Index(_, Some(n))] => format!("in [[{t}]] `{n}`"),
        [Seg::Key(t), Seg::Index(i, None)] => format!("in [[{t}]] number {}", i + 1),
        [Seg::Key(t), Seg::Index(i, n), Seg::Key(sub)] => {
            let which = match n {
                Some(n) => format!("`{n}`"),
                None => format!("number {}", i + 1),
            };
            format!("in [{t}.{sub}] of [[{t}]] {which}")
        }
        _ => {
            let dotted: Vec<String> = path
                .iter()
                .map(|s| match s {
                    Seg::Key(k) => k.clone(),
                    Seg::Index(i, _) => format!("[{i}]"),
                })
                .collect();
            format!("in `{}`", dotted.join("."))
        }
    }
}

/// A hint for a key written in the wrong table.
fn misplaced_hint(key: &str, table: &[Seg]) -> String {
    let at_top = table.is_empty();
    let in_scheme = matches!(table, [Seg::Key(t), Seg::Index(..)] if t == "scheme");
    if at_top && ARRAY_KEYS.contains(&key) {
        format!("; `{key}` belongs in the [array] table")
    } else if in_scheme && ARRAY_KEYS.contains(&key) {
        format!(
            "; a scheme's own array goes in a [scheme.array] table below its [[scheme]] table \
             (`[scheme.array]` then `{key} = …`)"
        )
    } else if at_top && SCHEME_KEYS.contains(&key) {
        format!("; `{key}` belongs in a [[scheme]] table")
    } else if let Some(t) = [
        ("memory", &MEMORY_KEYS[..]),
        ("energy", &ENERGY_KEYS[..]),
        ("area", &AREA_KEYS[..]),
    ]
    .iter()
    .find_map(|(t, keys)| keys.contains(&key).then_some(t))
    {
        format!("; `{key}` belongs in the [{t}] table")
    } else if !at_top && TOP_KEYS.contains(&key) {
        format!(
            "; `{key}` is a top-level key: write it above the first [table] header (keys after a \
             header belong to that table)"
        )
    } else {
        String::new()
    }
}

/// A hint for common type mistakes.
fn type_hint(path: &[Seg], found: &str) -> String {
    match path {
        [Seg::Key(k)] if k == "scheme" && found.starts_with("a table") => {
            "; custom schemes are an array of tables: write [[scheme]] (double brackets)"
                .to_string()
        }
        [Seg::Key(k)] if k == "schemes" => {
            "; `schemes` lists names, e.g. schemes = [\"mlb\", \"mltq-bit\"]; custom schemes are \
             [[scheme]] tables"
                .to_string()
        }
        [Seg::Key(k)] if k == "array" => {
            "; write the array as an [array] table with tiles, rows, columns and lanes".to_string()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_spellings_match_serde_names() {
        let de = |s: &str| format!("\"{s}\"");
        for (n, v) in SERIALS {
            assert_eq!(serde_json::from_str::<Serial>(&de(n)).unwrap(), v);
        }
        for (n, v) in SKIPS {
            assert_eq!(serde_json::from_str::<Skip>(&de(n)).unwrap(), v);
        }
        for (n, v) in SYNCS {
            assert_eq!(serde_json::from_str::<SyncMode>(&de(n)).unwrap(), v);
        }
        for (n, v) in TERM_ENCODINGS {
            assert_eq!(serde_json::from_str::<TermEncoding>(&de(n)).unwrap(), v);
            assert_eq!(v.as_str(), n);
        }
    }

    #[test]
    fn line_col_counts_characters_from_one() {
        let cx = Cx {
            text: "ab\nc\u{e9}d\n",
            path: "p",
        };
        assert_eq!(cx.line_col(0), (1, 1));
        assert_eq!(cx.line_col(3), (2, 1));
        assert_eq!(cx.line_col(6), (2, 3)); // after the two-byte é
        assert_eq!(cx.line_col(5), (2, 2)); // inside é: clamped back
        assert_eq!(cx.line_col(99), (3, 1));
    }
}
