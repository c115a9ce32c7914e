//! Theory against simulation (issue 3's "must show"): exact curves against subset enumeration,
//! Monte Carlo expected KL against Theorem 16, samplers' exact laws against their empirical
//! frequencies, and estimated curves against exact ones. Seeds are fixed, so every check is
//! deterministic; the statistical thresholds are stated next to each.

use unmask_core::{
    DistSpec, Family, FileData, Oracle, Rule, Schedule, ScheduleSpec, Table, Unit,
    estimate_profile, exact_law, exact_output_law, expected_kl, kl_divergence, mc_expected_kl,
    sample_batch,
};

fn build(spec: &str) -> Family {
    DistSpec::parse(spec).unwrap().build(None).unwrap()
}

fn dense_markov() -> Family {
    let rows = vec![
        vec![0.7, 0.2, 0.1],
        vec![0.3, 0.3, 0.4],
        vec![0.05, 0.15, 0.8],
    ];
    DistSpec::parse("markov:n=6,matrix=m.json")
        .unwrap()
        .build(Some(FileData::Matrix(rows)))
        .unwrap()
}

/// The brute-force curve: the family's law as an explicit table, every subset enumerated.
fn enumerated_curve(family: &Family) -> Vec<f64> {
    let law = exact_law(family).unwrap();
    let table = Table::new(family.vocab_size(), family.len(), law).unwrap();
    let as_family = Family::Table(table);
    as_family.exact_curve().unwrap().z().to_vec()
}

fn tiny_families() -> Vec<(String, Family)> {
    let mut v: Vec<(String, Family)> = [
        "product:n=4,q=3,seed=1",
        "repeat:n=5,q=3",
        "parity:n=6",
        "code:n=6,k=3,q=3,seed=2",
        "code:n=7,k=2,q=2,seed=3",
        "rs:n=4,k=2,q=5,seed=4",
        "markov:n=6,q=3,stay=0.7",
        "markov:n=7,q=2,stay=0.95",
    ]
    .iter()
    .map(|s| (s.to_string(), build(s)))
    .collect();
    v.push(("markov:n=6,matrix=dense".into(), dense_markov()));
    v
}

#[test]
fn exact_curves_agree_with_subset_enumeration() {
    for (spec, family) in tiny_families() {
        let exact = family.exact_curve().expect("exact curve");
        let brute = enumerated_curve(&family);
        for (j, (a, b)) in exact.z().iter().zip(&brute).enumerate() {
            assert!(
                (a - b).abs() < 1e-9,
                "{spec}: Z_{} = {a} vs enumeration {b}",
                j + 1
            );
        }
        if let Some(closed) = DistSpec::parse(&spec).ok().and_then(|d| d.closed_curve()) {
            for (a, b) in closed.z().iter().zip(&brute) {
                assert!((a - b).abs() < 1e-9, "{spec}: closed form");
            }
        }
        // H(X) = H̄_n.
        let law = exact_law(&family).unwrap();
        let h: f64 = -law
            .iter()
            .filter(|&&p| p > 0.0)
            .map(|&p| p * p.ln())
            .sum::<f64>();
        assert!(
            (family.entropy().unwrap() - h).abs() < 1e-9,
            "{spec}: entropy"
        );
    }
}

#[test]
fn curve_of_a_product_is_the_sum() {
    let a = build("markov:n=4,q=2,stay=0.8");
    let b = build("repeat:n=4,q=3");
    let (la, lb) = (exact_law(&a).unwrap(), exact_law(&b).unwrap());
    // Token i of the product is (a_i, b_i) ↦ a_i·3 + b_i over q = 6.
    let n = 4;
    let mut p = vec![0.0; 6usize.pow(n as u32)];
    for (ia, &pa) in la.iter().enumerate() {
        for (ib, &pb) in lb.iter().enumerate() {
            let (mut x, mut ra, mut rb) = (0usize, ia, ib);
            let mut digits = vec![0usize; n];
            for slot in digits.iter_mut().rev() {
                *slot = (ra % 2) * 3 + rb % 3;
                ra /= 2;
                rb /= 3;
            }
            for d in digits {
                x = x * 6 + d;
            }
            p[x] += pa * pb;
        }
    }
    let joint = Family::Table(Table::new(6, n, p).unwrap());
    let sum: Vec<f64> = a
        .exact_curve()
        .unwrap()
        .z()
        .iter()
        .zip(b.exact_curve().unwrap().z())
        .map(|(x, y)| x + y)
        .collect();
    for (x, y) in joint.exact_curve().unwrap().z().iter().zip(&sum) {
        assert!((x - y).abs() < 1e-9);
    }
}

