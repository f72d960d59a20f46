//! Where a model's values come from, in one readable line: the path (or built-in name)
//! and the model's recorded `source`. A generated model's source (`mltq gen NAME
//! weights=… acts=… wd=… ad=… samples=… seed=…`) is spelled out as encodings,
//! densities, samples and seed, so the report of a built-in network says what it holds.

use super::json::ModelMeta;
use super::table::shorten;

/// `model: …` for the report header and `inspect`.
pub fn model_line(meta: &ModelMeta) -> String {
    let what = match meta.path.strip_prefix("builtin:") {
        Some(name) => format!("built-in {name}"),
        None => shorten(&meta.path).into_owned(),
    };
    match meta.source.as_deref() {
        None | Some("") => format!("model: {what}"),
        Some(src) => match generated(src) {
            Some(text) if meta.path.starts_with("builtin:") => {
                format!("model: {what}, synthetic: {text}")
            }
            Some(text) => {
                let name = src.split_whitespace().nth(2).unwrap_or("");
                format!("model: {what}, made by `mltq gen {name}`: {text}")
            }
            None => format!("model: {what} ({})", shorten(src)),
        },
    }
}

/// The settings of an `mltq gen` source as words, or `None` for any other source.
/// Keys this function does not know are kept as `key=value`.
pub fn generated(source: &str) -> Option<String> {
    let mut words = source.split_whitespace();
    if (words.next(), words.next()) != (Some("mltq"), Some("gen")) {
        return None;
    }
    let _network = words.next()?;
    let mut get = std::collections::BTreeMap::new();
    let mut order = Vec::new();
    for w in words {
        let (k, v) = w.split_once('=')?;
        get.insert(k, v);
        order.push(k);
    }
    let mut parts = Vec::new();
    for (enc, density, noun) in [("weights", "wd", "weights"), ("acts", "ad", "activations")] {
        if let Some(e) = get.get(enc) {
            let d = get
                .get(density)
                .map(|d| format!(" at density {d}"))
                .unwrap_or_default();
            parts.push(format!("{noun} {e}{d}"));
        }
    }
    if let Some(n) = get.get("samples") {
        let s = if *n == "1" { "" } else { "s" };
        parts.push(format!("{n} sample{s}"));
    }
    if let Some(s) = get.get("seed") {
        parts.push(format!("seed {s}"));
    }
    let known = ["weights", "wd", "acts", "ad", "samples", "seed"];
    for k in order.iter().filter(|k| !known.contains(k)) {
        parts.push(format!("{k}={}", get[k]));
    }
    Some(parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(path: &str, source: Option<&str>) -> ModelMeta {
        ModelMeta {
            path: path.to_string(),
            sha256: String::new(),
            source: source.map(str::to_string),
        }
    }

    const GEN: &str =
        "mltq gen resnet20 weights=ternary:2 acts=ternary:2 wd=0.35 ad=0.5 samples=1 seed=1";

    #[test]
    fn a_builtin_says_what_it_holds() {
        assert_eq!(
            model_line(&meta("builtin:resnet20", Some(GEN))),
            "model: built-in resnet20, synthetic: weights ternary:2 at density 0.35, \
             activations ternary:2 at density 0.5, 1 sample, seed 1"
        );
    }

    #[test]
    fn a_generated_file_names_its_generator_and_keeps_unknown_keys() {
        let src =
            "mltq gen vgg16 weights=int:8 acts=int:8 wd=1 ad=0.4 samples=3 seed=7 dist=laplace";
        assert_eq!(
            model_line(&meta("m.mltq", Some(src))),
            "model: m.mltq, made by `mltq gen vgg16`: weights int:8 at density 1, \
             activations int:8 at density 0.4, 3 samples, seed 7, dist=laplace"
        );
    }

    #[test]
    fn other_sources_are_quoted_and_no_source_is_just_the_path() {
        assert_eq!(
            model_line(&meta("r.mltq", Some("onnx r.onnx"))),
            "model: r.mltq (onnx r.onnx)"
        );
        assert_eq!(model_line(&meta("r.mltq", None)), "model: r.mltq");
        assert_eq!(generated("mltq gen x weights"), None);
    }
}
