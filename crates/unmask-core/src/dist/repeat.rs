//! One uniform symbol copied n times: `Z = (0, ln q, …, ln q)`.

use rand::{Rng, RngExt};

use crate::oracle::MASK;

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
