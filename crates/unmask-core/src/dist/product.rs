//! Products of independent positions: `Z ≡ 0`, every schedule costs 0.

use rand::Rng;

use crate::num::{dirichlet, draw as draw_categorical, entropy as entropy_of};

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
