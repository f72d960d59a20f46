//! Schemes: how a PE treats each operand (cycle-model.md, "Operands and schemes"),
//! the ten presets, Bit-Tactical's weight schedule ([`WeightSchedule`],
//! docs/weight-scheduling.md), and the checks that tie a scheme to a model's encodings
//! and to its array.

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

/// The shape of a weight schedule's search pattern (docs/weight-scheduling.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PatternShape {
    /// `L`: h steps straight ahead, and d lanes to one side one step ahead.
    L,
    /// `T`: h steps straight ahead, and d lanes alternating sides, spread over the h
    /// steps.
    T,
}

impl PatternShape {
    /// "L" or "T".
    pub fn as_str(self) -> &'static str {
        match self {
            PatternShape::L => "L",
            PatternShape::T => "T",
        }
    }
}

/// Bit-Tactical's static weight schedule: nonzero weights move into the slots of zero
/// weights from up to `lookahead` steps later and from neighbouring lanes
/// (`lookaside`), and steps left with no weight are skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct WeightSchedule {
    /// The search pattern's shape.
    pub shape: PatternShape,
    /// h ≥ 1: how many steps ahead a weight may come from (straight ahead), and how
    /// many zero lines in a row may be skipped.
    pub lookahead: u32,
    /// d ≥ 1: how many lane offsets beside straight ahead the pattern has.
    pub lookaside: u32,
}

impl WeightSchedule {
    /// Bit-Tactical's `T(2,5)`, the schedule of the `bittactical` presets.
    pub const T25: WeightSchedule = WeightSchedule {
        shape: PatternShape::T,
        lookahead: 2,
        lookaside: 5,
    };

