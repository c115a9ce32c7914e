//! `unmask score --model DIR (--dist SPEC | --text FILE) --schedule S`: what a schedule costs
//! on held-out data — the negative log-likelihood per token under the K-step random-order
//! sampler, beside Theorem 16's prediction from the model's curve (load, one core call, render).

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::json;
use unmask_core::{Runs, Unit};
use unmask_nn::data::Corpus;

use crate::args::{Output, parse_steps};
use crate::env::Env;
use crate::report::{self, num};

/// Held-out NLL per token of a schedule, measured and predicted.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The network (checkpoint directory).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// Score on held-out exact draws of this distribution.
    #[arg(
        long,
        value_name = "SPEC",
        conflicts_with = "text",
        required_unless_present = "text"
    )]
    pub dist: Option<String>,
    /// Score on evenly spaced windows of this text (the model's window length).
    #[arg(long, value_name = "FILE")]
    pub text: Option<PathBuf>,
    /// The schedule (counts or a preset; curve-based presets use --curve).
    #[arg(long, short, value_name = "SPEC")]
    pub schedule: String,
    /// The model's cross-entropy curve (`unmask estimate --model … --out FILE`): plans
    /// curve-based presets and gives the prediction.
    #[arg(long, value_name = "FILE")]
    pub curve: Option<PathBuf>,
    /// Project a noisy --curve onto the valid set.
    #[arg(long, requires = "curve")]
    pub repair: bool,
    /// Held-out sequences.
    #[arg(long, value_name = "M", default_value_t = 256, value_parser = parse_steps)]
    pub samples: usize,
    /// Random orders per sequence.
    #[arg(long, value_name = "R", default_value_t = 4, value_parser = parse_steps)]
    pub orders: usize,
    /// Seed of the held-out draws and of the orders.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub output: Output,
}

pub fn run(args: Args, env: &Env, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    let (model, vocab) = crate::io::load_model(&args.model, env)?;
    let (corpus, source) = match (&args.dist, &args.text) {
        (Some(spec), _) => {
            let dist =
                unmask_core::DistSpec::parse(spec).with_context(|| format!("--dist {spec:?}"))?;
            let family =
                crate::io::build_family(&dist, env).with_context(|| format!("--dist {spec:?}"))?;
            (Corpus::Dist(family), dist.to_string())
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--text {}", path.display()))?;
            let n = crate::io::trained_length(&args.model).with_context(|| {
                format!(
                    "--model {}: no train_state.json to give the window length",
                    args.model.display()
                )
            })?;
            let name = path.display().to_string();
            let corpus = Corpus::held_out_text(&text, n, &vocab, &name)?;
            (corpus, name)
        }
        (None, None) => bail!("give --dist or --text"),
    };
    let n = corpus.len();
    let oracle = match &corpus {
        Corpus::Dist(family) => crate::io::oracle_for(&args.model, model, &vocab, family, 64)?,
        Corpus::Text { .. } => unmask_nn::NeuralOracle::new(model, n, 64),
    };
    let curve = crate::io::read_model_curve(
        args.curve.as_deref(),
        args.repair,
        n,
        "the scored sequences have n",
        env,
    )?;
    let schedule = unmask_core::ScheduleSpec::parse(&args.schedule, unit)
        .with_context(|| format!("--schedule {:?}", args.schedule))?
        .build(n, curve.as_ref())
        .with_context(|| format!("--schedule {:?}", args.schedule))?
        .schedule;
    env.check_model_passes(
        &oracle,
        (args.samples * args.orders * schedule.steps()) as f64,
        format!(
            "{} replays of {} steps through the model",
            args.samples * args.orders,
            schedule.steps()
        ),
    )?;
    let data = corpus.validation(args.seed, args.samples);
    let m = data.len() / n;
    if m < 2 {
        bail!("only {m} held-out sequence(s); a standard error needs 2");
    }
    let bar = crate::progress::Progress::new((m * args.orders) as u64, "scoring");
    let e = unmask_core::score_schedule(
        &oracle,
        &data,
        &schedule,
        args.orders,
        64,
        Runs::new(m * args.orders, args.seed).observe(&bar),
    )?;
    drop(bar);
    let baseline = e.first_ce.mean();
    let predicted = curve.as_ref().map(|c| e.predicted(c, &schedule));
    let u = |x: f64| unit.from_nats(x);
    let nll = &e.nll_per_token;
    if args.output.json {
        let doc = json!({
            "schema_version": unmask_io::SCHEMA_VERSION,
            "unit": unit.name(),
            "n": n,
            "source": source,
            "model": args.model,
            "steps": schedule.steps(),
            "schedule": schedule.counts(),
            "samples": m,
            "orders": e.orders,
            "seed": args.seed,
            "nll_per_token": u(nll.mean()),
            "stderr": u(nll.stderr()),
            "ci95": [u(nll.ci95().0), u(nll.ci95().1)],
            "baseline": u(baseline),
            "predicted_nll_per_token": predicted.map(u),
        });
        return report::print_json(out, &doc);
    }
    writeln!(
        out,
        "score of {} steps on {m} held-out sequences of {source} × {} orders, model {} ({unit} per token)",
        schedule.steps(),
        e.orders,
        args.model.display()
    )?;
    writeln!(
        out,
        "NLL per token: {} ± {}  (95% CI [{}, {}])",
        num(u(nll.mean())),
        num(u(nll.stderr())),
        num(u(nll.ci95().0)),
        num(u(nll.ci95().1))
    )?;
    if let Some(p) = predicted {
        writeln!(
            out,
            "predicted from the model's curve: {} (CE(0) {} − Theorem 16's gain)",
            num(u(p)),
            num(u(baseline))
        )?;
    }
    Ok(())
}
