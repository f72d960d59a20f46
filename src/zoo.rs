//! The built-in networks: layer geometries only, every conv and fc layer in execution
//! order, named after the modules of the reference implementation (torchvision for the
//! ImageNet networks), so that they line up with imported models.
//!
//! Pools, activations, normalizations and residual additions carry no weights and are not
//! layers here; they only change the shape that the next layer consumes. A residual
//! block's projection shortcut (`downsample.0`) is listed after the block's main path,
//! as torchvision runs it, and consumes the block's input.
//!
//! [`gen`](crate::gen) fills these geometries with seeded synthetic values.

use crate::error::{did_you_mean, Error, Result};
use crate::model::{Conv, Geometry};

/// The names of the built-in networks, as given on the command line.
pub const NETWORKS: [&str; 6] = [
    "resnet20",
    "resnet18",
    "resnet50",
    "vgg16",
    "mobilenetv2",
    "alexnet",
];

/// The layers of a built-in network, in execution order, or `None` for an unknown name.
pub fn geometry(name: &str) -> Option<Vec<(String, Geometry)>> {
    let net = match name {
        "resnet20" => resnet20(),
        "resnet18" => resnet18(),
        "resnet50" => resnet50(),
        "vgg16" => vgg16(),
        "mobilenetv2" => mobilenetv2(),
        "alexnet" => alexnet(),
        _ => return None,
    };
    Some(net.layers)
}

/// The layers of a built-in network, or an error that lists the built-in networks and
/// suggests the nearest name.
pub fn lookup(name: &str) -> Result<Vec<(String, Geometry)>> {
    geometry(name).ok_or_else(|| unknown_network(name))
}

/// The error for a network name that is not built in.
pub fn unknown_network(name: &str) -> Error {
    Error::invalid(format!(
        "unknown network `{name}`{}; the built-in networks are {}",
        did_you_mean(name, NETWORKS),
        NETWORKS.join(", ")
    ))
}

/// The shape of a feature map between layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape {
    c: usize,
    h: usize,
    w: usize,
}

/// Builds a layer list while tracking the feature map that flows between layers, so
/// every layer's input is, by construction, what its producer makes.
struct Builder {
    layers: Vec<(String, Geometry)>,
    cur: Shape,
}

impl Builder {
    fn new(c: usize, h: usize, w: usize) -> Builder {
        Builder {
            layers: Vec::new(),
            cur: Shape { c, h, w },
        }
    }

    /// A square conv (k×k, stride s, pad p, g groups) on the current feature map.
    fn conv(&mut self, name: String, f: usize, k: usize, s: usize, p: usize, g: usize) {
        let Shape { c, h, w } = self.cur;
        let conv = Conv::square(c, (h, w), f, k, s, p, g);
        self.layers.push((name, Geometry::Conv(conv)));
        self.cur = Shape {
            c: f,
            h: conv.oy(),
            w: conv.ox(),
        };
    }

    /// A 1×1 projection shortcut on a block's `input`: its output is added to the block's
    /// main path, so it must match the current feature map.
    fn shortcut(&mut self, input: Shape, name: String, f: usize, s: usize) {
        let out = std::mem::replace(&mut self.cur, input);
        self.conv(name, f, 1, s, 0, 1);
        assert_eq!(self.cur, out, "a shortcut must match its block's output");
    }

    /// A max pool (k×k, stride s, pad p): changes the spatial size only.
    fn pool(&mut self, k: usize, s: usize, p: usize) {
        self.cur.h = (self.cur.h + 2 * p - k) / s + 1;
        self.cur.w = (self.cur.w + 2 * p - k) / s + 1;
    }

    /// A global average pool.
    fn global_pool(&mut self) {
        self.cur.h = 1;
        self.cur.w = 1;
    }

    /// A fully connected layer on the flattened feature map.
    fn fc(&mut self, name: String, f: usize) {
        let c = self.cur.c * self.cur.h * self.cur.w;
        self.layers.push((name, Geometry::Fc { c, f }));
        self.cur = Shape { c: f, h: 1, w: 1 };
    }
}

