//! Value distributions of `mltq gen` (`--weight-dist`, `--act-dist`): the shape of the
//! real values drawn before they are quantized.
//!
//! Only the *magnitudes* of the nonzero elements are shaped here; which elements are
//! zero (an exact share, at uniformly random positions) and their signs are drawn by
//! the generator as before. Every magnitude is a quantile function of one uniform draw,
//! so each element costs one random number whatever the distribution, and the default
//! distributions reproduce the values `mltq gen` has always written, bit for bit.
//!
//! **Weights** (magnitude-pruned: the survivors are the distribution's largest `tail`
//! fraction in magnitude, with zero mean and He's standard deviation σ = √(2/fan-in)):
//! - `gaussian` (default): N(0, σ²).
//! - `laplace`: Laplace(0, b), b = σ/√2; |w| is exponential, so a survivor is the
//!   pruning threshold b·ln(1/tail) plus an exponential excess.
//! - `uniform`: U(−a, a), a = σ·√3.
//!
//! **Activations** (a share `density` of them nonzero):
//! - `halfnormal` (default): the nonzero values are |N(0, 1)|, whatever the density.
//! - `gaussian`: a rectified Gaussian, ReLU(x) with x ~ N(μ, 1) and μ = Φ⁻¹(density),
//!   so that P(x > 0) is the density: sparse layers have small positive values, dense
//!   ones values bunched around μ. At density 0.5 it is `halfnormal`, bit for bit.
//! - `laplace`: a rectified Laplacian, ReLU(x) with x ~ Laplace(μ, 1/√2) and μ set the
//!   same way; at densities ≤ 0.5 the positive values are exponential.
//! - `uniform`: the nonzero values are uniform on (0, 1].
//!
//! For the rectified distributions a density above Φ(3) ≈ 0.99865 shapes the values as
//! Φ(3) does (μ at most 3 standard deviations): a layer whose inputs are all nonzero
//! (an image) still gets a spread of values rather than a point at infinity.

use std::fmt;

use crate::error::did_you_mean;

/// How weights are drawn before pruning and quantization (module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WeightDist {
    /// N(0, σ²), He's σ (the default).
    #[default]
    Gaussian,
    /// Laplace(0, σ/√2).
    Laplace,
    /// U(−σ√3, σ√3).
    Uniform,
}

/// How the nonzero activations are drawn (module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ActDist {
    /// |N(0, 1)| whatever the density (the default).
    #[default]
    HalfNormal,
    /// ReLU(N(μ, 1)), μ = Φ⁻¹(density).
    Gaussian,
    /// ReLU(Laplace(μ, 1/√2)), P(x > 0) = density.
    Laplace,
    /// U(0, 1].
    Uniform,
}

