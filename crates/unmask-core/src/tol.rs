//! Tolerances and the policy that governs them (statrs `prec`).
//!
//! Policy, in three lines:
//! 1. quantities that may be ~0 (the expected KL of a fine schedule) are compared with an
//!    absolute tolerance scaled by the curve's total correlation, [`ABS`] · max(1, TC);
//! 2. quantities that scale with n (TC, DTC) are compared with the relative tolerance [`REL`];
//! 3. integers (counts, breakpoints, step numbers) are compared exactly.

/// Absolute tolerance for quantities that may be zero (nats, scaled by max(1, TC) where a scale exists).
pub const ABS: f64 = 1e-12;

/// Relative tolerance for quantities that scale with the sequence length.
pub const REL: f64 = 1e-12;

/// Largest violation of `Z_1 = 0`, `Z_j ≥ 0` or `Z_j ≤ Z_{j+1}` (nats) that
/// [`InformationCurve::new`](crate::InformationCurve::new) treats as rounding noise and removes.
///
/// Exact curves computed in floating point (for example `H̄_1 + H̄_{j−1} − H̄_j`) wobble by a few
/// ulps of the entropies involved; anything larger is an error, and estimated curves go through
/// [`InformationCurve::repair`](crate::InformationCurve::repair) instead.
pub const CURVE_ABS: f64 = 1e-9;

/// Largest `TC + n·Z_n` (nats) a curve may carry.
///
/// Real curves are at most `n · ln q` nats, far below. The limit keeps eight orders of magnitude
/// between the curve's totals and `f64::MAX` for what the algorithms build from them: prefix
/// sums, block costs `(b − a + 1)·z[a]`, Lagrange penalties up to a few times TC, and their
/// bisection. Curves above it are rejected at construction, so no later sum can overflow.
pub const MAX_INFORMATION: f64 = 1e300;