/// torchvision's `BasicBlock`: two 3×3 convs, the first carrying the stride, and a 1×1
/// projection when the shape changes.
fn basic_block(b: &mut Builder, name: &str, planes: usize, stride: usize) {
    let input = b.cur;
    b.conv(format!("{name}.conv1"), planes, 3, stride, 1, 1);
    b.conv(format!("{name}.conv2"), planes, 3, 1, 1, 1);
    if stride != 1 || input.c != planes {
        b.shortcut(input, format!("{name}.downsample.0"), planes, stride);
    }
}

/// torchvision's `Bottleneck` (v1.5: the stride is on the 3×3): 1×1 reduce, 3×3, 1×1
/// expand ×4, and a 1×1 projection when the shape changes.
fn bottleneck(b: &mut Builder, name: &str, planes: usize, stride: usize) {
    let input = b.cur;
    b.conv(format!("{name}.conv1"), planes, 1, 1, 0, 1);
    b.conv(format!("{name}.conv2"), planes, 3, stride, 1, 1);
    b.conv(format!("{name}.conv3"), planes * 4, 1, 1, 0, 1);
    if stride != 1 || input.c != planes * 4 {
        b.shortcut(input, format!("{name}.downsample.0"), planes * 4, stride);
    }
}

/// A residual block appended to a builder: (builder, name, planes, stride).
type Block = fn(&mut Builder, &str, usize, usize);

/// The residual stages `layer1`, `layer2`, … of (planes, blocks) each, in which the first
/// block of every stage but the first halves the map; then global pool and fc.
fn resnet(mut b: Builder, stages: &[(usize, usize)], block: Block, classes: usize) -> Builder {
    for (stage, &(planes, blocks)) in stages.iter().enumerate() {
        for i in 0..blocks {
            let stride = if stage > 0 && i == 0 { 2 } else { 1 };
            block(&mut b, &format!("layer{}.{i}", stage + 1), planes, stride);
        }
    }
    b.global_pool();
    b.fc("fc".into(), classes);
    b
}

/// ResNet-20 for CIFAR-10 (He et al. 2016, §4.2) with option-B projection shortcuts:
/// a 3×3 conv to 16 channels, three stages of three basic blocks at 16/32/64 channels
/// (32×32, 16×16, 8×8), global average pool, fc 64→10. Named like torchvision's ResNets.
fn resnet20() -> Builder {
    let mut b = Builder::new(3, 32, 32);
    b.conv("conv1".into(), 16, 3, 1, 1, 1);
    resnet(b, &[(16, 3), (32, 3), (64, 3)], basic_block, 10)
}

/// The ImageNet ResNet stem: 7×7/2 conv to 64 channels, 3×3/2 max pool (224 → 56).
fn resnet_stem() -> Builder {
    let mut b = Builder::new(3, 224, 224);
    b.conv("conv1".into(), 64, 7, 2, 3, 1);
    b.pool(3, 2, 1);
    b
}

/// torchvision `resnet18`: basic blocks [2, 2, 2, 2].
fn resnet18() -> Builder {
    resnet(
        resnet_stem(),
        &[(64, 2), (128, 2), (256, 2), (512, 2)],
        basic_block,
        1000,
    )
}

/// torchvision `resnet50`: bottlenecks [3, 4, 6, 3].
fn resnet50() -> Builder {
    resnet(
        resnet_stem(),
        &[(64, 3), (128, 4), (256, 6), (512, 3)],
        bottleneck,
        1000,
    )
}

