//! Schemes: how a PE treats each operand (cycle-model.md, "Operands and schemes"),
//! the eight presets, and the checks that tie a scheme to a model's encodings.

use serde::{Deserialize, Serialize};

use crate::encoding::{Encoding, TermEncoding};
use crate::error::{Error, Result};

/// Which operands are fed digit by digit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Serial {
    /// Both operands bit-parallel.
    #[default]
    None,
    /// Activations serial.
    Act,
    /// Weights serial.
    Weight,
    /// Both serial.
    Both,
}

/// What a PE skips of one operand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Skip {
    /// Nothing.
    #[default]
    None,
    /// Zero words (whole values).
    Word,
    /// Zero digits (serial operands only).
    Term,
}

/// When the lanes of a PE wait for each other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// After every step (brick).
    #[default]
    Step,
    /// After all steps of a window set (Cnvlutin-style decoupled lanes).
    Window,
}

/// Which operand of a MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// The weight.
    Weight,
    /// The activation.
    Act,
}

impl Operand {
    /// "weight" or "act".
    pub fn as_str(self) -> &'static str {
        match self {
            Operand::Weight => "weight",
            Operand::Act => "act",
        }
    }
}

/// A validated scheme.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Scheme {
    /// Preset or custom name.
    pub name: String,
    /// Serial operands.
    pub serial: Serial,
    /// Activation skipping.
    pub skip_act: Skip,
    /// Weight skipping.
    pub skip_weight: Skip,
    /// Lane synchronization.
    pub sync: SyncMode,
    /// The least every PE holding a window and a filter spends per sync unit, even when
    /// all of its pairs cost 0 (0 or 1).
    pub min_cycles: u32,
    /// Term encoding of int operands.
    pub term_encoding: TermEncoding,
    /// Pragmatic's two-stage shifter: first stage of `2^B` positions.
    pub first_stage_bits: Option<u32>,
    /// Override of the activation planes (levels / precision / bits).
    pub planes_act: Option<u32>,
    /// Override of the weight planes.
    pub planes_weight: Option<u32>,
}

/// Preset names, in the spec's order.
pub const PRESETS: [&str; 8] = [
    "dadiannao",
    "stripes",
    "cnvlutin",
    "pragmatic",
    "laconic",
    "mlb",
    "mltq-word",
    "mltq-bit",
];

impl Scheme {
    /// A custom scheme with every field at its default.
    pub fn custom(name: &str) -> Scheme {
        Scheme {
            name: name.to_string(),
            serial: Serial::None,
            skip_act: Skip::None,
            skip_weight: Skip::None,
            sync: SyncMode::Step,
            min_cycles: 1,
            term_encoding: TermEncoding::Plain,
            first_stage_bits: None,
            planes_act: None,
            planes_weight: None,
        }
    }

    /// A preset by name.
    pub fn preset(name: &str) -> Option<Scheme> {
        use {Serial as S, Skip as K, SyncMode as Y};
        let (serial, skip_act, skip_weight, sync) = match name {
            "dadiannao" => (S::None, K::None, K::None, Y::Step),
            "stripes" => (S::Act, K::None, K::None, Y::Step),
            "cnvlutin" => (S::None, K::Word, K::None, Y::Window),
            "pragmatic" => (S::Act, K::Term, K::None, Y::Step),
            "laconic" => (S::Both, K::Term, K::Term, Y::Step),
            "mlb" => (S::Both, K::None, K::None, Y::Step),
            "mltq-word" => (S::Both, K::Word, K::Word, Y::Window),
            "mltq-bit" => (S::Both, K::Term, K::Term, Y::Step),
            _ => return None,
        };
        Some(Scheme {
            serial,
            skip_act,
            skip_weight,
            sync,
            ..Scheme::custom(name)
        })
    }

    /// Is this operand fed serially?
    pub fn is_serial(&self, op: Operand) -> bool {
        matches!(
            (self.serial, op),
            (Serial::Both, _) | (Serial::Act, Operand::Act) | (Serial::Weight, Operand::Weight)
        )
    }

    /// The skip setting of an operand.
    pub fn skip(&self, op: Operand) -> Skip {
        match op {
            Operand::Act => self.skip_act,
            Operand::Weight => self.skip_weight,
        }
    }

