//! Generator of the tiny ONNX test models, written from Rust with tract-onnx's protobuf
//! types (no download, no Python), and a plain reference computation of the same network.
//!
//! The network, on an `(N, 3, 8, 8)` input `x`:
//!
//! ```text
//! conv1  Conv 3→4, 3x3, stride 1, pad 1, bias        (1,4,8,8)
//! bn1    BatchNormalization                           folded into conv1 on import
//! relu1  Relu
//! conv2  Conv 4→6, 3x3, group 2, stride 2, pad 1     (1,6,4,4)
//! relu2  Relu
//! gap    GlobalAveragePool                            (1,6,1,1)
//! flat   Flatten                                      (1,6)
//! fc     Gemm transB=1 (6→5), bias                    (1,5) = y
//! ```
//!
//! [`Variant`] bends it: dilation 2 or asymmetric pads on conv2, the fc as `MatMul` or
//! as `Gemm` with `transB=0` and `alpha`, a residual shortcut conv that reads the same
//! tensor as conv2.
//!
//! Then models as exporters make them ([`with_input_dims`], [`nhwc`], [`declared`],
//! [`lstm_after_conv`], [`sequence`], [`two_weights`], [`two_inputs`],
//! [`unsupported_op`]): symbolic dims of any name, channel-last inputs, recurrent
//! cells, products over sequences; each documented with the numbers its tests use.

#![allow(dead_code)]

use std::path::Path;

use prost::Message;
use tract_onnx::pb;

/// Weights of the tiny network.
#[derive(Clone, Debug)]
pub struct TinyNet {
    pub w1: Vec<f32>, // (4,3,3,3)
    pub b1: Vec<f32>, // (4)
    pub bn_scale: Vec<f32>,
    pub bn_bias: Vec<f32>,
    pub bn_mean: Vec<f32>,
    pub bn_var: Vec<f32>,
    pub eps: f32,
    pub w2: Vec<f32>, // (6,2,3,3)
    pub wf: Vec<f32>, // (5,6)
    pub bf: Vec<f32>, // (5)
    pub wd: Vec<f32>, // (6,4,1,1), the shortcut conv
}

/// How the generated graph differs from the plain one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Variant {
    /// conv2 with dilations [2, 2].
    pub dilation2: bool,
    /// conv2 with pads [1, 1, 0, 0].
    pub asymmetric_pads: bool,
    /// fc as MatMul(A, Wfᵀ) + Add(bias).
    pub matmul: bool,
    /// fc as Gemm with transB=0 (B = Wfᵀ/alpha) and this alpha.
    pub gemm_alpha: Option<f32>,
    /// A residual shortcut: conv `down` (1x1, 4→6, stride 2) also reads relu1's
    /// output, and relu2 reads conv2 + down.
    pub shortcut: bool,
    /// A second output `outer` = MatMul(Transpose(f), f): a product of two activations,
    /// which is not a weight layer.
    pub outer_product: bool,
}

/// A small seeded generator (64-bit LCG), uniform in [lo, hi).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
    }

    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (self.0 >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }

    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
}

impl TinyNet {
    /// Fixed seeded weights.
    pub fn new(seed: u64) -> TinyNet {
        let mut r = Rng::new(seed);
        TinyNet {
            w1: r.vec(4 * 3 * 3 * 3, -0.5, 0.5),
            b1: r.vec(4, -0.2, 0.2),
            bn_scale: r.vec(4, 0.5, 1.5),
            bn_bias: r.vec(4, -0.3, 0.3),
            bn_mean: r.vec(4, -0.3, 0.3),
            bn_var: r.vec(4, 0.5, 1.5),
            eps: 1e-5,
            w2: r.vec(6 * 2 * 3 * 3, -0.5, 0.5),
            wf: r.vec(5 * 6, -1.0, 1.0),
            bf: r.vec(5, -0.1, 0.1),
            wd: r.vec(6 * 4, -0.5, 0.5),
        }
    }
}

pub fn init(name: &str, dims: &[i64], data: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        float_data: data.to_vec(),
        ..Default::default()
    }
}

pub fn ints(name: &str, v: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

pub fn int(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i: v,
        ..Default::default()
    }
}

pub fn float(name: &str, v: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Float as i32,
        f: v,
        ..Default::default()
    }
}

