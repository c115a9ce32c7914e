use std::fmt;
use std::str::FromStr;

mod measured;

use crate::num;
use crate::tol;

/// The unit of information quantities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Unit {
    /// Natural logarithm (the library's internal unit).
    #[default]
    Nats,
    /// Base-2 logarithm.
    Bits,
}

impl Unit {
    /// How many of this unit make one nat: 1 for nats, 1/ln 2 ≈ 1.4427 for bits.
    pub fn per_nat(self) -> f64 {
        match self {
            Unit::Nats => 1.0,
            Unit::Bits => std::f64::consts::LOG2_E,
        }
    }

    /// Converts a value expressed in this unit to nats.
    pub fn to_nats(self, value: f64) -> f64 {
        value / self.per_nat()
    }

    /// Converts a value in nats to this unit.
    pub fn from_nats(self, value: f64) -> f64 {
        value * self.per_nat()
    }

    /// The unit's name as written in files and on the command line: `"nats"` or `"bits"`.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Nats => "nats",
            Unit::Bits => "bits",
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error returned when a unit name is neither `nats` nor `bits`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown unit {0:?}, expected \"nats\" or \"bits\"")]
pub struct UnitError(pub String);

/// One rule for unit names everywhere (flags, curve files, Python): `nats` or `bits`, singular
/// or plural, in any case, surrounding spaces ignored.
impl FromStr for Unit {
    type Err = UnitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nats" | "nat" => Ok(Unit::Nats),
            "bits" | "bit" => Ok(Unit::Bits),
            _ => Err(UnitError(s.to_string())),
        }
    }
}

/// The hint for a positive `Z_1`: such values look like masked losses.
fn losses_hint(value: f64) -> &'static str {
    if value > 0.0 {
        "; values that start positive look like a model's masked losses L(t): give those as \
         losses (Z_{t+1} = L(0) − L(t)): a \"losses\" curve file, a t,loss CSV, or \
         Curve.from_masked_losses in Python"
    } else {
        ""
    }
}

