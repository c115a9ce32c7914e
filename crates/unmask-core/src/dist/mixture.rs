//! Mixtures of random products (DTC ≤ ln m): curves estimated from draws.

use rand::Rng;

use crate::num::{dirichlet, draw as draw_categorical, log_sum_exp};
use crate::oracle::MASK;

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
