//! The theory's schedules: CCL Theorem 9 (TC and DTC, with their fixed-budget reading),
//! Theorem 10 (Austin's two phases) and the continuum square-root rule (`docs/theory.md` §4–§5).

use super::{PresetError, check_n, check_steps, llada, schedule, strictly_increasing};
use crate::curve::InformationCurve;
use crate::schedule::Schedule;

/// `ζ = 1 + ⌈estimate/ε⌉` (CCL Theorem 9), saturated at `n + 1` (all singletons).
///
/// An estimate of 0 gives ζ = 1, the product case (one step). Arguments must be validated
/// (estimate ≥ 0, ε > 0, both finite).
pub fn zeta_for(n: usize, estimate: f64, epsilon: f64) -> usize {
    let ratio = (estimate / epsilon).ceil();
    if ratio >= n as f64 {
        n + 1
    } else {
        1 + ratio as usize
    }
}

/// Number of geometric steps `λ = ⌊ln(n − ζ + 1) / ln(1/(1 − 1/ζ))⌋ + 2` for `2 ≤ ζ ≤ n`.
fn geometric_steps(n: usize, zeta: usize) -> usize {
    let ratio = ((n - zeta + 1) as f64).ln() / -(-1.0 / zeta as f64).ln_1p();
    ratio.floor() as usize + 2
}

/// CCL Theorem 9's TC schedule for a given ζ: big steps first, geometric decay.
///
/// ```text
/// N_0 = 0,  N_i = ⌊N_{i−1} + (n − N_{i−1})/ζ⌋  for i = 1..λ,  then +1 until n; drop zero steps
/// ```
///
/// ζ = 1 is one step (the product case); ζ ≥ n + 1 is all singletons. Guarantee: for every μ
/// with `TC ≤ (ζ − 1)·ε`, `E-KL ≤ ε`, i.e. `E-KL ≤ TC/(ζ − 1)`.
///
/// # Errors
///
/// `BadInteger` for ζ = 0.
///
/// # Example
///
/// ```
/// use unmask_core::preset::tc_schedule;
/// let s = tc_schedule(256, 2)?; // TĈ/ε = 1
/// assert_eq!(s.counts(), &[128, 64, 32, 16, 8, 4, 2, 1, 1]);
/// # Ok::<(), unmask_core::preset::PresetError>(())
/// ```
pub fn tc_schedule(n: usize, zeta: usize) -> Result<Schedule, PresetError> {
    check_zeta(n, zeta)?;
    if zeta == 1 {
        return Ok(schedule(vec![n]));
    }
    let mut decay = Decay::new(n, zeta);
    let mut counts: Vec<usize> = decay.by_ref().collect();
    counts.extend(std::iter::repeat_n(1, decay.remaining));
    Ok(schedule(counts))
}

fn check_zeta(n: usize, zeta: usize) -> Result<(), PresetError> {
    check_n(n)?;
    if zeta == 0 {
        return Err(PresetError::BadInteger {
            key: "zeta",
            value: 0,
            expected: "ζ ≥ 1",
        });
    }
    Ok(())
}

/// The geometric phase shared by the TC and DTC schedules: from `R_0 = n` tokens, step i takes
/// `⌊R_{i−1}/ζ⌋` of them (`R_i = R_{i−1} − ⌊R_{i−1}/ζ⌋`, which is both TC's
/// `N_i = ⌊N_{i−1} + (n − N_{i−1})/ζ⌋` with `R = n − N` and DTC's `N'_i = ⌈N'_{i−1}(1 − 1/ζ)⌉`),
/// for at most λ steps; what is left, `remaining`, goes in singletons.
///
/// Once fewer than ζ tokens remain every later geometric step is empty (the formula's zero
/// steps, which the schedules drop), so the iteration stops there: the work is O(steps of the
/// schedule), not O(λ) = O(ζ ln n), which is what lets `tc:steps=K` at n = 10⁷ be bisected over
/// ζ in milliseconds.
struct Decay {
    zeta: usize,
    left: usize,
    remaining: usize,
}

impl Decay {
    /// Requires ζ ≥ 2; ζ > n is all singletons (no geometric step).
    fn new(n: usize, zeta: usize) -> Self {
        let left = if zeta > n {
            0
        } else {
            geometric_steps(n, zeta)
        };
        Decay {
            zeta,
            left,
            remaining: n,
        }
    }

    /// Steps of the whole schedule (geometric then singletons), without building it.
    ///
    /// A run of equal geometric steps d = ⌊R/ζ⌋ lasts while R ≥ d·ζ, so it has
    /// `⌊(R − d·ζ)/d⌋ + 1` steps and is counted in one go: O(distinct step sizes) work, a few
    /// dozen at ζ near n, where the schedule has about n steps.
    fn steps(mut self) -> usize {
        let mut steps = 0;
        while self.left > 0 {
            let d = self.remaining / self.zeta;
            if d == 0 {
                break;
            }
            let run = ((self.remaining - d * self.zeta) / d + 1).min(self.left);
            steps += run;
            self.left -= run;
            self.remaining -= run * d;
        }
        steps + self.remaining
    }
}