#[test]
fn monte_carlo_expected_kl_agrees_with_theorem_16() {
    let families = [
        "product:n=16,q=3,seed=1",
        "repeat:n=16,q=4",
        "parity:n=16",
        "code:n=16,k=5,q=3,seed=2",
        "rs:n=16,k=4,q=17,seed=3",
        "markov:n=16,q=4,stay=0.85",
    ];
    for spec in families {
        let family = build(spec);
        let curve = family.exact_curve().unwrap();
        for schedule in [
            "uniform:steps=4",
            "cosine:steps=4",
            "optimal:steps=4",
            "tc:steps=5",
            "dtc:steps=5",
        ] {
            let s = ScheduleSpec::parse(schedule, Unit::Nats)
                .unwrap()
                .build(16, Some(&curve))
                .unwrap()
                .schedule;
            let exact = expected_kl(&curve, &s).unwrap();
            let mc = mc_expected_kl(&family, &s, unmask_core::Runs::new(3000, 21)).unwrap();
            let gap = (mc.mean() - exact).abs();
            // Within 4 standard errors (two-sided α ≈ 6e-5); zero-variance cases to rounding.
            assert!(
                gap <= 4.0 * mc.stderr() + 1e-9,
                "{spec} {schedule}: exact {exact}, MC {} ± {}",
                mc.mean(),
                mc.stderr()
            );
        }
    }
}

/// Wilson–Hilferty approximation of the chi-square quantile at α = 0.001 (z = 3.0902).
fn chi_square_critical(df: usize) -> f64 {
    let k = df as f64;
    let z = 3.090_232;
    k * (1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt()).powi(3)
}

