//! The ONNX file before tract sees it.
//!
//! - Read with a bound (the memory budget), and recognized: a directory, an empty file,
//!   a photo, an array or another framework's model is refused as what it is, with how
//!   to export an ONNX model instead.
//! - Its operators are checked against what tract can run, so that an unsupported node
//!   is named instead of failing deep inside tract's analysis.
//! - Its one input is matched against the given tensor ([`DeclaredInput::bind`]): a dim
//!   the model fixes must be given as it is; a symbolic dim, whatever its name
//!   (`batch_size`, `N`, `p2o.DynamicDimension.0`, `unk__123`, `?`), takes the given
//!   size, the same size wherever one name appears.
//! - The proto tract parses ([`OnnxFile::bound`]) declares the input with the given,
//!   concrete sizes and keeps no other shape annotation (value_info): exporters' names
//!   for symbols are not all names tract can parse, and every other shape follows from
//!   the input's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tract_onnx::pb;
use tract_onnx::pb::tensor_shape_proto::dimension::Value as DimValue;
use tract_onnx::prelude::{DatumType, Framework};

use crate::error::{Error, Result};
pub use crate::import::show_shape;
use crate::import::sniff;

/// A model file, read and checked, with its input declaration.
#[derive(Clone, Debug)]
pub struct OnnxFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The protobuf as read.
    pub proto: pb::ModelProto,
    /// The folder of external tensor data (the model's folder).
    pub dir: Option<String>,
    /// The model's one input.
    pub input: DeclaredInput,
}

/// One axis of a declared input shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dim {
    /// A size the model fixes.
    Fixed(usize),
    /// A named, dynamic size (bound from the given tensor).
    Symbol(String),
    /// A dynamic size without a name (`?`, or no value).
    Unknown,
}

/// The model's input as declared in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct DeclaredInput {
    /// Its name.
    pub name: String,
    /// ONNX element type (1 = float).
    pub elem_type: i32,
    /// Its shape, when declared.
    pub dims: Option<Vec<Dim>>,
}

impl OnnxFile {
    /// Read and check a model file (see the module docs).
    pub fn open(path: &Path) -> Result<OnnxFile> {
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
        if meta.is_dir() {
            return Err(Error::invalid(format!(
                "{shown}: is a directory, not an ONNX model file{}",
                dir_hint(path)
            )));
        }
        let head = sniff::head(path).map_err(|e| Error::read(path, e))?;
        let not_onnx = |what: &str| {
            let hint = sniff::export_hint(path, &head)
                .map(|h| format!("\nhint: {h}"))
                .unwrap_or_default();
            Error::invalid(format!("{shown}: {what}, not an ONNX model{hint}"))
        };
        if let Some(what) = sniff::describe(&head) {
            return Err(not_onnx(what));
        }
        // The protobuf, then tract's tensors (weights) and its optimized copy.
        crate::budget::check(
            &format!("ONNX model {shown}"),
            meta.len().saturating_mul(3),
            "import it on a machine with more memory",
        )?;
        let proto = tract_onnx::onnx().proto_model_for_path(path).map_err(|e| {
            let why = one_line(&e);
            let why = why
                .strip_prefix("failed to decode Protobuf message: ")
                .unwrap_or(&why);
            let hint = sniff::export_hint(path, &head)
                .map(|h| format!("\nhint: {h}"))
                .unwrap_or_default();
            Error::invalid(format!(
                "{shown}: not an ONNX model (protobuf decoding failed: {why}){hint}"
            ))
        })?;
        let graph = match &proto.graph {
            Some(g) if !g.node.is_empty() => g,
            _ => {
                return Err(not_onnx(
                    "a protobuf message without an ONNX graph (no nodes)",
                ))
            }
        };
        check_operators(graph, path)?;
        let input = declared_input(graph, path)?;
        Ok(OnnxFile {
            path: path.to_path_buf(),
            dir: path.parent().and_then(|d| d.to_str()).map(String::from),
            proto,
            input,
        })
    }

