//! Block-wise (semi-autoregressive) decoding: see [`BlockCurves`].

use crate::curve::InformationCurve;
use crate::kl::{LengthMismatch, expected_kl};
use crate::optimize::{Method, OptimizeError, optimal_schedule};
use crate::schedule::Schedule;

/// Block-wise (semi-autoregressive) decoding, `docs/theory.md` §9.
///
/// # Definitions
///
/// The positions are cut into blocks B_1..B_m, decoded left to right: block b runs the
/// random-order sampler with its own schedule s^(b) while blocks < b are revealed and blocks > b
/// are masked (LLaDA's `block_length`, Fast-dLLM). The output law factorises along the blocks,
/// so by the chain rule for KL
///
/// ```text
/// E-KL = Σ_b Theorem16(Z^(b), s^(b))
/// ```
///
/// where Z^(b) is block b's *conditional* information curve (averaged over prefixes; the later
/// blocks marginalised out). [`BlockCurves`] holds those curves.
///
/// # The optimal allocation
///
/// With K steps in all, the best block-wise decoder minimises Σ_b F_b(k_b) over
/// Σ_b k_b = K, 1 ≤ k_b ≤ |B_b|, where F_b(k) is block b's k-step optimum. Each F_b is convex
/// and non-increasing in k (the Monge property, `docs/theory.md` §4), so the marginal gains
/// F_b(k) − F_b(k + 1) decrease in k and the greedy allocation — give the next step to the block
/// whose next step gains most — is optimal for every K along the way (separable convex resource
/// allocation); "the fewest steps for ε" is the first K it reaches with total ≤ ε. Ties go to
/// the earlier block. F_b(k) is evaluated on demand with the Lagrangian optimiser: K + m
/// optimisations in all. Checked against a DP over blocks × steps on brute-force frontiers.
///
/// # Example
///
/// ```
/// use unmask_core::{BlockCurves, InformationCurve, optimal_blockwise};
/// // Two blocks of 4 tokens: the first carries parity-like structure, the second none.
/// let l2 = std::f64::consts::LN_2;
/// let blocks = BlockCurves::new(vec![
///     InformationCurve::new(vec![0.0, 0.0, 0.0, l2])?,
///     InformationCurve::new(vec![0.0; 4])?,
/// ])?;
/// let best = optimal_blockwise(&blocks, 3)?;
/// // The second block needs one step; the first gets two: (3, 1) is exact for parity.
/// assert_eq!(best.steps_per_block(), vec![2, 1]);
/// assert_eq!(best.expected_kl, 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BlockCurves {
    curves: Vec<InformationCurve>,
}

/// Why block curves or a block-wise schedule were rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// No blocks at all.
    #[error("block-wise decoding needs at least one block")]
    NoBlocks,
    /// A flat schedule's steps do not end exactly at the block boundaries.
    #[error(
        "step {step} (count {count}) crosses the end of block {block} at token {boundary}: every step must stay inside one block"
    )]
    Straddles {
        /// 1-based step.
        step: usize,
        /// Its count.
        count: usize,
        /// 1-based block.
        block: usize,
        /// Tokens up to the end of that block.
        boundary: usize,
    },
    /// The flat schedule reveals another number of tokens.
    #[error("the schedule reveals {schedule} tokens, the blocks hold {n}")]
    Length {
        /// Tokens the schedule reveals.
        schedule: usize,
        /// Tokens in the blocks.
        n: usize,
    },
    /// A block gets no step.
    #[error("block {block} gets no step")]
    EmptyBlock {
        /// 1-based block.
        block: usize,
    },
}

impl BlockCurves {
    /// Block curves, left to right (each block its own length).
    ///
    /// # Errors
    ///
    /// [`BlockError::NoBlocks`] for an empty list.
    pub fn new(curves: Vec<InformationCurve>) -> Result<Self, BlockError> {
        if curves.is_empty() {
            return Err(BlockError::NoBlocks);
        }
        Ok(BlockCurves { curves })
    }

    /// The same conditional curve for `blocks` blocks (a stationary source).
    ///
    /// # Errors
    ///
    /// [`BlockError::NoBlocks`] for zero blocks.
    pub fn repeated(curve: InformationCurve, blocks: usize) -> Result<Self, BlockError> {
        Self::new(vec![curve; blocks])
    }

