//! Which nodes of the graph become layers, and which carry weights but are not
//! imported, found from the protobuf before anything runs.
//!
//! - A [`Plan`] for every `Conv`, `Gemm` and `MatMul` of the ONNX domain: a layer when
//!   its weight operand turns out constant (decided after tract's analysis), and a
//!   foldable `BatchNormalization` after a conv. A plan may already carry a reason it
//!   cannot be simulated (a dilated conv): it is then reported, not imported.
//! - A [`Weighted`] for every other node that multiplies by weights ([`WEIGHTED`]:
//!   recurrent cells, transposed, integer and quantized convolutions and products,
//!   Einsum): never imported, always reported with its weight count and, where the
//!   shapes tell, its MACs ([`MacRule`]).

use std::collections::{HashMap, HashSet};

use tract_onnx::pb;

use super::proto::node_label;
use super::LayerOp;
use crate::import::header_safe;

/// Conv attributes as written in the node.
#[derive(Clone, Debug, Default)]
pub struct ConvAttrs {
    pub auto_pad: String,
    pub group: usize,
    pub kernel: Option<Vec<i64>>,
    pub pads: Option<Vec<i64>>,
    pub strides: Option<Vec<i64>>,
}

/// A Conv, Gemm or MatMul node: a layer candidate.
#[derive(Clone, Debug)]
pub struct Plan {
    pub node: usize,
    pub name: String,
    pub op: LayerOp,
    pub conv: ConvAttrs,
    /// The activation operand (Gemm/MatMul: A; Conv: X).
    pub act: String,
    /// The weight operand (Gemm/MatMul: B; Conv: W).
    pub weight: String,
    pub bias: Option<String>,
    pub bn: Option<BnPlan>,
    /// Why the node cannot be simulated even with constant weights (e.g. dilation).
    pub unsupported: Option<String>,
    /// The node's first output.
    pub output: String,
}

/// A BatchNormalization folded into the conv before it.
#[derive(Clone, Debug)]
pub struct BnPlan {
    pub node: usize,
    pub name: String,
    pub params: [String; 4], // scale, B, mean, var
    pub eps: f32,
}

/// How the MACs of a node that is not imported follow from its shapes (per run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacRule {
    /// Every output position (batch × spatial of output 0) multiplies all the weights.
    ConvOut,
    /// Every input position (batch × spatial of input 0) multiplies all the weights.
    ConvTransposeIn,
    /// Every (step, batch row) of input 0 multiplies W and R once.
    Recurrent,
    /// Output elements × the contraction length (input 0's last axis).
    Product,
    /// Not derived.
    Unknown,
}

/// Weighted operators mltq does not import: op type, the inputs that hold weights (when
/// constant), the MAC rule.
pub const WEIGHTED: [(&str, &[usize], MacRule); 9] = [
    ("ConvTranspose", &[1], MacRule::ConvTransposeIn),
    ("ConvInteger", &[1], MacRule::ConvOut),
    ("QLinearConv", &[3], MacRule::ConvOut),
    ("MatMulInteger", &[0, 1], MacRule::Product),
    ("QLinearMatMul", &[0, 3], MacRule::Product),
    ("Einsum", &[0, 1, 2, 3, 4, 5, 6, 7], MacRule::Unknown),
    ("LSTM", &[1, 2], MacRule::Recurrent),
    ("GRU", &[1, 2], MacRule::Recurrent),
    ("RNN", &[1, 2], MacRule::Recurrent),
];

/// A node of a [`WEIGHTED`] type.
#[derive(Clone, Debug)]
pub struct Weighted {
    pub node: usize,
    pub name: String,
    pub op: String,
    /// Inputs that hold its weights when they are constant.
    pub weights: Vec<String>,
    pub rule: MacRule,
    pub input: String,
    pub output: String,
}

fn attr<'a>(n: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

pub fn attr_i(n: &pb::NodeProto, name: &str, default: i64) -> i64 {
    attr(n, name).map_or(default, |a| a.i)
}

pub fn attr_f(n: &pb::NodeProto, name: &str, default: f32) -> f32 {
    attr(n, name).map_or(default, |a| a.f)
}

fn attr_ints(n: &pb::NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(n, name).map(|a| a.ints.clone())
}

fn is_onnx_domain(n: &pb::NodeProto) -> bool {
    n.domain.is_empty() || n.domain == "ai.onnx"
}