/// torchvision `vgg16` (configuration D, no batch norm): 13 3×3 convs with 2×2 max pools
/// between stages, then fc 25088→4096→4096→1000. Names are the `features`/`classifier`
/// indices, which count the ReLU, pool and dropout modules too.
fn vgg16() -> Builder {
    let mut b = Builder::new(3, 224, 224);
    let mut index = 0;
    for stage in [
        &[64, 64][..],
        &[128, 128],
        &[256, 256, 256],
        &[512, 512, 512],
        &[512, 512, 512],
    ] {
        for &f in stage {
            b.conv(format!("features.{index}"), f, 3, 1, 1, 1);
            index += 2; // conv, ReLU
        }
        b.pool(2, 2, 0);
        index += 1;
    }
    // The adaptive 7×7 average pool is the identity at 224×224.
    b.fc("classifier.0".into(), 4096);
    b.fc("classifier.3".into(), 4096);
    b.fc("classifier.6".into(), 1000);
    b
}

/// torchvision `mobilenet_v2` (width 1.0): a 3×3/2 conv to 32 channels, 17 inverted
/// residual blocks (1×1 expansion unless t = 1, 3×3 depthwise carrying the stride, 1×1
/// linear projection), a 1×1 conv 320→1280, global average pool, fc 1280→1000.
fn mobilenetv2() -> Builder {
    let mut b = Builder::new(3, 224, 224);
    b.conv("features.0.0".into(), 32, 3, 2, 1, 1);
    // (expansion t, output channels c, repeats n, first stride s), as in the paper's Table 2.
    let settings = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    let mut index = 1;
    for (t, c, n, s) in settings {
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            let hidden = b.cur.c * t;
            let name = format!("features.{index}.conv");
            let mut part = 0;
            if t != 1 {
                b.conv(format!("{name}.{part}.0"), hidden, 1, 1, 0, 1);
                part += 1;
            }
            b.conv(format!("{name}.{part}.0"), hidden, 3, stride, 1, hidden);
            b.conv(format!("{name}.{}", part + 1), c, 1, 1, 0, 1);
            index += 1;
        }
    }
    b.conv(format!("features.{index}.0"), 1280, 1, 1, 0, 1);
    b.global_pool();
    b.fc("classifier.1".into(), 1000);
    b
}

