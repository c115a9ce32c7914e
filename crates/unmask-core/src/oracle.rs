use std::sync::atomic::{AtomicU64, Ordering};

/// The token value of a masked position.
pub const MASK: u32 = u32::MAX;

/// One forward pass of a masked diffusion model.
///
/// The conditional-marginal oracle: the contract of one masked-diffusion forward pass.
///
/// # Definitions
///
/// Given a partially revealed sequence `x_T` (masked positions hold [`MASK`]), the oracle
/// returns, for every queried masked position i, the conditional marginal `μ(X_i = v | x_T)`
/// over the vocabulary (CCL Definition 11). One call is one forward pass (one NFE). Exact
/// distributions ([`crate::Family`]) implement it; a trained model is another implementation.
///
/// # Design
///
/// Oracles return probabilities and the sampler draws, so the trait mentions no RNG type (a
/// neural backend on another `rand` major can implement it). `&self` is immutable and the trait
/// requires `Sync`, so one oracle serves many sampling threads. When `x_T` has probability 0
/// under μ the answer is arbitrary; exact oracles return the uniform law, as the paper's
/// lower-bound section fixes.
pub trait Oracle: Sync {
    /// The error of a call; exact oracles use [`std::convert::Infallible`].
    type Error: std::error::Error + Send + Sync + 'static;

    /// Sequence length n.
    fn len(&self) -> usize;

    /// Vocabulary size q.
    fn vocab_size(&self) -> usize;

    /// Writes `μ(X_i = v | x_T)` for every i in `query` (masked positions of `partial`),
    /// row-major into `out` (`out.len() == query.len() · vocab_size()`).
    ///
    /// # Errors
    ///
    /// Whatever the implementation's forward pass can fail with.
    ///
    /// # Panics
    ///
    /// Implementations may panic when `partial.len() != len()`, a queried position is out of
    /// range, or `out` has the wrong length.
    fn conditional_marginals(
        &self,
        partial: &[u32],
        query: &[usize],
        out: &mut [f64],
    ) -> Result<(), Self::Error>;

    /// One forward pass over a batch of partial sequences: `outs[b]` receives the marginals of
    /// `queries[b]` given `partials[b]`, laid out as in
    /// [`conditional_marginals`](Oracle::conditional_marginals). The default calls that method
    /// once per sequence; a neural model overrides it with a real batched pass.
    ///
    /// # Errors
    ///
    /// The first error of any sequence.
    ///
    /// # Panics
    ///
    /// If the three slices differ in length, or as `conditional_marginals`.
    fn batch_marginals(
        &self,
        partials: &[&[u32]],
        queries: &[&[usize]],
        outs: &mut [&mut [f64]],
    ) -> Result<(), Self::Error> {
        assert!(
            partials.len() == queries.len() && queries.len() == outs.len(),
            "batch sizes"
        );
        for ((partial, query), out) in partials.iter().zip(queries).zip(outs.iter_mut()) {
            self.conditional_marginals(partial, query, out)?;
        }
        Ok(())
    }

    /// Always false for a usable oracle; present for symmetry with `len`.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<O: Oracle + ?Sized> Oracle for &O {
    type Error = O::Error;

    fn len(&self) -> usize {
        (**self).len()
    }

    fn vocab_size(&self) -> usize {
        (**self).vocab_size()
    }

    fn conditional_marginals(
        &self,
        partial: &[u32],
        query: &[usize],
        out: &mut [f64],
    ) -> Result<(), Self::Error> {
        (**self).conditional_marginals(partial, query, out)
    }

    /// Forwarded, so a reference keeps the inner oracle's own batched pass (a network's one
    /// forward pass per batch, not one per sequence).
    fn batch_marginals(
        &self,
        partials: &[&[u32]],
        queries: &[&[usize]],
        outs: &mut [&mut [f64]],
    ) -> Result<(), Self::Error> {
        (**self).batch_marginals(partials, queries, outs)
    }
}

/// An oracle conditioned on a revealed prefix: positions `0..n − p` of this oracle are
/// positions `p..n` of `inner`, and the first p are always `prefix` (a prompt). Samplers run on
/// it generate continuations; batches stay batched.
///
/// # Example
///
/// ```
/// use unmask_core::{DistSpec, Oracle, Prefixed, MASK};
/// let d = DistSpec::parse("repeat:n=4,q=3")?.build(None)?;
/// let answer = Prefixed::new(&d, vec![2]);
/// assert_eq!(answer.len(), 3);
/// let mut out = vec![0.0; 3];
/// answer.conditional_marginals(&[MASK, MASK, MASK], &[1], &mut out).unwrap();
/// assert_eq!(out, vec![0.0, 0.0, 1.0]); // the prompt's token repeats
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Prefixed<O> {
    inner: O,
    prefix: Vec<u32>,
}

