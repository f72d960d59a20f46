//! Per-layer precisions of generated int operands (`mltq gen --act-precision`,
//! `--weight-precision`, `--precision`, `--precision-profile`, `--profile-precision`).
//!
//! An `int:B` operand generated at precision P holds the P-bit quantization of the drawn
//! values (as `mltq import` quantizes them: one step per tensor, the largest magnitude
//! at the top of the P-bit range, 2^(P−1) − 1 signed or 2^P − 1 unsigned) in its B-bit
//! container, with `precision=P` in the file: what a precision-serial design (Stripes)
//! pays per value, and the bits that Pragmatic's essential bits are counted in.
//!
//! Precisions come, per operand, from
//! - a list, one value per layer in order (`9,8,5,5,7,-,-,-`; `-` keeps the full
//!   width; a single value applies to every layer): [`parse_list`];
//! - a precision file in either of the importer's layouts (`LAYER ACTS WEIGHTS` lines or
//!   DNNsim's `precision.txt`), read by [`crate::import::precision::PrecisionFile`];
//! - a built-in profile published for the network ([`builtin`]: `stripes`);
//! - the data: per layer, the smallest precision whose relative L2 quantization error
//!   is within a tolerance ([`crate::import::precision::profile`], the importer's rule).

use crate::error::{did_you_mean, Error, Result};

/// Where the per-layer precisions of one int operand come from.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum LayerPrecision {
    /// Every layer at the operand's full width (precision = bits): what `gen` has
    /// always written.
    #[default]
    Full,
    /// One precision per layer in order (`None`: the full width); `from` names where
    /// they came from in the model's source (`list`, `stripes`, `file:NAME`).
    Given {
        values: Vec<Option<u32>>,
        from: String,
    },
    /// From the data: per layer, the smallest precision whose relative L2 quantization
    /// error (‖x − x̂‖ / ‖x‖, over every sample of the layer together) is at most
    /// `tolerance`.
    Profile { tolerance: f64 },
}

impl LayerPrecision {
    /// How the model's source records where the precisions came from.
    pub fn origin(&self) -> Option<String> {
        match self {
            LayerPrecision::Full => None,
            LayerPrecision::Given { from, .. } => Some(from.clone()),
            LayerPrecision::Profile { tolerance } => Some(format!("profile:{tolerance}")),
        }
    }
}

/// Parse a per-layer list: comma-separated precisions (integers ≥ 1) or `-` (the full
/// width), blanks allowed around them.
pub fn parse_list(s: &str) -> std::result::Result<Vec<Option<u32>>, String> {
    let help = "expected precisions in bits separated by commas, one per layer in order (`-` keeps a layer at the full width), e.g. `9,8,5,5,7,-,-,-`";
    if s.trim().is_empty() {
        return Err(format!("no precisions given; {help}"));
    }
    s.split(',')
        .enumerate()
        .map(|(i, v)| {
            let v = v.trim();
            if v == "-" {
                return Ok(None);
            }
            match v.parse::<u32>() {
                Ok(p) if p >= 1 => Ok(Some(p)),
                _ => Err(format!(
                    "value {} (`{v}`) is not a positive number of bits; {help}",
                    i + 1
                )),
            }
        })
        .collect()
}

/// A per-layer list as given on the command line (see [`parse_list`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrecisionList(pub Vec<Option<u32>>);

impl std::str::FromStr for PrecisionList {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<PrecisionList, String> {
        parse_list(s).map(PrecisionList)
    }
}

/// A list as given for `layers` layers: one value per layer, or a single value for
/// every layer. `flag` names the option in messages; `names` are the layer names.
pub fn expand(
    values: &[Option<u32>],
    names: &[&str],
    flag: &str,
    network: &str,
) -> Result<Vec<Option<u32>>> {
    match values.len() {
        1 => Ok(vec![values[0]; names.len()]),
        n if n == names.len() => Ok(values.to_vec()),
        n => {
            let shown: Vec<&str> = names.iter().copied().take(8).collect();
            Err(Error::invalid(format!(
                "{flag}: {n} values for the {} layers of {network} ({}{}); give one precision per layer in order (`-` keeps a layer at the full width), or a single value for every layer",
                names.len(),
                shown.join(", "),
                if names.len() > shown.len() { ", …" } else { "" }
            )))
        }
    }
}

/// The built-in profiles: activation precisions per conv layer, as published.
pub const PROFILES: [&str; 1] = ["stripes"];

