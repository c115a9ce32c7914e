//! Named schedules: the exact count arithmetic of today's samplers and the theory's schedules.
//!
//! Each function maps `(n, parameters[, curve])` to a [`Schedule`] and reproduces its source's
//! integer arithmetic exactly (`docs/peers.md`; the theory's in `docs/theory.md` §4–§5):
//!
//! | function | source | counts |
//! |---|---|---|
//! | [`llada`] | LLaDA `get_num_transfer_tokens` | per block ⌊B/k⌋, remainder on the first steps |
//! | [`dream`] | Dream `diffusion_generate` | `⌊masked·(1 − s/t)⌋` on `linspace(1, eps, K+1)` (float32, fused multiply-add), last step sweeps |
//! | [`cosine`] | MaskGIT `mask_schedule` | still masked `⌊n·cos(π/2·(i+1)/K)⌋` (float32), clamped |
//! | [`power`] | polynomial grids | cumulative `round(n·(i/K)^p)`, ≥ 1 per step |
//! | [`pyramid`] | LLaDA issue #93 | step i reveals `⌊i/F⌋ + 1` |
//! | [`constant`] | Li–Cai | steps of S, the last smaller |
//! | [`tc_schedule`], [`dtc_schedule`] | CCL Theorem 9 | geometric decay / growth with ratio 1 − 1/ζ |
//! | [`austin`] | CCL Theorem 10 | singletons, then equal blocks |
//! | [`sqrt_rule`] | continuum optimum (Lavenant–Zanella) | equal mass of `sqrt(ΔZ)` per step |

mod mdlm;
mod peers;
mod theory;

pub use mdlm::{
    BinomialSchedule, MAX_STEPS as MDLM_MAX_STEPS, MDLM_GRID_EPS, MDLM_NOISE_EPS, Noise,
};
pub use peers::{Linspace, constant, cosine, dream, llada, power, pyramid};
pub(crate) use theory::check_theory;
pub use theory::{austin, dtc_schedule, sqrt_rule, tc_schedule, theory_budget, zeta_for};

use crate::schedule::Schedule;

/// Invalid preset arguments.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PresetError {
    /// The step count is 0 or above n.
    #[error("steps = {steps} is out of range: it must be between 1 and n = {n}")]
    StepsOutOfRange {
        /// Requested steps.
        steps: usize,
        /// Sequence length.
        n: usize,
    },
    /// LLaDA's block length does not divide n.
    #[error("block = {block} must divide n = {n} (LLaDA asserts gen_length % block_length == 0)")]
    BlockDoesNotDivide {
        /// Block length.
        block: usize,
        /// Sequence length.
        n: usize,
    },
    /// LLaDA's step count is not a multiple of the number of blocks.
    #[error("steps = {steps} must be a multiple of the number of blocks n/block = {blocks}")]
    StepsNotMultipleOfBlocks {
        /// Requested steps.
        steps: usize,
        /// Number of blocks.
        blocks: usize,
    },
    /// A real parameter is outside its domain.
    #[error("{key} = {value} is invalid: expected {expected}")]
    BadParameter {
        /// Parameter name.
        key: &'static str,
        /// The offending value.
        value: f64,
        /// What the domain is, in words.
        expected: &'static str,
    },
    /// An integer parameter is outside its domain.
    #[error("{key} = {value} is invalid: expected {expected}")]
    BadInteger {
        /// Parameter name.
        key: &'static str,
        /// The offending value.
        value: usize,
        /// What the domain is, in words.
        expected: &'static str,
    },
}

/// Every preset needs at least one token.
pub(super) fn check_n(n: usize) -> Result<(), PresetError> {
    if n == 0 {
        Err(PresetError::BadInteger {
            key: "n",
            value: 0,
            expected: "a sequence length ≥ 1",
        })
    } else {
        Ok(())
    }
}

pub(super) fn check_steps(n: usize, steps: usize) -> Result<(), PresetError> {
    if steps == 0 || steps > n {
        Err(PresetError::StepsOutOfRange { steps, n })
    } else {
        Ok(())
    }
}

pub(super) fn schedule(counts: Vec<usize>) -> Schedule {
    Schedule::from_counts(counts).expect("presets reveal n ≥ 1 tokens")
}

/// Breakpoints `N_1..N_{K−1}` (rounded targets) made strictly increasing inside `[1, n−1]`, so
/// all K steps are non-empty: a forward pass lifts each above its predecessor, a backward pass
/// lowers each below its successor. Requires `1 ≤ K ≤ n`.
pub(super) fn strictly_increasing(n: usize, mut inner: Vec<usize>) -> Schedule {
    let k = inner.len() + 1;
    let mut previous = 0;
    for b in inner.iter_mut() {
        *b = (*b).max(previous + 1);
        previous = *b;
    }
    let mut next = n;
    for b in inner.iter_mut().rev() {
        *b = (*b).min(next - 1);
        next = *b;
    }
    inner.push(n);
    let s = Schedule::from_breakpoints(n, &inner).expect("breakpoints made increasing");
    debug_assert_eq!(s.steps(), k);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_sequences_are_errors() {
        assert!(pyramid(0, 1).is_err());
        assert!(tc_schedule(0, 1).is_err());
        assert!(dtc_schedule(0, 3).is_err());
        assert!(austin(0, 1.0, 1.0).is_err());
        assert!(constant(0, 1).is_err());
        assert!(llada(0, 1, None).is_err());
        assert!(theory_budget(0, 1, true).is_err());
    }
}
