//! Tensors as the accelerator sees them: digit planes (ternary, binary) or plain
//! integers, with their scales.
//!
//! A plane is ⌈n/64⌉ `u64` words, element i at word i/64, bit i%64. Ternary tensors keep
//! a nonzero and a negative plane per level; binary tensors a negative plane per level.
//! Constructors validate every invariant (bits past n are 0, a negative digit is also
//! nonzero, integers fit their width), so the simulator can trust any `Tensor`.

use crate::encoding::{Encoding, ScaleMode, TermEncoding};
use crate::error::{Error, Result};

/// Words in one plane of `n` elements.
pub fn plane_words(n: usize) -> usize {
    n.div_ceil(64)
}

/// Element storage.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Digit planes: plane p is `words` words starting at `p * words`.
    /// Ternary: `nonzero` and `negative` have L planes each. Binary: `nonzero` is empty.
    Planes {
        nonzero: Vec<u64>,
        negative: Vec<u64>,
    },
    /// Plain integers (`enc=int`).
    Int(Vec<i32>),
}

/// A validated tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    len: usize,
    enc: Encoding,
    values: Values,
    scales: Vec<f32>,
}

impl Tensor {
    /// A ternary tensor from its planes. `nonzero`/`negative`: `levels` planes each.
    pub fn ternary(
        shape: &[usize],
        levels: u8,
        scale: ScaleMode,
        nonzero: Vec<u64>,
        negative: Vec<u64>,
        scales: Vec<f32>,
    ) -> Result<Tensor> {
        check_levels(levels)?;
        let len = shape.iter().product::<usize>();
        let words = plane_words(len);
        check_plane_sets(len, levels, &nonzero, &negative)?;
        check_tail(&nonzero, len, words)?;
        check_tail(&negative, len, words)?;
        if let Some(w) = nonzero
            .iter()
            .zip(&negative)
            .position(|(nz, ng)| ng & !nz != 0)
        {
            return Err(Error::invalid(format!(
                "level {} word {}: a negative bit is set where the nonzero bit is 0",
                w / words.max(1),
                w % words.max(1)
            )));
        }
        Tensor::ternary_checked(shape, levels, scale, nonzero, negative, scales)
    }

    /// [`Tensor::ternary`] for planes whose bits the caller has already checked (the
    /// `.mltq` reader checks them as it reads, naming the byte): no bit past the last
    /// element, no negative bit without its nonzero bit. Only the sizes are checked.
    pub(crate) fn ternary_checked(
        shape: &[usize],
        levels: u8,
        scale: ScaleMode,
        nonzero: Vec<u64>,
        negative: Vec<u64>,
        scales: Vec<f32>,
    ) -> Result<Tensor> {
        check_levels(levels)?;
        let len = shape.iter().product::<usize>();
        check_plane_sets(len, levels, &nonzero, &negative)?;
        debug_assert!(nonzero.iter().zip(&negative).all(|(z, g)| g & !z == 0));
        let enc = Encoding::Ternary { levels, scale };
        check_scales(shape, &enc, scales.len())?;
        Ok(Tensor {
            shape: shape.to_vec(),
            len,
            enc,
            values: Values::Planes { nonzero, negative },
            scales,
        })
    }

    /// A binary tensor from its negative planes (`levels` planes).
    pub fn binary(
        shape: &[usize],
        levels: u8,
        scale: ScaleMode,
        negative: Vec<u64>,
        scales: Vec<f32>,
    ) -> Result<Tensor> {
        check_levels(levels)?;
        let len = shape.iter().product::<usize>();
        let words = plane_words(len);
        if negative.len() != levels as usize * words {
            return Err(Error::invalid(format!(
                "binary tensor of {len} elements and {levels} levels needs {} words, got {}",
                levels as usize * words,
                negative.len()
            )));
        }
        check_tail(&negative, len, words)?;
        let enc = Encoding::Binary { levels, scale };
        check_scales(shape, &enc, scales.len())?;
        Ok(Tensor {
            shape: shape.to_vec(),
            len,
            enc,
            values: Values::Planes {
                nonzero: Vec::new(),
                negative,
            },
            scales,
        })
    }

