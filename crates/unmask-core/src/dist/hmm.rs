//! Hidden Markov models: a stationary chain over hidden states emitting q symbols; the oracle
//! is forward–backward with the revealed symbols as evidence.

use rand::Rng;

use super::forward_backward::backward_forward;
use super::markov::{Markov, Transition};
use crate::num::{dirichlet, draw};

/// A hidden Markov model: a stationary chain over `states` hidden states emitting q symbols.
#[derive(Debug, Clone)]
pub struct Hmm {
    chain: Markov,
    q: usize,
    /// `emission[s·q + v] = P(v | s)`.
    emission: Vec<f64>,
}

impl Hmm {
    /// A random HMM: Dirichlet(1) transition rows and emission rows.
    pub(crate) fn random<R: Rng + ?Sized>(n: usize, states: usize, q: usize, rng: &mut R) -> Self {
        loop {
            let p: Vec<f64> = (0..states).flat_map(|_| dirichlet(states, rng)).collect();
            if let Ok(chain) = Markov::new(n, Transition::Dense { q: states, p }) {
                let emission = (0..states).flat_map(|_| dirichlet(q, rng)).collect();
                return Hmm { chain, q, emission };
            }
        }
    }

    /// Length n.
    pub fn len(&self) -> usize {
        self.chain.n
    }

    /// Always false (n ≥ 1).
    pub fn is_empty(&self) -> bool {
        self.chain.n == 0
    }

    /// Number of symbols q.
    pub fn q(&self) -> usize {
        self.q
    }

    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<u32> {
        let q = self.q;
        self.chain
            .sample(rng)
            .into_iter()
            .map(|s| draw(&self.emission[s as usize * q..(s as usize + 1) * q], rng))
            .collect()
    }

    fn emit(&self, partial: &[u32], i: usize, v: &mut [f64]) {
        let x = partial[i];
        if x != crate::oracle::MASK {
            for (s, e) in v.iter_mut().enumerate() {
                *e *= self.emission[s * self.q + x as usize];
            }
        }
    }

    /// `ln μ(x)` by the forward algorithm with scaling.
    pub(crate) fn ln_pmf(&self, x: &[u32]) -> f64 {
        let states = self.chain.q();
        let mut alpha = self.chain.pi.clone();
        let mut next = vec![0.0; states];
        let mut lp = 0.0;
        for i in 0..x.len() {
            if i > 0 {
                self.chain.transition.left(&alpha, &mut next);
                alpha.copy_from_slice(&next);
            }
            self.emit(x, i, &mut alpha);
            let s: f64 = alpha.iter().sum();
            if s.is_nan() || s <= 0.0 {
                return f64::NEG_INFINITY;
            }
            lp += s.ln();
            alpha.iter_mut().for_each(|a| *a /= s);
        }
        lp
    }

    pub(crate) fn marginals(&self, partial: &[u32], query: &[usize], out: &mut [f64]) {
        let states = self.chain.q();
        let mut hidden = vec![0.0; query.len() * states];
        let ok = backward_forward(
            self.chain.n,
            states,
            &self.chain.pi,
            |v, o| self.chain.transition.left(v, o),
            |v, o| self.chain.transition.right(v, o),
            |i, v| self.emit(partial, i, v),
            query,
            &mut hidden,
        );
        if !ok {
            out.fill(1.0 / self.q as f64);
            return;
        }
        for (row, post) in out.chunks_mut(self.q).zip(hidden.chunks(states)) {
            row.fill(0.0);
            for (s, &w) in post.iter().enumerate() {
                for (slot, &e) in row
                    .iter_mut()
                    .zip(&self.emission[s * self.q..(s + 1) * self.q])
                {
                    *slot += w * e;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn samples_have_finite_probability() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let hmm = Hmm::random(5, 3, 4, &mut rng);
        let x = hmm.sample(&mut rng);
        assert!(hmm.ln_pmf(&x).is_finite());
    }
}
