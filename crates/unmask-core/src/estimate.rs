use rand::seq::SliceRandom;
use rayon::prelude::*;

use crate::curve::{CurveError, InformationCurve, Repair};
use crate::num::entropy;
use crate::oracle::{MASK, Oracle};
use crate::stats::{Moments, Runs};

/// One grid point of a profile estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct PointEstimate {
    /// Revealed tokens t (the curve point is `Z_{t+1}`).
    pub t: usize,
    /// Mean predicted entropy of the masked positions, per draw.
    pub entropy: Moments,
    /// Mean cross-entropy `−ln p(x_i)` of the masked positions, per draw.
    pub cross_entropy: Moments,
    /// Per-draw `ĥ(0) − ĥ(t)` with predicted entropies.
    pub z_entropy: Moments,
    /// Per-draw `ĥ(0) − ĥ(t)` with cross-entropies.
    pub z_cross_entropy: Moments,
}

/// An estimated entropy profile on a grid of t values (nats).
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileEstimate {
    /// Sequence length.
    pub n: usize,
    /// One entry per grid point, t increasing, t = 0 first.
    pub points: Vec<PointEstimate>,
}

/// Which per-position loss builds the curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Mean predicted entropy (unbiased for a calibrated model).
    Entropy,
    /// Cross-entropy of the true token (what training measures; biased up by model error).
    CrossEntropy,
}

/// Why two estimates cannot merge.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("estimates differ in n or grid ({reason})")]
pub struct MergeError {
    /// What differs.
    pub reason: String,
}

impl ProfileEstimate {
    /// Adds another shard's sums (same n and grid).
    ///
    /// # Errors
    ///
    /// [`MergeError`] when n or the grid differ.
    pub fn merge(&mut self, other: &ProfileEstimate) -> Result<(), MergeError> {
        if self.n != other.n {
            return Err(MergeError {
                reason: format!("n = {} vs {}", self.n, other.n),
            });
        }
        let grid = |e: &ProfileEstimate| e.points.iter().map(|p| p.t).collect::<Vec<_>>();
        if grid(self) != grid(other) {
            return Err(MergeError {
                reason: format!("grid {:?} vs {:?}", grid(self), grid(other)),
            });
        }
        for (a, b) in self.points.iter_mut().zip(&other.points) {
            a.entropy.merge(&b.entropy);
            a.cross_entropy.merge(&b.cross_entropy);
            a.z_entropy.merge(&b.z_entropy);
            a.z_cross_entropy.merge(&b.z_cross_entropy);
        }
        Ok(())
    }

    /// Sparse curve points `(t + 1, Ẑ_{t+1}, stderr)` for the chosen loss.
    pub fn z_points(&self, loss: Loss) -> Vec<(usize, f64, f64)> {
        self.points
            .iter()
            .map(|p| {
                let m = match loss {
                    Loss::Entropy => &p.z_entropy,
                    Loss::CrossEntropy => &p.z_cross_entropy,
                };
                (
                    p.t + 1,
                    if p.t == 0 { 0.0 } else { m.mean() },
                    if p.t == 0 { 0.0 } else { m.stderr() },
                )
            })
            .collect()
    }

    /// The curve interpolated from the grid, repaired onto the valid set (estimates are noisy).
    ///
    /// # Errors
    ///
    /// [`CurveError`] when the estimate has no finite values.
    pub fn curve(&self, loss: Loss) -> Result<(InformationCurve, Repair), CurveError> {
        let points: Vec<(usize, f64)> = self.z_points(loss).iter().map(|p| (p.0, p.1)).collect();
        InformationCurve::from_points_repaired(self.n, &points)
    }
}

/// The estimation grid: t = round(k·(n−1)/P) revealed tokens for k = 0..P (halves rounded
/// away from zero), deduplicated (0 always included, every t < n). The CLI's
/// `estimate --points P`, Python's estimators and the default curves of HMMs and mixtures use
/// it. With P ≥ n − 1 the spacing is at most 1 and every t in 0..n is measured, so P is capped
/// there: the work is O(min(P, n)), whatever P.
///
/// # Example
///
/// ```
/// assert_eq!(unmask_core::estimation_grid(9, 4), vec![0, 2, 4, 6, 8]);
/// assert_eq!(unmask_core::estimation_grid(3, 8), vec![0, 1, 2]);
/// assert_eq!(unmask_core::estimation_grid(41, 16)[1..5], [3, 5, 8, 10]); // 2.5 → 3
/// assert_eq!(unmask_core::estimation_grid(5, 1_000_000_000_000).len(), 5);
/// ```
pub fn grid(n: usize, points: usize) -> Vec<usize> {
    if points >= n.saturating_sub(1) {
        return (0..n.max(1)).collect();
    }
    let points = points.max(1);
    let mut ts: Vec<usize> = (0..=points)
        .map(|k| ((k as f64) * n.saturating_sub(1) as f64 / points as f64).round() as usize)
        .filter(|&t| t < n)
        .collect();
    ts.dedup();
    ts
}