    /// The curves, left to right.
    pub fn curves(&self) -> &[InformationCurve] {
        &self.curves
    }

    /// Number of blocks m.
    pub fn blocks(&self) -> usize {
        self.curves.len()
    }

    /// Total tokens n.
    pub fn len(&self) -> usize {
        self.curves.iter().map(InformationCurve::len).sum()
    }

    /// The common block length L when every block has the same length.
    pub fn uniform_block_len(&self) -> Option<usize> {
        let l = self.curves[0].len();
        self.curves.iter().all(|c| c.len() == l).then_some(l)
    }

    /// The block curves end to end (`Z^(1)_1..Z^(1)_L, Z^(2)_1..`, nats), as a block-wise
    /// decoder's plot draws them: each block's left-endpoint area is its expected KL.
    pub fn concatenated(&self) -> Vec<f64> {
        self.curves
            .iter()
            .flat_map(|c| c.z().iter().copied())
            .collect()
    }

    /// Always false: every block holds at least one token.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Splits a flat schedule (block after block, as LLaDA's `num_transfer_tokens` lists it)
    /// into one schedule per block; zero-count steps belong to the block being decoded.
    ///
    /// # Errors
    ///
    /// [`BlockError::Length`] when the totals differ, [`BlockError::Straddles`] when a step
    /// crosses a block boundary, [`BlockError::EmptyBlock`] when a block gets no step.
    pub fn split(&self, flat: &Schedule) -> Result<Vec<Schedule>, BlockError> {
        if flat.len() != self.len() {
            return Err(BlockError::Length {
                schedule: flat.len(),
                n: self.len(),
            });
        }
        let mut out = Vec::with_capacity(self.blocks());
        let mut counts = flat.counts().iter().enumerate().peekable();
        let mut boundary = 0;
        for (b, curve) in self.curves.iter().enumerate() {
            boundary += curve.len();
            let mut block = Vec::new();
            let mut revealed = boundary - curve.len();
            while revealed < boundary {
                let (i, &c) = counts
                    .next()
                    .ok_or(BlockError::EmptyBlock { block: b + 1 })?;
                if revealed + c > boundary {
                    return Err(BlockError::Straddles {
                        step: i + 1,
                        count: c,
                        block: b + 1,
                        boundary,
                    });
                }
                revealed += c;
                block.push(c);
            }
            // Trailing zero-count steps stay with this block.
            while let Some(&(_, &0)) = counts.peek() {
                counts.next();
                block.push(0);
            }
            out.push(
                Schedule::from_counts(block)
                    .map_err(|_| BlockError::EmptyBlock { block: b + 1 })?,
            );
        }
        Ok(out)
    }
}

/// Exact expected KL of a block-wise decoder, per block and in total (nats).
///
/// # Errors
///
/// [`LengthMismatch`] for a schedule whose length is not its block's, or a different number
/// of schedules and blocks.
pub fn blockwise_expected_kl(
    blocks: &BlockCurves,
    schedules: &[Schedule],
) -> Result<(f64, Vec<f64>), LengthMismatch> {
    if schedules.len() != blocks.blocks() {
        return Err(LengthMismatch {
            curve: blocks.len(),
            schedule: schedules.iter().map(Schedule::len).sum(),
        });
    }
    let per: Vec<f64> = blocks
        .curves
        .iter()
        .zip(schedules)
        .map(|(c, s)| expected_kl(c, s))
        .collect::<Result<_, _>>()?;
    Ok((crate::num::sum(per.iter().copied()), per))
}

/// The optimal block-wise decoder: one schedule per block and the total expected KL (nats).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockOptimum {
    /// Each block's optimal schedule at its allocated steps.
    pub schedules: Vec<Schedule>,
    /// Each block's expected KL.
    pub per_block: Vec<f64>,
    /// The total.
    pub expected_kl: f64,
}

impl BlockOptimum {
    /// Steps given to each block.
    pub fn steps_per_block(&self) -> Vec<usize> {
        self.schedules.iter().map(Schedule::steps).collect()
    }

