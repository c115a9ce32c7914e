//! Stationary Markov chains and hidden Markov models, with forward–backward oracles.
//!
//! # Exact curve of a stationary chain
//!
//! By the Markov property `H(X_S) = H(π) + Σ_t H(X_{s_{t+1}} | X_{s_t})`, a sum over
//! consecutive gaps `d` of S. With `m(d) = I(X_0 ; X_d)` and
//! `w(i, d) = C(n−d−1, i−2) / C(n, i)` (the chance that a fixed pair at distance d is
//! consecutive in a uniform i-subset; there are n − d such pairs),
//!
//! ```text
//! H̄_i = i·H(π) − M_i,   M_i = Σ_{d=1}^{n−1} m(d)·(n − d)·w(i, d),   so   Z_j = M_j − M_{j−1}
//! ```
//!
//! computed in O(n²) with `w(i, d+1) = w(i, d)·(n − d − i + 1)/(n − d − 1)` and compensated
//! sums; no subset is enumerated.

// `!(s > 0.0)` is deliberate throughout: it also rejects NaN (rand's idiom).
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use rand::Rng;

use super::forward_backward::backward_forward;
use crate::curve::InformationCurve;
use crate::num::{Sum, draw, entropy};

/// A row-stochastic transition matrix, with a fast path for "stay or move uniformly".
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// Stay with probability `stay`, else move to one of the other q − 1 symbols uniformly.
    Stay {
        /// Number of symbols.
        q: usize,
        /// Probability of staying.
        stay: f64,
    },
    /// A dense q×q matrix, row-major.
    Dense {
        /// Number of symbols.
        q: usize,
        /// `p[a·q + b] = P(b | a)`.
        p: Vec<f64>,
    },
}

impl Transition {
    pub(super) fn q(&self) -> usize {
        match self {
            Transition::Stay { q, .. } | Transition::Dense { q, .. } => *q,
        }
    }

    pub(super) fn prob(&self, a: usize, b: usize) -> f64 {
        match self {
            Transition::Stay { q, stay } => {
                if a == b {
                    *stay
                } else {
                    (1.0 - stay) / (*q as f64 - 1.0)
                }
            }
            Transition::Dense { q, p } => p[a * q + b],
        }
    }

    /// `out = v · P` (row vector times matrix).
    pub(super) fn left(&self, v: &[f64], out: &mut [f64]) {
        match self {
            Transition::Stay { q, stay } => {
                let total: f64 = v.iter().sum();
                let other = (1.0 - stay) / (*q as f64 - 1.0);
                for (o, &x) in out.iter_mut().zip(v) {
                    *o = stay * x + other * (total - x);
                }
            }
            Transition::Dense { q, p } => {
                out.fill(0.0);
                for (a, &x) in v.iter().enumerate() {
                    if x != 0.0 {
                        for (o, &pab) in out.iter_mut().zip(&p[a * q..(a + 1) * q]) {
                            *o += x * pab;
                        }
                    }
                }
            }
        }
    }

    /// `out = P · v` (matrix times column vector).
    pub(super) fn right(&self, v: &[f64], out: &mut [f64]) {
        match self {
            Transition::Stay { .. } => self.left(v, out), // symmetric
            Transition::Dense { q, p } => {
                for (a, o) in out.iter_mut().enumerate() {
                    *o = p[a * q..(a + 1) * q]
                        .iter()
                        .zip(v)
                        .map(|(x, y)| x * y)
                        .sum();
                }
            }
        }
    }

    /// The stationary law π = π P, unique (validated by the caller's constructor).
    // Gaussian elimination reads clearest with explicit row/column indices.
    #[allow(clippy::needless_range_loop)]
    fn stationary(&self) -> Option<Vec<f64>> {
        let q = self.q();
        if let Transition::Stay { .. } = self {
            return Some(vec![1.0 / q as f64; q]);
        }
        // Solve π (P − I) = 0 with Σ π = 1: replace the last equation by the normalisation.
        let mut a = vec![vec![0.0; q + 1]; q];
        for (row, eq) in a.iter_mut().enumerate() {
            for col in 0..q {
                eq[col] = self.prob(col, row) - if row == col { 1.0 } else { 0.0 };
            }
        }
        a[q - 1] = vec![1.0; q + 1];
        // Gaussian elimination with partial pivoting.
        for col in 0..q {
            let pivot = (col..q).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
            if a[pivot][col].abs() < 1e-12 {
                return None;
            }
            a.swap(col, pivot);
            for row in 0..q {
                if row != col {
                    let factor = a[row][col] / a[col][col];
                    for c in col..=q {
                        a[row][c] -= factor * a[col][c];
                    }
                }
            }
        }
        let pi: Vec<f64> = (0..q).map(|i| a[i][q] / a[i][i]).collect();
        pi.iter()
            .all(|&x| x > -1e-12)
            .then(|| pi.iter().map(|&x| x.max(0.0)).collect())
    }
}

