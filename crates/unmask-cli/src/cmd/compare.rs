//! `unmask compare`: every preset at a step budget against the optimum.

use std::path::PathBuf;

use unmask_core::{Unit, compare_presets, default_frontier_steps};

use crate::args::{Input, Output, parse_steps};
use crate::env::Env;
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
    /// The presets to compare with the optimum, comma-separated (uniform or llada, dream,
    /// cosine, pow:p=P, tc, dtc, sqrt; default all). The optimum is always the last row.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = unmask_core::Baseline::parse)]
    pub presets: Vec<unmask_core::Baseline>,
    /// Write an SVG plot: the curve with the optimal step approximation, and every preset's
    /// E-KL against steps.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

pub fn run(args: Args, env: &Env, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    if let Some((blocks, source)) = args.input.load_blocks(env)? {
        return blockwise(&args, env, unit, &blocks, &source, out);
    }
    // Every preset's schedule of up to K steps is kept for the report (~400 bytes a step).
    let price = |n: usize| {
        let report = unmask_core::budget::Cost::memory(400.0 * args.steps as f64);
        env.check(
            format!("comparing every preset on n = {n} at {} steps", args.steps),
            unmask_core::compare_cost(n) + report,
        )
    };
    // A family's n is known before its curve is built: refuse at once; a file's once read.
    let declared = args.input.declared_len();
    if let Some(n) = declared {
        price(n)?;
    }
    let loaded = args.input.load(env)?;
    let curve = &loaded.curve;
    if declared.is_none() {
        price(curve.len())?;
    }
    let presets = if args.presets.is_empty() {
        unmask_core::Baseline::ALL.to_vec()
    } else {
        args.presets.clone()
    };
    let spinner = crate::progress::Progress::spinner(
        &format!("comparing {} presets on n = {}", presets.len(), curve.len()),
        unmask_core::compare_cost(curve.len()).work,
    );
    let cmp = compare_presets(curve, args.steps, &presets)?;
    drop(spinner);
    if let Some(path) = &args.plot {
        let grid = default_frontier_steps(curve.len());
        let series = plot::series(curve, &grid, &presets)?;
        let optimal = &cmp.rows.last().expect("rows").schedule;
        let title = format!("{} steps: presets against the optimum", args.steps);
        let marks = plot::Marks {
            budget: Some(args.steps),
            measured: loaded.measured.clone(),
            block: None,
        };
        plot::write(
            path,
            curve.z(),
            unit,
            Some(optimal),
            &series,
            &title,
            &marks,
        )?;
    }
    let notes = report::InputNotes::new(&loaded, cmp.rows.last().map(|r| &r.schedule));
    if args.output.json {
        let mut doc = serde_json::to_value(unmask_io::CompareReport::new(
            curve.len(),
            unit,
            args.steps,
            &cmp,
        ))?;
        notes.add_to(&mut doc, unit);
        report::print_json(out, &doc)?;
        return Ok(());
    }
    // The speed-up first: the optimum's fewest steps at LLaDA's (uniform's) error at K.
    writeln!(out, "{}", cmp.speedup.sentence())?;
    writeln!(
        out,
        "{}, budget {} steps",
        report::describe(&loaded, unit),
        args.steps
    )?;
    write!(out, "{}", notes.text(curve.len(), unit))?;
    write!(out, "{}", report::comparison_table(&cmp, unit))?;
    writeln!(out, "{}", report::MEANING)?;
    Ok(())
}

/// `--blocks`: LLaDA's equal split and MaskGIT's cosine per block against the optimal
/// allocation, with the steps the allocation saves at equal error.
fn blockwise(
    args: &Args,
    env: &Env,
    unit: Unit,
    blocks: &unmask_core::BlockCurves,
    source: &str,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    use anyhow::Context;
    crate::args::refuse_presets_with_blocks(&args.presets)?;
    env.check(
        format!(
            "comparing block-wise decoders on {} blocks, n = {}",
            blocks.blocks(),
            blocks.len()
        ),
        unmask_core::compare_blockwise_cost(blocks, args.steps),
    )?;
    let rows = unmask_core::compare_blockwise(blocks, args.steps).context("--steps")?;
    if let Some(path) = &args.plot {
        let grid = crate::plot::block_grid(blocks);
        env.check(
            "the block-wise frontier for the plot",
            unmask_core::blockwise_frontier_cost(blocks, &grid),
        )?;
        crate::plot::write_blockwise(path, blocks, &grid, args.steps, unit)?;
    }
    let u = |x: f64| unit.from_nats(x);
    let flat = |s: &[unmask_core::Schedule]| -> Vec<usize> {
        s.iter().flat_map(|x| x.counts().iter().copied()).collect()
    };
    let llada = &rows[0];
    let saved = args.steps.saturating_sub(llada.steps_to_match);
    if args.output.json {
        let doc = serde_json::json!({
            "schema_version": unmask_io::SCHEMA_VERSION,
            "n": blocks.len(),
            "unit": unit.name(),
            "source": source,
            "blocks": blocks.blocks(),
            "steps": args.steps,
            "rows": rows.iter().map(|r| serde_json::json!({
                "name": r.name,
                "expected_kl": u(r.expected_kl),
                "steps_to_match": r.steps_to_match,
                "steps_per_block": r.schedules.iter().map(unmask_core::Schedule::steps).collect::<Vec<_>>(),
                "schedule": flat(&r.schedules),
            })).collect::<Vec<_>>(),
            "steps_saved_vs_llada": saved,
        });
        return report::print_json(out, &doc);
    }
    writeln!(
        out,
        "The optimal allocation matches LLaDA's equal split ({} {unit}) in {} of {} steps: {saved} fewer forward passes ({:.0}%).",
        crate::report::num(u(llada.expected_kl)),
        llada.steps_to_match,
        args.steps,
        100.0 * saved as f64 / args.steps as f64
    )?;
    writeln!(
        out,
        "blocks {source} ({} blocks, n = {}), budget {} steps",
        blocks.blocks(),
        blocks.len(),
        args.steps
    )?;
    let mut t = report::Table::new(&[
        "decoder",
        "expected KL",
        "steps to match",
        "steps per block",
    ]);
    for r in &rows {
        let per: Vec<String> = r.schedules.iter().map(|s| s.steps().to_string()).collect();
        t.row(vec![
            r.name.to_string(),
            crate::report::num(u(r.expected_kl)),
            r.steps_to_match.to_string(),
            per.join(","),
        ]);
    }
    write!(out, "{}", t.render())?;
    writeln!(out, "{}", report::MEANING)?;
    Ok(())
}
