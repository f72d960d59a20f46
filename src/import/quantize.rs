//! Quantizers: float tensors → the encodings the simulator counts (docs/import.md).
//!
//! Every quantizer is a pure function of an `f32` slice and a shape, returning a
//! validated [`Tensor`] and its [`QuantStats`] (error against the input, word and digit
//! density). The algorithms:
//!
//! - [`ternary`] (MLTQ, `ternary:L`): residual ternarization, level by level. With
//!   residual r (initially x), level p picks the threshold t = 0.7·mean|r| over the
//!   elements whose residual is still nonzero (TWN's rule, applied to the residual),
//!   digit d = sign(r)·[|r| > t], scale s = Σ|r|·[d≠0] / #[d≠0] (the least-squares scale
//!   for those digits), then r ← r − s·d. Each level can only lower the squared error.
//! - [`binary`] (MLB, `binary:L`): residual binarization as in ABC-Net/ReBNet:
//!   d = sign(r) (sign(0) = +1: binary digits are never zero), s = mean|r|, r ← r − s·d.
//! - [`int`] (`int:B`): linear quantization with one scale per tensor, s = max|x| / qmax.
//!   Signed: symmetric, q ∈ [−(2^(B−1)−1), 2^(B−1)−1]. Unsigned: q ∈ [0, 2^B−1];
//!   negative inputs clamp to 0 and are counted in [`QuantStats::clamped`].
//! - [`prune`]: magnitude pruning of an exact fraction, before quantization.
//!
//! [`Zeros`] says where the zeros of the result may come from: from the quantizer
//! (the level-0 threshold, int rounding) or only from the input. The latter keeps every
//! nonzero input element nonzero: pruned weights stay the only zero weights, and a
//! ReLU activation's zero pattern survives quantization exactly.
//!
//! Per-channel scales (`per_channel`, weights only) run the same algorithm on each
//! output channel (the first axis) with its own thresholds and scales.

use crate::encoding::{EncSpec, Encoding, ScaleMode, TermEncoding};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// TWN's threshold factor: t = `TWN_DELTA` · mean|r|.
pub const TWN_DELTA: f64 = 0.7;

/// Where the zeros of a quantized tensor may come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Zeros {
    /// From the quantizer too: the ternary level-0 threshold, int rounding to 0.
    #[default]
    Quantizer,
    /// Only from the input: every nonzero input element keeps a nonzero digit at level 0
    /// (ternary: threshold 0 at level 0) or a nonzero integer (int: |q| ≥ 1).
    Input,
}

/// How well a quantized tensor matches its float original, and how sparse it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct QuantStats {
    /// Elements.
    pub elements: u64,
    /// ‖x − x̂‖ / ‖x‖ (0 when both are 0).
    pub rel_l2_error: f64,
    /// 10·log10(‖x‖² / ‖x − x̂‖²) in dB (+∞ when exact).
    pub sqnr_db: f64,
    /// Fraction of elements that are not zero.
    pub word_density: f64,
    /// Fraction of digits (levels, or int magnitude bits) that are nonzero.
    pub digit_density: f64,
    /// Σ x².
    pub signal_energy: f64,
    /// Σ (x − x̂)².
    pub error_energy: f64,
    /// Elements that are not zero.
    pub nonzero_words: u64,
    /// Nonzero digits.
    pub nonzero_digits: u64,
    /// Digit slots: elements × planes.
    pub digit_slots: u64,
    /// Negative inputs clamped to 0 by an unsigned int quantizer.
    pub clamped: u64,
}

impl QuantStats {
    /// Measure `tensor` against the float values it stands for.
    pub fn measure(original: &[f32], tensor: &Tensor) -> QuantStats {
        let deq = dequantize(tensor);
        let (signal, error) = original
            .iter()
            .zip(&deq)
            .fold((0.0, 0.0), |(s, e), (&x, &y)| {
                let x = x as f64;
                (s + x * x, e + (x - y) * (x - y))
            });
        let terms = tensor.all_terms(TermEncoding::Plain, None);
        let mut st = QuantStats {
            elements: tensor.len() as u64,
            signal_energy: signal,
            error_energy: error,
            nonzero_words: terms.iter().filter(|&&t| t > 0).count() as u64,
            nonzero_digits: terms.iter().map(|&t| t as u64).sum(),
            digit_slots: (tensor.len() * planes(tensor)) as u64,
            ..QuantStats::default()
        };
        st.finish();
        st
    }

