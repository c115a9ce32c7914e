//! Samplers whose counts are random: MDLM/D3PM-style ancestral unmasking.
//!
//! # Definitions
//!
//! At step i every still-masked token is revealed independently with probability `p_i`, so the
//! count is Binomial(n − N_{i−1}, p_i); a final sweep (MDLM's noise removal) reveals whatever is
//! left. The positions are uniformly random given the counts, so conditionally on the counts
//! this is CCL's random-order sampler, and by Theorem 16
//!
//! ```text
//! E-KL = E_counts Σ_i c(N_{i−1}, s_i),     c(a, s) = Σ_{j=a}^{a+s−1} (z[j] − z[a])
//! ```
//!
//! computed exactly by a forward recursion over the number revealed (the law of `N_i`), with
//! binomial laws evaluated from their mode outward and cut where a term falls below 10⁻¹⁸ of
//! the mode (the neglected mass is below 10⁻¹⁵ for every n this tool handles).
//!
//! MDLM (`diffusion.py`, `Diffusion._sample`, `_ddpm_update`, `_ddpm_caching_update`;
//! `noise_schedule.py`): on `timesteps = linspace(1, eps, T+1)` with the sampler's `eps = 10⁻⁵`,
//! step i unmasks with probability `(mc_t − mc_s)/mc_t`, with move chance `mc(t) = (1 − ε)t`
//! (log-linear noise, the default) or `1 − ε − (1 − ε)cos(πt/2)` (cosine), where ε = 10⁻³ is the
//! *noise schedule's* floor, a separate parameter; the noise-removal pass at the end reveals the
//! rest. MDLM's cached loop (`ddpm_cache`, log-linear only) calls the model at the first step,
//! again after every step that changed the sequence, and once for the noise removal; the
//! uncached loop (`ddpm`, any noise) calls it at every step and for the noise removal
//! ([`BinomialSchedule::expected_model_calls`]). `docs/peers.md` has the sources.

use crate::curve::InformationCurve;
use crate::kl::LengthMismatch;
use crate::num::Sum;
use crate::preset::PresetError;

/// MDLM's noise schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noise {
    /// `σ(t) = −log1p(−(1 − ε)t)`: move chance `(1 − ε)t` (MDLM's default).
    LogLinear,
    /// `σ(t) = −log(ε + (1 − ε)cos(πt/2))`.
    Cosine,
}

/// A schedule with Binomial counts: step i reveals each masked token with probability `p_i`,
/// then a final sweep reveals the rest. Its expected KL over counts and orders is Theorem 16
/// averaged over the law of the counts, computed exactly ([`BinomialSchedule::expected_kl`]).
#[derive(Debug, Clone, PartialEq)]
pub struct BinomialSchedule {
    probs: Vec<f64>,
    final_sweep: bool,
    /// The model is called again only after a step that revealed something (MDLM's cache).
    cached: bool,
}

/// Most steps an MDLM schedule may have (MDLM runs T = 1000 to 10 000).
pub const MAX_STEPS: usize = 10_000_000;

/// The noise floor ε of MDLM's noise schedules (`LogLinearNoise(eps=1e-3)`, `CosineNoise`).
pub const MDLM_NOISE_EPS: f64 = 1e-3;

/// The last time of MDLM's sampling grid (`Diffusion._sample(num_steps, eps=1e-5)`).
pub const MDLM_GRID_EPS: f64 = 1e-5;

impl BinomialSchedule {
    /// Per-step unmasking probabilities (each in [0, 1]), optionally followed by a final sweep.
    ///
    /// # Errors
    ///
    /// `BadParameter` for a probability outside [0, 1] or NaN; `StepsOutOfRange` with no steps.
    pub fn new(probs: Vec<f64>, final_sweep: bool) -> Result<Self, PresetError> {
        if probs.is_empty() {
            return Err(PresetError::StepsOutOfRange { steps: 0, n: 0 });
        }
        if let Some(&p) = probs.iter().find(|p| !(0.0..=1.0).contains(*p)) {
            return Err(PresetError::BadParameter {
                key: "p",
                value: p,
                expected: "a probability in [0, 1]",
            });
        }
        Ok(BinomialSchedule {
            probs,
            final_sweep,
            cached: false,
        })
    }