#[test]
fn samplers_follow_their_exact_laws() {
    let cases: Vec<(&str, Rule)> = vec![
        (
            "markov:n=4,q=2,stay=0.8",
            Rule::RandomOrder(Schedule::from_counts(vec![2, 2]).unwrap()),
        ),
        ("markov:n=4,q=2,stay=0.8", Rule::EntropyBound { gamma: 0.4 }),
        ("parity:n=4", Rule::Threshold { tau: 0.8 }),
        (
            "mixture:n=4,q=2,components=2,seed=3",
            Rule::Confidence {
                schedule: Schedule::from_counts(vec![1, 3]).unwrap(),
                temperature: 0.0,
            },
        ),
        (
            "hmm:n=4,states=2,q=2,seed=5",
            Rule::RandomOrder(Schedule::from_counts(vec![3, 1]).unwrap()),
        ),
    ];
    for (spec, rule) in cases {
        let family = build(spec);
        let nu = exact_output_law(&family, &rule).unwrap();
        assert!((nu.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let m = 20_000;
        let samples = sample_batch(&family, &rule, m, 77, 0).unwrap();
        let mut counts = vec![0usize; nu.len()];
        for s in &samples {
            let index = s
                .tokens
                .iter()
                .fold(0usize, |acc, &v| acc * family.vocab_size() + v as usize);
            counts[index] += 1;
        }
        assert!(
            counts.iter().zip(&nu).all(|(&c, &p)| p > 0.0 || c == 0),
            "{spec}: sample outside ν's support"
        );
        let cells: Vec<(f64, f64)> = counts
            .iter()
            .zip(&nu)
            .filter(|(_, p)| **p > 0.0)
            .map(|(&c, &p)| (c as f64, p * m as f64))
            .collect();
        let stat: f64 = cells.iter().map(|(o, e)| (o - e).powi(2) / e).sum();
        // A deterministic sampler (greedy confidence) has a one-point law: every draw lands there.
        let critical = if cells.len() == 1 {
            1e-9
        } else {
            chi_square_critical(cells.len() - 1)
        };
        assert!(stat < critical, "{spec} {rule:?}: χ² = {stat} ≥ {critical}");
        if let Rule::RandomOrder(s) = &rule
            && let Some(curve) = family.exact_curve()
        {
            let mu = exact_law(&family).unwrap();
            assert!(kl_divergence(&mu, &nu) <= expected_kl(&curve, s).unwrap() + 1e-12);
        }
    }
}

#[test]
fn estimated_curves_cover_the_exact_curve() {
    for spec in [
        "markov:n=24,q=3,stay=0.8",
        "code:n=12,k=4,q=3,seed=8",
        "repeat:n=20,q=5",
    ] {
        let family = build(spec);
        let exact = family.exact_curve().unwrap();
        let grid = [1, 3, 6, 10];
        let est = estimate_profile(
            &family,
            |r| family.sample(r),
            &grid,
            unmask_core::Runs::new(3000, 31),
        )
        .unwrap();
        for loss in [unmask_core::Loss::Entropy, unmask_core::Loss::CrossEntropy] {
            for (j, z, se) in est.z_points(loss) {
                let truth = exact.z()[j - 1];
                assert!(
                    (z - truth).abs() <= 4.0 * se + 1e-9,
                    "{spec} {loss:?}: Z_{j} = {truth}, estimate {z} ± {se}"
                );
            }
        }
        let (curve, _) = est.curve(unmask_core::Loss::Entropy).unwrap();
        assert_eq!(curve.len(), family.len());
    }
    // Large codes: the structural estimate against the exact closed form of an MDS code.
    let rs = build("rs:n=40,k=10,q=41,seed=1");
    let (z, se) = rs.structural_estimate(2000, 3).unwrap();
    let exact = rs.exact_curve().unwrap();
    for ((a, b), s) in exact.z().iter().zip(&z).zip(&se) {
        assert!((a - b).abs() <= 4.0 * s + 1e-9);
    }
}

/// The fast oracles (Markov neighbour formula, bit-packed F_2) agree with the slow references
/// (forward–backward, generic F_q elimination) on random partial sequences.
#[test]
fn fast_oracles_equal_references() {
    use rand::RngExt;
    use unmask_core::{MASK, Reference, stream};
    for spec in [
        "markov:n=30,q=4,stay=0.6",
        "parity:n=20",
        "code:n=40,k=12,q=2,seed=3",
        "rs:n=12,k=5,q=13",
    ] {
        let family = build(spec);
        let reference = Reference(&family);
        let q = family.vocab_size();
        let mut rng = stream(99, 0);
        for _ in 0..200 {
            let x = family.sample(&mut rng);
            let keep = rng.random::<f64>();
            let partial: Vec<u32> = x
                .iter()
                .map(|&v| if rng.random::<f64>() < keep { v } else { MASK })
                .collect();
            let query: Vec<usize> = (0..family.len()).filter(|&i| partial[i] == MASK).collect();
            let (mut a, mut b) = (vec![0.0; query.len() * q], vec![0.0; query.len() * q]);
            family
                .conditional_marginals(&partial, &query, &mut a)
                .unwrap();
            reference
                .conditional_marginals(&partial, &query, &mut b)
                .unwrap();
            for (u, v) in a.iter().zip(&b) {
                assert!((u - v).abs() < 1e-12, "{spec}");
            }
        }
    }
}

/// Entropy (nats) of the marginal of `law` (over q^n outcomes, position 1 most significant) on
/// the positions in `set`.
fn marginal_entropy(law: &[f64], n: usize, q: usize, set: &[usize]) -> f64 {
    let mut marginal: std::collections::HashMap<Vec<usize>, f64> = Default::default();
    for (index, &p) in law.iter().enumerate() {
        if p == 0.0 {
            continue;
        }
        let digit = |i: usize| (index / q.pow((n - 1 - i) as u32)) % q;
        *marginal
            .entry(set.iter().map(|&i| digit(i)).collect())
            .or_default() += p;
    }
    -marginal.values().map(|&p| p * p.ln()).sum::<f64>()
}

/// Block b's conditional information curve from the exact law by enumeration:
/// Z^(b)_j = H̄_1 + H̄_{j−1} − H̄_j with H̄_i the mean over i-subsets S of the block of
/// H(X_S | X_prefix), the later blocks marginalised out.
fn enumerated_block_curve(law: &[f64], n: usize, q: usize, block: usize, b: usize) -> Vec<f64> {
    let prefix: Vec<usize> = (0..b * block).collect();
    let h_prefix = marginal_entropy(law, n, q, &prefix);
    let members: Vec<usize> = (b * block..(b + 1) * block).collect();
    let mut mean = vec![0.0; block + 1];
    for (i, slot) in mean.iter_mut().enumerate().skip(1) {
        let mut total = 0.0;
        let mut count = 0.0;
        for mask in 0u32..(1 << block) {
            if mask.count_ones() as usize != i {
                continue;
            }
            let mut set = prefix.clone();
            set.extend(
                (0..block)
                    .filter(|k| mask >> k & 1 == 1)
                    .map(|k| members[k]),
            );
            total += marginal_entropy(law, n, q, &set) - h_prefix;
            count += 1.0;
        }
        *slot = total / count;
    }
    (1..=block)
        .map(|j| mean[1] + mean[j - 1] - mean[j])
        .collect()
}

/// The closed-form block curves against the conditional information curves computed from the
/// exact law by enumeration.
#[test]
fn closed_block_curves_equal_enumeration() {
    for (spec, block) in [
        ("parity:n=6", 2),
        ("parity:n=6", 3),
        ("repeat:n=6,q=3", 2),
        ("product:n=6,q=2", 3),
        ("rs:n=6,k=3,q=7", 2),
        ("rs:n=6,k=4,q=7", 3),
        ("markov:n=6,q=3,stay=0.7", 2),
        ("markov:n=6,q=3,stay=0.7", 3),
        ("markov:n=8,q=2,stay=0.9", 4),
        ("markov:n=6,q=3,stay=0.7", 6),
    ] {
        let dist = DistSpec::parse(spec).unwrap();
        let family = dist.build(None).unwrap();
        let (n, q) = (
            unmask_core::Oracle::len(&family),
            unmask_core::Oracle::vocab_size(&family),
        );
        let law = exact_law(&family).unwrap();
        let closed = dist.closed_block_curves(block).unwrap();
        for (b, curve) in closed.curves().iter().enumerate() {
            let want = enumerated_block_curve(&law, n, q, block, b);
            for j in 1..=block {
                assert!(
                    (want[j - 1] - curve.z()[j - 1]).abs() < 1e-9,
                    "{spec}, block {b}, Z_{j}: enumeration {} vs closed form {}",
                    want[j - 1],
                    curve.z()[j - 1]
                );
            }
        }
    }
}

/// The library's dense-table enumeration of block curves (HMMs and mixtures have no closed
/// form) against the hash-map enumeration above.
#[test]
fn enumerated_block_curves_of_hmms_and_mixtures() {
    for (spec, block) in [
        ("hmm:n=6,states=2,q=3", 2),
        ("hmm:n=6,states=3,q=2", 3),
        ("hmm:n=8,states=2,q=2", 4),
        ("mixture:n=6,q=3,components=2", 3),
    ] {
        let family = DistSpec::parse(spec).unwrap().build(None).unwrap();
        let (n, q) = (
            unmask_core::Oracle::len(&family),
            unmask_core::Oracle::vocab_size(&family),
        );
        let law = exact_law(&family).unwrap();
        let blocks = unmask_core::BlockCurves::by_enumeration(&family, block).unwrap();
        assert_eq!(blocks.blocks(), n / block);
        for (b, curve) in blocks.curves().iter().enumerate() {
            let want = enumerated_block_curve(&law, n, q, block, b);
            for j in 1..=block {
                assert!(
                    (want[j - 1] - curve.z()[j - 1]).abs() < 1e-9,
                    "{spec}, block {b}, Z_{j}: {} vs {}",
                    want[j - 1],
                    curve.z()[j - 1]
                );
            }
        }
        // Later blocks see structure through the prefix: an HMM's block curves are not zero.
        let tc: f64 = blocks.curves().iter().map(|c| c.tc()).sum();
        assert!(tc > 1e-6, "{spec}: {tc}");
    }
}
