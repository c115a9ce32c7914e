//! `unmask train`: fit a LLaDA-architecture network to a distribution's exact draws or to a
//! text, with checkpoints in LLaDA's format (load, the library's training steps, render).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::json;
use unmask_nn::data::Corpus;
use unmask_nn::{Config, RunData, RunInfo, TrainConfig, Trainer};

use crate::env::Env;
use crate::report::{self};

/// Train a masked diffusion network (LLaDA's architecture and objective).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Train on fresh exact draws of this distribution (sequence length = its n).
    #[arg(long, value_name = "SPEC", conflicts_with_all = ["text", "resume"], required_unless_present_any = ["text", "resume"])]
    pub dist: Option<String>,
    /// Train on random windows of this UTF-8 text (characters are the tokens).
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    pub text: Option<PathBuf>,
    /// Validation text (default: the last tenth of --text, held out).
    #[arg(long, value_name = "FILE", requires = "text")]
    pub valid: Option<PathBuf>,
    /// Window length for --text [default: 64].
    #[arg(long, value_name = "N", value_parser = crate::args::parse_positive, conflicts_with = "resume")]
    pub len: Option<usize>,
    /// Checkpoint folder: a new path, an empty folder, or a checkpoint of an earlier run (which
    /// is replaced); any other folder or file is refused before anything is written. Each
    /// checkpoint (config.json, model.safetensors, vocab.json, optimizer state) replaces the
    /// previous one atomically, and a lock keeps a second run from writing to it.
    #[arg(long, value_name = "DIR", required_unless_present = "resume")]
    pub out: Option<PathBuf>,
    /// Continue the run saved in DIR (its data, network and settings) up to its step count, or
    /// to --steps; --checkpoint-every may change, and --out writes elsewhere.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Network size: tiny (d 64, 2 layers, 4 heads), small (d 128, 4 layers, 4 heads), with
    /// overrides: `tiny,d=96,layers=3,heads=4,kv=2,mlp=256` [default: tiny].
    #[arg(long, value_name = "SIZE", conflicts_with = "resume")]
    pub size: Option<String>,
    /// Optimisation steps [default: 1000].
    #[arg(long, value_name = "S", conflicts_with = "tokens", value_parser = crate::args::parse_positive)]
    pub steps: Option<usize>,
    /// Train on about this many tokens instead (steps = tokens / (batch · n)).
    #[arg(long, value_name = "T", value_parser = parse_tokens, allow_negative_numbers = true)]
    pub tokens: Option<f64>,
    /// Sequences per step [default: 32].
    #[arg(long, value_name = "B", value_parser = crate::args::parse_positive)]
    pub batch: Option<usize>,
    /// Peak learning rate, in (0, 1] (AdamW; linear warm-up, cosine decay to a tenth)
    /// [default: 0.003].
    #[arg(long, value_name = "LR", value_parser = parse_lr, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Warm-up steps [default: 50].
    #[arg(long, value_name = "S")]
    pub warmup: Option<usize>,
    /// Global gradient-norm clip, a finite number > 0 [default: 1].
    #[arg(long, value_name = "C", value_parser = parse_clip, allow_negative_numbers = true)]
    pub clip: Option<f64>,
    /// Decoupled weight decay, in [0, 1) [default: 0].
    #[arg(long, value_name = "W", value_parser = parse_decay, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// Seed of initialisation, data and masks [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write a checkpoint (and measure the validation loss) every S steps, and at the end
    /// [default: 200, or the resumed run's].
    #[arg(long, value_name = "S", value_parser = crate::args::parse_positive)]
    pub checkpoint_every: Option<usize>,
    /// Machine-readable JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn in_range(s: &str, ok: impl Fn(f64) -> bool, range: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && ok(x) => Ok(x),
        _ => Err(format!("{s:?} is not {range}")),
    }
}