    /// An integer tensor. Every value must fit in `bits` (two's complement when signed).
    pub fn int(
        shape: &[usize],
        bits: u8,
        signed: bool,
        precision: u8,
        scale: Option<f32>,
        values: Vec<i32>,
    ) -> Result<Tensor> {
        if !(1..=32).contains(&bits) {
            return Err(Error::invalid(format!(
                "int bits must be in 1..=32, got {bits}"
            )));
        }
        if !(1..=bits).contains(&precision) {
            return Err(Error::invalid(format!(
                "int precision must be in 1..={bits}, got {precision}"
            )));
        }
        let len = shape.iter().product::<usize>();
        if values.len() != len {
            return Err(Error::invalid(format!(
                "int tensor of shape {shape:?} needs {len} values, got {}",
                values.len()
            )));
        }
        let (lo, hi) = int_range(bits, signed);
        if let Some(i) = values
            .iter()
            .position(|&v| (v as i64) < lo || (v as i64) > hi)
        {
            return Err(Error::invalid(format!(
                "element {i} = {} does not fit in {bits} {} bits ({lo}..={hi})",
                values[i],
                if signed { "signed" } else { "unsigned" }
            )));
        }
        Ok(Tensor {
            shape: shape.to_vec(),
            len,
            enc: Encoding::Int {
                bits,
                signed,
                precision,
                scale,
            },
            values: Values::Int(values),
            scales: Vec::new(),
        })
    }