    /// The planes override of an operand.
    pub fn planes_override(&self, op: Operand) -> Option<u32> {
        match op {
            Operand::Act => self.planes_act,
            Operand::Weight => self.planes_weight,
        }
    }

    /// With `first_stage_bits`, the one serial, term-skipping operand.
    pub fn first_stage_operand(&self) -> Option<Operand> {
        self.first_stage_bits?;
        match self.serial {
            Serial::Act => Some(Operand::Act),
            Serial::Weight => Some(Operand::Weight),
            _ => None,
        }
    }

    /// The checks that need no model (arch-toml.md / cycle-model.md).
    pub fn validate(&self) -> Result<()> {
        for op in [Operand::Act, Operand::Weight] {
            if self.skip(op) == Skip::Term && !self.is_serial(op) {
                return Err(Error::invalid(format!(
                    "skip_{0} = \"term\" needs a serial {0} operand (serial = \"{0}\" or \"both\"); \
                     use skip_{0} = \"word\" for a parallel one",
                    op.as_str()
                )));
            }
            if let Some(p) = self.planes_override(op) {
                if !(1..=32).contains(&p) {
                    return Err(Error::invalid(format!(
                        "planes_{} must be in 1..=32, got {p}",
                        op.as_str()
                    )));
                }
            }
        }
        if self.min_cycles > 1 {
            return Err(Error::invalid(format!(
                "min_cycles must be 0 or 1, got {}",
                self.min_cycles
            )));
        }
        if let Some(b) = self.first_stage_bits {
            if b > 32 {
                return Err(Error::invalid(format!(
                    "first_stage_bits must be in 0..=32, got {b}"
                )));
            }
            if self.sync == SyncMode::Window {
                return Err(Error::invalid(
                    "first_stage_bits needs sync = \"step\"; remove first_stage_bits or use sync = \"step\"",
                ));
            }
            match self.first_stage_operand() {
                Some(op) if self.skip(op) == Skip::Term => {}
                _ => {
                    return Err(Error::invalid(
                        "first_stage_bits needs exactly one serial operand (serial = \"act\" or \"weight\") \
                         with skip = \"term\"",
                    ))
                }
            }
        }
        Ok(())
    }

    /// The checks that tie the scheme to a layer's encodings: `first_stage_bits` needs an
    /// int serial operand.
    pub fn check_layer(&self, layer: &str, weights: &Encoding, acts: &Encoding) -> Result<()> {
        if let Some(op) = self.first_stage_operand() {
            let enc = match op {
                Operand::Act => acts,
                Operand::Weight => weights,
            };
            if !enc.is_int() {
                return Err(Error::mismatch(
                    &self.name,
                    layer,
                    format!(
                        "first_stage_bits needs an int {op} operand, but the layer's {op}s are {}; \
                         remove first_stage_bits from [[scheme]] `{}` (or the scheme from `schemes`), \
                         or simulate a model with int {op}s",
                        enc.short(),
                        self.name,
                        op = op.as_str(),
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_named() {
        for p in PRESETS {
            let s = Scheme::preset(p).unwrap();
            assert_eq!(s.name, p);
            s.validate().unwrap();
        }
        assert!(Scheme::preset("nope").is_none());
    }

    #[test]
    fn term_skipping_of_a_parallel_operand_is_refused() {
        let s = Scheme {
            skip_act: Skip::Term,
            ..Scheme::custom("x")
        };
        assert!(s.validate().unwrap_err().to_string().contains("serial act"));
    }

    #[test]
    fn first_stage_rules() {
        let ok = Scheme {
            serial: Serial::Act,
            skip_act: Skip::Term,
            first_stage_bits: Some(2),
            ..Scheme::custom("a")
        };
        ok.validate().unwrap();
        let both = Scheme {
            serial: Serial::Both,
            ..ok.clone()
        };
        assert!(both.validate().is_err());
        let window = Scheme {
            sync: SyncMode::Window,
            ..ok.clone()
        };
        assert!(window.validate().is_err());
        let tern = Encoding::Ternary {
            levels: 2,
            scale: crate::encoding::ScaleMode::Tensor,
        };
        let int8 = Encoding::Int {
            bits: 8,
            signed: false,
            precision: 8,
            scale: None,
        };
        assert!(ok.check_layer("l", &tern, &int8).is_ok());
        assert!(ok.check_layer("l", &int8, &tern).is_err());
    }
}