/// Per-layer activation precisions that Judd et al. (Stripes, MICRO 2016, Table 2, the
/// 100 %-accuracy profiles; Albericio et al. reuse them for Pragmatic, MICRO 2017) give
/// for the conv layers of a network, by the layer names of `crate::zoo`. Fully connected
/// layers are not profiled there (both papers evaluate conv layers) and keep the full
/// width. `None` for a network the papers do not cover.
///
/// - `alexnet`: 9-8-5-5-7, as published.
/// - `vgg16`: the papers profile VGG-19 (12-12 | 12-11 | 12-10-11-11 | 13-12-13-13 |
///   13-13-13-13, blocks separated); VGG-16 has the same five blocks with one conv
///   fewer in each of the last three, so each of its convs takes the precision of the
///   VGG-19 conv at the same place in the same block: an adaptation, not a profile of
///   VGG-16.
pub fn stripes_profile(network: &str) -> Option<Vec<(&'static str, u32)>> {
    match network {
        "alexnet" => Some(vec![
            ("features.0", 9),
            ("features.3", 8),
            ("features.6", 5),
            ("features.8", 5),
            ("features.10", 7),
        ]),
        "vgg16" => Some(vec![
            ("features.0", 12),
            ("features.2", 12),
            ("features.5", 12),
            ("features.7", 11),
            ("features.10", 12),
            ("features.12", 10),
            ("features.14", 11),
            ("features.17", 13),
            ("features.19", 12),
            ("features.21", 13),
            ("features.24", 13),
            ("features.26", 13),
            ("features.28", 13),
        ]),
        _ => None,
    }
}

/// The activation precisions of built-in profile `profile` for `network`, one per
/// layer of `names` (the network's layers in order; `None` for layers the profile does
/// not list).
pub fn builtin(profile: &str, network: &str, names: &[&str]) -> Result<Vec<Option<u32>>> {
    if !PROFILES.contains(&profile) {
        return Err(Error::invalid(format!(
            "unknown precision profile `{profile}`{}; built-in profiles: {}",
            did_you_mean(profile, PROFILES),
            PROFILES.join(", ")
        )));
    }
    let table = stripes_profile(network).ok_or_else(|| {
        Error::invalid(format!(
            "the `{profile}` precision profile has no values for {network}: Stripes and Pragmatic published per-layer profiles for AlexNet and VGG-19 (built in for alexnet and, adapted, vgg16), not for {network}; give the precisions with --act-precision LIST or --precision FILE, or profile the generated values with --profile-precision"
        ))
    })?;
    for (layer, _) in &table {
        if !names.contains(layer) {
            return Err(Error::invalid(format!(
                "the `{profile}` precision profile of {network} names layer `{layer}`, which the network does not have (internal: the profile and the zoo disagree)"
            )));
        }
    }
    Ok(names
        .iter()
        .map(|n| table.iter().find(|(l, _)| l == n).map(|&(_, p)| p))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_with_dashes_and_blanks() {
        assert_eq!(
            parse_list("9, 8,5,-,7"),
            Ok(vec![Some(9), Some(8), Some(5), None, Some(7)])
        );
        assert_eq!(parse_list("12"), Ok(vec![Some(12)]));
        let e = parse_list("9,0,5").unwrap_err();
        assert!(
            e.starts_with("value 2 (`0`) is not a positive number"),
            "{e}"
        );
        let e = parse_list("9,,5").unwrap_err();
        assert!(e.starts_with("value 2 (``)"), "{e}");
        assert!(parse_list(" ").unwrap_err().starts_with("no precisions"));
    }

    #[test]
    fn lists_expand_to_the_layers() {
        let names = ["a", "b", "c"];
        assert_eq!(
            expand(&[Some(4)], &names, "--act-precision", "n").unwrap(),
            vec![Some(4); 3]
        );
        assert_eq!(
            expand(&[Some(4), None, Some(6)], &names, "--act-precision", "n").unwrap(),
            vec![Some(4), None, Some(6)]
        );
        let e = expand(&[Some(4), None], &names, "--act-precision", "n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "--act-precision: 2 values for the 3 layers of n (a, b, c); give one precision per layer in order (`-` keeps a layer at the full width), or a single value for every layer"
        );
    }

    /// The profile's ideal Stripes speedup over 16-bit activations, Σ MACs / Σ MACs·P/16
    /// over the conv layers, is what Stripes' Table 2 lists beside it: 2.38× for
    /// AlexNet (here 2.37×: torchvision's AlexNet, whose conv MACs differ slightly from
    /// the Caffe model's) and 1.35× for VGG-19 (here VGG-16's adaptation: 1.36×).
    #[test]
    fn builtin_profiles_follow_the_zoo_and_give_the_published_ideal_speedups() {
        for (net, ideal) in [("alexnet", 2.37), ("vgg16", 1.36)] {
            let layers = crate::zoo::lookup(net).unwrap();
            let names: Vec<&str> = layers.iter().map(|(n, _)| n.as_str()).collect();
            let p = builtin("stripes", net, &names).unwrap();
            let (mut macs, mut serial) = (0f64, 0f64);
            for ((_, g), p) in layers.iter().zip(&p) {
                let conv = matches!(g, crate::model::Geometry::Conv(_));
                assert_eq!(conv, p.is_some(), "{net}: every conv and no fc is profiled");
                if let Some(p) = p {
                    macs += g.macs() as f64;
                    serial += g.macs() as f64 * *p as f64 / 16.0;
                }
            }
            let speedup = macs / serial;
            assert!((speedup - ideal).abs() < 0.005, "{net}: {speedup}");
        }
        let e = builtin("stripes", "resnet50", &["conv1"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("has no values for resnet50"), "{e}");
        let e = builtin("stripe", "alexnet", &["x"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("(did you mean `stripes`?)"), "{e}");
    }
}
