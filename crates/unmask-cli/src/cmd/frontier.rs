//! `unmask frontier`: optimal expected KL against the number of steps, and each preset's.

use std::path::PathBuf;

use unmask_core::{Baseline, Unit, default_frontier_steps};

use crate::args::{Input, Output, StepList, parse_steps, step_list};
use crate::env::Env;
use crate::plot::{self, Marks};
use crate::report::{self, Table, num};

/// The optimal frontier.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub output: Output,
    /// Step counts to evaluate: numbers and ranges, comma-separated (`1..64`, `1..256:8` = 1,
    /// 9, …, 249 and 256; default 1, 2, 4, …, n; with --blocks m, 2m, 4m, …, n).
    #[arg(long, value_name = "LIST", value_parser = step_list)]
    pub steps: Option<StepList>,
    /// The presets drawn beside the optimum, comma-separated (uniform or llada, dream, cosine,
    /// pow:p=P, tc, dtc, sqrt; default all).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = Baseline::parse)]
    pub presets: Vec<Baseline>,
    /// The budget K of the headline (how few steps the optimum needs for LLaDA's error with
    /// K), marked on the plot (default 64, or n when n < 64; with --blocks the largest
    /// multiple of the number of blocks up to that).
    #[arg(long, value_name = "K", value_parser = parse_steps)]
    pub budget: Option<usize>,
    /// Write an SVG plot of the curve and of E-KL against steps (log scale).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

pub fn run(args: Args, env: &Env, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    if let Some((blocks, source)) = args.input.load_blocks(env)? {
        return blockwise(&args, env, unit, &blocks, &source, out);
    }
    let loaded = args.input.load(env)?;
    let curve = &loaded.curve;
    let n = curve.len();
    let grid = args
        .steps
        .clone()
        .map_or_else(|| default_frontier_steps(n), |s| s.0);
    if let Some(&bad) = grid.iter().find(|&&k| k > n) {
        anyhow::bail!("--steps: {bad} exceeds n = {n}");
    }
    let budget = args.budget.unwrap_or(64.min(n));
    if budget > n {
        anyhow::bail!("--budget {budget} exceeds n = {n}");
    }
    let presets = if args.presets.is_empty() {
        Baseline::frontier_order()
    } else {
        args.presets.clone()
    };
    env.check(
        format!("the frontier of n = {n} at {} step counts", grid.len()),
        unmask_core::frontier_cost(n, grid.len() * presets.len().div_ceil(4)),
    )?;
    let spinner = crate::progress::Progress::spinner(
        &format!("the frontier of n = {n} at {} step counts", grid.len()),
        unmask_core::frontier_cost(n, grid.len() * presets.len().div_ceil(4)).work,
    );
    let doc = unmask_io::FrontierReport::compute(curve, Unit::Nats, &grid, &presets, budget)?;
    drop(spinner);
    if let Some(path) = &args.plot {
        let series: Vec<plot::Series> = std::iter::once(("optimal".to_string(), &doc.points))
            .chain(doc.presets.iter().map(|s| (s.name.clone(), &s.points)))
            .map(|(name, points)| plot::Series {
                name,
                points: points
                    .iter()
                    .map(|p| (p.steps, Some(p.expected_kl)))
                    .collect(),
            })
            .collect();
        let marks = Marks {
            budget: Some(budget),
            measured: loaded.measured.clone(),
            block: None,
        };
        plot::write(
            path,
            curve.z(),
            unit,
            None,
            &series,
            "expected KL against steps",
            &marks,
        )?;
    }
    let doc = doc.in_unit(unit);
    // The tail note is about the optimum at the budget, optimised only for a sparse curve.
    let at_budget = if loaded.measured.is_empty() {
        None
    } else {
        Some(
            unmask_core::optimal_schedule(curve, budget, unmask_core::Method::Lagrangian)?.schedule,
        )
    };
    let notes = report::InputNotes::new(&loaded, at_budget.as_ref());
    if args.output.json {
        let mut value = serde_json::to_value(&doc)?;
        notes.add_to(&mut value, unit);
        report::print_json(out, &value)?;
        return Ok(());
    }
    writeln!(
        out,
        "{}",
        unmask_core::speedup_sentence(doc.speedup.steps, doc.speedup.optimal_steps)
    )?;
    writeln!(
        out,
        "{}; expected KL in {unit}",
        report::describe(&loaded, unit)
    )?;
    write!(out, "{}", notes.text(n, unit))?;
    let headers: Vec<String> = std::iter::once("steps".to_string())
        .chain(std::iter::once("optimal".to_string()))
        .chain(doc.presets.iter().map(|s| s.name.clone()))
        .collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut t = Table::new(&header_refs);
    for (i, &k) in grid.iter().enumerate() {
        let mut row = vec![k.to_string(), num(doc.points[i].expected_kl)];
        row.extend(doc.presets.iter().map(|s| num(s.points[i].expected_kl)));
        t.row(row);
    }
    write!(out, "{}", t.render())?;
    writeln!(out, "{}", report::MEANING)?;
    Ok(())
}