    /// MDLM's ancestral sampler with `steps` steps on `linspace(1, eps, steps + 1)` and the
    /// noise schedule with floor `noise_eps`, then the noise-removal sweep. MDLM's defaults are
    /// [`MDLM_GRID_EPS`] and [`MDLM_NOISE_EPS`]. Log-linear noise runs MDLM's cached loop
    /// (`ddpm_cache`), cosine noise the uncached one (`ddpm`; the cache asserts log-linear).
    ///
    /// # Errors
    ///
    /// `StepsOutOfRange` for 0 or more than [`MAX_STEPS`] steps; `BadParameter` unless
    /// `0 < eps < 1` and `0 ≤ noise_eps < 1`.
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::preset::{BinomialSchedule, Noise};
    /// use unmask_core::DistSpec;
    /// let s = BinomialSchedule::mdlm(64, Noise::LogLinear, 1e-5, 1e-3)?;
    /// let parity = DistSpec::parse("parity:n=32")?.closed_curve().unwrap();
    /// let kl = s.expected_kl(&parity)?;
    /// assert!(kl > 0.0 && kl < std::f64::consts::LN_2); // last token sometimes shares a step
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn mdlm(steps: usize, noise: Noise, eps: f64, noise_eps: f64) -> Result<Self, PresetError> {
        if steps == 0 || steps > MAX_STEPS {
            return Err(PresetError::StepsOutOfRange { steps, n: 0 });
        }
        if !(eps > 0.0 && eps < 1.0) {
            return Err(PresetError::BadParameter {
                key: "eps",
                value: eps,
                expected: "0 < eps < 1",
            });
        }
        if !(0.0..1.0).contains(&noise_eps) {
            return Err(PresetError::BadParameter {
                key: "noise_eps",
                value: noise_eps,
                expected: "0 ≤ noise_eps < 1",
            });
        }
        let floor = noise_eps;
        let move_chance = |t: f64| match noise {
            Noise::LogLinear => (1.0 - floor) * t,
            Noise::Cosine => 1.0 - floor - (1.0 - floor) * (std::f64::consts::FRAC_PI_2 * t).cos(),
        };
        let grid: Vec<f64> = (0..=steps)
            .map(|i| 1.0 + (eps - 1.0) * i as f64 / steps as f64)
            .collect();
        let probs = grid
            .windows(2)
            .map(|w| {
                let (t, s) = (move_chance(w[0]), move_chance(w[1]));
                if t > 0.0 {
                    ((t - s) / t).clamp(0.0, 1.0)
                } else {
                    1.0
                }
            })
            .collect();
        let mut schedule = Self::new(probs, true)?;
        schedule.cached = noise == Noise::LogLinear;
        Ok(schedule)
    }

