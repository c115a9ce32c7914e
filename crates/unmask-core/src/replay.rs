//! The random-order sampler replayed on given sequences (teacher forcing), batched: what a
//! schedule costs on data.

use rayon::prelude::*;

use crate::oracle::{MASK, Oracle};
use crate::schedule::Schedule;
use crate::stats::{Moments, Runs};

/// One sequence and the order and counts its replay reveals it in.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// The tokens.
    pub x: Vec<u32>,
    /// Positions in reveal order (a permutation of 0..n).
    pub order: Vec<usize>,
    /// Tokens revealed per step (summing to n).
    pub counts: Vec<usize>,
}

/// What a replay measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Replayed {
    /// `ln ν(x)`: Σ over steps of Σ over the step's positions of `ln q(x_j | x_revealed)`.
    pub ln_nu: f64,
    /// The first (all-masked) pass's mean `−ln q(x_i)` over every position: CE(0).
    pub first_ce: f64,
}

/// Replays every item in lockstep: at step k one batched oracle call answers step k of every
/// item that has one (`Oracle::batch_marginals`: one forward pass of a network for the whole
/// batch). With `baseline`, the first pass asks for every position, so `first_ce` comes free
/// (otherwise it is 0).
///
/// # Errors
///
/// The oracle's.
///
/// # Panics
///
/// If an item's order or counts do not fit the oracle's n.
pub fn replay_batch<O: Oracle>(
    oracle: &O,
    items: &[Replay],
    baseline: bool,
) -> Result<Vec<Replayed>, O::Error> {
    let (n, q) = (oracle.len(), oracle.vocab_size());
    let mut partials: Vec<Vec<u32>> = vec![vec![MASK; n]; items.len()];
    let mut done = vec![0usize; items.len()];
    let mut out: Vec<Replayed> = vec![
        Replayed {
            ln_nu: 0.0,
            first_ce: 0.0
        };
        items.len()
    ];
    let steps = items.iter().map(|r| r.counts.len()).max().unwrap_or(0);
    let all: Vec<usize> = (0..n).collect();
    for step in 0..steps {
        let active: Vec<usize> = (0..items.len())
            .filter(|&b| step < items[b].counts.len())
            .collect();
        let queries: Vec<&[usize]> = active
            .iter()
            .map(|&b| {
                let r = &items[b];
                assert_eq!(r.x.len(), n, "sequence length");
                if step == 0 && baseline {
                    &all[..]
                } else {
                    &r.order[done[b]..done[b] + r.counts[step]]
                }
            })
            .collect();
        let mut rows: Vec<Vec<f64>> = queries.iter().map(|qs| vec![0.0; qs.len() * q]).collect();
        {
            let p: Vec<&[u32]> = active.iter().map(|&b| partials[b].as_slice()).collect();
            let mut o: Vec<&mut [f64]> = rows.iter_mut().map(Vec::as_mut_slice).collect();
            oracle.batch_marginals(&p, &queries, &mut o)?;
        }
        for (k, &b) in active.iter().enumerate() {
            let r = &items[b];
            let block = &r.order[done[b]..done[b] + r.counts[step]];
            let p = |j: usize, row: &[f64]| row[r.x[j] as usize].max(f64::MIN_POSITIVE).ln();
            if step == 0 && baseline {
                let total: f64 = (0..n).map(|j| p(j, &rows[k][j * q..(j + 1) * q])).sum();
                out[b].first_ce = -total / n as f64;
                out[b].ln_nu += block
                    .iter()
                    .map(|&j| p(j, &rows[k][j * q..(j + 1) * q]))
                    .sum::<f64>();
            } else {
                out[b].ln_nu += block
                    .iter()
                    .zip(rows[k].chunks(q))
                    .map(|(&j, row)| p(j, row))
                    .sum::<f64>();
            }
            for &j in block {
                partials[b][j] = r.x[j];
            }
            done[b] += r.counts[step];
        }
    }
    Ok(out)
}

