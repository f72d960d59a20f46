//! `mltq.Model` and `mltq.Tensor`: networks built from numpy arrays.
//!
//! A [`Tensor`] is an encoded tensor as the simulator reads it: float arrays quantized
//! by the quantizers of `mltq import` (`quantize_weights`, `quantize_acts`), or digit
//! planes and integers given as they are (`from_digits`, `from_ints`). A [`Model`] is a
//! network of conv and fc layers holding such tensors; it simulates like a `.mltq`
//! file and `save` writes one. The argument handling that numpy users expect (shapes,
//! strides as pairs, batches as samples) is in python/mltq/__init__.py; here every
//! geometry is explicit and checked by the library's own rules.

use std::collections::BTreeMap;
use std::path::PathBuf;

use mltq::encoding::{EncSpec, Encoding, ScaleMode};
use mltq::import::quantize;
use mltq::import::QuantStats;
use mltq::model::{self, Conv, Geometry, Layer, Network};
use mltq::tensor::Tensor as Encoded;
use numpy::{PyArray1, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::err;

/// An encoded tensor: ternary or binary digit planes with their scales, or integers.
#[pyclass(module = "mltq", name = "Tensor", frozen, from_py_object)]
#[derive(Clone)]
pub struct Tensor {
    pub t: Encoded,
}

/// A shape as Python writes it: `(3,)`, `(2, 4)`.
fn tuple(shape: &[usize]) -> String {
    match shape {
        [x] => format!("({x},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn enc_spec(s: &str) -> PyResult<EncSpec> {
    s.parse::<EncSpec>().map_err(err::value)
}

fn f32_slice<'a>(a: &'a PyReadonlyArrayDyn<'_, f32>) -> PyResult<&'a [f32]> {
    a.as_slice()
        .map_err(|_| err::value("the array must be C-contiguous (np.ascontiguousarray)"))
}

/// Quantization statistics as a dict (`rel_l2_error`, `sqnr_db`, densities, counts).
pub fn stats_dict<'py>(py: Python<'py>, s: &QuantStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("elements", s.elements)?;
    d.set_item("rel_l2_error", s.rel_l2_error)?;
    d.set_item("sqnr_db", s.sqnr_db)?;
    d.set_item("word_density", s.word_density)?;
    d.set_item("digit_density", s.digit_density)?;
    d.set_item("nonzero_words", s.nonzero_words)?;
    d.set_item("nonzero_digits", s.nonzero_digits)?;
    d.set_item("digit_slots", s.digit_slots)?;
    d.set_item("clamped", s.clamped)?;
    Ok(d)
}

#[pymethods]
impl Tensor {
    /// Quantize float weights as `mltq import` does: `enc` is `ternary:L`, `binary:L`
    /// or `int:B`; `per_channel` gives each output channel (first axis) its own scales;
    /// `prune` zeroes that fraction of the smallest weights first; `precision` (int
    /// only) quantizes to that many magnitude bits in the `int:B` container, as
    /// `mltq import --precision` does. Returns the tensor and its quantization
    /// statistics.
    #[staticmethod]
    #[pyo3(signature = (values, enc, per_channel=false, prune=None, precision=None))]
    fn quantize_weights<'py>(
        py: Python<'py>,
        values: PyReadonlyArrayDyn<'py, f32>,
        enc: &str,
        per_channel: bool,
        prune: Option<f64>,
        precision: Option<u8>,
    ) -> PyResult<(Tensor, Bound<'py, PyDict>)> {
        let spec = enc_spec(enc)?;
        let shape = values.shape().to_vec();
        let x = f32_slice(&values)?;
        let (t, st) = py
            .detach(|| quantize::quantize_weights(x, &shape, spec, per_channel, prune, precision))
            .map_err(err::from)?;
        Ok((Tensor { t }, stats_dict(py, &st)?))
    }

    /// Quantize float activations as `mltq import` does: zeros stay exactly where the
    /// input has them; `int:B` is unsigned unless a value is negative.
    #[staticmethod]
    #[pyo3(signature = (values, enc, precision=None))]
    fn quantize_acts<'py>(
        py: Python<'py>,
        values: PyReadonlyArrayDyn<'py, f32>,
        enc: &str,
        precision: Option<u8>,
    ) -> PyResult<(Tensor, Bound<'py, PyDict>)> {
        let spec = enc_spec(enc)?;
        let shape = values.shape().to_vec();
        let x = f32_slice(&values)?;
        let (t, st) = py
            .detach(|| quantize::quantize_acts(x, &shape, spec, precision))
            .map_err(err::from)?;
        Ok((Tensor { t }, stats_dict(py, &st)?))
    }

    /// Digit planes as they are: `digits[p, ...]` is level p's digit of each element
    /// (ternary: −1, 0, +1; binary: −1, +1), `scales` the L scales, or an F×L array for
    /// one scale per output channel (first axis) and level.
    #[staticmethod]
    #[pyo3(signature = (digits, scales, binary=false))]
    fn from_digits(
        digits: PyReadonlyArrayDyn<'_, i8>,
        scales: PyReadonlyArrayDyn<'_, f32>,
        binary: bool,
    ) -> PyResult<Tensor> {
        let dshape = digits.shape().to_vec();
        if dshape.len() < 2 {
            return Err(err::value(format!(
                "digits must have a level axis first, then the tensor's shape: (L, ...); got shape {}",
                tuple(&dshape)
            )));
        }
        let l = dshape[0];
        if !(1..=8).contains(&l) {
            return Err(err::value(format!(
                "digits have {l} levels (the first axis); 1 to 8 levels are possible"
            )));
        }
        let shape = &dshape[1..];
        let n: usize = shape.iter().product();
        let d = digits
            .as_slice()
            .map_err(|_| err::value("digits must be C-contiguous"))?;
        // Level-major in, element-major for the library.
        let mut em = vec![0i8; n * l];
        for p in 0..l {
            for i in 0..n {
                em[i * l + p] = d[p * n + i];
            }
        }
        let sshape = scales.shape().to_vec();
        let mode = match sshape.as_slice() {
            [x] if *x == l => ScaleMode::Tensor,
            [f, x] if *x == l && *f == shape[0] => ScaleMode::Channel,
            _ => {
                return Err(err::value(format!(
                    "scales have shape {}; expected ({l},) for one scale per level, or ({}, {l}) for one per output channel and level",
                    tuple(&sshape),
                    shape[0]
                )))
            }
        };
        let s = scales
            .as_slice()
            .map_err(|_| err::value("scales must be C-contiguous"))?
            .to_vec();
        let t = Encoded::from_digits(shape, binary, l as u8, mode, &em, s).map_err(err::from)?;
        Ok(Tensor { t })
    }

    /// Integers as they are (`enc=int`): `bits` wide, `signed` two's complement or
    /// unsigned, `precision` the profiled serial precision (default `bits`), `scale`
    /// the real value of one step (optional).
    #[staticmethod]
    #[pyo3(signature = (values, bits, signed=true, scale=None, precision=None))]
    fn from_ints(
        values: PyReadonlyArrayDyn<'_, i32>,
        bits: u8,
        signed: bool,
        scale: Option<f32>,
        precision: Option<u8>,
    ) -> PyResult<Tensor> {
        let shape = values.shape().to_vec();
        let v = values
            .as_slice()
            .map_err(|_| err::value("values must be C-contiguous"))?
            .to_vec();
        let t = Encoded::int(&shape, bits, signed, precision.unwrap_or(bits), scale, v)
            .map_err(err::from)?;
        Ok(Tensor { t })
    }

    /// The shape.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.t.shape())
    }

    /// `ternary:L`, `binary:L` or `int:B`.
    #[getter]
    fn encoding(&self) -> String {
        self.t.encoding().short()
    }

    /// The encoding as a `.mltq` header writes it, e.g. `ternary levels=2 scale=tensor`.
    #[getter]
    fn header(&self) -> String {
        self.t.encoding().to_string()
    }

    /// Levels (ternary, binary) or bits (int).
    #[getter]
    fn levels(&self) -> usize {
        self.t.levels()
    }

    /// Fraction of elements that are not zero.
    #[getter]
    fn word_density(&self) -> f64 {
        self.t.word_density()
    }

    /// Fraction of digits (levels, or int magnitude bits) that are not zero.
    #[getter]
    fn digit_density(&self) -> f64 {
        self.t.digit_density()
    }

    fn __len__(&self) -> usize {
        self.t.len()
    }

    /// Digits, level first: `(L, ...)` int8 (int tensors: magnitude bits with the
    /// element's sign, least significant first).
    fn digits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<i8>>> {
        let (n, l) = (self.t.len(), self.t.levels());
        let mut v = vec![0i8; n * l];
        for p in 0..l {
            for i in 0..n {
                v[p * n + i] = self.t.digit(i, p);
            }
        }
        let mut shape = vec![l];
        shape.extend_from_slice(self.t.shape());
        PyArray1::from_vec(py, v).reshape(shape)
    }

    /// The scales: `(L,)`, or `(F, L)` with per-channel scales; empty for int tensors.
    fn scales<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        let s = self.t.scales().to_vec();
        let shape = match *self.t.encoding() {
            Encoding::Ternary {
                levels,
                scale: ScaleMode::Channel,
            }
            | Encoding::Binary {
                levels,
                scale: ScaleMode::Channel,
            } => vec![s.len() / levels as usize, levels as usize],
            _ => vec![s.len()],
        };
        PyArray1::from_vec(py, s).reshape(shape)
    }

    /// The integers of an int tensor (int64, the tensor's shape).
    fn ints<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<i64>>> {
        let v: Option<Vec<i64>> = (0..self.t.len())
            .map(|i| self.t.int_value(i).map(i64::from))
            .collect();
        let v = v.ok_or_else(|| {
            err::value(format!(
                "a {} tensor has digits, not integers: use digits()",
                self.t.encoding().short()
            ))
        })?;
        PyArray1::from_vec(py, v).reshape(self.t.shape().to_vec())
    }

    /// The real values the tensor stands for (float64): Σ scale·digit, or int·scale.
    fn dequantize<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
        let v = quantize::dequantize(&self.t);
        PyArray1::from_vec(py, v).reshape(self.t.shape().to_vec())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Tensor>().is_ok_and(|o| o.get().t == self.t)
    }

    fn __repr__(&self) -> String {
        format!(
            "Tensor({}, {}, word density {:.3}, digit density {:.3})",
            tuple(self.t.shape()),
            self.t.encoding().short(),
            self.t.word_density(),
            self.t.digit_density()
        )
    }
}

