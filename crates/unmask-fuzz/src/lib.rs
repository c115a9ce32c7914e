//! The bodies of unmask's fuzz targets: what each target does with its input, written once and
//! run both by cargo-fuzz (`fuzz/fuzz_targets/*.rs`, coverage-guided, with sanitizers) and by
//! the replay test (`crates/unmask-cli/tests/replay.rs`), which feeds every stored corpus and
//! crash input through these functions and through the CLI in the normal test suite.
//!
//! The contract every target checks: any input ends in `Ok` or a typed error — never a panic,
//! never an allocation or a loop beyond [`budget`]. Inputs are the public entry points a user
//! reaches: the spec languages (schedules, distributions, rules), the curve-file readers, the
//! curve constructors the Python bindings expose, small sampling runs, and a checkpoint's
//! safetensors header and `config.json`.

#![deny(missing_docs, missing_debug_implementations)]

use unmask_core::budget::{Budget, Cost};
use unmask_core::{
    DistSpec, InformationCurve, Method, Rule, Schedule, ScheduleSpec, Unit, expected_kl,
    optimal_schedule, sample, stream,
};

/// A target's body: any bytes in, no panic out.
pub type Target = fn(&[u8]);

/// The targets, by name (the file names under `fuzz/fuzz_targets/` and `fuzz/corpus/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("schedule_spec", schedule_spec),
    ("dist_spec", dist_spec),
    ("rule_spec", rule_spec),
    ("curve_file", curve_file),
    ("curve_values", curve_values),
    ("small_sampling", small_sampling),
    ("checkpoint_header", checkpoint_header),
];

/// The budget the targets run under: the CLI's policy with smaller limits (curves up to about
/// 350,000 tokens, 2·10⁷ operations), so that one iteration stays well under libFuzzer's timeout
/// even with AddressSanitizer and debug assertions (10–20× slower than release).
pub fn budget() -> Budget {
    Budget::new(16.0 * 1024.0 * 1024.0, 2e7)
}

fn text(data: &[u8]) -> &str {
    std::str::from_utf8(data).unwrap_or("")
}

fn small_curve(n: usize) -> InformationCurve {
    let z = (0..n).map(|j| (j as f64).sqrt() * 0.1).collect();
    InformationCurve::new(z).expect("a valid curve")
}

/// A schedule spec: parsed, then built for a length taken from its first byte, with a curve.
pub fn schedule_spec(data: &[u8]) {
    let (n, spec) = match data.split_first() {
        Some((&b, rest)) => (usize::from(b) + 1, text(rest)),
        None => return,
    };
    for unit in [Unit::Nats, Unit::Bits] {
        if let Ok(parsed) = ScheduleSpec::parse(spec, unit) {
            let curve = small_curve(n);
            if let Ok(built) = parsed.build(n, Some(&curve)) {
                let _ = expected_kl(&curve, &built.schedule);
                let _ = parsed.to_string();
            }
        }
    }
    let _ = unmask_core::preset::BinomialSchedule::parse(spec)
        .map(|b| b.passes() <= 20 && b.expected_kl(&small_curve(n)).is_ok());
}

/// A distribution spec: parsed, priced, and within the budget its curve computed, the family
/// built and one sequence sampled.
pub fn dist_spec(data: &[u8]) {
    let Ok(dist) = DistSpec::parse(text(data)) else {
        return;
    };
    let budget = budget();
    let _ = dist.to_string();
    if dist.check_curve(&budget).is_ok()
        && let Some(curve) = dist.closed_curve()
    {
        let _ = curve.tc();
    }
    if dist.file().is_some() || budget.check("build", dist.build_cost()).is_err() {
        return;
    }
    let Ok(family) = dist.build(None) else {
        return;
    };
    let n = unmask_core::Oracle::len(&family);
    let Ok(schedule) = Schedule::from_counts(vec![1; n]) else {
        return;
    };
    let rule = Rule::RandomOrder(schedule);
    let shape = unmask_core::SamplingShape {
        samples: 1,
        calls: n,
        rows: 1,
    };
    if dist.check_sampling(&budget, shape, 1).is_ok() {
        let _ = sample(&family, &rule, &mut stream(0, 0));
    }
    if dist.check_curve(&budget).is_ok() && (n <= 64 || matches!(dist, DistSpec::Markov { .. })) {
        let _ = family.exact_curve();
    }
}

/// A rule spec, with a schedule spec after a newline: parsed and checked against a length.
pub fn rule_spec(data: &[u8]) {
    let t = text(data);
    let (rule, schedule) = t.split_once('\n').unwrap_or((t, ""));
    let n = 12;
    let schedule = ScheduleSpec::parse(schedule, Unit::Nats)
        .ok()
        .and_then(|s| s.build(n, Some(&small_curve(n))).ok())
        .map(|b| b.schedule);
    if let Ok(rule) = Rule::parse(Some(rule), schedule, Unit::Bits) {
        let _ = rule.check::<std::convert::Infallible>(n);
        let _ = rule.worst_case_calls(n);
    }
}

/// A curve file, read as JSON and as CSV, strictly and with repair; an accepted curve is
/// evaluated and optimised.
pub fn curve_file(data: &[u8]) {
    let t = text(data);
    for format in [unmask_io::Format::Json, unmask_io::Format::Csv] {
        for repair in [false, true] {
            if let Ok((curve, _)) =
                unmask_io::read_curve(t, format, Some(Unit::Bits), repair, &budget())
            {
                exercise(&curve);
            }
        }
    }
}

