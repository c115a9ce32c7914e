//! `unmask estimate`: the curve from draws and oracle calls only, as with a trained model;
//! shards written by separate runs merge with `unmask curve merge`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::json;
use unmask_core::{Oracle, Unit, estimate_profile};

use crate::args::{Output, parse_steps};
use crate::io;
use crate::report::{self};

/// Estimate a curve from samples and oracle calls.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The distribution (its sampler is the data set; its exact oracle plays the model unless
    /// --model is given).
    #[arg(long, value_name = "SPEC")]
    pub dist: String,
    /// A trained network (checkpoint directory) to ask instead of the exact oracle: the file's
    /// main curve is then the cross-entropy one (what the model's loss measures, and what
    /// `verify`/`score` predictions need), the predicted-entropy one beside it.
    #[arg(long, value_name = "DIR")]
    pub model: Option<std::path::PathBuf>,
    /// Sequences per forward pass of --model.
    #[arg(long, value_name = "B", default_value_t = 64, value_parser = parse_steps)]
    pub batch: usize,
    /// Draws (sequences) to average over.
    #[arg(long, value_name = "M", default_value_t = 1000, value_parser = parse_steps)]
    pub samples: usize,
    /// Grid size: P values of t (revealed tokens) evenly spaced in 1..n−1, plus t = 0.
    #[arg(long, value_name = "P", default_value_t = 16, value_parser = parse_steps)]
    pub points: usize,
    /// Seed: draw i uses the ChaCha8 stream (seed, first + i).
    #[arg(long, value_name = "SEED", default_value_t = 0)]
    pub seed: u64,
    /// Index of the first draw, to split one estimate into shards that merge exactly.
    #[arg(long, value_name = "I", default_value_t = 0)]
    pub first: u64,
    /// Write the estimate (a sparse curve file with standard errors and mergeable sums).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: Output,
}

pub fn run(args: Args, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    let dist = unmask_core::DistSpec::parse(&args.dist)
        .with_context(|| format!("--dist {:?}", args.dist))?;
    let budget = crate::args::budget();
    budget
        .check(format!("building {}", args.dist), dist.build_cost())
        .map_err(crate::args::over_budget)
        .with_context(|| format!("--dist {:?}", args.dist))?;
    let family = io::build_family(&dist).with_context(|| format!("--dist {:?}", args.dist))?;
    let n = family.len();
    if n < 2 {
        bail!("--dist: estimation needs n ≥ 2");
    }
    let ts = unmask_core::estimation_grid(n, args.points);
    // Each draw makes one oracle call per grid point, over the masked positions.
    let calls = args.samples as f64 * ts.len() as f64;
    budget
        .check(
            format!(
                "estimating {} ({} draws × {} grid points)",
                args.dist,
                args.samples,
                ts.len()
            ),
            dist.call_cost(n).repeated(calls),
        )
        .map_err(crate::args::over_budget)?;
    let model = match &args.model {
        Some(dir) => Some(load_for(dir, &family, args.batch)?),
        None => None,
    };
    if let Some(oracle) = &model {
        // A forward pass costs about 2·parameters·n multiply-adds, run at well over 10⁹ per
        // second: priced at one operation per 16.
        let params = oracle.model().config().parameter_count() as f64;
        budget
            .check(
                format!("asking the model {calls} times"),
                unmask_core::budget::Cost::work(calls * 2.0 * params * n as f64 / 16.0),
            )
            .map_err(crate::args::over_budget)?;
    }
    let bar = crate::progress::Progress::new(args.samples as u64, "estimating the curve");
    let runs = unmask_core::Runs::new(args.samples, args.seed)
        .first(args.first)
        .observe(&bar);
    let (estimate, source, main) = match (&model, &args.model) {
        (Some(oracle), Some(dir)) => (
            estimate_profile(oracle, |r| family.sample(r), &ts, runs)?,
            format!("model {} on {dist}", dir.display()),
            unmask_core::Loss::CrossEntropy,
        ),
        _ => (
            estimate_profile(&family, |r| family.sample(r), &ts, runs)?,
            dist.to_string(),
            unmask_core::Loss::Entropy,
        ),
    };
    drop(bar);
    let parts = vec![json!({"seed": args.seed, "first": args.first, "samples": args.samples})];
    let doc = unmask_io::estimate_document(&estimate, unit, &source, parts, main);
    if let Some(path) = &args.out {
        io::write_json(path, &doc)?;
    }
    if args.output.json {
        report::print_json(out, &doc)?;
    } else {
        write!(out, "{}", report::estimate_text(&estimate, unit, &source))?;
        if let Some(path) = &args.out {
            writeln!(out, "wrote {}", path.display())?;
        }
    }
    Ok(())
}

/// The network of `dir` as the oracle for sequences of `family`: its vocabulary must be the
/// family's symbols (and, when the checkpoint records it, its training length the family's n).
fn load_for(
    dir: &std::path::Path,
    family: &unmask_core::Family,
    batch: usize,
) -> anyhow::Result<unmask_nn::NeuralOracle> {
    let (model, vocab) = io::load_model(dir)?;
    let (n, q) = (family.len(), family.vocab_size());
    let oracle = unmask_nn::NeuralOracle::new(model, n, batch);
    if let Some(trained) = trained_length(dir)
        && trained != n
    {
        bail!(
            "--model {}: it was trained on sequences of length {trained}, --dist has n = {n}",
            dir.display()
        );
    }
    match vocab {
        unmask_nn::Vocab::Symbols(s) if s == q => {}
        unmask_nn::Vocab::Ids if oracle.vocab_size() == q => {}
        other => bail!(
            "--model {}: its vocabulary ({}) is not --dist's {q} symbols",
            dir.display(),
            match other {
                unmask_nn::Vocab::Chars(c) => format!("{} characters", c.len()),
                unmask_nn::Vocab::Symbols(s) => format!("{s} symbols"),
                unmask_nn::Vocab::Ids => format!("{} token ids", oracle.vocab_size()),
            }
        ),
    }
    Ok(oracle)
}

/// The sequence length a checkpoint written by `unmask train` was trained on, if it says.
fn trained_length(dir: &std::path::Path) -> Option<usize> {
    let text = std::fs::read_to_string(dir.join("train_state.json")).ok()?;
    let state: serde_json::Value = serde_json::from_str(&text).ok()?;
    let run = state.get("run")?;
    if let Some(spec) = run.get("dist").and_then(serde_json::Value::as_str) {
        let family = unmask_core::DistSpec::parse(spec).ok()?.build(None).ok()?;
        return Some(family.len());
    }
    run.get("len")?.as_u64().map(|n| n as usize)
}