/// A network: conv and fc layers with weights and, per sample, activations.
#[pyclass(module = "mltq", name = "Model")]
pub struct Model {
    pub net: Network,
}

fn acts_map(acts: BTreeMap<u32, Tensor>) -> BTreeMap<u32, Encoded> {
    acts.into_iter().map(|(k, v)| (k, v.t)).collect()
}

impl Model {
    /// Add a layer after checking it as `Model.save` would (names, geometry, shapes).
    fn push(&mut self, layer: Layer) -> PyResult<()> {
        let name = layer.name.clone();
        if self.net.layers.iter().any(|l| l.name == name) {
            return Err(err::value(format!(
                "layer name `{name}` is used twice; layer names must be unique"
            )));
        }
        let one = Network {
            name: self.net.name.clone(),
            source: None,
            layers: vec![layer],
        };
        model::write::check(&one).map_err(err::from)?;
        self.net.layers.extend(one.layers);
        Ok(())
    }
}

#[pymethods]
impl Model {
    /// An empty network named `name`; `source` is free text saying where it came from.
    #[new]
    #[pyo3(signature = (name, source=None))]
    fn new(name: String, source: Option<String>) -> PyResult<Model> {
        for (what, s) in [
            ("network name", Some(&name)),
            ("network source", source.as_ref()),
        ] {
            if let Some(s) = s {
                if !model::header::is_writable(s) {
                    return Err(err::value(format!(
                        "{what} {s:?} cannot be written to a .mltq header: header strings are ASCII without `\"` or newlines"
                    )));
                }
            }
        }
        Ok(Model {
            net: Network {
                name,
                source,
                layers: Vec::new(),
            },
        })
    }

