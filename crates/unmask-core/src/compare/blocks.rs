//! Block-wise decoders compared: LLaDA's and cosine's equal splits of K steps over the blocks
//! against the optimal allocation ([`compare_blockwise`], [`blockwise_frontier`]).

use crate::schedule::Schedule;
use crate::spec::SpecError;
use crate::spec::schedule::ScheduleSpec;

/// Operations per greedy step and block token of a block-wise optimisation: the allocation
/// starts from one step per block and adds one step at a time, each step one block's Lagrangian
/// optimum over at most L tokens, so K steps cost about `56 · L · (K + m)`. Fitted to release
/// runs on this project's 2-core machine, blocks of markov:n=262144,q=8,stay=0.9 with L = 1024:
/// `compare --blocks --steps 65536` 8.4 s (priced 15 s), 1024 steps 0.15 s (0.24 s);
/// `frontier --blocks` at its 11 default step counts 29 s (priced 31 s).
const BLOCKWISE_OPS: f64 = 56.0;

/// Work of block-wise optimisations on `blocks` reaching `steps` steps in all.
fn optimisation_work(blocks: &crate::BlockCurves, steps: usize) -> f64 {
    let longest = blocks
        .curves()
        .iter()
        .map(crate::InformationCurve::len)
        .max()
        .unwrap_or(0);
    BLOCKWISE_OPS * longest as f64 * (steps + blocks.blocks()) as f64
}

/// Work and memory of [`compare_blockwise`] at `steps`, for the [resource policy](crate::budget):
/// the optimal allocation and three fewest-steps searches, none beyond `steps` steps (each row
/// is matched at or below the optimum's error at K), about `4 · 56 · L · (K + m)` operations;
/// each block's curve and schedule, 40 bytes per token.
pub fn compare_blockwise_cost(blocks: &crate::BlockCurves, steps: usize) -> crate::budget::Cost {
    crate::budget::Cost::new(
        40.0 * blocks.len() as f64,
        4.0 * optimisation_work(blocks, steps),
    )
}

/// Work and memory of [`blockwise_frontier`] at the step counts of `grid`: one block-wise
/// optimisation per step count.
pub fn blockwise_frontier_cost(blocks: &crate::BlockCurves, grid: &[usize]) -> crate::budget::Cost {
    crate::budget::Cost::new(
        40.0 * blocks.len() as f64,
        grid.iter().map(|&k| optimisation_work(blocks, k)).sum(),
    )
}

