use crate::curve::InformationCurve;
use crate::num::{self, Sum};
use crate::schedule::Schedule;

/// A schedule and a curve of different lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the schedule reveals {schedule} tokens but the curve has n = {curve}")]
pub struct LengthMismatch {
    /// Length of the curve.
    pub curve: usize,
    /// Tokens revealed by the schedule.
    pub schedule: usize,
}

fn check(curve: &InformationCurve, schedule: &Schedule) -> Result<(), LengthMismatch> {
    if curve.len() == schedule.len() {
        Ok(())
    } else {
        Err(LengthMismatch {
            curve: curve.len(),
            schedule: schedule.len(),
        })
    }
}

/// Cost of one block starting at 0-based reveal index `start` with `count` tokens:
/// `Σ_{j=start}^{start+count−1} (z[j] − z[start])`.
pub(crate) fn block_cost(z: &[f64], start: usize, count: usize) -> f64 {
    if count <= 1 {
        return 0.0;
    }
    let left = z[start];
    num::sum(z[start + 1..start + count].iter().map(|&v| v - left))
}

/// Exact expected KL (nats) of `schedule` on `curve` (CCL Theorem 16). Runs in O(n).
///
/// # Errors
///
/// [`LengthMismatch`] when the schedule does not reveal exactly `curve.len()` tokens.
///
/// # Example
///
/// The paper's Reed–Solomon instance (n = 4, k = 2 over F_5) has `Z = (0, 0, ln 5, ln 5)`:
///
/// ```
/// use unmask_core::{expected_kl, InformationCurve, Schedule};
/// let l5 = 5f64.ln();
/// let z = InformationCurve::new(vec![0.0, 0.0, l5, l5])?;
/// let kl = |c: Vec<usize>| expected_kl(&z, &Schedule::from_counts(c).unwrap()).unwrap();
/// assert_eq!(kl(vec![2, 2]), 0.0);                 // reveal the 2 free symbols, then the rest
/// assert!((kl(vec![3, 1]) - l5).abs() < 1e-15);    // 2.322 bits
/// assert!((kl(vec![1, 3]) - 2.0 * l5).abs() < 1e-15); // 4.644 bits = TC
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// The exact expected KL error of a schedule, its per-step breakdown, and the known bounds.
///
/// # Definitions
///
/// The random-order sampler cuts a uniformly random permutation of the n positions into blocks
/// of sizes `s_1..s_k` and draws the tokens of each block independently from their conditional
/// marginals given the earlier blocks. With `N_0 = 0`, `N_i = s_1 + … + s_i`, CCL Theorem 16
/// gives the expected KL error over the random cut exactly:
///
/// ```text
/// E_cut KL(μ ‖ ν_cut) = Σ_i Σ_{j=1..s_i} ( Z_{N_{i−1}+j} − Z_{N_{i−1}+1} )
///                     = TC − Σ_i s_i · Z_{N_{i−1}+1}
/// ```
///
/// It is the L1 error of the left-endpoint step approximation of Z with k pieces (Theorem 4).
/// A step of size 1 costs 0, one step of size n costs TC, zero-size steps cost nothing. The
/// sampler's own output law (the mixture over cuts) has `KL(μ ‖ ν) ≤` this value by convexity;
/// this module computes the expected value over cuts.
///
/// # Numerics
///
/// [`expected_kl`] sums the non-negative terms `Z_{N+j} − Z_{N+1}` with compensated summation,
/// so the result is accurate to a few ulps of itself even when it is tiny next to TC (the second
/// form, a difference of two large sums, would lose that).
pub fn expected_kl(curve: &InformationCurve, schedule: &Schedule) -> Result<f64, LengthMismatch> {
    check(curve, schedule)?;
    Ok(blocks_cost(curve.z(), schedule.blocks()))
}

/// Total cost of `(start, count)` blocks: every term `z[j] − z[start]` in one compensated sum,
/// in order, so that equal schedules give bit-identical results wherever they are evaluated.
pub(crate) fn blocks_cost(z: &[f64], blocks: impl Iterator<Item = (usize, usize)>) -> f64 {
    let mut total = Sum::default();
    for (start, count) in blocks {
        if count > 1 {
            let left = z[start];
            for &v in &z[start + 1..start + count] {
                total.add(v - left);
            }
        }
    }
    total.value()
}

/// One step's share of the expected KL.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepCost {
    /// 1-based step number.
    pub step: usize,
    /// Tokens revealed before the step (`N_{i−1}`).
    pub start: usize,
    /// Tokens revealed by the step (`s_i`).
    pub count: usize,
    /// `Σ_{j=1..s_i} (Z_{N_{i−1}+j} − Z_{N_{i−1}+1})` (nats).
    pub expected_kl: f64,
}

