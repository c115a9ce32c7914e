//! `unmask compare`: every preset at a step budget against the optimum.

use std::path::PathBuf;

use unmask_core::{Unit, compare, default_frontier_steps};

use crate::args::{Input, Output, parse_steps};
use crate::plot;
use crate::report::{self};

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
            unmask_core::compare_cost(curve.len()) + report,
        )
        .map_err(crate::args::over_budget)?;
    let cmp = compare(curve, args.steps)?;
    if let Some(path) = &args.plot {
        let grid = default_frontier_steps(curve.len());
        let series = plot::series(curve, &grid, false)?;
        let optimal = &cmp.rows.last().expect("rows").schedule;
        let title = format!("{} steps: presets against the optimum", args.steps);
        plot::write(path, curve, unit, Some(optimal), &series, &title)?;
    }
    if args.output.json {
        let doc = unmask_io::CompareReport::new(curve.len(), unit, args.steps, &cmp);
        report::print_json(out, &serde_json::to_value(doc)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{}, budget {} steps",
        loaded.describe(unit),
        args.steps
    )?;
    write!(out, "{}", report::comparison_table(&cmp, unit))?;
    Ok(())
}
