//! Fast optimisers against slow references written independently here (smawk's
//! `agreement.rs`): nothing below goes through the library's own DP.
//!
//! - every method against enumeration of all compositions (n ≤ 16), costs summed in the test;
//! - every method against a plain O(k·n²) DP written in this file (n ≤ 200);
//! - the Lagrangian and divide-and-conquer methods against that DP on random monotone curves
//!   with flat stretches and equal jumps, where ties abound (proptest);
//! - `min_steps` against the smallest k on the plain DP's frontier.

mod common;

use common::{close, compositions, curves};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use unmask_core::{
    BlockCurves, InformationCurve, Method, Schedule, blockwise_expected_kl, expected_kl, min_steps,
    min_steps_blockwise, optimal_blockwise, optimal_schedule,
};

const METHODS: [Method; 3] = [
    Method::Lagrangian,
    Method::DivideConquer,
    Method::BruteForce,
];

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Theorem 16 summed term by term: Σ_steps Σ_{j in step} (z[j] − z[first of step]).
fn plain_cost(z: &[f64], counts: &[usize]) -> f64 {
    let mut start = 0;
    let mut total = 0.0;
    for &s in counts {
        for j in start..start + s {
            total += z[j] - z[start];
        }
        start += s;
    }
    total
}

// Indices are the DP's variables; iterators would hide the recurrence being checked.
#[allow(clippy::needless_range_loop)]
/// The k-step optimum for every k = 1..=n by the textbook DP
/// `F[t][m] = min_{t−1 ≤ a < m} F[t−1][a] + Σ_{j=a}^{m−1} (z[j] − z[a])`, O(k·n²).
fn plain_frontier(z: &[f64]) -> Vec<f64> {
    let n = z.len();
    let mut prefix = vec![0.0; n + 1];
    for j in 0..n {
        prefix[j + 1] = prefix[j] + z[j];
    }
    let block = |a: usize, m: usize| prefix[m] - prefix[a] - (m - a) as f64 * z[a];
    let mut f: Vec<f64> = (0..=n).map(|m| block(0, m)).collect();
    let mut frontier = vec![f[n]];
    for t in 2..=n {
        let mut next = vec![f64::INFINITY; n + 1];
        for m in t..=n {
            for a in t - 1..m {
                next[m] = next[m].min(f[a] + block(a, m));
            }
        }
        f = next;
        frontier.push(f[n]);
    }
    frontier
}

fn random_curve(r: &mut ChaCha8Rng, n: usize) -> InformationCurve {
    let mut z = vec![0.0; n];
    for j in 1..n {
        z[j] = z[j - 1]
            + match r.random_range(0..5) {
                0 | 1 => 0.0,
                2 => 0.25,
                _ => r.random::<f64>(),
            };
    }
    InformationCurve::new(z).unwrap()
}

/// Checks one method's k-step optimum against a reference value.
fn agrees(curve: &InformationCurve, k: usize, method: Method, reference: f64) {
    let o = optimal_schedule(curve, k, method).unwrap();
    assert_eq!(o.schedule.steps(), k, "{method:?}");
    assert!(
        close(o.expected_kl, reference, curve.tc()),
        "{method:?}, k = {k}: {} vs {reference} on {:?}",
        o.expected_kl,
        curve.z()
    );
    let recomputed = plain_cost(curve.z(), o.schedule.counts());
    assert!(close(recomputed, o.expected_kl, curve.tc()));
}

#[test]
fn every_method_equals_enumeration() {
    let mut r = rng(11);
    for n in 1..=16usize {
        for _ in 0..3 {
            let curve = random_curve(&mut r, n);
            for k in 1..=n {
                let best = compositions(n, k)
                    .into_iter()
                    .map(|c| plain_cost(curve.z(), &c))
                    .fold(f64::INFINITY, f64::min);
                for method in METHODS {
                    agrees(&curve, k, method, best);
                }
            }
        }
    }
}

#[test]
fn every_method_equals_the_plain_dp() {
    let mut r = rng(13);
    for &n in &[17usize, 40, 97, 200] {
        for _ in 0..2 {
            let curve = random_curve(&mut r, n);
            let frontier = plain_frontier(curve.z());
            for k in 1..=n {
                for method in METHODS {
                    if method == Method::BruteForce && n > 100 && k % 10 != 0 {
                        continue; // O(k·n²) per k: a sample keeps the debug build quick
                    }
                    agrees(&curve, k, method, frontier[k - 1]);
                }
            }
        }
    }
}

