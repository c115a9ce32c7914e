//! The sampler as a step machine ([`Walk`]) and the lockstep runs that advance a batch of
//! walks with one batched oracle call per round.

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::{Reveal, Rule, Sample, SampleError, draw, rules, stream};
use crate::oracle::{MASK, Oracle};

/// One sequence being generated, step by step: [`sample`](super::sample) and [`sample_lockstep`] run the
/// same walk, so they draw the same random numbers in the same order.
pub(super) struct Walk<'r> {
    rule: &'r Rule,
    pub(super) x: Vec<u32>,
    counts: Vec<usize>,
    /// The reveal order (random and fixed orders) and how much of it is revealed.
    order: Vec<usize>,
    start: usize,
    /// MDLM's per-pass unmasking probabilities.
    probs: Vec<f64>,
    step: usize,
    pub(super) query: Vec<usize>,
    /// Block length (n: one block); blocks decode left to right.
    block: usize,
}

impl<'r> Walk<'r> {
    pub(super) fn new<R: Rng + ?Sized>(
        rule: &'r Rule,
        n: usize,
        block: usize,
        rng: &mut R,
    ) -> Self {
        let order = match rule {
            Rule::FixedOrder { order, .. } => order.clone(),
            // A uniform order inside each block, blocks left to right (one shuffle for one block).
            Rule::RandomOrder(_) => (0..n)
                .step_by(block)
                .flat_map(|lo| {
                    let mut part: Vec<usize> = (lo..(lo + block).min(n)).collect();
                    part.shuffle(rng);
                    part
                })
                .collect(),
            _ => Vec::new(),
        };
        let probs = match rule {
            Rule::Binomial(b) => b.step_probabilities().collect(),
            _ => Vec::new(),
        };
        Walk {
            rule,
            x: vec![MASK; n],
            counts: Vec::new(),
            order,
            start: 0,
            probs,
            step: 0,
            query: Vec::new(),
            block,
        }
    }

    /// The masked positions of the current block (the first with a masked position).
    fn masked(&self) -> Vec<usize> {
        let n = self.x.len();
        let Some(first) = self.x.iter().position(|&v| v == MASK) else {
            return Vec::new();
        };
        let lo = first / self.block * self.block;
        (lo..(lo + self.block).min(n))
            .filter(|&i| self.x[i] == MASK)
            .collect()
    }

    /// Sets `query` to the positions the next forward pass asks for; false when the sequence
    /// is done.
    pub(super) fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> bool {
        self.step_query(rng).is_some()
    }

    fn step_query<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<()> {
        self.query = match self.rule {
            Rule::RandomOrder(schedule) | Rule::FixedOrder { schedule, .. } => {
                let count = *schedule.counts().get(self.step)?;
                self.order[self.start..self.start + count].to_vec()
            }
            Rule::Confidence { schedule, .. } => {
                if self.step >= schedule.steps() {
                    return None;
                }
                self.masked()
            }
            Rule::Binomial(_) => {
                let p = *self.probs.get(self.step)?;
                let n = self.x.len();
                (0..n)
                    .filter(|&i| self.x[i] == MASK && (p >= 1.0 || rng.random_bool(p)))
                    .collect()
            }
            Rule::EntropyBound { .. } | Rule::Threshold { .. } => {
                if !self.x.contains(&MASK) {
                    return None;
                }
                self.masked()
            }
        };
        Some(())
    }

    /// Reveals this step's tokens from the oracle's answer to [`Walk::next`]'s query.
    pub(super) fn apply<R: Rng + ?Sized>(&mut self, out: &[f64], q: usize, rng: &mut R) {
        let revealed = match self.rule {
            Rule::RandomOrder(_) | Rule::FixedOrder { .. } | Rule::Binomial(_) => {
                for (row, &i) in out.chunks(q).zip(&self.query) {
                    self.x[i] = draw(row, rng);
                }
                self.query.len()
            }
            Rule::Confidence { temperature, .. } => {
                let propose = |row: &[f64]| rules::propose(row, *temperature, &mut *rng);
                match self.rule.reveal(self.step, out, q, propose) {
                    Reveal::Commit(commits) => {
                        for &(r, v) in &commits {
                            self.x[self.query[r]] = v;
                        }
                        commits.len()
                    }
                    Reveal::Draw(_) => unreachable!("confidence commits its proposals"),
                }
            }
            Rule::EntropyBound { .. } | Rule::Threshold { .. } => {
                let Reveal::Draw(chosen) = self.rule.reveal(0, out, q, rules::argmax_value) else {
                    unreachable!("adaptive rules draw what they choose")
                };
                for &slot in &chosen {
                    self.x[self.query[slot]] = draw(&out[slot * q..(slot + 1) * q], rng);
                }
                chosen.len()
            }
        };
        self.start += revealed;
        self.counts.push(revealed);
        self.step += 1;
    }