    /// A ternary or binary tensor from per-element digits, element-major
    /// (`digits[i * levels + p]`, each in {−1, 0, +1}; binary: never 0).
    pub fn from_digits(
        shape: &[usize],
        binary: bool,
        levels: u8,
        scale: ScaleMode,
        digits: &[i8],
        scales: Vec<f32>,
    ) -> Result<Tensor> {
        check_levels(levels)?;
        let l = levels as usize;
        let len = shape.iter().product::<usize>();
        if digits.len() != len * l {
            return Err(Error::invalid(format!(
                "expected {} digits, got {}",
                len * l,
                digits.len()
            )));
        }
        let words = plane_words(len);
        let mut nonzero = vec![0u64; l * words];
        let mut negative = vec![0u64; l * words];
        for (i, d) in digits.chunks_exact(l).enumerate() {
            for (p, &z) in d.iter().enumerate() {
                let (w, b) = (p * words + i / 64, i % 64);
                match z {
                    0 if binary => {
                        return Err(Error::invalid(format!(
                            "binary digit of element {i} level {p} is 0"
                        )))
                    }
                    0 => {}
                    1 => nonzero[w] |= 1 << b,
                    -1 => {
                        nonzero[w] |= 1 << b;
                        negative[w] |= 1 << b;
                    }
                    _ => {
                        return Err(Error::invalid(format!(
                            "digit {z} of element {i} level {p} is not in {{-1,0,+1}}"
                        )))
                    }
                }
            }
        }
        if binary {
            Tensor::binary(shape, levels, scale, negative, scales)
        } else {
            Tensor::ternary(shape, levels, scale, nonzero, negative, scales)
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Element count.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The encoding.
    pub fn encoding(&self) -> &Encoding {
        &self.enc
    }

    /// The storage.
    pub fn values(&self) -> &Values {
        &self.values
    }

    /// The scales (empty for int).
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// Levels (ternary, binary) or bits (int): the number of digit planes stored.
    pub fn levels(&self) -> usize {
        match self.enc {
            Encoding::Ternary { levels, .. } | Encoding::Binary { levels, .. } => levels as usize,
            Encoding::Int { bits, .. } => bits as usize,
        }
    }

    /// Digit of element `i` at plane `p`: ternary/binary levels, or int magnitude bits
    /// with the element's sign (sign-magnitude).
    pub fn digit(&self, i: usize, p: usize) -> i8 {
        let words = plane_words(self.len);
        let (w, b) = (p * words + i / 64, i % 64);
        match (&self.values, self.enc) {
            (Values::Planes { nonzero, negative }, Encoding::Ternary { .. }) => {
                if nonzero[w] >> b & 1 == 0 {
                    0
                } else if negative[w] >> b & 1 == 1 {
                    -1
                } else {
                    1
                }
            }
            (Values::Planes { negative, .. }, _) => {
                if negative[w] >> b & 1 == 1 {
                    -1
                } else {
                    1
                }
            }
            (Values::Int(v), _) => {
                let x = v[i];
                if (x.unsigned_abs() >> p) & 1 == 0 {
                    0
                } else {
                    x.signum() as i8
                }
            }
        }
    }

    /// The integer value (int tensors) of element `i`.
    pub fn int_value(&self, i: usize) -> Option<i32> {
        match &self.values {
            Values::Int(v) => Some(v[i]),
            _ => None,
        }
    }

    /// `terms(x)` for every element (cycle-model.md): ternary, nonzero digits;
    /// binary, L (or `binary_terms` when a planes override applies); int, by `te`.
    /// `zero(x)` is `terms == 0` for every encoding.
    pub fn all_terms(&self, te: TermEncoding, binary_terms: Option<u32>) -> Vec<u8> {
        let n = self.len;
        match (&self.values, self.enc) {
            (Values::Planes { nonzero, .. }, Encoding::Ternary { levels, .. }) => {
                let words = plane_words(n);
                let mut t = vec![0u8; words * 64];
                for p in 0..levels as usize {
                    add_plane(&mut t, &nonzero[p * words..(p + 1) * words]);
                }
                t.truncate(n);
                t
            }
            (Values::Planes { .. }, Encoding::Binary { levels, .. }) => {
                vec![binary_terms.unwrap_or(levels as u32).min(255) as u8; n]
            }
            (Values::Int(v), _) => v.iter().map(|x| te.terms(x.unsigned_abs()) as u8).collect(),
            _ => unreachable!("planes always pair with ternary/binary encodings"),
        }
    }

    /// Term positions of every element's magnitude (int tensors only).
    pub fn term_masks(&self, te: TermEncoding) -> Option<Vec<u64>> {
        match &self.values {
            Values::Int(v) => Some(v.iter().map(|x| te.term_mask(x.unsigned_abs())).collect()),
            _ => None,
        }
    }

    /// Fraction of elements that are not zero (word density).
    pub fn word_density(&self) -> f64 {
        if self.len == 0 {
            return 0.0;
        }
        let t = self.all_terms(TermEncoding::Plain, None);
        t.iter().filter(|&&x| x > 0).count() as f64 / self.len as f64
    }

    /// Fraction of digits that are nonzero (over levels, or int magnitude bits).
    pub fn digit_density(&self) -> f64 {
        if self.len == 0 {
            return 0.0;
        }
        let t = self.all_terms(TermEncoding::Plain, None);
        let total: u64 = t.iter().map(|&x| x as u64).sum();
        total as f64 / (self.len as f64 * self.levels() as f64)
    }

    /// The real value of element `i` (dequantized). `channel` is the output channel for
    /// per-channel scales (ignored otherwise).
    pub fn dequant(&self, i: usize, channel: usize) -> f32 {
        match self.enc {
            Encoding::Int { scale, .. } => {
                self.int_value(i).unwrap_or(0) as f32 * scale.unwrap_or(1.0)
            }
            Encoding::Ternary { levels, scale } | Encoding::Binary { levels, scale } => {
                let l = levels as usize;
                let base = if scale == ScaleMode::Channel {
                    channel * l
                } else {
                    0
                };
                (0..l)
                    .map(|p| self.scales[base + p] * self.digit(i, p) as f32)
                    .sum()
            }
        }
    }
}

/// `t[i] += 1` for every bit i set in `plane` (64 bytes of `t` per word; at most 8
/// levels are added, so no byte overflows). With AVX-512BW, one masked add per word;
/// otherwise [`add_plane_spread`].
fn add_plane(t: &mut [u8], plane: &[u64]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512bw") {
        // SAFETY: the CPU has AVX-512BW (checked just above).
        return unsafe { add_plane_avx512(t, plane) };
    }
    add_plane_spread(t, plane)
}

/// [`add_plane`] eight elements at a time: a byte of the plane spread to one 0/1 byte
/// per element, added as a u64.
fn add_plane_spread(t: &mut [u8], plane: &[u64]) {
    for (dst, &word) in t.chunks_exact_mut(64).zip(plane) {
        for (j, d) in dst.chunks_exact_mut(8).enumerate() {
            let d: &mut [u8; 8] = d.try_into().expect("8 bytes");
            let add = SPREAD[(word >> (8 * j)) as u8 as usize];
            *d = u64::from_le_bytes(*d).wrapping_add(add).to_le_bytes();
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
fn add_plane_avx512(t: &mut [u8], plane: &[u64]) {
    use std::arch::x86_64::{__m512i, _mm512_loadu_si512, _mm512_mask_add_epi8};
    use std::arch::x86_64::{_mm512_set1_epi8, _mm512_storeu_si512};
    let one = _mm512_set1_epi8(1);
    for (dst, &word) in t.chunks_exact_mut(64).zip(plane) {
        let at = dst.as_mut_ptr().cast::<__m512i>();
        // SAFETY: `dst` is 64 writable bytes; both accesses are unaligned ones.
        unsafe {
            let cur = _mm512_loadu_si512(at.cast_const());
            _mm512_storeu_si512(at, _mm512_mask_add_epi8(cur, word, cur, one));
        }
    }
}

/// Byte b of `SPREAD[x]` is bit b of x.
static SPREAD: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut x = 0;
    while x < 256 {
        let mut b = 0;
        while b < 8 {
            t[x] |= ((x as u64 >> b) & 1) << (8 * b);
            b += 1;
        }
        x += 1;
    }
    t
};

/// The inclusive value range of a `bits`-wide integer.
pub fn int_range(bits: u8, signed: bool) -> (i64, i64) {
    if signed {
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    } else {
        (0, (1i64 << bits) - 1)
    }
}

/// A ternary tensor's two plane sets hold `levels` planes of its elements each.
fn check_plane_sets(len: usize, levels: u8, nonzero: &[u64], negative: &[u64]) -> Result<()> {
    let want = levels as usize * plane_words(len);
    if nonzero.len() != want || negative.len() != want {
        return Err(Error::invalid(format!(
            "ternary tensor of {len} elements and {levels} levels needs {want} words per plane set, got {} and {}",
            nonzero.len(),
            negative.len()
        )));
    }
    Ok(())
}

fn check_levels(levels: u8) -> Result<()> {
    if !(1..=8).contains(&levels) {
        return Err(Error::invalid(format!(
            "levels must be in 1..=8, got {levels}"
        )));
    }
    Ok(())
}

fn check_tail(planes: &[u64], len: usize, words: usize) -> Result<()> {
    if len.is_multiple_of(64) || words == 0 {
        return Ok(());
    }
    let keep = (1u64 << (len % 64)) - 1;
    for (p, plane) in planes.chunks_exact(words).enumerate() {
        if plane[words - 1] & !keep != 0 {
            return Err(Error::invalid(format!(
                "plane {p} has bits set past element {len}"
            )));
        }
    }
    Ok(())
}

/// Scales expected for an encoding and shape: L (tensor) or F·L (channel; F = shape[0]).
pub fn expected_scales(shape: &[usize], enc: &Encoding) -> usize {
    match *enc {
        Encoding::Ternary { levels, scale } | Encoding::Binary { levels, scale } => match scale {
            ScaleMode::Tensor => levels as usize,
            ScaleMode::Channel => shape.first().copied().unwrap_or(1) * levels as usize,
        },
        Encoding::Int { .. } => 0,
    }
}

fn check_scales(shape: &[usize], enc: &Encoding, got: usize) -> Result<()> {
    let want = expected_scales(shape, enc);
    if got != want {
        return Err(Error::invalid(format!("expected {want} scales, got {got}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ternary_digits_round_trip_and_terms() {
        // element 0: (+1, 0); element 1: (−1, −1); element 2: (0, 0)
        let d = [1, 0, -1, -1, 0, 0];
        let t = Tensor::from_digits(&[3], false, 2, ScaleMode::Tensor, &d, vec![1.0, 0.5]).unwrap();
        assert_eq!(t.digit(0, 0), 1);
        assert_eq!(t.digit(1, 1), -1);
        assert_eq!(t.all_terms(TermEncoding::Plain, None), vec![1, 2, 0]);
        assert_eq!(t.dequant(1, 0), -1.5);
        assert!((t.word_density() - 2.0 / 3.0).abs() < 1e-12);
        assert!((t.digit_density() - 0.5).abs() < 1e-12);
    }

    proptest::proptest! {
        #[test]
        fn ternary_terms_count_the_nonzero_digits(
            n in 0usize..300, levels in 1u8..=8, seed in proptest::prelude::any::<u64>(),
        ) {
            let digits: Vec<i8> = (0..n * levels as usize)
                .map(|i| [0i8, 1, -1][(seed.rotate_left(i as u32 % 64) as usize ^ i) % 3])
                .collect();
            let t = Tensor::from_digits(&[n], false, levels, ScaleMode::Tensor, &digits,
                vec![1.0; levels as usize]).unwrap();
            let direct: Vec<u8> = (0..n)
                .map(|i| (0..levels as usize).filter(|&p| t.digit(i, p) != 0).count() as u8)
                .collect();
            proptest::prop_assert_eq!(t.all_terms(TermEncoding::Plain, None), direct);
        }
    }

    proptest::proptest! {
        #[test]
        fn plane_adds_equal_the_portable_spread(
            planes in proptest::collection::vec(
                proptest::collection::vec(proptest::prelude::any::<u64>(), 5), 1..=8),
        ) {
            let (mut fast, mut spread) = (vec![0u8; 5 * 64], vec![0u8; 5 * 64]);
            for p in &planes {
                add_plane(&mut fast, p);
                add_plane_spread(&mut spread, p);
            }
            let direct: Vec<u8> = (0..5 * 64)
                .map(|i| planes.iter().filter(|p| p[i / 64] >> (i % 64) & 1 == 1).count() as u8)
                .collect();
            proptest::prop_assert_eq!(&fast, &direct);
            proptest::prop_assert_eq!(&spread, &direct);
        }
    }

    #[test]
    fn negative_without_nonzero_is_refused() {
        let e = Tensor::ternary(
            &[2],
            1,
            ScaleMode::Tensor,
            vec![0b01],
            vec![0b10],
            vec![1.0],
        )
        .unwrap_err();
        assert!(e.to_string().contains("negative bit"), "{e}");
    }

    #[test]
    fn bits_past_the_end_are_refused() {
        let e = Tensor::binary(&[3], 1, ScaleMode::Tensor, vec![0b1000], vec![1.0]).unwrap_err();
        assert!(e.to_string().contains("past element 3"), "{e}");
    }

    #[test]
    fn int_terms_by_encoding_and_range() {
        let t = Tensor::int(&[3], 8, true, 8, None, vec![7, -5, 0]).unwrap();
        assert_eq!(t.all_terms(TermEncoding::Plain, None), vec![3, 2, 0]);
        assert_eq!(t.all_terms(TermEncoding::Naf, None), vec![2, 2, 0]);
        assert_eq!(t.digit(1, 2), -1);
        assert!(Tensor::int(&[1], 8, true, 8, None, vec![128]).is_err());
        assert!(Tensor::int(&[1], 8, false, 8, None, vec![-1]).is_err());
    }
}