/// The expected KL of every step; their sum is [`expected_kl`]. Runs in O(n).
///
/// # Errors
///
/// [`LengthMismatch`] as for [`expected_kl`].
///
/// # Example
///
/// ```
/// use unmask_core::{step_costs, InformationCurve, Schedule};
/// let z = InformationCurve::new(vec![0.0, 1.0, 2.0, 3.0])?;
/// let costs = step_costs(&z, &Schedule::from_counts(vec![2, 0, 2])?)?;
/// let kl: Vec<f64> = costs.iter().map(|c| c.expected_kl).collect();
/// assert_eq!(kl, vec![1.0, 0.0, 1.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn step_costs(
    curve: &InformationCurve,
    schedule: &Schedule,
) -> Result<Vec<StepCost>, LengthMismatch> {
    check(curve, schedule)?;
    Ok(schedule
        .blocks()
        .enumerate()
        .map(|(i, (start, count))| StepCost {
            step: i + 1,
            start,
            count,
            expected_kl: block_cost(curve.z(), start, count),
        })
        .collect())
}

/// The Li–Cai bound as recovered by CCL Theorem 31:
///
/// ```text
/// E-KL ≤ (2^⌈log2 s_max⌉ − 1) / n · (TC + DTC)
/// ```
///
/// # Errors
///
/// [`LengthMismatch`] as for [`expected_kl`].
///
/// # Example
///
/// ```
/// use unmask_core::{li_cai_bound, InformationCurve, Schedule};
/// let z = InformationCurve::new(vec![0.0, 1.0, 1.0, 1.0])?; // repeated token, "ln q" = 1
/// // s_max = 3 rounds up to 4: (4 − 1)/4 · n·Z_n = 3
/// assert_eq!(li_cai_bound(&z, &Schedule::from_counts(vec![1, 3])?)?, 3.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn li_cai_bound(curve: &InformationCurve, schedule: &Schedule) -> Result<f64, LengthMismatch> {
    check(curve, schedule)?;
    let pow = schedule.max_count().next_power_of_two() as f64;
    Ok((pow - 1.0) / curve.len() as f64 * curve.sum_mi())
}

/// The dimension-free bound `E-KL ≤ (s_max − 1)·Z_n` (proof of CCL Theorem 31).
///
/// # Errors
///
/// [`LengthMismatch`] as for [`expected_kl`].
///
/// # Example
///
/// ```
/// use unmask_core::{smax_bound, InformationCurve, Schedule};
/// let z = InformationCurve::new(vec![0.0, 1.0, 1.0, 1.0])?;
/// assert_eq!(smax_bound(&z, &Schedule::from_counts(vec![1, 3])?)?, 2.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn smax_bound(curve: &InformationCurve, schedule: &Schedule) -> Result<f64, LengthMismatch> {
    check(curve, schedule)?;
    Ok(schedule.max_count().saturating_sub(1) as f64 * curve.z_n())
}

/// CCL Theorem 9's step bound for the TC (or DTC) schedule built from an estimate `T̂` and a
/// target `ε`: `k ≤ 2 + (1 + ln n)(1 + ⌈T̂/ε⌉)`.
///
/// # Example
///
/// ```
/// // n = 256, T̂/ε = 1: at most 2 + (1 + ln 256)·2 ≈ 15.09 steps (the schedule takes 9).
/// let k = unmask_core::theorem9_max_steps(256, 1.0, 1.0);
/// assert!((k - 15.0904).abs() < 1e-4);
/// ```
pub fn theorem9_max_steps(n: usize, estimate: f64, epsilon: f64) -> f64 {
    2.0 + (1.0 + (n as f64).ln()) * (1.0 + (estimate / epsilon).ceil())
}

/// What a schedule's expected KL cannot see past the last measured point of a sparse curve.
///
/// A curve built from points measured up to `j = J < n` is held flat after `J` (no information
/// is invented), so steps that reveal tokens past `J` look free there. This reports how many
/// steps and tokens lie in that unmeasured tail, the expected KL as computed (flat tail), and
/// the expected KL under a stated alternative: Z keeps rising past `J` at the slope of its last
/// measured segment (linear extrapolation; points at `j = n` remove the question).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnmeasuredTail {
    /// The last measured position J.
    pub measured_through: usize,
    /// Tokens past J (n − J).
    pub tokens: usize,
    /// Steps that reveal at least one of them.
    pub steps: usize,
    /// Expected KL with the tail held flat (what the reports show), nats.
    pub expected_kl_flat: f64,
    /// Expected KL with the tail extended at the last measured slope, nats.
    pub expected_kl_linear: f64,
}

