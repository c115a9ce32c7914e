//! Explicit joint pmfs over q^n outcomes (small): exact curves by subset enumeration.

use rand::Rng;

use crate::curve::InformationCurve;
use crate::num::{Sum, draw as draw_categorical, entropy as entropy_of};
use crate::oracle::MASK;

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
            .map(|i| sums[i].value() / crate::num::binomial(n, i))
            .collect();
        let z = (1..=n).map(|j| mean[1] + mean[j - 1] - mean[j]).collect();
        InformationCurve::new(z).ok()
    }
}