/// A stationary Markov chain of length n.
#[derive(Debug, Clone)]
pub struct Markov {
    pub(super) n: usize,
    pub(super) transition: Transition,
    pub(super) pi: Vec<f64>,
    /// `P^d` for d = 0..n−1, row-major (`powers[(d·q + a)·q + b]`), when it fits in
    /// [`POWERS_MAX`] entries; empty otherwise (the oracle then runs forward–backward).
    powers: Vec<f64>,
}

/// Largest number of stored matrix-power entries (n·q²): 2^24 (128 MiB).
pub(crate) const POWERS_MAX: usize = 1 << 24;

/// Why a chain was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The matrix is not square or has fewer than 2 symbols.
    #[error(
        "the transition matrix must be square with at least 2 symbols (found {rows} rows of {cols})"
    )]
    Shape {
        /// Rows found.
        rows: usize,
        /// Length of the offending row.
        cols: usize,
    },
    /// A row does not sum to 1, or has a negative / non-finite entry.
    #[error("row {row} of the transition matrix is not a probability vector (sum {sum})")]
    NotStochastic {
        /// 0-based row.
        row: usize,
        /// Its sum.
        sum: f64,
    },
    /// No unique stationary law (reducible chain).
    #[error("the chain has no unique stationary law (it is reducible)")]
    NoStationary,
}

impl Markov {
    /// A chain over `transition`, started from its stationary law.
    ///
    /// # Errors
    ///
    /// [`ChainError`] for a malformed matrix or a chain without a unique stationary law.
    pub fn new(n: usize, transition: Transition) -> Result<Self, ChainError> {
        if let Transition::Dense { q, p } = &transition {
            if *q < 2 || p.len() != q * q {
                return Err(ChainError::Shape {
                    rows: *q,
                    cols: p.len() / (*q).max(1),
                });
            }
            for row in 0..*q {
                let r = &p[row * q..(row + 1) * q];
                let sum: f64 = r.iter().sum();
                if r.iter().any(|&x| !(x.is_finite() && x >= 0.0)) || (sum - 1.0).abs() > 1e-9 {
                    return Err(ChainError::NotStochastic { row, sum });
                }
            }
        }
        let pi = transition.stationary().ok_or(ChainError::NoStationary)?;
        let q = transition.q();
        let mut powers = Vec::new();
        if n.saturating_mul(q * q) <= POWERS_MAX {
            powers.reserve(n * q * q);
            for a in 0..q {
                powers.extend((0..q).map(|b| if a == b { 1.0 } else { 0.0 }));
            }
            let mut next = vec![0.0; q];
            for d in 1..n {
                for a in 0..q {
                    let start = ((d - 1) * q + a) * q;
                    transition.left(&powers[start..start + q], &mut next);
                    powers.extend_from_slice(&next);
                }
            }
        }
        Ok(Markov {
            n,
            transition,
            pi,
            powers,
        })
    }

    /// Length n.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always false (n ≥ 1).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Number of symbols q.
    pub fn q(&self) -> usize {
        self.transition.q()
    }

    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<u32> {
        let q = self.q();
        let mut x = Vec::with_capacity(self.n);
        let mut row = vec![0.0; q];
        x.push(draw(&self.pi, rng));
        for _ in 1..self.n {
            let a = *x.last().expect("non-empty") as usize;
            for (b, r) in row.iter_mut().enumerate() {
                *r = self.transition.prob(a, b);
            }
            x.push(draw(&row, rng));
        }
        x
    }

    pub(crate) fn ln_pmf(&self, x: &[u32]) -> f64 {
        let mut lp = self.pi[x[0] as usize].ln();
        for w in x.windows(2) {
            lp += self.transition.prob(w[0] as usize, w[1] as usize).ln();
        }
        lp
    }