fn parse_lr(s: &str) -> Result<f64, String> {
    in_range(s, |x| x > 0.0 && x <= 1.0, "a learning rate in (0, 1]")
}

fn parse_clip(s: &str) -> Result<f64, String> {
    in_range(s, |x| x > 0.0, "a finite clip norm > 0")
}

fn parse_decay(s: &str) -> Result<f64, String> {
    in_range(s, |x| (0.0..1.0).contains(&x), "a weight decay in [0, 1)")
}

fn parse_tokens(s: &str) -> Result<f64, String> {
    in_range(s, |x| x >= 1.0, "a finite token count ≥ 1")
}

/// The network of `--size` for `vocab` tokens plus the mask.
fn size(spec: &str, vocab: usize) -> anyhow::Result<Config> {
    let mut parts = spec.split(',');
    let mut c = Config::tiny(vocab + 1);
    match parts.next().map(str::trim) {
        Some("tiny") => {}
        Some("small") => {
            c.d_model = 128;
            c.n_layers = 4;
            c.mlp_hidden_size = 384;
        }
        other => bail!("--size: {other:?} is not tiny or small"),
    }
    for part in parts {
        let (k, v) = part
            .split_once('=')
            .with_context(|| format!("--size: {part:?} is not key=value"))?;
        let v: usize = v
            .trim()
            .parse()
            .ok()
            .filter(|&v| v > 0)
            .with_context(|| format!("--size: {k} = {v:?} is not a positive integer"))?;
        match k.trim() {
            "d" => c.d_model = v,
            "layers" => c.n_layers = v,
            "heads" => c.n_heads = v,
            "kv" => c.n_kv_heads = v,
            "mlp" => c.mlp_hidden_size = v,
            other => bail!("--size: unknown key {other:?} (d, layers, heads, kv, mlp)"),
        }
    }
    if c.n_kv_heads > c.n_heads || !spec.contains("kv=") {
        c.n_kv_heads = c.n_heads;
    }
    // The same rules as a checkpoint's config.json.
    Config::from_json(&c.to_json().to_string(), "--size").map_err(anyhow::Error::from)
}

fn read(path: &PathBuf, flag: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{flag} {}", path.display()))
}

/// Defaults of the settings a fresh run takes from flags.
const DEFAULT_STEPS: usize = 1000;
const DEFAULT_BATCH: usize = 32;
const DEFAULT_LR: f64 = 3e-3;
const DEFAULT_WARMUP: usize = 50;
const DEFAULT_CLIP: f64 = 1.0;
const DEFAULT_LEN: usize = 64;
const DEFAULT_CHECKPOINT_EVERY: usize = 200;

/// The data, network and settings of a run: fresh from the flags, or those saved in a
/// checkpoint.
struct Run {
    trainer: Trainer,
    corpus: Corpus,
    /// The run record saved with every checkpoint (`train_state.json`'s `run`).
    record: RunInfo,
    /// Where checkpoints go.
    out: PathBuf,
    /// Train up to this step.
    until: usize,
    checkpoint_every: usize,
}

/// The steps of a fresh run: --steps, or --tokens / (batch · n) rounded up.
fn steps_of(args: &Args, batch: usize, n: usize) -> anyhow::Result<usize> {
    Ok(match (args.steps, args.tokens) {
        (Some(s), _) => s,
        (None, Some(t)) => {
            let steps = (t / (batch as f64 * n as f64)).ceil();
            if steps > 1e12 {
                bail!(
                    "--tokens {t} is {steps:.3e} steps of {batch} × {n} tokens: far beyond any run"
                );
            }
            (steps as usize).max(1)
        }
        (None, None) => DEFAULT_STEPS,
    })
}

/// Refuses a run whose network, batch and length would not fit the budget (before anything
/// is allocated), with the estimate.
fn price(env: &Env, config: &Config, batch: usize, n: usize, steps: usize) -> anyhow::Result<()> {
    env.check_model(
        format!(
            "training {} parameters for {steps} steps on batches of {batch} × {n} tokens",
            config.parameter_count()
        ),
        config.training_cost(batch, n, steps as f64),
    )
}