/// The random order of one estimation item: a uniform permutation of `0..n` (Fisher–Yates, as
/// `rand`'s `shuffle`), drawn first from the item's stream `stream(seed, i)`; the item's draw
/// (for `--dist`) comes from the same stream after it. The Python package takes its orders from
/// here (`unmask.estimation_orders`), so the two estimators reveal the same positions for the
/// same seed.
///
/// # Example
///
/// ```
/// let mut a = unmask_core::stream(7, 0);
/// let order = unmask_core::estimation_order(5, &mut a);
/// let mut sorted = order.clone();
/// sorted.sort();
/// assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
/// assert_eq!(order, unmask_core::estimation_order(5, &mut unmask_core::stream(7, 0)));
/// ```
pub fn estimation_order<R: rand::Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order
}

/// Estimates the entropy profile at `grid` (values of t; 0 is added if absent) from `samples`
/// draws `draw(rng)` (an exact draw, from item i's stream after its order) and oracle calls: per
/// draw, one random order ([`estimation_order`]); for each t, the first t positions are revealed and the oracle is asked for the
/// rest (one call per grid point per draw).
///
/// # Errors
///
/// The oracle's error.
///
/// # Panics
///
/// If a grid value is ≥ n or a draw has the wrong length.
///
/// Curve estimation from a model's point of view: the entropy profile
/// `h(t) = E H(X_i | X_S)`, `|S| = t`, estimated from draws and oracle calls only, as one would
/// with a trained model and a data set: the mean predicted entropy of the masked positions, and
/// the cross-entropy `−ln p(x_i)`. Both give `Ẑ_{t+1} = ĥ(0) − ĥ(t)` (`docs/theory.md` §6); the
/// same draw and order serve every t, so the differences have small variance. Results carry
/// sums and sums of squares so that shards computed on different machines merge exactly
/// ([`ProfileEstimate::merge`]).
pub fn estimate_profile<O: Oracle>(
    oracle: &O,
    draw: impl Fn(&mut rand_chacha::ChaCha8Rng) -> Vec<u32> + Sync,
    grid: &[usize],
    runs: Runs<'_>,
) -> Result<ProfileEstimate, O::Error>
where
    O::Error: Send,
{
    let n = oracle.len();
    let mut profiles = estimate_block_profiles(oracle, draw, n, grid, runs)?;
    Ok(profiles.remove(0))
}