    /// Read a `.mltq` file, or generate a built-in network with `mltq gen`'s defaults.
    #[staticmethod]
    fn load(py: Python<'_>, path: &str) -> PyResult<Model> {
        let (net, _) = py
            .detach(|| mltq::cli::load_model_with(path, false))
            .map_err(err::from)?;
        Ok(Model { net })
    }

    /// The network's name.
    #[getter]
    fn name(&self) -> String {
        self.net.name.clone()
    }

    /// Where the network came from (free text), if known.
    #[getter]
    fn source(&self) -> Option<String> {
        self.net.source.clone()
    }

    /// Layer names, in order.
    #[getter]
    fn layers(&self) -> Vec<String> {
        self.net.layers.iter().map(|l| l.name.clone()).collect()
    }

    /// Sample numbers that have activations in some layer.
    #[getter]
    fn samples(&self) -> Vec<u32> {
        self.net.samples()
    }

    /// Multiply-accumulates of one inference.
    #[getter]
    fn macs(&self) -> u64 {
        self.net.macs()
    }

    fn __len__(&self) -> usize {
        self.net.layers.len()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Model>()
            .ok()
            .and_then(|o| o.try_borrow().ok().map(|o| o.net == self.net))
            .unwrap_or(false)
    }

    fn __repr__(&self) -> String {
        let s = self.net.samples().len();
        format!(
            "Model({:?}, {} layers, {} weights, {s} sample{})",
            self.net.name,
            self.net.layers.len(),
            self.net.weight_count(),
            if s == 1 { "" } else { "s" }
        )
    }