    /// The model as tract parses it: the input declared with `shape` (as
    /// [`DeclaredInput::bind`] returned it), no value_info anywhere.
    pub fn bound(&self, shape: &[usize]) -> pb::ModelProto {
        let mut proto = self.proto.clone();
        if let Some(g) = proto.graph.as_mut() {
            for inp in g.input.iter_mut().filter(|i| i.name == self.input.name) {
                if let Some(t) = tensor_type_mut(inp) {
                    t.shape = Some(pb::TensorShapeProto {
                        dim: shape
                            .iter()
                            .map(|&d| pb::tensor_shape_proto::Dimension {
                                denotation: String::new(),
                                value: Some(DimValue::DimValue(d as i64)),
                            })
                            .collect(),
                    });
                }
            }
            strip_annotations(g, true);
        }
        proto
    }

    /// The file name as messages show it.
    pub fn shown(&self) -> String {
        self.path.display().to_string()
    }
}

/// `hint:` for a directory given as a model: the ONNX files in it, or what exporter
/// its contents call for.
fn dir_hint(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let onnx: Vec<&String> = names.iter().filter(|n| n.ends_with(".onnx")).collect();
    let join = |n: &Path| n.display().to_string();
    if let Some(first) = onnx.first() {
        let more = if onnx.len() > 1 {
            format!(" ({} .onnx files there)", onnx.len())
        } else {
            String::new()
        };
        format!(
            "\nhint: give the model file, e.g. {}{more}",
            join(&dir.join(first))
        )
    } else if names.iter().any(|n| n.ends_with(".pdmodel")) {
        "\nhint: it holds a PaddlePaddle model: convert it with paddle2onnx (docs/import.md, section paddle2onnx)".into()
    } else if names.iter().any(|n| n == "saved_model.pb") {
        "\nhint: it holds a TensorFlow SavedModel: convert it with `python -m tf2onnx.convert --saved-model DIR --output model.onnx` (docs/import.md, section tf2onnx/Keras)".into()
    } else if names.iter().any(|n| n == "model.csv") {
        "\nhint: it looks like a DNNsim trace folder: import it with --from dnnsim".into()
    } else {
        String::new()
    }
}

