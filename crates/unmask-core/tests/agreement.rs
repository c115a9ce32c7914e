//! Fast optimisers against slow references (smawk's `agreement.rs`).
//!
//! - the brute-force DP against enumeration of every schedule (n ≤ 12);
//! - the Lagrangian and divide-and-conquer methods against the brute-force DP (n ≤ 60), on
//!   random monotone curves with flat stretches and equal jumps, where ties abound;
//! - `min_steps` against the smallest k on the brute-force frontier.

mod common;

use common::{close, compositions, curves};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use unmask_core::{InformationCurve, Method, Schedule, expected_kl, min_steps, optimal_schedule};

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn brute(curve: &InformationCurve, k: usize) -> f64 {
    optimal_schedule(curve, k, Method::BruteForce)
        .unwrap()
        .expected_kl
}

#[test]
fn brute_force_dp_equals_enumeration() {
    let mut r = rng(11);
    for n in 1..=12usize {
        for _ in 0..6 {
            let mut z = vec![0.0; n];
            for j in 1..n {
                let jump = if r.random_bool(0.4) {
                    0.0
                } else {
                    r.random::<f64>()
                };
                z[j] = z[j - 1] + jump;
            }
            let curve = InformationCurve::new(z.clone()).unwrap();
            for k in 1..=n {
                let best = compositions(n, k)
                    .into_iter()
                    .map(|c| expected_kl(&curve, &Schedule::from_counts(c).unwrap()).unwrap())
                    .fold(f64::INFINITY, f64::min);
                let dp = optimal_schedule(&curve, k, Method::BruteForce).unwrap();
                assert!(
                    close(dp.expected_kl, best, curve.tc()),
                    "z = {z:?}, k = {k}: {} vs {best}",
                    dp.expected_kl
                );
                assert_eq!(dp.schedule.steps(), k);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn lagrangian_and_divide_conquer_equal_brute_force(curve in curves(60)) {
        let n = curve.len();
        for k in 1..=n {
            let reference = brute(&curve, k);
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
        let frontier: Vec<f64> = (1..=n).map(|k| brute(&curve, k)).collect();
        // Targets on and between frontier values, including exact frontier values (ties).
        let pick = ((n - 1) as f64 * fraction) as usize;
        let slack = 1e-12 * curve.tc().max(1.0);
        for epsilon in [frontier[pick], frontier[pick] * 0.999, curve.tc() * fraction, 0.0] {
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
