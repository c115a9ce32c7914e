//! Cross-module identities and invariants as property tests.

mod common;

use common::{close, curves};
use proptest::prelude::*;
use unmask_core::{
    Baseline, DistSpec, InformationCurve, Method, Schedule, ScheduleSpec, Unit, expected_kl,
    frontier, li_cai_bound, optimal_schedule, preset, smax_bound,
};

/// A random schedule for n tokens: k cut points, possibly with zero steps.
fn schedules(n: usize) -> impl Strategy<Value = Schedule> {
    prop::collection::vec(0..=n, 0..n.min(12)).prop_map(move |mut cuts| {
        cuts.push(n);
        cuts.sort_unstable();
        Schedule::from_breakpoints(n, &cuts).expect("sorted cuts ending at n")
    })
}

fn curve_and_schedule(max_n: usize) -> impl Strategy<Value = (InformationCurve, Schedule)> {
    curves(max_n).prop_flat_map(|c| {
        let n = c.len();
        (Just(c), schedules(n))
    })
}

/// Is c(a, b) = Σ_{j=a}^{b−1}(z[j] − z[a]) Monge on this curve? (`docs/theory.md` §4)
fn is_monge(z: &[f64]) -> bool {
    let n = z.len();
    let c = |a: usize, b: usize| -> f64 { z[a..b].iter().map(|&v| v - z[a]).sum() };
    for a in 0..n {
        for a2 in a..n {
            for b in a2 + 1..=n {
                for b2 in b..=n {
                    if c(a, b) + c(a2, b2) > c(a, b2) + c(a2, b) + 1e-12 {
                        return false;
                    }
                }
            }
        }
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn kl_identities((curve, schedule) in curve_and_schedule(80)) {
        let n = curve.len();
        let kl = expected_kl(&curve, &schedule).unwrap();
        prop_assert!(kl >= 0.0);
        prop_assert!(kl <= curve.tc() * (1.0 + 1e-12) + 1e-15);
        prop_assert!(close(expected_kl(&curve, &Schedule::one_step(n)).unwrap(), curve.tc(), curve.tc()));
        prop_assert_eq!(expected_kl(&curve, &Schedule::singletons(n)).unwrap(), 0.0);
        // Zero steps cost nothing.
        prop_assert_eq!(expected_kl(&curve, &schedule.without_wasted()).unwrap(), kl);
        // Bounds hold.
        prop_assert!(kl <= li_cai_bound(&curve, &schedule).unwrap() * (1.0 + 1e-12) + 1e-15);
        prop_assert!(kl <= smax_bound(&curve, &schedule).unwrap() * (1.0 + 1e-12) + 1e-15);
        // The closed form TC − Σ s_i Z_{N_{i−1}+1} agrees.
        let z = curve.z();
        let closed = curve.tc() - schedule.blocks().filter(|b| b.1 > 0).map(|(a, s)| s as f64 * z[a]).sum::<f64>();
        prop_assert!(close(kl, closed, curve.tc()));
    }

    #[test]
    fn refining_never_increases_kl((curve, schedule) in curve_and_schedule(60), split in 0.0f64..1.0) {
        // Split the largest step in two.
        let counts = schedule.counts().to_vec();
        let (i, &big) = counts.iter().enumerate().max_by_key(|(_, c)| **c).unwrap();
        prop_assume!(big >= 2);
        let first = 1 + ((big - 1) as f64 * split) as usize;
        let mut refined = counts[..i].to_vec();
        refined.extend([first, big - first]);
        refined.extend_from_slice(&counts[i + 1..]);
        let finer = Schedule::from_counts(refined).unwrap();
        let a = expected_kl(&curve, &schedule).unwrap();
        let b = expected_kl(&curve, &finer).unwrap();
        prop_assert!(b <= a + 1e-12 * curve.tc().max(1.0), "{} > {}", b, a);
    }

    #[test]
    fn optimum_beats_every_preset(curve in curves(64), k_frac in 0.0f64..1.0) {
        let n = curve.len();
        let k = 1 + ((n - 1) as f64 * k_frac) as usize;
        let best = optimal_schedule(&curve, k, Method::Lagrangian).unwrap();
        let slack = 1e-12 * curve.tc().max(1.0);
        for b in Baseline::ALL {
            let s = b.build(&curve, k).unwrap();
            prop_assert!(s.steps() <= k, "{} has {} steps", b.name(), s.steps());
            let kl = expected_kl(&curve, &s).unwrap();
            prop_assert!(best.expected_kl <= kl + slack, "{}: {} < optimum {}", b.name(), kl, best.expected_kl);
        }
        for s in [preset::llada(n, k, None).unwrap(), preset::cosine(n, k).unwrap()] {
            prop_assert!(best.expected_kl <= expected_kl(&curve, &s).unwrap() + slack);
        }
    }

    #[test]
    fn frontier_is_non_increasing_and_convex(curve in curves(60)) {
        let n = curve.len();
        let ks: Vec<usize> = (1..=n).collect();
        let f: Vec<f64> = frontier(&curve, &ks).unwrap().iter().map(|p| p.expected_kl).collect();
        let slack = 1e-12 * curve.tc().max(1.0);
        prop_assert!(close(f[0], curve.tc(), curve.tc()));
        prop_assert_eq!(f[n - 1], 0.0);
        for w in f.windows(2) {
            prop_assert!(w[1] <= w[0] + slack, "not non-increasing: {:?}", f);
        }
        for w in f.windows(3) {
            prop_assert!(w[0] + w[2] >= 2.0 * w[1] - 2.0 * slack, "not convex: {:?}", f);
        }
    }

    #[test]
    fn cost_is_monge(curve in curves(14)) {
        prop_assert!(is_monge(curve.z()));
    }

    #[test]
    fn presets_cover_n(n in 1usize..400, k_frac in 0.0f64..1.0, p in 0.1f64..4.0) {
        let k = 1 + ((n - 1) as f64 * k_frac) as usize;
        for s in [
            preset::llada(n, k, None).unwrap(),
            preset::dream(n, k, 1e-3, preset::Linspace::Fused).unwrap(),
            preset::cosine(n, k).unwrap(),
            preset::power(n, k, p).unwrap(),
            preset::pyramid(n, 1 + k % 5).unwrap(),
            preset::constant(n, k).unwrap(),
            preset::theory_budget(n, k, false).unwrap().0,
            preset::theory_budget(n, k, true).unwrap().0,
            preset::tc_schedule(n, 1 + k).unwrap(),
            preset::dtc_schedule(n, 1 + k).unwrap(),
        ] {
            prop_assert_eq!(s.len(), n);
            prop_assert_eq!(s.counts().iter().sum::<usize>(), n);
        }
        for s in [preset::llada(n, k, None).unwrap(), preset::dream(n, k, 1e-3, preset::Linspace::Fused).unwrap(), preset::cosine(n, k).unwrap(), preset::power(n, k, p).unwrap()] {
            prop_assert_eq!(s.steps(), k);
        }
    }

    #[test]
    fn breakpoints_round_trip(counts in prop::collection::vec(0usize..20, 1..30)) {
        prop_assume!(counts.iter().sum::<usize>() > 0);
        let s = Schedule::from_counts(counts.clone()).unwrap();
        let back = Schedule::from_breakpoints(s.len(), &s.breakpoints()).unwrap();
        prop_assert_eq!(back.counts(), &counts[..]);
        let spec = ScheduleSpec::parse(&s.to_string(), Unit::Nats).unwrap();
        prop_assert_eq!(spec.build(s.len(), None).unwrap().schedule, s);
    }

    /// Parsers return errors, never panic, on arbitrary strings.
    #[test]
    fn parsers_never_panic(s in "\\PC{0,40}", t in "[a-z]{1,8}(:[a-z]{1,6}=[-0-9.eE+a-z]{0,8}(,[a-z]{1,6}=[-0-9.eE+]{0,8}){0,3})?") {
        for input in [&s, &t] {
            let _ = DistSpec::parse(input);
            if let Ok(spec) = ScheduleSpec::parse(input, Unit::Bits) {
                let c = DistSpec::parse("parity:n=16").unwrap().closed_curve().unwrap();
                let _ = spec.build(16, Some(&c));
            }
            let _ = input.parse::<Unit>();
        }
    }

    /// Every family spec with small parameters either fails cleanly or builds a distribution
    /// whose sampler, oracle and curve work.
    #[test]
    fn dist_specs_never_panic(
        name in prop::sample::select(unmask_core::DIST_NAMES),
        n in 0usize..12,
        k in 0usize..14,
        q in 0usize..20,
        x in -0.5f64..1.5,
    ) {
        use unmask_core::Oracle;
        for spec in [
            format!("{name}:n={n},q={q},k={k},seed={k}"),
            format!("{name}:n={n},q={q},stay={x}"),
            format!("{name}:n={n},states={k},q={q}"),
            format!("{name}:n={n},q={q},components={k}"),
            format!("{name}:n={n},eps={x}"),
            format!("{name}:n={n},k={k},q={q}"),
            format!("{name}:n={n},q={q}"),
            format!("{name}:n={n}"),
        ] {
            let Ok(d) = DistSpec::parse(&spec) else { continue };
            let _ = d.closed_curve();
            if let Ok(f) = d.build(None) {
                let mut rng = unmask_core::stream(1, 0);
                let s = f.sample(&mut rng);
                prop_assert!(f.ln_pmf(&s) > f64::NEG_INFINITY, "{spec}: a draw outside the support");
                let mut out = vec![0.0; f.vocab_size()];
                f.conditional_marginals(&vec![unmask_core::MASK; f.len()], &[0], &mut out).unwrap();
                prop_assert!((out.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{spec}");
                let _ = f.exact_curve();
            }
        }
    }

    #[test]
    fn preset_specs_never_panic(name in prop::sample::select(unmask_core::SCHEDULE_NAMES), steps in 0usize..40, x in -2.0f64..40.0, n in 0usize..40) {
        // n = 0 has no curve: curve-free presets must still refuse it cleanly.
        let c = DistSpec::parse(&format!("repeat:n={n},q=3")).ok().and_then(|d| d.closed_curve());
        for spec in [
            format!("{name}:steps={steps}"),
            format!("{name}:steps={steps},block={}", steps / 2),
            format!("{name}:steps={steps},p={x}"),
            format!("{name}:epsilon={x},tc={x},dtc={x}"),
            format!("{name}:epsilon={x},{name}={x}"),
            format!("{name}:epsilon={x}"),
            format!("{name}:factor={steps}"),
            format!("{name}:size={steps}"),
            format!("{name}:steps={steps},eps={x}"),
        ] {
            if let Ok(parsed) = ScheduleSpec::parse(&spec, Unit::Nats)
                && let Ok(built) = parsed.build(n, c.as_ref())
            {
                prop_assert_eq!(built.schedule.len(), n);
            }
        }
    }
}

/// `docs/theory.md` §8 test vectors, exactly.
#[test]
fn design_test_vectors() {
    let bits = |x: f64| Unit::Bits.from_nats(x);
    // Parity of n bits: Z = (0, …, 0, 1 bit); TC = 1 bit, DTC = n − 1 bits.
    for n in [2usize, 3, 16, 100] {
        let c = DistSpec::parse(&format!("parity:n={n}"))
            .unwrap()
            .closed_curve()
            .unwrap();
        assert!((bits(c.tc()) - 1.0).abs() < 1e-12);
        assert!((bits(c.dtc()) - (n - 1) as f64).abs() < 1e-12);
        assert_eq!(bits(c.z_n()), 1.0);
        assert!(c.z()[..n - 1].iter().all(|&v| v == 0.0));
    }
    // Repeated token: constant step s costs (s − 1)·ln q.
    let c = DistSpec::parse("repeat:n=60,q=5")
        .unwrap()
        .closed_curve()
        .unwrap();
    for s in [1usize, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60] {
        let kl = expected_kl(&c, &preset::constant(60, s).unwrap()).unwrap();
        assert!((kl - (s - 1) as f64 * 5f64.ln()).abs() < 1e-12, "s = {s}");
    }
    // Products: every schedule costs 0.
    let c = DistSpec::parse("product:n=30")
        .unwrap()
        .closed_curve()
        .unwrap();
    for k in 1..=30 {
        assert_eq!(
            expected_kl(&c, &preset::cosine(30, k).unwrap()).unwrap(),
            0.0
        );
    }
    // RS n = 4, k = 2 over F_5, in bits.
    let c = DistSpec::parse("mds:n=4,k=2,q=5")
        .unwrap()
        .closed_curve()
        .unwrap();
    let kl = |counts: &[usize]| {
        bits(expected_kl(&c, &Schedule::from_counts(counts.to_vec()).unwrap()).unwrap())
    };
    assert_eq!(kl(&[2, 2]), 0.0);
    assert!((kl(&[1, 3]) - 4.644).abs() < 5e-4);
    assert!((kl(&[3, 1]) - 2.322).abs() < 5e-4);
    assert!((kl(&[4]) - 4.644).abs() < 5e-4);
    assert_eq!(kl(&[1, 1, 1, 1]), 0.0);
    // MDS codes of every dimension: the optimum with 2 steps is (k, n − k), exact.
    for k in 1..20 {
        let c = DistSpec::parse(&format!("mds:n=20,k={k},q=23"))
            .unwrap()
            .closed_curve()
            .unwrap();
        let best = optimal_schedule(&c, 2, Method::Lagrangian).unwrap();
        assert_eq!(best.expected_kl, 0.0, "k = {k}");
        assert_eq!(best.schedule.counts()[0], k);
    }
}

/// Complexity (smawk's regression test): the Lagrangian method does O(n) hull evaluations per
/// probe and few probes; the brute-force DP does Θ(k·n²) cost evaluations.
#[test]
fn lagrangian_work_is_linear_per_probe() {
    for &n in &[1_000usize, 10_000, 100_000] {
        let c = DistSpec::parse(&format!("logfactor:n={n},eps=0.01"))
            .unwrap()
            .closed_curve()
            .unwrap();
        for k in [16usize, 256] {
            let o = optimal_schedule(&c, k, Method::Lagrangian).unwrap();
            assert!(
                o.evaluations <= 3 * n as u64 * o.probes as u64,
                "n = {n}: {o:?}"
            );
            assert!(o.probes <= 60, "n = {n}, k = {k}: {} probes", o.probes);
        }
    }
    let c = DistSpec::parse("logfactor:n=200,eps=0.05")
        .unwrap()
        .closed_curve()
        .unwrap();
    let brute = optimal_schedule(&c, 8, Method::BruteForce).unwrap();
    // Σ_{t=2}^{k} Σ_{m=t}^{n} (m − t + 1) + n evaluations.
    let expected: u64 = 200
        + (2..=8u64)
            .map(|t| (t..=200).map(|m| m - t + 1).sum::<u64>())
            .sum::<u64>();
    assert_eq!(brute.evaluations, expected);
}
