//! Encodings of tensor elements as digit planes, and the term encodings of integers.
//!
//! An element x is a sum of digits over planes, x = Σ_p s_p · d_p(x) (see
//! `docs/file-format.md`). This file holds what the simulator asks of one element
//! independently of storage: how many planes an operand spends, how many nonzero digits
//! (terms) it has under a term encoding, and which bit positions those terms sit at.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How scales are shared: one per level, or one per (output channel, level).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScaleMode {
    /// `scale=tensor`: L scales.
    Tensor,
    /// `scale=channel`: F·L scales, filter-major (weights only).
    Channel,
}

impl ScaleMode {
    /// The header spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ScaleMode::Tensor => "tensor",
            ScaleMode::Channel => "channel",
        }
    }
}

/// How a tensor's elements are written as digits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Encoding {
    /// Multi-level ternary (MLTQ): digits in {−1, 0, +1}, 1 ≤ levels ≤ 8.
    Ternary { levels: u8, scale: ScaleMode },
    /// Multi-level binary (MLB): digits in {−1, +1}, 1 ≤ levels ≤ 8.
    Binary { levels: u8, scale: ScaleMode },
    /// Plain integers of `bits` bits; `precision` is the profiled serial precision.
    Int {
        bits: u8,
        signed: bool,
        precision: u8,
        scale: Option<f32>,
    },
}

impl Encoding {
    /// Digit planes as the spec's `planes(x)`: levels, or the int precision (serial cost).
    pub fn serial_planes(&self) -> u32 {
        match *self {
            Encoding::Ternary { levels, .. } | Encoding::Binary { levels, .. } => levels as u32,
            Encoding::Int { precision, .. } => precision as u32,
        }
    }

    /// Parallel operand width in potentials: levels, or the int bits.
    pub fn parallel_width(&self) -> u32 {
        match *self {
            Encoding::Ternary { levels, .. } | Encoding::Binary { levels, .. } => levels as u32,
            Encoding::Int { bits, .. } => bits as u32,
        }
    }

    /// True for `enc=int`.
    pub fn is_int(&self) -> bool {
        matches!(self, Encoding::Int { .. })
    }

    /// Short name as used on the command line: `ternary:L`, `binary:L`, `int:B`.
    pub fn short(&self) -> String {
        match *self {
            Encoding::Ternary { levels, .. } => format!("ternary:{levels}"),
            Encoding::Binary { levels, .. } => format!("binary:{levels}"),
            Encoding::Int { bits, .. } => format!("int:{bits}"),
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Encoding::Ternary { levels, scale } => {
                write!(f, "ternary levels={levels} scale={}", scale.as_str())
            }
            Encoding::Binary { levels, scale } => {
                write!(f, "binary levels={levels} scale={}", scale.as_str())
            }
            Encoding::Int {
                bits,
                signed,
                precision,
                ..
            } => {
                write!(f, "int bits={bits} signed={signed} precision={precision}")
            }
        }
    }
}

/// How an integer magnitude is recoded into terms (cycle-model.md, "Term encodings").
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum TermEncoding {
    /// The set bits of |x|.
    #[default]
    Plain,
    /// DNNsim's Booth-like recoding.
    Booth,
    /// Non-adjacent form: minimal signed digits.
    Naf,
}