/// The layer candidates and the weighted nodes that are not imported, in graph order.
pub fn plan(graph: &pb::GraphProto) -> (Vec<Plan>, Vec<Weighted>) {
    let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in graph.node.iter().enumerate() {
        for inp in n.input.iter().filter(|s| !s.is_empty()) {
            consumers.entry(inp.as_str()).or_default().push(i);
        }
    }
    let graph_outputs: HashSet<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
    let mut plans = Vec::new();
    let mut weighted = Vec::new();
    let mut used = HashSet::new();
    let mut unique = |label: &str| {
        let base = header_safe(label);
        let mut name = base.clone();
        let mut k = 2;
        while !used.insert(name.clone()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        name
    };
    for (i, n) in graph.node.iter().enumerate() {
        let label = node_label(n, i);
        let output = n.output.first().cloned().unwrap_or_default();
        if !is_onnx_domain(n) {
            continue;
        }
        if let Some((op, ins, rule)) = WEIGHTED.iter().find(|w| w.0 == n.op_type) {
            weighted.push(Weighted {
                node: i,
                name: label,
                op: op.to_string(),
                weights: ins
                    .iter()
                    .filter_map(|&k| n.input.get(k))
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect(),
                rule: *rule,
                input: n.input.first().cloned().unwrap_or_default(),
                output,
            });
            continue;
        }
        if !matches!(n.op_type.as_str(), "Conv" | "Gemm" | "MatMul")
            || n.input.len() < 2
            || n.input[0].is_empty()
            || n.input[1].is_empty()
        {
            continue;
        }
        let mut conv = ConvAttrs::default();
        let mut unsupported = None;
        let op = match n.op_type.as_str() {
            "Conv" => {
                if let Some(d) = attr_ints(n, "dilations").filter(|d| d.iter().any(|&x| x != 1)) {
                    unsupported = Some(format!(
                        "dilation {}: only dilation 1 can be simulated",
                        d.iter()
                            .map(|x| x.to_string())
                            .collect::<Vec<_>>()
                            .join("x")
                    ));
                }
                conv.auto_pad = attr(n, "auto_pad")
                    .map(|a| String::from_utf8_lossy(&a.s).into_owned())
                    .unwrap_or_default();
                conv.group = attr_i(n, "group", 1).max(1) as usize;
                conv.kernel = attr_ints(n, "kernel_shape");
                conv.pads = attr_ints(n, "pads");
                conv.strides = attr_ints(n, "strides");
                LayerOp::Conv
            }
            "Gemm" => LayerOp::Gemm {
                trans_a: attr_i(n, "transA", 0) != 0,
                trans_b: attr_i(n, "transB", 0) != 0,
                alpha: attr_f(n, "alpha", 1.0),
            },
            _ => LayerOp::MatMul,
        };
        let bn = if op == LayerOp::Conv {
            match consumers.get(output.as_str()).map(Vec::as_slice) {
                Some(&[j]) if !graph_outputs.contains(output.as_str()) => {
                    let b = &graph.node[j];
                    let ok = b.op_type == "BatchNormalization"
                        && is_onnx_domain(b)
                        && b.input.len() == 5
                        && b.input[0] == output
                        && attr_i(b, "training_mode", 0) == 0
                        && b.output.iter().skip(1).all(|o| o.is_empty());
                    ok.then(|| BnPlan {
                        node: j,
                        name: node_label(b, j),
                        params: [
                            b.input[1].clone(),
                            b.input[2].clone(),
                            b.input[3].clone(),
                            b.input[4].clone(),
                        ],
                        eps: attr_f(b, "epsilon", 1e-5),
                    })
                }
                _ => None,
            }
        } else {
            None
        };
        let bias = match op {
            LayerOp::Conv => n.input.get(2).filter(|s| !s.is_empty()).cloned(),
            _ => None,
        };
        plans.push(Plan {
            node: i,
            name: unique(&label),
            op,
            conv,
            act: n.input[0].clone(),
            weight: n.input[1].clone(),
            bias,
            bn,
            unsupported,
            output,
        });
    }
    (plans, weighted)
}

/// MACs per run of a node that is not imported, from its shapes (`None` when a shape is
/// unknown or the rule is [`MacRule::Unknown`]).
pub fn macs(
    rule: MacRule,
    weights: u64,
    input: Option<&[usize]>,
    output: Option<&[usize]>,
) -> Option<u64> {
    let prod = |s: &[usize]| s.iter().map(|&d| d as u64).product::<u64>();
    match rule {
        MacRule::ConvOut => {
            let y = output?;
            (y.len() >= 2).then(|| y[0] as u64 * prod(&y[2..]) * weights)
        }
        MacRule::ConvTransposeIn => {
            let x = input?;
            (x.len() >= 2).then(|| x[0] as u64 * prod(&x[2..]) * weights)
        }
        MacRule::Recurrent => {
            let x = input?;
            (x.len() == 3).then(|| x[0] as u64 * x[1] as u64 * weights)
        }
        MacRule::Product => {
            let (x, y) = (input?, output?);
            Some(prod(y) * *x.last()? as u64)
        }
        MacRule::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_by_rule_by_hand() {
        // Conv (1, 8, 5, 5) output, 8·4·3·3 = 288 weights: 25 positions × 288.
        assert_eq!(
            macs(MacRule::ConvOut, 288, None, Some(&[1, 8, 5, 5])),
            Some(7200)
        );
        // ConvTranspose on a (2, 4, 3, 3) input: 18 input positions × weights.
        assert_eq!(
            macs(MacRule::ConvTransposeIn, 100, Some(&[2, 4, 3, 3]), None),
            Some(1800)
        );
        // LSTM, X (T=4, B=1, C=3), W + R = 60 + 100: 4 steps × 160.
        assert_eq!(
            macs(MacRule::Recurrent, 160, Some(&[4, 1, 3]), None),
            Some(640)
        );
        // (2, 3, 5) @ (5, 7) = (2, 3, 7): 42 outputs × 5.
        assert_eq!(
            macs(MacRule::Product, 35, Some(&[2, 3, 5]), Some(&[2, 3, 7])),
            Some(210)
        );
        assert_eq!(macs(MacRule::Unknown, 5, Some(&[1]), Some(&[1])), None);
        assert_eq!(macs(MacRule::ConvOut, 5, None, None), None);
    }
}
