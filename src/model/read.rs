//! Decoding a `.mltq` file into a [`Network`].
//!
//! The header is read incrementally (at most 16 MiB) and validated against the file's
//! real length before any payload byte is read, so a header that claims gigabytes is
//! refused without allocating them. Each range is then read on its own (seek +
//! `read_exact` for files, a bounds-checked sub-slice for bytes) and decoded. Ranges do
//! not overlap, so what is allocated is bounded by the file size.
//!
//! Payload errors name the byte range relative to the payload start (and say so).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::header::{self, Header, Range, TensorHeader};
use super::{Layer, Network};
use crate::encoding::{Encoding, ScaleMode};
use crate::error::{Error, Result};
use crate::tensor::{int_range, plane_words, Tensor};

/// Read a `.mltq` file.
pub fn load(path: &Path) -> Result<Network> {
    let (header, raw_len, reader) = open(path)?;
    let file = reader.into_inner();
    decode(
        &header,
        &path.display().to_string(),
        Source::File {
            file,
            base: raw_len,
            path,
        },
    )
}

/// Check a `.mltq` file without reading its payload: its header against the file's
/// length, and its decoded size against the memory budget (what [`load`] checks first).
pub fn check_file(path: &Path) -> Result<()> {
    open(path).map(drop)
}

/// Open a `.mltq` file: the validated header, its length in bytes, and the file
/// positioned after it. Nothing past the header is read.
fn open(path: &Path) -> Result<(Header, u64, BufReader<File>)> {
    let name = path.display().to_string();
    // Ranges are read where the header says: a FIFO or a device has no such places (and
    // a FIFO without a writer would block the open).
    let kind = crate::files::Kind::at(path).map_err(|e| Error::read(path, e))?;
    if kind.is_stream() || kind == crate::files::Kind::BlockDevice {
        return Err(Error::read(
            path,
            std::io::Error::other(format!(
                "it is {}; a model is read by byte ranges from a regular .mltq file: save it \
                 to a file first",
                kind.describe()
            )),
        ));
    }
    let file = File::open(path).map_err(|e| Error::read(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::read(path, e))?.len();
    let mut reader = BufReader::new(file);
    let raw = header::read_header(&mut reader, &name)?;
    let payload_len = file_len.checked_sub(raw.len).ok_or_else(|| {
        Error::read(
            path,
            std::io::Error::other("the file became shorter while it was being read"),
        )
    })?;
    let header = Header::validate(&raw, payload_len, &name)?;
    crate::budget::check(
        &format!("model {name}"),
        decoded_bytes(&header),
        "simulate a smaller model, fewer samples, or free memory",
    )?;
    Ok((header, raw.len, reader))
}

/// Bytes that decoding a validated header takes at its peak: every tensor as the
/// simulator holds it (digit planes as they are stored, ints as `i32`, scales as
/// `f32`), plus the largest range being read and converted. Compared with the memory
/// budget by [`load`] before any payload byte is read.
pub fn decoded_bytes(h: &Header) -> u64 {
    let mut total = 0u64;
    let mut transient = 0u64;
    for t in &h.tensors {
        let n = t
            .shape
            .iter()
            .fold(1u64, |a, &d| a.saturating_mul(d as u64));
        let held = match t.enc {
            Encoding::Int { .. } => n.saturating_mul(4),
            _ => t.data.len,
        };
        let scales = t.scales.map_or(0, |r| r.len);
        total = total.saturating_add(held).saturating_add(scales);
        // The range read from the file, plus (ternary) the words before the split.
        transient = transient.max(t.data.len.saturating_mul(2));
    }
    total.saturating_add(transient)
}

/// Parse a whole `.mltq` file held in memory; `path` is only used in messages.
pub fn parse_bytes(bytes: &[u8], path: &str) -> Result<Network> {
    let mut rest = bytes;
    let raw = header::read_header(&mut rest, path)?;
    let header = Header::validate(&raw, rest.len() as u64, path)?;
    decode(&header, path, Source::Bytes(rest))
}

/// Where payload ranges come from.
enum Source<'a> {
    /// The payload itself.
    Bytes(&'a [u8]),
    /// A file whose payload starts at `base`.
    File {
        file: File,
        base: u64,
        path: &'a Path,
    },
}

impl<'a> Source<'a> {
    /// Append to `out` the `n` little-endian words starting at payload offset `off`
    /// (inside a range already checked to lie in the payload): one copy, straight into
    /// `out`.
    fn words(&mut self, off: u64, n: usize, out: &mut Vec<u64>, name: &str) -> Result<()> {
        let r = Range {
            off,
            len: (n * 8) as u64,
        };
        match self {
            Source::Bytes(_) => {
                let bytes = self.get(r, name)?;
                out.extend(bytes.chunks_exact(8).map(le8));
            }
            Source::File { file, base, path } => {
                let at = out.len();
                out.resize(at + n, 0);
                let new = &mut out[at..];
                read_at(file, *base, path, r, name, bytemuck::cast_slice_mut(new))?;
                if cfg!(target_endian = "big") {
                    for w in new {
                        *w = u64::from_le(*w);
                    }
                }
            }
        }
        Ok(())
    }

    /// The bytes of a tensor's `scales` range (empty without one).
    fn get_scales(&mut self, t: &TensorHeader, name: &str) -> Result<Cow<'a, [u8]>> {
        match t.scales {
            Some(r) => self.get(r, name),
            None => Ok(Cow::Borrowed(&[][..])),
        }
    }

    /// The bytes of a range already checked to lie inside the payload.
    fn get(&mut self, r: Range, name: &str) -> Result<Cow<'a, [u8]>> {
        let outside = || outside(name, r);
        match self {
            Source::Bytes(b) => {
                let (off, end) = (
                    usize::try_from(r.off).map_err(|_| outside())?,
                    usize::try_from(r.end()).map_err(|_| outside())?,
                );
                b.get(off..end).map(Cow::Borrowed).ok_or_else(outside)
            }
            Source::File { file, base, path } => {
                let len = usize::try_from(r.len).map_err(|_| outside())?;
                let mut buf = vec![0u8; len];
                read_at(file, *base, path, r, name, &mut buf)?;
                Ok(Cow::Owned(buf))
            }
        }
    }
}

