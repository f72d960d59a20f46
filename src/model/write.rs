//! Writing a [`Network`] as a `.mltq` file.
//!
//! The output is deterministic: `MLTQ 1`, the `network` record, every `layer` record,
//! then per layer its `weights` and its `acts` in sample order, then `end`. The payload
//! holds the tensors in the same order, each tensor's data then its scales, with no
//! gaps. Optional fields at their default value (`stride=1,1`, `pad=0,0`, `groups=1`,
//! `signed=true`, `precision=B`, no int `scale`) are left out, so the spec's examples
//! are reproduced byte for byte. Int tensors use the smallest storage for their bits.
//!
//! Strings (names, `source`) are written bare when they can be, double-quoted
//! otherwise. A string that no `.mltq` header can hold (non-ASCII, `"` or a newline) is
//! refused by [`save`] and [`check`]; [`to_bytes`], which cannot fail, replaces such
//! characters (`"` → `'`, newline → space, non-ASCII → `?`).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

use super::header::{check_geometry, is_bare, is_writable};
use super::Network;
use crate::encoding::{Encoding, ScaleMode};
use crate::error::{Error, Result};
use crate::tensor::{Tensor, Values};

/// Serialize a network to `.mltq` bytes.
pub fn to_bytes(net: &Network) -> Vec<u8> {
    let mut head = String::from("MLTQ 1\n");
    let _ = write!(head, "network name={}", value(&net.name));
    if let Some(src) = &net.source {
        let _ = write!(head, " source={}", value(src));
    }
    head.push('\n');
    for l in &net.layers {
        let _ = write!(head, "layer name={} op={}", value(&l.name), l.geom.op());
        match l.geom {
            super::Geometry::Conv(c) => {
                let _ = write!(
                    head,
                    " in={},{},{} out={} kernel={},{}",
                    c.c, c.h, c.w, c.f, c.kh, c.kw
                );
                if (c.sh, c.sw) != (1, 1) {
                    let _ = write!(head, " stride={},{}", c.sh, c.sw);
                }
                if (c.ph, c.pw) != (0, 0) {
                    let _ = write!(head, " pad={},{}", c.ph, c.pw);
                }
                if c.groups != 1 {
                    let _ = write!(head, " groups={}", c.groups);
                }
            }
            super::Geometry::Fc { c, f } => {
                let _ = write!(head, " in={c} out={f}");
            }
        }
        head.push('\n');
    }
    let mut payload = Vec::new();
    for l in &net.layers {
        let name = value(&l.name);
        let tensors =
            std::iter::once((None, &l.weights)).chain(l.acts.iter().map(|(s, t)| (Some(*s), t)));
        for (sample, t) in tensors {
            match sample {
                None => {
                    let _ = write!(head, "weights layer={name}");
                }
                Some(s) => {
                    let _ = write!(head, "acts layer={name} sample={s}");
                }
            }
            let shape: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
            let _ = write!(
                head,
                " shape={} {}",
                shape.join(","),
                enc_fields(t.encoding())
            );
            let off = payload.len();
            data_bytes(t, &mut payload);
            let _ = write!(head, " data={off}+{}", payload.len() - off);
            if !t.encoding().is_int() {
                let off = payload.len();
                for s in t.scales() {
                    payload.extend_from_slice(&s.to_le_bytes());
                }
                let _ = write!(head, " scales={off}+{}", payload.len() - off);
            }
            head.push('\n');
        }
    }
    head.push_str("end\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(&payload);
    out
}

/// Write a network to `path` atomically, after [`check`]ing that it can be read back.
pub fn save(net: &Network, path: &Path) -> Result<()> {
    check(net)?;
    crate::output::write_bytes(path, &to_bytes(net))
}

/// Check that `net` can be written as a valid `.mltq` file: every string fits a
/// header, layer names are unique, geometries are valid, each tensor has the shape its
/// layer implies, and acts do not use `scale=channel`.
pub fn check(net: &Network) -> Result<()> {
    let bad_string = |what: String, s: &str| {
        Error::invalid(format!(
            "{what} {s:?} cannot be written to a .mltq header: header strings are ASCII without `\"` or newlines"
        ))
    };
    if !is_writable(&net.name) {
        return Err(bad_string("network name".into(), &net.name));
    }
    if let Some(src) = &net.source {
        if !is_writable(src) {
            return Err(bad_string("network source".into(), src));
        }
    }
    let mut names = HashSet::new();
    for l in &net.layers {
        if !is_writable(&l.name) {
            return Err(bad_string("layer name".into(), &l.name));
        }
        if !names.insert(l.name.as_str()) {
            return Err(Error::invalid(format!(
                "layer name `{}` is used twice; layer names must be unique",
                l.name
            )));
        }
        check_geometry(&l.geom).map_err(|m| Error::invalid(format!("layer `{}`: {m}", l.name)))?;
        let want = l.geom.weight_shape();
        if l.weights.shape() != want.as_slice() {
            return Err(Error::invalid(format!(
                "layer `{}`: weights have shape {:?} but the layer implies {want:?}",
                l.name,
                l.weights.shape()
            )));
        }
        let want = l.geom.act_shape();
        for (s, a) in &l.acts {
            if a.shape() != want.as_slice() {
                return Err(Error::invalid(format!(
                    "layer `{}`: acts of sample {s} have shape {:?} but the layer implies {want:?}",
                    l.name,
                    a.shape()
                )));
            }
            if let Encoding::Ternary {
                scale: ScaleMode::Channel,
                ..
            }
            | Encoding::Binary {
                scale: ScaleMode::Channel,
                ..
            } = a.encoding()
            {
                return Err(Error::invalid(format!(
                    "layer `{}`: acts of sample {s} use scale=channel, which is only for weights",
                    l.name
                )));
            }
        }
    }
    Ok(())
}

/// A header value: bare when possible, else double-quoted (impossible characters
/// replaced, see the module docs).
pub fn value(s: &str) -> String {
    if is_bare(s) {
        return s.to_string();
    }
    let inner: String = s
        .chars()
        .map(|c| match c {
            '"' => '\'',
            '\n' => ' ',
            c if !c.is_ascii() => '?',
            c => c,
        })
        .collect();
    format!("\"{inner}\"")
}

/// The encoding fields of a tensor record.
fn enc_fields(enc: &Encoding) -> String {
    match *enc {
        // `Display` spells ternary and binary exactly as the header does.
        Encoding::Ternary { .. } | Encoding::Binary { .. } => format!("enc={enc}"),
        Encoding::Int {
            bits,
            signed,
            precision,
            scale,
        } => {
            let mut s = format!("enc=int bits={bits}");
            if !signed {
                s.push_str(" signed=false");
            }
            if precision != bits {
                let _ = write!(s, " precision={precision}");
            }
            if let Some(x) = scale {
                // `Display` for f32 is the shortest string that parses back exactly.
                let _ = write!(s, " scale={x}");
            }
            s
        }
    }
}

/// Append a tensor's data bytes: planes (ternary: per level nonzero then negative;
/// binary: negative) as little-endian u64 words, or ints in their smallest storage.
fn data_bytes(t: &Tensor, out: &mut Vec<u8>) {
    match (t.values(), t.encoding()) {
        (Values::Planes { nonzero, negative }, Encoding::Ternary { levels, .. }) => {
            let words = crate::tensor::plane_words(t.len());
            for p in 0..*levels as usize {
                for plane in [nonzero, negative] {
                    for w in plane.get(p * words..(p + 1) * words).unwrap_or(&[]) {
                        out.extend_from_slice(&w.to_le_bytes());
                    }
                }
            }
        }
        (Values::Planes { negative, .. }, _) => {
            for w in negative {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        (Values::Int(v), enc) => {
            // Tensors pair int values with an int encoding; 32 bits is the fallback.
            let bits = match enc {
                Encoding::Int { bits, .. } => *bits,
                _ => 32,
            };
            let width = super::header::int_storage_bytes(bits) as usize;
            for x in v {
                out.extend_from_slice(&x.to_le_bytes()[..width]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_only_when_needed() {
        assert_eq!(value("conv1.a/b:c+d,e-f_g"), "conv1.a/b:c+d,e-f_g");
        assert_eq!(value("my layer"), "\"my layer\"");
        assert_eq!(value(""), "\"\"");
        assert_eq!(value("a\"b\nc\u{e9}"), "\"a'b c?\"");
    }

    #[test]
    fn int_storage_is_smallest_and_little_endian() {
        let t = Tensor::int(&[2], 9, true, 9, None, vec![-2, 255]).unwrap();
        let mut out = Vec::new();
        data_bytes(&t, &mut out);
        assert_eq!(out, [0xfe, 0xff, 0xff, 0x00]);
        let t = Tensor::int(&[1], 8, false, 8, None, vec![200]).unwrap();
        out.clear();
        data_bytes(&t, &mut out);
        assert_eq!(out, [200]);
    }
}
