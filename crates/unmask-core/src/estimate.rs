//! Monte Carlo checks of the theory and curve estimation from a model's point of view.
//!
//! - [`mc_expected_kl`]: the expected KL of a schedule estimated as the mean of
//!   `ln μ(x) − ln ν_cut(x)` over `x ~ μ` and a random cut, where
//!   `ν_cut(x) = Π_i Π_{j ∈ S_i} μ(x_j | x_{T_i})` (CCL Definition 14); its expectation is
//!   exactly the value of [`crate::expected_kl`] (Theorem 16).
//! - [`exact_output_law`]: the exact law ν of a sampler on a tiny distribution, by recursion
//!   over partial assignments, hence the sampler's own `KL(μ ‖ ν)` (≤ the expected KL for
//!   random-order samplers, by convexity).
//! - [`estimate_profile`]: the entropy profile `h(t) = E H(X_i | X_S)`, `|S| = t`, estimated
//!   from draws and oracle calls only, as one would with a trained model and a data set: the
//!   mean predicted entropy of the masked positions, and the cross-entropy `−ln p(x_i)`. Both
//!   give `Ẑ_{t+1} = ĥ(0) − ĥ(t)`; the same draw and order serve every t, so the differences
//!   have small variance. Results carry sums and sums of squares so that shards computed on
//!   different machines merge exactly ([`ProfileEstimate::merge`]).
//!
//! Work item i always uses the ChaCha8 stream `(seed, first + i)` (see [`crate::stream`]).

use std::collections::HashMap;

use rand::RngExt;
use rand::seq::SliceRandom;
use rayon::prelude::*;

use crate::curve::{CurveError, InformationCurve, Repair};
use crate::dist::Family;
use crate::kl::LengthMismatch;
use crate::num::binomial;
use crate::num::entropy;
use crate::oracle::{MASK, Oracle};
use crate::sampler::{Rule, adaptive_choice, stream};
use crate::schedule::Schedule;
use crate::stochastic::BinomialSchedule;

/// Progress reports from long computations (the core never prints; a CLI draws a bar).
///
/// Called from worker threads, hence `Sync`; the default does nothing.
pub trait Observe: Sync {
    /// `done` more work items (draws) finished.
    fn advanced(&self, done: u64) {
        let _ = done;
    }
}

/// No progress reports.
impl Observe for () {}

/// Running sums of a quantity: count, Σ v, Σ v². Mergeable.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Moments {
    /// Number of values.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The sum of their squares.
    pub sum_sq: f64,
}

impl Moments {
    /// Moments of values, summed in order.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let mut m = Moments::default();
        for v in values {
            m.count += 1;
            m.sum += v;
            m.sum_sq += v * v;
        }
        m
    }

    /// The mean (NaN when empty).
    pub fn mean(&self) -> f64 {
        self.sum / self.count as f64
    }

    /// The standard error of the mean (sample standard deviation / √count).
    pub fn stderr(&self) -> f64 {
        if self.count < 2 {
            return f64::NAN;
        }
        let c = self.count as f64;
        let var = ((self.sum_sq - self.sum * self.sum / c) / (c - 1.0)).max(0.0);
        (var / c).sqrt()
    }

    /// The 95% normal confidence interval of the mean.
    pub fn ci95(&self) -> (f64, f64) {
        let half = 1.959_963_984_540_054 * self.stderr();
        (self.mean() - half, self.mean() + half)
    }

    /// Adds another set of values.
    pub fn merge(&mut self, other: &Moments) {
        self.count += other.count;
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
    }
}

/// Monte Carlo estimate of the expected KL of `schedule` on `family` with `samples` draws
/// (each: one exact draw, one random cut, one oracle call per step). Runs in parallel.
///
/// # Errors
///
/// [`LengthMismatch`] when the schedule does not reveal n tokens.
///
/// # Example
///
/// ```
/// use unmask_core::{expected_kl, mc_expected_kl, DistSpec, Schedule};
/// let d = DistSpec::parse("markov:n=10,q=3,stay=0.8")?.build(None)?;
/// let s = Schedule::from_counts(vec![4, 3, 3])?;
/// let mc = mc_expected_kl(&d, &s, 4000, 1)?;
/// let exact = expected_kl(&d.exact_curve().unwrap(), &s)?;
/// assert!((mc.mean() - exact).abs() < 4.0 * mc.stderr());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn mc_expected_kl(
    family: &Family,
    schedule: &Schedule,
    samples: usize,
    seed: u64,
) -> Result<Moments, LengthMismatch> {
    mc_expected_kl_observed(family, schedule, samples, seed, &())
}

