mod dp;
mod lagrangian;

use crate::curve::InformationCurve;
use crate::kl::blocks_cost;
use crate::num::Sum;
use crate::schedule::Schedule;
use crate::tol;
use dp::layered_dp;
use lagrangian::{Search, balance};

/// Which algorithm computes the optimal schedule.
///
/// Optimal schedules: the k-step optimum, the fewest steps for an error target, the frontier.
///
/// # Definitions
///
/// With `z[a] = Z_{a+1}` (0-based) and prefix sums `P[m] = z[0] + … + z[m−1]`, a step that
/// reveals the tokens of 0-based reveal indices `a..b−1` costs
///
/// ```text
/// c(a, b) = Σ_{j=a}^{b−1} (z[j] − z[a]) = P[b] − P[a] − (b − a)·z[a]
/// ```
///
/// and a schedule costs the sum over its steps (CCL Theorem 4). The optimal k-step cost is
/// `F_k = min over 0 = N_0 < N_1 < … < N_k = n of Σ_i c(N_{i−1}, N_i)`.
///
/// Because Z is non-decreasing, c is **Monge**: for `a ≤ a' ≤ b ≤ b'`,
/// `c(a, b) + c(a', b') − c(a, b') − c(a', b) = (b' − b)(z[a] − z[a']) ≤ 0`. Hence `F_k` is
/// convex and non-increasing in k, optimal split points are monotone, and the Lagrangian
/// relaxation (a penalty λ per step) reaches every k.
///
/// # Algorithms ([`Method`])
///
/// - [`Method::Lagrangian`] (default): for a penalty λ the best schedule with any number of
///   steps satisfies `G(m) = λ + P[m] + min_{a<m} (G(a) − P[a] + a·z[a] − m·z[a])`, a lower
///   envelope of lines with non-increasing slopes `−z[a]` queried at increasing m, solved in
///   O(n) with a monotone convex hull. λ is searched on the convex frontier: a first probe
///   at the continuum estimate `λ ≈ C²/(2k²)` (`C = Σ sqrt(ΔZ)`), then power-law steps
///   (`λ ∝ k^−α`, α fitted in log–log through the two probed ends of the bracket) alternating
///   with chord steps (the slope between the two frontier points that bracket k: a chord probe
///   either lands on k, finds a new frontier vertex, or proves the bracket collinear). When the
///   bracketing points `p < k < q` are optimal for the same λ, the answer is spliced from them:
///   walking both paths, a step of the q-path nested in a step of the p-path exists where the
///   q-path's prefix and the p-path's suffix have exactly k steps, and by the Monge inequality
///   it is optimal. Total O(n · probes), typically 2–12 probes; memory O(n).
/// - [`Method::DivideConquer`]: the layered DP `F_t(m) = min_a F_{t−1}(a) + c(a, m)` with
///   monotone argmins found by divide and conquer, O(k·n·log n) time, O(k·n) memory.
/// - [`Method::BruteForce`]: the same DP scanning every split, O(k·n²). The reference.
///
/// # Tie-breaking
///
/// Several schedules can share the optimal cost (flat stretches of Z). The DP methods return,
/// among them, the one whose last step starts earliest, recursively (smallest split index).
/// The Lagrangian method returns a *balanced* optimal schedule: steps inside one flat stretch
/// of Z are made equal (larger first), and each boundary is then moved toward equal
/// neighbouring steps while the cost stays optimal (within [`tol::ABS`]` · max(1, TC)`). For
/// parity with 16 steps that is `17 × 15, 1` rather than an arbitrary optimal cut. All methods
/// agree on the cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Method {
    /// Lagrangian relaxation with an O(n) monotone-hull DP per probe (fast, O(n) memory).
    #[default]
    Lagrangian,
    /// Layered DP with divide-and-conquer argmins, O(k·n·log n) time and O(k·n) memory.
    DivideConquer,
    /// Layered DP scanning all splits, O(k·n²): the slow reference.
    BruteForce,
}

/// Invalid optimiser arguments.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OptimizeError {
    /// The step count is 0 or above n.
    #[error("steps = {steps} is out of range: it must be between 1 and n = {n}")]
    StepsOutOfRange {
        /// The requested number of steps.
        steps: usize,
        /// The curve length.
        n: usize,
    },
    /// The error target is negative, NaN or infinite.
    #[error("epsilon = {epsilon} must be a finite number ≥ 0")]
    BadEpsilon {
        /// The requested target.
        epsilon: f64,
    },
}

/// An optimal schedule with its cost and the work spent finding it.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimum {
    /// The schedule (exactly the requested number of non-empty steps).
    pub schedule: Schedule,
    /// Its exact expected KL (nats), recomputed with compensated summation.
    pub expected_kl: f64,
    /// Number of O(n) Lagrangian passes (0 for the DP methods).
    pub probes: usize,
    /// Number of block costs (or hull lines) evaluated: the running-time measure.
    pub evaluations: u64,
}

