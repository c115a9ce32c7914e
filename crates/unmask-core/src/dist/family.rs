//! [`Family`]: the samplable distributions behind one enum, with their exact oracles, and the
//! slow [`Reference`] oracles the fast ones are checked against.

use std::convert::Infallible;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Code, Hmm, Markov, Mixture, Product, Repeat, Table};
use crate::curve::InformationCurve;
use crate::oracle::Oracle;

/// Largest n for which a random code's curve is computed by enumerating all subsets.
pub const CODE_ENUMERATE_MAX: usize = 20;

/// A samplable distribution with an exact conditional-marginal oracle.
///
/// Distributions: closed-form curves and samplable families with exact oracles.
///
/// | spec | distribution | curve |
/// |---|---|---|
/// | `product:n=N[,q=Q,seed=S]` | independent positions, random marginals | `Z ≡ 0` |
/// | `parity:n=N` | uniform over even-weight words of n bits | `(0, …, 0, ln 2)` |
/// | `repeat:n=N,q=Q` | one uniform symbol copied n times | `(0, ln q, …, ln q)` |
/// | `mds:n=N,k=K,q=Q` | a k-dimensional MDS code over F_q (curve only) | `ln q · 1[j > k]` |
/// | `logfactor:n=N,eps=E` | CCL Lemma 28's profile (curve only) | `≈ 1/(4 x ln n)`, reflected |
/// | `rs:n=N,k=K,q=Q[,seed=S]` | Reed–Solomon over prime q > n, random points and shift | `ln q · 1[j > k]` |
/// | `code:n=N,k=K,q=Q[,seed=S]` | uniform over a random k-dim code over prime F_q, random shift | exact (n ≤ 20) or estimated |
/// | `markov:n=N,q=Q,stay=P` | stationary chain: stay w.p. P, else move uniformly | exact, O(n²) |
/// | `markov:n=N,matrix=FILE` | stationary chain with a row-stochastic matrix (JSON `[[…], …]`) | exact, O(n²) |
/// | `hmm:n=N,states=S,q=Q[,seed=S]` | random hidden Markov model | estimated |
/// | `mixture:n=N,q=Q,components=M[,seed=S]` | mixture of M random products | estimated |
/// | `table:FILE` | explicit pmf, JSON `{"q", "n", "p": [q^n values]}`, q^n ≤ 2^24 | exact by subset enumeration (small) |
///
/// Parity and MDS codes are CCL's hard instances (Proposition 20): two steps `(k, n − k)` are
/// exact, yet no sampler that does not know k beats Ω(n) steps. `logfactor` forces
/// Ω(log n / ε) steps for error ε on every schedule (Theorem 30). A family's random parameters
/// come from a ChaCha8 generator seeded with its `seed` (default 0), so a spec names one
/// distribution on every machine.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Family {
    /// Independent positions.
    Product(Product),
    /// A repeated symbol.
    Repeat(Repeat),
    /// An affine linear code (parity, random, Reed–Solomon).
    Code(Code),
    /// A stationary Markov chain.
    Markov(Markov),
    /// A hidden Markov model.
    Hmm(Hmm),
    /// A mixture of products.
    Mixture(Mixture),
    /// An explicit table.
    Table(Table),
}

/// What every family provides; private, so that [`Family`] dispatches once ([`Family::joint`])
/// instead of repeating a seven-arm match per method. Drawing stays a match in
/// [`Family::sample`]: through `&mut dyn Rng` every token's draw would be a virtual call.
trait Joint {
    /// Sequence length n.
    fn len(&self) -> usize;
    /// Alphabet size q.
    fn q(&self) -> usize;
    /// `ln μ(x)` (−∞ outside the support).
    fn ln_pmf(&self, x: &[u32]) -> f64;
    /// The exact oracle (see [`Oracle::conditional_marginals`]).
    fn marginals(&self, partial: &[u32], query: &[usize], out: &mut [f64]);
    /// `H(X)` in nats when known exactly.
    fn entropy(&self) -> Option<f64> {
        None
    }
    /// The exact curve when the structure gives it.
    fn exact_curve(&self) -> Option<InformationCurve> {
        None
    }
}