/// A schedule's held-out cost: the random-order sampler replayed on data.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreEstimate {
    /// Per sequence, the mean over its orders of `−ln ν(x) / n` (nats per token).
    pub nll_per_token: Moments,
    /// Per sequence, CE(0): the all-masked pass's mean cross-entropy.
    pub first_ce: Moments,
    /// Orders per sequence.
    pub orders: usize,
}

impl ScoreEstimate {
    /// The NLL per token Theorem 16 predicts from the model's cross-entropy curve Ẑ, with
    /// CE(0) measured by this run's first passes: `CE(0) − (1/n)·Σ_k s_k·Ẑ_{t_k+1}`, t_k the
    /// tokens revealed before step k (`docs/theory.md` §11).
    ///
    /// # Panics
    ///
    /// If the curve's and the schedule's lengths differ.
    pub fn predicted(&self, curve: &crate::InformationCurve, schedule: &Schedule) -> f64 {
        assert_eq!(curve.len(), schedule.len(), "curve and schedule lengths");
        let z = curve.z();
        let gain = crate::num::sum(schedule.blocks().map(|(t, s)| s as f64 * z[t]));
        self.first_ce.mean() - gain / curve.len() as f64
    }
}

/// Scores `schedule` on `data` (`sequences` rows of length n, row-major) with `orders` random
/// orders per sequence: order o of sequence i is [`crate::estimation_order`] of item
/// `i·orders + o` under `seed` (as `unmask.estimation_orders`), so the Python bridge's `score`
/// uses the same orders. The expectation of `nll_per_token` is `CE(0) − (1/n)·Σ_k s_k·Ẑ_{t_k+1}`
/// on the model's cross-entropy curve (`docs/theory.md` §11). Batches of `batch` replays run
/// in lockstep, batches in parallel.
///
/// # Errors
///
/// The oracle's.
///
/// # Panics
///
/// If `data.len()` is not a multiple of n or the schedule's length is not n.
pub fn score_schedule<O: Oracle>(
    oracle: &O,
    data: &[u32],
    schedule: &Schedule,
    orders: usize,
    batch: usize,
    runs: Runs<'_>,
) -> Result<ScoreEstimate, O::Error>
where
    O::Error: Send,
{
    let n = oracle.len();
    assert!(
        data.len().is_multiple_of(n) && schedule.len() == n,
        "data and schedule fit n"
    );
    let sequences = data.len() / n;
    let orders = orders.max(1);
    let items = sequences * orders;
    let chunks: Vec<Vec<Replayed>> = (0..items.div_ceil(batch.max(1)))
        .into_par_iter()
        .map(|c| {
            let lo = c * batch.max(1);
            let hi = (lo + batch.max(1)).min(items);
            let replays: Vec<Replay> = (lo..hi)
                .map(|item| {
                    let i = item / orders;
                    let mut rng = crate::sampler::stream(runs.seed, runs.first + item as u64);
                    Replay {
                        x: data[i * n..(i + 1) * n].to_vec(),
                        order: crate::estimate::estimation_order(n, &mut rng),
                        counts: schedule.counts().to_vec(),
                    }
                })
                .collect();
            let r = replay_batch(oracle, &replays, true)?;
            runs.observe.advanced((hi - lo) as u64);
            Ok(r)
        })
        .collect::<Result<_, O::Error>>()?;
    let flat: Vec<Replayed> = chunks.into_iter().flatten().collect();
    let per_seq = |f: &dyn Fn(&Replayed) -> f64| {
        Moments::of((0..sequences).map(|i| {
            flat[i * orders..(i + 1) * orders]
                .iter()
                .map(f)
                .sum::<f64>()
                / orders as f64
        }))
    };
    Ok(ScoreEstimate {
        nll_per_token: per_seq(&|r| -r.ln_nu / n as f64),
        first_ce: per_seq(&|r| r.first_ce),
        orders,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DistSpec, expected_kl};

    /// With the exact oracle, the score's expectation is (H(X) + Theorem 16)/n: checked
    /// within 4 standard errors on a Markov chain whose entropy is known in closed form.
    #[test]
    fn exact_oracle_scores_entropy_plus_theorem16() {
        let d = DistSpec::parse("markov:n=10,q=3,stay=0.8")
            .unwrap()
            .build(None)
            .unwrap();
        let data: Vec<u32> = (0..400)
            .flat_map(|i| d.sample(&mut crate::sampler::stream(9, i)))
            .collect();
        let s = Schedule::from_counts(vec![3, 3, 4]).unwrap();
        let e = score_schedule(&d, &data, &s, 3, 32, Runs::new(0, 4)).unwrap();
        let row = -(0.8f64 * 0.8f64.ln() + 2.0 * 0.1 * 0.1f64.ln());
        let h = 3f64.ln() + 9.0 * row;
        let kl = expected_kl(&d.exact_curve().unwrap(), &s).unwrap();
        let want = (h + kl) / 10.0;
        let got = e.nll_per_token;
        assert!(
            (got.mean() - want).abs() < 4.0 * got.stderr(),
            "{} vs {want}",
            got.mean()
        );
        assert!((e.first_ce.mean() - 3f64.ln()).abs() < 1e-12);
        // Batched and one-at-a-time replays agree exactly.
        let one = score_schedule(&d, &data, &s, 3, 1, Runs::new(0, 4)).unwrap();
        assert_eq!(one, e);
    }

    /// The block-wise chain rule (`docs/theory.md` §9) by Monte Carlo: the random-order sampler
    /// run block by block (a uniform order inside each block, blocks left to right) has
    /// expected KL Σ_b Theorem16(Z^(b), s^(b)) on the conditional block curves, within 4
    /// standard errors, for codes, chains and HMMs. (The codes make every draw's error the same, ln 7 or ln 2 where a
    /// block's last step reveals a determined token with another; the chains do not.)
    #[test]
    fn blockwise_sampler_matches_the_block_curves() {
        use rand::seq::SliceRandom;
        for (spec, block, counts) in [
            ("rs:n=6,k=3,q=7", 2, vec![2, 2, 2]),
            ("rs:n=6,k=3,q=7", 2, vec![1, 1, 2, 1, 1]),
            ("parity:n=8", 4, vec![4, 2, 2]),
            ("parity:n=8", 2, vec![2, 1, 1, 2, 2]),
            ("markov:n=12,q=3,stay=0.7", 4, vec![2, 2, 4, 1, 3]),
            ("markov:n=12,q=3,stay=0.7", 3, vec![3, 1, 2, 3, 1, 2]),
            ("hmm:n=8,states=2,q=3", 4, vec![4, 1, 3]),
            ("hmm:n=6,states=3,q=2", 3, vec![3, 2, 1]),
        ] {
            let dist = DistSpec::parse(spec).unwrap();
            let d = dist.build(None).unwrap();
            // HMMs have no closed form: their block curves come from enumerating the law.
            let blocks = dist
                .closed_block_curves(block)
                .or_else(|| crate::BlockCurves::by_enumeration(&d, block))
                .unwrap();
            let s = Schedule::from_counts(counts).unwrap();
            let (want, _) =
                crate::blockwise_expected_kl(&blocks, &blocks.split(&s).unwrap()).unwrap();
            let n = d.len();
            let items: Vec<Replay> = (0..6000)
                .map(|i| {
                    let mut rng = crate::sampler::stream(11, i);
                    let x = d.sample(&mut rng);
                    let order = (0..n)
                        .step_by(block)
                        .flat_map(|lo| {
                            let mut part: Vec<usize> = (lo..lo + block).collect();
                            part.shuffle(&mut rng);
                            part
                        })
                        .collect();
                    Replay {
                        x,
                        order,
                        counts: s.counts().to_vec(),
                    }
                })
                .collect();
            let got = Moments::of(
                replay_batch(&d, &items, false)
                    .unwrap()
                    .iter()
                    .zip(&items)
                    .map(|(r, item)| d.ln_pmf(&item.x) - r.ln_nu),
            );
            assert!(
                (got.mean() - want).abs() <= 4.0 * got.stderr() + 1e-12,
                "{spec}, block {block}: Monte Carlo {} ± {} vs {want}",
                got.mean(),
                got.stderr()
            );
        }
    }
}