/// The error for a range that does not lie inside the payload.
fn outside(name: &str, r: Range) -> Error {
    Error::payload(
        name,
        r.off,
        r.end(),
        "range lies outside the payload (offsets relative to the payload start)",
    )
}

/// Fill `buf` with the file's bytes of payload range `r` (the payload starts at `base`).
fn read_at(
    file: &mut File,
    base: u64,
    path: &Path,
    r: Range,
    name: &str,
    buf: &mut [u8],
) -> Result<()> {
    let start = base.checked_add(r.off).ok_or_else(|| outside(name, r))?;
    file.seek(SeekFrom::Start(start))
        .map_err(|e| Error::read(path, e))?;
    file.read_exact(buf).map_err(|e| Error::read(path, e))
}

fn decode(h: &Header, name: &str, mut src: Source<'_>) -> Result<Network> {
    let mut weights: Vec<Option<Tensor>> = vec![None; h.layers.len()];
    let mut acts: Vec<BTreeMap<u32, Tensor>> = vec![BTreeMap::new(); h.layers.len()];
    for t in &h.tensors {
        let ctx = Ctx {
            path: name,
            what: t.describe(&h.layers),
            line: t.line,
            payload_start: h.len,
        };
        let tensor = decode_tensor(t, &mut src, name, &ctx)?;
        match t.sample {
            None => weights[t.layer] = Some(tensor),
            Some(s) => {
                acts[t.layer].insert(s, tensor);
            }
        }
    }
    let mut layers = Vec::with_capacity(h.layers.len());
    for ((lh, w), a) in h.layers.iter().zip(weights).zip(acts) {
        // `Header::validate` guarantees one weights record per layer.
        let weights = w.ok_or_else(|| {
            Error::header(name, lh.line, format!("layer `{}` has no weights", lh.name))
        })?;
        layers.push(Layer {
            name: lh.name.clone(),
            geom: lh.geom,
            weights,
            acts: a,
        });
    }
    Ok(Network {
        name: h.name.clone(),
        source: h.source.clone(),
        layers,
    })
}