impl<O: Oracle> Prefixed<O> {
    /// `inner` with its first `prefix.len()` positions fixed.
    ///
    /// # Panics
    ///
    /// If the prefix is not shorter than the inner oracle's length.
    pub fn new(inner: O, prefix: Vec<u32>) -> Self {
        assert!(prefix.len() < inner.len(), "the prefix leaves no position");
        Prefixed { inner, prefix }
    }

    fn full(&self, partial: &[u32]) -> Vec<u32> {
        let mut x = self.prefix.clone();
        x.extend_from_slice(partial);
        x
    }
}

impl<O: Oracle> Oracle for Prefixed<O> {
    type Error = O::Error;

    fn len(&self) -> usize {
        self.inner.len() - self.prefix.len()
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
        let p = self.prefix.len();
        let shifted: Vec<usize> = query.iter().map(|&i| i + p).collect();
        self.inner
            .conditional_marginals(&self.full(partial), &shifted, out)
    }

    fn batch_marginals(
        &self,
        partials: &[&[u32]],
        queries: &[&[usize]],
        outs: &mut [&mut [f64]],
    ) -> Result<(), Self::Error> {
        let p = self.prefix.len();
        let full: Vec<Vec<u32>> = partials.iter().map(|x| self.full(x)).collect();
        let shifted: Vec<Vec<usize>> = queries
            .iter()
            .map(|q| q.iter().map(|&i| i + p).collect())
            .collect();
        let f: Vec<&[u32]> = full.iter().map(Vec::as_slice).collect();
        let s: Vec<&[usize]> = shifted.iter().map(Vec::as_slice).collect();
        self.inner.batch_marginals(&f, &s, outs)
    }
}

/// Wraps an oracle and counts its calls (forward passes, NFE), thread-safely.
///
/// # Example
///
/// ```
/// use unmask_core::{Counting, DistSpec, Oracle, MASK};
/// let dist = DistSpec::parse("repeat:n=3,q=4")?.build(None)?;
/// let counted = Counting::new(&dist);
/// let mut out = vec![0.0; 4];
/// counted.conditional_marginals(&[MASK, 2, MASK], &[0], &mut out).unwrap();
/// assert_eq!(out, vec![0.0, 0.0, 1.0, 0.0]); // the revealed copy decides
/// assert_eq!(counted.calls(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Counting<O> {
    // `calls`: sequences answered (one NFE each, batched or not); `batches`: forward passes
    // of the inner oracle as it was called (a batch counts once).
    inner: O,
    calls: AtomicU64,
    batches: AtomicU64,
}

impl<O> Counting<O> {
    /// Starts counting at zero.
    pub fn new(inner: O) -> Self {
        Counting {
            inner,
            calls: AtomicU64::new(0),
            batches: AtomicU64::new(0),
        }
    }

    /// Sequences answered so far (NFE summed over sequences).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Calls of the inner oracle so far: a batched pass counts once.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// The wrapped oracle.
    pub fn into_inner(self) -> O {
        self.inner
    }
}