/// Why a curve could not be built. Indices are the paper's 1-based `j` (for `Z_j`) or `t`
/// (for `h(t)`, 0-based as in the paper).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CurveError {
    /// The curve has no points.
    #[error("the curve is empty")]
    Empty,
    /// A value is NaN or infinite.
    #[error("Z_{j} = {value} is not finite")]
    NotFinite {
        /// Paper index of the value.
        j: usize,
        /// The offending value.
        value: f64,
    },
    /// A value is negative (mutual information cannot be).
    #[error("Z_{j} = {value} is negative")]
    Negative {
        /// Paper index of the value.
        j: usize,
        /// The offending value.
        value: f64,
    },
    /// `Z_1` is not zero (a token shares no information with the empty set). A positive value
    /// is what a model's masked losses L(t) look like when given as Z by mistake; the message
    /// says how to give those.
    #[error(
        "Z_1 = {value}, expected 0 (a token shares no information with nothing revealed){}",
        losses_hint(*value)
    )]
    FirstNotZero {
        /// The offending value.
        value: f64,
    },
    /// The curve decreases (mutual information cannot drop when the conditioning set grows).
    #[error("Z_{j} = {value} is below Z_{} = {previous}; the curve must be non-decreasing (use repair for noisy estimates)", j - 1)]
    Decreasing {
        /// Paper index of the value that drops.
        j: usize,
        /// The offending value.
        value: f64,
        /// The value before it.
        previous: f64,
    },
    /// An entropy-profile value is NaN, infinite or negative.
    #[error("h({t}) = {value} is not a finite non-negative entropy")]
    BadEntropy {
        /// Number of revealed tokens of the value.
        t: usize,
        /// The offending value.
        value: f64,
    },
    /// A sparse point lies outside 1..=n.
    #[error("point j = {j} is outside 1..={n}")]
    PointOutOfRange {
        /// The point's index.
        j: usize,
        /// The curve length.
        n: usize,
    },
    /// Two sparse points share an index.
    #[error("point j = {j} appears twice")]
    DuplicatePoint {
        /// The repeated index.
        j: usize,
    },
    /// A masked loss is NaN or infinite.
    #[error("the loss at t = {t} revealed tokens is {value}, not a finite number")]
    LossNotFinite {
        /// Revealed tokens.
        t: usize,
        /// The value.
        value: f64,
    },
    /// A loss is given at t ≥ n revealed tokens (nothing left to predict).
    #[error("a loss at t = {t} revealed tokens leaves nothing masked (n = {n}); t must be below n")]
    RevealedOutOfRange {
        /// Revealed tokens.
        t: usize,
        /// The sequence length.
        n: usize,
    },
    /// No loss with nothing revealed.
    #[error("the losses must include t = 0 (mask ratio 1): Z_{{t+1}} = L(0) − L(t) needs L(0)")]
    NoBaselineLoss,
    /// Two losses at the same t.
    #[error("two losses are given at t = {t} revealed tokens")]
    DuplicateLoss {
        /// Revealed tokens.
        t: usize,
    },
    /// A mask ratio outside (0, 1].
    #[error("mask ratio {ratio} is not in (0, 1] (the fraction of tokens masked)")]
    BadMaskRatio {
        /// The value.
        ratio: f64,
    },
    /// The values are finite but so large that the curve's totals are not: TC + n·Z_j passes
    /// [`tol::MAX_INFORMATION`] at index j, so sums, penalties and products could overflow.
    #[error("Z_{j} = {value:e} is too large: TC + n·Z_j would exceed {max:e} nats (values this large are not information)", max = tol::MAX_INFORMATION)]
    TooLarge {
        /// Paper index of the first value at which the totals pass the limit.
        j: usize,
        /// That value.
        value: f64,
    },
    /// The requested length cannot be allocated.
    #[error("n = {n} is too long to hold in memory")]
    TooLong {
        /// The requested length.
        n: usize,
    },
}

/// A validated information curve `Z_1..Z_n` in nats.
///
/// The information curve Z of a distribution, the quantity every schedule is judged by.
///
/// # Definitions
///
/// For a distribution μ over Σⁿ, the information curve (CCL Definition 3) is
///
/// ```text
/// Z_j = E_{|S| = j−1, i ∉ S} I(X_i ; X_S)        j = 1..n   (S uniform, i uniform outside S)
///     = H̄_1 + H̄_{j−1} − H̄_j                     (Lemma 13, H̄_i = mean of H(X_S) over |S| = i)
/// ```
///
/// It is the average information one new token shares with j − 1 revealed random tokens. By Han's
/// inequality `0 = Z_1 ≤ Z_2 ≤ … ≤ Z_n ≤ H̄_1 ≤ ln q`. Its areas are the two correlations of μ
/// (Lemma 8):
///
/// ```text
/// TC  = Σ_j Z_j                  (area under the curve)
/// DTC = n·Z_n − TC               (area above it, capped at Z_n)
/// Σ_i I(X_i ; X_−i) = n·Z_n = TC + DTC
/// ```
///
/// What a model's masked loss measures is the entropy profile `h(t) = E H(X_i | X_S)` with
/// `|S| = t`, and `Z_{t+1} = h(0) − h(t)`.
///
/// # Conventions
///
/// Values are in **nats**. The code stores the curve 0-based: `z()[j − 1]` is the paper's `Z_j`.
/// Error variants report the paper's 1-based index `j`.
///
/// # Design
///
/// [`InformationCurve`] is valid by construction: finite, `Z_1 = 0`, non-negative and
/// non-decreasing. We chose to remove violations smaller than [`tol::CURVE_ABS`] (rounding noise
/// of exact computations) in the constructor and to reject anything larger, because every
/// algorithm downstream (the Monge property of the optimiser in particular) relies on exact
/// monotonicity. Noisy estimates are repaired only on request, with [`InformationCurve::repair`],
/// which reports how far it moved the data.
///
/// # Example
///
/// ```
/// use unmask_core::InformationCurve;
/// // Uniform over the even-weight words of 4 bits: Z = (0, 0, 0, ln 2).
/// let ln2 = std::f64::consts::LN_2;
/// let curve = InformationCurve::new(vec![0.0, 0.0, 0.0, ln2])?;
/// assert_eq!(curve.len(), 4);
/// assert!((curve.tc() - ln2).abs() < 1e-15);        // TC = 1 bit
/// assert!((curve.dtc() - 3.0 * ln2).abs() < 1e-15); // DTC = n − 1 bits
/// # Ok::<(), unmask_core::CurveError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct InformationCurve {
    z: Vec<f64>,
}

