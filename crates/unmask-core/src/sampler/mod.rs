use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

pub(crate) mod rules;
mod walk;

use walk::Walk;
pub use walk::{sample_lockstep, sample_lockstep_blocks};

pub(crate) use rules::Reveal;

use crate::oracle::Oracle;
use crate::schedule::Schedule;

/// How each step chooses what to reveal.
///
/// Masked-diffusion samplers over any [`Oracle`]: the paper's random-order sampler, fixed
/// subsets, LLaDA's confidence order, and the adaptive entropy-bounded and threshold rules.
///
/// # Definitions
///
/// Every step makes one oracle call (one forward pass, counted in [`Sample::nfe`], zero-count
/// steps included) on the current partial sequence and reveals a set of masked positions:
///
/// - [`Rule::RandomOrder`]: a uniform permutation cut into the schedule's blocks; each revealed
///   token is drawn independently from its conditional marginal (CCL Definition 15);
/// - [`Rule::FixedOrder`]: the same with a given order (CCL Definition 14);
/// - [`Rule::Confidence`]: LLaDA `low_confidence` — propose a token at every masked position
///   (argmax at temperature 0, else a draw from `p^{1/T}` normalised), and commit the `s_i`
///   proposals with the highest model probability (ties: lower position first);
/// - [`Rule::EntropyBound`]: EB-sampler — sort masked positions by marginal entropy, ascending,
///   and commit the largest prefix with `Σ H − max H ≤ γ` (at least one), drawing each token
///   from its marginal;
/// - [`Rule::Threshold`]: Fast-dLLM — commit every position whose top probability is ≥ τ (at
///   least the most confident one), drawing each token from its marginal.
///
/// # Reproducibility
///
/// [`sample_batch`] gives sample i its own ChaCha8 stream `(seed, i)` and runs samples in
/// parallel with rayon; results are returned in index order, so they do not depend on the
/// number of threads.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Rule {
    /// CCL's random-order sampler with a schedule.
    RandomOrder(Schedule),
    /// A fixed reveal order cut into the schedule's blocks.
    FixedOrder {
        /// A permutation of `0..n`.
        order: Vec<usize>,
        /// Block sizes.
        schedule: Schedule,
    },
    /// LLaDA `low_confidence` with a schedule.
    Confidence {
        /// Tokens committed per step.
        schedule: Schedule,
        /// Proposal temperature (0 = argmax).
        temperature: f64,
    },
    /// EB-sampler with entropy budget γ (nats).
    EntropyBound {
        /// The budget γ ≥ 0.
        gamma: f64,
    },
    /// Confidence threshold τ.
    Threshold {
        /// The threshold in [0, 1].
        tau: f64,
    },
    /// MDLM's ancestral sampler: at each step every masked token unmasks independently with the
    /// step's probability (one forward pass per step, uncached), then the noise-removal sweep.
    Binomial(crate::preset::BinomialSchedule),
}

/// Why sampling failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SampleError<E> {
    /// The oracle failed.
    #[error(transparent)]
    Oracle(E),
    /// The rule's schedule or order does not fit the oracle's length.
    #[error("the rule is for {rule} tokens but the oracle has n = {n}")]
    Length {
        /// Tokens in the rule.
        rule: usize,
        /// The oracle's length.
        n: usize,
    },
    /// The fixed order is not a permutation.
    #[error("the fixed order is not a permutation of 0..{n}")]
    NotPermutation {
        /// The length.
        n: usize,
    },
    /// A parameter is outside its domain.
    #[error("{key} = {value} is invalid: expected {expected}")]
    BadParameter {
        /// Parameter name.
        key: &'static str,
        /// The value.
        value: f64,
        /// Its domain.
        expected: &'static str,
    },
    /// Block-wise decoding: the blocks do not tile n, a step of the schedule would reveal
    /// tokens of two blocks, or the rule has no block-wise form.
    #[error("blocks of {block} over n = {n}: {why}")]
    Blocks {
        /// The block length.
        block: usize,
        /// The length.
        n: usize,
        /// What does not fit.
        why: &'static str,
    },
}

impl Rule {
    /// Checks that the rule can decode block by block with blocks of `block` positions.
    ///
    /// # Errors
    ///
    /// [`SampleError::Blocks`].
    pub fn check_blocks<E>(&self, n: usize, block: usize) -> Result<(), SampleError<E>> {
        let fail = |why| Err(SampleError::Blocks { block, n, why });
        if block == 0 || !n.is_multiple_of(block) {
            return fail("the block length must divide n");
        }
        match self {
            Rule::RandomOrder(s) | Rule::Confidence { schedule: s, .. } => {
                let mut done = 0;
                for &c in s.counts() {
                    if c > 0 && done / block != (done + c - 1) / block {
                        return fail("a step of the schedule crosses a block boundary");
                    }
                    done += c;
                }
                Ok(())
            }
            Rule::EntropyBound { .. } | Rule::Threshold { .. } => Ok(()),
            Rule::FixedOrder { .. } | Rule::Binomial(_) => {
                fail("only random-order, confidence and adaptive rules decode block-wise")
            }
        }
    }
}

