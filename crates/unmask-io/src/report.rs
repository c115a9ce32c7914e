//! The JSON documents of `plan`, `compare` and `frontier`, as typed reports: the CLI prints
//! them with `--json` and the Python bindings return them as dicts, so both carry the same
//! fields, computed in one place. Numbers in information units are in the report's unit; every
//! document starts with `schema_version`, `n` and `unit` (keys are written in alphabetical
//! order).

use serde::Serialize;
use unmask_core::{
    Baseline, Comparison, InformationCurve, Optimum, SpecError, Unit, preset_frontier,
};

use crate::SCHEMA_VERSION;

/// One point of a frontier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Steps (forward passes).
    pub steps: usize,
    /// Expected KL at that many steps.
    pub expected_kl: f64,
}

/// A preset's frontier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// The preset.
    pub name: String,
    /// Its points, one per step count of the grid.
    pub points: Vec<Point>,
}

/// The headline of `compare` and `frontier`: [`unmask_core::Speedup`] in a unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedupReport {
    /// LLaDA's (uniform) step count K.
    pub steps: usize,
    /// LLaDA's expected KL with K steps.
    pub uniform_expected_kl: f64,
    /// The optimum's fewest steps at that error.
    pub optimal_steps: usize,
    /// `steps / optimal_steps`.
    pub ratio: f64,
}

impl SpeedupReport {
    /// The figure in `unit`.
    pub fn new(s: &unmask_core::Speedup, unit: Unit) -> Self {
        SpeedupReport {
            steps: s.steps,
            uniform_expected_kl: unit.from_nats(s.uniform_kl),
            optimal_steps: s.optimal_steps,
            ratio: s.ratio(),
        }
    }
}

/// `unmask frontier --json`, Python `frontier(curve, steps)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrontierReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Sequence length.
    pub n: usize,
    /// `"nats"` or `"bits"`.
    pub unit: &'static str,
    /// The optimum.
    pub points: Vec<Point>,
    /// The other presets asked for ([`Baseline::frontier_order`] by default).
    pub presets: Vec<Series>,
    /// What the optimum saves against LLaDA at the budget.
    pub speedup: SpeedupReport,
}

impl FrontierReport {
    /// This report, computed in nats, with its errors in `unit`.
    pub fn in_unit(mut self, unit: Unit) -> Self {
        debug_assert_eq!(self.unit, Unit::Nats.name());
        let convert = |points: &mut Vec<Point>| {
            for p in points {
                p.expected_kl = unit.from_nats(p.expected_kl);
            }
        };
        convert(&mut self.points);
        for s in &mut self.presets {
            convert(&mut s.points);
        }
        self.speedup.uniform_expected_kl = unit.from_nats(self.speedup.uniform_expected_kl);
        self.unit = unit.name();
        self
    }

    /// The optimal frontier and the frontiers of `presets` (the optimum, listed or not, comes
    /// first, as `points`) at the step counts of `grid`, with the speed-up at `budget`.
    ///
    /// # Errors
    ///
    /// A [`SpecError`] when a step count or the budget is 0 or above n.
    pub fn compute(
        curve: &InformationCurve,
        unit: Unit,
        grid: &[usize],
        presets: &[Baseline],
        budget: usize,
    ) -> Result<Self, SpecError> {
        let mut order = vec![Baseline::Optimal];
        for &b in presets {
            if !order.contains(&b) {
                order.push(b);
            }
        }
        let mut series = preset_frontier(curve, grid, &order)?
            .into_iter()
            .map(|(b, points)| Series {
                name: b.name(),
                points: points
                    .iter()
                    .map(|p| Point {
                        steps: p.steps,
                        expected_kl: unit.from_nats(p.expected_kl),
                    })
                    .collect(),
            });
        let optimal = series.next().expect("the optimum comes first");
        Ok(FrontierReport {
            schema_version: SCHEMA_VERSION,
            n: curve.len(),
            unit: unit.name(),
            points: optimal.points,
            presets: series.collect(),
            speedup: SpeedupReport::new(&unmask_core::speedup(curve, budget)?, unit),
        })
    }
}