    /// The unmasking probability of every pass, the sweep (probability 1) last.
    pub fn step_probabilities(&self) -> impl Iterator<Item = f64> + '_ {
        self.probs
            .iter()
            .copied()
            .chain(self.final_sweep.then_some(1.0))
    }

    /// Forward passes without caching: one per step, plus the sweep.
    pub fn passes(&self) -> usize {
        self.probs.len() + usize::from(self.final_sweep)
    }

    /// Runs the recursion over the number revealed; calls `visit(step, m, s, weight)` for every
    /// reachable (revealed m, count s) with its probability (the sweep is step `probs.len()`).
    fn recurse(&self, n: usize, mut visit: impl FnMut(usize, usize, usize, f64)) {
        let lf = ln_factorials(n);
        let mut law = vec![0.0; n + 1];
        law[0] = 1.0;
        let mut next = vec![0.0; n + 1];
        for (step, &p) in self.probs.iter().enumerate() {
            next.iter_mut().for_each(|x| *x = 0.0);
            for m in 0..=n {
                let w = law[m];
                if w < 1e-300 {
                    continue;
                }
                binomial_terms(n - m, p, &lf, |s, b| {
                    visit(step, m, s, w * b);
                    next[m + s] += w * b;
                });
            }
            std::mem::swap(&mut law, &mut next);
        }
        if self.final_sweep {
            for (m, &w) in law.iter().enumerate() {
                if w >= 1e-300 {
                    visit(self.probs.len(), m, n - m, w);
                }
            }
        }
    }

    /// Memory and work of the exact recursion ([`BinomialSchedule::expected_kl`],
    /// [`BinomialSchedule::expected_counts`]) for n tokens, for the [resource
    /// policy](crate::budget): about 400 operations per step and token, measured in release on
    /// one core (3.6 s at n = 10⁴, T = 1000; 36 s at n = 10⁵, T = 1000; 20 s at n = 10³,
    /// T = 10⁵).
    pub fn cost(&self, n: usize) -> crate::budget::Cost {
        let (n, t) = (n as f64, self.passes() as f64);
        crate::budget::Cost::new(3.0 * 8.0 * (n + 1.0), 400.0 * n * t)
    }

    /// Exact expected KL over the random counts and orders (nats).
    ///
    /// # Errors
    ///
    /// [`LengthMismatch`] when there is no final sweep and the steps cannot reveal every token
    /// (the last probability must then be 1).
    pub fn expected_kl(&self, curve: &InformationCurve) -> Result<f64, LengthMismatch> {
        let n = curve.len();
        if !self.final_sweep && self.probs.last() != Some(&1.0) {
            return Err(LengthMismatch {
                curve: n,
                schedule: 0,
            });
        }
        let z = curve.z();
        let mut prefix = Vec::with_capacity(n + 1);
        let mut acc = Sum::default();
        prefix.push(0.0);
        for &v in z {
            acc.add(v);
            prefix.push(acc.value());
        }
        let mut total = Sum::default();
        self.recurse(n, |_, m, s, w| {
            if s > 1 {
                let c = (prefix[m + s] - prefix[m] - s as f64 * z[m]).max(0.0);
                total.add(w * c);
            }
        });
        Ok(total.value())
    }

    /// Expected tokens revealed at each pass (the sweep last), and the expected number of passes
    /// that reveal at least one token.
    pub fn expected_counts(&self, n: usize) -> (Vec<f64>, f64) {
        let (counts, busy) = self.count_moments(n);
        (counts, busy.iter().sum())
    }

    /// Expected number of model calls of MDLM's sampling loop for a sequence of n tokens.
    ///
    /// # Formula
    ///
    /// Uncached (`ddpm`, and any schedule not built by [`BinomialSchedule::mdlm`] with
    /// log-linear noise): one call per pass, [`BinomialSchedule::passes`]. Cached
    /// (`ddpm_cache`): the loop calls the model at step 0 and at step i + 1 when step i changed
    /// the sequence, and the noise removal calls it once more, so with T steps
    ///
    /// ```text
    /// E[calls] = 1 + Σ_{i=0}^{T−2} P(step i reveals ≥ 1 token) + 1.
    /// ```
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::preset::{BinomialSchedule, Noise};
    /// // One step: the call of step 0 and the noise removal's.
    /// let s = BinomialSchedule::mdlm(1, Noise::LogLinear, 1e-5, 1e-3)?;
    /// assert_eq!(s.expected_model_calls(8), 2.0);
    /// // Cosine noise runs the uncached loop: every step calls the model.
    /// let c = BinomialSchedule::mdlm(100, Noise::Cosine, 1e-5, 1e-3)?;
    /// assert_eq!(c.expected_model_calls(8), 101.0);
    /// # Ok::<(), unmask_core::preset::PresetError>(())
    /// ```
    pub fn expected_model_calls(&self, n: usize) -> f64 {
        if !self.cached {
            return self.passes() as f64;
        }
        let (_, busy) = self.count_moments(n);
        let steps = self.probs.len();
        let mut calls = Sum::default();
        calls.add(1.0);
        for &b in &busy[..steps - 1] {
            calls.add(b);
        }
        calls.add(f64::from(u8::from(self.final_sweep)));
        calls.value()
    }

    /// Expected count and probability of a non-empty step, per pass.
    fn count_moments(&self, n: usize) -> (Vec<f64>, Vec<f64>) {
        let mut counts = vec![0.0; self.passes()];
        let mut busy = vec![0.0; self.passes()];
        self.recurse(n, |step, _, s, w| {
            counts[step] += w * s as f64;
            if s > 0 {
                busy[step] += w;
            }
        });
        (counts, busy)
    }

    /// One random count sequence (for Monte Carlo checks): `draw(N, p)` must return a
    /// Binomial(N, p) variate.
    pub fn sample_counts(&self, n: usize, mut draw: impl FnMut(usize, f64) -> usize) -> Vec<usize> {
        let mut remaining = n;
        let mut counts: Vec<usize> = self
            .probs
            .iter()
            .map(|&p| {
                let s = draw(remaining, p);
                remaining -= s;
                s
            })
            .collect();
        if self.final_sweep {
            counts.push(remaining);
        }
        counts
    }
}

