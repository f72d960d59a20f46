//! Footprints: how many bits an operand takes in each storage format.
//!
//! Per element, the **dense width** b of an operand is 2L bits for L-level ternary (a
//! nonzero and a negative bit per level, as in a `.mltq` file), L bits for L-level
//! binary, and `bits` for integers (not the profiled precision). A scheme's `planes_*`
//! override replaces L, or `bits`. The formats:
//!
//! | format | bits of n elements, nnz of them nonzero |
//! |---|---|
//! | `dense` | n · b |
//! | `zvc` | n + nnz · b: a mask bit per element, then the nonzero ones dense |
//! | `planes` | ternary: L · n + Σ terms(x) (a nonzero-digit mask per level, a sign bit per nonzero digit); otherwise as `dense` |
//! | `packed` | ternary: n · p, p the least integer with 2^p ≥ 3^L (the L digits as one base-3 number); otherwise as `dense` |
//!
//! Every format is a sum of per-element footprints, and a zero element costs `b`, 1,
//! L and p bits: so any part of a tensor (a brick, a receptive field) costs
//! `n · zero + nnz · per_nonzero + terms · per_term` for three per-format constants
//! ([`Cost`]), and the cost model needs only counts of elements, nonzero elements and
//! nonzero digits.

use serde::Serialize;

use crate::encoding::Encoding;
use crate::tensor::{plane_words, Tensor, Values};

/// A storage format of an operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Every element at the dense width.
    Dense,
    /// Zero-value compression: a mask bit per element, nonzero elements dense.
    Zvc,
    /// Ternary digit planes: a nonzero mask per level, a sign bit per nonzero digit.
    Planes,
    /// Ternary digits packed base 3.
    Packed,
}

impl Format {
    /// Every format, in report order.
    pub const ALL: [Format; 4] = [Format::Dense, Format::Zvc, Format::Planes, Format::Packed];

    /// The spelling in arch files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Dense => "dense",
            Format::Zvc => "zvc",
            Format::Planes => "planes",
            Format::Packed => "packed",
        }
    }
}

/// What an operand's encoding says about its storage: the kind and L (levels, or bits
/// for integers), after a scheme's planes override.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Width {
    /// Ternary digits (the only kind `planes` and `packed` apply to).
    pub ternary: bool,
    /// Levels (ternary, binary) or bits (int).
    pub levels: u32,
    /// Bits per element stored dense.
    pub dense: u32,
}

impl Width {
    /// The width of an encoding, with a planes override replacing L (or `bits`).
    pub fn of(enc: &Encoding, planes_override: Option<u32>) -> Width {
        let (ternary, levels) = match *enc {
            Encoding::Ternary { levels, .. } => (true, levels as u32),
            Encoding::Binary { levels, .. } => (false, levels as u32),
            Encoding::Int { bits, .. } => (false, bits as u32),
        };
        let levels = planes_override.unwrap_or(levels);
        Width {
            ternary,
            levels,
            dense: if ternary { 2 * levels } else { levels },
        }
    }

    /// Per-element constants of `format` for this operand.
    pub fn cost(&self, format: Format) -> Cost {
        let b = self.dense as u64;
        match (format, self.ternary) {
            (Format::Zvc, _) => Cost {
                zero: 1,
                per_nonzero: b,
                per_term: 0,
            },
            (Format::Planes, true) => Cost {
                zero: self.levels as u64,
                per_nonzero: 0,
                per_term: 1,
            },
            (Format::Packed, true) => Cost {
                zero: packed_bits(self.levels) as u64,
                per_nonzero: 0,
                per_term: 0,
            },
            // dense, and planes / packed of binary and int operands.
            _ => Cost {
                zero: b,
                per_nonzero: 0,
                per_term: 0,
            },
        }
    }
}

/// The least p with 2^p ≥ 3^L: bits of L ternary digits packed base 3.
pub fn packed_bits(levels: u32) -> u32 {
    // 3^L for L ≤ 32 fits a u64 (3^32 < 2^51) but 2^p must too: p ≤ 51.
    let three = 3u128.pow(levels);
    let mut p = 0;
    while (1u128 << p) < three {
        p += 1;
    }
    p
}

/// A format's footprint as per-element constants: an element costs `zero`, plus
/// `per_nonzero` if it is nonzero, plus `per_term` per nonzero digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    /// Bits of every element (all of a zero element's).
    pub zero: u64,
    /// Extra bits of a nonzero element.
    pub per_nonzero: u64,
    /// Extra bits per nonzero digit.
    pub per_term: u64,
}

impl Cost {
    /// Bits of a set of `counts.n` elements, `counts.nonzero` of them nonzero, with
    /// `counts.terms` nonzero digits.
    pub fn bits(&self, c: Counts) -> u64 {
        self.zero
            .saturating_mul(c.n)
            .saturating_add(self.per_nonzero.saturating_mul(c.nonzero))
            .saturating_add(self.per_term.saturating_mul(c.terms))
    }
}

/// Counts of a set of elements: all, nonzero, and nonzero digits (ternary; 0 otherwise).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Elements.
    pub n: u64,
    /// Nonzero elements (zero(x) false).
    pub nonzero: u64,
    /// Nonzero digits over all levels (ternary tensors; for binary and int, whose
    /// formats never read it, as [`digit_counts`] counts them).
    pub terms: u64,
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(self, o: Counts) -> Counts {
        Counts {
            n: self.n + o.n,
            nonzero: self.nonzero + o.nonzero,
            terms: self.terms + o.terms,
        }
    }
}