#[test]
fn the_plain_dp_is_checked_too() {
    // Its own sanity: the docs/theory.md §8 vectors (RS n = 4, k = 2 over F_5, in nats).
    let l5 = 5f64.ln();
    let frontier = plain_frontier(&[0.0, 0.0, l5, l5]);
    assert_eq!(frontier, vec![2.0 * l5, 0.0, 0.0, 0.0]);
    assert!((plain_cost(&[0.0, 0.0, l5, l5], &[1, 3]) - 2.0 * l5).abs() < 1e-15);
    assert!(
        expected_kl(
            &InformationCurve::new(vec![0.0, 0.0, l5, l5]).unwrap(),
            &Schedule::from_counts(vec![3, 1]).unwrap()
        )
        .unwrap()
            - l5
            < 1e-15
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn lagrangian_and_divide_conquer_equal_the_plain_dp(curve in curves(60)) {
        let n = curve.len();
        let frontier = plain_frontier(curve.z());
        for k in 1..=n {
            let reference = frontier[k - 1];
            for method in [Method::Lagrangian, Method::DivideConquer] {
                let o = optimal_schedule(&curve, k, method).unwrap();
                prop_assert_eq!(o.schedule.steps(), k);
                prop_assert_eq!(o.schedule.wasted_steps(), 0);
                prop_assert!(
                    close(o.expected_kl, reference, curve.tc()),
                    "{:?} k = {}: {} vs {} on {:?}", method, k, o.expected_kl, reference, curve.z()
                );
                let recomputed = expected_kl(&curve, &o.schedule).unwrap();
                prop_assert_eq!(recomputed, o.expected_kl);
            }
        }
    }

    #[test]
    fn min_steps_is_first_k_under_epsilon(curve in curves(40), fraction in 0.0f64..1.0) {
        let n = curve.len();
        let frontier = plain_frontier(curve.z());
        // Targets on and between frontier values, including exact frontier values (ties).
        let pick = ((n - 1) as f64 * fraction) as usize;
        let slack = 1e-12 * curve.tc().max(1.0);
        // The plain DP's prefix sums can leave −1e−16 where the optimum is 0.
        let on = frontier[pick].max(0.0);
        for epsilon in [on, on * 0.999, curve.tc() * fraction, 0.0] {
            let expected = frontier.iter().position(|&f| f <= epsilon + slack).unwrap() + 1;
            let o = min_steps(&curve, epsilon).unwrap();
            prop_assert!(o.expected_kl <= epsilon + slack, "{} > {}", o.expected_kl, epsilon);
            // Rounding may differ on exact frontier values by one ulp; allow the neighbour
            // only when the brute-force values are that close.
            if o.schedule.steps() != expected {
                let k = o.schedule.steps();
                prop_assert!(close(frontier[k - 1], frontier[expected - 1], curve.tc()),
                    "ε = {}: got {} steps, expected {} ({:?})", epsilon, k, expected, frontier);
            }
        }
    }
}

/// Larger sizes on a seeded grid: Lagrangian against divide and conquer (both fast enough).
#[test]
fn lagrangian_matches_divide_conquer_on_larger_curves() {
    let mut r = rng(12);
    for &n in &[100usize, 257, 600] {
        for trial in 0..3 {
            let mut z = vec![0.0; n];
            for j in 1..n {
                let jump = match r.random_range(0..4) {
                    0 => 0.0,
                    1 => 0.01,
                    _ => r.random::<f64>() * 0.05,
                };
                z[j] = z[j - 1] + jump;
            }
            let curve = InformationCurve::new(z).unwrap();
            for &k in &[2usize, 3, 7, 16, 50, n / 2, n - 1] {
                let fast = optimal_schedule(&curve, k, Method::Lagrangian).unwrap();
                let dc = optimal_schedule(&curve, k, Method::DivideConquer).unwrap();
                assert_eq!(fast.schedule.steps(), k);
                assert!(
                    close(fast.expected_kl, dc.expected_kl, curve.tc()),
                    "n = {n}, trial {trial}, k = {k}: {} vs {}",
                    fast.expected_kl,
                    dc.expected_kl
                );
            }
        }
    }
}

/// The best split of k steps over blocks by a DP over blocks × steps on the plain frontiers.
fn dp_allocation(frontiers: &[Vec<f64>], k: usize) -> f64 {
    let mut best = vec![f64::INFINITY; k + 1];
    best[0] = 0.0;
    for f in frontiers {
        let mut next = vec![f64::INFINITY; k + 1];
        for (used, &b) in best.iter().enumerate() {
            if !b.is_finite() {
                continue;
            }
            for (kb, &cost) in f.iter().enumerate() {
                let total = used + kb + 1;
                if total <= k {
                    next[total] = next[total].min(b + cost);
                }
            }
        }
        best = next;
    }
    best[k]
}

/// The block-wise optimum (greedy over convex per-block frontiers) against the DP over blocks ×
/// steps, on more than 100 random instances; the ε form against the DP's first k under ε.
#[test]
fn blockwise_optimum_equals_the_dp_over_blocks_and_steps() {
    let mut r = rng(41);
    let mut cases = 0;
    for _ in 0..40 {
        let m = r.random_range(1..5);
        let curves: Vec<InformationCurve> = (0..m)
            .map(|_| {
                let len = r.random_range(1..9);
                random_curve(&mut r, len)
            })
            .collect();
        let frontiers: Vec<Vec<f64>> = curves.iter().map(|c| plain_frontier(c.z())).collect();
        let tc: f64 = curves.iter().map(InformationCurve::tc).sum();
        let blocks = BlockCurves::new(curves).unwrap();
        for k in m..=blocks.len() {
            let greedy = optimal_blockwise(&blocks, k).unwrap();
            let dp = dp_allocation(&frontiers, k);
            assert!(
                close(greedy.expected_kl, dp, tc),
                "k = {k}: {} vs {dp}",
                greedy.expected_kl
            );
            assert_eq!(greedy.steps_per_block().iter().sum::<usize>(), k);
            let (again, _) = blockwise_expected_kl(&blocks, &greedy.schedules).unwrap();
            assert!(close(again, greedy.expected_kl, tc));
            cases += 1;
        }
        let target = tc * r.random::<f64>() * 0.5;
        let got = min_steps_blockwise(&blocks, target).unwrap();
        let first = (m..=blocks.len())
            .find(|&k| dp_allocation(&frontiers, k) <= target + 1e-12)
            .unwrap();
        assert_eq!(
            got.steps_per_block().iter().sum::<usize>(),
            first,
            "ε = {target}"
        );
    }
    assert!(cases >= 100, "{cases} instances");
}