/// [`mc_expected_kl`] reporting each finished draw to `observe`.
///
/// # Errors
///
/// As [`mc_expected_kl`].
pub fn mc_expected_kl_observed(
    family: &Family,
    schedule: &Schedule,
    samples: usize,
    seed: u64,
    observe: &dyn Observe,
) -> Result<Moments, LengthMismatch> {
    let n = family.len();
    if schedule.len() != n {
        return Err(LengthMismatch {
            curve: n,
            schedule: schedule.len(),
        });
    }
    Ok(mc_with_counts(family, samples, seed, observe, |_| {
        schedule.counts().to_vec()
    }))
}

/// Monte Carlo expected KL of MDLM-style random counts: each draw also draws its counts (one
/// Bernoulli per masked position and step), then a random order cut by them.
pub fn mc_expected_kl_binomial(
    family: &Family,
    schedule: &BinomialSchedule,
    samples: usize,
    seed: u64,
    observe: &dyn Observe,
) -> Moments {
    let n = family.len();
    mc_with_counts(family, samples, seed, observe, |rng| {
        schedule.sample_counts(n, |m, p| (0..m).filter(|_| rng.random_bool(p)).count())
    })
}

/// The Monte Carlo loop: draw `x ~ μ`, the counts, a random order; average `ln μ(x) − ln ν_cut(x)`.
fn mc_with_counts(
    family: &Family,
    samples: usize,
    seed: u64,
    observe: &dyn Observe,
    counts: impl Fn(&mut rand_chacha::ChaCha8Rng) -> Vec<usize> + Sync,
) -> Moments {
    let n = family.len();
    let q = family.vocab_size();
    let values: Vec<f64> = (0..samples)
        .into_par_iter()
        .map(|i| {
            let mut rng = stream(seed, i as u64);
            let x = family.sample(&mut rng);
            let cut = counts(&mut rng);
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rng);
            let mut partial = vec![MASK; n];
            let mut out = Vec::new();
            let mut ln_nu = 0.0;
            let mut start = 0;
            for count in cut {
                let block = &order[start..start + count];
                start += count;
                out.resize(count * q, 0.0);
                family
                    .conditional_marginals(&partial, block, &mut out)
                    .expect("exact oracles are infallible");
                for (row, &j) in out.chunks(q).zip(block) {
                    ln_nu += row[x[j] as usize].ln();
                }
                for &j in block {
                    partial[j] = x[j];
                }
            }
            observe.advanced(1);
            family.ln_pmf(&x) - ln_nu
        })
        .collect();
    Moments::of(values)
}

/// Largest number of transitions [`exact_output_law`] will enumerate.
pub const EXACT_LAW_BUDGET: usize = 20_000_000;

