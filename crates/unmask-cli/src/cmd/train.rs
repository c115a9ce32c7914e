//! `unmask train`: fit a LLaDA-architecture network to a distribution's exact draws or to a
//! text, with checkpoints in LLaDA's format (load, the library's training steps, render).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::json;
use unmask_nn::data::Corpus;
use unmask_nn::{Config, TrainConfig, Trainer};

use crate::report::{self};

/// Train a masked diffusion network (LLaDA's architecture and objective).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Train on fresh exact draws of this distribution (sequence length = its n).
    #[arg(long, value_name = "SPEC", conflicts_with = "text", required_unless_present_any = ["text", "resume"])]
    pub dist: Option<String>,
    /// Train on random windows of this UTF-8 text (characters are the tokens).
    #[arg(long, value_name = "FILE")]
    pub text: Option<PathBuf>,
    /// Validation text (default: the last tenth of --text, held out).
    #[arg(long, value_name = "FILE", requires = "text")]
    pub valid: Option<PathBuf>,
    /// Window length for --text.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub len: usize,
    /// Checkpoint directory (written atomically: config.json, model.safetensors, vocab.json,
    /// optimizer state).
    #[arg(long, value_name = "DIR", required_unless_present = "resume")]
    pub out: Option<PathBuf>,
    /// Continue the run saved in DIR (same data, settings and seed) up to its step count, or
    /// to --steps.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Network size: tiny (d 64, 2 layers, 4 heads), small (d 128, 4 layers, 4 heads), with
    /// overrides: `tiny,d=96,layers=3,heads=4,kv=2,mlp=256`.
    #[arg(long, value_name = "SIZE", default_value = "tiny")]
    pub size: String,
    /// Optimisation steps.
    #[arg(long, value_name = "S", conflicts_with = "tokens")]
    pub steps: Option<usize>,
    /// Train on about this many tokens instead (steps = tokens / (batch · n)).
    #[arg(long, value_name = "T")]
    pub tokens: Option<f64>,
    /// Sequences per step.
    #[arg(long, value_name = "B", default_value_t = 32)]
    pub batch: usize,
    /// Peak learning rate (AdamW; linear warm-up, cosine decay to a tenth).
    #[arg(long, value_name = "LR", default_value_t = 3e-3)]
    pub lr: f64,
    /// Warm-up steps.
    #[arg(long, value_name = "S", default_value_t = 50)]
    pub warmup: usize,
    /// Global gradient-norm clip.
    #[arg(long, value_name = "C", default_value_t = 1.0)]
    pub clip: f64,
    /// Decoupled weight decay.
    #[arg(long, value_name = "W", default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Seed of initialisation, data and masks.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write a checkpoint (and measure the validation loss) every S steps, and at the end.
    #[arg(long, value_name = "S", default_value_t = 200)]
    pub checkpoint_every: usize,
    /// Machine-readable JSON on stdout.
    #[arg(long)]
    pub json: bool,
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

