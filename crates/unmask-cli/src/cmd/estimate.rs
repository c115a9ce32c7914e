//! `unmask estimate`: the curve from draws and oracle calls only, as with a trained model;
//! shards written by separate runs merge with `unmask curve merge`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::json;
use unmask_core::{Oracle, ProfileEstimate, Unit, estimate_block_profiles};

use crate::args::{Output, parse_steps};
use crate::env::Env;
use crate::io;
use crate::report::{self};

/// Estimate a curve from samples and oracle calls.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The distribution (its sampler is the data set; its exact oracle plays the model unless
    /// --model is given).
    #[arg(
        long,
        value_name = "SPEC",
        required_unless_present = "text",
        conflicts_with = "text"
    )]
    pub dist: Option<String>,
    /// With --model: estimate on uniformly placed windows of this text (all of it held out;
    /// the window is the model's training length).
    #[arg(long, value_name = "FILE", requires = "model")]
    pub text: Option<PathBuf>,
    /// A trained network (checkpoint directory) to ask instead of the exact oracle: the file's
    /// main curve is then the cross-entropy one (what the model's loss measures, and what
    /// `verify`/`score` predictions need), the predicted-entropy one beside it.
    #[arg(long, value_name = "DIR")]
    pub model: Option<std::path::PathBuf>,
    /// Sequences per forward pass of --model.
    #[arg(long, value_name = "B", default_value_t = 64, value_parser = parse_steps)]
    pub batch: usize,
    /// Draws (sequences) to average over (at least 2: the standard errors need them).
    #[arg(long, value_name = "M", default_value_t = 1000, value_parser = parse_samples)]
    pub samples: usize,
    /// Grid size: P values of t (revealed tokens) evenly spaced in 1..n−1, plus t = 0.
    #[arg(long, value_name = "P", default_value_t = 16, value_parser = parse_steps)]
    pub points: usize,
    /// Seed: draw i uses the ChaCha8 stream (seed, first + i).
    #[arg(long, value_name = "SEED", default_value_t = 0)]
    pub seed: u64,
    /// Estimate the conditional curve of each block of L positions instead (block-wise
    /// decoding: earlier blocks revealed, later ones masked); the file is a block-curve file
    /// (`plan/eval/compare --blocks`) with each block's estimate and standard errors beside.
    #[arg(long, value_name = "L")]
    pub block: Option<usize>,
    /// Index of the first draw, to split one estimate into shards that merge exactly.
    #[arg(long, value_name = "I", default_value_t = 0)]
    pub first: u64,
    /// Write the estimate (a sparse curve file with standard errors and mergeable sums).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: Output,
}

pub fn run(args: Args, env: &Env, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    if let (Some(text), Some(dir)) = (&args.text, &args.model) {
        return run_text(&args, env, text, dir, unit, out);
    }
    let spec = args.dist.clone().unwrap_or_default();
    let dist = unmask_core::DistSpec::parse(&spec).with_context(|| format!("--dist {spec:?}"))?;
    let budget = env.budget();
    budget
        .check(format!("building {spec}"), dist.build_cost())
        .map_err(crate::env::over_budget)
        .with_context(|| format!("--dist {spec:?}"))?;
    let family = io::build_family(&dist, env).with_context(|| format!("--dist {spec:?}"))?;
    let n = family.len();
    if n < 2 {
        bail!("--dist: estimation needs n ≥ 2");
    }
    let ts = grid(&args, n)?;
    // Each draw makes one oracle call per grid point, over the masked positions.
    let calls = args.samples as f64 * ts.len() as f64;
    budget
        .check(
            format!(
                "estimating {spec} ({} draws × {} grid points)",
                args.samples,
                ts.len()
            ),
            dist.call_cost(n).repeated(calls),
        )
        .map_err(crate::env::over_budget)?;
    let model = match &args.model {
        Some(dir) => {
            let (model, vocab) = io::load_model(dir, env)?;
            Some(io::oracle_for(dir, model, &vocab, &family, args.batch)?)
        }
        None => None,
    };
    if let Some(oracle) = &model {
        env.check_model_passes(oracle, calls, format!("asking the model {calls} times"))?;
    }
    let bar = crate::progress::Progress::new(args.samples as u64, "estimating the curve");
    let runs = unmask_core::Runs::new(args.samples, args.seed)
        .first(args.first)
        .observe(&bar);
    let block = args.block.unwrap_or(n);
    let (estimates, source, main) = match (&model, &args.model) {
        (Some(oracle), Some(dir)) => (
            estimate_block_profiles(oracle, |r| family.sample(r), block, &ts, runs)?,
            format!("model {} on {dist}", dir.display()),
            unmask_core::Loss::CrossEntropy,
        ),
        _ => (
            estimate_block_profiles(&family, |r| family.sample(r), block, &ts, runs)?,
            dist.to_string(),
            unmask_core::Loss::Entropy,
        ),
    };
    drop(bar);
    write_estimates(&args, &estimates, unit, &source, main, out)
}