/// A point of the optimal frontier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrontierPoint {
    /// Number of steps k.
    pub steps: usize,
    /// Optimal expected KL with k steps, `F_k` (nats).
    pub expected_kl: f64,
}

/// The optimal schedule with exactly `steps` non-empty steps.
///
/// # Errors
///
/// [`OptimizeError::StepsOutOfRange`] unless `1 ≤ steps ≤ n`.
///
/// # Example
///
/// For `Z = (0, 0, ln 5, ln 5)` (Reed–Solomon, n = 4, k = 2) the best two steps reveal the two
/// free symbols first, then the rest, with zero error:
///
/// ```
/// use unmask_core::{optimal_schedule, InformationCurve, Method};
/// let l5 = 5f64.ln();
/// let z = InformationCurve::new(vec![0.0, 0.0, l5, l5])?;
/// let best = optimal_schedule(&z, 2, Method::Lagrangian)?;
/// assert_eq!(best.schedule.counts(), &[2, 2]);
/// assert_eq!(best.expected_kl, 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn optimal_schedule(
    curve: &InformationCurve,
    steps: usize,
    method: Method,
) -> Result<Optimum, OptimizeError> {
    let n = curve.len();
    if steps == 0 || steps > n {
        return Err(OptimizeError::StepsOutOfRange { steps, n });
    }
    let z = curve.z();
    let (path, probes, evaluations) = match method {
        Method::Lagrangian => {
            let mut search = Search::new(z);
            let mut path = search.fixed_steps(steps);
            let (probes, evaluations) = (search.probes, search.evaluations);
            drop(search);
            balance(z, &mut path);
            (path, probes, evaluations)
        }
        Method::DivideConquer => layered_dp(z, steps, true),
        Method::BruteForce => layered_dp(z, steps, false),
    };
    Ok(finish(z, &path, probes, evaluations))
}

/// The schedule with the fewest steps whose expected KL is at most `epsilon` (nats), and among
/// those the one with the least error.
///
/// "At most" is up to [`tol::ABS`]` · max(1, TC)`: tied optimal schedules reach the same cost
/// with different rounding, and a target equal to a frontier value must be met.
///
/// Runs the Lagrangian search on the convex frontier: O(n · probes).
///
/// # Errors
///
/// [`OptimizeError::BadEpsilon`] for a negative or non-finite target.
///
/// # Example
///
/// A repeated token (`Z = (0, 1, 1, 1, 1)`) is sampled exactly in two steps, `(1, n − 1)`:
///
/// ```
/// use unmask_core::{min_steps, InformationCurve};
/// let z = InformationCurve::new(vec![0.0, 1.0, 1.0, 1.0, 1.0])?;
/// let best = min_steps(&z, 0.0)?;
/// assert_eq!(best.schedule.counts(), &[1, 4]);
/// assert_eq!(min_steps(&z, 4.0)?.schedule.counts(), &[5]); // TC = 4 is within budget
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn min_steps(curve: &InformationCurve, epsilon: f64) -> Result<Optimum, OptimizeError> {
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(OptimizeError::BadEpsilon { epsilon });
    }
    let z = curve.z();
    let mut search = Search::new(z);
    // Optimal costs reached by different (tied) paths differ in the last bits; a target equal
    // to a frontier value must not miss it by rounding.
    let mut path = search.min_steps(epsilon + tol::ABS * curve.tc().max(1.0));
    let (probes, evaluations) = (search.probes, search.evaluations);
    drop(search);
    balance(z, &mut path);
    Ok(finish(z, &path, probes, evaluations))
}

/// The optimal expected KL `F_k` for every k in `steps`.
///
/// # Errors
///
/// [`OptimizeError::StepsOutOfRange`] if any k is 0 or above n.
///
/// # Example
///
/// ```
/// use unmask_core::{frontier, InformationCurve};
/// let z = InformationCurve::new(vec![0.0, 1.0, 2.0, 3.0])?; // a straight line
/// let f: Vec<f64> = frontier(&z, &[1, 2, 4])?.iter().map(|p| p.expected_kl).collect();
/// assert_eq!(f, vec![6.0, 2.0, 0.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn frontier(
    curve: &InformationCurve,
    steps: &[usize],
) -> Result<Vec<FrontierPoint>, OptimizeError> {
    let n = curve.len();
    if let Some(&bad) = steps.iter().find(|&&k| k == 0 || k > n) {
        return Err(OptimizeError::StepsOutOfRange { steps: bad, n });
    }
    let mut search = Search::new(curve.z());
    Ok(steps
        .iter()
        .map(|&k| {
            let path = search.fixed_steps(k);
            FrontierPoint {
                steps: k,
                expected_kl: path_cost(curve.z(), &path),
            }
        })
        .collect())
}

/// The default frontier grid: 1, 2, 4, 8, …, and n itself.
///
/// # Example
///
/// ```
/// assert_eq!(unmask_core::default_frontier_steps(10), vec![1, 2, 4, 8, 10]);
/// ```
pub fn default_frontier_steps(n: usize) -> Vec<usize> {
    let mut steps: Vec<usize> = std::iter::successors(Some(1usize), |&k| k.checked_mul(2))
        .take_while(|&k| k < n)
        .collect();
    if n > 0 {
        steps.push(n);
    }
    steps
}