/// One generated sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The tokens.
    pub tokens: Vec<u32>,
    /// Tokens revealed at each step (one entry per forward pass).
    pub counts: Vec<usize>,
}

impl Sample {
    /// Forward passes used.
    pub fn nfe(&self) -> usize {
        self.counts.len()
    }
}

impl Rule {
    /// The most oracle calls one sequence of length n can take under this rule, and the most
    /// positions one call answers: what the [resource policy](crate::budget) prices.
    ///
    /// Schedule rules call once per step and ask for the step's positions (confidence rules for
    /// every masked one); adaptive rules may call up to n times, each time for every masked
    /// position; MDLM's sampler calls once per pass.
    pub fn worst_case_calls(&self, n: usize) -> (usize, usize) {
        let widest = |s: &Schedule| s.counts().iter().copied().max().unwrap_or(0);
        match self {
            Rule::RandomOrder(s) | Rule::FixedOrder { schedule: s, .. } => (s.steps(), widest(s)),
            Rule::Confidence { schedule, .. } => (schedule.steps(), n),
            Rule::EntropyBound { .. } | Rule::Threshold { .. } => (n, n),
            Rule::Binomial(b) => (b.passes(), n),
        }
    }

    /// Checks the rule against a sequence length.
    ///
    /// # Errors
    ///
    /// [`SampleError::Length`], [`SampleError::NotPermutation`], [`SampleError::BadParameter`].
    pub fn check<E>(&self, n: usize) -> Result<(), SampleError<E>> {
        let fits = |s: &Schedule| {
            if s.len() == n {
                Ok(())
            } else {
                Err(SampleError::Length { rule: s.len(), n })
            }
        };
        match self {
            Rule::RandomOrder(s) => fits(s),
            Rule::FixedOrder { order, schedule } => {
                fits(schedule)?;
                let mut seen = vec![false; n];
                for &i in order {
                    if i >= n || std::mem::replace(&mut seen[i], true) {
                        return Err(SampleError::NotPermutation { n });
                    }
                }
                if order.len() == n {
                    Ok(())
                } else {
                    Err(SampleError::NotPermutation { n })
                }
            }
            Rule::Confidence {
                schedule,
                temperature,
            } => {
                if !(temperature.is_finite() && *temperature >= 0.0) {
                    return Err(SampleError::BadParameter {
                        key: "temperature",
                        value: *temperature,
                        expected: "a finite temperature ≥ 0",
                    });
                }
                fits(schedule)
            }
            Rule::EntropyBound { gamma } => {
                if gamma.is_finite() && *gamma >= 0.0 {
                    Ok(())
                } else {
                    Err(SampleError::BadParameter {
                        key: "gamma",
                        value: *gamma,
                        expected: "a finite budget ≥ 0",
                    })
                }
            }
            Rule::Threshold { tau } => {
                if (0.0..=1.0).contains(tau) {
                    Ok(())
                } else {
                    Err(SampleError::BadParameter {
                        key: "tau",
                        value: *tau,
                        expected: "a probability in [0, 1]",
                    })
                }
            }
            Rule::Binomial(_) => Ok(()),
        }
    }
}

/// A categorical draw from a probability row (by inversion).
fn draw<R: Rng + ?Sized>(row: &[f64], rng: &mut R) -> u32 {
    crate::num::draw(row, rng)
}

/// Generates one sequence.
///
/// # Errors
///
/// The rule's validation errors, or the oracle's error.
///
/// # Example
///
/// ```
/// use rand::SeedableRng;
/// use unmask_core::{sample, DistSpec, Rule, Schedule};
/// let parity = DistSpec::parse("parity:n=8")?.build(None)?;
/// let rule = Rule::RandomOrder(Schedule::from_counts(vec![7, 1])?);
/// let s = sample(&parity, &rule, &mut rand_chacha::ChaCha8Rng::seed_from_u64(7))?;
/// assert_eq!(s.nfe(), 2);
/// assert_eq!(s.tokens.iter().sum::<u32>() % 2, 0); // (n − 1, 1) is exact for parity
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sample<O: Oracle, R: Rng + ?Sized>(
    oracle: &O,
    rule: &Rule,
    rng: &mut R,
) -> Result<Sample, SampleError<O::Error>> {
    let (n, q) = (oracle.len(), oracle.vocab_size());
    rule.check(n)?;
    let mut walk = Walk::new(rule, n, n, rng);
    let mut out = Vec::new();
    while walk.next(rng) {
        out.resize(walk.query.len() * q, 0.0);
        oracle
            .conditional_marginals(&walk.x, &walk.query, &mut out)
            .map_err(SampleError::Oracle)?;
        walk.apply(&out, q, rng);
    }
    Ok(walk.finish())
}