impl Joint for Product {
    fn len(&self) -> usize {
        Product::len(self)
    }
    fn q(&self) -> usize {
        Product::q(self)
    }
    fn ln_pmf(&self, x: &[u32]) -> f64 {
        Product::ln_pmf(self, x)
    }
    fn marginals(&self, _partial: &[u32], query: &[usize], out: &mut [f64]) {
        Product::marginals(self, query, out);
    }
    fn entropy(&self) -> Option<f64> {
        Some(Product::entropy(self))
    }
    fn exact_curve(&self) -> Option<InformationCurve> {
        InformationCurve::new(vec![0.0; self.len()]).ok()
    }
}

impl Joint for Repeat {
    fn len(&self) -> usize {
        self.n
    }
    fn q(&self) -> usize {
        self.q
    }
    fn ln_pmf(&self, x: &[u32]) -> f64 {
        Repeat::ln_pmf(self, x)
    }
    fn marginals(&self, partial: &[u32], _query: &[usize], out: &mut [f64]) {
        Repeat::marginals(self, partial, out);
    }
    fn entropy(&self) -> Option<f64> {
        Some((self.q as f64).ln())
    }
    fn exact_curve(&self) -> Option<InformationCurve> {
        let mut z = vec![(self.q as f64).ln(); self.n];
        z[0] = 0.0;
        InformationCurve::new(z).ok()
    }
}

impl Joint for Code {
    fn len(&self) -> usize {
        Code::len(self)
    }
    fn q(&self) -> usize {
        Code::q(self) as usize
    }
    fn ln_pmf(&self, x: &[u32]) -> f64 {
        Code::ln_pmf(self, x)
    }
    fn marginals(&self, partial: &[u32], query: &[usize], out: &mut [f64]) {
        Code::marginals(self, partial, query, out);
    }
    fn entropy(&self) -> Option<f64> {
        Some(Code::entropy(self))
    }
    fn exact_curve(&self) -> Option<InformationCurve> {
        Code::exact_curve(self, CODE_ENUMERATE_MAX)
    }
}

impl Joint for Markov {
    fn len(&self) -> usize {
        Markov::len(self)
    }
    fn q(&self) -> usize {
        Markov::q(self)
    }
    fn ln_pmf(&self, x: &[u32]) -> f64 {
        Markov::ln_pmf(self, x)
    }
    fn marginals(&self, partial: &[u32], query: &[usize], out: &mut [f64]) {
        Markov::marginals(self, partial, query, out);
    }
    fn entropy(&self) -> Option<f64> {
        Some(Markov::entropy(self))
    }
    fn exact_curve(&self) -> Option<InformationCurve> {
        Some(Markov::exact_curve(self))
    }
}

impl Joint for Hmm {
    fn len(&self) -> usize {
        Hmm::len(self)
    }
    fn q(&self) -> usize {
        Hmm::q(self)
    }
    fn ln_pmf(&self, x: &[u32]) -> f64 {
        Hmm::ln_pmf(self, x)
    }
    fn marginals(&self, partial: &[u32], query: &[usize], out: &mut [f64]) {
        Hmm::marginals(self, partial, query, out);
    }
}

impl Joint for Mixture {
    fn len(&self) -> usize {
        Mixture::len(self)
    }
    fn q(&self) -> usize {
        Mixture::q(self)
    }
    fn ln_pmf(&self, x: &[u32]) -> f64 {
        Mixture::ln_pmf(self, x)
    }
    fn marginals(&self, partial: &[u32], query: &[usize], out: &mut [f64]) {
        Mixture::marginals(self, partial, query, out);
    }
}

impl Joint for Table {
    fn len(&self) -> usize {
        Table::len(self)
    }
    fn q(&self) -> usize {
        Table::q(self)
    }
    fn ln_pmf(&self, x: &[u32]) -> f64 {
        Table::ln_pmf(self, x)
    }
    fn marginals(&self, partial: &[u32], query: &[usize], out: &mut [f64]) {
        Table::marginals(self, partial, query, out);
    }
    fn entropy(&self) -> Option<f64> {
        Some(Table::entropy(self))
    }
    fn exact_curve(&self) -> Option<InformationCurve> {
        Table::exact_curve(self)
    }
}