fn finish(z: &[f64], path: &[usize], probes: usize, evaluations: u64) -> Optimum {
    let schedule =
        Schedule::from_breakpoints(z.len(), &path[1..]).expect("optimiser paths are valid");
    Optimum {
        expected_kl: path_cost(z, path),
        schedule,
        probes,
        evaluations,
    }
}

/// Exact cost of a path of breakpoints `0 = a_0 < a_1 < … < a_p = n`.
pub(crate) fn path_cost(z: &[f64], path: &[usize]) -> f64 {
    blocks_cost(z, path.windows(2).map(|w| (w[0], w[1] - w[0])))
}

/// Prefix sums `P[m] = z[0] + … + z[m−1]`, each entry correctly rounded from a compensated sum.
pub(crate) fn prefix_sums(z: &[f64]) -> Vec<f64> {
    let mut p = Vec::with_capacity(z.len() + 1);
    let mut s = Sum::default();
    p.push(0.0);
    for &v in z {
        s.add(v);
        p.push(s.value());
    }
    p
}

#[cfg(test)]
mod tests {
    #![allow(clippy::float_cmp)]
    use super::lagrangian::splice;
    use super::*;

    fn curve(z: &[f64]) -> InformationCurve {
        InformationCurve::new(z.to_vec()).unwrap()
    }

    #[test]
    fn bad_arguments() {
        let c = curve(&[0.0, 1.0]);
        assert_eq!(
            optimal_schedule(&c, 0, Method::Lagrangian).unwrap_err(),
            OptimizeError::StepsOutOfRange { steps: 0, n: 2 }
        );
        assert_eq!(
            optimal_schedule(&c, 3, Method::BruteForce).unwrap_err(),
            OptimizeError::StepsOutOfRange { steps: 3, n: 2 }
        );
        assert!(matches!(
            min_steps(&c, -1.0).unwrap_err(),
            OptimizeError::BadEpsilon { .. }
        ));
        assert!(min_steps(&c, f64::NAN).is_err());
        assert!(frontier(&c, &[1, 5]).is_err());
    }

    #[test]
    fn splice_counts_and_nesting() {
        let a = vec![0, 5, 10];
        let b = vec![0, 1, 2, 3, 4, 6, 7, 8, 9, 10];
        for k in 3..9 {
            let s = splice(&a, &b, k);
            assert_eq!(s.len(), k + 1);
            assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
            assert_eq!((s[0], s[k]), (0, 10));
        }
    }

    #[test]
    fn flat_and_jump_curves() {
        // Product: everything costs 0, ties everywhere.
        let flat = curve(&[0.0; 9]);
        for k in 1..=9 {
            for method in [
                Method::Lagrangian,
                Method::DivideConquer,
                Method::BruteForce,
            ] {
                let o = optimal_schedule(&flat, k, method).unwrap();
                assert_eq!(o.schedule.steps(), k);
                assert_eq!(o.schedule.wasted_steps(), 0);
                assert_eq!(o.expected_kl, 0.0);
            }
        }
        // Parity: (n − 1, 1) is exact.
        let mut z = vec![0.0; 8];
        z[7] = std::f64::consts::LN_2;
        let parity = curve(&z);
        let o = optimal_schedule(&parity, 2, Method::Lagrangian).unwrap();
        assert_eq!(o.expected_kl, 0.0);
        assert_eq!(o.schedule.counts().last(), Some(&1));
        for k in 2..=8 {
            assert_eq!(
                optimal_schedule(&parity, k, Method::Lagrangian)
                    .unwrap()
                    .expected_kl,
                0.0
            );
        }
        assert_eq!(min_steps(&parity, 0.0).unwrap().schedule.steps(), 2);
    }

    #[test]
    fn lagrangian_tie_break_is_balanced() {
        let mut z = vec![0.0; 256];
        z[255] = std::f64::consts::LN_2;
        let parity = curve(&z);
        let o = optimal_schedule(&parity, 16, Method::Lagrangian).unwrap();
        let mut expected = vec![17; 15];
        expected.push(1);
        assert_eq!(o.schedule.counts(), &expected[..]);
        let flat = optimal_schedule(&curve(&[0.0; 10]), 4, Method::Lagrangian).unwrap();
        assert_eq!(flat.schedule.counts(), &[3, 3, 2, 2]);
        assert_eq!(
            min_steps(&parity, 0.0).unwrap().schedule.counts(),
            &[255, 1]
        );
    }

    #[test]
    fn dp_tie_break_is_smallest_split() {
        let flat = curve(&[0.0; 5]);
        let o = optimal_schedule(&flat, 3, Method::BruteForce).unwrap();
        assert_eq!(o.schedule.counts(), &[1, 1, 3]);
        let o = optimal_schedule(&flat, 3, Method::DivideConquer).unwrap();
        assert_eq!(o.schedule.counts(), &[1, 1, 3]);
    }
}
