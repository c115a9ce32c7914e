//! Which curve a distribution spec gets, by one policy that the CLI and the Python bindings
//! share ([`DistSpec::curve`]): closed form, exact from the structure, structural Monte Carlo
//! (large random codes), or an estimate from draws and oracle calls (HMMs, mixtures).

use super::dist::{DistError, DistSpec, FileData};
use super::{CODE_CURVE_ORDERS, DEFAULT_CURVE_DRAWS, DEFAULT_CURVE_POINTS};
use crate::curve::InformationCurve;

/// Where the curve of a distribution spec came from ([`DistSpec::curve`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CurveSource {
    /// A closed form (products, parity, repeats, MDS and Reed–Solomon codes, `logfactor`).
    ClosedForm,
    /// Exact from the family's structure (Markov chains, small codes, tables).
    Exact,
    /// Monte Carlo over random column orders of a large random code, repaired.
    Structural {
        /// Orders drawn.
        orders: usize,
        /// Largest standard error of a value (nats).
        max_stderr: f64,
    },
    /// Estimated from draws and oracle calls (HMMs, mixtures), as `unmask estimate` does.
    MonteCarlo {
        /// Draws.
        draws: usize,
        /// Grid points.
        points: usize,
        /// Largest standard error of a value (nats).
        max_stderr: f64,
    },
}

impl CurveSource {
    /// True for closed forms and exact curves.
    pub fn is_exact(&self) -> bool {
        matches!(self, CurveSource::ClosedForm | CurveSource::Exact)
    }
}

impl std::fmt::Display for CurveSource {
    /// Empty for exact curves; otherwise how the estimate was made, in parentheses.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            CurveSource::ClosedForm | CurveSource::Exact => Ok(()),
            CurveSource::Structural { orders, max_stderr } => write!(
                f,
                " (estimated from {orders} random orders, stderr ≤ {max_stderr:.2e} nats)"
            ),
            CurveSource::MonteCarlo {
                draws,
                points,
                max_stderr,
            } => write!(
                f,
                " (estimated: {draws} draws, {points} grid points, stderr ≤ {max_stderr:.2e} nats; `unmask estimate` for more)"
            ),
        }
    }
}

impl DistSpec {
    /// The curve of a distribution, by the one policy the CLI and the bindings share: a closed
    /// form when there is one; else the exact curve from the family's structure; else, for
    /// large random codes, a Monte Carlo over [`CODE_CURVE_ORDERS`] random column orders; else
    /// (HMMs, mixtures) an estimate from [`DEFAULT_CURVE_DRAWS`] draws on a grid of
    /// [`DEFAULT_CURVE_POINTS`] points. Estimates are repaired onto the valid set. `file`
    /// carries the contents of [`DistSpec::file`]. Price it first with
    /// [`DistSpec::check_curve`].
    ///
    /// # Errors
    ///
    /// The family's build errors ([`DistError`]), or an estimate that cannot be made a curve.
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::DistSpec;
    /// use unmask_core::CurveSource;
    /// let (c, source) = DistSpec::parse("markov:n=16,q=3,stay=0.8")?.curve(None)?;
    /// assert_eq!((c.len(), source), (16, CurveSource::Exact));
    /// let (_, source) = DistSpec::parse("hmm:n=8,states=2,q=3")?.curve(None)?;
    /// assert!(!source.is_exact());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn curve(
        &self,
        file: Option<FileData>,
    ) -> Result<(InformationCurve, CurveSource), DistError> {
        if let Some(curve) = self.closed_curve() {
            return Ok((curve, CurveSource::ClosedForm));
        }
        let family = self.build(file)?;
        if let Some(curve) = family.exact_curve() {
            return Ok((curve, CurveSource::Exact));
        }
        if let Some((z, se)) = family.structural_estimate(CODE_CURVE_ORDERS, 0) {
            let (curve, _) = InformationCurve::repair(z)?;
            let max_stderr = se.iter().copied().fold(0.0, f64::max);
            return Ok((
                curve,
                CurveSource::Structural {
                    orders: CODE_CURVE_ORDERS,
                    max_stderr,
                },
            ));
        }
        let n = crate::Oracle::len(&family);
        let grid = crate::estimate::grid(n, DEFAULT_CURVE_POINTS.min(n.saturating_sub(1)).max(1));
        let estimate: crate::ProfileEstimate = match crate::estimate_profile(
            &family,
            |r| family.sample(r),
            &grid,
            crate::Runs::new(DEFAULT_CURVE_DRAWS, 0),
        ) {
            Ok(e) => e,
            Err(never) => match never {},
        };
        let max_stderr = estimate
            .z_points(crate::Loss::Entropy)
            .iter()
            .map(|p| p.2)
            .fold(0.0, f64::max);
        let (curve, _) = estimate.curve(crate::Loss::Entropy)?;
        Ok((
            curve,
            CurveSource::MonteCarlo {
                draws: DEFAULT_CURVE_DRAWS,
                points: grid.len(),
                max_stderr,
            },
        ))
    }
}