/// What [`InformationCurve::repair`] changed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Repair {
    /// The largest absolute change made to any value (nats); 0 when the input was already valid.
    pub max_correction: f64,
    /// Paper index `j` of that largest change (1 when nothing changed).
    pub at_j: usize,
}

impl InformationCurve {
    /// Builds a curve from `Z_1..Z_n` (nats, `z[j − 1] = Z_j`).
    ///
    /// Violations no larger than [`tol::CURVE_ABS`] are rounding noise and are removed (values
    /// clamped to 0, then to the running maximum); larger ones are errors.
    ///
    /// # Errors
    ///
    /// [`CurveError::Empty`], [`CurveError::NotFinite`], [`CurveError::Negative`],
    /// [`CurveError::FirstNotZero`], [`CurveError::Decreasing`] or [`CurveError::TooLarge`],
    /// naming the first offending index.
    pub fn new(mut z: Vec<f64>) -> Result<Self, CurveError> {
        if z.is_empty() {
            return Err(CurveError::Empty);
        }
        for (i, &v) in z.iter().enumerate() {
            if !v.is_finite() {
                return Err(CurveError::NotFinite { j: i + 1, value: v });
            }
        }
        for (i, &v) in z.iter().enumerate() {
            // `!(v >= -tol)` would also catch NaN, already excluded above.
            if v < -tol::CURVE_ABS {
                return Err(CurveError::Negative { j: i + 1, value: v });
            }
        }
        if z[0].abs() > tol::CURVE_ABS {
            return Err(CurveError::FirstNotZero { value: z[0] });
        }
        for i in 1..z.len() {
            if z[i] < z[i - 1] - tol::CURVE_ABS {
                return Err(CurveError::Decreasing {
                    j: i + 1,
                    value: z[i],
                    previous: z[i - 1],
                });
            }
        }
        z[0] = 0.0;
        let mut running = 0.0_f64;
        for v in &mut z {
            running = running.max(*v);
            *v = running;
        }
        // Every value is finite; their totals must be too, with room to spare (tol docs).
        let n = z.len() as f64;
        let mut total = 0.0_f64;
        for (i, &v) in z.iter().enumerate() {
            total += v;
            let within = total + n * v <= tol::MAX_INFORMATION;
            if !within {
                return Err(CurveError::TooLarge { j: i + 1, value: v });
            }
        }
        Ok(InformationCurve { z })
    }

    /// Number of positions n.
    pub fn len(&self) -> usize {
        self.z.len()
    }

    /// Always false: a curve has at least one point. Present for API symmetry with slices.
    pub fn is_empty(&self) -> bool {
        self.z.is_empty()
    }

    /// The values, 0-based: `z()[j − 1] = Z_j` (nats).
    pub fn z(&self) -> &[f64] {
        &self.z
    }

    /// The values converted to `unit`.
    pub fn values_in(&self, unit: Unit) -> Vec<f64> {
        self.z.iter().map(|&v| unit.from_nats(v)).collect()
    }

    /// `Z_n`, the information a token shares with all the others (nats).
    pub fn z_n(&self) -> f64 {
        *self.z.last().expect("non-empty by construction")
    }