/// One preset of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareRow {
    /// The preset.
    pub name: String,
    /// Its counts at the budget.
    pub schedule: Vec<usize>,
    /// Its steps (it may use fewer than the budget).
    pub steps: usize,
    /// Its expected KL.
    pub expected_kl: f64,
    /// Its expected KL over the optimum's (null when the optimum is 0 and it is not).
    pub ratio_to_optimal: Option<f64>,
    /// The fewest steps at which it matches the optimum at the budget (null if none ≤ n).
    pub steps_to_match_optimal: Option<usize>,
}

/// `unmask compare --json`, Python `compare(curve, steps)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Sequence length.
    pub n: usize,
    /// `"nats"` or `"bits"`.
    pub unit: &'static str,
    /// The step budget.
    pub steps: usize,
    /// The optimum's expected KL at the budget.
    pub optimal_kl: f64,
    /// Every preset, the optimum last.
    pub rows: Vec<CompareRow>,
    /// What the optimum saves against LLaDA at the budget.
    pub speedup: SpeedupReport,
}

impl CompareReport {
    /// The report of a comparison on a curve of length n at `steps`.
    pub fn new(n: usize, unit: Unit, steps: usize, cmp: &Comparison) -> Self {
        CompareReport {
            schema_version: SCHEMA_VERSION,
            n,
            unit: unit.name(),
            steps,
            optimal_kl: unit.from_nats(cmp.optimal_kl),
            rows: cmp
                .rows
                .iter()
                .map(|r| CompareRow {
                    name: r.baseline.name(),
                    schedule: r.schedule.counts().to_vec(),
                    steps: r.schedule.steps(),
                    expected_kl: unit.from_nats(r.expected_kl),
                    ratio_to_optimal: r.ratio_to_optimal(cmp.optimal_kl),
                    steps_to_match_optimal: r.steps_to_match_optimal,
                })
                .collect(),
            speedup: SpeedupReport::new(&cmp.speedup, unit),
        }
    }
}

/// What a plan was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanTarget {
    /// Exactly this many steps: `{"steps": K}`.
    Steps(usize),
    /// The fewest steps with expected KL at most this (in the unit): `{"epsilon": E}`.
    Epsilon(f64),
}

/// `unmask plan --json`, Python `optimal_schedule(curve, steps=|epsilon=)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Sequence length.
    pub n: usize,
    /// `"nats"` or `"bits"`.
    pub unit: &'static str,
    /// Steps of the schedule.
    pub steps: usize,
    /// Its counts.
    pub schedule: Vec<usize>,
    /// Its expected KL.
    pub expected_kl: f64,
    /// What was asked.
    pub target: PlanTarget,
    /// Lagrangian probes the search made (0 for the DP methods).
    pub probes: usize,
}

impl PlanReport {
    /// The report of an optimum on a curve of length n.
    pub fn new(n: usize, unit: Unit, target: PlanTarget, optimum: &Optimum) -> Self {
        PlanReport {
            schema_version: SCHEMA_VERSION,
            n,
            unit: unit.name(),
            steps: optimum.schedule.steps(),
            schedule: optimum.schedule.counts().to_vec(),
            expected_kl: unit.from_nats(optimum.expected_kl),
            target,
            probes: optimum.probes,
        }
    }
}

/// One step of an evaluated schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// 1-based step.
    pub step: usize,
    /// Tokens revealed before it.
    pub start: usize,
    /// Tokens it reveals.
    pub count: usize,
    /// Its share of the expected KL.
    pub expected_kl: f64,
}

