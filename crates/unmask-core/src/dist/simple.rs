//! Products, repeated tokens, mixtures of products, and explicit tables.

use rand::{Rng, RngExt};

use super::markov::{dirichlet, draw as draw_categorical, entropy as entropy_of};
use crate::curve::InformationCurve;
use crate::num::Sum;
use crate::oracle::MASK;

/// Independent positions with their own marginals: `Z ≡ 0`.
#[derive(Debug, Clone)]
pub struct Product {
    q: usize,
    /// `marginals[i·q + v]`.
    marginals: Vec<f64>,
}

impl Product {
    pub(crate) fn random<R: Rng + ?Sized>(n: usize, q: usize, rng: &mut R) -> Self {
        Product {
            q,
            marginals: (0..n).flat_map(|_| dirichlet(q, rng)).collect(),
        }
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.marginals[i * self.q..(i + 1) * self.q]
    }

    pub(crate) fn len(&self) -> usize {
        self.marginals.len() / self.q
    }

    pub(crate) fn q(&self) -> usize {
        self.q
    }

    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<u32> {
        (0..self.len())
            .map(|i| draw_categorical(self.row(i), rng))
            .collect()
    }

    pub(crate) fn ln_pmf(&self, x: &[u32]) -> f64 {
        x.iter()
            .enumerate()
            .map(|(i, &v)| self.row(i)[v as usize].ln())
            .sum()
    }

    pub(crate) fn marginals(&self, query: &[usize], out: &mut [f64]) {
        for (row, &i) in out.chunks_mut(self.q).zip(query) {
            row.copy_from_slice(self.row(i));
        }
    }

    pub(crate) fn entropy(&self) -> f64 {
        (0..self.len()).map(|i| entropy_of(self.row(i))).sum()
    }
}

/// One uniform symbol over q values copied to all n positions.
#[derive(Debug, Clone)]
pub struct Repeat {
    pub(crate) n: usize,
    pub(crate) q: usize,
}

impl Repeat {
    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<u32> {
        vec![rng.random_range(0..self.q as u32); self.n]
    }

    pub(crate) fn ln_pmf(&self, x: &[u32]) -> f64 {
        if x.iter().all(|&v| v == x[0]) {
            -(self.q as f64).ln()
        } else {
            f64::NEG_INFINITY
        }
    }

    pub(crate) fn marginals(&self, partial: &[u32], out: &mut [f64]) {
        let revealed: Vec<u32> = partial.iter().copied().filter(|&v| v != MASK).collect();
        let consistent = revealed.windows(2).all(|w| w[0] == w[1]);
        match revealed.first() {
            Some(&v) if consistent => {
                for row in out.chunks_mut(self.q) {
                    row.fill(0.0);
                    row[v as usize] = 1.0;
                }
            }
            _ => out.fill(1.0 / self.q as f64),
        }
    }
}

/// A mixture of M product distributions.
#[derive(Debug, Clone)]
pub struct Mixture {
    n: usize,
    q: usize,
    weights: Vec<f64>,
    /// `components[(m·n + i)·q + v]`.
    components: Vec<f64>,
}

impl Mixture {
    pub(crate) fn random<R: Rng + ?Sized>(n: usize, q: usize, m: usize, rng: &mut R) -> Self {
        Mixture {
            n,
            q,
            weights: dirichlet(m, rng),
            components: (0..m * n).flat_map(|_| dirichlet(q, rng)).collect(),
        }
    }

    fn p(&self, m: usize, i: usize, v: usize) -> f64 {
        self.components[(m * self.n + i) * self.q + v]
    }

    pub(crate) fn len(&self) -> usize {
        self.n
    }

    pub(crate) fn q(&self) -> usize {
        self.q
    }

    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<u32> {
        let m = draw_categorical(&self.weights, rng) as usize;
        (0..self.n)
            .map(|i| {
                let start = (m * self.n + i) * self.q;
                draw_categorical(&self.components[start..start + self.q], rng)
            })
            .collect()
    }

    /// Log posterior weights of the components given the revealed positions (unnormalised).
    fn log_posterior(&self, partial: &[u32]) -> Vec<f64> {
        (0..self.weights.len())
            .map(|m| {
                let mut lp = self.weights[m].ln();
                for (i, &x) in partial.iter().enumerate() {
                    if x != MASK {
                        lp += self.p(m, i, x as usize).ln();
                    }
                }
                lp
            })
            .collect()
    }

    pub(crate) fn ln_pmf(&self, x: &[u32]) -> f64 {
        log_sum_exp(&self.log_posterior(x))
    }

    pub(crate) fn marginals(&self, partial: &[u32], query: &[usize], out: &mut [f64]) {
        let lp = self.log_posterior(partial);
        let top = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !top.is_finite() {
            out.fill(1.0 / self.q as f64);
            return;
        }
        let w: Vec<f64> = lp.iter().map(|&l| (l - top).exp()).collect();
        let total: f64 = w.iter().sum();
        for (row, &i) in out.chunks_mut(self.q).zip(query) {
            for (v, slot) in row.iter_mut().enumerate() {
                *slot = w
                    .iter()
                    .enumerate()
                    .map(|(m, &wm)| wm * self.p(m, i, v))
                    .sum::<f64>()
                    / total;
            }
        }
    }
}

