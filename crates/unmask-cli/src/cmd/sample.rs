//! `unmask sample`: generate sequences with any schedule or adaptive rule.

use anyhow::Context;
use serde_json::json;
use unmask_core::{Unit, sample_batch};

use crate::args::{Output, Sampling};
use crate::env::Env;
use crate::report::{self, num};

/// Generate sequences.
#[derive(Debug, clap::Args)]
// Without --model the distribution is the model, so --dist is required.
#[command(mut_arg("dist", |a| a.required_unless_present("model")))]
pub struct Args {
    #[command(flatten)]
    pub sampling: Sampling,
    /// Generate with a trained network (checkpoint directory) instead of the exact oracle;
    /// with --dist too, each sample's ln μ under the exact law is reported.
    #[arg(long, value_name = "DIR")]
    pub model: Option<std::path::PathBuf>,
    /// With --model: a fixed prompt (text for a text model, else comma-separated ids) that
    /// every sample continues.
    #[arg(
        long,
        value_name = "TEXT",
        requires = "model",
        allow_hyphen_values = true
    )]
    pub prompt: Option<String>,
    /// With --model and no --dist: sequence length (default: the training length).
    #[arg(long, value_name = "N", requires = "model")]
    pub len: Option<usize>,
    /// With --model: the model's curve, for curve-based presets (optimal, sqrt…).
    #[arg(long, value_name = "FILE", requires = "model")]
    pub curve: Option<std::path::PathBuf>,
    /// Project a noisy --curve onto the valid set.
    #[arg(long, requires = "curve")]
    pub repair: bool,
    /// Decode block by block, LLaDA's semi-autoregressive way: blocks of L positions (after
    /// the prompt) left to right; schedules must split at the block boundaries.
    #[arg(long, value_name = "L")]
    pub block: Option<usize>,
    /// With --model: sequences per batched forward pass (they advance in lockstep).
    #[arg(long, value_name = "B", default_value_t = 64)]
    pub batch: usize,
    #[command(flatten)]
    pub output: Output,
}

pub fn run(args: Args, env: &Env, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    if let Some(dir) = &args.model {
        return run_model(&args, env, dir, unit, out);
    }
    let p = args.sampling.prepare(unit, env)?;
    let samples = match args.block {
        None => sample_batch(
            &p.family,
            &p.rule,
            args.sampling.samples,
            args.sampling.seed,
            0,
        )?,
        Some(block) => unmask_core::sample_lockstep_blocks(
            &p.family,
            &p.rule,
            block,
            args.sampling.samples,
            args.sampling.seed,
            0,
            64,
        )
        .context("--block")?,
    };
    let nfe_mean = samples.iter().map(|s| s.nfe() as f64).sum::<f64>() / samples.len() as f64;
    if args.output.json {
        let mut doc = report::header(unmask_core::Oracle::len(&p.family), unit);
        doc.insert("dist".into(), json!(p.dist.to_string()));
        doc.insert("seed".into(), json!(args.sampling.seed));
        doc.insert("nfe_mean".into(), json!(nfe_mean));
        doc.insert(
            "samples".into(),
            json!(
                samples
                    .iter()
                    .map(|s| json!({
                        "tokens": s.tokens,
                        "nfe": s.nfe(),
                        "counts": s.counts,
                        "ln_prob": report::finite(p.family.ln_pmf(&s.tokens)),
                    }))
                    .collect::<Vec<_>>()
            ),
        );
        report::print_json(out, &serde_json::Value::Object(doc))?;
        return Ok(());
    }
    writeln!(
        out,
        "{} samples of {} (seed {}), mean NFE {}",
        samples.len(),
        p.dist,
        args.sampling.seed,
        num(nfe_mean)
    )?;
    for s in &samples {
        let tokens: Vec<String> = s.tokens.iter().map(|t| t.to_string()).collect();
        writeln!(out, "{}  (nfe {})", tokens.join(" "), s.nfe())?;
    }
    Ok(())
}