/// torchvision `alexnet` (the one-GPU variant of Krizhevsky's "one weird trick" paper):
/// 64 11×11/4 p2, pool, 192 5×5 p2, pool, 384, 256, 256 3×3 p1, pool (→ 6×6), then fc
/// 9216→4096→4096→1000.
fn alexnet() -> Builder {
    let mut b = Builder::new(3, 224, 224);
    b.conv("features.0".into(), 64, 11, 4, 2, 1);
    b.pool(3, 2, 0);
    b.conv("features.3".into(), 192, 5, 1, 2, 1);
    b.pool(3, 2, 0);
    b.conv("features.6".into(), 384, 3, 1, 1, 1);
    b.conv("features.8".into(), 256, 3, 1, 1, 1);
    b.conv("features.10".into(), 256, 3, 1, 1, 1);
    b.pool(3, 2, 0);
    b.fc("classifier.1".into(), 4096);
    b.fc("classifier.4".into(), 4096);
    b.fc("classifier.6".into(), 1000);
    b
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn layers(name: &str) -> Vec<(String, Geometry)> {
        geometry(name).unwrap()
    }

    fn counts(name: &str) -> (usize, usize) {
        let l = layers(name);
        let convs = l
            .iter()
            .filter(|(_, g)| matches!(g, Geometry::Conv(_)))
            .count();
        (convs, l.len() - convs)
    }

    fn total_macs(name: &str) -> u64 {
        layers(name).iter().map(|(_, g)| g.macs()).sum()
    }

    #[test]
    fn every_builtin_name_resolves_and_is_valid() {
        for name in NETWORKS {
            let l = layers(name);
            let names: HashSet<&str> = l.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names.len(), l.len(), "{name}: layer names are unique");
            for (n, g) in &l {
                g.validate().unwrap_or_else(|e| panic!("{name}/{n}: {e}"));
            }
        }
    }

    #[test]
    fn layer_counts_match_the_reference_models() {
        // resnet20: 19 convs on the main path (1 + 3·3·2), 2 projections, fc.
        assert_eq!(counts("resnet20"), (21, 1));
        // resnet18: 1 + 8·2 convs, 3 downsample, fc.
        assert_eq!(counts("resnet18"), (20, 1));
        // resnet50: 1 + 16·3 convs, 4 downsample (layer1 too: 64 → 256), fc.
        assert_eq!(counts("resnet50"), (53, 1));
        assert_eq!(counts("vgg16"), (13, 3));
        assert_eq!(counts("alexnet"), (5, 3));
        // mobilenetv2: stem, 2 convs in the t=1 block, 3 in each of the other 16 blocks,
        // the 1×1 to 1280: 1 + 2 + 48 + 1 = 52 Conv2d modules in torchvision, and fc.
        assert_eq!(counts("mobilenetv2"), (52, 1));
    }

    #[test]
    fn mac_totals_match_published_figures() {
        // (exact count here, published conv+fc figure): within 1%.
        let cases = [
            ("resnet20", 40_813_184, 40.8e6),
            ("resnet18", 1_814_073_344, 1.81e9),
            ("resnet50", 4_089_184_256, 4.09e9),
            ("vgg16", 15_470_264_320, 15.47e9),
            ("mobilenetv2", 300_774_272, 0.30e9),
            ("alexnet", 714_188_480, 0.71e9),
        ];
        for (name, exact, published) in cases {
            let macs = total_macs(name);
            assert_eq!(macs, exact, "{name}");
            let rel = (macs as f64 - published).abs() / published;
            assert!(rel < 0.01, "{name}: {macs} vs {published}");
        }
    }

    #[test]
    fn hand_checked_layers() {
        let find =
            |net: &str, layer: &str| layers(net).into_iter().find(|(n, _)| n == layer).unwrap().1;
        let Geometry::Conv(c) = find("resnet50", "layer2.0.conv2") else {
            panic!()
        };
        assert_eq!(
            (c.c, c.h, c.f, c.sh, c.oy()),
            (128, 56, 128, 2, 28),
            "v1.5: stride on the 3×3"
        );
        let Geometry::Conv(c) = find("resnet50", "layer2.0.downsample.0") else {
            panic!()
        };
        assert_eq!(
            (c.c, c.h, c.f, c.kh, c.sh, c.oy()),
            (256, 56, 512, 1, 2, 28)
        );
        let Geometry::Conv(c) = find("mobilenetv2", "features.2.conv.1.0") else {
            panic!()
        };
        assert_eq!(
            (c.c, c.h, c.f, c.groups, c.sh, c.oy()),
            (96, 112, 96, 96, 2, 56)
        );
        let Geometry::Conv(c) = find("alexnet", "features.0") else {
            panic!()
        };
        assert_eq!((c.oy(), c.ox()), (55, 55));
        assert_eq!(
            find("alexnet", "classifier.1"),
            Geometry::Fc { c: 9216, f: 4096 }
        );
        assert_eq!(
            find("vgg16", "classifier.0"),
            Geometry::Fc { c: 25088, f: 4096 }
        );
        assert_eq!(
            find("mobilenetv2", "classifier.1"),
            Geometry::Fc { c: 1280, f: 1000 }
        );
        assert_eq!(find("resnet20", "fc"), Geometry::Fc { c: 64, f: 10 });
        // torchvision module names: indices count the ReLU, pool and dropout modules too.
        let Geometry::Conv(c) = find("vgg16", "features.28") else {
            panic!()
        };
        assert_eq!((c.c, c.h, c.f), (512, 14, 512));
        let Geometry::Conv(c) = find("mobilenetv2", "features.17.conv.2") else {
            panic!()
        };
        assert_eq!((c.c, c.h, c.f), (960, 7, 320));
        let Geometry::Conv(c) = find("mobilenetv2", "features.18.0") else {
            panic!()
        };
        assert_eq!((c.c, c.h, c.f), (320, 7, 1280));
        let Geometry::Conv(c) = find("mobilenetv2", "features.1.conv.1") else {
            panic!()
        };
        assert_eq!((c.c, c.h, c.f), (32, 112, 16));
        let Geometry::Conv(c) = find("alexnet", "features.10") else {
            panic!()
        };
        assert_eq!((c.c, c.h, c.f), (256, 13, 256));
        let Geometry::Conv(c) = find("resnet20", "layer3.0.downsample.0") else {
            panic!()
        };
        assert_eq!((c.c, c.h, c.f, c.oy()), (32, 16, 64, 8));
    }

    /// Output (C, H, W) of a layer.
    fn output(g: &Geometry) -> (usize, usize, usize) {
        match *g {
            Geometry::Conv(c) => (c.f, c.oy(), c.ox()),
            Geometry::Fc { f, .. } => (f, 1, 1),
        }
    }

    /// Checks, independently of the builder, that every layer consumes what its producer
    /// makes: the previous layer's output, possibly through the network's max pool; a
    /// shortcut, its block's input (that of `{block}.conv1`) and it yields the block's
    /// output; an fc layer, the flattened (possibly pooled) or globally pooled map.
    fn check_chain(name: &str, input: (usize, usize, usize), pool: Option<(usize, usize, usize)>) {
        let l = layers(name);
        let pooled = |(c, h, w): (usize, usize, usize)| match pool {
            Some((k, s, p)) if h + 2 * p >= k && w + 2 * p >= k => {
                (c, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1)
            }
            _ => (c, h, w),
        };
        let mut prev = input;
        for (i, (n, g)) in l.iter().enumerate() {
            match *g {
                Geometry::Conv(c) => {
                    let got = (c.c, c.h, c.w);
                    if let Some(block) = n.strip_suffix(".downsample.0") {
                        let first = &l
                            .iter()
                            .find(|(m, _)| *m == format!("{block}.conv1"))
                            .unwrap()
                            .1;
                        assert_eq!(got, tuple(first.act_shape()), "{name}/{n}: block input");
                        assert_eq!(output(g), prev, "{name}/{n}: block output");
                        continue;
                    }
                    assert!(
                        got == prev || got == pooled(prev),
                        "{name}/{n}: input {got:?} after {prev:?}"
                    );
                    assert!(i > 0 || got == input, "{name}: network input");
                }
                Geometry::Fc { c, .. } => {
                    let (pc, ph, pw) = pooled(prev);
                    assert!(
                        c == prev.0 || c == prev.0 * prev.1 * prev.2 || c == pc * ph * pw,
                        "{name}/{n}: fc in {c} after {prev:?}"
                    );
                }
            }
            prev = output(g);
        }
    }

    fn tuple(v: Vec<usize>) -> (usize, usize, usize) {
        (v[0], v[1], v[2])
    }

    #[test]
    fn each_layer_consumes_what_its_producer_makes() {
        check_chain("resnet20", (3, 32, 32), None);
        check_chain("resnet18", (3, 224, 224), Some((3, 2, 1)));
        check_chain("resnet50", (3, 224, 224), Some((3, 2, 1)));
        check_chain("vgg16", (3, 224, 224), Some((2, 2, 0)));
        check_chain("alexnet", (3, 224, 224), Some((3, 2, 0)));
        check_chain("mobilenetv2", (3, 224, 224), None);
    }

    #[test]
    fn unknown_names_get_a_suggestion() {
        let e = lookup("resnet5").unwrap_err().to_string();
        assert!(e.contains("unknown network `resnet5`"), "{e}");
        assert!(e.contains("did you mean `resnet50`?"), "{e}");
        assert!(e.contains("mobilenetv2, alexnet"), "{e}");
        assert!(lookup("MobileNetV2")
            .unwrap_err()
            .to_string()
            .contains("did you mean `mobilenetv2`?"));
    }
}