/// [`UnmeasuredTail`] of `schedule` on a curve measured at the positions `measured` (1-based
/// j, any order); None when the curve is measured at j = n (or nothing is listed).
///
/// # Errors
///
/// [`LengthMismatch`] when the schedule does not fit the curve.
///
/// # Example
///
/// ```
/// use unmask_core::{unmeasured_tail, InformationCurve, Schedule};
/// // Measured at j = 2 and 4 of 8: Z rises 0.5 per token, then is held flat at 1.5.
/// let c = InformationCurve::from_points(8, &[(2, 0.5), (4, 1.5)])?;
/// let s = Schedule::from_counts(vec![4, 4])?;
/// let tail = unmeasured_tail(&c, &[2, 4], &s)?.unwrap();
/// assert_eq!((tail.measured_through, tail.tokens, tail.steps), (4, 4, 1));
/// assert_eq!(tail.expected_kl_flat, 3.0);   // first step 0 + 0.5 + 1 + 1.5, the flat second 0
/// // Rising on at 0.5 per token, the second step would add 0 + 0.5 + 1 + 1.5.
/// assert_eq!(tail.expected_kl_linear, 6.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn unmeasured_tail(
    curve: &InformationCurve,
    measured: &[usize],
    schedule: &Schedule,
) -> Result<Option<UnmeasuredTail>, LengthMismatch> {
    let n = curve.len();
    let flat = expected_kl(curve, schedule)?;
    let Some(&last) = measured.iter().filter(|&&j| j <= n).max() else {
        return Ok(None);
    };
    if last >= n {
        return Ok(None);
    }
    let z = curve.z();
    // The segment before J: from the previous measured point (or the implied Z_1 = 0).
    let previous = measured
        .iter()
        .copied()
        .filter(|&j| j < last)
        .max()
        .unwrap_or(1);
    let slope = if last > previous {
        (z[last - 1] - z[previous - 1]) / (last - previous) as f64
    } else {
        0.0
    };
    let extended: Vec<f64> = (1..=n)
        .map(|j| {
            if j <= last {
                z[j - 1]
            } else {
                z[last - 1] + slope * (j - last) as f64
            }
        })
        .collect();
    let linear_curve =
        InformationCurve::new(extended).expect("a monotone curve extended at a slope ≥ 0");
    let steps = schedule.blocks().filter(|&(a, c)| a + c > last).count();
    Ok(Some(UnmeasuredTail {
        measured_through: last,
        tokens: n - last,
        steps,
        expected_kl_flat: flat,
        expected_kl_linear: expected_kl(&linear_curve, schedule)?,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::float_cmp)]
    use super::*;

    fn curve(z: &[f64]) -> InformationCurve {
        InformationCurve::new(z.to_vec()).unwrap()
    }

    /// The definition, written the other way: TC − Σ s_i Z_{N_{i−1}+1}.
    fn closed_form(c: &InformationCurve, s: &Schedule) -> f64 {
        let z = c.z();
        c.tc()
            - s.blocks()
                .map(|(a, k)| if k > 0 { k as f64 * z[a] } else { 0.0 })
                .sum::<f64>()
    }

    #[test]
    fn test_vectors_in_bits() {
        // docs/theory.md §8: RS n = 4, k = 2 over F_5.
        let l5 = 5f64.ln();
        let c = curve(&[0.0, 0.0, l5, l5]);
        let bits = |counts: Vec<usize>| {
            crate::Unit::Bits
                .from_nats(expected_kl(&c, &Schedule::from_counts(counts).unwrap()).unwrap())
        };
        assert_eq!(bits(vec![2, 2]), 0.0);
        assert!((bits(vec![1, 3]) - 4.644).abs() < 5e-4);
        assert!((bits(vec![3, 1]) - 2.322).abs() < 5e-4);
        assert!((bits(vec![4]) - 4.644).abs() < 5e-4);
        assert_eq!(bits(vec![1, 1, 1, 1]), 0.0);
    }

    #[test]
    fn repeated_token_constant_steps() {
        // Z = (0, ln q, …): a constant step s costs (s − 1)·ln q per step that starts at 0,
        // and later steps cost nothing (their left value is already ln q).
        let q = 7f64.ln();
        let mut z = vec![q; 12];
        z[0] = 0.0;
        let c = curve(&z);
        for s in 1..=12usize {
            let mut counts = vec![s; 12 / s];
            if 12 % s > 0 {
                counts.push(12 % s);
            }
            let kl = expected_kl(&c, &Schedule::from_counts(counts).unwrap()).unwrap();
            assert!((kl - (s - 1) as f64 * q).abs() < 1e-12, "s = {s}");
        }
    }

    #[test]
    fn agrees_with_closed_form_and_steps() {
        let c = curve(&[0.0, 0.1, 0.15, 0.6, 0.6, 0.9, 1.3]);
        for counts in [
            vec![7],
            vec![1; 7],
            vec![3, 0, 4],
            vec![2, 2, 2, 1],
            vec![1, 5, 1],
        ] {
            let s = Schedule::from_counts(counts).unwrap();
            let kl = expected_kl(&c, &s).unwrap();
            assert!((kl - closed_form(&c, &s)).abs() < 1e-14);
            let per: f64 = step_costs(&c, &s)
                .unwrap()
                .iter()
                .map(|x| x.expected_kl)
                .sum();
            assert!((kl - per).abs() < 1e-14);
            assert!(kl <= li_cai_bound(&c, &s).unwrap() + 1e-14);
            assert!(kl <= smax_bound(&c, &s).unwrap() + 1e-14);
        }
        assert_eq!(
            expected_kl(&c, &Schedule::from_counts(vec![3]).unwrap()),
            Err(LengthMismatch {
                curve: 7,
                schedule: 3
            })
        );
    }
}