    /// Forward–backward with the revealed positions as evidence.
    /// The oracle. With the stored powers, each queried position needs only its nearest
    /// revealed neighbours l < i < r (Markov property):
    /// `p(x_i = v | x_T) ∝ P^{i−l}[x_l, v] · P^{r−i}[v, x_r]` (π in place of a missing left
    /// neighbour, 1 for a missing right one), O(n + |query|·q) per call.
    pub(crate) fn marginals(&self, partial: &[u32], query: &[usize], out: &mut [f64]) {
        if self.powers.is_empty() {
            return self.forward_backward(partial, query, out);
        }
        let (n, q) = (self.n, self.q());
        let none = usize::MAX;
        let mut left = vec![none; n];
        let mut last = none;
        for (i, slot) in left.iter_mut().enumerate() {
            if partial[i] != crate::oracle::MASK {
                last = i;
            }
            *slot = last;
        }
        let mut right = vec![none; n];
        last = none;
        for i in (0..n).rev() {
            if partial[i] != crate::oracle::MASK {
                last = i;
            }
            right[i] = last;
        }
        let power = |d: usize, a: usize, b: usize| self.powers[(d * q + a) * q + b];
        for (row, &i) in out.chunks_mut(q).zip(query) {
            let (l, r) = (left[i], right[i]);
            let mut total = 0.0;
            for (v, slot) in row.iter_mut().enumerate() {
                let from = if l == none {
                    self.pi[v]
                } else {
                    power(i - l, partial[l] as usize, v)
                };
                let to = if r == none {
                    1.0
                } else {
                    power(r - i, v, partial[r] as usize)
                };
                *slot = from * to;
                total += *slot;
            }
            if total > 0.0 {
                row.iter_mut().for_each(|x| *x /= total);
            } else {
                row.fill(1.0 / q as f64);
            }
        }
    }

    /// The oracle by forward–backward over the whole chain, O(n·q²) per call.
    pub(crate) fn forward_backward(&self, partial: &[u32], query: &[usize], out: &mut [f64]) {
        let q = self.q();
        let evidence = |i: usize, v: &mut [f64]| {
            let x = partial[i];
            if x != crate::oracle::MASK {
                for (s, e) in v.iter_mut().enumerate() {
                    if s as u32 != x {
                        *e = 0.0;
                    }
                }
            }
        };
        if !backward_forward(
            self.n,
            q,
            &self.pi,
            |v, o| self.transition.left(v, o),
            |v, o| self.transition.right(v, o),
            evidence,
            query,
            out,
        ) {
            out.fill(1.0 / q as f64);
        }
    }

    /// `H(X) = H(π) + (n − 1)·H(X_1 | X_0)`.
    ///
    /// A stay chain's rows are permutations of one another, so its conditional entropy is one
    /// row's: O(q) instead of O(q²) (q can be large there: no q × q matrix is ever stored).
    pub(crate) fn entropy(&self) -> f64 {
        let q = self.q();
        let row = |a: usize| -> Vec<f64> { (0..q).map(|b| self.transition.prob(a, b)).collect() };
        let conditional: f64 = match self.transition {
            Transition::Stay { .. } => entropy(&row(0)),
            Transition::Dense { .. } => (0..q).map(|a| self.pi[a] * entropy(&row(a))).sum(),
        };
        entropy(&self.pi) + (self.n - 1) as f64 * conditional
    }

