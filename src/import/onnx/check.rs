//! `--check`: the model run again with every imported layer's weights replaced by their
//! quantized (dequantized) values, activations float, its outputs compared with the
//! float run's.
//!
//! The protobuf is edited: each layer's weight input becomes a new initializer holding
//! its dequantized weights in the layout the node expects (Gemm's `alpha` removed; a
//! folded BatchNorm removed and its output wired to the conv, which gets the folded
//! bias). What is compared fits the model ([`compare`]): when the first output is a
//! class vector (one score per class for each sample), top-1 agreement per sample and
//! the relative L2 error; for every output, the largest absolute difference and the
//! cosine similarity (detectors, segmenters and text recognizers have outputs whose
//! top-1 means nothing).

use std::path::Path;

use tract_onnx::pb;
use tract_onnx::prelude::{tvec, InferenceFact, InferenceModelExt};

use super::{to_f32, Capture, LayerOp, Output};
use crate::error::{Error, Result};
use crate::import::input::InputTensor;
use crate::import::quantize;
use crate::import::report::{CheckResult, OutputCheck};
use crate::model::Layer;

fn float_init(name: String, dims: &[usize], data: Vec<f32>) -> pb::TensorProto {
    pb::TensorProto {
        name,
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        float_data: data,
        ..Default::default()
    }
}

/// The model with every captured layer's weights replaced by `quantized` (dequantized),
/// as described in the module docs.
pub fn with_weights(cap: &Capture, quantized: &[Layer]) -> Result<pb::ModelProto> {
    let mut proto = cap.proto.clone();
    let graph = proto
        .graph
        .as_mut()
        .ok_or_else(|| Error::invalid("the model has no graph"))?;
    let mut remove = Vec::new();
    for (i, (l, q)) in cap.layers.iter().zip(quantized).enumerate() {
        let deq: Vec<f32> = quantize::dequantize(&q.weights)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let wname = format!("mltq_check_{i}_weights");
        let f = l.geom.filters();
        let c = deq.len() / f.max(1);
        let (dims, data) = match &l.op {
            // Conv (1-D or 2-D): the weights keep the node's own shape and order.
            LayerOp::Conv => (l.onnx_wshape.clone(), deq),
            LayerOp::Gemm { trans_b: true, .. } => (vec![f, c], deq),
            // (C, F): the transpose of the F,C weights.
            _ => {
                let mut t = vec![0f32; c * f];
                for i in 0..f {
                    for j in 0..c {
                        t[j * f + i] = deq[i * c + j];
                    }
                }
                (vec![c, f], t)
            }
        };
        graph
            .initializer
            .push(float_init(wname.clone(), &dims, data));
        let node = &mut graph.node[l.node];
        node.input[1] = wname;
        if let LayerOp::Gemm { .. } = l.op {
            node.attribute.retain(|a| a.name != "alpha");
        }
        if let Some((_, bn_ix)) = l.folded_bn {
            let bname = format!("mltq_check_{i}_bias");
            let bias = l.bias.clone().unwrap_or_else(|| vec![0.0; f]);
            graph
                .initializer
                .push(float_init(bname.clone(), &[bias.len()], bias));
            let node = &mut graph.node[l.node];
            if node.input.len() > 2 {
                node.input[2] = bname;
            } else {
                node.input.push(bname);
            }
            let bn_out = graph.node[bn_ix].output[0].clone();
            graph.node[l.node].output[0] = bn_out;
            remove.push(bn_ix);
        }
    }
    remove.sort_unstable();
    for ix in remove.into_iter().rev() {
        graph.node.remove(ix);
    }
    Ok(proto)
}

/// Run a model protobuf on the inputs; every output of each run.
pub fn run_proto(
    proto: &pb::ModelProto,
    cap: &Capture,
    inputs: &[InputTensor],
    path: &Path,
) -> Result<Vec<Vec<Output>>> {
    let err = |what: &str| super::tract_err(path, what);
    let parsed = tract_onnx::onnx()
        .parse(proto, cap.model_dir.as_deref())
        .map_err(err("tract cannot read the edited model"))?;
    let mut model = parsed.model;
    model
        .set_input_fact(0, InferenceFact::dt_shape(cap.input_dt, &*cap.input_shape))
        .map_err(err("cannot set the input shape"))?;
    let plan = model
        .into_optimized()
        .and_then(|m| m.into_runnable())
        .map_err(err("tract cannot optimize the edited model"))?;
    inputs
        .iter()
        .map(|inp| {
            let t = super::input_tensor(inp, &cap.input_shape, cap.input_dt, path)?;
            let res = plan
                .run(tvec!(t.into()))
                .map_err(err(&format!("running the model on {}", inp.name)))?;
            res.iter()
                .zip(&cap.output_names)
                .map(|(v, name)| {
                    let (shape, values) = to_f32(v).map_err(err("reading an output"))?;
                    Ok(Output {
                        name: name.clone(),
                        shape,
                        values,
                    })
                })
                .collect()
        })
        .collect()
}

/// Run the check: the edited model on every input, compared with the float outputs.
pub fn check(
    path: &Path,
    cap: &Capture,
    quantized: &[Layer],
    inputs: &[InputTensor],
) -> Result<Vec<CheckResult>> {
    let proto = with_weights(cap, quantized)?;
    let got = run_proto(&proto, cap, inputs, path)?;
    let rows = cap.samples_per_run;
    Ok(inputs
        .iter()
        .zip(&cap.outputs)
        .zip(&got)
        .map(|((inp, want), have)| compare(&inp.name, rows, want, have))
        .collect())
}

