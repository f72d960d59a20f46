//! Reading and writing `.npy` arrays (npyz), with errors that name the file.
//!
//! Reading accepts floats (`f4`, `f8`) and integers (`i1`..`i8`, `u1`..`u8`) in either
//! byte order and either axis order (Fortran-order arrays are transposed to C order), and
//! returns the values as `f64` so that callers can check integrality exactly.

use std::io::{BufReader, BufWriter};
use std::path::Path;

use npyz::{DType, NpyFile, Order, TypeChar, WriterBuilder};

use crate::error::{Error, Result};

/// A dense array in C order.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Axis lengths.
    pub shape: Vec<usize>,
    /// Values, last axis fastest.
    pub data: Vec<f64>,
}

impl Array {
    /// The values as `f32`.
    pub fn to_f32(&self) -> Vec<f32> {
        self.data.iter().map(|&v| v as f32).collect()
    }
}

/// Read a `.npy` file.
///
/// The header's shape is checked against the file's length before any value is read
/// (a damaged header cannot make it allocate more than the file holds), and a file that
/// is not an array (a photo, a model) is named as what it is.
pub fn read(path: &Path) -> Result<Array> {
    let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
    let bad = |msg: String| Error::invalid(format!("{}: {msg}", path.display()));
    if meta.is_dir() {
        return Err(bad("is a directory, not a .npy file".into()));
    }
    // Its data is checked against its length: a FIFO or device has none (and opening
    // a FIFO nobody writes to would wait forever).
    if !meta.is_file() {
        let kind = crate::files::Kind::of(&meta).describe();
        return Err(bad(format!(
            "is {kind}, not a .npy file; save the array to a file"
        )));
    }
    let head = super::sniff::head(path).map_err(|e| Error::read(path, e))?;
    if !head.starts_with(b"\x93NUMPY") {
        let what = super::sniff::describe(&head).unwrap_or("a file of another kind");
        let hint = if what.ends_with("image") {
            "\nhint: give photos with --image, not --input"
        } else {
            "\nhint: save the tensor with numpy.save(\"x.npy\", x.astype(numpy.float32))"
        };
        return Err(bad(format!("{what}, not a .npy array{hint}")));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
    let npy = NpyFile::new(BufReader::new(file))
        .map_err(|e| bad(format!("not a readable .npy file: {e}")))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let order = npy.order();
    let ts = match npy.dtype() {
        DType::Plain(ts) => ts,
        other => {
            return Err(bad(format!(
                "dtype {} is a structured or array type; expected float32{ASTYPE}",
                other.descr().trim()
            )))
        }
    };
    // Bytes after the header: version 1 has a u16 header length at byte 8, later
    // versions a u32.
    let header = match (head.get(6), head.get(8..12)) {
        (Some(1), Some(l)) => 10 + u16::from_le_bytes([l[0], l[1]]) as u64,
        (Some(_), Some(l)) => 12 + u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as u64,
        _ => 0,
    };
    let room = meta.len().saturating_sub(header);
    let bytes = shape
        .iter()
        .try_fold(ts.size_field(), |acc, &d| acc.checked_mul(d as u64));
    if bytes.is_none_or(|b| b > room) {
        return Err(bad(format!(
            "the header declares shape {shape:?} of dtype {ts}, more data than the {room} bytes after the header; the file is damaged or truncated"
        )));
    }
    let io = |e: std::io::Error| bad(format!("cannot read the array data: {e}"));
    let data: Vec<f64> = match (ts.type_char(), ts.size_field()) {
        (TypeChar::Float, 4) => conv(npy.into_vec::<f32>().map_err(io)?),
        (TypeChar::Float, 8) => npy.into_vec::<f64>().map_err(io)?,
        (TypeChar::Int, 1) => conv(npy.into_vec::<i8>().map_err(io)?),
        (TypeChar::Int, 2) => conv(npy.into_vec::<i16>().map_err(io)?),
        (TypeChar::Int, 4) => conv(npy.into_vec::<i32>().map_err(io)?),
        (TypeChar::Int, 8) => npy
            .into_vec::<i64>()
            .map_err(io)?
            .into_iter()
            .map(|v| v as f64)
            .collect(),
        (TypeChar::Uint, 1) => conv(npy.into_vec::<u8>().map_err(io)?),
        (TypeChar::Uint, 2) => conv(npy.into_vec::<u16>().map_err(io)?),
        (TypeChar::Uint, 4) => conv(npy.into_vec::<u32>().map_err(io)?),
        (TypeChar::Uint, 8) => npy
            .into_vec::<u64>()
            .map_err(io)?
            .into_iter()
            .map(|v| v as f64)
            .collect(),
        (c, size) => {
            return Err(bad(format!(
                "dtype {ts} ({}) is not supported; expected float32 (or another float or integer type){ASTYPE}",
                dtype_name(c, size)
            )))
        }
    };
    let n = shape.iter().product::<usize>();
    if data.len() != n {
        return Err(bad(format!(
            "shape {shape:?} needs {n} values but the file holds {}",
            data.len()
        )));
    }
    let data = if order == Order::Fortran && shape.len() > 1 {
        fortran_to_c(&shape, &data)
    } else {
        data
    };
    Ok(Array { shape, data })
}

/// The `hint:` for an array of the wrong type.
const ASTYPE: &str = "\nhint: convert it: numpy.save(\"x.npy\", x.astype(numpy.float32))";

/// numpy's name of a dtype mltq does not read.
fn dtype_name(c: TypeChar, size: u64) -> String {
    match c {
        TypeChar::Bool => "bool".into(),
        TypeChar::Complex => format!("complex{}", size * 8),
        TypeChar::Float => format!("float{}", size * 8),
        TypeChar::TimeDelta => "timedelta64".into(),
        TypeChar::DateTime => "datetime64".into(),
        TypeChar::ByteStr | TypeChar::UnicodeStr => "a string type".into(),
        _ => "raw bytes".into(),
    }
}

fn conv<T: Into<f64>>(v: Vec<T>) -> Vec<f64> {
    v.into_iter().map(Into::into).collect()
}

/// Reorder Fortran-order data (first axis fastest) to C order (last axis fastest).
fn fortran_to_c(shape: &[usize], data: &[f64]) -> Vec<f64> {
    let n = data.len();
    let mut out = vec![0.0; n];
    let mut idx = vec![0usize; shape.len()];
    for v in out.iter_mut() {
        // idx is the C-order multi-index of this output element.
        let mut f = 0;
        let mut stride = 1;
        for (a, &len) in shape.iter().enumerate() {
            f += idx[a] * stride;
            stride *= len;
        }
        *v = data[f];
        for a in (0..shape.len()).rev() {
            idx[a] += 1;
            if idx[a] < shape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    out
}

/// Write a float32 `.npy` file in C order (tests, fixtures, exporters).
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::write(path, e))?;
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut w = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&shape)
        .writer(BufWriter::new(file))
        .begin_nd()
        .map_err(|e| Error::write(path, e))?;
    w.extend(data.iter().copied())
        .map_err(|e| Error::write(path, e))?;
    w.finish().map_err(|e| Error::write(path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_round_trip_keeps_shape_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        write_f32(&p, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, -6.5]).unwrap();
        let a = read(&p).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, -6.5]);
    }

    #[test]
    fn a_header_promising_more_than_the_file_holds_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        write_f32(&p, &[2, 3], &[0.0; 6]).unwrap();
        // Shape (2, 3) → (9, 3) in the header text: 27 floats, the file holds 6.
        let mut bytes = std::fs::read(&p).unwrap();
        let at = bytes.windows(10).position(|w| w == b"'shape': (").unwrap();
        assert_eq!(bytes[at + 10], b'2');
        bytes[at + 10] = b'9';
        std::fs::write(&p, bytes).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("[9, 3]") && e.contains("truncated"), "{e}");
    }

    #[test]
    fn wrong_dtypes_and_other_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.npy");
        // A complex64 array of one element, written by hand: header then 8 bytes.
        let header = "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }";
        let pad = 64 - (10 + header.len() + 1) % 64;
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend(((header.len() + pad + 1) as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.extend(std::iter::repeat_n(b' ', pad));
        bytes.push(b'\n');
        bytes.extend([0u8; 8]);
        std::fs::write(&p, bytes).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("complex64") && e.contains("astype"), "{e}");
        let p = dir.path().join("photo.npy");
        std::fs::write(&p, b"\x89PNG\r\n\x1a\n rest").unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("a PNG image") && e.contains("--image"), "{e}");
        let e = read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
    }

    #[test]
    fn fortran_order_is_transposed() {
        // 2x3 array [[1,2,3],[4,5,6]] in Fortran order: 1,4,2,5,3,6.
        let c = fortran_to_c(&[2, 3], &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert_eq!(c, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn garbage_and_missing_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.npy");
        std::fs::write(&p, b"not numpy").unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains("bad.npy") && e.contains("a text file, not a .npy array"),
            "{e}"
        );
        let e = read(&dir.path().join("none.npy")).unwrap_err().to_string();
        assert!(e.contains("none.npy"), "{e}");
    }
}