/// Every node (in subgraphs too) must be an operator tract runs.
fn check_operators(graph: &pb::GraphProto, path: &Path) -> Result<()> {
    let onnx = tract_onnx::onnx();
    let mut missing: Vec<String> = Vec::new();
    let mut contrib = false;
    let mut stack = vec![graph];
    while let Some(g) = stack.pop() {
        for (i, n) in g.node.iter().enumerate() {
            if !onnx.op_register.0.contains_key(&n.op_type) {
                let domain = if n.domain.is_empty() || n.domain == "ai.onnx" {
                    String::new()
                } else {
                    contrib |= n.domain.starts_with("com.microsoft");
                    format!(" (domain {})", n.domain)
                };
                missing.push(format!("{}{domain} '{}'", n.op_type, node_label(n, i)));
            }
            for a in &n.attribute {
                stack.extend(a.g.iter());
                stack.extend(a.graphs.iter());
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let n = missing.len();
    let shown: Vec<&str> = missing.iter().take(4).map(String::as_str).collect();
    let more = if n > 4 {
        format!(" and {} more", n - 4)
    } else {
        String::new()
    };
    let hint = if contrib {
        "export without ONNX Runtime's fused operators (a plain export, before any onnxruntime optimization)"
    } else {
        "export with another opset or without that operator (e.g. leave post-processing such as NMS loops out of the exported graph)"
    };
    Err(Error::invalid(format!(
        "{}: {n} node{} use{} an operator tract (the ONNX runtime mltq uses) cannot run: {}{more}\nhint: {hint}",
        path.display(),
        if n == 1 { "" } else { "s" },
        if n == 1 { "s" } else { "" },
        shown.join(", ")
    )))
}

/// The graph's one input (graph inputs that are initializers are weights, not inputs).
fn declared_input(graph: &pb::GraphProto, path: &Path) -> Result<DeclaredInput> {
    let inits: std::collections::HashSet<&str> =
        graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let real: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !inits.contains(i.name.as_str()))
        .collect();
    let inp = match real[..] {
        [one] => one,
        [] => {
            return Err(Error::invalid(format!(
                "{}: the model declares no input; mltq import runs a model on a given input tensor",
                path.display()
            )))
        }
        _ => {
            let names: Vec<&str> = real.iter().map(|i| i.name.as_str()).collect();
            return Err(Error::invalid(format!(
                "{}: the model has {} inputs ({}); mltq import runs single-input models\nhint: export the model with one input (make the others constants, e.g. a fixed image size)",
                path.display(),
                real.len(),
                names.join(", ")
            )));
        }
    };
    let Some(pb::type_proto::Value::TensorType(t)) =
        inp.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err(Error::invalid(format!(
            "{}: the model's input '{}' is not declared as a tensor",
            path.display(),
            inp.name
        )));
    };
    let dims = t.shape.as_ref().map(|s| {
        s.dim
            .iter()
            .map(|d| match &d.value {
                Some(DimValue::DimValue(v)) if *v > 0 => Dim::Fixed(*v as usize),
                Some(DimValue::DimParam(p)) if !p.is_empty() && p != "?" => Dim::Symbol(p.clone()),
                _ => Dim::Unknown,
            })
            .collect()
    });
    Ok(DeclaredInput {
        name: inp.name.clone(),
        elem_type: t.elem_type,
        dims,
    })
}

impl DeclaredInput {
    /// `(N, 3, 224, 224)`: fixed sizes as numbers, symbols by name, `?` for unnamed.
    pub fn describe(&self) -> String {
        match &self.dims {
            None => "(any shape)".into(),
            Some(d) => show_shape(d.iter().map(|d| match d {
                Dim::Fixed(v) => v.to_string(),
                Dim::Symbol(s) => s.clone(),
                Dim::Unknown => "?".into(),
            })),
        }
    }

    /// The channel count and whether it is the last axis, for a rank-4 image input
    /// whose channel axis (1 or 3 channels) can be told: `(N, 3, H, W)` → (3, false),
    /// `(N, H, W, 3)` → (3, true).
    pub fn image_channels(&self) -> Option<(usize, bool)> {
        let d = self.dims.as_ref()?;
        let ch = |x: &Dim| match x {
            Dim::Fixed(c @ (1 | 3)) => Some(*c),
            _ => None,
        };
        match d[..] {
            [_, ref c1, _, ref c3] => match (ch(c1), ch(c3)) {
                (Some(c), None) => Some((c, false)),
                (None, Some(c)) => Some((c, true)),
                _ => None,
            },
            _ => None,
        }
    }

    /// The element type tract is given the input as.
    pub fn datum_type(&self, model: &str) -> Result<DatumType> {
        use pb::tensor_proto::DataType as D;
        if self.elem_type == 0 {
            // Undeclared: the model gets what mltq has, floats.
            return Ok(DatumType::F32);
        }
        Ok(match D::from_i32(self.elem_type) {
            Some(D::Float) => DatumType::F32,
            Some(D::Double) => DatumType::F64,
            Some(D::Float16) => DatumType::F16,
            Some(D::Uint8) => DatumType::U8,
            Some(D::Int8) => DatumType::I8,
            Some(D::Uint16) => DatumType::U16,
            Some(D::Int16) => DatumType::I16,
            Some(D::Int32) => DatumType::I32,
            Some(D::Int64) => DatumType::I64,
            Some(D::Uint32) => DatumType::U32,
            Some(D::Uint64) => DatumType::U64,
            other => {
                let name = match other {
                    Some(D::String) => "string",
                    Some(D::Bool) => "bool",
                    Some(D::Complex64 | D::Complex128) => "complex",
                    Some(D::Bfloat16) => "bfloat16",
                    _ => "unknown",
                };
                return Err(Error::invalid(format!(
                    "{model}: the model's input '{}' has element type {} ({name}); mltq gives models numeric tensors",
                    self.name, self.elem_type
                )));
            }
        })
    }

    /// The shape the model runs with for a given tensor: its own shape, with a batch axis
    /// of 1 put in front when the model takes one axis more. Refused (naming `what`, the
    /// input, the declared shape and the given one) when a fixed dim differs, when one
    /// symbol would take two sizes, or when the ranks differ.
    pub fn bind(&self, given: &[usize], what: &str, model: &str) -> Result<Vec<usize>> {
        let Some(dims) = &self.dims else {
            return Ok(given.to_vec());
        };
        let shape: Vec<usize> = if given.len() + 1 == dims.len() {
            std::iter::once(1).chain(given.iter().copied()).collect()
        } else {
            given.to_vec()
        };
        let refuse = |why: String, hint: Option<String>| {
            Error::invalid(format!(
                "{model}: input {what} of shape {} does not fit the model's input '{}' {}: {why}{}",
                show_shape(given.iter()),
                self.name,
                self.describe(),
                hint.map(|h| format!("\nhint: {h}")).unwrap_or_default()
            ))
        };
        if shape.len() != dims.len() {
            return Err(refuse(
                format!(
                    "it has {} axes, the model takes {}",
                    given.len(),
                    dims.len()
                ),
                None,
            ));
        }
        let added = shape.len() != given.len();
        let axis = |a: usize| if added { a as isize - 1 } else { a as isize };
        let mut bound: HashMap<&str, (usize, usize)> = HashMap::new();
        for (a, (d, &g)) in dims.iter().zip(&shape).enumerate() {
            match d {
                Dim::Fixed(v) if *v != g => {
                    let why = if added && a == 0 {
                        format!("the model fixes its batch axis to {v}, so give all {v} rows")
                    } else {
                        format!("axis {} is {g} where the model declares {v}", axis(a))
                    };
                    let hint = if a == 0 && !added && *v == 1 && shape.len() >= 2 {
                        Some("the model takes one sample per run: give each sample as its own --input file".into())
                    } else {
                        self.fit_hint(&shape)
                    };
                    return Err(refuse(why, hint));
                }
                Dim::Symbol(s) => match bound.get(s.as_str()) {
                    Some(&(b, a0)) if b != g => {
                        return Err(refuse(
                            format!(
                                "axes {} and {} share the size '{s}' but are {b} and {g}",
                                axis(a0),
                                axis(a)
                            ),
                            None,
                        ))
                    }
                    _ => {
                        bound.insert(s, (g, a));
                    }
                },
                _ => {}
            }
        }
        Ok(shape)
    }

    /// What to do about a shape that does not fit (channel order, image size).
    fn fit_hint(&self, shape: &[usize]) -> Option<String> {
        let dims = self.dims.as_ref()?;
        let (c, last) = self.image_channels()?;
        if shape.len() != 4 {
            return None;
        }
        let (gc, gh, gw) = if last {
            (shape[3], shape[1], shape[2])
        } else {
            (shape[1], shape[2], shape[3])
        };
        let other_c = if last { shape[1] } else { shape[3] };
        if gc != c && other_c == c {
            let (want, perm) = if last {
                ("channel-last (N, H, W, C)", "x.transpose(0, 2, 3, 1)")
            } else {
                ("channel-first (N, C, H, W)", "x.transpose(0, 3, 1, 2)")
            };
            return Some(format!(
                "the model takes {want} input: transpose the array ({perm}); photos given with --image are laid out for the model unless --layout says otherwise"
            ));
        }
        if gc != c {
            return Some(if c == 1 {
                "the model takes 1 channel: give photos with --channel-order gray".into()
            } else {
                format!("the model takes {c} channels")
            });
        }
        let size = |i: usize| match &dims[i] {
            Dim::Fixed(v) => Some(*v),
            _ => None,
        };
        let (hi, wi) = if last { (1, 2) } else { (2, 3) };
        match (size(hi), size(wi)) {
            (Some(h), Some(w)) if (h, w) != (gh, gw) => Some(format!(
                "the model takes {h}x{w} images: resize photos with --resize {h},{w}, or --resize-short S --crop {h},{w} (or a --preprocess preset)"
            )),
            _ => None,
        }
    }
}

fn tensor_type_mut(v: &mut pb::ValueInfoProto) -> Option<&mut pb::type_proto::Tensor> {
    match v.r#type.as_mut()?.value.as_mut()? {
        pb::type_proto::Value::TensorType(t) => Some(t),
    }
}