/// The exact output law ν of `rule` on `family`, indexed like a table (position 1 most
/// significant), or None when the enumeration exceeds [`EXACT_LAW_BUDGET`] transitions or the
/// rule has proposal randomness that is not enumerated (confidence with temperature > 0).
///
/// # Panics
///
/// If the rule does not fit the family (check it with [`Rule::check`] first).
pub fn exact_output_law(family: &Family, rule: &Rule) -> Option<Vec<f64>> {
    let n = family.len();
    let q = family.vocab_size();
    let outcomes = q.checked_pow(n as u32)?;
    if outcomes > 1 << 20 {
        return None;
    }
    if let Rule::Confidence { temperature, .. } = rule
        && *temperature > 0.0
    {
        return None;
    }
    if let Rule::Binomial(_) = rule {
        return None; // random per-position decisions: not enumerated
    }
    // Block size to reveal when r tokens are revealed (zero-count steps change nothing).
    let block_at = |schedule: &Schedule| -> HashMap<usize, usize> {
        schedule.blocks().filter(|b| b.1 > 0).collect()
    };
    let blocks = match rule {
        Rule::RandomOrder(s)
        | Rule::FixedOrder { schedule: s, .. }
        | Rule::Confidence { schedule: s, .. } => block_at(s),
        _ => HashMap::new(),
    };
    // Schedule-driven rules: bound the enumeration before starting (states × transitions per
    // step, at most C(n, N)·q^N · C(n − N, s)·q^s), so hopeless cases return at once.
    if let Rule::RandomOrder(s) | Rule::FixedOrder { schedule: s, .. } = rule {
        let random = matches!(rule, Rule::RandomOrder(_));
        let qf = q as f64;
        let work: f64 = s
            .blocks()
            .filter(|b| b.1 > 0)
            .map(|(start, count)| {
                let states = binomial(n, start) * qf.powi(start as i32);
                let subsets = if random {
                    binomial(n - start, count)
                } else {
                    1.0
                };
                states * subsets * qf.powi(count as i32)
            })
            .sum();
        if work > EXACT_LAW_BUDGET as f64 {
            return None;
        }
    }
    let mut levels: Vec<HashMap<Vec<u32>, f64>> = vec![HashMap::new(); n + 1];
    levels[0].insert(vec![MASK; n], 1.0);
    let mut law = vec![0.0; outcomes];
    let mut work = 0usize;
    let mut out = Vec::new();
    for r in 0..=n {
        let level = std::mem::take(&mut levels[r]);
        for (state, p) in level {
            if r == n {
                let index = state.iter().fold(0usize, |acc, &v| acc * q + v as usize);
                law[index] += p;
                continue;
            }
            let masked: Vec<usize> = (0..n).filter(|&i| state[i] == MASK).collect();
            // Candidate sets with their probabilities.
            let sets: Vec<(Vec<usize>, f64, Option<Vec<u32>>)> = match rule {
                Rule::RandomOrder(_) => {
                    let s = blocks[&r];
                    let all = combinations(&masked, s);
                    let w = 1.0 / all.len() as f64;
                    all.into_iter().map(|c| (c, w, None)).collect()
                }
                Rule::FixedOrder { order, .. } => {
                    vec![(order[r..r + blocks[&r]].to_vec(), 1.0, None)]
                }
                Rule::Confidence { .. } => {
                    out.resize(masked.len() * q, 0.0);
                    family
                        .conditional_marginals(&state, &masked, &mut out)
                        .ok()?;
                    let mut proposals: Vec<(f64, usize, u32)> = masked
                        .iter()
                        .zip(out.chunks(q))
                        .map(|(&i, row)| {
                            let v = (0..q).fold(0, |b, v| if row[v] > row[b] { v } else { b });
                            (row[v], i, v as u32)
                        })
                        .collect();
                    proposals.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                    let chosen: Vec<(usize, u32)> = proposals
                        .iter()
                        .take(blocks[&r])
                        .map(|p| (p.1, p.2))
                        .collect();
                    let set = chosen.iter().map(|c| c.0).collect();
                    vec![(set, 1.0, Some(chosen.iter().map(|c| c.1).collect()))]
                }
                Rule::Binomial(_) => unreachable!("rejected above"),
                Rule::EntropyBound { .. } | Rule::Threshold { .. } => {
                    out.resize(masked.len() * q, 0.0);
                    family
                        .conditional_marginals(&state, &masked, &mut out)
                        .ok()?;
                    let chosen = adaptive_choice(rule, &out, q);
                    vec![(chosen.iter().map(|&c| masked[c]).collect(), 1.0, None)]
                }
            };
            for (set, w, fixed) in sets {
                let next_r = r + set.len();
                if let Some(values) = fixed {
                    let mut next = state.clone();
                    for (&i, &v) in set.iter().zip(&values) {
                        next[i] = v;
                    }
                    *levels[next_r].entry(next).or_insert(0.0) += p * w;
                    work += 1;
                    continue;
                }
                out.resize(set.len() * q, 0.0);
                family.conditional_marginals(&state, &set, &mut out).ok()?;
                // Every assignment of the set, with its product probability.
                let mut assignment = vec![0u32; set.len()];
                loop {
                    let pr: f64 = assignment
                        .iter()
                        .enumerate()
                        .map(|(k, &v)| out[k * q + v as usize])
                        .product();
                    if pr > 0.0 {
                        let mut next = state.clone();
                        for (&i, &v) in set.iter().zip(&assignment) {
                            next[i] = v;
                        }
                        *levels[next_r].entry(next).or_insert(0.0) += p * w * pr;
                    }
                    work += 1;
                    if work > EXACT_LAW_BUDGET {
                        return None;
                    }
                    // Next assignment (odometer).
                    let mut k = 0;
                    while k < assignment.len() {
                        assignment[k] += 1;
                        if (assignment[k] as usize) < q {
                            break;
                        }
                        assignment[k] = 0;
                        k += 1;
                    }
                    if k == assignment.len() {
                        break;
                    }
                }
            }
        }
    }
    Some(law)
}