    /// The schedules concatenated, block after block.
    pub fn flat(&self) -> Schedule {
        let counts = self
            .schedules
            .iter()
            .flat_map(|s| s.counts().iter().copied())
            .collect();
        Schedule::from_counts(counts).expect("blocks reveal their tokens")
    }
}

/// Greedy allocation (see the [type docs](BlockCurves)), stopping at `steps` or as soon as the
/// total is at most `epsilon`.
fn allocate(
    blocks: &BlockCurves,
    steps: Option<usize>,
    epsilon: Option<f64>,
) -> Result<BlockOptimum, OptimizeError> {
    let optimum = |b: usize, k: usize| optimal_schedule(&blocks.curves[b], k, Method::Lagrangian);
    let m = blocks.blocks();
    let mut current: Vec<crate::Optimum> =
        (0..m).map(|b| optimum(b, 1)).collect::<Result<_, _>>()?;
    let mut next: Vec<Option<crate::Optimum>> = vec![None; m];
    let mut used = m;
    let total = |c: &[crate::Optimum]| crate::num::sum(c.iter().map(|o| o.expected_kl));
    let slack = crate::tol::ABS * blocks_tc(blocks).max(1.0);
    loop {
        if let Some(k) = steps
            && used >= k
        {
            break;
        }
        if let Some(e) = epsilon
            && total(&current) <= e + slack
        {
            break;
        }
        // The block whose next step gains most (earliest on ties).
        let mut best: Option<(f64, usize)> = None;
        for b in 0..m {
            let k = current[b].schedule.steps();
            if k >= blocks.curves[b].len() {
                continue;
            }
            if next[b].is_none() {
                next[b] = Some(optimum(b, k + 1)?);
            }
            let gain = current[b].expected_kl - next[b].as_ref().expect("computed").expected_kl;
            if best.is_none_or(|(g, _)| gain > g) {
                best = Some((gain, b));
            }
        }
        let Some((_, b)) = best else {
            break; // every block is at one token per step
        };
        current[b] = next[b].take().expect("computed");
        used += 1;
    }
    let per_block: Vec<f64> = current.iter().map(|o| o.expected_kl).collect();
    Ok(BlockOptimum {
        expected_kl: crate::num::sum(per_block.iter().copied()),
        schedules: current.into_iter().map(|o| o.schedule).collect(),
        per_block,
    })
}

fn blocks_tc(blocks: &BlockCurves) -> f64 {
    blocks.curves.iter().map(InformationCurve::tc).sum()
}

/// The fewest-error block-wise decoder with exactly `steps` forward passes in all.
///
/// # Errors
///
/// [`OptimizeError::StepsOutOfRange`] unless `blocks ≤ steps ≤ n`.
pub fn optimal_blockwise(
    blocks: &BlockCurves,
    steps: usize,
) -> Result<BlockOptimum, OptimizeError> {
    if steps < blocks.blocks() || steps > blocks.len() {
        return Err(OptimizeError::StepsOutOfRange {
            steps,
            n: blocks.len(),
        });
    }
    allocate(blocks, Some(steps), None)
}

/// The block-wise decoder with the fewest forward passes whose expected KL is at most `epsilon`
/// (nats).
///
/// # Errors
///
/// [`OptimizeError::BadEpsilon`] for a negative or non-finite target.
pub fn min_steps_blockwise(
    blocks: &BlockCurves,
    epsilon: f64,
) -> Result<BlockOptimum, OptimizeError> {
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(OptimizeError::BadEpsilon { epsilon });
    }
    allocate(blocks, None, Some(epsilon))
}

/// Most `q^n · 2^L · n` digit reads [`BlockCurves::by_enumeration`] may spend (about a second).
pub const BLOCK_ENUMERATION_BUDGET: f64 = 2e8;

