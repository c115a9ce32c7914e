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

impl Family {
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
        match self {
            Family::Product(d) => d.ln_pmf(x),
            Family::Repeat(d) => d.ln_pmf(x),
            Family::Code(d) => d.ln_pmf(x),
            Family::Markov(d) => d.ln_pmf(x),
            Family::Hmm(d) => d.ln_pmf(x),
            Family::Mixture(d) => d.ln_pmf(x),
            Family::Table(d) => d.ln_pmf(x),
        }
    }

    /// `H(X)` in nats when known exactly.
    pub fn entropy(&self) -> Option<f64> {
        match self {
            Family::Product(d) => Some(d.entropy()),
            Family::Repeat(d) => Some((d.q as f64).ln()),
            Family::Code(d) => Some(d.entropy()),
            Family::Markov(d) => Some(d.entropy()),
            Family::Table(d) => Some(d.entropy()),
            Family::Hmm(_) | Family::Mixture(_) => None,
        }
    }

    /// The exact information curve when the structure gives it: closed forms, the O(n²) Markov
    /// formula, subset enumeration for small codes and tables. None for HMMs and mixtures (use
    /// [`crate::estimate_profile`]).
    pub fn exact_curve(&self) -> Option<InformationCurve> {
        let n = self.len();
        match self {
            Family::Product(_) => InformationCurve::new(vec![0.0; n]).ok(),
            Family::Repeat(d) => {
                let mut z = vec![(d.q as f64).ln(); n];
                z[0] = 0.0;
                InformationCurve::new(z).ok()
            }
            Family::Code(d) => d.exact_curve(CODE_ENUMERATE_MAX),
            Family::Markov(d) => Some(d.exact_curve()),
            Family::Table(d) => d.exact_curve(),
            Family::Hmm(_) | Family::Mixture(_) => None,
        }
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
        match self {
            Family::Product(d) => d.len(),
            Family::Repeat(d) => d.n,
            Family::Code(d) => d.len(),
            Family::Markov(d) => d.len(),
            Family::Hmm(d) => d.len(),
            Family::Mixture(d) => d.len(),
            Family::Table(d) => d.len(),
        }
    }

    fn vocab_size(&self) -> usize {
        match self {
            Family::Product(d) => d.q(),
            Family::Repeat(d) => d.q,
            Family::Code(d) => d.q() as usize,
            Family::Markov(d) => d.q(),
            Family::Hmm(d) => d.q(),
            Family::Mixture(d) => d.q(),
            Family::Table(d) => d.q(),
        }
    }

    fn conditional_marginals(
        &self,
        partial: &[u32],
        query: &[usize],
        out: &mut [f64],
    ) -> Result<(), Infallible> {
        assert_eq!(partial.len(), self.len(), "sequence length");
        assert_eq!(out.len(), query.len() * self.vocab_size(), "output length");
        match self {
            Family::Product(d) => d.marginals(query, out),
            Family::Repeat(d) => d.marginals(partial, out),
            Family::Code(d) => d.marginals(partial, query, out),
            Family::Markov(d) => d.marginals(partial, query, out),
            Family::Hmm(d) => d.marginals(partial, query, out),
            Family::Mixture(d) => d.marginals(partial, query, out),
            Family::Table(d) => d.marginals(partial, query, out),
        }
        Ok(())
    }
}
