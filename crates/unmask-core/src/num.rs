//! Small numeric helpers shared by the modules (not public): compensated sums, categorical
//! laws (entropy, draws, Dirichlet rows), binomial coefficients, log-sum-exp.

use rand::{Rng, RngExt};

/// Neumaier's compensated summation: the error is O(ε) independent of the number of terms,
/// as long as the result is not dominated by cancellation of much larger terms.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sum {
    sum: f64,
    comp: f64,
}

impl Sum {
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }

    pub(crate) fn value(self) -> f64 {
        self.sum + self.comp
    }
}

/// Compensated sum of an iterator.
pub(crate) fn sum<I: IntoIterator<Item = f64>>(values: I) -> f64 {
    let mut s = Sum::default();
    for v in values {
        s.add(v);
    }
    s.value()
}

/// Shannon entropy of a probability vector (nats).
pub(crate) fn entropy(p: &[f64]) -> f64 {
    -p.iter()
        .filter(|&&x| x > 0.0)
        .map(|&x| x * x.ln())
        .sum::<f64>()
}

/// A categorical draw by inversion of the cumulative sums.
pub(crate) fn draw<R: Rng + ?Sized>(p: &[f64], rng: &mut R) -> u32 {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (i, &x) in p.iter().enumerate() {
        acc += x;
        if u < acc {
            return i as u32;
        }
    }
    (p.len() - 1) as u32
}

/// A Dirichlet(1, …, 1) draw (uniform on the simplex), via normalised exponentials.
pub(crate) fn dirichlet<R: Rng + ?Sized>(q: usize, rng: &mut R) -> Vec<f64> {
    let mut v: Vec<f64> = (0..q).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
    let s: f64 = v.iter().sum();
    v.iter_mut().for_each(|x| *x /= s);
    v
}

/// C(n, k) as f64.
pub(crate) fn binomial(n: usize, k: usize) -> f64 {
    if k > n {
        return 0.0;
    }
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// `ln Σ exp(v)`, stable for large and −∞ entries.
pub(crate) fn log_sum_exp(values: &[f64]) -> f64 {
    let top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return top;
    }
    top + values.iter().map(|&v| (v - top).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensation_recovers_small_terms() {
        let values = [1.0, 1e100, 1.0, -1e100];
        assert_eq!(sum(values), 2.0);
        let naive: f64 = values.iter().sum();
        assert_eq!(naive, 0.0);
    }
}