impl Counts {
    /// The counts of a whole tensor, read straight from its storage: popcounts of the
    /// digit planes (64 elements a word), or one pass over the integers.
    pub fn of(t: &Tensor) -> Counts {
        let n = t.len() as u64;
        match (t.values(), t.encoding()) {
            (Values::Planes { nonzero, .. }, Encoding::Ternary { levels, .. }) => {
                let words = plane_words(t.len());
                let planes: Vec<&[u64]> = nonzero
                    .chunks_exact(words.max(1))
                    .take(*levels as usize)
                    .collect();
                let (nz, terms) = plane_counts(&planes, words);
                Counts {
                    n,
                    nonzero: nz,
                    terms,
                }
            }
            // Binary elements are never zero, and have L nonzero digits each.
            (Values::Planes { .. }, enc) => Counts {
                n,
                nonzero: n,
                terms: n * enc.serial_planes() as u64,
            },
            (Values::Int(v), _) => {
                let (nonzero, terms) = v.iter().fold((0u64, 0u64), |(a, b), &x| {
                    (
                        a + (x != 0) as u64,
                        b + x.unsigned_abs().count_ones() as u64,
                    )
                });
                Counts { n, nonzero, terms }
            }
        }
    }

    /// The counts of the elements whose [`digit_counts`] are `digits`.
    pub fn of_digits(digits: &[u8]) -> Counts {
        let (nonzero, terms) = digits.iter().fold((0u64, 0u64), |(n, s), &x| {
            (n + (x > 0) as u64, s + x as u64)
        });
        Counts {
            n: digits.len() as u64,
            nonzero,
            terms,
        }
    }
}

/// (elements with a digit set in any plane, digits set over all planes) of `words` words
/// of each plane; compiled with `popcnt` too, picked at run time.
fn plane_counts(planes: &[&[u64]], words: usize) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU has `popcnt` (checked just above).
        return unsafe { plane_counts_popcnt(planes, words) };
    }
    plane_counts_in(planes, words)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn plane_counts_popcnt(planes: &[&[u64]], words: usize) -> (u64, u64) {
    plane_counts_in(planes, words)
}

#[inline(always)]
fn plane_counts_in(planes: &[&[u64]], words: usize) -> (u64, u64) {
    let (mut nz, mut terms) = (0u64, 0u64);
    for w in 0..words {
        let mut any = 0u64;
        for p in planes {
            any |= p[w];
            terms += p[w].count_ones() as u64;
        }
        nz += any.count_ones() as u64;
    }
    (nz, terms)
}

/// Per element, its nonzero digits: ternary, over its levels; binary, L (never zero);
/// int, the set bits of its magnitude. zero(x) is `== 0` for every encoding, and only a
/// ternary tensor's `planes` footprint reads the digit count itself.
pub fn digit_counts(t: &Tensor) -> Vec<u8> {
    t.all_terms(crate::encoding::TermEncoding::Plain, None)
}

/// The footprint in each format, `[dense, zvc, planes, packed]`, of a tensor of
/// encoding `enc` with counts `c`.
pub fn all_formats(enc: &Encoding, c: Counts) -> [u64; 4] {
    let w = Width::of(enc, None);
    Format::ALL.map(|f| w.cost(f).bits(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::ScaleMode;

    proptest::proptest! {
        /// Counts read from the planes (or integers) equal those of the per-element
        /// digit counts.
        #[test]
        fn counts_from_storage_equal_counts_of_digits(
            kind in 0u8..3,
            levels in 1u8..=4,
            n in 0usize..300,
            density in 0.0f64..=1.0,
            seed in proptest::prelude::any::<u64>(),
        ) {
            let e = crate::sim::strategies::Enc { kind, levels, bits: 8, signed: true };
            let t = crate::sim::strategies::tensor(&[n], e, density, seed);
            proptest::prop_assert_eq!(Counts::of(&t), Counts::of_digits(&digit_counts(&t)));
        }
    }

    #[test]
    fn packed_bits_of_the_first_levels() {
        assert_eq!(
            (1..=5).map(packed_bits).collect::<Vec<_>>(),
            vec![2, 4, 5, 7, 8]
        );
        assert_eq!(packed_bits(8), 13); // 3^8 = 6561 ≤ 8192
    }

    #[test]
    fn per_element_constants_by_hand() {
        let tern2 = Width::of(
            &Encoding::Ternary {
                levels: 2,
                scale: ScaleMode::Tensor,
            },
            None,
        );
        assert_eq!(tern2.dense, 4);
        // 10 elements, 4 nonzero with 5 nonzero digits.
        let c = Counts {
            n: 10,
            nonzero: 4,
            terms: 5,
        };
        assert_eq!(tern2.cost(Format::Dense).bits(c), 40);
        assert_eq!(tern2.cost(Format::Zvc).bits(c), 10 + 4 * 4);
        assert_eq!(tern2.cost(Format::Planes).bits(c), 2 * 10 + 5);
        assert_eq!(tern2.cost(Format::Packed).bits(c), 4 * 10);
        // An override of the levels replaces L everywhere.
        let tern3 = Width::of(
            &Encoding::Ternary {
                levels: 2,
                scale: ScaleMode::Tensor,
            },
            Some(3),
        );
        assert_eq!(tern3.cost(Format::Dense).bits(c), 60);
        assert_eq!(tern3.cost(Format::Packed).bits(c), 50);
        // Int: bits, not precision; planes and packed are dense.
        let int8 = Width::of(
            &Encoding::Int {
                bits: 8,
                signed: true,
                precision: 5,
                scale: None,
            },
            None,
        );
        for f in [Format::Dense, Format::Planes, Format::Packed] {
            assert_eq!(int8.cost(f).bits(c), 80);
        }
        assert_eq!(int8.cost(Format::Zvc).bits(c), 10 + 4 * 8);
    }
}