/// A theory schedule's guarantee (CCL Theorem 9).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuaranteeReport {
    /// `"CCL Theorem 9"` or `"CCL Theorem 9, fixed budget"`.
    pub theorem: &'static str,
    /// `"tc"` or `"dtc"`.
    pub kind: &'static str,
    /// The TC or DTC estimate the schedule was built for (ε-form only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<f64>,
    /// The target ε (ε-form only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    /// ζ = 1 + ⌈estimate/ε⌉.
    pub zeta: usize,
    /// The theorem's bound on the number of steps (ε-form only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<f64>,
    /// Whether the curve's TC (DTC) is within the estimate (ε-form only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applies: Option<bool>,
    /// The guaranteed bound on the expected KL for this curve, when it applies.
    pub expected_kl_bound: Option<f64>,
}

impl GuaranteeReport {
    /// The guarantee of a theory schedule on `curve`, in `unit`.
    pub fn new(g: &unmask_core::Guarantee, curve: &InformationCurve, unit: Unit) -> Self {
        let bound = g.bound(curve).map(|b| unit.from_nats(b));
        match *g {
            unmask_core::Guarantee::Theorem9 {
                dtc,
                estimate,
                epsilon,
                zeta,
                max_steps,
            } => GuaranteeReport {
                theorem: "CCL Theorem 9",
                kind: if dtc { "dtc" } else { "tc" },
                estimate: Some(unit.from_nats(estimate)),
                epsilon: Some(unit.from_nats(epsilon)),
                zeta,
                max_steps: Some(max_steps),
                applies: Some(bound.is_some()),
                expected_kl_bound: bound,
            },
            unmask_core::Guarantee::Budget { dtc, zeta } => GuaranteeReport {
                theorem: "CCL Theorem 9, fixed budget",
                kind: if dtc { "dtc" } else { "tc" },
                estimate: None,
                epsilon: None,
                zeta,
                max_steps: None,
                applies: None,
                expected_kl_bound: bound,
            },
        }
    }
}

/// The bounds beside an exact expected KL.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bounds {
    /// Li–Cai's bound (CCL Theorem 31).
    pub li_cai: f64,
    /// `(s_max − 1)·Z_n`.
    pub smax_zn: f64,
    /// The theory schedule's guarantee, for `tc:`/`dtc:` specs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guarantee: Option<GuaranteeReport>,
}

/// `unmask eval --json` for a schedule with fixed counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Sequence length.
    pub n: usize,
    /// `"nats"` or `"bits"`.
    pub unit: &'static str,
    /// The spec as given.
    pub spec: String,
    /// Steps (forward passes, zero-count ones included).
    pub steps: usize,
    /// The counts.
    pub schedule: Vec<usize>,
    /// Exact expected KL (CCL Theorem 16).
    pub expected_kl: f64,
    /// Each step's share.
    pub per_step: Vec<StepReport>,
    /// Steps that reveal nothing.
    pub wasted_steps: usize,
    /// Bounds and guarantees.
    pub bounds: Bounds,
}

/// `unmask eval --json` for MDLM's random counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StochasticEvalReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Sequence length.
    pub n: usize,
    /// `"nats"` or `"bits"`.
    pub unit: &'static str,
    /// The spec as given.
    pub spec: String,
    /// Always true.
    pub stochastic: bool,
    /// Passes, noise removal included.
    pub steps: usize,
    /// Expected tokens per pass.
    pub expected_counts: Vec<f64>,
    /// Exact expected KL over counts and orders.
    pub expected_kl: f64,
    /// Expected passes that reveal something.
    pub expected_busy_steps: f64,
    /// Expected model calls of MDLM's own loop.
    pub expected_nfe: f64,
}