/// The estimation grid: over the whole sequence, or inside one block with `--block`.
fn grid(args: &Args, n: usize) -> anyhow::Result<Vec<usize>> {
    match args.block {
        None => Ok(unmask_core::estimation_grid(n, args.points)),
        Some(l) if l >= 2 && n.is_multiple_of(l) => {
            Ok(unmask_core::estimation_grid(l, args.points))
        }
        Some(l) => bail!("--block {l} must divide n = {n} and be at least 2"),
    }
}

/// One estimate as an estimate file, or with `--block` a block-curve file whose curves are
/// the estimates' (interpolated and repaired) and whose `estimates` are the blocks' estimate
/// documents.
fn write_estimates(
    args: &Args,
    estimates: &[ProfileEstimate],
    unit: Unit,
    source: &str,
    main: unmask_core::Loss,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    if args.block.is_none() {
        return write_estimate(args, &estimates[0], unit, source, main, out);
    }
    let parts = [json!({"seed": args.seed, "first": args.first, "samples": args.samples})];
    let (doc, blocks) = unmask_io::block_estimate_document(estimates, unit, source, &parts, main)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(path) = &args.out {
        io::write_json(path, &doc)?;
    }
    if args.output.json {
        return report::print_json(out, &doc);
    }
    writeln!(
        out,
        "estimated block curves of {source} ({} blocks of {}, {} draws; {unit})",
        blocks.blocks(),
        blocks.curves()[0].len(),
        args.samples
    )?;
    let mut t = report::Table::new(&["block", "TC", "Z_L", "± se"]);
    for (b, (c, e)) in blocks.curves().iter().zip(estimates).enumerate() {
        let last = e.z_points(main).last().map_or(0.0, |p| p.2);
        t.row(vec![
            (b + 1).to_string(),
            report::num(unit.from_nats(c.tc())),
            report::num(unit.from_nats(c.z()[c.len() - 1])),
            report::num(unit.from_nats(last)),
        ]);
    }
    write!(out, "{}", t.render())?;
    if let Some(path) = &args.out {
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}

/// Writes and prints an estimate (both paths of `run`).
fn write_estimate(
    args: &Args,
    estimate: &unmask_core::ProfileEstimate,
    unit: Unit,
    source: &str,
    main: unmask_core::Loss,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let parts = vec![json!({"seed": args.seed, "first": args.first, "samples": args.samples})];
    let doc = unmask_io::estimate_document(estimate, unit, source, parts, main);
    if let Some(path) = &args.out {
        io::write_json(path, &doc)?;
    }
    if args.output.json {
        report::print_json(out, &doc)?;
    } else {
        write!(out, "{}", report::estimate_text(estimate, unit, source))?;
        if let Some(path) = &args.out {
            writeln!(out, "wrote {}", path.display())?;
        }
    }
    Ok(())
}

/// `estimate --model DIR --text FILE`: the model's curve on windows of a held-out text.
fn run_text(
    args: &Args,
    env: &Env,
    text: &std::path::Path,
    dir: &std::path::Path,
    unit: Unit,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let (model, vocab) = io::load_model(dir, env)?;
    let n = io::trained_length(dir).with_context(|| {
        format!(
            "--model {}: no train_state.json gives the window length",
            dir.display()
        )
    })?;
    let body =
        std::fs::read_to_string(text).with_context(|| format!("--text {}", text.display()))?;
    let name = text.display().to_string();
    let corpus = unmask_nn::data::Corpus::held_out_text(&body, n, &vocab, &name)?;
    let oracle = unmask_nn::NeuralOracle::new(model, n, args.batch);
    let ts = grid(args, n)?;
    let calls = args.samples as f64 * ts.len() as f64;
    env.check_model_passes(&oracle, calls, format!("asking the model {calls} times"))?;
    let bar = crate::progress::Progress::new(args.samples as u64, "estimating the curve");
    let runs = unmask_core::Runs::new(args.samples, args.seed)
        .first(args.first)
        .observe(&bar);
    let block = args.block.unwrap_or(n);
    let estimates = estimate_block_profiles(&oracle, |r| corpus.held_out(r), block, &ts, runs)?;
    drop(bar);
    let source = format!("model {} on {name}", dir.display());
    write_estimates(
        args,
        &estimates,
        unit,
        &source,
        unmask_core::Loss::CrossEntropy,
        out,
    )
}

/// Parses a draw count ≥ 2 (one draw has no standard error).
fn parse_samples(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(v) if v >= 2 => Ok(v),
        _ => Err(format!(
            "{s:?} is not a draw count ≥ 2 (a standard error needs at least two draws)"
        )),
    }
}