impl WeightDist {
    /// Every spelling, in `--help` order.
    pub const NAMES: [&'static str; 3] = ["gaussian", "laplace", "uniform"];

    /// The command-line spelling.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

impl ActDist {
    /// Every spelling, in `--help` order.
    pub const NAMES: [&'static str; 4] = ["halfnormal", "gaussian", "laplace", "uniform"];

    /// The command-line spelling.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

impl fmt::Display for WeightDist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ActDist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn unknown(what: &str, s: &str, names: &[&'static str]) -> String {
    format!(
        "unknown {what} distribution `{s}`{}; expected one of: {}",
        did_you_mean(s, names.iter().copied()),
        names.join(", ")
    )
}

impl std::str::FromStr for WeightDist {
    type Err = String;

    fn from_str(s: &str) -> Result<WeightDist, String> {
        match s {
            "gaussian" => Ok(WeightDist::Gaussian),
            "laplace" => Ok(WeightDist::Laplace),
            "uniform" => Ok(WeightDist::Uniform),
            _ => Err(unknown("weight", s, &Self::NAMES)),
        }
    }
}

impl std::str::FromStr for ActDist {
    type Err = String;

    fn from_str(s: &str) -> Result<ActDist, String> {
        match s {
            "halfnormal" => Ok(ActDist::HalfNormal),
            "gaussian" => Ok(ActDist::Gaussian),
            "laplace" => Ok(ActDist::Laplace),
            "uniform" => Ok(ActDist::Uniform),
            _ => Err(unknown("activation", s, &Self::NAMES)),
        }
    }
}

/// The largest density the rectified distributions shape values for: Φ(3).
pub const RECTIFIED_CAP: f64 = 0.998_650_101_968_369_9;

/// The magnitude law of the nonzero elements of one tensor: a quantile function of
/// one uniform draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Magnitude {
    /// The largest `tail` fraction of |N(0, σ²)|.
    HalfGaussian { sigma: f64, tail: f64 },
    /// The largest `tail` fraction of |Laplace(0, b)| (exponential of scale b).
    Exponential { b: f64, tail: f64 },
    /// The largest `tail` fraction of U(0, a).
    Uniform { a: f64, tail: f64 },
    /// The positive part of N(μ, 1) with P(x > 0) = `d`.
    RectifiedGaussian { mu: f64, d: f64 },
    /// The positive part of Laplace(μ, b) with P(x > 0) = `d`.
    RectifiedLaplace { mu: f64, b: f64, d: f64 },
    /// U(0, 1].
    UnitUniform,
}

impl Magnitude {
    /// The magnitudes of pruned weights drawn from `dist` with standard deviation
    /// `sigma`, keeping the largest `tail` fraction.
    pub(crate) fn weights(dist: WeightDist, sigma: f64, tail: f64) -> Magnitude {
        match dist {
            WeightDist::Gaussian => Magnitude::HalfGaussian { sigma, tail },
            WeightDist::Laplace => Magnitude::Exponential {
                b: sigma / std::f64::consts::SQRT_2,
                tail,
            },
            WeightDist::Uniform => Magnitude::Uniform {
                a: sigma * 3f64.sqrt(),
                tail,
            },
        }
    }

    /// The magnitudes of nonzero activations drawn from `dist` at `density`.
    pub(crate) fn acts(dist: ActDist, density: f64) -> Magnitude {
        let d = density.clamp(0.0, RECTIFIED_CAP);
        match dist {
            ActDist::HalfNormal => Magnitude::HalfGaussian {
                sigma: 1.0,
                tail: 1.0,
            },
            ActDist::Gaussian => Magnitude::RectifiedGaussian {
                mu: super::inv_normal_cdf(d),
                d,
            },
            ActDist::Laplace => {
                let b = std::f64::consts::FRAC_1_SQRT_2;
                // P(x > 0) = d: ½·e^{μ/b} below the median, 1 − ½·e^{−μ/b} above.
                let mu = if d <= 0.5 {
                    b * (2.0 * d).ln()
                } else {
                    -b * (2.0 * (1.0 - d)).ln()
                };
                Magnitude::RectifiedLaplace { mu, b, d }
            }
            ActDist::Uniform => Magnitude::UnitUniform,
        }
    }

    /// The magnitude for a uniform draw `u` in [0, 1). Every law reads v = 1 − u in
    /// (0, 1] as the probability of exceeding the magnitude, within its tail: the
    /// result is nonnegative and finite.
    pub(crate) fn at(&self, u: f64) -> f64 {
        let v = 1.0 - u;
        match *self {
            // As `gen` has always drawn it: Φ⁻¹ of half the tail probability.
            Magnitude::HalfGaussian { sigma, tail } => {
                let q = 0.5 * tail * v;
                -sigma * super::inv_normal_cdf(q)
            }
            Magnitude::Exponential { b, tail } => -b * (tail * v).ln(),
            Magnitude::Uniform { a, tail } => a * (1.0 - tail * v),
            // x = μ + Φ⁻¹(1 − d·v) = μ − Φ⁻¹(d·v): from 0 (v = 1) upwards.
            Magnitude::RectifiedGaussian { mu, d } => (mu - super::inv_normal_cdf(d * v)).max(0.0),
            Magnitude::RectifiedLaplace { mu, b, d } => {
                // The upper-tail quantile of Laplace(μ, b) at probability q = d·v.
                let q = d * v;
                let x = if q <= 0.5 {
                    mu - b * (2.0 * q).ln()
                } else {
                    mu + b * (2.0 * (1.0 - q)).ln()
                };
                x.max(0.0)
            }
            Magnitude::UnitUniform => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_alike() {
        for n in WeightDist::NAMES {
            assert_eq!(n.parse::<WeightDist>().unwrap().to_string(), n);
        }
        for n in ActDist::NAMES {
            assert_eq!(n.parse::<ActDist>().unwrap().to_string(), n);
        }
        let e = "laplce".parse::<WeightDist>().unwrap_err();
        assert_eq!(
            e,
            "unknown weight distribution `laplce` (did you mean `laplace`?); expected one of: gaussian, laplace, uniform"
        );
        assert!("relu"
            .parse::<ActDist>()
            .unwrap_err()
            .contains("halfnormal"));
    }

    /// The median of each law, by hand: where v = ½.
    #[test]
    fn medians_by_hand() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.abs().max(1.0);
        // |N(0,1)| median: Φ⁻¹(0.75) = 0.6744897502.
        assert!(close(
            Magnitude::acts(ActDist::HalfNormal, 0.3).at(0.5),
            0.6744897502
        ));
        // Survivors of 10% pruning-to-density (tail 0.1) of a Laplace with b = 1/√2·σ:
        // −b·ln(0.05).
        let m = Magnitude::weights(WeightDist::Laplace, 2.0, 0.1);
        assert!(close(m.at(0.5), -(2.0 / 2f64.sqrt()) * 0.05f64.ln()));
        // Uniform survivors of tail 0.2 with a = √3: a·(1 − 0.1).
        let m = Magnitude::weights(WeightDist::Uniform, 1.0, 0.2);
        assert!(close(m.at(0.5), 3f64.sqrt() * 0.9));
        // Rectified Laplace at density 0.25: μ = b·ln(0.5) < 0, positives Exp(b):
        // median b·ln 2.
        let b = std::f64::consts::FRAC_1_SQRT_2;
        let m = Magnitude::acts(ActDist::Laplace, 0.25);
        assert!(close(m.at(0.5), b * 2f64.ln()));
        // Rectified Laplace at density 0.75: μ = −b·ln(0.5) = b·ln 2; upper-tail
        // probability q = 0.375 ≤ ½: μ − b·ln(0.75).
        let m = Magnitude::acts(ActDist::Laplace, 0.75);
        assert!(close(m.at(0.5), b * 2f64.ln() - b * 0.75f64.ln()));
        // Rectified Gaussian at density 0.2: μ = Φ⁻¹(0.2) = −0.8416212336; median of
        // the positive part μ − Φ⁻¹(0.1) = −0.8416212336 + 1.2815515655.
        let m = Magnitude::acts(ActDist::Gaussian, 0.2);
        assert!(close(m.at(0.5), 1.2815515655 - 0.8416212336));
        assert_eq!(Magnitude::acts(ActDist::Uniform, 0.7).at(0.25), 0.75);
    }

    #[test]
    fn rectified_gaussian_at_half_density_is_the_half_normal_bit_for_bit() {
        let a = Magnitude::acts(ActDist::HalfNormal, 0.5);
        let b = Magnitude::acts(ActDist::Gaussian, 0.5);
        for i in 0..1000 {
            let u = i as f64 / 1000.0;
            // (At u = 0 one is −0.0 and the other +0.0: equal as numbers.)
            assert_eq!(a.at(u), b.at(u), "u = {u}");
            if u > 0.0 {
                assert_eq!(a.at(u).to_bits(), b.at(u).to_bits(), "u = {u}");
            }
        }
    }

    #[test]
    fn magnitudes_are_finite_and_nonnegative_at_the_ends() {
        let laws = [
            Magnitude::weights(WeightDist::Gaussian, 0.1, 1.0),
            Magnitude::weights(WeightDist::Laplace, 0.1, 1.0),
            Magnitude::weights(WeightDist::Uniform, 0.1, 1.0),
            Magnitude::weights(WeightDist::Laplace, 0.1, 0.0001),
            Magnitude::acts(ActDist::Gaussian, 1.0),
            Magnitude::acts(ActDist::Gaussian, 0.001),
            Magnitude::acts(ActDist::Laplace, 1.0),
            Magnitude::acts(ActDist::Laplace, 0.5),
            Magnitude::acts(ActDist::Uniform, 1.0),
        ];
        for m in laws {
            for u in [0.0, 0.5, 1.0 - f64::EPSILON] {
                let x = m.at(u);
                assert!(x.is_finite() && x >= 0.0, "{m:?} at {u}: {x}");
            }
        }
        // Capped: a density of 1 shapes values as Φ(3) does.
        assert_eq!(
            Magnitude::acts(ActDist::Gaussian, 1.0),
            Magnitude::acts(ActDist::Gaussian, RECTIFIED_CAP)
        );
    }
}
