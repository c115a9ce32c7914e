mod blocks;

pub use blocks::{
    BlockCompareError, BlockRow, NamedFrontier, blockwise_frontier, blockwise_frontier_cost,
    compare_blockwise, compare_blockwise_cost,
};

use rayon::prelude::*;

use crate::curve::InformationCurve;
use crate::kl::expected_kl;
use crate::optimize::{self, Method};
use crate::schedule::Schedule;
use crate::spec::SpecError;
use crate::spec::schedule::{ScheduleSpec, Target, Theory};
use crate::tol;

/// Largest n for which `steps_to_match_optimal` scans every step count.
pub const SCAN_LIMIT: usize = 16_384;

/// A preset that takes a step budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Baseline {
    /// LLaDA with one block.
    Uniform,
    /// Dream's counts.
    Dream,
    /// MaskGIT cosine.
    Cosine,
    /// Polynomial grid with exponent p.
    Pow(f64),
    /// TC schedule, fixed budget.
    Tc,
    /// DTC schedule, fixed budget.
    Dtc,
    /// Square-root rule.
    Sqrt,
    /// The optimum.
    Optimal,
}

impl Baseline {
    /// The presets compared by `unmask compare`, in display order.
    pub const ALL: [Baseline; 9] = [
        Baseline::Uniform,
        Baseline::Dream,
        Baseline::Cosine,
        Baseline::Pow(0.5),
        Baseline::Pow(2.0),
        Baseline::Tc,
        Baseline::Dtc,
        Baseline::Sqrt,
        Baseline::Optimal,
    ];

    /// The order frontiers list presets in: the optimum first, then [`Baseline::ALL`] as
    /// listed (the CLI's `frontier`, its plots and Python's `frontier` all use it).
    pub fn frontier_order() -> Vec<Baseline> {
        let mut order = vec![Baseline::Optimal];
        order.extend(
            Baseline::ALL
                .iter()
                .copied()
                .filter(|b| *b != Baseline::Optimal),
        );
        order
    }

    /// The preset named `name`: a row name of [`Baseline::ALL`] (`uniform`, `dream`, `cosine`,
    /// `pow:p=P` for any P > 0, `tc`, `dtc`, `sqrt`, `optimal`) or an alias (`llada` for
    /// uniform, `maskgit` for cosine), in any case.
    ///
    /// # Errors
    ///
    /// A message naming the unknown preset, the valid names and the nearest one.
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::Baseline;
    /// assert_eq!(Baseline::parse("LLaDA")?, Baseline::Uniform);
    /// assert_eq!(Baseline::parse("pow:p=3")?, Baseline::Pow(3.0));
    /// assert!(Baseline::parse("cosin").unwrap_err().contains("did you mean \"cosine\""));
    /// # Ok::<(), String>(())
    /// ```
    pub fn parse(name: &str) -> Result<Baseline, String> {
        const NAMES: [&str; 10] = [
            "uniform", "llada", "dream", "cosine", "maskgit", "pow:p=", "tc", "dtc", "sqrt",
            "optimal",
        ];
        let lower = name.trim().to_ascii_lowercase();
        if let Some(p) = lower.strip_prefix("pow:p=") {
            return match p.parse::<f64>() {
                Ok(p) if p.is_finite() && p > 0.0 => Ok(Baseline::Pow(p)),
                _ => Err(format!("preset {name:?}: p must be a finite number > 0")),
            };
        }
        Ok(match lower.as_str() {
            "uniform" | "llada" => Baseline::Uniform,
            "dream" => Baseline::Dream,
            "cosine" | "maskgit" => Baseline::Cosine,
            "tc" => Baseline::Tc,
            "dtc" => Baseline::Dtc,
            "sqrt" => Baseline::Sqrt,
            "optimal" => Baseline::Optimal,
            _ => {
                return Err(format!(
                    "unknown preset {name:?} (expected one of uniform, llada, dream, cosine, maskgit, pow:p=P, tc, dtc, sqrt, optimal){}",
                    crate::spec::did_you_mean(&lower, &NAMES)
                ));
            }
        })
    }