impl Family {
    /// The one dispatch.
    fn joint(&self) -> &dyn Joint {
        match self {
            Family::Product(d) => d,
            Family::Repeat(d) => d,
            Family::Code(d) => d,
            Family::Markov(d) => d,
            Family::Hmm(d) => d,
            Family::Mixture(d) => d,
            Family::Table(d) => d,
        }
    }

    /// An exact draw `x ~ μ`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<u32> {
        match self {
            Family::Product(d) => d.sample(rng),
            Family::Repeat(d) => d.sample(rng),
            Family::Code(d) => d.sample(rng),
            Family::Markov(d) => d.sample(rng),
            Family::Hmm(d) => d.sample(rng),
            Family::Mixture(d) => d.sample(rng),
            Family::Table(d) => d.sample(rng),
        }
    }

    /// `ln μ(x)` (−∞ outside the support).
    ///
    /// # Panics
    ///
    /// If `x` has the wrong length or a symbol ≥ q.
    pub fn ln_pmf(&self, x: &[u32]) -> f64 {
        assert_eq!(x.len(), self.len(), "sequence length");
        self.joint().ln_pmf(x)
    }

    /// `H(X)` in nats when known exactly (None for HMMs and mixtures).
    pub fn entropy(&self) -> Option<f64> {
        self.joint().entropy()
    }

    /// The exact information curve when the structure gives it: closed forms, the O(n²) Markov
    /// formula, subset enumeration for small codes and tables. None for HMMs and mixtures (use
    /// [`crate::estimate_profile`]).
    pub fn exact_curve(&self) -> Option<InformationCurve> {
        self.joint().exact_curve()
    }

    /// A Monte Carlo curve from the family's structure, with standard errors (nats), where
    /// one exists: for codes, ranks of `permutations` random column orders (each prefix is a
    /// uniform subset). None for other families (use [`crate::estimate_profile`]).
    pub fn structural_estimate(
        &self,
        permutations: usize,
        seed: u64,
    ) -> Option<(Vec<f64>, Vec<f64>)> {
        match self {
            Family::Code(d) => {
                Some(d.estimate_curve(permutations, &mut ChaCha8Rng::seed_from_u64(seed)))
            }
            _ => None,
        }
    }

    /// For codes, whether x is a codeword; None for other families.
    pub fn is_codeword(&self, x: &[u32]) -> Option<bool> {
        match self {
            Family::Code(d) => Some(d.contains(x)),
            _ => None,
        }
    }
}

/// A family's slow reference oracle: forward–backward over the whole chain for Markov chains,
/// the generic F_q elimination for binary codes, and the family's own oracle otherwise. The
/// fast oracles are tested against it and benchmarked beside it (every fast algorithm
/// checked against a slow one).
#[derive(Debug, Clone, Copy)]
pub struct Reference<'a>(pub &'a Family);

impl Oracle for Reference<'_> {
    type Error = Infallible;

    fn len(&self) -> usize {
        self.0.len()
    }

    fn vocab_size(&self) -> usize {
        self.0.vocab_size()
    }

    fn conditional_marginals(
        &self,
        partial: &[u32],
        query: &[usize],
        out: &mut [f64],
    ) -> Result<(), Infallible> {
        match self.0 {
            Family::Markov(d) => d.forward_backward(partial, query, out),
            Family::Code(d) => d.marginals_with(partial, query, out, true),
            other => other.conditional_marginals(partial, query, out)?,
        }
        Ok(())
    }
}

impl Oracle for Family {
    type Error = Infallible;

    fn len(&self) -> usize {
        self.joint().len()
    }

    fn vocab_size(&self) -> usize {
        self.joint().q()
    }

    fn conditional_marginals(
        &self,
        partial: &[u32],
        query: &[usize],
        out: &mut [f64],
    ) -> Result<(), Infallible> {
        assert_eq!(partial.len(), self.len(), "sequence length");
        assert_eq!(out.len(), query.len() * self.vocab_size(), "output length");
        self.joint().marginals(partial, query, out);
        Ok(())
    }
}