/// Is an output of this shape one class vector per sample: after the batch axis (the
/// first, when it has `rows` entries), exactly one axis longer than 1 (e.g. `(1, 1000)`
/// or `(1, 1000, 1, 1)`; not `(1, 100, 6)` boxes, `(26, 1, 37)` text scores or
/// `(1, 21, H, W)` masks).
pub fn is_class_vector(shape: &[usize], rows: usize) -> bool {
    let rest = match shape {
        [n, rest @ ..] if *n == rows => rest,
        s if rows == 1 => s,
        _ => return false,
    };
    rest.iter().filter(|&&d| d > 1).count() == 1
}

/// Compare a run's outputs: see the module docs.
pub fn compare(input: &str, rows: usize, want: &[Output], have: &[Output]) -> CheckResult {
    let top1 = want.first().zip(have.first()).and_then(|(w, h)| {
        (w.shape == h.shape && is_class_vector(&w.shape, rows)).then(|| {
            let per = w.values.len() / rows.max(1);
            let agree = (0..rows)
                .filter(|&r| {
                    per > 0
                        && argmax(&w.values[r * per..(r + 1) * per])
                            == argmax(&h.values[r * per..(r + 1) * per])
                })
                .count();
            (agree, rows)
        })
    });
    let outputs = want
        .iter()
        .zip(have)
        .map(|(w, h)| {
            if w.shape != h.shape {
                return OutputCheck {
                    name: w.name.clone(),
                    shape: w.shape.clone(),
                    other_shape: Some(h.shape.clone()),
                    max_abs_diff: f64::NAN,
                    cosine: f64::NAN,
                    rel_l2: f64::NAN,
                };
            }
            let (mut dot, mut ww, mut hh, mut dd, mut max) = (0f64, 0f64, 0f64, 0f64, 0f64);
            for (&a, &b) in w.values.iter().zip(&h.values) {
                let (a, b) = (a as f64, b as f64);
                dot += a * b;
                ww += a * a;
                hh += b * b;
                dd += (a - b) * (a - b);
                max = max.max((a - b).abs());
            }
            OutputCheck {
                name: w.name.clone(),
                shape: w.shape.clone(),
                other_shape: None,
                max_abs_diff: max,
                cosine: if ww == 0.0 && hh == 0.0 {
                    1.0
                } else if ww == 0.0 || hh == 0.0 {
                    0.0
                } else {
                    dot / (ww.sqrt() * hh.sqrt())
                },
                rel_l2: if dd == 0.0 { 0.0 } else { (dd / ww).sqrt() },
            }
        })
        .collect();
    CheckResult {
        input: input.to_string(),
        top1,
        outputs,
    }
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv {
                (i, x)
            } else {
                (bi, bv)
            }
        })
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(name: &str, shape: &[usize], values: &[f32]) -> Output {
        Output {
            name: name.into(),
            shape: shape.to_vec(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn class_vectors_are_told_from_boxes_masks_and_sequences() {
        assert!(is_class_vector(&[1, 1000], 1));
        assert!(is_class_vector(&[1000], 1));
        assert!(is_class_vector(&[2, 10], 2));
        assert!(is_class_vector(&[1, 1000, 1, 1], 1));
        assert!(!is_class_vector(&[1, 100, 6], 1));
        assert!(!is_class_vector(&[26, 1, 37], 1));
        assert!(!is_class_vector(&[1, 21, 8, 8], 1));
        assert!(!is_class_vector(&[1, 1], 1));
        assert!(!is_class_vector(&[3, 10], 2));
    }

    #[test]
    fn class_vectors_get_top1_and_every_output_its_distances() {
        // Two rows: row 0 agrees (argmax 1), row 1 does not (argmax 2 vs 0).
        // Difference (0, 0, 0, 2, 0, 0): max 2, relative L2 √(4/15).
        let want = [out("y", &[2, 3], &[1.0, 3.0, 2.0, 0.0, 0.0, 1.0])];
        let have = [out("y", &[2, 3], &[1.0, 3.0, 2.0, 2.0, 0.0, 1.0])];
        let c = compare("x", 2, &want, &have);
        assert_eq!(c.top1, Some((1, 2)));
        let o = &c.outputs[0];
        assert_eq!(o.max_abs_diff, 2.0);
        assert!((o.rel_l2 - (4.0f64 / 15.0).sqrt()).abs() < 1e-12);
        // cosine = (1+9+4+0+0+1) / (√15 · √19) = 15 / √285.
        assert!((o.cosine - 15.0 / 285f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn boxes_get_no_top1_and_a_changed_shape_is_reported() {
        // (1, 2, 2) boxes: (1, 2, 3, 4) vs (1, 2, 3, 5): max 1, cosine 34/√(30·39).
        let want = [
            out("boxes", &[1, 2, 2], &[1.0, 2.0, 3.0, 4.0]),
            out("n", &[1], &[2.0]),
        ];
        let have = [
            out("boxes", &[1, 2, 2], &[1.0, 2.0, 3.0, 5.0]),
            out("n", &[2], &[2.0, 2.0]),
        ];
        let c = compare("x", 1, &want, &have);
        assert_eq!(c.top1, None);
        assert_eq!(c.outputs[0].max_abs_diff, 1.0);
        assert!((c.outputs[0].cosine - 34.0 / (30f64 * 39.0).sqrt()).abs() < 1e-12);
        assert_eq!(c.outputs[1].other_shape, Some(vec![2]));
    }
}