/// `--blocks`: the optimal allocation's frontier beside LLaDA's and cosine's equal splits.
fn blockwise(
    args: &Args,
    env: &Env,
    unit: Unit,
    blocks: &unmask_core::BlockCurves,
    source: &str,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let (n, m) = (blocks.len(), blocks.blocks());
    crate::args::refuse_presets_with_blocks(&args.presets)?;
    let grid = args
        .steps
        .clone()
        .map_or_else(|| plot::block_grid(blocks), |s| s.0);
    let budget = args.budget.unwrap_or((64.min(n) / m).max(1) * m);
    env.check(
        format!(
            "the block-wise frontier at {} step counts on {m} blocks, n = {n}",
            grid.len()
        ),
        unmask_core::compare_blockwise_cost(blocks, budget)
            + unmask_core::blockwise_frontier_cost(blocks, &grid)
                .repeated(if args.plot.is_some() { 2.0 } else { 1.0 }),
    )?;
    let cmp = unmask_core::compare_blockwise(blocks, budget).context("--budget")?;
    let series = unmask_core::blockwise_frontier(blocks, &grid).context("--steps")?;
    let u = |x: f64| unit.from_nats(x);
    if let Some(path) = &args.plot {
        plot::write_blockwise(path, blocks, &grid, budget, unit)?;
    }
    let llada = &cmp[0];
    let saved = budget.saturating_sub(llada.steps_to_match);
    if args.output.json {
        let doc = serde_json::json!({
            "schema_version": unmask_io::SCHEMA_VERSION,
            "n": n,
            "unit": unit.name(),
            "source": source,
            "blocks": m,
            "budget": budget,
            "steps_saved_vs_llada": saved,
            "series": series.iter().map(|(name, points)| serde_json::json!({
                "name": name,
                "points": points.iter().map(|&(k, v)| serde_json::json!({
                    "steps": k,
                    "expected_kl": v.map(u),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        return report::print_json(out, &doc);
    }
    writeln!(
        out,
        "The optimal allocation matches LLaDA's equal split at {budget} steps ({} {unit}) in {} steps: {saved} fewer forward passes ({:.2}×).",
        num(u(llada.expected_kl)),
        llada.steps_to_match,
        budget as f64 / llada.steps_to_match.max(1) as f64
    )?;
    writeln!(
        out,
        "blocks {source} ({m} blocks, n = {n}); expected KL in {unit} (—: K not a multiple of {m})"
    )?;
    let mut t = Table::new(&["steps", "optimal", "llada", "cosine"]);
    for (i, &k) in grid.iter().enumerate() {
        let mut row = vec![k.to_string()];
        row.extend(
            series
                .iter()
                .map(|(_, points)| points[i].1.map_or_else(|| "—".to_string(), |v| num(u(v)))),
        );
        t.row(row);
    }
    write!(out, "{}", t.render())?;
    writeln!(out, "{}", report::MEANING)?;
    Ok(())
}
