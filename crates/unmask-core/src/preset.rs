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

use crate::curve::InformationCurve;
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
fn check_n(n: usize) -> Result<(), PresetError> {
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

fn check_steps(n: usize, steps: usize) -> Result<(), PresetError> {
    if steps == 0 || steps > n {
        Err(PresetError::StepsOutOfRange { steps, n })
    } else {
        Ok(())
    }
}

fn schedule(counts: Vec<usize>) -> Schedule {
    Schedule::from_counts(counts).expect("presets reveal n ≥ 1 tokens")
}

/// LLaDA's `get_num_transfer_tokens`, block by block: with B tokens and `k = steps/(n/B)` steps
/// per block, every step reveals `⌊B/k⌋` and the first `B mod k` one more. `block = None` is one
/// block of n (the `uniform` preset).
///
/// # Errors
///
/// [`PresetError::StepsOutOfRange`], [`PresetError::BlockDoesNotDivide`],
/// [`PresetError::StepsNotMultipleOfBlocks`], or `BadInteger` for `block = 0`.
///
/// # Example
///
/// ```
/// use unmask_core::preset::llada;
/// assert_eq!(llada(100, 8, None)?.counts(), &[13, 13, 13, 13, 12, 12, 12, 12]);
/// assert_eq!(llada(8, 4, Some(4))?.counts(), &[2, 2, 2, 2]);
/// # Ok::<(), unmask_core::preset::PresetError>(())
/// ```
pub fn llada(n: usize, steps: usize, block: Option<usize>) -> Result<Schedule, PresetError> {
    check_steps(n, steps)?;
    let block = block.unwrap_or(n);
    if block == 0 {
        return Err(PresetError::BadInteger {
            key: "block",
            value: 0,
            expected: "a block length ≥ 1",
        });
    }
    if !n.is_multiple_of(block) {
        return Err(PresetError::BlockDoesNotDivide { block, n });
    }
    let blocks = n / block;
    if !steps.is_multiple_of(blocks) {
        return Err(PresetError::StepsNotMultipleOfBlocks { steps, blocks });
    }
    let per_block = steps / blocks;
    let (base, extra) = (block / per_block, block % per_block);
    let one_block: Vec<usize> = (0..per_block)
        .map(|i| base + usize::from(i < extra))
        .collect();
    Ok(schedule(one_block.repeat(blocks)))
}

/// How `torch.linspace` computes `start + step · i` in float32 (ATen's `linspace` kernels).
///
/// | variant | arithmetic | where torch does it | checked |
/// |---|---|---|---|
/// | `Fused` (default) | one fused multiply-add | CPU kernels with AVX2 or AVX-512 dispatch (every x86-64 CPU of the last decade); CUDA, where nvcc contracts the expression | CPU: torch 2.15, every pair n ≤ 1024, K ≤ n, AVX2 and AVX-512; CUDA: unverified, no GPU has run it |
/// | `Plain` | product rounded, then the sum | the scalar CPU kernel (`ATEN_CPU_CAPABILITY=default`) | torch 2.15, the same pairs |
///
/// Dream's counts differ between the two at 3,182 of the 524,800 pairs n ≤ 1024, K ≤ n (e.g.
/// n = 602, K = 500, steps 400 and 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Linspace {
    /// `start + step · i` as one fused multiply-add.
    #[default]
    Fused,
    /// `step · i` rounded to float32, then added.
    Plain,
}

/// torch.linspace(start, end, points) in float32, as ATen computes it (ATen `linspace` kernels):
/// the first half counts up from `start`, the second half down from `end`.
fn linspace_f32(start: f32, end: f32, points: usize, arithmetic: Linspace) -> Vec<f32> {
    if points == 1 {
        return vec![start];
    }
    let step = (end - start) / (points - 1) as f32;
    let halfway = points / 2;
    (0..points)
        .map(|i| match (i < halfway, arithmetic) {
            (true, Linspace::Plain) => start + step * i as f32,
            (false, Linspace::Plain) => end - step * (points - i - 1) as f32,
            (true, Linspace::Fused) => step.mul_add(i as f32, start),
            (false, Linspace::Fused) => (-step).mul_add((points - i - 1) as f32, end),
        })
        .collect()
}