impl<O: Oracle> Oracle for Counting<O> {
    type Error = O::Error;

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
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.inner.conditional_marginals(partial, query, out)
    }

    /// Passes the batch to the inner oracle's own batched pass (a neural model's single
    /// forward), counting one call per sequence and one batch.
    fn batch_marginals(
        &self,
        partials: &[&[u32]],
        queries: &[&[usize]],
        outs: &mut [&mut [f64]],
    ) -> Result<(), Self::Error> {
        self.calls
            .fetch_add(partials.len() as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.inner.batch_marginals(partials, queries, outs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DistSpec;
    use std::sync::Mutex;

    /// Records every call it receives and checks its inputs against the contract.
    #[derive(Debug)]
    struct Checking<O> {
        inner: O,
        seen: Mutex<Vec<(Vec<u32>, Vec<usize>)>>,
    }

    impl<O: Oracle> Oracle for Checking<O> {
        type Error = O::Error;
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
            assert_eq!(partial.len(), self.len(), "partial length");
            assert_eq!(out.len(), query.len() * self.vocab_size(), "out length");
            for &i in query {
                assert_eq!(partial[i], MASK, "queried position {i} is revealed");
            }
            self.seen
                .lock()
                .unwrap()
                .push((partial.to_vec(), query.to_vec()));
            self.inner.conditional_marginals(partial, query, out)
        }
    }

    /// The default `batch_marginals` hands each sequence, its query and its own output slice to
    /// one call, in order, and the answers are the hand-computed marginals of `repeat` (one
    /// token copied n times: a revealed copy decides, otherwise uniform).
    #[test]
    fn batch_passes_each_sequence_its_own_query_and_output() {
        let d = DistSpec::parse("repeat:n=5,q=4")
            .unwrap()
            .build(None)
            .unwrap();
        let checking = Checking {
            inner: &d,
            seen: Mutex::new(Vec::new()),
        };
        let counted = Counting::new(&checking);
        let partials: Vec<Vec<u32>> = vec![
            vec![MASK, 3, MASK, MASK, MASK],
            vec![MASK; 5],
            vec![1, MASK, 1, MASK, 1],
        ];
        let queries: Vec<Vec<usize>> = vec![vec![0, 2, 4], vec![1], vec![3, 1]];
        let mut outs: Vec<Vec<f64>> = queries.iter().map(|q| vec![-1.0; q.len() * 4]).collect();
        {
            let p: Vec<&[u32]> = partials.iter().map(Vec::as_slice).collect();
            let q: Vec<&[usize]> = queries.iter().map(Vec::as_slice).collect();
            let mut o: Vec<&mut [f64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
            counted.batch_marginals(&p, &q, &mut o).unwrap();
        }
        assert_eq!(counted.calls(), 3);
        assert_eq!(counted.batches(), 1);
        let seen = checking.seen.into_inner().unwrap();
        let expected: Vec<(Vec<u32>, Vec<usize>)> = partials
            .iter()
            .cloned()
            .zip(queries.iter().cloned())
            .collect();
        assert_eq!(seen, expected);
        let one_hot = |v: usize| {
            (0..4)
                .map(|t| f64::from(u8::from(t == v)))
                .collect::<Vec<_>>()
        };
        assert_eq!(outs[0], [one_hot(3), one_hot(3), one_hot(3)].concat());
        assert_eq!(outs[1], vec![0.25; 4]);
        assert_eq!(outs[2], [one_hot(1), one_hot(1)].concat());
    }

    /// Counts the batched passes it receives (a network's forward passes).
    #[derive(Debug)]
    struct Batched<O> {
        inner: O,
        passes: std::sync::atomic::AtomicUsize,
    }

    impl<O: Oracle> Oracle for Batched<O> {
        type Error = O::Error;
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
            self.passes.fetch_add(1, Ordering::Relaxed);
            self.inner.conditional_marginals(partial, query, out)
        }
        fn batch_marginals(
            &self,
            partials: &[&[u32]],
            queries: &[&[usize]],
            outs: &mut [&mut [f64]],
        ) -> Result<(), Self::Error> {
            self.passes.fetch_add(1, Ordering::Relaxed);
            for ((p, q), o) in partials.iter().zip(queries).zip(outs.iter_mut()) {
                self.inner.conditional_marginals(p, q, o)?;
            }
            Ok(())
        }
    }

    /// `sample --model` wraps its network as `Counting(&Prefixed(&network))`: a batch of three
    /// sequences must reach the network as one batched pass through every layer (references
    /// included), not three.
    #[test]
    fn references_and_wrappers_keep_one_batched_pass() {
        let d = DistSpec::parse("repeat:n=5,q=4")
            .unwrap()
            .build(None)
            .unwrap();
        let net = Batched {
            inner: &d,
            passes: std::sync::atomic::AtomicUsize::new(0),
        };
        let prefixed = Prefixed::new(&net, vec![2]);
        let counted = Counting::new(&prefixed);
        let partials = [vec![MASK; 4], vec![MASK; 4], vec![1, MASK, MASK, MASK]];
        let queries = [vec![0usize, 1], vec![3], vec![2]];
        let mut outs: Vec<Vec<f64>> = queries.iter().map(|q| vec![0.0; q.len() * 4]).collect();
        let p: Vec<&[u32]> = partials.iter().map(Vec::as_slice).collect();
        let q: Vec<&[usize]> = queries.iter().map(Vec::as_slice).collect();
        let mut o: Vec<&mut [f64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        (&&counted).batch_marginals(&p, &q, &mut o).unwrap();
        assert_eq!(net.passes.load(Ordering::Relaxed), 1, "one forward pass");
        assert_eq!((counted.calls(), counted.batches()), (3, 1));
        assert_eq!(
            outs[1],
            vec![0.0, 0.0, 1.0, 0.0],
            "the prompt's token repeats"
        );
    }

    #[test]
    #[should_panic(expected = "batch sizes")]
    fn batch_of_mismatched_sizes_panics() {
        let d = DistSpec::parse("repeat:n=2,q=2")
            .unwrap()
            .build(None)
            .unwrap();
        let mut out = vec![0.0; 2];
        let _ = d.batch_marginals(&[&[MASK, MASK], &[MASK, MASK]], &[&[0]], &mut [&mut out]);
    }
}
