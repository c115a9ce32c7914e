//! The layered dynamic programmes: brute force over all splits, and divide and conquer over
//! monotone argmins (see the [parent module](super)).

use super::prefix_sums;

// `a` indexes `prev` and is an argument of `cost`; an iterator would hide the recurrence.
#[allow(clippy::needless_range_loop)]
/// The layered DP `F_t(m) = min_{a<m} F_{t−1}(a) + c(a, m)`, scanning all splits or with
/// divide-and-conquer argmins. Returns the path, 0 probes, and the number of cost evaluations.
pub(super) fn layered_dp(z: &[f64], k: usize, divide: bool) -> (Vec<usize>, usize, u64) {
    let n = z.len();
    let p = prefix_sums(z);
    let cost = |a: usize, b: usize| p[b] - p[a] - (b - a) as f64 * z[a];
    let mut evaluations = 0u64;
    let mut prev: Vec<f64> = (0..=n)
        .map(|m| if m == 0 { 0.0 } else { cost(0, m) })
        .collect();
    evaluations += n as u64;
    // parents[t][m]: start of the last step of the best t+2-step path to m.
    let mut parents: Vec<Vec<u32>> = Vec::with_capacity(k.saturating_sub(1));
    for t in 2..=k {
        let mut cur = vec![f64::INFINITY; n + 1];
        let mut arg = vec![0u32; n + 1];
        // The best last step ending at m starting in from..=to (first minimum on ties).
        let mut argmin = |m: usize, from: usize, to: usize| {
            let (mut best, mut best_a) = (f64::INFINITY, from);
            for a in from..=to {
                let v = prev[a] + cost(a, m);
                evaluations += 1;
                if v < best {
                    best = v;
                    best_a = a;
                }
            }
            (best, best_a)
        };
        // With t steps, m ranges over t..=n (every step non-empty); a over t−1..m−1.
        if divide {
            let mut stack = vec![(t, n, t - 1, n - 1)];
            while let Some((lo, hi, opt_lo, opt_hi)) = stack.pop() {
                if lo > hi {
                    continue;
                }
                let mid = lo + (hi - lo) / 2;
                let (best, best_a) = argmin(mid, opt_lo, opt_hi.min(mid - 1));
                cur[mid] = best;
                arg[mid] = best_a as u32;
                if mid > lo {
                    stack.push((lo, mid - 1, opt_lo, best_a));
                }
                stack.push((mid + 1, hi, best_a, opt_hi));
            }
        } else {
            for m in t..=n {
                let (best, best_a) = argmin(m, t - 1, m - 1);
                cur[m] = best;
                arg[m] = best_a as u32;
            }
        }
        parents.push(arg);
        prev = cur;
    }
    let mut path = vec![n];
    let mut m = n;
    for arg in parents.iter().rev() {
        m = arg[m] as usize;
        path.push(m);
    }
    path.push(0);
    path.reverse();
    (path, 0, evaluations)
}