/// Dream's `diffusion_generate` counts (algorithms other than `origin`): on the float32 grid
/// `linspace(1, eps, K+1)`, step i reveals `int(masked · (1 − s/t))` (float32, truncated) and the
/// last step reveals the rest. With `K = n` the first step reveals 0: a wasted forward pass,
/// kept because Dream makes it. `arithmetic` selects how `torch.linspace` rounds the grid
/// ([`Linspace`]: fused multiply-add, as torch on AVX2/AVX-512 CPUs and on CUDA, by default).
///
/// # Errors
///
/// [`PresetError::StepsOutOfRange`]; `BadParameter` unless `0 < eps < 1`.
///
/// # Example
///
/// ```
/// use unmask_core::preset::dream;
/// use unmask_core::preset::Linspace::{Fused, Plain};
/// assert_eq!(dream(100, 8, 1e-3, Fused)?.counts(), &[12, 12, 12, 12, 12, 13, 13, 14]);
/// let s = dream(512, 512, 1e-3, Fused)?;
/// assert_eq!((s.counts()[0], s.counts()[511], s.wasted_steps()), (0, 2, 1));
/// // The fused multiply-add moves one token between steps 400 and 401.
/// let (fused, plain) = (dream(602, 500, 1e-3, Fused)?, dream(602, 500, 1e-3, Plain)?);
/// assert_ne!(fused.counts()[400..402], plain.counts()[400..402]);
/// # Ok::<(), unmask_core::preset::PresetError>(())
/// ```
pub fn dream(
    n: usize,
    steps: usize,
    eps: f64,
    arithmetic: Linspace,
) -> Result<Schedule, PresetError> {
    check_steps(n, steps)?;
    if !(eps > 0.0 && eps < 1.0) {
        return Err(PresetError::BadParameter {
            key: "eps",
            value: eps,
            expected: "0 < eps < 1",
        });
    }
    let grid = linspace_f32(1.0, eps as f32, steps + 1, arithmetic);
    let mut masked = n;
    let mut counts = Vec::with_capacity(steps);
    for i in 0..steps {
        let k = if i + 1 < steps {
            let (t, s) = (grid[i], grid[i + 1]);
            let fraction = 1.0_f32 - s / t;
            ((masked as f32 * fraction) as usize).min(masked)
        } else {
            masked
        };
        counts.push(k);
        masked -= k;
    }
    Ok(schedule(counts))
}

/// MaskGIT's cosine schedule: after step i (0-based) `⌊n·cos(π/2·(i+1)/K)⌋` tokens stay masked
/// (ratio clipped to [1e-6, 1]), clamped to at least 1 and at most one fewer than before, so every
/// step reveals ≥ 1; the last step reveals the rest.
///
/// The arithmetic is that of MaskGIT's `parallel_decode.decode` compiled by XLA (`jax.jit`, x64
/// off, CPU): the step is a traced int32 inside `lax.while_loop` and `num_iter` a Python
/// constant, so XLA folds the constants of `π/2 · (step + 1) / K` into one float32 factor
/// `C = f32(f32(1/K) · f32(π/2))` and computes the angle as `f32(step + 1) · C`; the cosine (the
/// platform's `cosf`, which XLA's CPU backend also calls) and `n · ratio` are float32. A float64
/// ratio differs at 3,617 of the pairs n ≤ 1024, K ≤ n (e.g. n = 256, K = 60); the pytest suite
/// runs MaskGIT's loop in JAX for every such pair (`docs/peers.md`).
///
/// # Errors
///
/// [`PresetError::StepsOutOfRange`].
///
/// # Example
///
/// ```
/// use unmask_core::preset::cosine;
/// // Concave: few tokens early, many late.
/// assert_eq!(cosine(16, 4)?.counts(), &[2, 3, 5, 6]);
/// # Ok::<(), unmask_core::preset::PresetError>(())
/// ```
pub fn cosine(n: usize, steps: usize) -> Result<Schedule, PresetError> {
    check_steps(n, steps)?;
    let factor = (1.0_f32 / steps as f32) * std::f32::consts::FRAC_PI_2;
    let mut unknown = n;
    let mut counts = Vec::with_capacity(steps);
    for i in 0..steps {
        if i + 1 == steps {
            counts.push(unknown);
            break;
        }
        // XLA's constant folding: (π/2) · ((step + 1) · (1/K)) becomes (step + 1) · factor.
        let angle = (i + 1) as f32 * factor;
        let mask_ratio = angle.cos().clamp(1e-6, 1.0);
        let raw = (n as f32 * mask_ratio).floor() as usize;
        let still = raw.min(unknown.saturating_sub(1)).max(1);
        counts.push(unknown - still);
        unknown = still;
    }
    Ok(schedule(counts))
}