    /// The row name (`uniform`, `pow:p=0.5`, …).
    pub fn name(&self) -> String {
        match self {
            Baseline::Uniform => "uniform".into(),
            Baseline::Dream => "dream".into(),
            Baseline::Cosine => "cosine".into(),
            Baseline::Pow(p) => format!("pow:p={p}"),
            Baseline::Tc => "tc".into(),
            Baseline::Dtc => "dtc".into(),
            Baseline::Sqrt => "sqrt".into(),
            Baseline::Optimal => "optimal".into(),
        }
    }

    /// The spec of this preset at `steps`.
    pub fn spec(&self, steps: usize) -> ScheduleSpec {
        match *self {
            Baseline::Uniform => ScheduleSpec::Uniform { steps },
            Baseline::Dream => ScheduleSpec::Dream {
                steps,
                eps: 1e-3,
                linspace: crate::preset::Linspace::Fused,
            },
            Baseline::Cosine => ScheduleSpec::Cosine { steps },
            Baseline::Pow(p) => ScheduleSpec::Pow { steps, p },
            Baseline::Tc => ScheduleSpec::Tc(Theory::Budget(steps)),
            Baseline::Dtc => ScheduleSpec::Dtc(Theory::Budget(steps)),
            Baseline::Sqrt => ScheduleSpec::Sqrt { steps },
            Baseline::Optimal => ScheduleSpec::Optimal(Target::Steps(steps)),
        }
    }

    /// The schedule of this preset at `steps` on `curve`.
    ///
    /// # Errors
    ///
    /// As [`ScheduleSpec::build`] (steps out of range).
    pub fn build(&self, curve: &InformationCurve, steps: usize) -> Result<Schedule, SpecError> {
        Ok(self.spec(steps).build(curve.len(), Some(curve))?.schedule)
    }
}

/// One row of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Which preset.
    pub baseline: Baseline,
    /// Its schedule at the budget (it may use fewer steps, e.g. `tc` when no ζ fits).
    pub schedule: Schedule,
    /// Its exact expected KL (nats).
    pub expected_kl: f64,
    /// Smallest K' at which it matches the optimum at the budget; None if no K' ≤ n does.
    pub steps_to_match_optimal: Option<usize>,
}

impl Row {
    /// Expected KL relative to the optimum: None when the optimum is 0 and this row is not.
    pub fn ratio_to_optimal(&self, optimal_kl: f64) -> Option<f64> {
        if optimal_kl > 0.0 {
            Some(self.expected_kl / optimal_kl)
        } else if self.expected_kl <= 0.0 {
            Some(1.0)
        } else {
            None
        }
    }
}

/// Each baseline's exact expected KL at every step count of `grid` (nats), for frontier tables
/// and plots. [`Baseline::Optimal`] uses the optimiser's frontier.
///
/// # Errors
///
/// [`SpecError`] when a step count is 0 or above n.
pub fn preset_frontier(
    curve: &InformationCurve,
    grid: &[usize],
    baselines: &[Baseline],
) -> Result<Vec<(Baseline, Vec<crate::FrontierPoint>)>, SpecError> {
    baselines
        .iter()
        .map(|&b| {
            let points = if b == Baseline::Optimal {
                optimize::frontier(curve, grid)?
            } else {
                grid.iter()
                    .map(|&k| {
                        let s = b.build(curve, k)?;
                        Ok(crate::FrontierPoint {
                            steps: k,
                            expected_kl: expected_kl(curve, &s).expect("built for this curve"),
                        })
                    })
                    .collect::<Result<_, SpecError>>()?
            };
            Ok((b, points))
        })
        .collect()
}

