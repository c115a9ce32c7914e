//! `unmask compare`: every preset at a step budget against the optimum.

use std::path::PathBuf;

use serde_json::{Value, json};
use unmask_core::{Comparison, Unit, compare, default_frontier_steps};

use crate::args::{Input, Output, parse_steps};
use crate::plot;
use crate::report::{self, Table, num};

/// Presets against the optimum.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub output: Output,
    /// The step budget K (1 ≤ K ≤ n).
    #[arg(long, value_name = "K", value_parser = parse_steps, allow_negative_numbers = true)]
    pub steps: usize,
    /// Write an SVG plot: the curve with the optimal step approximation, and every preset's
    /// E-KL against steps.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

pub fn run(args: Args, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    let loaded = args.input.load(unit)?;
    let curve = &loaded.curve;
    // Every preset's schedule of up to K steps is kept for the report (~400 bytes a step).
    let report = unmask_core::budget::Cost::memory(400.0 * args.steps as f64);
    crate::args::budget()
        .check(
            format!(
                "comparing every preset on n = {} at {} steps",
                curve.len(),
                args.steps
            ),
            unmask_core::compare::compare_cost(curve.len()) + report,
        )
        .map_err(crate::args::over_budget)?;
    let cmp = compare(curve, args.steps)?;
    if let Some(path) = &args.plot {
        let grid = default_frontier_steps(curve.len());
        let series = super::frontier::series(curve, &grid, false)?;
        let optimal = &cmp.rows.last().expect("rows").schedule;
        let title = format!("{} steps: presets against the optimum", args.steps);
        plot::write(path, curve, unit, Some(optimal), &series, &title)?;
    }
    if args.output.json {
        let mut doc = report::header(curve.len(), unit);
        doc.insert("steps".into(), json!(args.steps));
        doc.insert("optimal_kl".into(), json!(unit.from_nats(cmp.optimal_kl)));
        doc.insert("rows".into(), rows_json(&cmp, unit));
        report::print_json(out, &Value::Object(doc))?;
        return Ok(());
    }
    writeln!(
        out,
        "{}, budget {} steps",
        loaded.describe(unit),
        args.steps
    )?;
    write!(out, "{}", table(&cmp, unit))?;
    Ok(())
}

pub fn rows_json(cmp: &Comparison, unit: Unit) -> Value {
    Value::Array(
        cmp.rows
            .iter()
            .map(|r| {
                json!({
                    "name": r.baseline.name(),
                    "schedule": r.schedule.counts(),
                    "steps": r.schedule.steps(),
                    "expected_kl": unit.from_nats(r.expected_kl),
                    "ratio_to_optimal": r.ratio_to_optimal(cmp.optimal_kl),
                    "steps_to_match_optimal": r.steps_to_match_optimal,
                })
            })
            .collect(),
    )
}

pub fn table(cmp: &Comparison, unit: Unit) -> String {
    let mut t = Table::new(&[
        "preset",
        "steps",
        &format!("expected KL ({unit})"),
        "× optimal",
        "steps to match",
        "counts",
    ]);
    for r in &cmp.rows {
        t.row(vec![
            r.baseline.name(),
            r.schedule.steps().to_string(),
            num(unit.from_nats(r.expected_kl)),
            r.ratio_to_optimal(cmp.optimal_kl).map_or("∞".into(), num),
            r.steps_to_match_optimal
                .map_or("none ≤ n".into(), |k| k.to_string()),
            report::counts(&r.schedule),
        ]);
    }
    t.render()
}