pub fn run(args: Args, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let (trainer, corpus, run_doc, dir) = match &args.resume {
        Some(dir) => {
            let (trainer, state) = Trainer::resume(dir)?;
            let run = state["run"].clone();
            let corpus = if let Some(spec) = run.get("dist").and_then(|v| v.as_str()) {
                Corpus::Dist(crate::io::build_family(&unmask_core::DistSpec::parse(
                    spec,
                )?)?)
            } else if let Some(text) = run.get("text").and_then(|v| v.as_str()) {
                let valid = run.get("valid").and_then(|v| v.as_str());
                let n = run.get("len").and_then(|v| v.as_u64()).unwrap_or(64) as usize;
                let train_text = read(&PathBuf::from(text), "--text")?;
                let valid_text = valid
                    .map(|v| read(&PathBuf::from(v), "--valid"))
                    .transpose()?;
                Corpus::text(
                    &train_text,
                    valid_text.as_deref(),
                    n,
                    (text, valid.unwrap_or(text)),
                )?
            } else {
                bail!("--resume {}: train_state.json names no data", dir.display());
            };
            (
                trainer,
                corpus,
                run,
                args.out.clone().unwrap_or_else(|| dir.clone()),
            )
        }
        None => {
            let (corpus, run) = if let Some(spec) = &args.dist {
                let dist = unmask_core::DistSpec::parse(spec)
                    .with_context(|| format!("--dist {spec:?}"))?;
                let family =
                    crate::io::build_family(&dist).with_context(|| format!("--dist {spec:?}"))?;
                (Corpus::Dist(family), json!({"dist": dist.to_string()}))
            } else {
                let path = args.text.as_ref().expect("clap: --dist or --text");
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
                let corpus = Corpus::text(&text, valid.as_deref(), args.len, (&names.0, &names.1))?;
                let run = json!({"text": path, "valid": args.valid, "len": args.len});
                (corpus, run)
            };
            let vocab = corpus.vocab().len().expect("own vocabularies are known");
            let config = size(&args.size, vocab)?;
            let n = corpus.len();
            let steps = match (args.steps, args.tokens) {
                (Some(s), _) => s,
                (None, Some(t)) => ((t / (args.batch * n) as f64).ceil() as usize).max(1),
                (None, None) => 1000,
            };
            let train = TrainConfig {
                batch: args.batch.max(1),
                lr: args.lr,
                warmup: args.warmup,
                total_steps: steps,
                weight_decay: args.weight_decay,
                clip: args.clip,
                seed: args.seed,
            };
            let trainer = Trainer::new(config, train)?;
            (trainer, corpus, run, args.out.clone().expect("clap: --out"))
        }
    };
    let mut trainer = trainer.on(&crate::args::device()?)?;
    let n = corpus.len();
    let settings = trainer.settings().clone();
    let until = args
        .resume
        .as_ref()
        .and(args.steps)
        .unwrap_or(settings.total_steps);
    if until < trainer.step_count() {
        bail!(
            "--steps {until} is below the {} steps already taken",
            trainer.step_count()
        );
    }
    let vocab = corpus.vocab();
    let valid = corpus.validation(settings.seed, 256);
    let bar = crate::progress::Progress::new((until - trainer.step_count()) as u64, "training");
    // Ctrl-C finishes the current step, writes a checkpoint and stops (the run resumes with
    // --resume).
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        // Only one handler can exist per process; a second `train` in the same process (tests
        // run the binary, so never) would keep the first.
        let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
    }
    let start = Instant::now();
    let first = trainer.step_count();
    let (mut last_loss, mut last_valid) = (f64::NAN, None);
    let mut window = Vec::new();
    while trainer.step_count() < until {
        let s = trainer.step_count();
        let ids = corpus.batch(settings.seed, s, settings.batch);
        match trainer.step(&ids, n) {
            Ok(loss) => window.push(loss),
            Err(e) => {
                drop(bar);
                return Err(e).with_context(|| {
                    format!(
                        "the last good checkpoint is in {} (if any was written)",
                        dir.display()
                    )
                });
            }
        }
        use unmask_core::Observe;
        bar.advanced(1);
        let done = trainer.step_count();
        let stop = interrupted.load(std::sync::atomic::Ordering::SeqCst);
        if done % args.checkpoint_every.max(1) == 0 || done == until || stop {
            last_loss = window.iter().sum::<f64>() / window.len().max(1) as f64;
            window.clear();
            last_valid = Some(trainer.evaluate(&valid, n, settings.batch, settings.seed)?);
            trainer.history.push((done, last_loss, last_valid));
            trainer.save(&dir, &vocab, run_doc.clone())?;
            bar.message(format!(
                "training: loss {last_loss:.4}, validation {:.4} nats/token, {:.0} tokens/s",
                last_valid.unwrap_or(f64::NAN),
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
    let seconds = start.elapsed().as_secs_f64();
    let steps_run = trainer.step_count() - first;
    let tokens = (steps_run * settings.batch * n) as f64;
    let doc = json!({
        "schema_version": unmask_io::SCHEMA_VERSION,
        "steps": trainer.step_count(),
        "tokens": (trainer.step_count() * settings.batch * n),
        "train_loss": last_loss,
        "valid_loss": last_valid,
        "tokens_per_s": if seconds > 0.0 { tokens / seconds } else { 0.0 },
        "seconds": seconds,
        "out": dir,
        "parameters": trainer.model()?.config().parameter_count(),
    });
    if args.json {
        return report::print_json(out, &doc);
    }
    writeln!(
        out,
        "trained {} steps ({} this run, {:.0} tokens/s); loss {:.4}, validation {:.4} nats/token; checkpoint {}",
        trainer.step_count(),
        steps_run,
        doc["tokens_per_s"].as_f64().unwrap_or(0.0),
        last_loss,
        last_valid.unwrap_or(f64::NAN),
        dir.display()
    )?;
    Ok(())
}