/// Why [`compare_blockwise`] failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockCompareError {
    /// LLaDA's equal split needs K a multiple of the number of blocks, m ≤ K ≤ n.
    #[error(
        "{steps} steps do not split equally over {blocks} blocks (K must be a multiple of {blocks}, at most n = {n})"
    )]
    Split {
        /// K.
        steps: usize,
        /// m.
        blocks: usize,
        /// n.
        n: usize,
    },
    /// A per-block preset failed.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The optimiser failed.
    #[error(transparent)]
    Optimize(#[from] crate::OptimizeError),
    /// A schedule did not fit its block.
    #[error(transparent)]
    Length(#[from] crate::LengthMismatch),
}

/// One block-wise decoder in [`compare_blockwise`].
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRow {
    /// `llada` (LLaDA's equal split, its counts inside each block), `cosine` (MaskGIT's per
    /// block, the same split), or `optimal` (the optimal allocation).
    pub name: &'static str,
    /// One schedule per block.
    pub schedules: Vec<Schedule>,
    /// Each block's expected KL (nats).
    pub per_block: Vec<f64>,
    /// Their sum.
    pub expected_kl: f64,
    /// The fewest steps in all with which the optimal allocation is at least as good.
    pub steps_to_match: usize,
}

/// Block-wise decoders with `steps` forward passes in all, against the optimal allocation: the
/// practitioner's question ("I decode in blocks of L with K steps; what would the best
/// allocation buy?"). The equal splits give each of the m blocks K/m steps (LLaDA's rule, so K
/// must be a multiple of m); `steps_to_match` is the optimal allocation's fewest steps for the
/// row's error, so `steps − steps_to_match` is what it saves at equal error.
///
/// # Errors
///
/// [`BlockCompareError::Split`] when K is not a multiple of m between m and n; the presets'
/// and the optimiser's errors otherwise.
pub fn compare_blockwise(
    blocks: &crate::BlockCurves,
    steps: usize,
) -> Result<Vec<BlockRow>, BlockCompareError> {
    let m = blocks.blocks();
    if steps == 0 || !steps.is_multiple_of(m) || steps > blocks.len() {
        return Err(BlockCompareError::Split {
            steps,
            blocks: m,
            n: blocks.len(),
        });
    }
    let mut rows = equal_splits(blocks, steps)?;
    let best = crate::optimal_blockwise(blocks, steps)?;
    rows.push(("optimal", best.schedules, best.per_block, best.expected_kl));
    rows.into_iter()
        .map(|(name, schedules, per_block, expected_kl)| {
            let matched = crate::min_steps_blockwise(blocks, expected_kl.max(0.0))?;
            Ok(BlockRow {
                name,
                steps_to_match: matched.flat().steps(),
                schedules,
                per_block,
                expected_kl,
            })
        })
        .collect()
}

/// A block-wise decoder: name, one schedule per block, each block's error and the total.
type BlockDecoder = (&'static str, Vec<Schedule>, Vec<f64>, f64);

/// LLaDA's and MaskGIT's counts with K/m steps in every block (K a multiple of m).
fn equal_splits(
    blocks: &crate::BlockCurves,
    steps: usize,
) -> Result<Vec<BlockDecoder>, BlockCompareError> {
    let per = steps / blocks.blocks();
    let mut rows = Vec::new();
    for (name, preset) in [("llada", "llada"), ("cosine", "cosine")] {
        let schedules = blocks
            .curves()
            .iter()
            .map(|c| {
                ScheduleSpec::parse(&format!("{preset}:steps={per}"), crate::Unit::Nats)?
                    .build(c.len(), Some(c))
                    .map(|b| b.schedule)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (total, per_block) = crate::blockwise_expected_kl(blocks, &schedules)?;
        rows.push((name, schedules, per_block, total));
    }
    Ok(rows)
}

/// A named frontier: (K, expected KL in nats, None where the decoder is undefined at K).
pub type NamedFrontier = (&'static str, Vec<(usize, Option<f64>)>);

/// The block-wise frontiers: at each K of `grid`, the optimal allocation's expected KL and
/// LLaDA's and cosine's equal splits (None where K is not a multiple of the number of blocks).
/// Series in the order `optimal`, `llada`, `cosine`; errors in nats.
///
/// # Errors
///
/// [`BlockCompareError::Split`] for a K of 0 or above n; the optimiser's errors.
pub fn blockwise_frontier(
    blocks: &crate::BlockCurves,
    grid: &[usize],
) -> Result<Vec<NamedFrontier>, BlockCompareError> {
    let (m, n) = (blocks.blocks(), blocks.len());
    let mut series: Vec<NamedFrontier> = ["optimal", "llada", "cosine"]
        .into_iter()
        .map(|name| (name, Vec::new()))
        .collect();
    for &k in grid {
        if k == 0 || k > n {
            return Err(BlockCompareError::Split {
                steps: k,
                blocks: m,
                n,
            });
        }
        let best = crate::optimal_blockwise(blocks, k)?;
        series[0].1.push((k, Some(best.expected_kl)));
        let split = if k >= m && k.is_multiple_of(m) {
            equal_splits(blocks, k)?
                .into_iter()
                .map(|r| Some(r.3))
                .collect()
        } else {
            vec![None, None]
        };
        for (s, v) in series[1..].iter_mut().zip(split) {
            s.1.push((k, v));
        }
    }
    Ok(series)
}