fn fresh(args: &Args, env: &Env) -> anyhow::Result<Run> {
    let (corpus, record) = if let Some(spec) = &args.dist {
        let dist =
            unmask_core::DistSpec::parse(spec).with_context(|| format!("--dist {spec:?}"))?;
        let family =
            crate::io::build_family(&dist, env).with_context(|| format!("--dist {spec:?}"))?;
        let n = unmask_core::Oracle::len(&family);
        (Corpus::Dist(family), (RunData::Dist(dist.to_string()), n))
    } else {
        let path = args.text.as_ref().expect("clap: --dist or --text");
        let len = args.len.unwrap_or(DEFAULT_LEN);
        let text = read(path, "--text")?;
        let valid = args
            .valid
            .as_ref()
            .map(|p| read(p, "--valid"))
            .transpose()?;
        let names = (
            path.display().to_string(),
            args.valid.as_ref().unwrap_or(path).display().to_string(),
        );
        let corpus = Corpus::text(&text, valid.as_deref(), len, (&names.0, &names.1), None)
            .context("--text")?;
        let data = RunData::Text {
            text: path.display().to_string(),
            valid: args.valid.as_ref().map(|v| v.display().to_string()),
        };
        (corpus, (data, len))
    };
    let vocab = corpus.vocab().len().expect("own vocabularies are known");
    let config = size(args.size.as_deref().unwrap_or("tiny"), vocab)?;
    let n = corpus.len();
    let batch = args.batch.unwrap_or(DEFAULT_BATCH);
    let steps = steps_of(args, batch, n)?;
    price(env, &config, batch, n, steps)?;
    let train = TrainConfig {
        batch,
        lr: args.lr.unwrap_or(DEFAULT_LR),
        warmup: args.warmup.unwrap_or(DEFAULT_WARMUP),
        total_steps: steps,
        weight_decay: args.weight_decay.unwrap_or(0.0),
        clip: args.clip.unwrap_or(DEFAULT_CLIP),
        seed: args.seed.unwrap_or(0),
    };
    let checkpoint_every = args.checkpoint_every.unwrap_or(DEFAULT_CHECKPOINT_EVERY);
    let record = RunInfo {
        data: record.0,
        len: Some(record.1),
        checkpoint_every: Some(checkpoint_every),
    };
    Ok(Run {
        trainer: Trainer::new(config, train)?,
        corpus,
        record,
        out: args.out.clone().expect("clap: --out"),
        until: steps,
        checkpoint_every,
    })
}

/// The optimisation flags given with --resume that differ from the saved run's settings.
fn conflicts(args: &Args, saved: &TrainConfig) -> Vec<String> {
    let mut found = Vec::new();
    let mut differs = |flag: &str, given: Option<String>, saved: String| {
        if let Some(g) = given
            && g != saved
        {
            found.push(format!("{flag} {g} (the run uses {saved})"));
        }
    };
    differs(
        "--batch",
        args.batch.map(|v| v.to_string()),
        saved.batch.to_string(),
    );
    differs("--lr", args.lr.map(|v| v.to_string()), saved.lr.to_string());
    differs(
        "--warmup",
        args.warmup.map(|v| v.to_string()),
        saved.warmup.to_string(),
    );
    differs(
        "--clip",
        args.clip.map(|v| v.to_string()),
        saved.clip.to_string(),
    );
    differs(
        "--weight-decay",
        args.weight_decay.map(|v| v.to_string()),
        saved.weight_decay.to_string(),
    );
    differs(
        "--seed",
        args.seed.map(|v| v.to_string()),
        saved.seed.to_string(),
    );
    if let Some(t) = args.tokens {
        found.push(format!(
            "--tokens {t} (give --steps to extend a resumed run)"
        ));
    }
    found
}