/// Drop value_info, and in subgraphs every symbolic input dim (tract would parse its
/// name); recursively.
fn strip_annotations(g: &mut pb::GraphProto, top: bool) {
    g.value_info.clear();
    if !top {
        for inp in &mut g.input {
            if let Some(s) = tensor_type_mut(inp).and_then(|t| t.shape.as_mut()) {
                for d in &mut s.dim {
                    if matches!(d.value, Some(DimValue::DimParam(_))) {
                        d.value = None;
                    }
                }
            }
        }
    }
    for n in &mut g.node {
        for a in &mut n.attribute {
            if let Some(sub) = a.g.as_mut() {
                strip_annotations(sub, false);
            }
            for sub in &mut a.graphs {
                strip_annotations(sub, false);
            }
        }
    }
}

/// A node's name, or `OpType_index` when it has none.
pub fn node_label(n: &pb::NodeProto, i: usize) -> String {
    if n.name.is_empty() {
        format!("{}_{i}", n.op_type)
    } else {
        n.name.clone()
    }
}

/// A tract error as one line: its messages joined, debug dumps of tract's internal
/// structures left out, long parts cut.
pub fn one_line(e: &tract_onnx::prelude::TractError) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        // `Tensor { elem_type: … }`, `NodeProto { … }`: internal dumps, not messages.
        let s = match s.find(" { ").or_else(|| s.find("{ ")) {
            Some(i) if s.len() > 80 => {
                let cut = s[..i].rfind(": ").map_or(i, |j| j);
                s[..cut].trim_end().to_string()
            }
            _ => s,
        };
        let s = if s.chars().count() > 160 {
            let mut t: String = s.chars().take(157).collect();
            t.push('…');
            t
        } else {
            s
        };
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    let mut out = parts.join(": ");
    if out.chars().count() > 400 {
        out = out.chars().take(399).collect();
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(dims: Vec<Dim>) -> DeclaredInput {
        DeclaredInput {
            name: "x".into(),
            elem_type: 1,
            dims: Some(dims),
        }
    }

    use Dim::{Fixed as F, Symbol as S, Unknown as U};

    #[test]
    fn symbols_of_any_name_bind_and_fixed_dims_are_enforced() {
        let d = decl(vec![S("p2o.DynamicDimension.0".into()), F(3), F(4), F(4)]);
        assert_eq!(d.bind(&[2, 3, 4, 4], "a", "m").unwrap(), vec![2, 3, 4, 4]);
        assert_eq!(d.bind(&[3, 4, 4], "a", "m").unwrap(), vec![1, 3, 4, 4]);
        let e = d
            .bind(&[1, 3, 5, 4], "a.npy", "m.onnx")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "m.onnx: input a.npy of shape (1, 3, 5, 4) does not fit the model's input 'x' \
             (p2o.DynamicDimension.0, 3, 4, 4): axis 2 is 5 where the model declares 4\n\
             hint: the model takes 4x4 images: resize photos with --resize 4,4, or \
             --resize-short S --crop 4,4 (or a --preprocess preset)"
        );
        let e = d.bind(&[5, 5], "a", "m").unwrap_err().to_string();
        assert!(e.contains("it has 2 axes, the model takes 4"), "{e}");
    }

    #[test]
    fn one_symbol_takes_one_size() {
        let d = decl(vec![U, F(3), S("s".into()), S("s".into())]);
        assert_eq!(d.bind(&[1, 3, 7, 7], "a", "m").unwrap(), vec![1, 3, 7, 7]);
        let e = d.bind(&[1, 3, 7, 8], "a", "m").unwrap_err().to_string();
        assert!(
            e.contains("axes 2 and 3 share the size 's' but are 7 and 8"),
            "{e}"
        );
    }

    #[test]
    fn channel_order_slips_get_a_transpose_hint() {
        let nhwc = decl(vec![S("unk__12".into()), F(8), F(8), F(3)]);
        assert_eq!(nhwc.image_channels(), Some((3, true)));
        let e = nhwc.bind(&[1, 3, 8, 8], "a", "m").unwrap_err().to_string();
        assert!(
            e.contains("axis 1 is 3 where the model declares 8")
                && e.contains("channel-last")
                && e.contains("transpose(0, 2, 3, 1)"),
            "{e}"
        );
        let nchw = decl(vec![U, F(3), U, U]);
        let e = nchw.bind(&[1, 9, 9, 3], "a", "m").unwrap_err().to_string();
        assert!(
            e.contains("channel-first") && e.contains("transpose(0, 3, 1, 2)"),
            "{e}"
        );
        let gray = decl(vec![U, F(1), F(32), U]);
        let e = gray
            .bind(&[1, 3, 32, 100], "a", "m")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--channel-order gray"), "{e}");
    }

    #[test]
    fn a_batch_for_a_one_sample_model_gets_a_hint() {
        let d = decl(vec![F(1), F(3)]);
        let e = d.bind(&[4, 3], "b.npy", "m").unwrap_err().to_string();
        assert!(
            e.contains(
                "axis 0 is 4 where the model declares 1\nhint: the model takes one sample per run"
            ),
            "{e}"
        );
    }

    #[test]
    fn a_fixed_batch_of_two_is_not_a_missing_batch_axis() {
        let d = decl(vec![F(2), F(3)]);
        let e = d.bind(&[3], "a", "m").unwrap_err().to_string();
        assert!(e.contains("fixes its batch axis to 2"), "{e}");
    }
}