/// Every [`Baseline`] at a step budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The budget K.
    pub steps: usize,
    /// The optimal expected KL at K (nats).
    pub optimal_kl: f64,
    /// One row per requested baseline, in the order asked ([`Baseline::ALL`] for [`compare`]),
    /// the optimum last.
    pub rows: Vec<Row>,
    /// What the optimum saves against LLaDA's schedule at K.
    pub speedup: Speedup,
}

/// The headline figure: the fewest steps with which the optimal schedule is as good as LLaDA's
/// (the uniform preset) with `steps`.
///
/// # Example
///
/// ```
/// use unmask_core::{speedup, DistSpec};
/// let c = DistSpec::parse("logfactor:n=1024,eps=0.1")?.closed_curve().unwrap();
/// let s = speedup(&c, 64)?;
/// assert!(s.optimal_steps < 64);
/// assert_eq!(s.ratio(), 64.0 / s.optimal_steps as f64);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speedup {
    /// LLaDA's step count K.
    pub steps: usize,
    /// LLaDA's expected KL with K steps (nats).
    pub uniform_kl: f64,
    /// The optimum's fewest steps at that error.
    pub optimal_steps: usize,
}

impl Speedup {
    /// `K / optimal_steps`: how many times fewer forward passes.
    pub fn ratio(&self) -> f64 {
        self.steps as f64 / self.optimal_steps.max(1) as f64
    }

    /// The sentence the text reports open with ([`speedup_sentence`]).
    pub fn sentence(&self) -> String {
        speedup_sentence(self.steps, self.optimal_steps)
    }
}

/// "optimal reaches LLaDA's (uniform) error at K steps in K' steps: K/K'× fewer forward
/// passes", the first line of `compare` and `frontier`.
pub fn speedup_sentence(steps: usize, optimal_steps: usize) -> String {
    format!(
        "optimal reaches LLaDA's (uniform) error at {steps} steps in {optimal_steps} steps: {:.2}× fewer forward passes",
        steps as f64 / optimal_steps.max(1) as f64
    )
}

/// [`Speedup`] at `steps` on `curve`.
///
/// # Errors
///
/// [`SpecError`] when `steps` is 0 or above n.
pub fn speedup(curve: &InformationCurve, steps: usize) -> Result<Speedup, SpecError> {
    let uniform_kl =
        expected_kl(curve, &Baseline::Uniform.build(curve, steps)?).expect("built for this curve");
    let optimal_steps = optimize::min_steps(curve, uniform_kl)?.schedule.steps();
    Ok(Speedup {
        steps,
        uniform_kl,
        optimal_steps,
    })
}

/// Compares every [`Baseline`] at `steps` on `curve`.
///
/// # Errors
///
/// [`SpecError`] when `steps` is 0 or above n.
///
/// # Example
///
/// ```
/// use unmask_core::{compare, DistSpec};
/// let parity = DistSpec::parse("parity:n=64")?.closed_curve().unwrap();
/// let cmp = compare(&parity, 4)?;
/// assert_eq!(cmp.optimal_kl, 0.0);               // (63, 1)-like schedules are exact
/// let uniform = &cmp.rows[0];
/// assert!(uniform.expected_kl > 0.0);            // 16 tokens in the last step: 1 bit lost
/// // Uniform needs 33 passes: LLaDA puts the remainder first, so 33 steps end on a singleton.
/// assert_eq!(uniform.steps_to_match_optimal, Some(33));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Comparison of today's schedules with the optimum at the same step budget.
///
/// For a budget K, every preset that takes a step count ([`Baseline`]) is built at K and
/// evaluated exactly. Its `steps_to_match_optimal` is the smallest K' ≤ n at which the preset's
/// expected KL is at most the optimal expected KL at K: the number of forward passes the preset
/// needs to be as good as the optimum with K — the speed-up a user gains by switching.
///
/// # Search
///
/// No schedule with K' steps beats the optimum with K', and the optimum is non-increasing in K',
/// so K' starts at `m*`, the fewest steps at which the optimum itself reaches the target. From
/// there, for `n ≤` [`SCAN_LIMIT`] every K' is tried in order (exact: the smallest K' is found
/// even when a preset's error is not monotone in K'); above it, K' doubles until it matches and
/// a bisection finds the boundary, which is exact when the preset's error is non-increasing in K'
/// (as it is for every preset on smooth curves) and costs O(log n) evaluations instead of O(n).
pub fn compare(curve: &InformationCurve, steps: usize) -> Result<Comparison, SpecError> {
    compare_presets(curve, steps, &Baseline::ALL)
}