    /// `m(d) = I(X_0 ; X_d) = H(π) − Σ_a π_a H(P^d[a, ·])` for d = 1..n−1.
    ///
    /// A stay chain needs no matrix: P = λI + (1 − λ)·J/q with λ = stay − (1 − stay)/(q − 1),
    /// so P^d = λ^d·I + (1 − λ^d)·J/q, whose rows hold a = 1/q + (1 − 1/q)·λ^d once and
    /// b = (1 − λ^d)/q q − 1 times: O(1) per d, whatever q.
    fn mutual_information(&self) -> Vec<f64> {
        let q = self.q();
        let h_pi = entropy(&self.pi);
        if let Transition::Stay { stay, .. } = self.transition {
            let qf = q as f64;
            let lambda = stay - (1.0 - stay) / (qf - 1.0);
            let xlnx = |x: f64| if x > 0.0 { x * x.ln() } else { 0.0 };
            let mut m = vec![0.0; self.n];
            let mut power = 1.0;
            for slot in m.iter_mut().skip(1) {
                power *= lambda;
                let b = (1.0 - power) / qf;
                let a = b + power;
                let row = -(xlnx(a) + (qf - 1.0) * xlnx(b));
                *slot = (h_pi - row).max(0.0);
            }
            return m;
        }
        let mut m = vec![0.0; self.n];
        // rows of P^d, advanced one step at a time.
        let mut rows: Vec<Vec<f64>> = (0..q)
            .map(|a| (0..q).map(|b| if a == b { 1.0 } else { 0.0 }).collect())
            .collect();
        let mut next = vec![0.0; q];
        for slot in m.iter_mut().skip(1) {
            let mut conditional = 0.0;
            for (a, row) in rows.iter_mut().enumerate() {
                self.transition.left(row, &mut next);
                row.copy_from_slice(&next);
                conditional += self.pi[a] * entropy(row);
            }
            *slot = (h_pi - conditional).max(0.0);
        }
        m
    }

    /// The exact curve in O(n²) (see the module docs).
    pub(crate) fn exact_curve(&self) -> InformationCurve {
        let n = self.n;
        let big_m = gap_information(n, &self.mutual_information());
        let z = (1..=n).map(|j| big_m[j] - big_m[j - 1]).collect();
        InformationCurve::new(z).expect("Markov curves are valid up to rounding")
    }

    /// The conditional curves of the blocks of length `block` (`docs/theory.md` §9), exactly,
    /// in O(n·block).
    ///
    /// Block b covers positions lo..lo + L with lo = b·L; it is decoded with X_{<lo} revealed
    /// and the later blocks marginalised out, which for a chain means given X_{lo−1} alone. For
    /// a subset S of the block with first element lo + r, the Markov property gives
    /// `H(X_S | X_{lo−1}) = H(π) − m(r + 1) + Σ_gaps (H(π) − m(d))`, so over uniform i-subsets
    /// `H̄_i = i·H(π) − M_i(L) − F_i`, with M_i(L) the gap term of a chain of length L (module
    /// docs) and `F_i = Σ_r P(min S = r)·m(r + 1)`, `P(min S = r) = C(L−1−r, i−1)/C(L, i)`
    /// (F ≡ 0 for the first block, which has no prefix). Then `Z_j = H̄_1 − (H̄_j − H̄_{j−1})`.
    pub(crate) fn block_curves(&self, block: usize) -> Vec<InformationCurve> {
        let l = block;
        let m = self.mutual_information();
        let big_m = gap_information(l, &m[..l.min(m.len())]);
        // F_i for i = 1..L: P(min = r) = C(L−1−r, i−1)/C(L, i), advanced in r.
        let mut first = vec![0.0; l + 1];
        for (i, slot) in first.iter_mut().enumerate().skip(1) {
            let mut sum = Sum::default();
            // P(min = 0) = i / L.
            let mut p = i as f64 / l as f64;
            for r in 0..=(l - i) {
                sum.add(p * m.get(r + 1).copied().unwrap_or(0.0));
                // P(min = r + 1) / P(min = r) = (L − 1 − r − (i − 1)) / (L − 1 − r).
                let rest = (l - 1 - r) as f64;
                if rest == 0.0 {
                    break;
                }
                p *= (rest - (i as f64 - 1.0)) / rest;
            }
            *slot = sum.value();
        }
        let h_pi = entropy(&self.pi);
        let blocks = self.n / block;
        (0..blocks)
            .map(|b| {
                let f = |i: usize| if b == 0 { 0.0 } else { first[i] };
                let h = |i: usize| i as f64 * h_pi - big_m[i] - f(i);
                let z: Vec<f64> = (1..=l)
                    .map(|j| (h(1) - (h(j) - h(j - 1))).max(0.0))
                    .collect();
                InformationCurve::repair(z).expect("finite block curves").0
            })
            .collect()
    }
}