/// All size-s subsets of `items`, in lexicographic order.
fn combinations(items: &[usize], s: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut pick = Vec::with_capacity(s);
    fn go(
        items: &[usize],
        s: usize,
        from: usize,
        pick: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
    ) {
        if pick.len() == s {
            out.push(pick.clone());
            return;
        }
        for k in from..items.len() {
            if items.len() - k < s - pick.len() {
                break;
            }
            pick.push(items[k]);
            go(items, s, k + 1, pick, out);
            pick.pop();
        }
    }
    go(items, s, 0, &mut pick, &mut out);
    out
}

/// The law μ of a family over all q^n outcomes (tiny distributions), indexed like a table.
pub fn exact_law(family: &Family) -> Option<Vec<f64>> {
    let n = family.len();
    let q = family.vocab_size();
    let outcomes = q.checked_pow(n as u32)?;
    if outcomes > 1 << 20 {
        return None;
    }
    let mut x = vec![0u32; n];
    Some(
        (0..outcomes)
            .map(|index| {
                let mut rest = index;
                for slot in x.iter_mut().rev() {
                    *slot = (rest % q) as u32;
                    rest /= q;
                }
                family.ln_pmf(&x).exp()
            })
            .collect(),
    )
}

/// `KL(μ ‖ ν)` between two laws over the same outcomes (nats; ∞ if ν misses μ's support).
pub fn kl_divergence(mu: &[f64], nu: &[f64]) -> f64 {
    crate::num::sum(
        mu.iter()
            .zip(nu)
            .filter(|(m, _)| **m > 0.0)
            .map(|(&m, &v)| {
                if v > 0.0 {
                    m * (m / v).ln()
                } else {
                    f64::INFINITY
                }
            }),
    )
}

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

/// The estimation grid: t = round(k·(n−1)/P) revealed tokens for k = 0..P, deduplicated (0
/// always included, every t < n). The CLI's `estimate --points P` and the default curves of
/// HMMs and mixtures use it.
///
/// # Example
///
/// ```
/// assert_eq!(unmask_core::estimate::grid(9, 4), vec![0, 2, 4, 6, 8]);
/// assert_eq!(unmask_core::estimate::grid(3, 8), vec![0, 1, 2]);
/// ```
pub fn grid(n: usize, points: usize) -> Vec<usize> {
    let points = points.max(1);
    let mut ts: Vec<usize> = (0..=points)
        .map(|k| ((k as f64) * n.saturating_sub(1) as f64 / points as f64).round() as usize)
        .filter(|&t| t < n)
        .collect();
    ts.dedup();
    ts
}

/// Estimates the entropy profile at `grid` (values of t; 0 is added if absent) from `samples`
/// draws `draw(i)` (sample i of a data set, or an exact draw) and oracle calls: per draw, one
/// random order; for each t, the first t positions are revealed and the oracle is asked for the
/// rest (one call per grid point per draw).
///
/// # Errors
///
/// The oracle's error.
///
/// # Panics
///
/// If a grid value is ≥ n or a draw has the wrong length.
pub fn estimate_profile<O: Oracle>(
    oracle: &O,
    draw: impl Fn(&mut rand_chacha::ChaCha8Rng) -> Vec<u32> + Sync,
    grid: &[usize],
    samples: usize,
    seed: u64,
    first: u64,
) -> Result<ProfileEstimate, O::Error>
where
    O::Error: Send,
{
    estimate_profile_observed(oracle, draw, grid, samples, seed, first, &())
}