pub fn node(
    name: &str,
    op: &str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: Vec<pb::AttributeProto>,
) -> pb::NodeProto {
    pb::NodeProto {
        name: name.into(),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

pub fn value_info(name: &str, dims: &[Option<i64>]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value, Dimension};
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| Dimension {
                            denotation: String::new(),
                            value: Some(match d {
                                Some(v) => Value::DimValue(*v),
                                None => Value::DimParam("N".into()),
                            }),
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The tiny network as an ONNX model (opset 13).
pub fn model(net: &TinyNet, v: Variant) -> pb::ModelProto {
    let mut conv2_attrs = vec![
        int("group", 2),
        ints("strides", &[2, 2]),
        ints("kernel_shape", &[3, 3]),
        ints(
            "pads",
            if v.asymmetric_pads {
                &[1, 1, 0, 0]
            } else {
                &[1, 1, 1, 1]
            },
        ),
    ];
    if v.dilation2 {
        conv2_attrs.push(ints("dilations", &[2, 2]));
    }
    let mut nodes = vec![
        node(
            "conv1",
            "Conv",
            &["x", "W1", "B1"],
            &["c1"],
            vec![ints("pads", &[1, 1, 1, 1]), ints("kernel_shape", &[3, 3])],
        ),
        node(
            "bn1",
            "BatchNormalization",
            &["c1", "bn_scale", "bn_bias", "bn_mean", "bn_var"],
            &["bn1_out"],
            vec![float("epsilon", net.eps)],
        ),
        node("relu1", "Relu", &["bn1_out"], &["r1"], vec![]),
        node("conv2", "Conv", &["r1", "W2"], &["c2"], conv2_attrs),
    ];
    if v.shortcut {
        nodes.push(node(
            "down",
            "Conv",
            &["r1", "Wd"],
            &["d"],
            vec![ints("strides", &[2, 2])],
        ));
        nodes.push(node("add", "Add", &["c2", "d"], &["c2d"], vec![]));
    }
    nodes.extend([
        node(
            "relu2",
            "Relu",
            &[if v.shortcut { "c2d" } else { "c2" }],
            &["r2"],
            vec![],
        ),
        node("gap", "GlobalAveragePool", &["r2"], &["g"], vec![]),
        node("flat", "Flatten", &["g"], &["f"], vec![int("axis", 1)]),
    ]);
    let mut inits = vec![
        init("W1", &[4, 3, 3, 3], &net.w1),
        init("B1", &[4], &net.b1),
        init("bn_scale", &[4], &net.bn_scale),
        init("bn_bias", &[4], &net.bn_bias),
        init("bn_mean", &[4], &net.bn_mean),
        init("bn_var", &[4], &net.bn_var),
        init("W2", &[6, 2, 3, 3], &net.w2),
        init("Bf", &[5], &net.bf),
        init("Wd", &[6, 4, 1, 1], &net.wd),
    ];
    let wf_t: Vec<f32> = (0..6 * 5).map(|k| net.wf[(k % 5) * 6 + k / 5]).collect(); // (6,5)
    if v.matmul {
        inits.push(init("WfT", &[6, 5], &wf_t));
        nodes.push(node("fc", "MatMul", &["f", "WfT"], &["mm"], vec![]));
        nodes.push(node("fc_bias", "Add", &["mm", "Bf"], &["y"], vec![]));
    } else if let Some(alpha) = v.gemm_alpha {
        let b: Vec<f32> = wf_t.iter().map(|x| x / alpha).collect();
        inits.push(init("WfT", &[6, 5], &b));
        nodes.push(node(
            "fc",
            "Gemm",
            &["f", "WfT", "Bf"],
            &["y"],
            vec![float("alpha", alpha)],
        ));
    } else {
        inits.push(init("Wf", &[5, 6], &net.wf));
        nodes.push(node(
            "fc",
            "Gemm",
            &["f", "Wf", "Bf"],
            &["y"],
            vec![int("transB", 1)],
        ));
    }
    let mut outputs = vec![value_info("y", &[None, Some(5)])];
    if v.outer_product {
        nodes.push(node(
            "fT",
            "Transpose",
            &["f"],
            &["ft"],
            vec![ints("perm", &[1, 0])],
        ));
        nodes.push(node("outer", "MatMul", &["ft", "f"], &["outer"], vec![]));
        outputs.push(value_info("outer", &[Some(6), Some(6)]));
    }
    pb::ModelProto {
        ir_version: 7,
        producer_name: "mltq tests/support/onnx_gen.rs".into(),
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(pb::GraphProto {
            name: "tiny".into(),
            node: nodes,
            initializer: inits,
            input: vec![value_info("x", &[None, Some(3), Some(8), Some(8)])],
            output: outputs,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Write a model to a file.
pub fn write(path: &Path, m: &pb::ModelProto) {
    std::fs::write(path, m.encode_to_vec()).unwrap();
}

/// Plain NCHW convolution of one image: (C,H,W) → (F,OH,OW).
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    x: &[f32],
    (c, h, w): (usize, usize, usize),
    wt: &[f32],
    f: usize,
    k: usize,
    stride: usize,
    pad: usize,
    groups: usize,
    bias: Option<&[f32]>,
) -> (Vec<f32>, usize, usize) {
    let (oh, ow) = (
        (h + 2 * pad - k) / stride + 1,
        (w + 2 * pad - k) / stride + 1,
    );
    let (cg, fg) = (c / groups, f / groups);
    let mut out = vec![0f32; f * oh * ow];
    for o in 0..f {
        let g = o / fg;
        for y in 0..oh {
            for xo in 0..ow {
                let mut acc = bias.map_or(0.0, |b| b[o]);
                for ci in 0..cg {
                    let ch = g * cg + ci;
                    for ky in 0..k {
                        for kx in 0..k {
                            let iy = (y * stride + ky) as isize - pad as isize;
                            let ix = (xo * stride + kx) as isize - pad as isize;
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                continue;
                            }
                            acc += wt[((o * cg + ci) * k + ky) * k + kx]
                                * x[(ch * h + iy as usize) * w + ix as usize];
                        }
                    }
                }
                out[(o * oh + y) * ow + xo] = acc;
            }
        }
    }
    (out, oh, ow)
}

/// Every intermediate of the plain network on one (3,8,8) image.
#[derive(Clone, Debug)]
pub struct Reference {
    pub conv1_in: Vec<f32>,
    pub conv1_out: Vec<f32>, // with bias, before BN
    pub bn_out: Vec<f32>,
    pub conv2_in: Vec<f32>,
    pub fc_in: Vec<f32>,
    pub y: Vec<f32>,
}

pub fn reference(net: &TinyNet, x: &[f32]) -> Reference {
    reference_with(net, x, Variant::default())
}

pub fn reference_with(net: &TinyNet, x: &[f32], v: Variant) -> Reference {
    let (c1, _, _) = conv2d(x, (3, 8, 8), &net.w1, 4, 3, 1, 1, 1, Some(&net.b1));
    let bn: Vec<f32> = c1
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = i / 64;
            (v - net.bn_mean[ch]) / (net.bn_var[ch] + net.eps).sqrt() * net.bn_scale[ch]
                + net.bn_bias[ch]
        })
        .collect();
    let r1: Vec<f32> = bn.iter().map(|v| v.max(0.0)).collect();
    let (mut c2, _, _) = conv2d(&r1, (4, 8, 8), &net.w2, 6, 3, 2, 1, 2, None);
    if v.shortcut {
        let (d, _, _) = conv2d(&r1, (4, 8, 8), &net.wd, 6, 1, 2, 0, 1, None);
        c2.iter_mut().zip(d).for_each(|(a, b)| *a += b);
    }
    let fc_in: Vec<f32> = (0..6)
        .map(|ch| {
            c2[ch * 16..(ch + 1) * 16]
                .iter()
                .map(|v| v.max(0.0))
                .sum::<f32>()
                / 16.0
        })
        .collect();
    let y: Vec<f32> = (0..5)
        .map(|o| net.bf[o] + (0..6).map(|i| net.wf[o * 6 + i] * fc_in[i]).sum::<f32>())
        .collect();
    Reference {
        conv1_in: x.to_vec(),
        conv1_out: c1,
        bn_out: bn,
        conv2_in: r1,
        fc_in,
        y,
    }
}

/// A ResNet-50-shaped model (torchvision v1.5 geometry: stride on the 3x3 conv) with
/// seeded random weights and BatchNorms, on an `(N, 3, size, size)` input: 53 convs
/// and one Gemm. For scale tests of the importer (slow in debug builds).
pub fn resnet50(seed: u64, size: i64) -> pb::ModelProto {
    let mut r = Rng::new(seed);
    let mut nodes = Vec::new();
    let mut inits = Vec::new();
    let mut conv_bn = |nodes: &mut Vec<pb::NodeProto>,
                       inits: &mut Vec<pb::TensorProto>,
                       name: &str,
                       input: &str,
                       cin: i64,
                       cout: i64,
                       k: i64,
                       stride: i64,
                       relu: bool|
     -> String {
        let fan = (cin * k * k) as f32;
        let w = r.vec((cout * cin * k * k) as usize, -1.0, 1.0);
        let w: Vec<f32> = w.iter().map(|v| v * (3.0 / fan).sqrt()).collect();
        inits.push(init(&format!("{name}.weight"), &[cout, cin, k, k], &w));
        for (p, lo, hi) in [
            ("scale", 0.5, 1.0),
            ("bias", -0.1, 0.1),
            ("mean", -0.1, 0.1),
            ("var", 0.5, 1.5),
        ] {
            let v = r.vec(cout as usize, lo, hi);
            inits.push(init(&format!("{name}.bn.{p}"), &[cout], &v));
        }
        let pad = k / 2;
        nodes.push(node(
            &format!("{name}/Conv"),
            "Conv",
            &[input, &format!("{name}.weight")],
            &[&format!("{name}.conv")],
            vec![
                ints("strides", &[stride, stride]),
                ints("pads", &[pad, pad, pad, pad]),
            ],
        ));
        let bn_in: Vec<String> = ["conv", "bn.scale", "bn.bias", "bn.mean", "bn.var"]
            .iter()
            .map(|s| format!("{name}.{s}"))
            .collect();
        let bn_in: Vec<&str> = bn_in.iter().map(String::as_str).collect();
        nodes.push(node(
            &format!("{name}/BatchNormalization"),
            "BatchNormalization",
            &bn_in,
            &[&format!("{name}.bn")],
            vec![],
        ));
        if relu {
            nodes.push(node(
                &format!("{name}/Relu"),
                "Relu",
                &[&format!("{name}.bn")],
                &[&format!("{name}.relu")],
                vec![],
            ));
            format!("{name}.relu")
        } else {
            format!("{name}.bn")
        }
    };
    let mut x = conv_bn(&mut nodes, &mut inits, "conv1", "x", 3, 64, 7, 2, true);
    nodes.push(node(
        "maxpool",
        "MaxPool",
        &[&x],
        &["pool"],
        vec![
            ints("kernel_shape", &[3, 3]),
            ints("strides", &[2, 2]),
            ints("pads", &[1, 1, 1, 1]),
        ],
    ));
    x = "pool".into();
    let mut cin = 64;
    for (stage, (blocks, width)) in [(3, 64), (4, 128), (6, 256), (3, 512)]
        .into_iter()
        .enumerate()
    {
        for b in 0..blocks {
            let name = format!("layer{}.{b}", stage + 1);
            let stride = if b == 0 && stage > 0 { 2 } else { 1 };
            let a = conv_bn(
                &mut nodes,
                &mut inits,
                &format!("{name}.conv1"),
                &x,
                cin,
                width,
                1,
                1,
                true,
            );
            let c = conv_bn(
                &mut nodes,
                &mut inits,
                &format!("{name}.conv2"),
                &a,
                width,
                width,
                3,
                stride,
                true,
            );
            let d = conv_bn(
                &mut nodes,
                &mut inits,
                &format!("{name}.conv3"),
                &c,
                width,
                width * 4,
                1,
                1,
                false,
            );
            let short = if b == 0 {
                conv_bn(
                    &mut nodes,
                    &mut inits,
                    &format!("{name}.downsample"),
                    &x,
                    cin,
                    width * 4,
                    1,
                    stride,
                    false,
                )
            } else {
                x.clone()
            };
            nodes.push(node(
                &format!("{name}/Add"),
                "Add",
                &[&d, &short],
                &[&format!("{name}.add")],
                vec![],
            ));
            nodes.push(node(
                &format!("{name}/Relu"),
                "Relu",
                &[&format!("{name}.add")],
                &[&format!("{name}.out")],
                vec![],
            ));
            x = format!("{name}.out");
            cin = width * 4;
        }
    }
    nodes.push(node(
        "avgpool",
        "GlobalAveragePool",
        &[&x],
        &["gap"],
        vec![],
    ));
    nodes.push(node(
        "flatten",
        "Flatten",
        &["gap"],
        &["flat"],
        vec![int("axis", 1)],
    ));
    let wf: Vec<f32> = r.vec(1000 * 2048, -0.05, 0.05);
    inits.push(init("fc.weight", &[1000, 2048], &wf));
    inits.push(init("fc.bias", &[1000], &r.vec(1000, -0.01, 0.01)));
    nodes.push(node(
        "fc/Gemm",
        "Gemm",
        &["flat", "fc.weight", "fc.bias"],
        &["y"],
        vec![int("transB", 1)],
    ));
    pb::ModelProto {
        ir_version: 7,
        producer_name: "mltq tests/support/onnx_gen.rs".into(),
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(pb::GraphProto {
            name: "resnet50-shaped".into(),
            node: nodes,
            initializer: inits,
            input: vec![value_info("x", &[None, Some(3), Some(size), Some(size)])],
            output: vec![value_info("y", &[None, Some(1000)])],
            ..Default::default()
        }),
        ..Default::default()
    }
}

// --- Models as exporters make them ---------------------------------------------------

/// One axis of a declared shape.
#[derive(Clone, Copy, Debug)]
pub enum Decl {
    /// A fixed size.
    V(i64),
    /// A symbolic size (any name, as exporters write them).
    P(&'static str),
    /// No value at all.
    None,
}

/// A float tensor declaration with these axes.
pub fn tensor_info(name: &str, dims: &[Decl]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value, Dimension};
    let mut v = value_info(name, &[]);
    if let Some(pb::type_proto::Value::TensorType(t)) =
        v.r#type.as_mut().and_then(|t| t.value.as_mut())
    {
        t.shape = Some(pb::TensorShapeProto {
            dim: dims
                .iter()
                .map(|d| Dimension {
                    denotation: String::new(),
                    value: match d {
                        Decl::V(v) => Some(Value::DimValue(*v)),
                        Decl::P(p) => Some(Value::DimParam(p.to_string())),
                        Decl::None => None,
                    },
                })
                .collect(),
        });
    }
    v
}

/// An opset-13 model of these parts.
pub fn graph_model(
    nodes: Vec<pb::NodeProto>,
    inits: Vec<pb::TensorProto>,
    inputs: Vec<pb::ValueInfoProto>,
    outputs: Vec<pb::ValueInfoProto>,
) -> pb::ModelProto {
    pb::ModelProto {
        ir_version: 7,
        producer_name: "mltq tests/support/onnx_gen.rs".into(),
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(pb::GraphProto {
            name: "g".into(),
            node: nodes,
            initializer: inits,
            input: inputs,
            output: outputs,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `m` with its input declared as `dims`, and value_info for the tiny network's
/// intermediate `c1` using the same symbols (as paddle2onnx writes them).
pub fn with_input_dims(mut m: pb::ModelProto, dims: &[Decl]) -> pb::ModelProto {
    let g = m.graph.as_mut().unwrap();
    let name = g.input[0].name.clone();
    g.input[0] = tensor_info(&name, dims);
    g.value_info
        .push(tensor_info("c1", &[dims[0], Decl::V(4), dims[2], dims[3]]));
    m
}

/// The tiny network on a channel-last input `x_nhwc` (N, 8, 8, 3), transposed to NCHW
/// first (as tf2onnx exports Keras models).
pub fn nhwc(net: &TinyNet) -> pb::ModelProto {
    let mut m = model(net, Variant::default());
    let g = m.graph.as_mut().unwrap();
    g.node.insert(
        0,
        node(
            "to_nchw",
            "Transpose",
            &["x_nhwc"],
            &["x"],
            vec![ints("perm", &[0, 3, 1, 2])],
        ),
    );
    g.input[0] = tensor_info(
        "x_nhwc",
        &[Decl::P("unk__123"), Decl::V(8), Decl::V(8), Decl::V(3)],
    );
    m
}

/// x (N, 3, size, size) → `proj` Conv 1x1 3→2, W = [[1, 0, 0], [0, 1, −1]] →
/// GlobalAveragePool → Flatten → `fc` Gemm transB (2→2), W = [[1, 2], [3, 4]] → y.
/// `proj` consumes the input itself, so its captured activation is the input.
pub fn declared(size: i64) -> pb::ModelProto {
    graph_model(
        vec![
            node("proj", "Conv", &["x", "Wp"], &["p"], vec![]),
            node("gap", "GlobalAveragePool", &["p"], &["g"], vec![]),
            node("flat", "Flatten", &["g"], &["f"], vec![int("axis", 1)]),
            node("fc", "Gemm", &["f", "Wf"], &["y"], vec![int("transB", 1)]),
        ],
        vec![
            init("Wp", &[2, 3, 1, 1], &[1.0, 0.0, 0.0, 0.0, 1.0, -1.0]),
            init("Wf", &[2, 2], &[1.0, 2.0, 3.0, 4.0]),
        ],
        vec![tensor_info(
            "x",
            &[
                Decl::P("batch_size"),
                Decl::V(3),
                Decl::V(size),
                Decl::V(size),
            ],
        )],
        vec![tensor_info("y", &[Decl::P("batch_size"), Decl::V(2)])],
    )
}

/// x (N, 2, 1, 4) → `conv` 1x1 2→3 (6 weights) → Squeeze(2) → (N, 3, 4) →
/// Transpose(2, 0, 1) → (4, N, 3) → `lstm` LSTM, hidden 5: W (1, 20, 3), R (1, 20, 5),
/// B (1, 40) → Y (4, 1, N, 5). Weights the LSTM holds: W and R, 60 + 100 = 160; its
/// MACs per sample: 4 steps × 160 = 640. The conv: 6 weights, 3·2·4 = 24 MACs.
pub fn lstm_after_conv(seed: u64) -> pb::ModelProto {
    let mut r = Rng::new(seed);
    graph_model(
        vec![
            node("conv", "Conv", &["x", "Wc"], &["c"], vec![]),
            node("squeeze", "Squeeze", &["c", "axes"], &["s"], vec![]),
            node(
                "seq",
                "Transpose",
                &["s"],
                &["t"],
                vec![ints("perm", &[2, 0, 1])],
            ),
            node(
                "lstm",
                "LSTM",
                &["t", "W", "R", "B"],
                &["y"],
                vec![int("hidden_size", 5)],
            ),
        ],
        vec![
            init("Wc", &[3, 2, 1, 1], &r.vec(6, -1.0, 1.0)),
            pb::TensorProto {
                name: "axes".into(),
                dims: vec![1],
                data_type: pb::tensor_proto::DataType::Int64 as i32,
                int64_data: vec![2],
                ..Default::default()
            },
            init("W", &[1, 20, 3], &r.vec(60, -0.5, 0.5)),
            init("R", &[1, 20, 5], &r.vec(100, -0.5, 0.5)),
            init("B", &[1, 40], &r.vec(40, -0.1, 0.1)),
        ],
        vec![tensor_info(
            "x",
            &[Decl::P("N"), Decl::V(2), Decl::V(1), Decl::V(4)],
        )],
        vec![tensor_info(
            "y",
            &[Decl::V(4), Decl::V(1), Decl::P("N"), Decl::V(5)],
        )],
    )
}

/// How [`sequence`] lays out its sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seq {
    /// (T, N, C), as CRNN text recognizers after their convs.
    TimeFirst,
    /// (N, T, C), as transformer blocks.
    BatchFirst,
    /// (C, T) squeezed to 2-D (batch 1), into a Gemm with transA = 1.
    GemmTransA,
}

/// The weights B (C=2, F=4) of [`sequence`]: rows [1, 0, −1, 2] and [0, 1, 1, −1].
pub const SEQ_B: [f32; 8] = [1.0, 0.0, -1.0, 2.0, 0.0, 1.0, 1.0, -1.0];

/// x (N, C=2, 1, T=3) → Squeeze(2) → (N, 2, 3) → the layout of `kind` → `proj`
/// MatMul (or Gemm) with B = [`SEQ_B`] → y: one 4-vector per position. Sample n's
/// activation, as a `C,1,T` conv input, is x[n] itself.
pub fn sequence(kind: Seq) -> pb::ModelProto {
    let axes = |name: &str, v: &[i64]| pb::TensorProto {
        name: name.into(),
        dims: vec![v.len() as i64],
        data_type: pb::tensor_proto::DataType::Int64 as i32,
        int64_data: v.to_vec(),
        ..Default::default()
    };
    let (nodes, out) = match kind {
        Seq::TimeFirst | Seq::BatchFirst => {
            let perm: &[i64] = if kind == Seq::TimeFirst {
                &[2, 0, 1]
            } else {
                &[0, 2, 1]
            };
            (
                vec![
                    node("squeeze", "Squeeze", &["x", "axes"], &["s"], vec![]),
                    node(
                        "layout",
                        "Transpose",
                        &["s"],
                        &["t"],
                        vec![ints("perm", perm)],
                    ),
                    node("proj", "MatMul", &["t", "B"], &["y"], vec![]),
                ],
                if kind == Seq::TimeFirst {
                    [Decl::V(3), Decl::P("N"), Decl::V(4)]
                } else {
                    [Decl::P("N"), Decl::V(3), Decl::V(4)]
                },
            )
        }
        Seq::GemmTransA => (
            vec![
                node("squeeze", "Squeeze", &["x", "axes02"], &["s"], vec![]),
                node("proj", "Gemm", &["s", "B"], &["y"], vec![int("transA", 1)]),
            ],
            [Decl::V(3), Decl::V(4), Decl::None],
        ),
    };
    let out: Vec<Decl> = out
        .into_iter()
        .filter(|d| !matches!(d, Decl::None))
        .collect();
    graph_model(
        nodes,
        vec![
            init("B", &[2, 4], &SEQ_B),
            axes("axes", &[2]),
            axes("axes02", &[0, 2]),
        ],
        vec![tensor_info(
            "x",
            &[Decl::P("N"), Decl::V(2), Decl::V(1), Decl::V(3)],
        )],
        vec![tensor_info("y", &out)],
    )
}

/// x (1, 1, 1, 2) → `conv` 1x1 1→2 with weights [1.0, 0.2] → y (1, 2, 1, 2). Given
/// x = [1.0, 0.2], weights and activation are both [1.0, 0.2]: the precision tests'
/// numbers (see tests/import_precision.rs).
pub fn two_weights() -> pb::ModelProto {
    graph_model(
        vec![node("conv", "Conv", &["x", "W"], &["y"], vec![])],
        vec![init("W", &[2, 1, 1, 1], &[1.0, 0.2])],
        vec![tensor_info(
            "x",
            &[Decl::V(1), Decl::V(1), Decl::V(1), Decl::V(2)],
        )],
        vec![tensor_info(
            "y",
            &[Decl::V(1), Decl::V(2), Decl::V(1), Decl::V(2)],
        )],
    )
}

/// A model with two inputs (an image and its size, as paddle2onnx detectors have).
pub fn two_inputs() -> pb::ModelProto {
    let mut m = declared(8);
    let g = m.graph.as_mut().unwrap();
    g.input
        .push(tensor_info("im_shape", &[Decl::P("N"), Decl::V(2)]));
    m
}

/// [`declared`] with a node of an operator tract does not run (`FusedConv` of ONNX
/// Runtime's `com.microsoft` domain) after `proj`.
pub fn unsupported_op() -> pb::ModelProto {
    let mut m = declared(8);
    let g = m.graph.as_mut().unwrap();
    let mut n = node("fused", "FusedConv", &["p", "Wp"], &["p2"], vec![]);
    n.domain = "com.microsoft".into();
    g.node.insert(1, n);
    g.node[2].input[0] = "p2".into();
    m
}

/// [`declared`] (8×8) taking a uint8 image `x8` cast to float first (as tf2onnx
/// exports models whose input is a decoded photo).
pub fn uint8_input() -> pb::ModelProto {
    let mut m = declared(8);
    let g = m.graph.as_mut().unwrap();
    g.node
        .insert(0, node("cast", "Cast", &["x8"], &["x"], vec![int("to", 1)]));
    let mut inp = tensor_info("x8", &[Decl::P("N"), Decl::V(3), Decl::V(8), Decl::V(8)]);
    if let Some(pb::type_proto::Value::TensorType(t)) =
        inp.r#type.as_mut().and_then(|t| t.value.as_mut())
    {
        t.elem_type = pb::tensor_proto::DataType::Uint8 as i32;
    }
    g.input[0] = inp;
    m
}
