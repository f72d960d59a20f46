//! A network as the simulator sees it: layers with their geometry, weights and the
//! activations they consumed for each sample. `header` parses a `.mltq` header (nom),
//! `read` decodes the payload into tensors, `write` produces files.

pub mod header;
pub mod read;
pub mod write;

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::tensor::Tensor;

pub use read::{load, parse_bytes};
pub use write::{save, to_bytes};

/// A whole network.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// `network name=…`.
    pub name: String,
    /// `network source=…` (free text: where it came from).
    pub source: Option<String>,
    /// Layers in execution order.
    pub layers: Vec<Layer>,
}

/// One conv or fc layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// Unique layer name.
    pub name: String,
    /// Geometry.
    pub geom: Geometry,
    /// Weights (`F,C/G,KH,KW` or `F,C`).
    pub weights: Tensor,
    /// Input activations per sample index (`C,H,W` or `C`).
    pub acts: BTreeMap<u32, Tensor>,
}

/// A conv layer's geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub f: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
    pub groups: usize,
}

/// Layer geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Geometry {
    /// `op=conv`.
    Conv(Conv),
    /// `op=fc in=C out=F`.
    Fc { c: usize, f: usize },
}

impl Conv {
    /// A conv with a square kernel, stride and padding: `k`×`k` filters, stride `s` and
    /// padding `p` on both axes, over a C×H×W input (`hw` = (H, W)), F filters in `groups`
    /// groups.
    pub fn square(
        c: usize,
        hw: (usize, usize),
        f: usize,
        k: usize,
        s: usize,
        p: usize,
        groups: usize,
    ) -> Conv {
        Conv {
            c,
            h: hw.0,
            w: hw.1,
            f,
            kh: k,
            kw: k,
            sh: s,
            sw: s,
            ph: p,
            pw: p,
            groups,
        }
    }

    /// Output height Oy = ⌊(H + 2·PH − KH)/SH⌋ + 1.
    pub fn oy(&self) -> usize {
        (self.h + 2 * self.ph - self.kh) / self.sh + 1
    }

    /// Output width Ox.
    pub fn ox(&self) -> usize {
        (self.w + 2 * self.pw - self.kw) / self.sw + 1
    }

    /// Input channels per group.
    pub fn cg(&self) -> usize {
        self.c / self.groups
    }

    /// Filters per group.
    pub fn fg(&self) -> usize {
        self.f / self.groups
    }

    /// Check the geometry's own rules.
    pub fn validate(&self) -> Result<()> {
        let pos = [
            ("in C", self.c),
            ("in H", self.h),
            ("in W", self.w),
            ("out", self.f),
            ("kernel KH", self.kh),
            ("kernel KW", self.kw),
            ("stride SH", self.sh),
            ("stride SW", self.sw),
            ("groups", self.groups),
        ];
        for (what, v) in pos {
            if v == 0 {
                return Err(Error::invalid(format!("{what} must be at least 1, got 0")));
            }
        }
        if !self.c.is_multiple_of(self.groups) || !self.f.is_multiple_of(self.groups) {
            return Err(Error::invalid(format!(
                "in C={} and out F={} must both be divisible by groups={}",
                self.c, self.f, self.groups
            )));
        }
        let padded = |x: usize, p: usize| p.checked_mul(2).and_then(|p2| x.checked_add(p2));
        match (padded(self.h, self.ph), padded(self.w, self.pw)) {
            (Some(ph), Some(pw)) if ph >= self.kh && pw >= self.kw => {}
            (Some(ph), Some(pw)) => {
                return Err(Error::invalid(format!(
                    "kernel {}x{} is larger than the padded input {ph}x{pw}",
                    self.kh, self.kw
                )))
            }
            _ => return Err(Error::invalid("padding is too large")),
        }
        Ok(())
    }
}

impl Geometry {
    /// The weight shape the layer implies.
    pub fn weight_shape(&self) -> Vec<usize> {
        match *self {
            Geometry::Conv(c) => vec![c.f, c.cg(), c.kh, c.kw],
            Geometry::Fc { c, f } => vec![f, c],
        }
    }

    /// The activation shape the layer implies.
    pub fn act_shape(&self) -> Vec<usize> {
        match *self {
            Geometry::Conv(c) => vec![c.c, c.h, c.w],
            Geometry::Fc { c, .. } => vec![c],
        }
    }

    /// Output filters F.
    pub fn filters(&self) -> usize {
        match *self {
            Geometry::Conv(c) => c.f,
            Geometry::Fc { f, .. } => f,
        }
    }

    /// Multiply-accumulates: every (filter, window, channel, ky, kx), padding included.
    pub fn macs(&self) -> u64 {
        match *self {
            Geometry::Conv(c) => (c.f * c.oy() * c.ox() * c.cg() * c.kh * c.kw) as u64,
            Geometry::Fc { c, f } => (c * f) as u64,
        }
    }

    /// "conv" or "fc".
    pub fn op(&self) -> &'static str {
        match self {
            Geometry::Conv(_) => "conv",
            Geometry::Fc { .. } => "fc",
        }
    }

    /// Check the geometry's own rules.
    pub fn validate(&self) -> Result<()> {
        match self {
            Geometry::Conv(c) => c.validate(),
            Geometry::Fc { c, f } => {
                if *c == 0 || *f == 0 {
                    return Err(Error::invalid(format!(
                        "fc in={c} out={f}: both must be at least 1"
                    )));
                }
                Ok(())
            }
        }
    }

    /// Short human description, e.g. `conv 64x56x56 -> 64 k3x3 s1 p1 g1`.
    pub fn describe(&self) -> String {
        match *self {
            Geometry::Conv(c) => format!(
                "conv {}x{}x{} -> {} k{}x{} s{}x{} p{}x{} g{}",
                c.c, c.h, c.w, c.f, c.kh, c.kw, c.sh, c.sw, c.ph, c.pw, c.groups
            ),
            Geometry::Fc { c, f } => format!("fc {c} -> {f}"),
        }
    }
}

impl Network {
    /// All sample indices present in any layer, ascending.
    pub fn samples(&self) -> Vec<u32> {
        let mut s: Vec<u32> = self
            .layers
            .iter()
            .flat_map(|l| l.acts.keys().copied())
            .collect();
        s.sort_unstable();
        s.dedup();
        s
    }

    /// Total weight elements.
    pub fn weight_count(&self) -> usize {
        self.layers.iter().map(|l| l.weights.len()).sum()
    }

    /// Total MACs.
    pub fn macs(&self) -> u64 {
        self.layers.iter().map(|l| l.geom.macs()).sum()
    }
}
