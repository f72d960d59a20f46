//! The record (`sweep.json`), written and read one point at a time: a million-point
//! sweep's record is hundreds of megabytes, and neither the sweep nor `mltq merge`
//! ever holds it whole.
//!
//! The bytes are exactly those of `serde_json`'s pretty printer on the whole record as
//! a `serde_json::Value` (keys in sorted order, two-space indents): [`write`] streams
//! the `points` array at its place among the keys. A point may be any `Serialize`
//! whose keys come out in sorted order (what a `Value` gives), so the sweep serializes
//! its point records directly and `merge` re-emits parsed ones, to the same bytes.

use std::io::{BufReader, Write};
use std::path::Path;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::files::{self, Bounded, Limit};

/// The key of the streamed array.
pub const POINTS: &str = "points";

/// A writer that indents every line after the first by `indent` spaces (a value
/// pretty-printed at depth). JSON strings are escaped, so every newline in the
/// printer's output is its own.
struct Indent<'a> {
    inner: &'a mut dyn Write,
    indent: &'static [u8],
}

impl Write for Indent<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            self.inner.write_all(&rest[..=i])?;
            self.inner.write_all(self.indent)?;
            rest = &rest[i + 1..];
        }
        self.inner.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `value` pretty-printed into `w`, its lines after the first indented by `indent`.
fn pretty(
    w: &mut dyn Write,
    value: &(impl serde::Serialize + ?Sized),
    indent: &'static [u8],
) -> std::io::Result<()> {
    serde_json::to_writer_pretty(Indent { inner: w, indent }, value).map_err(std::io::Error::from)
}

/// One point of the record, as [`write`] takes it.
pub type Emit<'a> = dyn FnMut(&dyn erased::Point) -> std::io::Result<()> + 'a;

/// Points of any `Serialize` type, behind one `dyn`.
pub mod erased {
    /// A point record: serialized with its keys in sorted order.
    pub trait Point {
        /// Pretty-print into `w`, lines after the first indented by `indent`.
        fn pretty_into(
            &self,
            w: &mut dyn std::io::Write,
            indent: &'static [u8],
        ) -> std::io::Result<()>;
    }

    impl<T: serde::Serialize> Point for T {
        fn pretty_into(
            &self,
            w: &mut dyn std::io::Write,
            indent: &'static [u8],
        ) -> std::io::Result<()> {
            super::pretty(w, self, indent)
        }
    }
}

/// Write a record: every key of `head` and, at its sorted place, `points` holding
/// what `points` emits, one point per call of `emit` (each serializing its keys in
/// sorted order). The bytes are those of `serde_json::to_writer_pretty` on the whole
/// object as a `Value`, plus a final newline.
pub fn write(
    w: &mut dyn Write,
    head: &Map<String, Value>,
    points: &mut dyn FnMut(&mut Emit) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut keys: Vec<&str> = head.keys().map(String::as_str).collect();
    keys.push(POINTS);
    keys.sort_unstable();
    w.write_all(b"{")?;
    for (k, key) in keys.iter().enumerate() {
        if k > 0 {
            w.write_all(b",")?;
        }
        write!(w, "\n  {}: ", serde_json::to_string(key)?)?;
        if *key != POINTS {
            pretty(w, &head[*key], b"  ")?;
            continue;
        }
        let mut n = 0usize;
        w.write_all(b"[")?;
        points(&mut |p: &dyn erased::Point| {
            w.write_all(if n > 0 { b",\n    " } else { b"\n    " })?;
            n += 1;
            p.pretty_into(w, b"    ")
        })?;
        w.write_all(if n > 0 { b"\n  ]" } else { b"]" })?;
    }
    w.write_all(b"\n}\n")
}

/// Read a record: every key but `points` into the map returned, each point given to
/// `each` in order (never all held). The file is read with the data limit
/// ([`Limit::Data`]).
pub fn scan(
    path: &Path,
    each: &mut dyn FnMut(Value) -> std::result::Result<(), String>,
) -> Result<Map<String, Value>> {
    let f = files::open_input(path)?;
    let limit = Limit::Data.bytes()?;
    let input = BufReader::new(Bounded::new(
        f,
        limit,
        format!("the record {}", path.display()),
    ));
    let mut de = serde_json::Deserializer::from_reader(input);
    let head = Head { each }
        .deserialize(&mut de)
        .and_then(|h| de.end().map(|()| h))
        .map_err(|e| {
            if e.is_io() {
                Error::read(path, e.into())
            } else {
                Error::invalid(format!("{}: not a sweep record: {e}", path.display()))
            }
        })?;
    Ok(head)
}

/// The record object: keys into a map, `points` through `each`.
struct Head<'a> {
    each: &'a mut dyn FnMut(Value) -> std::result::Result<(), String>,
}

impl<'de> DeserializeSeed<'de> for Head<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Head<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a sweep record (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut head = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == POINTS {
                map.next_value_seed(Points {
                    each: &mut *self.each,
                })?;
            } else {
                let v: Value = map.next_value()?;
                head.insert(key, v);
            }
        }
        Ok(head)
    }
}

/// The `points` array, one element at a time.
struct Points<'a> {
    each: &'a mut dyn FnMut(Value) -> std::result::Result<(), String>,
}

impl<'de> DeserializeSeed<'de> for Points<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Points<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of points")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            (self.each)(v).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_records_are_the_bytes_of_the_pretty_printer() {
        let points = vec![
            serde_json::json!({"id": "0-ab", "params": {"lanes": 4, "x": [1, 2]}, "z": null}),
            serde_json::json!({"id": "1-cd", "params": {}, "list": []}),
        ];
        let mut whole = serde_json::json!({
            "columns": ["a", "b"],
            "schema_version": 1,
            "order": "text with \"quotes\"\nand a newline",
            "empty": {},
        });
        let head = whole.as_object().unwrap().clone();
        whole["points"] = Value::Array(points.clone());
        let want = format!("{}\n", serde_json::to_string_pretty(&whole).unwrap());
        let mut got = Vec::new();
        write(&mut got, &head, &mut |emit| {
            points.iter().try_for_each(|p| emit(p))
        })
        .unwrap();
        // A struct whose fields are in sorted order prints the same bytes.
        #[derive(serde::Serialize)]
        struct Sorted {
            a: u32,
            b: Vec<&'static str>,
        }
        let mut direct = Vec::new();
        write(&mut direct, &Map::new(), &mut |emit| {
            emit(&Sorted {
                a: 1,
                b: vec!["x", "y"],
            })
        })
        .unwrap();
        let via_value = serde_json::json!({"points": [{"a": 1, "b": ["x", "y"]}]});
        assert_eq!(
            String::from_utf8(direct).unwrap(),
            format!("{}\n", serde_json::to_string_pretty(&via_value).unwrap())
        );
        assert_eq!(String::from_utf8(got.clone()).unwrap(), want);

        let mut none = Vec::new();
        write(&mut none, &head, &mut |_| Ok(())).unwrap();
        whole["points"] = Value::Array(Vec::new());
        assert_eq!(
            String::from_utf8(none).unwrap(),
            format!("{}\n", serde_json::to_string_pretty(&whole).unwrap())
        );

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sweep.json");
        std::fs::write(&p, &got).unwrap();
        let mut seen = Vec::new();
        let back = scan(&p, &mut |v| {
            seen.push(v);
            Ok(())
        })
        .unwrap();
        assert_eq!(back, head);
        assert_eq!(seen, points);
    }
}