/// What a payload error is about.
struct Ctx<'a> {
    path: &'a str,
    what: String,
    line: usize,
    payload_start: u64,
}

impl Ctx<'_> {
    /// An error at `len` bytes from `off` (payload-relative).
    fn err(&self, off: u64, len: u64, msg: impl std::fmt::Display) -> Error {
        Error::payload(
            self.path,
            off,
            off.saturating_add(len),
            format!(
                "{} (header line {}): {msg} (byte offsets are relative to the payload start, file byte {})",
                self.what, self.line, self.payload_start
            ),
        )
    }
}

/// Little-endian value of exactly 8 bytes (one plane word): a single load.
#[inline]
fn le8(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("chunks of 8 bytes"))
}

/// Little-endian unsigned value of up to 8 bytes.
fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | b as u64)
}

/// The multi-index of element `i` of `shape`, e.g. `[2,0,1,1]`.
fn index(shape: &[usize], mut i: usize) -> String {
    let mut idx = vec![0usize; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        if d > 0 {
            idx[k] = i % d;
            i /= d;
        }
    }
    format!(
        "[{}]",
        idx.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// Decode one tensor, reading its ranges from `src`: digit planes straight into the
/// tensor's words (one copy), checked as they arrive.
fn decode_tensor(
    t: &TensorHeader,
    src: &mut Source<'_>,
    name: &str,
    ctx: &Ctx<'_>,
) -> Result<Tensor> {
    let n: usize = t.shape.iter().product();
    let tensor = match t.enc {
        Encoding::Ternary { levels, scale } => {
            let (words, l) = (plane_words(n), levels as usize);
            let mut nonzero = Vec::with_capacity(l * words);
            let mut negative = Vec::with_capacity(l * words);
            for p in 0..l {
                let nz_off = t.data.off + (2 * p * words * 8) as u64;
                let ng_off = nz_off + (words * 8) as u64;
                src.words(nz_off, words, &mut nonzero, name)?;
                src.words(ng_off, words, &mut negative, name)?;
                let (nz, ng) = (&nonzero[p * words..], &negative[p * words..]);
                check_tail(nz, n, nz_off, &format!("level {p} nonzero plane"), ctx)?;
                check_tail(ng, n, ng_off, &format!("level {p} negative plane"), ctx)?;
                // One pass over both planes; the word is looked for only on error.
                let stray = nz
                    .iter()
                    .zip(ng.iter())
                    .fold(0, |acc, (z, g)| acc | (g & !z));
                if stray != 0 {
                    let w = nz
                        .iter()
                        .zip(ng.iter())
                        .position(|(z, g)| g & !z != 0)
                        .expect("a stray negative bit was seen");
                    let bad = ng[w] & !nz[w];
                    let i = w * 64 + bad.trailing_zeros() as usize;
                    return Err(ctx.err(
                        ng_off + (w * 8) as u64,
                        8,
                        format!(
                            "element {i} {} level {p}: the negative bit is set but the nonzero bit (payload bytes {}..{}) is 0; a negative digit must also be nonzero",
                            index(&t.shape, i),
                            nz_off + (w * 8) as u64,
                            nz_off + (w * 8 + 8) as u64
                        ),
                    ));
                }
            }
            let scales = src.get_scales(t, name)?;
            let s = decode_scales(t, &scales, levels, scale, ctx)?;
            Tensor::ternary_checked(&t.shape, levels, scale, nonzero, negative, s)
        }
        Encoding::Binary { levels, scale } => {
            let words = plane_words(n);
            let mut negative = Vec::with_capacity(levels as usize * words);
            src.words(t.data.off, levels as usize * words, &mut negative, name)?;
            for p in 0..levels as usize {
                let plane = &negative[p * words..(p + 1) * words];
                check_tail(
                    plane,
                    n,
                    t.data.off + (p * words * 8) as u64,
                    &format!("level {p} negative plane"),
                    ctx,
                )?;
            }
            let scales = src.get_scales(t, name)?;
            let s = decode_scales(t, &scales, levels, scale, ctx)?;
            Tensor::binary(&t.shape, levels, scale, negative, s)
        }
        Encoding::Int {
            bits,
            signed,
            precision,
            scale,
        } => {
            let data = src.get(t.data, name)?;
            let w = header::int_storage_bytes(bits) as usize;
            let store_bits = 8 * w as u32;
            let (lo, hi) = int_range(bits, signed);
            let mut values = Vec::with_capacity(n);
            for (i, c) in data.chunks_exact(w).enumerate() {
                let u = le(c);
                let v = if signed {
                    ((u << (64 - store_bits)) as i64) >> (64 - store_bits)
                } else {
                    u as i64
                };
                let off = t.data.off + (i * w) as u64;
                if v < lo || v > hi {
                    return Err(ctx.err(
                        off,
                        w as u64,
                        format!(
                            "element {i} {} = {v} does not fit in {bits} {} bits ({lo}..={hi}); every int value must fit in B bits{}",
                            index(&t.shape, i),
                            if signed { "signed" } else { "unsigned" },
                            if signed { " (two's complement)" } else { "" }
                        ),
                    ));
                }
                let v = i32::try_from(v).map_err(|_| {
                    ctx.err(
                        off,
                        w as u64,
                        format!(
                            "element {i} {} = {v}: unsigned 32-bit values above {} are not supported by the simulator's i32 storage",
                            index(&t.shape, i),
                            i32::MAX
                        ),
                    )
                })?;
                values.push(v);
            }
            Tensor::int(&t.shape, bits, signed, precision, scale, values)
        }
    };
    // Every invariant the constructors check was checked above with a precise
    // location; should one still fail, report it over the whole data range.
    tensor.map_err(|e| ctx.err(t.data.off, t.data.len, e))
}

/// Bits past element `n` in the last word of `plane` (starting at payload byte `off`)
/// must be 0.
fn check_tail(plane: &[u64], n: usize, off: u64, what: &str, ctx: &Ctx<'_>) -> Result<()> {
    let Some(&last) = plane.last() else {
        return Ok(());
    };
    if n.is_multiple_of(64) {
        return Ok(());
    }
    let keep = (1u64 << (n % 64)) - 1;
    if last & !keep != 0 {
        let word_off = off + ((plane.len() - 1) * 8) as u64;
        return Err(ctx.err(
            word_off,
            8,
            format!(
                "{what}: bits past element {n} are set in its last word (0x{:016x}, allowed mask 0x{keep:016x}); bits past n must be 0",
                last
            ),
        ));
    }
    Ok(())
}

fn decode_scales(
    t: &TensorHeader,
    bytes: &[u8],
    levels: u8,
    mode: ScaleMode,
    ctx: &Ctx<'_>,
) -> Result<Vec<f32>> {
    let off = t.scales.map(|r| r.off).unwrap_or(0);
    let l = levels as usize;
    let mut out = Vec::with_capacity(bytes.len() / 4);
    for (k, c) in bytes.chunks_exact(4).enumerate() {
        let s = f32::from_bits(le(c) as u32);
        if !s.is_finite() {
            let which = match mode {
                ScaleMode::Tensor => format!("level {k}"),
                ScaleMode::Channel => format!("filter {} level {}", k / l, k % l),
            };
            return Err(ctx.err(
                off + 4 * k as u64,
                4,
                format!("scale {k} ({which}) is {s}; scales must be finite f32 values"),
            ));
        }
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_and_index_helpers() {
        assert_eq!(le(&[0x01, 0x02]), 0x0201);
        assert_eq!(le(&[0xff; 8]), u64::MAX);
        assert_eq!(
            le8(&[1, 2, 3, 4, 5, 6, 7, 8]),
            le(&[1, 2, 3, 4, 5, 6, 7, 8])
        );
        assert_eq!(index(&[2, 3], 4), "[1,1]");
        assert_eq!(index(&[5], 4), "[4]");
    }
}