/// `unmask verify --json`: the theory beside Monte Carlo and the sampler's own numbers. Fields
/// that do not apply (no exact curve, no enumerable law, no entropy) are null.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Sequence length.
    pub n: usize,
    /// `"nats"` or `"bits"`.
    pub unit: &'static str,
    /// The distribution spec.
    pub dist: String,
    /// The seed.
    pub seed: u64,
    /// Monte Carlo draws.
    pub samples: usize,
    /// Theorem 16 on the exact curve.
    pub exact_expected_kl: Option<f64>,
    /// Mean of `ln μ(x) − ln ν_cut(x)`.
    pub mc_expected_kl: Option<f64>,
    /// Its standard error.
    pub stderr: Option<f64>,
    /// Its 95% interval.
    pub ci95: Option<[f64; 2]>,
    /// The sampler's exact `KL(μ ‖ ν)` (tiny distributions).
    pub sampler_kl: Option<f64>,
    /// Mean forward passes.
    pub nfe: f64,
    /// Mean `−ln μ(x)` of the sampler's outputs.
    pub gen_nll: Option<f64>,
    /// `H(X)`, exact or Monte Carlo.
    pub entropy: f64,
    /// Its standard error when estimated.
    pub entropy_stderr: Option<f64>,
    /// Fraction of outputs in the support.
    pub valid_fraction: f64,
}

/// One block of a block-wise decoder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockReport {
    /// Steps given to the block.
    pub steps: usize,
    /// Its counts.
    pub schedule: Vec<usize>,
    /// Its expected KL (Theorem 16 on its conditional curve).
    pub expected_kl: f64,
}

/// `unmask eval --blocks` and `unmask plan --blocks`: a block-wise (semi-autoregressive)
/// decoder, in total and per block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockwiseReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Total tokens.
    pub n: usize,
    /// `"nats"` or `"bits"`.
    pub unit: &'static str,
    /// The schedule spec (eval).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<String>,
    /// What was asked (plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<PlanTarget>,
    /// Steps in all.
    pub steps: usize,
    /// The counts, block after block (LLaDA's `num_transfer_tokens` order).
    pub schedule: Vec<usize>,
    /// Total expected KL.
    pub expected_kl: f64,
    /// Per block.
    pub blocks: Vec<BlockReport>,
}

impl BlockwiseReport {
    /// The report of per-block schedules and their expected KL (nats), in `unit`.
    pub fn new(
        n: usize,
        unit: Unit,
        schedules: &[unmask_core::Schedule],
        per_block: &[f64],
    ) -> Self {
        let flat: Vec<usize> = schedules
            .iter()
            .flat_map(|s| s.counts().iter().copied())
            .collect();
        BlockwiseReport {
            schema_version: SCHEMA_VERSION,
            n,
            unit: unit.name(),
            spec: None,
            target: None,
            steps: flat.len(),
            schedule: flat,
            expected_kl: unit.from_nats(per_block.iter().sum()),
            blocks: schedules
                .iter()
                .zip(per_block)
                .map(|(s, &kl)| BlockReport {
                    steps: s.steps(),
                    schedule: s.counts().to_vec(),
                    expected_kl: unit.from_nats(kl),
                })
                .collect(),
        }
    }
}

/// Adds what a report says about its input to a JSON report `doc` in `unit`: `repair:
/// {max_correction, at_j}` for a repaired curve and `unmeasured_tail: {measured_through, tokens,
/// steps, expected_kl_flat, expected_kl_linear}` for a sparse one measured short of n
/// ([`unmask_core::unmeasured_tail`]); neither key when there is nothing to say. The CLI's plan,
/// eval, compare and frontier and Python's dicts all go through here.
pub fn add_input_notes(
    doc: &mut serde_json::Value,
    repair: Option<unmask_core::Repair>,
    tail: Option<unmask_core::UnmeasuredTail>,
    unit: Unit,
) {
    let Some(map) = doc.as_object_mut() else {
        return;
    };
    if let Some(r) = repair {
        map.insert(
            "repair".into(),
            serde_json::json!({"max_correction": unit.from_nats(r.max_correction), "at_j": r.at_j}),
        );
    }
    if let Some(t) = tail {
        map.insert(
            "unmeasured_tail".into(),
            serde_json::json!({
                "measured_through": t.measured_through,
                "tokens": t.tokens,
                "steps": t.steps,
                "expected_kl_flat": unit.from_nats(t.expected_kl_flat),
                "expected_kl_linear": unit.from_nats(t.expected_kl_linear),
            }),
        );
    }
}
