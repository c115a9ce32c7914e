//! Which curve a distribution spec gets, by one policy that the CLI and the Python bindings
//! share ([`DistSpec::curve`]): closed form, exact from the structure, structural Monte Carlo
//! (large random codes), or an estimate from draws and oracle calls (HMMs, mixtures).

use super::dist::{DistError, DistSpec, FileData};
use super::{CODE_CURVE_ORDERS, DEFAULT_CURVE_DRAWS, DEFAULT_CURVE_POINTS};
use crate::blockwise::BlockCurves;
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

impl DistSpec {
    /// The conditional block curves of a semi-autoregressive decoder with blocks of `block`
    /// tokens (`docs/theory.md` §9), where the family gives them in closed form; None for other
    /// families or when `block` does not divide n.
    ///
    /// # Formula
    ///
    /// With p = (b − 1)·L tokens of prefix revealed and the later blocks marginalised out:
    /// products: Z^(b) ≡ 0; a repeated symbol: block 1 is the repeat curve, later blocks are
    /// determined by the prefix (Z ≡ 0); parity: blocks before the last are independent uniform
    /// bits (Z ≡ 0), the last has its parity fixed by the prefix (Z^(m)_L = ln 2); a
    /// k-dimensional MDS code (and Reed–Solomon): any k − p coordinates outside the prefix are
    /// independent uniform and the rest determined, so Z^(b)_j = ln q·1[j > k − p] (≡ 0 once
    /// p ≥ k); a stay-or-move Markov chain: exact, from the chain's mutual informations
    /// (`Markov::block_curves`). Checked against the conditional entropies of the exact law.
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::DistSpec;
    /// let blocks = DistSpec::parse("parity:n=8")?.closed_block_curves(4).unwrap();
    /// assert_eq!(blocks.curves()[0].z(), &[0.0; 4]);
    /// assert_eq!(blocks.curves()[1].z()[3], std::f64::consts::LN_2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn closed_block_curves(&self, block: usize) -> Option<BlockCurves> {
        let n = self.len()?;
        if block == 0 || !n.is_multiple_of(block) {
            return None;
        }
        let m = n / block;
        let zeros = || vec![0.0; block];
        let curves: Vec<Vec<f64>> = match *self {
            DistSpec::Product { .. } => (0..m).map(|_| zeros()).collect(),
            DistSpec::Repeat { q, .. } => (0..m)
                .map(|b| {
                    let mut z = if b == 0 {
                        vec![(q as f64).ln(); block]
                    } else {
                        zeros()
                    };
                    z[0] = 0.0;
                    z
                })
                .collect(),
            DistSpec::Parity { .. } => (0..m)
                .map(|b| {
                    let mut z = zeros();
                    if b + 1 == m {
                        z[block - 1] = std::f64::consts::LN_2;
                    }
                    z
                })
                .collect(),
            DistSpec::Mds { k, q, .. } | DistSpec::Rs { k, q, .. } => (0..m)
                .map(|b| {
                    let free = k.saturating_sub(b * block);
                    (1..=block)
                        .map(|j| {
                            if free > 0 && j > free {
                                (q as f64).ln()
                            } else {
                                0.0
                            }
                        })
                        .collect()
                })
                .collect(),
            DistSpec::Markov {
                n,
                chain: crate::ChainSpec::Stay { q, stay },
            } => {
                let chain =
                    crate::dist::Markov::new(n, crate::dist::Transition::Stay { q, stay }).ok()?;
                return BlockCurves::new(chain.block_curves(block)).ok();
            }
            _ => return None,
        };
        let curves = curves
            .into_iter()
            .map(|z| InformationCurve::new(z).expect("closed-form block curves are valid"))
            .collect();
        BlockCurves::new(curves).ok()
    }
}