impl Iterator for Decay {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let step = self.remaining / self.zeta;
        if self.left == 0 || step == 0 {
            return None;
        }
        self.left -= 1;
        self.remaining -= step;
        Some(step)
    }
}

/// CCL Theorem 9's DTC schedule for a given ζ: small steps first, geometric growth (the mirror
/// of [`tc_schedule`]).
///
/// ```text
/// N'_0 = n,  N'_i = ⌈N'_{i−1}(1 − 1/ζ)⌉  for i = 1..λ,  then −1 until 0;  reverse; drop zero steps
/// ```
///
/// Guarantee: `E-KL ≤ DTC/(ζ − 1)`.
///
/// # Errors
///
/// `BadInteger` for ζ = 0.
///
/// # Example
///
/// ```
/// use unmask_core::preset::dtc_schedule;
/// assert_eq!(dtc_schedule(256, 2)?.counts(), &[1, 1, 2, 4, 8, 16, 32, 64, 128]);
/// # Ok::<(), unmask_core::preset::PresetError>(())
/// ```
pub fn dtc_schedule(n: usize, zeta: usize) -> Result<Schedule, PresetError> {
    check_zeta(n, zeta)?;
    if zeta == 1 {
        return Ok(schedule(vec![n]));
    }
    let mut decay = Decay::new(n, zeta);
    let mut geometric: Vec<usize> = decay.by_ref().collect();
    geometric.reverse();
    let mut counts = vec![1; decay.remaining];
    counts.extend(geometric);
    Ok(schedule(counts))
}

/// The largest ζ whose TC (or DTC, with `dtc = true`) schedule has at most `steps` steps, and
/// that schedule: the fixed-budget reading of Theorem 9, `E-KL ≤ TC/(ζ − 1)` without knowing TC.
///
/// `steps = n` gives ζ = n + 1 (singletons). When even ζ = 2 needs more than `steps` steps, the
/// only schedule that fits is ζ = 1, one step. The step count is non-decreasing in ζ (checked
/// exhaustively for n ≤ 300 in the tests), so ζ is found by bisection over `[2, steps + 1]`
/// (a schedule with ζ has at least ζ − 1 steps).
///
/// # Errors
///
/// [`PresetError::StepsOutOfRange`].
///
/// # Example
///
/// ```
/// use unmask_core::preset::theory_budget;
/// let (s, zeta) = theory_budget(1024, 16, false)?;
/// assert!(s.steps() <= 16);
/// assert!(zeta >= 2);
/// # Ok::<(), unmask_core::preset::PresetError>(())
/// ```
pub fn theory_budget(n: usize, steps: usize, dtc: bool) -> Result<(Schedule, usize), PresetError> {
    check_steps(n, steps)?;
    let build = |zeta: usize| {
        if dtc {
            dtc_schedule(n, zeta)
        } else {
            tc_schedule(n, zeta)
        }
    };
    if steps == n {
        return Ok((build(n + 1)?, n + 1));
    }
    // TC and DTC with the same ζ have the same number of steps (one is the other reversed).
    let fits = |zeta: usize| Decay::new(n, zeta).steps() <= steps;
    if !fits(2) {
        return Ok((build(1)?, 1));
    }
    let (mut lo, mut hi) = (2, steps + 1);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok((build(lo)?, lo))
}

/// CCL Theorem 10's two-phase (Austin) schedule for a DTC estimate and target ε:
/// `δ² = sqrt(DTC·ε/n)`, first `⌈DTC/δ²⌉` singletons, then the rest in
/// `ℓ = ⌈δ²·n/ε⌉` near-equal blocks (larger first). About `2·sqrt(DTC·n/ε)` steps.
///
/// A DTC estimate of 0 is the product case (one step).
///
/// # Errors
///
/// `BadParameter` unless ε > 0 and DTC ≥ 0, both finite.
///
/// # Example
///
/// ```
/// use unmask_core::preset::austin;
/// // DTC·n/ε = 16: 4 singletons, then 4 blocks over the remaining 12 tokens.
/// assert_eq!(austin(16, 1.0, 1.0)?.counts(), &[1, 1, 1, 1, 3, 3, 3, 3]);
/// # Ok::<(), unmask_core::preset::PresetError>(())
/// ```
pub fn austin(n: usize, epsilon: f64, dtc: f64) -> Result<Schedule, PresetError> {
    check_n(n)?;
    check_theory(epsilon, dtc, "dtc")?;
    if dtc == 0.0 {
        return Ok(Schedule::one_step(n));
    }
    let delta2 = (dtc * epsilon / n as f64).sqrt();
    let singles = (dtc / delta2).ceil();
    if singles >= n as f64 {
        return Ok(Schedule::singletons(n));
    }
    let singles = singles as usize;
    let rest = n - singles;
    let blocks = ((delta2 * n as f64 / epsilon).ceil() as usize).clamp(1, rest);
    let (base, extra) = (rest / blocks, rest % blocks);
    let mut counts = vec![1; singles];
    counts.extend((0..blocks).map(|i| base + usize::from(i < extra)));
    Ok(schedule(counts))
}