/// [`compare`] for the chosen `presets` only (in their order, duplicates dropped); the
/// optimum, the reference of every row, is always the last row.
///
/// # Errors
///
/// [`SpecError`] when `steps` is 0 or above n.
pub fn compare_presets(
    curve: &InformationCurve,
    steps: usize,
    presets: &[Baseline],
) -> Result<Comparison, SpecError> {
    let mut chosen: Vec<Baseline> = Vec::new();
    for &b in presets {
        if b != Baseline::Optimal && !chosen.contains(&b) {
            chosen.push(b);
        }
    }
    chosen.push(Baseline::Optimal);
    let optimum = optimize::optimal_schedule(curve, steps, Method::Lagrangian)?;
    let target = optimum.expected_kl;
    let fewest = optimize::min_steps(curve, target)?.schedule.steps();
    let scan = Scan::new(curve, target);
    // Rows are independent; at large n each searches O(log n) builds of O(n) counts.
    let rows = chosen
        .par_iter()
        .map(|&baseline| {
            let schedule = if baseline == Baseline::Optimal {
                optimum.schedule.clone()
            } else {
                baseline.build(curve, steps)?
            };
            let expected_kl = expected_kl(curve, &schedule).expect("built for this curve");
            let steps_to_match_optimal = if baseline == Baseline::Optimal {
                Some(fewest)
            } else {
                scan.first_match(baseline, fewest, curve.len() <= SCAN_LIMIT)
            };
            Ok(Row {
                baseline,
                schedule,
                expected_kl,
                steps_to_match_optimal,
            })
        })
        .collect::<Result<Vec<_>, SpecError>>()?;
    Ok(Comparison {
        steps,
        optimal_kl: target,
        rows,
        speedup: speedup(curve, steps)?,
    })
}

/// Fast evaluation of many schedules against one target.
struct Scan<'a> {
    curve: &'a InformationCurve,
    prefix: Vec<f64>,
    threshold: f64,
}

impl<'a> Scan<'a> {
    fn new(curve: &'a InformationCurve, target: f64) -> Self {
        let mut prefix = Vec::with_capacity(curve.len() + 1);
        let mut sum = crate::num::Sum::default();
        prefix.push(0.0);
        for &v in curve.z() {
            sum.add(v);
            prefix.push(sum.value());
        }
        // Prefix-sum differences are accurate to a few ulps of TC; anything within that of the
        // target is a match, confirmed by the exact evaluation below.
        let slack = tol::ABS * curve.tc().max(1.0);
        Scan {
            curve,
            prefix,
            threshold: target + slack,
        }
    }

    /// Expected KL in O(steps) from prefix sums.
    fn kl(&self, schedule: &Schedule) -> f64 {
        let z = self.curve.z();
        schedule
            .blocks()
            .filter(|&(_, c)| c > 1)
            .map(|(a, c)| (self.prefix[a + c] - self.prefix[a] - c as f64 * z[a]).max(0.0))
            .sum()
    }

    fn matches(&self, baseline: Baseline, k: usize) -> bool {
        baseline
            .build(self.curve, k)
            .is_ok_and(|s| self.kl(&s) <= self.threshold)
    }

    /// Smallest matching K' ≥ `from`: every K' in order when `exhaustive`, else galloping and
    /// bisection (exact for presets whose error is non-increasing in K').
    fn first_match(&self, baseline: Baseline, from: usize, exhaustive: bool) -> Option<usize> {
        let n = self.curve.len();
        if exhaustive {
            return (from..=n).find(|&k| self.matches(baseline, k));
        }
        first_true(from, n, |k| self.matches(baseline, k))
    }
}

