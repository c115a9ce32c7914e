//! Today's samplers: the exact count arithmetic of LLaDA, Dream, MaskGIT and the community's
//! polynomial, pyramid and constant schedules (`docs/peers.md` has the sources and how each is
//! checked against its own framework).

use super::{PresetError, check_n, check_steps, schedule, strictly_increasing};
use crate::schedule::Schedule;

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
    fn pyramid_and_constant_edges() {
        assert!(pyramid(5, 0).is_err());
        assert_eq!(pyramid(1, 3).unwrap().counts(), &[1]);
        assert!(constant(5, 0).is_err());
        assert!(constant(5, 6).is_err());
    }
}