    /// Add a conv layer: input C×H×W, F filters of KH×KW in `groups` groups, strides
    /// and paddings per axis. `weights` has shape (F, C/groups, KH, KW); `acts[sample]`
    /// (C, H, W).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (name, c, h, w, f, kh, kw, sh, sw, ph, pw, groups, weights, acts))]
    fn _add_conv(
        &mut self,
        name: String,
        c: usize,
        h: usize,
        w: usize,
        f: usize,
        kh: usize,
        kw: usize,
        sh: usize,
        sw: usize,
        ph: usize,
        pw: usize,
        groups: usize,
        weights: Tensor,
        acts: BTreeMap<u32, Tensor>,
    ) -> PyResult<()> {
        let geom = Geometry::Conv(Conv {
            c,
            h,
            w,
            f,
            kh,
            kw,
            sh,
            sw,
            ph,
            pw,
            groups,
        });
        self.push(Layer {
            name,
            geom,
            weights: weights.t,
            acts: acts_map(acts),
        })
    }

    /// Add a fully connected layer: `c` inputs, `f` outputs; `weights` (F, C),
    /// `acts[sample]` (C,).
    fn _add_fc(
        &mut self,
        name: String,
        c: usize,
        f: usize,
        weights: Tensor,
        acts: BTreeMap<u32, Tensor>,
    ) -> PyResult<()> {
        self.push(Layer {
            name,
            geom: Geometry::Fc { c, f },
            weights: weights.t,
            acts: acts_map(acts),
        })
    }

    /// One layer as a dict: name, op, geometry (text and numbers), macs, weights and
    /// acts (a dict sample → Tensor).
    fn layer<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyDict>> {
        let Some(l) = self.net.layers.iter().find(|l| l.name == name) else {
            let names: Vec<&str> = self.net.layers.iter().map(|l| l.name.as_str()).collect();
            return Err(err::value(format!(
                "model {} has no layer `{name}`{}",
                self.net.name,
                mltq::error::did_you_mean(name, names)
            )));
        };
        let d = PyDict::new(py);
        d.set_item("name", &l.name)?;
        d.set_item("op", l.geom.op())?;
        d.set_item("geometry", l.geom.describe())?;
        match l.geom {
            Geometry::Conv(c) => {
                d.set_item("in_channels", c.c)?;
                d.set_item("in_size", (c.h, c.w))?;
                d.set_item("out_channels", c.f)?;
                d.set_item("kernel", (c.kh, c.kw))?;
                d.set_item("stride", (c.sh, c.sw))?;
                d.set_item("padding", (c.ph, c.pw))?;
                d.set_item("groups", c.groups)?;
            }
            Geometry::Fc { c, f } => {
                d.set_item("in_channels", c)?;
                d.set_item("out_channels", f)?;
            }
        }
        d.set_item("macs", l.geom.macs())?;
        d.set_item(
            "weights",
            Tensor {
                t: l.weights.clone(),
            },
        )?;
        let acts = PyDict::new(py);
        for (s, a) in &l.acts {
            acts.set_item(s, Tensor { t: a.clone() })?;
        }
        d.set_item("acts", acts)?;
        Ok(d)
    }

    /// Write the model as a `.mltq` file (atomically: a failure leaves no partial file).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| model::save(&self.net, &path))
            .map_err(err::from)
    }
}