/// Breakpoints `N_1..N_{K−1}` (rounded targets) made strictly increasing inside `[1, n−1]`, so
/// all K steps are non-empty: a forward pass lifts each above its predecessor, a backward pass
/// lowers each below its successor. Requires `1 ≤ K ≤ n`.
fn strictly_increasing(n: usize, mut inner: Vec<usize>) -> Schedule {
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

/// Polynomial grid: cumulative revealed `round(n·(i/K)^p)` (half away from zero), then forced to
/// reveal ≥ 1 per step. `p = 1` is near-uniform, `p > 1` back-loaded, `p < 1` front-loaded.
///
/// # Errors
///
/// [`PresetError::StepsOutOfRange`]; `BadParameter` unless p is finite and > 0.
///
/// # Example
///
/// ```
/// use unmask_core::preset::power;
/// assert_eq!(power(16, 4, 2.0)?.counts(), &[1, 3, 5, 7]);
/// # Ok::<(), unmask_core::preset::PresetError>(())
/// ```
pub fn power(n: usize, steps: usize, p: f64) -> Result<Schedule, PresetError> {
    check_steps(n, steps)?;
    if !(p.is_finite() && p > 0.0) {
        return Err(PresetError::BadParameter {
            key: "p",
            value: p,
            expected: "a finite exponent > 0",
        });
    }
    let inner = (1..steps)
        .map(|i| (n as f64 * (i as f64 / steps as f64).powf(p)).round() as usize)
        .collect();
    Ok(strictly_increasing(n, inner))
}

/// Pyramidal schedule (community, LLaDA issue #93): step i (from 0) reveals
/// `min(⌊i/F⌋ + 1, remaining)`, about `sqrt(2n·F)` steps.
///
/// # Errors
///
/// `BadInteger` for `factor = 0`.
///
/// # Example
///
/// ```
/// use unmask_core::preset::pyramid;
/// assert_eq!(pyramid(10, 2)?.counts(), &[1, 1, 2, 2, 3, 1]);
/// # Ok::<(), unmask_core::preset::PresetError>(())
/// ```
pub fn pyramid(n: usize, factor: usize) -> Result<Schedule, PresetError> {
    check_n(n)?;
    if factor == 0 {
        return Err(PresetError::BadInteger {
            key: "factor",
            value: 0,
            expected: "a factor ≥ 1",
        });
    }
    let mut counts = Vec::new();
    let mut remaining = n;
    let mut i = 0;
    while remaining > 0 {
        let k = (i / factor + 1).min(remaining);
        counts.push(k);
        remaining -= k;
        i += 1;
    }
    Ok(schedule(counts))
}

/// Constant steps of `size`, the last one smaller (the Li–Cai setting).
///
/// # Errors
///
/// `BadInteger` unless `1 ≤ size ≤ n`.
///
/// # Example
///
/// ```
/// use unmask_core::preset::constant;
/// assert_eq!(constant(10, 4)?.counts(), &[4, 4, 2]);
/// # Ok::<(), unmask_core::preset::PresetError>(())
/// ```
pub fn constant(n: usize, size: usize) -> Result<Schedule, PresetError> {
    if size == 0 || size > n {
        return Err(PresetError::BadInteger {
            key: "size",
            value: size,
            expected: "a step size between 1 and n",
        });
    }
    let mut counts = vec![size; n / size];
    if !n.is_multiple_of(size) {
        counts.push(n % size);
    }
    Ok(schedule(counts))
}

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
    Ok(schedule(tc_breakpoints(n, zeta)?).without_wasted())
}