/// `ln k!` for k = 0..=n.
fn ln_factorials(n: usize) -> Vec<f64> {
    let mut lf = Vec::with_capacity(n + 1);
    let mut acc = 0.0;
    lf.push(0.0);
    for k in 1..=n {
        acc += (k as f64).ln();
        lf.push(acc);
    }
    lf
}

/// Calls `emit(s, P[S = s])` for S ~ Binomial(big_n, p), walking from the mode outward and
/// stopping where terms fall below 10⁻¹⁸ of the mode's.
fn binomial_terms(big_n: usize, p: f64, lf: &[f64], mut emit: impl FnMut(usize, f64)) {
    if big_n == 0 || p <= 0.0 {
        emit(0, 1.0);
        return;
    }
    if p >= 1.0 {
        emit(big_n, 1.0);
        return;
    }
    let mode = (((big_n + 1) as f64 * p).floor() as usize).min(big_n);
    let ln_pmf = |s: usize| {
        lf[big_n] - lf[s] - lf[big_n - s] + s as f64 * p.ln() + (big_n - s) as f64 * (-p).ln_1p()
    };
    // The mode's value carries the rounding of ln k! (~1e−11 relative at n ~ 10⁴); the walk
    // from it is exact in ratios, so the terms are normalised by their sum.
    let top = ln_pmf(mode).exp();
    let cut = top * 1e-18;
    let ratio = p / (1.0 - p);
    let mut terms = vec![(mode, top)];
    let mut b = top;
    for s in mode..big_n {
        b *= (big_n - s) as f64 / (s + 1) as f64 * ratio;
        if b < cut {
            break;
        }
        terms.push((s + 1, b));
    }
    b = top;
    for s in (1..=mode).rev() {
        b *= s as f64 / (big_n - s + 1) as f64 / ratio;
        if b < cut {
            break;
        }
        terms.push((s - 1, b));
    }
    let total: f64 = terms.iter().map(|t| t.1).sum();
    for (s, b) in terms {
        emit(s, b / total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Schedule, expected_kl};

    /// Brute force: enumerate every count sequence with exact binomial probabilities.
    fn enumerate(curve: &InformationCurve, probs: &[f64]) -> f64 {
        fn go(
            curve: &InformationCurve,
            probs: &[f64],
            counts: &mut Vec<usize>,
            w: f64,
            acc: &mut f64,
        ) {
            let n = curve.len();
            let done: usize = counts.iter().sum();
            if counts.len() == probs.len() {
                let mut all = counts.clone();
                all.push(n - done);
                let s = Schedule::from_counts(all).unwrap();
                *acc += w * expected_kl(curve, &s).unwrap();
                return;
            }
            let (big_n, p) = (n - done, probs[counts.len()]);
            for s in 0..=big_n {
                let mut c = 1.0;
                for k in 0..s {
                    c *= (big_n - k) as f64 / (k + 1) as f64;
                }
                let b = c * p.powi(s as i32) * (1.0 - p).powi((big_n - s) as i32);
                counts.push(s);
                go(curve, probs, counts, w * b, acc);
                counts.pop();
            }
        }
        let mut acc = 0.0;
        go(curve, probs, &mut Vec::new(), 1.0, &mut acc);
        acc
    }

    #[test]
    fn recursion_equals_enumeration() {
        let curve = InformationCurve::new(vec![0.0, 0.2, 0.5, 0.5, 0.9, 1.4, 1.5]).unwrap();
        for probs in [
            vec![0.3, 0.5],
            vec![0.1, 0.9, 0.4],
            vec![0.0, 1.0],
            vec![0.25, 0.25, 0.25],
        ] {
            let s = BinomialSchedule::new(probs.clone(), true).unwrap();
            let fast = s.expected_kl(&curve).unwrap();
            let slow = enumerate(&curve, &probs);
            assert!((fast - slow).abs() < 1e-12, "{probs:?}: {fast} vs {slow}");
            let (counts, _) = s.expected_counts(7);
            assert!((counts.iter().sum::<f64>() - 7.0).abs() < 1e-12);
        }
    }

    #[test]
    fn binomial_terms_sum_to_one() {
        let lf = ln_factorials(5000);
        for (n, p) in [
            (5000, 1e-4),
            (5000, 0.5),
            (5000, 0.9999),
            (10, 0.3),
            (1, 0.5),
        ] {
            let mut total = 0.0;
            let mut mean = 0.0;
            binomial_terms(n, p, &lf, |s, b| {
                total += b;
                mean += s as f64 * b;
            });
            assert!((total - 1.0).abs() < 1e-12, "n = {n}, p = {p}: {total}");
            assert!((mean - n as f64 * p).abs() < 1e-8 * n as f64);
        }
    }

    /// Monte Carlo over count sequences (Binomial draws as sums of Bernoullis) against the exact
    /// recursion, within 4 standard errors.
    #[test]
    fn monte_carlo_over_counts() {
        use rand::RngExt;
        let curve = crate::DistSpec::parse("markov:n=48,q=3,stay=0.8")
            .unwrap()
            .build(None)
            .unwrap()
            .exact_curve()
            .unwrap();
        for (steps, noise) in [(8, Noise::LogLinear), (20, Noise::Cosine)] {
            let s = BinomialSchedule::mdlm(steps, noise, 1e-3, MDLM_NOISE_EPS).unwrap();
            let exact = s.expected_kl(&curve).unwrap();
            let mut rng = crate::stream(17, steps as u64);
            let values: Vec<f64> = (0..4000)
                .map(|_| {
                    let counts =
                        s.sample_counts(48, |n, p| (0..n).filter(|_| rng.random_bool(p)).count());
                    expected_kl(&curve, &Schedule::from_counts(counts).unwrap()).unwrap()
                })
                .collect();
            let m = crate::Moments::of(values);
            assert!(
                (m.mean() - exact).abs() <= 4.0 * m.stderr(),
                "{exact} vs {} ± {}",
                m.mean(),
                m.stderr()
            );
        }
    }

    #[test]
    fn mdlm_probabilities() {
        let s = BinomialSchedule::mdlm(4, Noise::LogLinear, 1e-3, 1e-3).unwrap();
        // Log-linear: p = (t − s)/t on linspace(1, eps, 5).
        let t = [1.0, 0.75025, 0.5005, 0.25075, 0.001];
        for (i, &p) in s.probs.iter().enumerate() {
            assert!((p - (t[i] - t[i + 1]) / t[i]).abs() < 1e-12);
        }
        assert_eq!(s.passes(), 5);
        assert!(BinomialSchedule::mdlm(0, Noise::Cosine, 1e-3, 1e-3).is_err());
        assert!(BinomialSchedule::mdlm(4, Noise::Cosine, 1.5, 1e-3).is_err());
        assert!(BinomialSchedule::mdlm(4, Noise::Cosine, 1e-5, 1.0).is_err());
        assert!(BinomialSchedule::new(vec![0.5, 1.2], true).is_err());
        let c = BinomialSchedule::mdlm(4, Noise::Cosine, MDLM_GRID_EPS, MDLM_NOISE_EPS).unwrap();
        assert!(c.probs.iter().all(|p| (0.0..=1.0).contains(p)));
        assert_eq!(
            BinomialSchedule::parse("mdlm:steps=4,noise=cosine").unwrap(),
            c
        );
        assert_eq!(
            BinomialSchedule::parse("mdlm:steps=4,eps=0.001,noise_eps=0.001").unwrap(),
            s
        );
        assert!(BinomialSchedule::parse("mdlm:steps=4,noise=linear").is_err());
        assert!(BinomialSchedule::parse("mdlm").is_err());
        assert!(matches!(
            crate::ScheduleSpec::parse("mdlm:steps=4", crate::Unit::Nats),
            Err(crate::SpecError::Malformed { .. })
        ));
    }
}