/// `count` samples in parallel; sample i uses the ChaCha8 stream `(seed, first + i)`.
///
/// # Errors
///
/// The first error any sample met.
pub fn sample_batch<O: Oracle>(
    oracle: &O,
    rule: &Rule,
    count: usize,
    seed: u64,
    first: u64,
) -> Result<Vec<Sample>, SampleError<O::Error>>
where
    O::Error: Send,
{
    rule.check(oracle.len())?;
    (0..count)
        .into_par_iter()
        .map(|i| sample(oracle, rule, &mut stream(seed, first + i as u64)))
        .collect()
}

/// The generator of work item `index` under `seed`: ChaCha8 with the item as its stream, so
/// items are independent and reproducible in any order.
pub fn stream(seed: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DistSpec;
    use crate::oracle::{Counting, MASK};

    fn family(spec: &str) -> crate::Family {
        DistSpec::parse(spec).unwrap().build(None).unwrap()
    }

    /// Block-wise lockstep decoding asks, at every step, only for masked positions of one
    /// block, with every earlier block revealed and every later one masked, for each rule
    /// that decodes block-wise; bad block plans are refused.
    #[test]
    fn blocks_decode_left_to_right() {
        use std::sync::Mutex;
        struct Watch<'a> {
            inner: &'a crate::Family,
            seen: Mutex<Vec<(Vec<u32>, Vec<usize>)>>,
        }
        impl Oracle for Watch<'_> {
            type Error = std::convert::Infallible;
            fn len(&self) -> usize {
                self.inner.len()
            }
            fn vocab_size(&self) -> usize {
                self.inner.vocab_size()
            }
            fn conditional_marginals(
                &self,
                partial: &[u32],
                query: &[usize],
                out: &mut [f64],
            ) -> Result<(), Self::Error> {
                self.seen
                    .lock()
                    .unwrap()
                    .push((partial.to_vec(), query.to_vec()));
                self.inner.conditional_marginals(partial, query, out)
            }
        }
        let d = family("markov:n=12,q=3,stay=0.7");
        let s = || Some(Schedule::from_counts(vec![2, 2, 0, 4, 1, 3]).unwrap());
        for (spec, schedule) in [
            (None, s()),
            (Some("confidence"), s()),
            (Some("eb:gamma=0.4"), None),
            (Some("threshold:tau=0.5"), None),
        ] {
            let rule = Rule::parse(spec, schedule, crate::Unit::Nats).unwrap();
            let watch = Watch {
                inner: &d,
                seen: Mutex::new(Vec::new()),
            };
            let out = sample_lockstep_blocks(&watch, &rule, 4, 10, 1, 0, 4).unwrap();
            for sample in &out {
                assert!(!sample.tokens.contains(&MASK));
                assert_eq!(sample.counts.iter().sum::<usize>(), 12);
            }
            for (partial, query) in watch.seen.into_inner().unwrap() {
                let Some(&i) = query.first() else { continue };
                let b = i / 4;
                assert!(query.iter().all(|&j| j / 4 == b), "{spec:?}: {query:?}");
                for (j, &v) in partial.iter().enumerate() {
                    if j / 4 < b {
                        assert_ne!(v, MASK, "{spec:?}: an earlier block is masked");
                    }
                    if j / 4 > b {
                        assert_eq!(v, MASK, "{spec:?}: a later block is revealed");
                    }
                }
            }
        }
        let crossing = Rule::RandomOrder(Schedule::from_counts(vec![3, 3, 6]).unwrap());
        assert!(matches!(
            sample_lockstep_blocks(&d, &crossing, 4, 1, 0, 0, 1),
            Err(SampleError::Blocks { .. })
        ));
        let mdlm = Rule::parse(Some("mdlm:steps=4"), None, crate::Unit::Nats).unwrap();
        assert!(sample_lockstep_blocks(&d, &mdlm, 4, 1, 0, 0, 1).is_err());
        assert!(sample_lockstep_blocks(&d, &crossing, 5, 1, 0, 0, 1).is_err());
    }

    /// Lockstep batches give every sample exactly what it gets alone, for every rule, with
    /// one batched call per round (checked through a counting oracle).
    #[test]
    fn lockstep_equals_one_at_a_time() {
        let d = family("hmm:n=9,states=3,q=4,seed=2");
        let s = || Some(Schedule::from_counts(vec![2, 0, 3, 4]).unwrap());
        let rules = [
            (None, s()),
            (Some("fixed"), s()),
            (Some("confidence"), s()),
            (Some("confidence:temperature=0.7"), s()),
            (Some("eb:gamma=0.5"), None),
            (Some("threshold:tau=0.6"), None),
            (Some("mdlm:steps=5"), None),
        ];
        for (spec, schedule) in rules {
            let rule = Rule::parse(spec, schedule, crate::Unit::Nats).unwrap();
            let alone = sample_batch(&d, &rule, 20, 3, 5).unwrap();
            for batch in [1, 3, 64] {
                let counted = crate::Counting::new(&d);
                let together = sample_lockstep(&counted, &rule, 20, 3, 5, batch).unwrap();
                assert_eq!(together, alone, "{spec:?}, batch {batch}");
                let nfe: usize = alone.iter().map(Sample::nfe).sum();
                assert_eq!(counted.calls(), nfe as u64);
                if batch == 64 {
                    let rounds = alone.iter().map(Sample::nfe).max().unwrap();
                    assert_eq!(counted.batches(), rounds as u64, "{spec:?}");
                }
            }
        }
    }

    #[test]
    fn nfe_equals_steps_and_counts_are_realised() {
        let d = family("markov:n=12,q=3,stay=0.8");
        let counted = Counting::new(&d);
        let schedule = Schedule::from_counts(vec![0, 5, 0, 4, 3]).unwrap();
        let s = sample(
            &counted,
            &Rule::RandomOrder(schedule.clone()),
            &mut stream(1, 0),
        )
        .unwrap();
        assert_eq!(counted.calls(), 5);
        assert_eq!(s.counts, schedule.counts());
        assert!(s.tokens.iter().all(|&t| t < 3));
        let conf = Rule::Confidence {
            schedule,
            temperature: 0.0,
        };
        let s = sample(&d, &conf, &mut stream(1, 1)).unwrap();
        assert!(!s.tokens.contains(&MASK));
        for rule in [
            Rule::EntropyBound { gamma: 0.5 },
            Rule::Threshold { tau: 0.9 },
        ] {
            let counted = Counting::new(&d);
            let s = sample(&counted, &rule, &mut stream(1, 2)).unwrap();
            assert_eq!(counted.calls() as usize, s.nfe());
            assert_eq!(s.counts.iter().sum::<usize>(), 12);
            assert!(s.counts.iter().all(|&c| c >= 1));
        }
    }

    #[test]
    fn adaptive_rules_on_codes() {
        // Parity: every position is uniform until only one is masked; EB with γ < ln 2 can
        // only commit one uniform token per step (Σ H − max H = 0 for a single one).
        let d = family("parity:n=6");
        let s = sample(&d, &Rule::EntropyBound { gamma: 0.1 }, &mut stream(2, 0)).unwrap();
        assert_eq!(s.nfe(), 6);
        assert_eq!(d.is_codeword(&s.tokens), Some(true));
        // A huge budget commits everything at once: no longer a codeword in general.
        let s = sample(&d, &Rule::EntropyBound { gamma: 100.0 }, &mut stream(2, 1)).unwrap();
        assert_eq!(s.nfe(), 1);
        let s = sample(&d, &Rule::Threshold { tau: 0.99 }, &mut stream(2, 2)).unwrap();
        assert_eq!(d.is_codeword(&s.tokens), Some(true));
    }

    #[test]
    fn batches_do_not_depend_on_threads() {
        let d = family("hmm:n=10,states=3,q=4,seed=3");
        let rule = Rule::RandomOrder(Schedule::from_counts(vec![3, 3, 4]).unwrap());
        let a = sample_batch(&d, &rule, 40, 9, 0).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let b = pool.install(|| sample_batch(&d, &rule, 40, 9, 0)).unwrap();
        assert_eq!(a, b);
        // A shard starting at 20 reproduces the second half.
        let c = sample_batch(&d, &rule, 20, 9, 20).unwrap();
        assert_eq!(&a[20..], &c[..]);
    }

    #[test]
    fn bad_rules() {
        let d = family("repeat:n=4,q=2");
        let wrong = Rule::RandomOrder(Schedule::from_counts(vec![2, 3]).unwrap());
        assert!(matches!(
            sample(&d, &wrong, &mut stream(0, 0)),
            Err(SampleError::Length { rule: 5, n: 4 })
        ));
        let not_perm = Rule::FixedOrder {
            order: vec![0, 1, 1, 3],
            schedule: Schedule::singletons(4),
        };
        assert!(matches!(
            sample(&d, &not_perm, &mut stream(0, 0)),
            Err(SampleError::NotPermutation { .. })
        ));
        assert!(sample(&d, &Rule::Threshold { tau: 1.5 }, &mut stream(0, 0)).is_err());
        assert!(sample(&d, &Rule::EntropyBound { gamma: -1.0 }, &mut stream(0, 0)).is_err());
    }
}