/// [`estimate_profile`] reporting each finished draw to `observe`.
///
/// # Errors
///
/// As [`estimate_profile`].
///
/// # Panics
///
/// As [`estimate_profile`].
pub fn estimate_profile_observed<O: Oracle>(
    oracle: &O,
    draw: impl Fn(&mut rand_chacha::ChaCha8Rng) -> Vec<u32> + Sync,
    grid: &[usize],
    samples: usize,
    seed: u64,
    first: u64,
    observe: &dyn Observe,
) -> Result<ProfileEstimate, O::Error>
where
    O::Error: Send,
{
    let n = oracle.len();
    let q = oracle.vocab_size();
    let mut ts: Vec<usize> = grid.to_vec();
    ts.push(0);
    ts.sort_unstable();
    ts.dedup();
    assert!(ts.iter().all(|&t| t < n), "grid values must be below n");
    let per_draw: Vec<Vec<(f64, f64)>> = (0..samples)
        .into_par_iter()
        .map(|i| -> Result<Vec<(f64, f64)>, O::Error> {
            let mut rng = stream(seed, first + i as u64);
            let x = draw(&mut rng);
            assert_eq!(x.len(), n, "draw length");
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rng);
            let mut out = Vec::new();
            let row = ts
                .iter()
                .map(|&t| {
                    let mut partial = vec![MASK; n];
                    for &j in &order[..t] {
                        partial[j] = x[j];
                    }
                    let query = &order[t..];
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
                .collect();
            observe.advanced(1);
            row
        })
        .collect::<Result<_, _>>()?;
    let points = ts
        .iter()
        .enumerate()
        .map(|(k, &t)| PointEstimate {
            t,
            entropy: Moments::of(per_draw.iter().map(|d| d[k].0)),
            cross_entropy: Moments::of(per_draw.iter().map(|d| d[k].1)),
            z_entropy: Moments::of(per_draw.iter().map(|d| d[0].0 - d[k].0)),
            z_cross_entropy: Moments::of(per_draw.iter().map(|d| d[0].1 - d[k].1)),
        })
        .collect();
    Ok(ProfileEstimate { n, points })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DistSpec;

    fn family(spec: &str) -> Family {
        DistSpec::parse(spec).unwrap().build(None).unwrap()
    }

    #[test]
    fn moments_merge_and_ci() {
        let mut a = Moments::of([1.0, 2.0]);
        a.merge(&Moments::of([3.0, 4.0]));
        assert_eq!(a, Moments::of([1.0, 2.0, 3.0, 4.0]));
        assert_eq!(a.mean(), 2.5);
        let (lo, hi) = a.ci95();
        assert!(lo < 2.5 && hi > 2.5);
    }

    #[test]
    fn exact_law_of_random_order_matches_formula_bound() {
        for spec in [
            "markov:n=5,q=2,stay=0.8",
            "parity:n=5",
            "mixture:n=4,q=3,components=2,seed=4",
        ] {
            let d = family(spec);
            let mu = exact_law(&d).unwrap();
            assert!((mu.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            let counts = if d.len() == 5 {
                vec![2, 2, 1]
            } else {
                vec![2, 2]
            };
            let s = Schedule::from_counts(counts).unwrap();
            let nu = exact_output_law(&d, &Rule::RandomOrder(s.clone())).unwrap();
            assert!((nu.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            let kl = kl_divergence(&mu, &nu);
            // By convexity, the mixture's KL is at most the expected KL over cuts; compute the
            // latter exactly by averaging over fixed orders.
            let mut orders: Vec<Vec<usize>> = vec![];
            permutations(d.len(), &mut vec![], &mut orders);
            let expected: f64 = orders
                .iter()
                .map(|o| {
                    let rule = Rule::FixedOrder {
                        order: o.clone(),
                        schedule: s.clone(),
                    };
                    kl_divergence(&mu, &exact_output_law(&d, &rule).unwrap())
                })
                .sum::<f64>()
                / orders.len() as f64;
            assert!(kl <= expected + 1e-12, "{spec}: {kl} > {expected}");
            if let Some(curve) = d.exact_curve() {
                let formula = crate::expected_kl(&curve, &s).unwrap();
                assert!(
                    (expected - formula).abs() < 1e-9,
                    "{spec}: {expected} vs {formula}"
                );
            }
        }
    }

    fn permutations(n: usize, prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if prefix.len() == n {
            out.push(prefix.clone());
            return;
        }
        for i in 0..n {
            if !prefix.contains(&i) {
                prefix.push(i);
                permutations(n, prefix, out);
                prefix.pop();
            }
        }
    }

    #[test]
    fn merged_shards_equal_one_run() {
        let d = family("markov:n=12,q=3,stay=0.7");
        let grid = [3, 6, 9];
        let one = estimate_profile(&d, |r| d.sample(r), &grid, 60, 5, 0).unwrap();
        let mut a = estimate_profile(&d, |r| d.sample(r), &grid, 25, 5, 0).unwrap();
        let b = estimate_profile(&d, |r| d.sample(r), &grid, 35, 5, 25).unwrap();
        a.merge(&b).unwrap();
        for (x, y) in a.points.iter().zip(&one.points) {
            assert_eq!(x.entropy.count, y.entropy.count);
            assert!((x.z_entropy.sum - y.z_entropy.sum).abs() < 1e-12);
            assert!((x.cross_entropy.sum_sq - y.cross_entropy.sum_sq).abs() < 1e-9);
        }
        let other = estimate_profile(&d, |r| d.sample(r), &[2], 5, 5, 0).unwrap();
        assert!(a.merge(&other).is_err());
    }
}