    pub(super) fn finish(self) -> Sample {
        Sample {
            tokens: self.x,
            counts: self.counts,
        }
    }
}

/// `count` samples that advance together: in each round, every unfinished sample of a batch of
/// `batch` asks for its next step and one [`Oracle::batch_marginals`] call answers them all —
/// one forward pass of a network per step for the whole batch. Sample i uses the stream
/// `(seed, first + i)` and gets exactly what [`sample`](super::sample) (and [`sample_batch`](super::sample_batch)) would give it;
/// batches run in parallel. [`Sample::nfe`] stays per sequence.
///
/// # Errors
///
/// As [`sample_batch`](super::sample_batch).
pub fn sample_lockstep<O: Oracle>(
    oracle: &O,
    rule: &Rule,
    count: usize,
    seed: u64,
    first: u64,
    batch: usize,
) -> Result<Vec<Sample>, SampleError<O::Error>>
where
    O::Error: Send,
{
    sample_lockstep_blocks(oracle, rule, oracle.len(), count, seed, first, batch)
}

/// [`sample_lockstep`] decoding block by block, LLaDA's semi-autoregressive way: the positions
/// are cut into blocks of `block`, decoded left to right, each block's positions only while
/// the blocks before it are revealed and the ones after it masked. The random-order rule
/// shuffles inside each block; the confidence rule ranks the current block's masked positions
/// (LLaDA's `−∞` confidence outside it); the adaptive rules choose among them. Schedules must
/// split at the block boundaries (LLaDA's `steps / blocks` per block, or any block-wise plan).
/// With `block = n` it is [`sample_lockstep`].
///
/// # Errors
///
/// [`SampleError::Blocks`], and as [`sample_batch`](super::sample_batch).
pub fn sample_lockstep_blocks<O: Oracle>(
    oracle: &O,
    rule: &Rule,
    block: usize,
    count: usize,
    seed: u64,
    first: u64,
    batch: usize,
) -> Result<Vec<Sample>, SampleError<O::Error>>
where
    O::Error: Send,
{
    let (n, q) = (oracle.len(), oracle.vocab_size());
    rule.check(n)?;
    if block != n {
        rule.check_blocks(n, block)?;
    }
    let batch = batch.max(1);
    let chunks: Vec<Vec<Sample>> = (0..count.div_ceil(batch))
        .into_par_iter()
        .map(|c| {
            let (lo, hi) = (c * batch, ((c + 1) * batch).min(count));
            let mut rngs: Vec<ChaCha8Rng> =
                (lo..hi).map(|i| stream(seed, first + i as u64)).collect();
            let mut walks: Vec<Walk<'_>> = rngs
                .iter_mut()
                .map(|rng| Walk::new(rule, n, block, rng))
                .collect();
            let mut live: Vec<usize> = (0..walks.len()).collect();
            loop {
                let mut asking = Vec::new();
                for &k in &live {
                    if walks[k].next(&mut rngs[k]) {
                        asking.push(k);
                    }
                }
                if asking.is_empty() {
                    break;
                }
                let mut outs: Vec<Vec<f64>> = asking
                    .iter()
                    .map(|&k| vec![0.0; walks[k].query.len() * q])
                    .collect();
                {
                    let partials: Vec<&[u32]> =
                        asking.iter().map(|&k| walks[k].x.as_slice()).collect();
                    let queries: Vec<&[usize]> =
                        asking.iter().map(|&k| walks[k].query.as_slice()).collect();
                    let mut o: Vec<&mut [f64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
                    oracle
                        .batch_marginals(&partials, &queries, &mut o)
                        .map_err(SampleError::Oracle)?;
                }
                for (&k, out) in asking.iter().zip(&outs) {
                    walks[k].apply(out, q, &mut rngs[k]);
                }
                live = asking;
            }
            Ok(walks.into_iter().map(Walk::finish).collect())
        })
        .collect::<Result<_, SampleError<O::Error>>>()?;
    Ok(chunks.into_iter().flatten().collect())
}