    /// The pattern's offsets (Δt ≥ 1, Δl), in the order candidates are listed:
    /// ascending (Δt, Δl). Offsets with Δt > `max_dt` are left out (a layer with T
    /// steps never reaches past T − 1).
    ///
    /// ```
    /// use mltq::scheme::{PatternShape, WeightSchedule};
    /// let t25 = WeightSchedule { shape: PatternShape::T, lookahead: 2, lookaside: 5 };
    /// assert_eq!(t25.offsets(u32::MAX), [(1, -1), (1, 0), (1, 1), (1, 3), (2, -2), (2, 0), (2, 2)]);
    /// ```
    pub fn offsets(&self, max_dt: u32) -> Vec<(u32, i64)> {
        let (h, d) = (self.lookahead, self.lookaside);
        let mut v: Vec<(u32, i64)> = (1..=h.min(max_dt)).map(|dt| (dt, 0)).collect();
        match self.shape {
            PatternShape::L => {
                if max_dt >= 1 {
                    v.extend((1..=d as i64).map(|dl| (1, -dl)));
                }
            }
            PatternShape::T => {
                for i in 0..d {
                    let dt = (i / 2) % h + 1;
                    let dl = (i / 2 + 1) as i64;
                    if dt <= max_dt {
                        v.push((dt, if i % 2 == 0 { dl } else { -dl }));
                    }
                }
            }
        }
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The largest lane offset of the pattern in absolute value: d for `L`, ⌈d/2⌉ for
    /// `T`. It must be smaller than the lanes.
    pub fn reach(&self) -> u32 {
        match self.shape {
            PatternShape::L => self.lookaside,
            PatternShape::T => self.lookaside.div_ceil(2),
        }
    }

    /// The least lanes a PE needs for this pattern: `reach() + 1`.
    pub fn min_lanes(&self) -> u64 {
        self.reach() as u64 + 1
    }

    /// `Err(message)` when the pattern reaches as far as `lanes` lanes or past.
    pub fn check_lanes(&self, lanes: usize) -> std::result::Result<(), String> {
        if (lanes as u64) < self.min_lanes() {
            if lanes <= 1 {
                return Err(format!(
                    "weight_schedule {self} looks {} lanes aside, but a PE of lanes = {lanes} has no \
                     neighbouring lane; give the scheme at least {} lanes",
                    self.reach(),
                    self.min_lanes()
                ));
            }
            let side = match self.shape {
                PatternShape::L => format!("d = {}", self.lookaside),
                PatternShape::T => format!("⌈d/2⌉ = {}", self.reach()),
            };
            return Err(format!(
                "weight_schedule {self} looks {} lanes aside ({side}), which needs lanes >= {}, \
                 but the array has lanes = {lanes}; lower `lookaside` (at most {} for `{}` here) \
                 or give the scheme more lanes",
                self.reach(),
                self.min_lanes(),
                match self.shape {
                    PatternShape::L => lanes.saturating_sub(1),
                    PatternShape::T => 2 * lanes.saturating_sub(1),
                },
                self.shape.as_str(),
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for WeightSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}({},{})",
            self.shape.as_str(),
            self.lookahead,
            self.lookaside
        )
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
    /// Bit-Tactical's weight schedule (step sync only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_schedule: Option<WeightSchedule>,
}

/// Preset names, in the spec's order (the cycle model's eight, then the two weight
/// scheduling presets).
pub const PRESETS: [&str; 10] = [
    "dadiannao",
    "stripes",
    "cnvlutin",
    "pragmatic",
    "laconic",
    "mlb",
    "mltq-word",
    "mltq-bit",
    "bittactical",
    "bittactical-e",
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
            weight_schedule: None,
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
            // `dadiannao` and `pragmatic` with Bit-Tactical's T(2,5) weight schedule.
            "bittactical" | "bittactical-e" => {
                let base = if name == "bittactical" {
                    "dadiannao"
                } else {
                    "pragmatic"
                };
                return Some(Scheme {
                    name: name.to_string(),
                    weight_schedule: Some(WeightSchedule::T25),
                    ..Scheme::preset(base)?
                });
            }
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
        if let Some(ws) = self.weight_schedule {
            if self.sync == SyncMode::Window {
                return Err(Error::invalid(format!(
                    "weight_schedule needs sync = \"step\" (a schedule fills the slots of zero weights \
                     step by step, lanes synchronized every step); found sync = \"window\": remove \
                     weight_schedule {ws} or use sync = \"step\""
                )));
            }
            if ws.lookahead == 0 || ws.lookaside == 0 {
                return Err(Error::invalid(format!(
                    "weight_schedule {ws}: lookahead and lookaside must be integers >= 1"
                )));
            }
        }
        Ok(())
    }

    /// The checks that tie the scheme to the array it runs on: a weight schedule's
    /// lane offsets must stay within the lanes.
    pub fn check_array(&self, array: &crate::arch::ArrayShape) -> Result<()> {
        if let Some(ws) = self.weight_schedule {
            ws.check_lanes(array.lanes)
                .map_err(|m| Error::invalid(format!("scheme `{}`: {m}", self.name)))?;
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
    fn bittactical_presets_are_dadiannao_and_pragmatic_with_t25() {
        for (p, base) in [("bittactical", "dadiannao"), ("bittactical-e", "pragmatic")] {
            let s = Scheme::preset(p).unwrap();
            let b = Scheme::preset(base).unwrap();
            assert_eq!(s.weight_schedule, Some(WeightSchedule::T25));
            assert_eq!(
                Scheme {
                    name: base.into(),
                    weight_schedule: None,
                    ..s
                },
                b
            );
        }
    }

    fn ws(shape: PatternShape, h: u32, d: u32) -> WeightSchedule {
        WeightSchedule {
            shape,
            lookahead: h,
            lookaside: d,
        }
    }

    #[test]
    fn candidate_order_of_the_five_example_patterns() {
        use PatternShape::{L, T};
        let table: [(WeightSchedule, &[(u32, i64)]); 5] = [
            (
                ws(L, 2, 5),
                &[(1, -5), (1, -4), (1, -3), (1, -2), (1, -1), (1, 0), (2, 0)],
            ),
            (
                ws(T, 2, 5),
                &[(1, -1), (1, 0), (1, 1), (1, 3), (2, -2), (2, 0), (2, 2)],
            ),
            (
                ws(T, 1, 6),
                &[(1, -3), (1, -2), (1, -1), (1, 0), (1, 1), (1, 2), (1, 3)],
            ),
            (
                ws(L, 4, 3),
                &[(1, -3), (1, -2), (1, -1), (1, 0), (2, 0), (3, 0), (4, 0)],
            ),
            (
                ws(T, 4, 3),
                &[(1, -1), (1, 0), (1, 1), (2, 0), (2, 2), (3, 0), (4, 0)],
            ),
        ];
        for (w, want) in table {
            assert_eq!(w.offsets(u32::MAX), want, "{w}");
        }
        // Steps past the layer's last are left out.
        assert_eq!(ws(T, 2, 5).offsets(1), [(1, -1), (1, 0), (1, 1), (1, 3)]);
        assert_eq!(ws(L, 2, 5).offsets(0), []);
    }

    #[test]
    fn lane_reach_of_each_shape() {
        use PatternShape::{L, T};
        // L: d < lanes; T: ⌈d/2⌉ < lanes.
        assert!(ws(L, 2, 5).check_lanes(6).is_ok());
        assert!(ws(L, 2, 5).check_lanes(5).is_err());
        assert!(ws(T, 2, 5).check_lanes(4).is_ok());
        let e = ws(T, 2, 5).check_lanes(3).unwrap_err();
        assert!(e.contains("needs lanes >= 4"), "{e}");
        assert!(e.contains("at most 4"), "{e}");
        assert!(ws(T, 1, 1).check_lanes(2).is_ok());
        assert!(ws(T, 1, 1).check_lanes(1).is_err());
    }

    #[test]
    fn weight_schedule_needs_step_sync() {
        let s = Scheme {
            sync: SyncMode::Window,
            ..Scheme::preset("bittactical").unwrap()
        };
        let e = s.validate().unwrap_err().to_string();
        assert!(
            e.starts_with("weight_schedule needs sync = \"step\""),
            "{e}"
        );
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