fn tc_breakpoints(n: usize, zeta: usize) -> Result<Vec<usize>, PresetError> {
    check_n(n)?;
    if zeta == 0 {
        return Err(PresetError::BadInteger {
            key: "zeta",
            value: 0,
            expected: "ζ ≥ 1",
        });
    }
    if zeta == 1 {
        return Ok(vec![n]);
    }
    if zeta > n {
        return Ok(vec![1; n]);
    }
    let mut counts = Vec::new();
    let mut revealed = 0;
    for _ in 0..geometric_steps(n, zeta) {
        let next = revealed + (n - revealed) / zeta;
        counts.push(next - revealed);
        revealed = next;
    }
    counts.extend(std::iter::repeat_n(1, n - revealed));
    Ok(counts)
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
    if zeta <= 1 || zeta > n {
        return tc_schedule(n, zeta);
    }
    let mut remaining = vec![n];
    let mut current = n;
    for _ in 0..geometric_steps(n, zeta) {
        current = (current * (zeta - 1)).div_ceil(zeta);
        remaining.push(current);
    }
    while current > 0 {
        current -= 1;
        remaining.push(current);
    }
    remaining.reverse();
    let counts = remaining.windows(2).map(|w| w[1] - w[0]).collect();
    Ok(schedule(counts).without_wasted())
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
    let fits = |zeta: usize| -> Result<bool, PresetError> { Ok(build(zeta)?.steps() <= steps) };
    if !fits(2)? {
        return Ok((build(1)?, 1));
    }
    let (mut lo, mut hi) = (2, steps + 1);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid)? {
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

    #[test]
    fn llada_errors_and_blocks() {
        assert_eq!(
            llada(10, 0, None).unwrap_err(),
            PresetError::StepsOutOfRange { steps: 0, n: 10 }
        );
        assert_eq!(
            llada(10, 11, None).unwrap_err(),
            PresetError::StepsOutOfRange { steps: 11, n: 10 }
        );
        assert_eq!(
            llada(10, 4, Some(3)).unwrap_err(),
            PresetError::BlockDoesNotDivide { block: 3, n: 10 }
        );
        assert_eq!(
            llada(12, 5, Some(4)).unwrap_err(),
            PresetError::StepsNotMultipleOfBlocks {
                steps: 5,
                blocks: 3
            }
        );
        assert_eq!(llada(12, 6, Some(4)).unwrap().counts(), &[2, 2, 2, 2, 2, 2]);
        assert_eq!(
            llada(12, 9, Some(4)).unwrap().counts(),
            &[2, 1, 1, 2, 1, 1, 2, 1, 1]
        );
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
    fn cosine_and_power_shapes() {
        for n in [1usize, 2, 5, 17, 100, 512] {
            for k in 1..=n.min(64) {
                for s in [
                    cosine(n, k).unwrap(),
                    power(n, k, 0.5).unwrap(),
                    power(n, k, 2.0).unwrap(),
                ] {
                    assert_eq!(
                        (s.len(), s.steps(), s.wasted_steps()),
                        (n, k, 0),
                        "n = {n}, k = {k}"
                    );
                }
            }
        }
        assert!(power(10, 2, 0.0).is_err());
        assert!(power(10, 2, f64::NAN).is_err());
    }

    #[test]
    fn dream_keeps_its_quirks() {
        for device in [Linspace::Fused, Linspace::Plain] {
            for n in [1usize, 3, 64, 100, 512] {
                for k in 1..=n {
                    let s = dream(n, k, 1e-3, device).unwrap();
                    assert_eq!((s.len(), s.steps()), (n, k));
                }
            }
            assert!(dream(10, 2, 0.0, device).is_err());
            assert!(dream(10, 2, 1.0, device).is_err());
            let grid = linspace_f32(1.0, 1e-3, 9, device);
            assert_eq!(grid[0], 1.0);
            assert_eq!(grid[8], 1e-3);
        }
    }

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

    #[test]
    fn austin_and_pyramid_edges() {
        assert_eq!(austin(10, 1.0, 0.0).unwrap().counts(), &[10]);
        assert_eq!(austin(10, 1e-6, 5.0).unwrap(), Schedule::singletons(10));
        assert!(austin(10, 0.0, 1.0).is_err());
        assert!(austin(10, 1.0, -1.0).is_err());
        assert!(pyramid(5, 0).is_err());
        assert_eq!(pyramid(1, 3).unwrap().counts(), &[1]);
        assert!(constant(5, 0).is_err());
        assert!(constant(5, 6).is_err());
    }
}