impl BlockCurves {
    /// Exact block curves of any family small enough to enumerate (at most 2²⁰ outcomes and
    /// [`BLOCK_ENUMERATION_BUDGET`] work): HMMs, mixtures and tables, which have no closed form.
    ///
    /// For block b with prefix P (the blocks before it) and members B,
    ///
    /// ```text
    /// H̄_i = mean over i-subsets S ⊆ B of  H(X_{P ∪ S}) − H(X_P),
    /// Z^(b)_j = H̄_1 + H̄_{j−1} − H̄_j,
    /// ```
    ///
    /// the information curve of the block conditional on the prefix, averaged over prefixes,
    /// with the later blocks marginalised out (`docs/theory.md` §9). Each entropy is a pass over
    /// the law accumulating the marginal of P ∪ S in a dense table.
    ///
    /// None when the law is too large, or `block` does not divide n.
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::{BlockCurves, DistSpec};
    /// let spec = DistSpec::parse("parity:n=4")?;
    /// let family = spec.build(None)?;
    /// let blocks = BlockCurves::by_enumeration(&family, 2).unwrap();
    /// // The first block is free; in the second, the last bit is the parity of the rest.
    /// assert_eq!(blocks.curves()[0].z(), &[0.0, 0.0]);
    /// assert!((blocks.curves()[1].z()[1] - std::f64::consts::LN_2).abs() < 1e-12);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn by_enumeration(family: &crate::Family, block: usize) -> Option<BlockCurves> {
        let (n, q) = (
            crate::Oracle::len(family),
            crate::Oracle::vocab_size(family),
        );
        if block == 0 || !n.is_multiple_of(block) || block > 24 {
            return None;
        }
        let outcomes = q.checked_pow(n as u32)?;
        let work = outcomes as f64 * (1u64 << block) as f64 * n as f64;
        if work > BLOCK_ENUMERATION_BUDGET {
            return None;
        }
        let law = crate::exact_law(family)?;
        let digit = |index: usize, i: usize| (index / q.pow((n - 1 - i) as u32)) % q;
        let entropy = |set: &[usize]| -> f64 {
            let mut marginal = vec![0.0; q.pow(set.len() as u32)];
            for (index, &p) in law.iter().enumerate() {
                if p > 0.0 {
                    let key = set.iter().fold(0, |key, &i| key * q + digit(index, i));
                    marginal[key] += p;
                }
            }
            -crate::num::sum(marginal.iter().filter(|&&p| p > 0.0).map(|&p| p * p.ln()))
        };
        let curves = (0..n / block)
            .map(|b| {
                let prefix: Vec<usize> = (0..b * block).collect();
                let h_prefix = entropy(&prefix);
                let mut sums = vec![crate::num::Sum::default(); block + 1];
                for mask in 0u32..(1 << block) {
                    let mut set = prefix.clone();
                    set.extend(
                        (0..block)
                            .filter(|k| mask >> k & 1 == 1)
                            .map(|k| b * block + k),
                    );
                    sums[mask.count_ones() as usize].add(entropy(&set) - h_prefix);
                }
                let mean: Vec<f64> = (0..=block)
                    .map(|i| sums[i].value() / crate::num::binomial(block, i))
                    .collect();
                let z = (1..=block)
                    .map(|j| mean[1] + mean[j - 1] - mean[j])
                    .collect();
                InformationCurve::new(z).ok()
            })
            .collect::<Option<Vec<_>>>()?;
        BlockCurves::new(curves).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_errors() {
        let c = InformationCurve::new(vec![0.0, 0.1, 0.2, 0.3]).unwrap();
        let blocks = BlockCurves::repeated(c, 2).unwrap();
        let flat = Schedule::from_counts(vec![2, 2, 0, 1, 3]).unwrap();
        let split = blocks.split(&flat).unwrap();
        assert_eq!(split[0].counts(), &[2, 2, 0]);
        assert_eq!(split[1].counts(), &[1, 3]);
        let straddle = Schedule::from_counts(vec![3, 3, 2]).unwrap();
        assert!(matches!(
            blocks.split(&straddle),
            Err(BlockError::Straddles { step: 2, .. })
        ));
        let short = Schedule::from_counts(vec![4, 3]).unwrap();
        assert!(matches!(
            blocks.split(&short),
            Err(BlockError::Length { .. })
        ));
        assert!(BlockCurves::new(vec![]).is_err());
        assert!(optimal_blockwise(&blocks, 1).is_err());
        assert!(min_steps_blockwise(&blocks, -1.0).is_err());
    }
}
