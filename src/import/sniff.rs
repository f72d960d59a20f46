//! What a file is, from its first bytes and its name: so that a model, array or photo
//! given in the wrong place is refused with what was found ("a PNG image", "a zip
//! archive (a PyTorch checkpoint?)") instead of a decoder's complaint about a byte.

use std::io::Read;
use std::path::Path;

/// Bytes [`head`] reads: enough for every signature below.
pub const HEAD: usize = 64;

/// The first [`HEAD`] bytes of a file (fewer when it is shorter).
pub fn head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(HEAD);
    std::fs::File::open(path)?
        .take(HEAD as u64)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// What the first bytes say the file is, when it is something mltq recognizes.
pub fn describe(head: &[u8]) -> Option<&'static str> {
    let starts = |sig: &[u8]| head.starts_with(sig);
    if head.is_empty() {
        Some("an empty file")
    } else if starts(b"\x93NUMPY") {
        Some("a .npy array")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("a PNG image")
    } else if starts(b"\xff\xd8\xff") {
        Some("a JPEG image")
    } else if starts(b"MLTQ 1") {
        Some("a .mltq model (already imported)")
    } else if starts(b"PK\x03\x04") {
        Some("a zip archive (a PyTorch .pt/.pth checkpoint, a Keras .keras file or an .npz?)")
    } else if starts(b"\x89HDF\r\n\x1a\n") {
        Some("an HDF5 file (a Keras .h5 model?)")
    } else if head.len() >= 8 && &head[4..8] == b"TFL3" {
        Some("a TensorFlow Lite model")
    } else if head.len() >= 2 && head[0] == 0x80 && (2..=5).contains(&head[1]) {
        Some("a Python pickle (a model saved with torch.save?)")
    } else if head
        .iter()
        .all(|&b| b == b'\n' || b == b'\r' || b == b'\t' || (32..127).contains(&b))
    {
        Some("a text file")
    } else {
        None
    }
}

/// How to turn a model of another framework into ONNX, judged by the file's
/// extension or first bytes: a `hint:` line's text.
pub fn export_hint(path: &Path, head: &[u8]) -> Option<&'static str> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let torch = "export the model to ONNX with torch.onnx.export (docs/import.md, section PyTorch)";
    let paddle = "convert the model to ONNX with paddle2onnx (docs/import.md, section paddle2onnx)";
    let tf = "convert the model to ONNX with tf2onnx (docs/import.md, section tf2onnx/Keras)";
    match ext.as_str() {
        "pt" | "pth" | "pkl" | "ckpt" => return Some(torch),
        "pdmodel" | "pdiparams" | "pdparams" => return Some(paddle),
        "pb" | "h5" | "hdf5" | "keras" | "tflite" => return Some(tf),
        _ => {}
    }
    let starts = |sig: &[u8]| head.starts_with(sig);
    if starts(b"PK\x03\x04") || (head.len() >= 2 && head[0] == 0x80) {
        Some(torch)
    } else if starts(b"\x89HDF\r\n\x1a\n") || (head.len() >= 8 && &head[4..8] == b"TFL3") {
        Some(tf)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_name_the_format() {
        assert_eq!(describe(b""), Some("an empty file"));
        assert_eq!(describe(b"\x93NUMPY\x01\x00"), Some("a .npy array"));
        assert_eq!(describe(b"\x89PNG\r\n\x1a\n...."), Some("a PNG image"));
        assert_eq!(describe(b"\xff\xd8\xff\xe0"), Some("a JPEG image"));
        assert!(describe(b"PK\x03\x04rest").unwrap().contains("PyTorch"));
        assert!(describe(b"\x80\x02}q\x00").unwrap().contains("pickle"));
        assert!(describe(b"\x1c\x00\x00\x00TFL3").unwrap().contains("Lite"));
        assert_eq!(describe(b"name,conv,1,0\n"), Some("a text file"));
        // An ONNX protobuf starts with field 1 (ir_version, varint): 0x08.
        assert_eq!(describe(b"\x08\x07\x12\x04mltq"), None);
    }

    #[test]
    fn hints_follow_the_extension_or_the_bytes() {
        let h = |p: &str, b: &[u8]| export_hint(Path::new(p), b);
        assert!(h("m.pdmodel", b"").unwrap().contains("paddle2onnx"));
        assert!(h("m.pth", b"").unwrap().contains("torch.onnx.export"));
        assert!(h("saved_model.pb", b"").unwrap().contains("tf2onnx"));
        assert!(h("m.bin", b"PK\x03\x04").unwrap().contains("torch"));
        assert_eq!(h("m.onnx", b"\x08\x07"), None);
    }
}