/// `M_i` for i = 0..=n (module docs): the expected Σ over consecutive gaps d of a uniform
/// i-subset of n positions of m(d), from `m[d] = I(X_0; X_d)` (m[0] unused).
fn gap_information(n: usize, m: &[f64]) -> Vec<f64> {
    let mut big_m = vec![0.0; n + 1];
    for (i, slot) in big_m.iter_mut().enumerate().skip(2) {
        let mut sum = Sum::default();
        // w(i, 1) = i(i−1)/(n(n−1)).
        let mut w = (i * (i - 1)) as f64 / (n * (n - 1)) as f64;
        for (d, &md) in m.iter().enumerate().take(n).skip(1) {
            if w == 0.0 {
                break;
            }
            sum.add(md * (n - d) as f64 * w);
            if n - d - 1 == 0 {
                break;
            }
            w *= (n + 1).saturating_sub(d + i) as f64 / (n - d - 1) as f64;
        }
        *slot = sum.value();
    }
    big_m
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// The stay chain's closed-form m(d) gives the curve the matrix computation gives.
    #[test]
    fn stay_closed_form_equals_the_matrix_powers() {
        let (q, stay) = (7, 0.6);
        let other = (1.0 - stay) / (q as f64 - 1.0);
        let p: Vec<f64> = (0..q * q)
            .map(|i| if i / q == i % q { stay } else { other })
            .collect();
        let a = Markov::new(20, Transition::Stay { q, stay })
            .unwrap()
            .exact_curve();
        let b = Markov::new(20, Transition::Dense { q, p })
            .unwrap()
            .exact_curve();
        for (x, y) in a.z().iter().zip(b.z()) {
            assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        }
    }

    #[test]
    fn stationary_law_and_validation() {
        let p = vec![0.9, 0.1, 0.5, 0.5];
        let chain = Markov::new(5, Transition::Dense { q: 2, p }).unwrap();
        // π = (5/6, 1/6).
        assert!((chain.pi[0] - 5.0 / 6.0).abs() < 1e-12);
        assert!(matches!(
            Markov::new(
                5,
                Transition::Dense {
                    q: 2,
                    p: vec![0.9, 0.2, 0.5, 0.5]
                }
            ),
            Err(ChainError::NotStochastic { row: 0, .. })
        ));
        assert!(matches!(
            Markov::new(
                5,
                Transition::Dense {
                    q: 2,
                    p: vec![1.0, 0.0, 0.0, 1.0]
                }
            ),
            Err(ChainError::NoStationary)
        ));
        assert!(
            Markov::new(
                5,
                Transition::Dense {
                    q: 2,
                    p: vec![1.0; 3]
                }
            )
            .is_err()
        );
    }

    #[test]
    fn neighbour_formula_equals_forward_backward() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let dense = Transition::Dense {
            q: 3,
            p: vec![0.6, 0.3, 0.1, 0.2, 0.5, 0.3, 0.3, 0.3, 0.4],
        };
        for chain in [
            Markov::new(9, dense).unwrap(),
            Markov::new(9, Transition::Stay { q: 4, stay: 0.7 }).unwrap(),
        ] {
            for _ in 0..50 {
                let x = chain.sample(&mut rng);
                let partial: Vec<u32> = x
                    .iter()
                    .map(|&v| {
                        if rng.random_bool(0.4) {
                            v
                        } else {
                            crate::oracle::MASK
                        }
                    })
                    .collect();
                let query: Vec<usize> = (0..9)
                    .filter(|&i| partial[i] == crate::oracle::MASK)
                    .collect();
                let q = chain.q();
                let (mut a, mut b) = (vec![0.0; query.len() * q], vec![0.0; query.len() * q]);
                chain.marginals(&partial, &query, &mut a);
                chain.forward_backward(&partial, &query, &mut b);
                for (u, v) in a.iter().zip(&b) {
                    assert!((u - v).abs() < 1e-12, "{a:?} vs {b:?}");
                }
            }
        }
    }

    #[test]
    fn oracle_with_no_evidence_is_stationary() {
        let chain = Markov::new(4, Transition::Stay { q: 3, stay: 0.8 }).unwrap();
        let mut out = vec![0.0; 6];
        let m = crate::oracle::MASK;
        chain.marginals(&[m, m, m, m], &[0, 3], &mut out);
        for v in out {
            assert!((v - 1.0 / 3.0).abs() < 1e-12);
        }
        // One step from a revealed 2: stay 0.8, others 0.1.
        let mut out = vec![0.0; 3];
        chain.marginals(&[2, m, m, m], &[1], &mut out);
        assert!((out[2] - 0.8).abs() < 1e-12 && (out[0] - 0.1).abs() < 1e-12);
    }
}
