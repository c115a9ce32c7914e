//! `unmask frontier`: optimal expected KL against the number of steps, and each preset's.

use std::path::PathBuf;

use unmask_core::{Unit, default_frontier_steps};

use crate::args::{Input, Output, parse_steps};
use crate::plot::{self};
use crate::report::{self, Table, num};

/// The optimal frontier.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub output: Output,
    /// Step counts to evaluate, comma-separated (default 1, 2, 4, …, n).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_steps)]
    pub steps: Vec<usize>,
    /// Write an SVG plot of the curve and of E-KL against steps (log scale).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

pub fn run(args: Args, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    let loaded = args.input.load(unit)?;
    let curve = &loaded.curve;
    let n = curve.len();
    let grid = if args.steps.is_empty() {
        default_frontier_steps(n)
    } else {
        args.steps.clone()
    };
    if let Some(&bad) = grid.iter().find(|&&k| k > n) {
        anyhow::bail!("--steps: {bad} exceeds n = {n}");
    }
    crate::args::budget()
        .check(
            format!("the frontier of n = {n} at {} step counts", grid.len()),
            unmask_core::frontier_cost(n, grid.len()),
        )
        .map_err(crate::args::over_budget)?;
    let all = plot::series(curve, &grid, false)?;
    if let Some(path) = &args.plot {
        plot::write(path, curve, unit, None, &all, "expected KL against steps")?;
    }
    let u = |x: f64| unit.from_nats(x);
    if args.output.json {
        let series: Vec<(String, Vec<(usize, f64)>)> = all
            .iter()
            .map(|s| (s.name.clone(), s.points.clone()))
            .collect();
        let doc = unmask_io::FrontierReport::from_nats(n, unit, &series);
        report::print_json(out, &serde_json::to_value(doc)?)?;
        return Ok(());
    }
    writeln!(out, "{}; expected KL in {unit}", loaded.describe(unit))?;
    let headers: Vec<String> = std::iter::once("steps".to_string())
        .chain(all.iter().map(|s| s.name.clone()))
        .collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut t = Table::new(&header_refs);
    for (i, &k) in grid.iter().enumerate() {
        let mut row = vec![k.to_string()];
        row.extend(all.iter().map(|s| num(u(s.points[i].1))));
        t.row(row);
    }
    write!(out, "{}", t.render())?;
    Ok(())
}