/// Validates a theory schedule's (ε, estimate) pair.
pub(crate) fn check_theory(
    epsilon: f64,
    estimate: f64,
    key: &'static str,
) -> Result<(), PresetError> {
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return Err(PresetError::BadParameter {
            key: "epsilon",
            value: epsilon,
            expected: "a finite target > 0",
        });
    }
    if !(estimate.is_finite() && estimate >= 0.0) {
        return Err(PresetError::BadParameter {
            key,
            value: estimate,
            expected: "a finite estimate ≥ 0",
        });
    }
    Ok(())
}

/// The continuum ("square-root") rule: step density ∝ `sqrt(Z′)`. With the mass
/// `C(x) = Σ_{j ≤ x} sqrt(Z_{j+1} − Z_j)` (linear between integers), breakpoint t sits where
/// `C = (t/K)·C(n − 1)`, rounded and made strictly increasing. A fast approximate optimum with
/// `E-KL ≈ (∫ sqrt(Z′))² / (2K)`; a flat curve gets the uniform schedule.
///
/// # Errors
///
/// [`PresetError::StepsOutOfRange`].
///
/// # Example
///
/// ```
/// use unmask_core::{preset::sqrt_rule, InformationCurve};
/// // A single jump between Z_3 and Z_4: the two steps split exactly there.
/// let z = InformationCurve::new(vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0])?;
/// assert_eq!(sqrt_rule(&z, 2)?.counts(), &[3, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sqrt_rule(curve: &InformationCurve, steps: usize) -> Result<Schedule, PresetError> {
    let n = curve.len();
    check_steps(n, steps)?;
    let z = curve.z();
    // mass[x] = C(x) for x = 0..n−1.
    let mut mass = Vec::with_capacity(n);
    mass.push(0.0);
    let mut total = 0.0;
    for w in z.windows(2) {
        total += (w[1] - w[0]).max(0.0).sqrt();
        mass.push(total);
    }
    if total <= 0.0 {
        return llada(n, steps, None);
    }
    let mut inner = Vec::with_capacity(steps - 1);
    let mut x = 0;
    for t in 1..steps {
        let target = total * t as f64 / steps as f64;
        while x + 1 < n && mass[x + 1] < target {
            x += 1;
        }
        // C is linear on [x, x+1]; interpolate the crossing point.
        let position = if x + 1 < n && mass[x + 1] > mass[x] {
            x as f64 + (target - mass[x]) / (mass[x + 1] - mass[x])
        } else {
            x as f64
        };
        inner.push(position.round() as usize);
    }
    Ok(strictly_increasing(n, inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Theorem 9's formulas written out literally: λ geometric steps (zero steps included),
    /// then singletons, zero steps dropped at the end.
    fn literal(n: usize, zeta: usize, dtc: bool) -> Vec<usize> {
        if zeta == 1 {
            return vec![n];
        }
        if zeta > n {
            return vec![1; n];
        }
        let mut breakpoints = vec![0];
        let mut revealed = 0;
        for _ in 0..geometric_steps(n, zeta) {
            revealed += if dtc {
                let left = n - revealed;
                left - (left * (zeta - 1)).div_ceil(zeta)
            } else {
                (n - revealed) / zeta
            };
            breakpoints.push(revealed);
        }
        breakpoints.extend(revealed + 1..=n);
        let mut counts: Vec<usize> = breakpoints.windows(2).map(|w| w[1] - w[0]).collect();
        if dtc {
            counts.reverse();
        }
        counts.retain(|&c| c > 0);
        counts
    }

    #[test]
    fn early_stop_builds_the_literal_schedules() {
        for n in 1..=160 {
            for zeta in 1..=n + 2 {
                let tc = tc_schedule(n, zeta).unwrap();
                let dtc = dtc_schedule(n, zeta).unwrap();
                assert_eq!(
                    tc.counts(),
                    literal(n, zeta, false),
                    "tc n = {n}, ζ = {zeta}"
                );
                assert_eq!(
                    dtc.counts(),
                    literal(n, zeta, true),
                    "dtc n = {n}, ζ = {zeta}"
                );
                if zeta >= 2 {
                    assert_eq!(Decay::new(n, zeta).steps(), tc.steps());
                }
            }
        }
        for (n, zeta) in [(1_000_003, 2), (1_000_003, 977), (1_000_003, 999_999)] {
            let literal = literal(n, zeta, false);
            assert_eq!(tc_schedule(n, zeta).unwrap().counts(), literal);
            assert_eq!(Decay::new(n, zeta).steps(), literal.len());
        }
    }

    #[test]
    fn tc_vectors_from_design() {
        // docs/theory.md §5 table and §8.
        let s = tc_schedule(256, zeta_for(256, 1.0, 1.0)).unwrap();
        assert_eq!(s.steps(), 9);
        assert_eq!(&s.counts()[..6], &[128, 64, 32, 16, 8, 4]);
        assert_eq!(&s.counts()[5..], &[4, 2, 1, 1]);
        let s = tc_schedule(1024, zeta_for(1024, 10.0, 1.0)).unwrap();
        assert_eq!(s.steps(), 64);
        assert_eq!(&s.counts()[..6], &[93, 84, 77, 70, 63, 57]);
        let table: [(usize, f64, usize, [usize; 6]); 6] = [
            (256, 1.0, 9, [128, 64, 32, 16, 8, 4]),
            (256, 10.0, 49, [23, 21, 19, 17, 16, 14]),
            (1024, 1.0, 11, [512, 256, 128, 64, 32, 16]),
            (1024, 10.0, 64, [93, 84, 77, 70, 63, 57]),
            (4096, 10.0, 79, [372, 338, 307, 279, 254, 231]),
            (4096, 100.0, 529, [40, 40, 39, 39, 38, 38]),
        ];
        for (n, r, k, first) in table {
            let zeta = zeta_for(n, r, 1.0);
            let tc = tc_schedule(n, zeta).unwrap();
            assert_eq!(tc.steps(), k, "n = {n}, r = {r}");
            assert_eq!(&tc.counts()[..6], &first);
            assert!((tc.steps() as f64) <= crate::kl::theorem9_max_steps(n, r, 1.0));
            // The DTC schedule is the exact reverse.
            assert_eq!(
                dtc_schedule(n, zeta).unwrap(),
                tc.reversed(),
                "n = {n}, r = {r}"
            );
        }
    }

    #[test]
    fn theory_extremes() {
        assert_eq!(zeta_for(10, 0.0, 1.0), 1);
        assert_eq!(tc_schedule(10, 1).unwrap().counts(), &[10]);
        assert_eq!(zeta_for(10, 1e300, 1e-300), 11);
        assert_eq!(tc_schedule(10, 11).unwrap(), Schedule::singletons(10));
        assert_eq!(dtc_schedule(10, 11).unwrap(), Schedule::singletons(10));
        assert!(tc_schedule(10, 0).is_err());
    }

    /// The budget search bisects on ζ; that needs the step count to be monotone in ζ.
    #[test]
    fn theory_steps_monotone_in_zeta() {
        for n in 1..=300 {
            let mut last = (0, 0);
            for zeta in 1..=n + 1 {
                let (tc, dtc) = (
                    tc_schedule(n, zeta).unwrap(),
                    dtc_schedule(n, zeta).unwrap(),
                );
                assert!(
                    tc.steps() >= last.0,
                    "tc not monotone at n = {n}, ζ = {zeta}"
                );
                assert!(
                    dtc.steps() >= last.1,
                    "dtc not monotone at n = {n}, ζ = {zeta}"
                );
                assert!(tc.steps() + 1 >= zeta.min(n + 1) - 1);
                last = (tc.steps(), dtc.steps());
            }
        }
    }

    #[test]
    fn budget_is_largest_fitting_zeta() {
        for n in [1usize, 2, 7, 64, 200] {
            for k in 1..=n.min(40) {
                for dtc in [false, true] {
                    let (s, zeta) = theory_budget(n, k, dtc).unwrap();
                    assert!(s.steps() <= k, "n = {n}, k = {k}");
                    // Brute force: no larger ζ fits.
                    for bigger in zeta + 1..=n + 1 {
                        let t = if dtc {
                            dtc_schedule(n, bigger)
                        } else {
                            tc_schedule(n, bigger)
                        };
                        assert!(
                            t.unwrap().steps() > k,
                            "n = {n}, k = {k}, ζ = {bigger} fits"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn austin_edges() {
        assert_eq!(austin(10, 1.0, 0.0).unwrap().counts(), &[10]);
        assert_eq!(austin(10, 1e-6, 5.0).unwrap(), Schedule::singletons(10));
        assert!(austin(10, 0.0, 1.0).is_err());
        assert!(austin(10, 1.0, -1.0).is_err());
    }
}