    /// Pool several measurements (layers, samples): energies and counts add up, ratios
    /// are recomputed from the sums.
    pub fn merge<'a>(all: impl IntoIterator<Item = &'a QuantStats>) -> QuantStats {
        let mut m = QuantStats::default();
        for s in all {
            m.elements += s.elements;
            m.signal_energy += s.signal_energy;
            m.error_energy += s.error_energy;
            m.nonzero_words += s.nonzero_words;
            m.nonzero_digits += s.nonzero_digits;
            m.digit_slots += s.digit_slots;
            m.clamped += s.clamped;
        }
        m.finish();
        m
    }

    fn finish(&mut self) {
        let (s, e) = (self.signal_energy, self.error_energy);
        self.rel_l2_error = if e == 0.0 {
            0.0
        } else if s == 0.0 {
            f64::INFINITY
        } else {
            (e / s).sqrt()
        };
        self.sqnr_db = if e == 0.0 {
            f64::INFINITY
        } else if s == 0.0 {
            f64::NEG_INFINITY
        } else {
            10.0 * (s / e).log10()
        };
        self.word_density = ratio(self.nonzero_words, self.elements);
        self.digit_density = ratio(self.nonzero_digits, self.digit_slots);
    }
}

/// Digit planes counted by the statistics: levels, or an int tensor's precision (the
/// planes a precision-serial design streams; its bits by default).
fn planes(t: &Tensor) -> usize {
    match *t.encoding() {
        Encoding::Int { precision, .. } => precision as usize,
        _ => t.levels(),
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The real values a tensor stands for, in `f64`: Σ_p s_p·d_p (ternary, binary; the
/// channel is the first axis for per-channel scales), or q·scale (int).
pub fn dequantize(t: &Tensor) -> Vec<f64> {
    let n = t.len();
    match *t.encoding() {
        Encoding::Int { scale, .. } => {
            let s = scale.unwrap_or(1.0) as f64;
            (0..n)
                .map(|i| t.int_value(i).unwrap_or(0) as f64 * s)
                .collect()
        }
        Encoding::Ternary { levels, scale } | Encoding::Binary { levels, scale } => {
            let l = levels as usize;
            let per = per_channel_len(t.shape());
            (0..n)
                .map(|i| {
                    let base = if scale == ScaleMode::Channel {
                        (i / per) * l
                    } else {
                        0
                    };
                    (0..l)
                        .map(|p| t.scales()[base + p] as f64 * t.digit(i, p) as f64)
                        .sum()
                })
                .collect()
        }
    }
}

/// Elements per output channel (product of all axes but the first).
fn per_channel_len(shape: &[usize]) -> usize {
    shape.iter().skip(1).product::<usize>().max(1)
}

fn check_input(values: &[f32], shape: &[usize]) -> Result<()> {
    let n = shape.iter().product::<usize>();
    if values.len() != n {
        return Err(Error::invalid(format!(
            "shape {shape:?} has {n} elements but {} values were given",
            values.len()
        )));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!(
            "element {i} is {} (not a finite number); cannot quantize",
            values[i]
        )));
    }
    Ok(())
}

/// Channel groups: one per output channel, or the whole tensor.
fn groups(shape: &[usize], per_channel: bool) -> Result<(ScaleMode, usize, usize)> {
    let n = shape.iter().product::<usize>();
    if per_channel {
        if shape.len() < 2 {
            return Err(Error::invalid(format!(
                "per-channel scales need an output-channel axis; shape {shape:?} has none"
            )));
        }
        Ok((ScaleMode::Channel, shape[0], per_channel_len(shape)))
    } else {
        Ok((ScaleMode::Tensor, 1, n))
    }
}

/// Residual ternarization (MLTQ) with zeros from the quantizer: see the module docs.
pub fn ternary(
    values: &[f32],
    shape: &[usize],
    levels: u8,
    per_channel: bool,
) -> Result<(Tensor, QuantStats)> {
    ternary_with(values, shape, levels, per_channel, Zeros::Quantizer)
}

/// Residual ternarization (MLTQ). With [`Zeros::Input`], level 0 uses threshold 0, so
/// every nonzero element gets a level-0 digit and only the input's zeros are zero;
/// later levels use the TWN threshold on the residual.
pub fn ternary_with(
    values: &[f32],
    shape: &[usize],
    levels: u8,
    per_channel: bool,
    zeros: Zeros,
) -> Result<(Tensor, QuantStats)> {
    residual(values, shape, levels, per_channel, false, |p, r, digits| {
        let (sum, cnt) = r
            .iter()
            .filter(|x| **x != 0.0)
            .fold((0.0, 0usize), |(s, c), x| (s + x.abs(), c + 1));
        if cnt == 0 {
            return 0.0; // residual exhausted: no digits, scale 0
        }
        let t = if p == 0 && zeros == Zeros::Input {
            0.0
        } else {
            TWN_DELTA * sum / cnt as f64
        };
        let (mut chosen, mut k) = (0.0, 0usize);
        for (j, x) in r.iter().enumerate() {
            if x.abs() > t {
                digits[j] = if *x > 0.0 { 1 } else { -1 };
                chosen += x.abs();
                k += 1;
            }
        }
        // k ≥ 1: max|r| ≥ mean|r| > 0.7·mean|r|.
        (chosen / k as f64) as f32
    })
}

/// Residual binarization (MLB): see the module docs.
pub fn binary(
    values: &[f32],
    shape: &[usize],
    levels: u8,
    per_channel: bool,
) -> Result<(Tensor, QuantStats)> {
    residual(values, shape, levels, per_channel, true, |_, r, digits| {
        let s = if r.is_empty() {
            0.0
        } else {
            (r.iter().map(|x| x.abs()).sum::<f64>() / r.len() as f64) as f32
        };
        for (d, x) in digits.iter_mut().zip(r) {
            *d = if *x >= 0.0 { 1 } else { -1 };
        }
        s
    })
}

/// The frame the residual quantizers share: per channel group, `levels` passes over the
/// residual `r` (the group's values at first). Pass `p` calls `level(p, r, digits)`, which
/// sets the level-`p` digit of each element (`digits` comes zeroed, one per element of the
/// group) and returns the level's scale `s`; then `r -= s·digit`.
fn residual(
    values: &[f32],
    shape: &[usize],
    levels: u8,
    per_channel: bool,
    binary: bool,
    mut level: impl FnMut(usize, &[f64], &mut [i8]) -> f32,
) -> Result<(Tensor, QuantStats)> {
    check_input(values, shape)?;
    check_levels(levels)?;
    let (mode, ngroups, per) = groups(shape, per_channel)?;
    let l = levels as usize;
    let mut digits = vec![0i8; values.len() * l];
    let mut scales = vec![0f32; ngroups * l];
    let mut d = vec![0i8; per];
    for g in 0..ngroups {
        let range = g * per..(g + 1) * per;
        let mut r: Vec<f64> = values[range.clone()].iter().map(|&v| v as f64).collect();
        for p in 0..l {
            d.fill(0);
            let s = level(p, &r, &mut d);
            scales[g * l + p] = s;
            for (j, (x, &dj)) in r.iter_mut().zip(&d).enumerate() {
                digits[(range.start + j) * l + p] = dj;
                *x -= s as f64 * dj as f64;
            }
        }
    }
    let t = Tensor::from_digits(shape, binary, levels, mode, &digits, scales)?;
    let st = QuantStats::measure(values, &t);
    Ok((t, st))
}

/// Linear integer quantization with zeros from rounding: see the module docs.
pub fn int(
    values: &[f32],
    shape: &[usize],
    bits: u8,
    signed: bool,
) -> Result<(Tensor, QuantStats)> {
    int_with(values, shape, bits, signed, Zeros::Quantizer)
}

/// Linear integer quantization, one scale per tensor: s = max|x| / qmax (1.0 for an
/// all-zero tensor), q = round(x / s) clamped to the range. With [`Zeros::Input`] a
/// nonzero x that would round to 0 becomes ±1 instead (unsigned: only x > 0).
pub fn int_with(
    values: &[f32],
    shape: &[usize],
    bits: u8,
    signed: bool,
    zeros: Zeros,
) -> Result<(Tensor, QuantStats)> {
    check_input(values, shape)?;
    if !(1..=32).contains(&bits) {
        return Err(Error::invalid(format!(
            "int bits must be in 1..=32, got {bits}"
        )));
    }
    if signed && bits < 2 {
        return Err(Error::invalid(
            "signed int:1 cannot hold any nonzero symmetric value; use int:2 or more",
        ));
    }
    let qmax: f64 = if signed {
        ((1u64 << (bits - 1)) - 1) as f64
    } else {
        ((1u64 << bits) - 1) as f64
    };
    let qmin = if signed { -qmax } else { 0.0 };
    let top = values
        .iter()
        .map(|&v| if signed { v.abs() } else { v.max(0.0) })
        .fold(0.0f32, f32::max) as f64;
    let scale = if top > 0.0 { (top / qmax) as f32 } else { 1.0 };
    let mut clamped = 0u64;
    let q: Vec<i32> = values
        .iter()
        .map(|&v| {
            if !signed && v < 0.0 {
                clamped += 1;
                return 0;
            }
            let mut x = (v as f64 / scale as f64).round().clamp(qmin, qmax);
            if zeros == Zeros::Input && x == 0.0 && v != 0.0 {
                x = if v > 0.0 { 1.0 } else { -1.0 };
            }
            x as i32
        })
        .collect();
    let t = Tensor::int(shape, bits, signed, bits, Some(scale), q)?;
    let mut st = QuantStats::measure(values, &t);
    st.clamped = clamped;
    Ok((t, st))
}

/// [`int_with`] at `precision` bits, stored in a `bits`-wide tensor whose `precision`
/// says so: the values are the `precision`-bit quantization (scale max|x| / qmax of
/// `precision` bits), the container keeps the operand width a parallel design pays for.
pub fn int_at(
    values: &[f32],
    shape: &[usize],
    bits: u8,
    precision: u8,
    signed: bool,
    zeros: Zeros,
) -> Result<(Tensor, QuantStats)> {
    if !(1..=bits).contains(&precision) {
        return Err(Error::invalid(format!(
            "precision {precision} is outside 1..={bits} (the int:{bits} width)"
        )));
    }
    let (t, mut st) = int_with(values, shape, precision, signed, zeros)?;
    if precision == bits {
        return Ok((t, st));
    }
    let Encoding::Int { scale, .. } = *t.encoding() else {
        unreachable!("int_with returns an int tensor")
    };
    let q: Vec<i32> = (0..t.len()).map(|i| t.int_value(i).unwrap_or(0)).collect();
    let t = Tensor::int(shape, bits, signed, precision, scale, q)?;
    let clamped = st.clamped;
    st = QuantStats::measure(values, &t);
    st.clamped = clamped;
    Ok((t, st))
}

/// Magnitude pruning: set the ⌊F·n⌉ (rounded to nearest) smallest-magnitude elements to
/// exactly 0 (ties broken by position, earlier first). Returns the pruned values.
pub fn prune(values: &[f32], fraction: f64) -> Result<Vec<f32>> {
    if !(0.0..=1.0).contains(&fraction) {
        return Err(Error::invalid(format!(
            "prune fraction must be in 0..=1, got {fraction}"
        )));
    }
    let k = prune_count(values.len(), fraction);
    let mut out = values.to_vec();
    if k == 0 {
        return Ok(out);
    }
    // (|x|, position) is a strict total order: the k smallest are one exact set, found
    // in linear time.
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.select_nth_unstable_by(k - 1, |&a, &b| {
        values[a].abs().total_cmp(&values[b].abs()).then(a.cmp(&b))
    });
    for &i in &order[..k] {
        out[i] = 0.0;
    }
    Ok(out)
}

/// How many of `n` elements [`prune`] zeroes for `fraction`.
pub fn prune_count(n: usize, fraction: f64) -> usize {
    ((fraction * n as f64).round() as usize).min(n)
}

fn check_levels(levels: u8) -> Result<()> {
    if !(1..=8).contains(&levels) {
        return Err(Error::invalid(format!(
            "levels must be in 1..=8, got {levels}"
        )));
    }
    Ok(())
}

/// Quantize a layer's weights as asked on the command line: prune (if asked), then
/// quantize; the stats compare against the unpruned float weights, so they include the
/// pruning error.
///
/// With `prune = Some(F)`, zeros come from pruning only ([`Zeros::Input`]): ternary
/// level 0 gives every kept weight a digit and int weights never round to 0, so the
/// weight sparsity is exactly what was asked for. Without pruning, ternary level 0
/// thresholds (TWN) and int rounds to nearest. Binary digits are never zero, so
/// `binary:L` with pruning is refused. Int weights are signed; per-channel scales apply
/// to ternary and binary only (the int encoding has one scale per tensor).
///
/// `precision` (int only; the full width when `None`): see [`int_at`].
pub fn quantize_weights(
    values: &[f32],
    shape: &[usize],
    spec: EncSpec,
    per_channel: bool,
    prune_fraction: Option<f64>,
    precision: Option<u8>,
) -> Result<(Tensor, QuantStats)> {
    let (input, zeros) = prepare_weights(values, shape, spec, prune_fraction)?;
    let (t, _) = match spec {
        EncSpec::Ternary(l) => ternary_with(&input, shape, l, per_channel, zeros)?,
        EncSpec::Binary(l) => binary(&input, shape, l, per_channel)?,
        EncSpec::Int(b) => int_at(&input, shape, b, precision.unwrap_or(b), true, zeros)?,
    };
    let st = QuantStats::measure(values, &t);
    Ok((t, st))
}

/// The weights [`quantize_weights`] quantizes (pruned when asked) and where their zeros
/// may come from.
pub fn prepare_weights(
    values: &[f32],
    shape: &[usize],
    spec: EncSpec,
    prune_fraction: Option<f64>,
) -> Result<(Vec<f32>, Zeros)> {
    match prune_fraction {
        Some(f) => {
            if let EncSpec::Binary(_) = spec {
                return Err(Error::invalid(
                    "binary digits are never zero, so pruned weights cannot stay zero; \
                     use --weights ternary:L or int:B with --prune",
                ));
            }
            check_input(values, shape)?;
            Ok((prune(values, f)?, Zeros::Input))
        }
        None => Ok((values.to_vec(), Zeros::Quantizer)),
    }
}

/// Quantize one sample's activations: `int:B` is unsigned when no value is negative
/// (post-ReLU) and signed otherwise; ternary and binary use one scale per tensor. Zeros
/// come from the input only ([`Zeros::Input`]): the simulator sees the float model's
/// exact zero pattern. `precision` (int only; the full width when `None`): see
/// [`int_at`].
pub fn quantize_acts(
    values: &[f32],
    shape: &[usize],
    spec: EncSpec,
    precision: Option<u8>,
) -> Result<(Tensor, QuantStats)> {
    match spec {
        EncSpec::Ternary(l) => ternary_with(values, shape, l, false, Zeros::Input),
        EncSpec::Binary(l) => binary(values, shape, l, false),
        EncSpec::Int(b) => {
            let signed = values.iter().any(|&v| v < 0.0);
            int_at(
                values,
                shape,
                b,
                precision.unwrap_or(b),
                signed,
                Zeros::Input,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn digits_of(t: &Tensor) -> Vec<Vec<i8>> {
        (0..t.len())
            .map(|i| (0..t.levels()).map(|p| t.digit(i, p)).collect())
            .collect()
    }

    #[test]
    fn ternary_two_levels_by_hand() {
        // x = [2, -1, 0.5, 0]. Level 0: relevant |r| = {2, 1, 0.5}, mean 7/6,
        // t = 0.7·7/6 = 0.8167: digits (+1, −1, 0, 0), s0 = (2+1)/2 = 1.5.
        // r = [0.5, 0.5, 0.5, 0]. Level 1: mean 0.5, t = 0.35: digits (+1, +1, +1, 0),
        // s1 = 0.5. Exact: 1.5+0.5 = 2, −1.5+0.5 = −1, 0.5, 0.
        let (t, st) = ternary(&[2.0, -1.0, 0.5, 0.0], &[4], 2, false).unwrap();
        assert_eq!(t.scales(), &[1.5, 0.5]);
        assert_eq!(
            digits_of(&t),
            vec![vec![1, 1], vec![-1, 1], vec![0, 1], vec![0, 0]]
        );
        assert_eq!(st.error_energy, 0.0);
        assert_eq!(st.rel_l2_error, 0.0);
        assert!(st.sqnr_db.is_infinite());
        assert_eq!(st.word_density, 0.75);
        assert_eq!(st.digit_density, 5.0 / 8.0); // 5 nonzero digits of 8
    }

    #[test]
    fn ternary_one_level_twn_threshold() {
        // x = [3, -3, 1, 0.2]: mean 7.2/4 = 1.8, t = 1.26: digits (+1, −1, 0, 0),
        // s = 3. Error energy = 1 + 0.04; signal = 9+9+1+0.04 = 19.04.
        let (t, st) = ternary(&[3.0, -3.0, 1.0, 0.2], &[4], 1, false).unwrap();
        assert_eq!(t.scales(), &[3.0]);
        assert_eq!(digits_of(&t), vec![vec![1], vec![-1], vec![0], vec![0]]);
        assert!((st.error_energy - 1.04).abs() < 1e-6);
        assert!((st.rel_l2_error - (1.04f64 / 19.04).sqrt()).abs() < 1e-6);
        assert_eq!(st.word_density, 0.5);
    }

    #[test]
    fn ternary_input_zeros_give_every_nonzero_a_first_digit() {
        // Level 0 with threshold 0: digits (+1, −1, +1, 0), s0 = (3+3+1)/3 = 7/3.
        let (t, _) = ternary_with(&[3.0, -3.0, 1.0, 0.0], &[4], 1, false, Zeros::Input).unwrap();
        assert_eq!(digits_of(&t), vec![vec![1], vec![-1], vec![1], vec![0]]);
        assert!((t.scales()[0] - 7.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn ternary_per_channel_scales_are_filter_major() {
        // Channel 0: [4, -4] → s = 4 (exact). Channel 1: [1, 0.1]: mean 0.55,
        // t = 0.385: digits (+1, 0), s = 1.
        let (t, st) = ternary(&[4.0, -4.0, 1.0, 0.1], &[2, 2], 1, true).unwrap();
        assert_eq!(
            t.encoding(),
            &Encoding::Ternary {
                levels: 1,
                scale: ScaleMode::Channel
            }
        );
        assert_eq!(t.scales(), &[4.0, 1.0]);
        assert_eq!(digits_of(&t), vec![vec![1], vec![-1], vec![1], vec![0]]);
        assert!((st.error_energy - 0.01).abs() < 1e-6);
    }

    #[test]
    fn binary_two_levels_by_hand() {
        // x = [3, -1, 1, -3]: s0 = mean|x| = 2, digits (+, −, +, −),
        // r = [1, 1, −1, −1]: s1 = 1, digits (+, +, −, −). Exact.
        let (t, st) = binary(&[3.0, -1.0, 1.0, -3.0], &[4], 2, false).unwrap();
        assert_eq!(t.scales(), &[2.0, 1.0]);
        assert_eq!(
            digits_of(&t),
            vec![vec![1, 1], vec![-1, 1], vec![1, -1], vec![-1, -1]]
        );
        assert_eq!(st.error_energy, 0.0);
        assert_eq!(st.word_density, 1.0);
        assert_eq!(st.digit_density, 1.0);
    }

    #[test]
    fn binary_zero_gets_a_plus_digit() {
        let (t, _) = binary(&[0.0, 2.0], &[2], 1, false).unwrap();
        assert_eq!(digits_of(&t), vec![vec![1], vec![1]]);
        assert_eq!(t.scales(), &[1.0]);
    }

    #[test]
    fn int_signed_symmetric_by_hand() {
        // int:4 signed: qmax = 7, s = 3.5/7 = 0.5. q = round(x/0.5) = [7, −2, 1, 0]
        // (0.3/0.5 = 0.6 → 1; 0.2/0.5 = 0.4 → 0).
        let (t, st) = int(&[3.5, -1.0, 0.3, 0.2], &[4], 4, true).unwrap();
        assert_eq!(
            t.encoding(),
            &Encoding::Int {
                bits: 4,
                signed: true,
                precision: 4,
                scale: Some(0.5)
            }
        );
        let q: Vec<i32> = (0..4).map(|i| t.int_value(i).unwrap()).collect();
        assert_eq!(q, vec![7, -2, 1, 0]);
        assert!((st.error_energy - (0.04 + 0.04)).abs() < 1e-6);
    }

    #[test]
    fn int_unsigned_clamps_negatives_and_keeps_zeros_on_request() {
        // int:2 unsigned: qmax = 3, s = 3/3 = 1. [3, 0.2, −1, 0] → [3, 0, 0 (clamped), 0];
        // with Zeros::Input, 0.2 → 1.
        let v = [3.0, 0.2, -1.0, 0.0];
        let (t, st) = int(&v, &[4], 2, false).unwrap();
        assert_eq!(
            (0..4).map(|i| t.int_value(i).unwrap()).collect::<Vec<_>>(),
            vec![3, 0, 0, 0]
        );
        assert_eq!(st.clamped, 1);
        let (t, _) = int_with(&v, &[4], 2, false, Zeros::Input).unwrap();
        assert_eq!(
            (0..4).map(|i| t.int_value(i).unwrap()).collect::<Vec<_>>(),
            vec![3, 1, 0, 0]
        );
    }

    #[test]
    fn int_at_a_lower_precision_keeps_the_width_and_quantizes_coarser() {
        // [1.0, 0.2] signed at precision 3 in int:8: qmax = 3, s = 1/3:
        // q = [3, round(0.6) = 1]; stored bits=8 precision=3.
        let (t, st) = int_at(&[1.0, 0.2], &[2], 8, 3, true, Zeros::Quantizer).unwrap();
        assert!(matches!(
            t.encoding(),
            Encoding::Int {
                bits: 8,
                signed: true,
                precision: 3,
                ..
            }
        ));
        assert_eq!(t.int_value(0), Some(3));
        assert_eq!(t.int_value(1), Some(1));
        // Error: 0.2 − 1/3 = −2/15; energy 4/225. Digits: |3| = 0b11, |1| = 0b1: three
        // nonzero digits of 2 × 3 planes.
        assert!((st.error_energy - 4.0 / 225.0).abs() < 1e-7);
        assert_eq!(st.digit_density, 0.5);
        assert!(int_at(&[1.0], &[1], 8, 9, true, Zeros::Quantizer).is_err());
    }

    #[test]
    fn int_all_zero_tensor_has_unit_scale() {
        let (t, st) = int(&[0.0, 0.0], &[2], 8, true).unwrap();
        assert_eq!(
            t.encoding(),
            &Encoding::Int {
                bits: 8,
                signed: true,
                precision: 8,
                scale: Some(1.0)
            }
        );
        assert_eq!(st.rel_l2_error, 0.0);
        assert_eq!(st.word_density, 0.0);
    }

    #[test]
    fn signed_one_bit_and_bad_input_are_refused() {
        assert!(int(&[1.0], &[1], 1, true)
            .unwrap_err()
            .to_string()
            .contains("int:2"));
        assert!(ternary(&[f32::NAN], &[1], 1, false)
            .unwrap_err()
            .to_string()
            .contains("element 0"));
        assert!(ternary(&[1.0, 2.0], &[3], 1, false).is_err());
        assert!(prune(&[1.0], 1.5).is_err());
    }

    #[test]
    fn prune_zeroes_smallest_magnitudes_ties_by_position() {
        let p = prune(&[0.5, -0.1, 0.1, 2.0, -3.0], 0.4).unwrap();
        assert_eq!(p, vec![0.5, 0.0, 0.0, 2.0, -3.0]);
        let p = prune(&[1.0, -1.0, 1.0, 1.0], 0.5).unwrap();
        assert_eq!(p, vec![0.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn pruned_binary_weights_are_refused() {
        let e = quantize_weights(
            &[1.0, 2.0],
            &[2, 1],
            EncSpec::Binary(2),
            false,
            Some(0.5),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("never zero"), "{e}");
    }

    #[test]
    fn acts_with_negatives_are_signed_and_relu_acts_unsigned() {
        let (t, _) = quantize_acts(&[1.0, 0.0, 0.001], &[3], EncSpec::Int(8), None).unwrap();
        assert!(matches!(t.encoding(), Encoding::Int { signed: false, .. }));
        assert_eq!(
            t.int_value(2),
            Some(1),
            "tiny nonzero activations stay nonzero"
        );
        let (t, _) = quantize_acts(&[1.0, -0.5], &[2], EncSpec::Int(8), None).unwrap();
        assert!(matches!(t.encoding(), Encoding::Int { signed: true, .. }));
    }

    fn weights() -> impl Strategy<Value = Vec<f32>> {
        prop::collection::vec(-4.0f32..4.0, 1..80)
    }

    fn energy(st: &QuantStats) -> f64 {
        st.error_energy
    }

    proptest! {
        #[test]
        fn ternary_error_never_grows_with_levels(v in weights(), pc in any::<bool>(), input_zeros in any::<bool>()) {
            let shape = if pc && v.len() % 2 == 0 { vec![2, v.len() / 2] } else { vec![v.len()] };
            let pc = pc && shape.len() == 2;
            let z = if input_zeros { Zeros::Input } else { Zeros::Quantizer };
            let mut last = f64::INFINITY;
            for l in 1..=6u8 {
                let (_, st) = ternary_with(&v, &shape, l, pc, z).unwrap();
                prop_assert!(energy(&st) <= last * (1.0 + 1e-9) + 1e-12, "L={l}: {} > {last}", energy(&st));
                last = energy(&st);
            }
        }

        #[test]
        fn binary_error_never_grows_with_levels(v in weights()) {
            let mut last = f64::INFINITY;
            for l in 1..=6u8 {
                let (_, st) = binary(&v, &[v.len()], l, false).unwrap();
                prop_assert!(energy(&st) <= last * (1.0 + 1e-9) + 1e-12);
                last = energy(&st);
            }
        }

        #[test]
        fn pruned_weights_are_zero_in_every_level_and_count_is_exact(
            v in prop::collection::vec(prop_oneof![-4.0f32..-0.01, 0.01f32..4.0], 1..80),
            f in 0.0f64..=1.0,
            l in 1u8..=4,
        ) {
            let shape = [v.len()];
            let k = prune_count(v.len(), f);
            let pruned = prune(&v, f).unwrap();
            prop_assert_eq!(pruned.iter().filter(|x| **x == 0.0).count(), k);
            let (t, st) = quantize_weights(&v, &shape, EncSpec::Ternary(l), false, Some(f), None).unwrap();
            for (i, x) in pruned.iter().enumerate() {
                let ds: Vec<i8> = (0..l as usize).map(|p| t.digit(i, p)).collect();
                if *x == 0.0 {
                    prop_assert!(ds.iter().all(|d| *d == 0), "pruned element {} has digits {:?}", i, ds);
                } else {
                    prop_assert!(ds[0] != 0, "kept element {} lost its first digit", i);
                }
            }
            prop_assert_eq!(st.nonzero_words as usize, v.len() - k);
        }
    }
}