/// The entropy profiles of the blocks of a block-wise decoder (`docs/theory.md` §9), one per
/// block of `block` positions: for block b and t in `grid` (t < block; 0 added), the blocks
/// before b are revealed, t positions of block b are, and the later blocks are masked; the
/// oracle is asked for the rest of block b. Draw i's order is the one [`estimate_profile`]
/// uses ([`estimation_order`]); block b's positions are revealed in the order they appear in
/// it (as `unmask.torch.estimate_curve(..., block=L)` does), so with `block = n` this is
/// [`estimate_profile`].
///
/// # Errors
///
/// The oracle's error.
///
/// # Panics
///
/// If `block` does not divide n, a grid value is ≥ `block`, or a draw has the wrong length.
pub fn estimate_block_profiles<O: Oracle>(
    oracle: &O,
    draw: impl Fn(&mut rand_chacha::ChaCha8Rng) -> Vec<u32> + Sync,
    block: usize,
    grid: &[usize],
    runs: Runs<'_>,
) -> Result<Vec<ProfileEstimate>, O::Error>
where
    O::Error: Send,
{
    let n = oracle.len();
    let q = oracle.vocab_size();
    assert!(
        block > 0 && n.is_multiple_of(block),
        "block length divides n"
    );
    let blocks = n / block;
    let mut ts: Vec<usize> = grid.to_vec();
    ts.push(0);
    ts.sort_unstable();
    ts.dedup();
    assert!(
        ts.iter().all(|&t| t < block),
        "grid values must be below the block length"
    );
    // per_draw[i][b][k] = (mean predicted entropy, mean cross-entropy) of block b at ts[k].
    let per_draw: Vec<Vec<Vec<(f64, f64)>>> = (0..runs.samples)
        .into_par_iter()
        .map(|i| -> Result<Vec<Vec<(f64, f64)>>, O::Error> {
            let mut rng = runs.rng(i);
            let order = estimation_order(n, &mut rng);
            let x = draw(&mut rng);
            assert_eq!(x.len(), n, "draw length");
            let mut out = Vec::new();
            let rows = (0..blocks)
                .map(|b| {
                    let lo = b * block;
                    let local: Vec<usize> =
                        order.iter().copied().filter(|&j| j / block == b).collect();
                    ts.iter()
                        .map(|&t| {
                            let mut partial = vec![MASK; n];
                            partial[..lo].copy_from_slice(&x[..lo]);
                            for &j in &local[..t] {
                                partial[j] = x[j];
                            }
                            let query = &local[t..];
                            out.resize(query.len() * q, 0.0);
                            oracle.conditional_marginals(&partial, query, &mut out)?;
                            let (mut h, mut ce) = (0.0, 0.0);
                            for (row, &j) in out.chunks(q).zip(query) {
                                h += entropy(row);
                                ce -= row[x[j] as usize].max(f64::MIN_POSITIVE).ln();
                            }
                            let m = query.len() as f64;
                            Ok((h / m, ce / m))
                        })
                        .collect::<Result<Vec<_>, O::Error>>()
                })
                .collect();
            runs.observe.advanced(1);
            rows
        })
        .collect::<Result<_, _>>()?;
    Ok((0..blocks)
        .map(|b| {
            let points = ts
                .iter()
                .enumerate()
                .map(|(k, &t)| {
                    let at = |f: &dyn Fn(&(f64, f64)) -> f64| {
                        Moments::of(per_draw.iter().map(|d| f(&d[b][k])))
                    };
                    PointEstimate {
                        t,
                        entropy: at(&|p| p.0),
                        cross_entropy: at(&|p| p.1),
                        z_entropy: Moments::of(per_draw.iter().map(|d| d[b][0].0 - d[b][k].0)),
                        z_cross_entropy: Moments::of(
                            per_draw.iter().map(|d| d[b][0].1 - d[b][k].1),
                        ),
                    }
                })
                .collect();
            ProfileEstimate { n: block, points }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DistSpec;

    #[test]
    fn merged_shards_equal_one_run() {
        let d = DistSpec::parse("markov:n=12,q=3,stay=0.7")
            .unwrap()
            .build(None)
            .unwrap();
        let grid = [3, 6, 9];
        let one = estimate_profile(&d, |r| d.sample(r), &grid, Runs::new(60, 5).first(0)).unwrap();
        let mut a =
            estimate_profile(&d, |r| d.sample(r), &grid, Runs::new(25, 5).first(0)).unwrap();
        let b = estimate_profile(&d, |r| d.sample(r), &grid, Runs::new(35, 5).first(25)).unwrap();
        a.merge(&b).unwrap();
        for (x, y) in a.points.iter().zip(&one.points) {
            assert_eq!(x.entropy.count, y.entropy.count);
            assert!((x.z_entropy.sum - y.z_entropy.sum).abs() < 1e-12);
            assert!((x.cross_entropy.sum_sq - y.cross_entropy.sum_sq).abs() < 1e-9);
        }
        let other = estimate_profile(&d, |r| d.sample(r), &[2], Runs::new(5, 5).first(0)).unwrap();
        assert!(a.merge(&other).is_err());
    }

    /// Block profiles estimated with the exact oracle recover the exact block curves of a
    /// Markov chain within 4 standard errors, and one block of n is `estimate_profile`.
    #[test]
    fn block_profiles_recover_exact_block_curves() {
        let dist = DistSpec::parse("markov:n=12,q=3,stay=0.8").unwrap();
        let d = dist.build(None).unwrap();
        let exact = dist.closed_block_curves(4).unwrap();
        let est = estimate_block_profiles(&d, |r| d.sample(r), 4, &[1, 2, 3], Runs::new(3000, 2))
            .unwrap();
        assert_eq!(est.len(), 3);
        for (e, c) in est.iter().zip(exact.curves()) {
            for (j, z, se) in e.z_points(Loss::Entropy) {
                let want = c.z()[j - 1];
                assert!(
                    (z - want).abs() <= 4.0 * se + 1e-12,
                    "Z_{j}: {z} ± {se} vs {want}"
                );
            }
        }
        let whole =
            estimate_block_profiles(&d, |r| d.sample(r), 12, &[4, 8], Runs::new(50, 3)).unwrap();
        let direct = estimate_profile(&d, |r| d.sample(r), &[4, 8], Runs::new(50, 3)).unwrap();
        assert_eq!(whole, vec![direct]);
    }
}