fn resume(args: &Args, env: &Env, dir: &std::path::Path) -> anyhow::Result<Run> {
    let (trainer, state, saved_vocab) = Trainer::resume(dir, env.budget())
        .with_context(|| format!("--resume {}", dir.display()))?;
    let settings = trainer.settings().clone();
    let bad = conflicts(args, &settings);
    if !bad.is_empty() {
        bail!(
            "--resume {} continues the saved run with its own settings; these flags differ: {} (start a new run with --out to change them)",
            dir.display(),
            bad.join(", ")
        );
    }
    let mut record = state;
    let corpus = match &record.data {
        RunData::Dist(spec) => Corpus::Dist(crate::io::build_family(
            &unmask_core::DistSpec::parse(spec)?,
            env,
        )?),
        RunData::Text { text, valid } => {
            let n = record.len.unwrap_or(DEFAULT_LEN);
            let train_text = read(&PathBuf::from(text), "--text")?;
            let valid_text = valid
                .as_ref()
                .map(|v| read(&PathBuf::from(v), "--valid"))
                .transpose()?;
            let saved = match saved_vocab {
                unmask_nn::Vocab::Chars(c) => c,
                other => bail!(
                    "--resume {}: a text run's checkpoint has a character vocabulary, this one has {other:?}",
                    dir.display()
                ),
            };
            Corpus::text(
                &train_text,
                valid_text.as_deref(),
                n,
                (text, valid.as_deref().unwrap_or(text)),
                Some(&saved),
            )
            .with_context(|| format!("--resume {}: the run's text changed", dir.display()))?
        }
    };
    let checkpoint_every = args
        .checkpoint_every
        .or(record.checkpoint_every)
        .unwrap_or(DEFAULT_CHECKPOINT_EVERY);
    record.checkpoint_every = Some(checkpoint_every);
    record.len = Some(corpus.len());
    let until = args.steps.unwrap_or(settings.total_steps);
    if until < trainer.step_count() {
        bail!(
            "--steps {until} is below the {} steps already taken",
            trainer.step_count()
        );
    }
    let config = trainer.model()?.config().clone();
    price(
        env,
        &config,
        settings.batch,
        corpus.len(),
        until - trainer.step_count(),
    )?;
    Ok(Run {
        trainer,
        corpus,
        record,
        out: args.out.clone().unwrap_or_else(|| dir.to_path_buf()),
        until,
        checkpoint_every,
    })
}

