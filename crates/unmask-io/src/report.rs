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
    /// Every other preset, in [`Baseline::frontier_order`].
    pub presets: Vec<Series>,
}

impl FrontierReport {
    /// The report of frontiers already computed in nats (`series[0]` the optimum, then the
    /// presets), converted to `unit`.
    pub fn from_nats(n: usize, unit: Unit, series: &[(String, Vec<(usize, f64)>)]) -> Self {
        let convert = |points: &[(usize, f64)]| -> Vec<Point> {
            points
                .iter()
                .map(|&(steps, kl)| Point {
                    steps,
                    expected_kl: unit.from_nats(kl),
                })
                .collect()
        };
        FrontierReport {
            schema_version: SCHEMA_VERSION,
            n,
            unit: unit.name(),
            points: series.first().map_or_else(Vec::new, |s| convert(&s.1)),
            presets: series
                .iter()
                .skip(1)
                .map(|(name, points)| Series {
                    name: name.clone(),
                    points: convert(points),
                })
                .collect(),
        }
    }

    /// The optimal and preset frontiers of `curve` at the step counts of `grid`.
    ///
    /// # Errors
    ///
    /// A [`SpecError`] when a step count is 0 or above n.
    pub fn compute(
        curve: &InformationCurve,
        unit: Unit,
        grid: &[usize],
    ) -> Result<Self, SpecError> {
        let mut series = preset_frontier(curve, grid, &Baseline::frontier_order())?
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