/// Smallest `x` in `from..=last` with `test(x)`, for a `test` that is false then true: galloping
/// up from `from`, then bisection, O(log(answer − from)) tests.
fn first_true(from: usize, last: usize, test: impl Fn(usize) -> bool) -> Option<usize> {
    let mut below = from - 1; // known not to match (or the lower bound)
    let mut probe = from;
    loop {
        if test(probe) {
            break;
        }
        if probe == last {
            return None;
        }
        below = probe;
        probe = (probe + (probe - from + 1)).min(last);
    }
    let mut hi = probe;
    while hi - below > 1 {
        let mid = below + (hi - below) / 2;
        if test(mid) {
            hi = mid;
        } else {
            below = mid;
        }
    }
    Some(hi)
}

/// Work of [`compare`] on a curve of n tokens, for the [resource policy](crate::budget): about
/// `30 · n · log₂ n` operations and 56 bytes per token (each row's search builds O(log n)
/// schedules of up to n counts, two rows at a time). Fitted to release runs on this project's
/// 2-core machine: `logfactor` at n = 10⁷, 64 steps, 5.9 s and 535 MB.
pub fn compare_cost(n: usize) -> crate::budget::Cost {
    let n = n as f64;
    crate::budget::Cost::new(56.0 * n, 30.0 * n * n.log2().max(1.0))
}

/// Work of the optimal and preset frontiers at `points` step counts, for the [resource
/// policy](crate::budget): about `80 · n` operations per step count (1.6 s for the 21 default
/// step counts at n = 10⁶, release, one core).
pub fn frontier_cost(n: usize, points: usize) -> crate::budget::Cost {
    let n = n as f64;
    crate::budget::Cost::new(
        n * crate::budget::CURVE_BYTES_PER_TOKEN,
        80.0 * n * points as f64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DistSpec;

    #[test]
    fn optimum_row_is_best_and_matches_at_budget() {
        let c = DistSpec::parse("logfactor:n=300,eps=0.2")
            .unwrap()
            .closed_curve()
            .unwrap();
        let cmp = compare(&c, 12).unwrap();
        let best = cmp.rows.last().unwrap();
        assert_eq!(best.baseline, Baseline::Optimal);
        assert_eq!(best.steps_to_match_optimal, Some(12));
        for row in &cmp.rows {
            assert!(
                row.expected_kl >= cmp.optimal_kl - 1e-12,
                "{}",
                row.baseline.name()
            );
            let k = row
                .steps_to_match_optimal
                .expect("singletons match at K' = n at worst");
            assert!(k >= 12, "{}: {k}", row.baseline.name());
            let exact = expected_kl(&c, &row.baseline.build(&c, k).unwrap()).unwrap();
            assert!(exact <= cmp.optimal_kl + 1e-12);
        }
    }

    #[test]
    fn galloping_agrees_with_scan_on_monotone_presets() {
        // pow:p=2 is not monotone in K' on this curve (rounding of the grid), which is why
        // small n is scanned exhaustively; the presets below are.
        let c = DistSpec::parse("logfactor:n=2000,eps=0.1")
            .unwrap()
            .closed_curve()
            .unwrap();
        let target = optimize::optimal_schedule(&c, 10, Method::Lagrangian)
            .unwrap()
            .expected_kl;
        let scan = Scan::new(&c, target);
        let fewest = optimize::min_steps(&c, target).unwrap().schedule.steps();
        for b in [
            Baseline::Uniform,
            Baseline::Sqrt,
            Baseline::Tc,
            Baseline::Dtc,
        ] {
            let linear = scan.first_match(b, fewest, true);
            let galloping = scan.first_match(b, fewest, false);
            assert!(linear.is_some());
            assert_eq!(linear, galloping, "{}", b.name());
        }
    }
}