    /// Total correlation `TC = Σ_j Z_j` (nats, compensated summation).
    pub fn tc(&self) -> f64 {
        num::sum(self.z.iter().copied())
    }

    /// Dual total correlation `DTC = n·Z_n − TC = Σ_j (Z_n − Z_j)` (nats).
    pub fn dtc(&self) -> f64 {
        let zn = self.z_n();
        num::sum(self.z.iter().map(|&v| zn - v))
    }

    /// `Σ_i I(X_i ; X_−i) = n·Z_n = TC + DTC` (nats), the Li–Cai quantity.
    pub fn sum_mi(&self) -> f64 {
        self.len() as f64 * self.z_n()
    }

    /// The entropy profile up to its unknown offset: `h(t) − h(0) = −Z_{t+1}`.
    ///
    /// A curve alone does not determine `h(0) = H̄_1`; pass it to get the profile.
    pub fn entropy_profile(&self, h0: f64) -> Vec<f64> {
        self.z.iter().map(|&v| h0 - v).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::float_cmp)]
    use super::*;

    #[test]
    fn bad_create() {
        let nan = f64::NAN;
        let cases: Vec<(Vec<f64>, CurveError)> = vec![
            (vec![], CurveError::Empty),
            (vec![0.0, nan], CurveError::NotFinite { j: 2, value: nan }),
            (
                vec![0.0, f64::INFINITY],
                CurveError::NotFinite {
                    j: 2,
                    value: f64::INFINITY,
                },
            ),
            (vec![0.0, -0.5], CurveError::Negative { j: 2, value: -0.5 }),
            (vec![0.1, 0.2], CurveError::FirstNotZero { value: 0.1 }),
            (
                vec![0.0, 0.5, 0.4],
                CurveError::Decreasing {
                    j: 3,
                    value: 0.4,
                    previous: 0.5,
                },
            ),
            // Finite values whose totals are not (the fuzzer's 1e308 curve).
            (
                vec![0.0, 0.0, 1e308, 1e308, 1e308],
                CurveError::TooLarge { j: 3, value: 1e308 },
            ),
            (
                vec![0.0, 3e299, 3e299],
                CurveError::TooLarge { j: 2, value: 3e299 },
            ),
        ];
        for (z, expected) in cases {
            let got = InformationCurve::new(z.clone()).unwrap_err();
            // NaN != NaN, so compare the rendered message for that case.
            assert_eq!(got.to_string(), expected.to_string(), "input {z:?}");
        }
    }

    #[test]
    fn rounding_noise_is_removed() {
        let c = InformationCurve::new(vec![1e-13, -1e-12, 0.5, 0.5 - 1e-11, 0.7]).unwrap();
        assert_eq!(c.z(), &[0.0, 0.0, 0.5, 0.5, 0.7]);
    }

    #[test]
    fn tc_dtc_identities() {
        let c = InformationCurve::new(vec![0.0, 0.1, 0.4, 0.4, 0.9]).unwrap();
        assert!((c.tc() - 1.8).abs() < 1e-15);
        assert!((c.dtc() - (5.0 * 0.9 - 1.8)).abs() < 1e-15);
        assert!((c.sum_mi() - (c.tc() + c.dtc())).abs() < 1e-15);
    }

    #[test]
    fn units_round_trip() {
        assert_eq!("bits".parse::<Unit>().unwrap(), Unit::Bits);
        // One rule: singular or plural, any case ("bit" was accepted and "BITS" refused).
        for (name, unit) in [
            ("BITS", Unit::Bits),
            (" Bit ", Unit::Bits),
            ("NATS", Unit::Nats),
        ] {
            assert_eq!(name.parse::<Unit>().unwrap(), unit, "{name:?}");
        }
        assert!("furlongs".parse::<Unit>().is_err());
        let x = 0.731;
        assert!((Unit::Bits.to_nats(Unit::Bits.from_nats(x)) - x).abs() < 1e-15);
        assert!((Unit::Bits.from_nats(std::f64::consts::LN_2) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn entropy_profile_errors() {
        assert_eq!(
            InformationCurve::from_entropy(&[1.0, -0.1]).unwrap_err(),
            CurveError::BadEntropy { t: 1, value: -0.1 }
        );
        // An increasing profile is a decreasing curve.
        assert!(matches!(
            InformationCurve::from_entropy(&[1.0, 0.5, 0.7]).unwrap_err(),
            CurveError::Decreasing { j: 3, .. }
        ));
        let c = InformationCurve::from_entropy(&[2.0, 1.5, 1.0]).unwrap();
        assert_eq!(c.entropy_profile(2.0), vec![2.0, 1.5, 1.0]);
    }

    #[test]
    fn sparse_points() {
        let c = InformationCurve::from_points(6, &[(4, 0.3), (2, 0.1)]).unwrap();
        let expected = [0.0, 0.1, 0.2, 0.3, 0.3, 0.3];
        for (a, b) in c.z().iter().zip(expected) {
            assert!((a - b).abs() < 1e-15, "{:?}", c.z());
        }
        assert_eq!(
            InformationCurve::from_points(3, &[(4, 0.1)]).unwrap_err(),
            CurveError::PointOutOfRange { j: 4, n: 3 }
        );
        assert_eq!(
            InformationCurve::from_points(3, &[(0, 0.1)]).unwrap_err(),
            CurveError::PointOutOfRange { j: 0, n: 3 }
        );
        assert_eq!(
            InformationCurve::from_points(3, &[(2, 0.1), (2, 0.2)]).unwrap_err(),
            CurveError::DuplicatePoint { j: 2 }
        );
        assert_eq!(
            InformationCurve::from_points(3, &[(1, 0.1)]).unwrap_err(),
            CurveError::FirstNotZero { value: 0.1 }
        );
        assert!(matches!(
            InformationCurve::from_points(5, &[(2, 0.5), (4, 0.2)]).unwrap_err(),
            CurveError::Decreasing { j: 4, .. }
        ));
        assert_eq!(
            InformationCurve::from_points(0, &[]).unwrap_err(),
            CurveError::Empty
        );
    }

    /// Isotonic regression by brute force: for a short vector, the projection onto the monotone
    /// cone minimises the squared distance; check PAVA against a fine grid search on 3 values.
    #[test]
    fn repair_is_a_projection() {
        let input = vec![0.4, 0.9, 0.2, 0.6];
        let (c, fix) = InformationCurve::repair(input.clone()).unwrap();
        let cost = |v: &[f64]| -> f64 { v.iter().zip(&input).map(|(a, b)| (a - b).powi(2)).sum() };
        let best = cost(c.z());
        let grid: Vec<f64> = (0..=100).map(|i| i as f64 / 100.0).collect();
        for &a in &grid {
            for &b in grid.iter().filter(|&&b| b >= a) {
                for &d in grid.iter().filter(|&&d| d >= b) {
                    assert!(cost(&[0.0, a, b, d]) >= best - 1e-12);
                }
            }
        }
        // Z_1 = 0.4 is pinned to 0 (the largest move); Z_2, Z_3 pool to 0.55.
        assert_eq!(fix.at_j, 1);
        assert!((fix.max_correction - 0.4).abs() < 1e-12);
        assert!((c.z()[1] - 0.55).abs() < 1e-12);
        let (same, none) = InformationCurve::repair(vec![0.0, 0.1, 0.2]).unwrap();
        assert_eq!(same.z(), &[0.0, 0.1, 0.2]);
        assert_eq!(none.max_correction, 0.0);
        assert!(InformationCurve::repair(vec![0.0, f64::NAN]).is_err());
        // Negative stretches are clamped at 0.
        let (c, _) = InformationCurve::repair(vec![0.0, -0.3, -0.1, 0.2]).unwrap();
        assert_eq!(c.z(), &[0.0, 0.0, 0.0, 0.2]);
    }
}