pub(crate) fn log_sum_exp(values: &[f64]) -> f64 {
    let top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return top;
    }
    top + values.iter().map(|&v| (v - top).exp()).sum::<f64>().ln()
}

/// An explicit joint pmf over `q^n` outcomes (position 1 most significant).
#[derive(Debug, Clone)]
pub struct Table {
    n: usize,
    q: usize,
    p: Vec<f64>,
}

/// Why a table was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// q^n is not the number of probabilities given, or too large.
    #[error("expected q^n = {expected} probabilities (q = {q}, n = {n}), found {found}")]
    Length {
        /// Alphabet size.
        q: usize,
        /// Length.
        n: usize,
        /// q^n (saturated).
        expected: usize,
        /// Entries given.
        found: usize,
    },
    /// q^n exceeds 2^24.
    #[error("q^n = {q}^{n} exceeds 2^24 outcomes")]
    TooLarge {
        /// Alphabet size.
        q: usize,
        /// Length.
        n: usize,
    },
    /// An entry is negative or not finite.
    #[error("p[{index}] = {value} is not a probability")]
    BadEntry {
        /// 0-based index.
        index: usize,
        /// The value.
        value: f64,
    },
    /// The entries do not sum to 1.
    #[error("the probabilities sum to {sum}, expected 1")]
    Sum {
        /// Their sum.
        sum: f64,
    },
}

/// Largest `q^n` for a table.
pub const TABLE_MAX: usize = 1 << 24;

impl Table {
    /// Validates an explicit pmf.
    ///
    /// # Errors
    ///
    /// [`TableError`] naming the problem.
    pub fn new(q: usize, n: usize, p: Vec<f64>) -> Result<Self, TableError> {
        let mut size = 1usize;
        for _ in 0..n {
            size = size.saturating_mul(q);
        }
        if q < 1 || n < 1 || size > TABLE_MAX {
            return Err(TableError::TooLarge { q, n });
        }
        if p.len() != size {
            return Err(TableError::Length {
                q,
                n,
                expected: size,
                found: p.len(),
            });
        }
        if let Some((index, &value)) = p
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
        {
            return Err(TableError::BadEntry { index, value });
        }
        let sum = crate::num::sum(p.iter().copied());
        if (sum - 1.0).abs() > 1e-9 {
            return Err(TableError::Sum { sum });
        }
        Ok(Table { n, q, p })
    }

    pub(crate) fn len(&self) -> usize {
        self.n
    }

    pub(crate) fn q(&self) -> usize {
        self.q
    }

    /// Digit i (position i, most significant first) of outcome index `x`.
    fn digit(&self, mut index: usize, i: usize) -> usize {
        for _ in 0..self.n - 1 - i {
            index /= self.q;
        }
        index % self.q
    }

    fn index(&self, x: &[u32]) -> usize {
        x.iter().fold(0, |acc, &v| acc * self.q + v as usize)
    }

    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<u32> {
        let index = draw_categorical(&self.p, rng) as usize;
        (0..self.n).map(|i| self.digit(index, i) as u32).collect()
    }

    pub(crate) fn ln_pmf(&self, x: &[u32]) -> f64 {
        self.p[self.index(x)].ln()
    }

    pub(crate) fn marginals(&self, partial: &[u32], query: &[usize], out: &mut [f64]) {
        out.fill(0.0);
        let mut total = 0.0;
        for (index, &pr) in self.p.iter().enumerate() {
            if pr == 0.0 {
                continue;
            }
            let consistent = partial
                .iter()
                .enumerate()
                .all(|(i, &v)| v == MASK || self.digit(index, i) == v as usize);
            if consistent {
                total += pr;
                for (row, &i) in out.chunks_mut(self.q).zip(query) {
                    row[self.digit(index, i)] += pr;
                }
            }
        }
        if total > 0.0 {
            out.iter_mut().for_each(|v| *v /= total);
        } else {
            out.fill(1.0 / self.q as f64);
        }
    }

    pub(crate) fn entropy(&self) -> f64 {
        entropy_of(&self.p)
    }

    /// `H(X_S)` for the positions whose bits are set in `mask` (nats).
    pub(crate) fn subset_entropy(&self, mask: u32) -> f64 {
        let positions: Vec<usize> = (0..self.n).filter(|&i| mask >> i & 1 == 1).collect();
        let mut marginal = vec![0.0; self.q.pow(positions.len() as u32)];
        for (index, &pr) in self.p.iter().enumerate() {
            let key = positions
                .iter()
                .fold(0, |acc, &i| acc * self.q + self.digit(index, i));
            marginal[key] += pr;
        }
        entropy_of(&marginal)
    }

    /// The exact curve by enumerating every subset (`2^n · q^n ≤ 2^26`), else None.
    pub(crate) fn exact_curve(&self) -> Option<InformationCurve> {
        if self.n > 26 || (1usize << self.n).saturating_mul(self.p.len()) > 1 << 26 {
            return None;
        }
        let n = self.n;
        let mut sums = vec![Sum::default(); n + 1];
        for mask in 0u32..(1 << n) {
            sums[mask.count_ones() as usize].add(self.subset_entropy(mask));
        }
        let mean: Vec<f64> = (0..=n)
            .map(|i| sums[i].value() / super::code::binomial(n, i))
            .collect();
        let z = (1..=n).map(|j| mean[1] + mean[j - 1] - mean[j]).collect();
        InformationCurve::new(z).ok()
    }
}
