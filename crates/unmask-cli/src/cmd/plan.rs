//! `unmask plan`: the optimal schedule for a step budget or an error target.

use std::path::PathBuf;

use unmask_core::{Method, Unit, default_frontier_steps, min_steps, optimal_schedule};

use crate::args::{Input, Output, parse_nonnegative, parse_steps};
use crate::env::Env;
use crate::plot;
use crate::report::{self, num};

/// The optimal schedule.
#[derive(Debug, clap::Args)]
#[group(id = "target", required = true, multiple = false)]
pub struct Args {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub output: Output,
    /// Exactly K forward passes (1 ≤ K ≤ n).
    #[arg(
        long,
        value_name = "K",
        value_parser = parse_steps,
        allow_negative_numbers = true,
        group = "target"
    )]
    pub steps: Option<usize>,
    /// The fewest passes with expected KL ≤ E (in --unit).
    #[arg(
        long,
        value_name = "E",
        value_parser = parse_nonnegative,
        allow_negative_numbers = true,
        group = "target"
    )]
    pub epsilon: Option<f64>,
    /// Output style: `text`, or `llada` to also print the per-step counts as a list ready to
    /// paste into a LLaDA-style sampler (num_transfer_tokens).
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Algorithm for --steps (all give the same expected KL; the others are references).
    #[arg(long, value_enum, default_value_t = MethodArg::Lagrangian)]
    pub method: MethodArg,
    /// Write an SVG plot: the curve with the plan's step approximation, and E-KL against steps
    /// (with --blocks: the block curves end to end, their boundaries, and the block-wise lines).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Text,
    Llada,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// O(n) per probe, O(n) memory (default).
    Lagrangian,
    /// O(k·n·log n) time, O(k·n) memory.
    DivideConquer,
    /// O(k·n²): the slow reference.
    BruteForce,
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Method {
        match m {
            MethodArg::Lagrangian => Method::Lagrangian,
            MethodArg::DivideConquer => Method::DivideConquer,
            MethodArg::BruteForce => Method::BruteForce,
        }
    }
}

pub fn run(args: Args, env: &Env, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    if let Some((blocks, source)) = args.input.load_blocks(env)? {
        return blockwise(&args, env, unit, &blocks, &source, out);
    }
    let loaded = args.input.load(env)?;
    let curve = &loaded.curve;
    // About 100 operations per token and probe, a dozen probes.
    let spinner = crate::progress::Progress::spinner(
        &format!("optimising n = {}", curve.len()),
        1200.0 * curve.len() as f64,
    );
    let optimum = match (args.steps, args.epsilon) {
        (Some(k), _) => optimal_schedule(curve, k, args.method.into())?,
        (None, Some(e)) => min_steps(curve, unit.to_nats(e))?,
        (None, None) => anyhow::bail!("give --steps K or --epsilon E"),
    };
    drop(spinner);
    let schedule = &optimum.schedule;
    let notes = report::InputNotes::new(&loaded, Some(schedule));
    if let Some(path) = &args.plot {
        let grid = default_frontier_steps(curve.len());
        let series = plot::series(curve, &grid, &[unmask_core::Baseline::Uniform])?;
        let title = format!(
            "optimal {} steps: E-KL {} {unit}",
            schedule.steps(),
            num(unit.from_nats(optimum.expected_kl))
        );
        let marks = plot::Marks {
            budget: Some(schedule.steps()),
            measured: loaded.measured.clone(),
            block: None,
        };
        plot::write(
            path,
            curve.z(),
            unit,
            Some(schedule),
            &series,
            &title,
            &marks,
        )?;
    }
    if args.output.json {
        let target = match (args.steps, args.epsilon) {
            (Some(k), _) => unmask_io::PlanTarget::Steps(k),
            (_, e) => unmask_io::PlanTarget::Epsilon(e.unwrap_or_default()),
        };
        let mut doc = serde_json::to_value(unmask_io::PlanReport::new(
            curve.len(),
            unit,
            target,
            &optimum,
        ))?;
        notes.add_to(&mut doc, unit);
        report::print_json(out, &doc)?;
        return Ok(());
    }
    writeln!(out, "{}", report::describe(&loaded, unit))?;
    write!(out, "{}", notes.text(curve.len(), unit))?;
    match args.epsilon {
        Some(e) => writeln!(
            out,
            "fewest steps with expected KL ≤ {} {unit}: {}",
            num(e),
            schedule.steps()
        )?,
        None => writeln!(out, "optimal schedule with {} steps", schedule.steps())?,
    }
    writeln!(
        out,
        "expected KL: {} {unit}",
        num(unit.from_nats(optimum.expected_kl))
    )?;
    writeln!(out, "{}", report::MEANING)?;
    writeln!(out, "counts: {}", report::counts(schedule))?;
    if args.format == PlanFormat::Llada {
        writeln!(out, "# num_transfer_tokens, one entry per forward pass:")?;
        let list: Vec<String> = schedule.counts().iter().map(|c| c.to_string()).collect();
        writeln!(out, "[{}]", list.join(", "))?;
    }
    Ok(())
}

/// `--blocks`: the optimal allocation of the steps over the blocks and inside each.
fn blockwise(
    args: &Args,
    env: &Env,
    unit: Unit,
    blocks: &unmask_core::BlockCurves,
    source: &str,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    // The greedy allocation reaches K steps, or up to n for a target error.
    let reach = args.steps.unwrap_or(blocks.len());
    env.check(
        format!(
            "the optimal allocation over {} blocks, n = {}",
            blocks.blocks(),
            blocks.len()
        ),
        unmask_core::blockwise_frontier_cost(blocks, &[reach]),
    )?;
    let (best, target) = match (args.steps, args.epsilon) {
        (Some(k), _) => (
            unmask_core::optimal_blockwise(blocks, k)?,
            unmask_io::PlanTarget::Steps(k),
        ),
        (None, Some(e)) => (
            unmask_core::min_steps_blockwise(blocks, unit.to_nats(e))?,
            unmask_io::PlanTarget::Epsilon(e),
        ),
        (None, None) => anyhow::bail!("give --steps K or --epsilon E"),
    };
    if let Some(path) = &args.plot {
        let flat = best.flat();
        let series = plot::block_series(blocks, &plot::block_grid(blocks))?;
        let marks = plot::Marks {
            budget: Some(flat.steps()),
            measured: Vec::new(),
            block: blocks.uniform_block_len(),
        };
        let title = format!(
            "optimal allocation, {} steps over {} blocks: E-KL {} {unit}",
            flat.steps(),
            blocks.blocks(),
            num(unit.from_nats(best.expected_kl))
        );
        plot::write(
            path,
            &blocks.concatenated(),
            unit,
            Some(&flat),
            &series,
            &title,
            &marks,
        )?;
    }
    let mut doc =
        unmask_io::BlockwiseReport::new(blocks.len(), unit, &best.schedules, &best.per_block);
    doc.target = Some(target);
    if args.output.json {
        report::print_json(out, &serde_json::to_value(doc)?)?;
        return Ok(());
    }
    write!(out, "{}", report::blockwise_text(source, blocks, &doc))?;
    if args.format == PlanFormat::Llada {
        let list: Vec<String> = doc.schedule.iter().map(|c| c.to_string()).collect();
        let per: Vec<String> = doc.blocks.iter().map(|b| b.steps.to_string()).collect();
        writeln!(
            out,
            "# num_transfer_tokens, one entry per forward pass, block after block:"
        )?;
        writeln!(out, "[{}]", list.join(", "))?;
        writeln!(out, "# steps per block: [{}]", per.join(", "))?;
    }
    Ok(())
}