impl TermEncoding {
    /// All encodings, for messages.
    pub const NAMES: [&'static str; 3] = ["plain", "booth", "naf"];

    /// Bit positions of the terms of magnitude `m` (bit p set = a term at 2^p).
    /// Positions reach at most bitlength(m) + 1, so a 32-bit magnitude fits in a u64.
    pub fn term_mask(self, m: u32) -> u64 {
        match self {
            TermEncoding::Plain => m as u64,
            TermEncoding::Naf => naf_mask(m),
            TermEncoding::Booth => booth_mask(m),
        }
    }

    /// Number of terms of magnitude `m`.
    pub fn terms(self, m: u32) -> u32 {
        match self {
            TermEncoding::Plain => m.count_ones(),
            _ => self.term_mask(m).count_ones(),
        }
    }

    /// The spelling used in arch files.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// Positions of the nonzero digits of the non-adjacent form of `m`.
fn naf_mask(m: u32) -> u64 {
    let mut x = m as u64;
    let mut mask = 0u64;
    let mut p = 0;
    while x != 0 {
        if x & 1 == 1 {
            // digit = 2 − (x mod 4): +1 when x ≡ 1, −1 when x ≡ 3 (mod 4).
            mask |= 1 << p;
            if x & 3 == 3 {
                x += 1;
            } else {
                x -= 1;
            }
        }
        x >>= 1;
        p += 1;
    }
    mask
}

/// DNNsim's Booth recoding, as the cycle model spells it out: output positions p from
/// bitlength(m)+1 down to 0, window = bits (p, p−1, p−2) of m.
fn booth_mask(m: u32) -> u64 {
    let m = m as u64;
    let bit = |q: i64| -> u64 {
        if q < 0 {
            0
        } else {
            (m >> q) & 1
        }
    };
    let bitlength = 64 - m.leading_zeros() as i64;
    let mut run = false;
    let mut mask = 0u64;
    let mut p = bitlength + 1;
    while p >= 0 {
        let w = (bit(p) << 2) | (bit(p - 1) << 1) | bit(p - 2);
        match w {
            0b010 | 0b011 if run => {
                mask |= 1 << p;
            }
            0b100 => {
                mask |= 1 << p;
                run = false;
            }
            0b101 | 0b110 if !run => {
                mask |= 1 << p;
            }
            0b111 if !run => {
                mask |= 1 << (p + 1);
                run = true;
            }
            _ => {}
        }
        p -= 1;
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Value of a NAF given its digit positions: recompute the signs greedily.
    fn naf_digits(m: u32) -> Vec<i8> {
        let mut x = m as i64;
        let mut d = Vec::new();
        while x != 0 {
            if x & 1 == 1 {
                let z = 2 - (x & 3);
                d.push(z as i8);
                x -= z;
            } else {
                d.push(0);
            }
            x >>= 1;
        }
        d
    }

    #[test]
    fn naf_terms_of_small_numbers() {
        // 7 = 8 − 1: two terms; 5 = 4 + 1: two; 15 = 16 − 1: two; 11 = 16 − 4 − 1: three.
        assert_eq!(TermEncoding::Naf.terms(7), 2);
        assert_eq!(TermEncoding::Naf.term_mask(7), 0b1001);
        assert_eq!(TermEncoding::Naf.terms(5), 2);
        assert_eq!(TermEncoding::Naf.terms(15), 2);
        assert_eq!(TermEncoding::Naf.terms(11), 3);
        assert_eq!(TermEncoding::Naf.terms(0), 0);
    }

    #[test]
    fn naf_is_non_adjacent_and_exact() {
        for m in 0..5000u32 {
            let d = naf_digits(m);
            let v: i64 = d.iter().enumerate().map(|(p, &z)| (z as i64) << p).sum();
            assert_eq!(v, m as i64);
            let mask: u64 = d
                .iter()
                .enumerate()
                .filter(|(_, z)| **z != 0)
                .map(|(p, _)| 1 << p)
                .sum();
            assert_eq!(TermEncoding::Naf.term_mask(m), mask, "m = {m}");
            assert_eq!(mask & (mask >> 1), 0);
        }
    }

    #[test]
    fn booth_of_hand_worked_values() {
        // m = 7 (0111): p=4 window 001 nothing; p=3 window 011, run false: nothing;
        // p=2 window 111: emit at 3, run; p=1 window 11(0)=110, run: nothing;
        // p=0 window 1(00)=100: emit at 0. Terms at 3 and 0 (8 − 1).
        assert_eq!(TermEncoding::Booth.term_mask(7), 0b1001);
        // m = 1: p=2 window 001; p=1 window 01(0)=010, run false; p=0 window 100: emit 0.
        assert_eq!(TermEncoding::Booth.term_mask(1), 0b1);
        // m = 2 (10): p=3: 001; p=2: 010 no; p=1: 100 → emit 1; p=0: 0(00)=000.
        assert_eq!(TermEncoding::Booth.term_mask(2), 0b10);
        // m = 3 (11): p=3 001; p=2 011 no; p=1 110 → emit 1 (run false); p=0 100 → emit 0.
        assert_eq!(TermEncoding::Booth.term_mask(3), 0b11);
        assert_eq!(TermEncoding::Booth.term_mask(0), 0);
    }

    #[test]
    fn plain_is_popcount() {
        assert_eq!(TermEncoding::Plain.terms(0b1011), 3);
        assert_eq!(TermEncoding::Plain.term_mask(0b1011), 0b1011);
    }
}

/// An encoding as asked for on the command line (`gen`, `import`): `ternary:L`,
/// `binary:L` or `int:B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum EncSpec {
    /// Multi-level ternary with L levels.
    Ternary(u8),
    /// Multi-level binary with L levels.
    Binary(u8),
    /// B-bit integers.
    Int(u8),
}

impl std::str::FromStr for EncSpec {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<EncSpec, String> {
        let help = "expected `ternary:L` or `binary:L` (L in 1..=8) or `int:B` (B in 1..=32), e.g. `ternary:2`";
        let (kind, n) = s
            .split_once(':')
            .ok_or_else(|| format!("bad encoding `{s}`: {help}"))?;
        let n: u8 = n
            .parse()
            .map_err(|_| format!("bad encoding `{s}`: `{n}` is not a number; {help}"))?;
        let spec = match kind {
            "ternary" => EncSpec::Ternary(n),
            "binary" => EncSpec::Binary(n),
            "int" => EncSpec::Int(n),
            _ => return Err(format!("bad encoding `{s}`: unknown kind `{kind}`; {help}")),
        };
        let ok = match spec {
            EncSpec::Ternary(l) | EncSpec::Binary(l) => (1..=8).contains(&l),
            EncSpec::Int(b) => (1..=32).contains(&b),
        };
        if !ok {
            return Err(format!("bad encoding `{s}`: {help}"));
        }
        Ok(spec)
    }
}

impl TryFrom<String> for EncSpec {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<EncSpec, String> {
        s.parse()
    }
}

impl From<EncSpec> for String {
    fn from(e: EncSpec) -> String {
        e.to_string()
    }
}

impl fmt::Display for EncSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncSpec::Ternary(l) => write!(f, "ternary:{l}"),
            EncSpec::Binary(l) => write!(f, "binary:{l}"),
            EncSpec::Int(b) => write!(f, "int:{b}"),
        }
    }
}

#[cfg(test)]
mod spec_tests {
    use super::EncSpec;

    #[test]
    fn parses_and_prints_enc_specs() {
        assert_eq!("ternary:3".parse::<EncSpec>(), Ok(EncSpec::Ternary(3)));
        assert_eq!("int:16".parse::<EncSpec>().unwrap().to_string(), "int:16");
        assert!("ternary:9".parse::<EncSpec>().is_err());
        assert!("int".parse::<EncSpec>().unwrap_err().contains("expected"));
    }
}
