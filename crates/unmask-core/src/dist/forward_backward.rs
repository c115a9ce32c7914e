//! Forward–backward over a chain of hidden states: the conditional marginals of Markov chains
//! and hidden Markov models given revealed positions.

// `!(s > 0.0)` is deliberate: it also rejects NaN (rand's idiom).
#![allow(clippy::neg_cmp_op_on_partial_ord)]

/// Forward–backward over a chain of n hidden states with q values, evidence applied by
/// `evidence(i, v)` (zeroing impossible states), answering the state marginals of `query`.
/// Returns false when the evidence has probability 0.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward_forward(
    n: usize,
    q: usize,
    start: &[f64],
    left: impl Fn(&[f64], &mut [f64]),
    right: impl Fn(&[f64], &mut [f64]),
    evidence: impl Fn(usize, &mut [f64]),
    query: &[usize],
    out: &mut [f64],
) -> bool {
    // alpha[i] ∝ P(state_i, evidence_{0..=i}); beta[i] ∝ P(evidence_{i+1..} | state_i).
    let mut alpha = vec![0.0; n * q];
    let mut beta = vec![0.0; n * q];
    let mut tmp = vec![0.0; q];
    alpha[..q].copy_from_slice(start);
    evidence(0, &mut alpha[..q]);
    for i in 1..n {
        let (done, rest) = alpha.split_at_mut(i * q);
        let prev = &mut done[(i - 1) * q..];
        let s: f64 = prev.iter().sum();
        if !(s > 0.0) {
            return false;
        }
        prev.iter_mut().for_each(|x| *x /= s);
        left(prev, &mut rest[..q]);
        evidence(i, &mut rest[..q]);
    }
    if !(alpha[(n - 1) * q..].iter().sum::<f64>() > 0.0) {
        return false;
    }
    beta[(n - 1) * q..].fill(1.0);
    for i in (0..n - 1).rev() {
        tmp.copy_from_slice(&beta[(i + 1) * q..(i + 2) * q]);
        evidence(i + 1, &mut tmp);
        let s: f64 = tmp.iter().sum();
        if s > 0.0 {
            tmp.iter_mut().for_each(|x| *x /= s);
        }
        right(&tmp, &mut beta[i * q..(i + 1) * q]);
    }
    for (row, &i) in out.chunks_mut(q).zip(query) {
        let mut total = 0.0;
        for (s, slot) in row.iter_mut().enumerate() {
            *slot = alpha[i * q + s] * beta[i * q + s];
            total += *slot;
        }
        if !(total > 0.0) {
            return false;
        }
        row.iter_mut().for_each(|x| *x /= total);
    }
    true
}