/// Raw numbers into the curve constructors the Python bindings expose: `Curve(z)`,
/// `Curve.from_entropy`, `Curve.repair`, `Curve.from_points`.
pub fn curve_values(data: &[u8]) {
    let values: Vec<f64> = data
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    if let Ok(c) = InformationCurve::new(values.clone()) {
        exercise(&c);
    }
    if let Ok(c) = InformationCurve::from_entropy(&values) {
        exercise(&c);
    }
    if let Ok((c, _)) = InformationCurve::repair(values.clone()) {
        exercise(&c);
    }
    // Points: (j, value) pairs, j from the value's bits, n from the first value.
    if let Some((&first, rest)) = values.split_first() {
        let n = (first.to_bits() % (1 << 12)) as usize;
        let points: Vec<(usize, f64)> = rest
            .iter()
            .map(|v| ((v.to_bits() >> 40) as usize, *v))
            .collect();
        if budget().check_curve_len(n).is_ok() {
            if let Ok(c) = InformationCurve::from_points(n, &points) {
                exercise(&c);
            }
            if let Ok((c, _)) = InformationCurve::from_points_repaired(n, &points) {
                exercise(&c);
            }
        }
    }
}

/// What the curve commands do with an accepted curve, on a budget.
fn exercise(curve: &InformationCurve) {
    let n = curve.len();
    let _ = (curve.tc(), curve.dtc(), curve.sum_mi());
    if budget()
        .check("optimise", Cost::curve(n) + Cost::work(64.0 * n as f64))
        .is_err()
    {
        return;
    }
    for k in [1, 2, 3, n / 2, n] {
        if (1..=n).contains(&k)
            && let Ok(o) = optimal_schedule(curve, k, Method::Lagrangian)
        {
            assert!(o.expected_kl.is_finite(), "optimum not finite");
            let again = expected_kl(curve, &o.schedule).expect("lengths agree");
            assert!(again.is_finite());
        }
    }
    let _ = unmask_core::min_steps(curve, curve.tc() * 0.5);
}

/// Small families and rules built from bytes, sampled once: the sampler's paths on every rule.
pub fn small_sampling(data: &[u8]) {
    let mut bytes = data.iter().copied();
    let mut next = |modulus: u8| bytes.next().map_or(0, |b| b % modulus);
    let n = usize::from(next(12)) + 2;
    let q = usize::from(next(5)) + 2;
    let spec = match next(7) {
        0 => format!("product:n={n},q={q}"),
        1 => format!("parity:n={n}"),
        2 => format!("repeat:n={n},q={q}"),
        3 => format!("rs:n={n},k={},q=17", usize::from(next(4)) % n + 1),
        4 => format!("markov:n={n},q={q},stay=0.{}", next(10)),
        5 => format!("hmm:n={n},states=2,q={q}"),
        _ => format!("mixture:n={n},q={q},components={}", next(3) + 1),
    };
    let Ok(dist) = DistSpec::parse(&spec) else {
        return;
    };
    let Ok(family) = dist.build(None) else {
        return;
    };
    let steps = usize::from(next(n as u8)) + 1;
    let schedule = unmask_core::preset::llada(n, steps, None).ok();
    let rule = match next(6) {
        0 => "random".to_string(),
        1 => "fixed".to_string(),
        2 => format!("confidence:temperature={}", next(3)),
        3 => format!("eb:gamma={}", next(4)),
        4 => format!("threshold:tau=0.{}", next(10)),
        _ => format!("mdlm:steps={}", next(8) + 1),
    };
    let schedule =
        if rule.starts_with("eb") || rule.starts_with("threshold") || rule.starts_with("mdlm") {
            None
        } else {
            schedule
        };
    if let Ok(rule) = Rule::parse(Some(&rule), schedule, Unit::Nats) {
        let seed = u64::from(next(255));
        if let Ok(s) = sample(&family, &rule, &mut stream(seed, 0)) {
            assert_eq!(s.tokens.len(), n);
            assert!(s.tokens.iter().all(|&t| (t as usize) < q.max(2) + 17));
        }
    }
}

/// A checkpoint file's first bytes: read as a safetensors header (for a file of its own length
/// and of a few others) and as `config.json` text. A header that parses must describe tensors
/// that fit in the file.
pub fn checkpoint_header(data: &[u8]) {
    use unmask_nn::checkpoint::header::parse_header;
    let len = data.len() as u64;
    for file_len in [len, len.saturating_add(4096), len / 2, u64::MAX] {
        if let Ok(h) = parse_header(data, file_len) {
            assert!(h.data_bytes <= file_len);
            assert!(h.tensors.iter().all(|(name, _, _)| name != "__metadata__"));
        }
    }
    if let Ok(c) = unmask_nn::Config::from_json(text(data), "config.json") {
        let _ = c.parameter_count();
        let _ = c.training_cost(32, 64, 1000.0);
        let back = unmask_nn::Config::from_json(&c.to_json().to_string(), "config.json");
        assert_eq!(back.ok().as_ref(), Some(&c), "a config round-trips");
    }
}