pub fn run(args: Args, env: &Env, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let run = match &args.resume {
        Some(dir) => resume(&args, env, dir)?,
        None => fresh(&args, env)?,
    };
    let Run {
        trainer,
        corpus,
        record,
        out: dir,
        until,
        checkpoint_every,
    } = run;
    // The target is checked and locked before the first step: a refused --out costs nothing.
    let writer = unmask_nn::checkpoint::Writer::open(&dir).context("--out")?;
    let mut trainer = trainer.on(&env.device()?)?;
    let n = corpus.len();
    let settings = trainer.settings().clone();
    let vocab = corpus.vocab();
    let valid = corpus.validation(settings.seed, 256);
    let bar = crate::progress::Progress::new((until - trainer.step_count()) as u64, "training");
    let interrupted = interrupt_flag();
    let start = Instant::now();
    let first = trainer.step_count();
    // The step of the checkpoint now on disk at `dir`, if this run or the resumed one wrote it.
    let mut saved_step = args
        .resume
        .as_ref()
        .filter(|r| **r == dir)
        .map(|_| trainer.step_count());
    let (mut last_loss, mut last_valid) = (f64::NAN, None);
    let mut window = Vec::new();
    while trainer.step_count() < until {
        let s = trainer.step_count();
        let ids = corpus.batch(settings.seed, s, settings.batch);
        match trainer.step(&ids, n) {
            Ok(loss) => window.push(loss),
            Err(e) => {
                drop(bar);
                let kept = match saved_step {
                    Some(step) => format!(
                        "the last finite checkpoint, from step {step}, is in {}",
                        dir.display()
                    ),
                    None => format!("no checkpoint was written to {}", dir.display()),
                };
                return Err(e).with_context(|| kept);
            }
        }
        use unmask_core::Observe;
        bar.advanced(1);
        let done = trainer.step_count();
        let stop = interrupted.load(std::sync::atomic::Ordering::SeqCst);
        if done % checkpoint_every == 0 || done == until || stop {
            last_loss = window.iter().sum::<f64>() / window.len().max(1) as f64;
            window.clear();
            let (v, se) = trainer.evaluate(&valid, n, settings.batch, settings.seed)?;
            last_valid = Some((v, se));
            trainer.history.push((done, last_loss, Some(v)));
            trainer.save(&writer, &vocab, &record)?;
            saved_step = Some(done);
            bar.message(format!(
                "training: loss {last_loss:.4}, validation {v:.4} ± {se:.4} nats/token, {:.0} tokens/s",
                ((done - first) * settings.batch * n) as f64 / start.elapsed().as_secs_f64()
            ));
        }
        if stop {
            eprintln!(
                "unmask: interrupted at step {done}; checkpoint written to {} (continue with --resume)",
                dir.display()
            );
            break;
        }
    }
    drop(bar);
    drop(writer);
    let outcome = Outcome {
        first,
        seconds: start.elapsed().as_secs_f64(),
        last_loss,
        last_valid,
        held_out: valid.len() / n,
        n,
        dir,
    };
    render(&args, &trainer, &outcome, out)
}

/// How a run ended, for its report.
struct Outcome {
    /// The step the run started from.
    first: usize,
    seconds: f64,
    last_loss: f64,
    /// The last validation loss and its standard error.
    last_valid: Option<(f64, f64)>,
    /// Held-out sequences of the validation loss.
    held_out: usize,
    n: usize,
    dir: PathBuf,
}

/// Ctrl-C finishes the current step, writes a checkpoint and stops (the run resumes with
/// --resume): the flag the handler raises.
fn interrupt_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = interrupted.clone();
    // Only one handler can exist per process; a second `train` in the same process (tests run
    // the binary, so never) would keep the first.
    let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
    interrupted
}

/// The report of a finished run: JSON or one line.
fn render(
    args: &Args,
    trainer: &Trainer,
    o: &Outcome,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let batch = trainer.settings().batch;
    let steps_run = trainer.step_count() - o.first;
    let tokens = (steps_run * batch * o.n) as f64;
    let doc = json!({
        "schema_version": unmask_io::SCHEMA_VERSION,
        "steps": trainer.step_count(),
        "tokens": (trainer.step_count() * batch * o.n),
        "train_loss": o.last_loss,
        "valid_loss": o.last_valid.map(|v| v.0),
        "valid_loss_stderr": o.last_valid.map(|v| v.1),
        "tokens_per_s": if o.seconds > 0.0 { tokens / o.seconds } else { 0.0 },
        "seconds": o.seconds,
        "out": o.dir,
        "parameters": trainer.model()?.config().parameter_count(),
    });
    if args.json {
        return report::print_json(out, &doc);
    }
    let valid_text = match o.last_valid {
        Some((v, se)) => format!("{v:.3} ± {se:.3}"),
        None => "not measured".into(),
    };
    writeln!(
        out,
        "trained {} steps ({} this run, {:.0} tokens/s); loss {:.4}, validation {valid_text} nats/token (± one standard error over {} held-out sequences); checkpoint {}",
        trainer.step_count(),
        steps_run,
        doc["tokens_per_s"].as_f64().unwrap_or(0.0),
        o.last_loss,
        o.held_out,
        o.dir.display()
    )?;
    Ok(())
}