/// `sample --model`: lockstep generation with a network, optionally continuing a prompt.
fn run_model(
    args: &Args,
    env: &Env,
    dir: &std::path::Path,
    unit: Unit,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    use anyhow::{Context, bail};
    let s = &args.sampling;
    let (model, vocab) = crate::io::load_model(dir, env)?;
    let family = match &s.dist {
        Some(text) => {
            let dist =
                unmask_core::DistSpec::parse(text).with_context(|| format!("--dist {text:?}"))?;
            Some(crate::io::build_family(&dist, env).with_context(|| format!("--dist {text:?}"))?)
        }
        None => None,
    };
    let n = match (&family, args.len) {
        (Some(f), _) => unmask_core::Oracle::len(f),
        (None, Some(n)) => n,
        (None, None) => crate::io::trained_length(dir).with_context(|| {
            format!(
                "--model {}: give --len (no train_state.json records a length)",
                dir.display()
            )
        })?,
    };
    let oracle = match &family {
        Some(f) => crate::io::oracle_for(dir, model, &vocab, f, args.batch)?,
        None => unmask_nn::NeuralOracle::new(model, n, args.batch),
    };
    let q = unmask_core::Oracle::vocab_size(&oracle);
    let prefix: Vec<u32> = match &args.prompt {
        None => Vec::new(),
        Some(text) => vocab.encode(text, q).context("--prompt")?,
    };
    if prefix.len() >= n {
        bail!(
            "--prompt has {} tokens; the sequence has only {n}",
            prefix.len()
        );
    }
    let answer = unmask_core::Prefixed::new(&oracle, prefix.clone());
    let m = n - prefix.len();
    let curve = crate::io::read_model_curve(
        args.curve.as_deref(),
        args.repair,
        m,
        "tokens are generated",
        env,
    )?;
    let rule = model_rule(s, m, curve.as_ref(), unit)?;
    let (calls, _) = rule.worst_case_calls(m);
    env.check_model_passes(
        &oracle,
        s.samples as f64 * calls as f64,
        format!("{} samples of {calls} forward passes", s.samples),
    )?;
    let counted = unmask_core::Counting::new(&answer);
    let samples = unmask_core::sample_lockstep_blocks(
        &counted,
        &rule,
        args.block.unwrap_or(m),
        s.samples,
        s.seed,
        0,
        args.batch,
    )
    .context("--block")?;
    let run = ModelRun {
        dir,
        n,
        m,
        prefix: &prefix,
        family: family.as_ref(),
        vocab: &vocab,
        batches: counted.batches(),
    };
    render_model(args, &run, &samples, unit, out)
}

/// The rule of `sample --model` for `m` generated tokens: `--rule` with `--schedule` built on
/// the answer's length (curve-based presets from the model's `--curve`).
fn model_rule(
    s: &crate::args::Sampling,
    m: usize,
    curve: Option<&unmask_core::InformationCurve>,
    unit: Unit,
) -> anyhow::Result<unmask_core::Rule> {
    use anyhow::Context;
    let schedule = match &s.schedule {
        Some(spec) => Some(
            unmask_core::ScheduleSpec::parse(spec, unit)
                .with_context(|| format!("--schedule {spec:?}"))?
                .build(m, curve)
                .with_context(|| format!("--schedule {spec:?}"))?
                .schedule,
        ),
        None => None,
    };
    unmask_core::Rule::parse(s.rule.as_deref(), schedule, unit)
        .with_context(|| format!("--rule {:?}", s.rule.as_deref().unwrap_or("random")))
}

/// What a model's sampling run reports beside its samples.
struct ModelRun<'a> {
    dir: &'a std::path::Path,
    /// The whole sequence's length.
    n: usize,
    /// Generated tokens per sample.
    m: usize,
    prefix: &'a [u32],
    /// The exact law, when --dist names one (each sample's ln μ).
    family: Option<&'a unmask_core::Family>,
    vocab: &'a unmask_nn::Vocab,
    /// Batched forward passes run.
    batches: u64,
}

/// The samples of `sample --model`: JSON or one line each.
fn render_model(
    args: &Args,
    r: &ModelRun<'_>,
    samples: &[unmask_core::Sample],
    unit: Unit,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let s = &args.sampling;
    let (dir, n, m, prefix, family, vocab) = (r.dir, r.n, r.m, r.prefix, r.family, r.vocab);
    let full = |tokens: &[u32]| -> Vec<u32> { prefix.iter().chain(tokens).copied().collect() };
    let show = |tokens: &[u32]| vocab.decode(tokens);
    let nfe_mean = samples.iter().map(|x| x.nfe() as f64).sum::<f64>() / samples.len() as f64;
    if args.output.json {
        let mut doc = report::header(n, unit);
        doc.insert("model".into(), json!(dir));
        doc.insert("seed".into(), json!(s.seed));
        doc.insert("prompt_tokens".into(), json!(prefix.len()));
        doc.insert("nfe_mean".into(), json!(nfe_mean));
        doc.insert("batched_forward_passes".into(), json!(r.batches));
        doc.insert(
            "samples".into(),
            json!(
                samples
                    .iter()
                    .map(|x| {
                        let tokens = full(&x.tokens);
                        json!({
                            "tokens": tokens,
                            "text": vocab.is_text().then(|| show(&tokens)),
                            "nfe": x.nfe(),
                            "counts": x.counts,
                            "ln_prob": family.and_then(|f| report::finite(f.ln_pmf(&tokens))),
                        })
                    })
                    .collect::<Vec<_>>()
            ),
        );
        return report::print_json(out, &serde_json::Value::Object(doc));
    }
    writeln!(
        out,
        "{} samples from model {} (seed {}), {} generated tokens each, mean NFE {} ({} batched forward passes)",
        samples.len(),
        dir.display(),
        s.seed,
        m,
        num(nfe_mean),
        r.batches
    )?;
    for x in samples {
        writeln!(out, "{}", show(&full(&x.tokens)).replace('\n', "⏎"))?;
    }
    Ok(())
}
