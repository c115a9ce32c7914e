//! `unmask`: optimal unmasking schedules for masked diffusion models, from the command line.
//!
//! A thin layer over `unmask-core`: argument parsing, files, tables, JSON and plots. Each
//! subcommand lives in `cmd/<name>.rs` and writes its data to the `out` it is given.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// candle allocates a fresh buffer for every tensor op; glibc's malloc maps and unmaps each
/// large one, and the page faults cost more than a small network's arithmetic. mimalloc
/// reuses freed memory: training the tiny network went from 21,800 to 55,500 tokens/s
/// (`python/bench/bench_nn.py`, `docs/neural.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod cmd;
mod env;
mod io;
mod load;
mod plot;
mod progress;
mod report;

/// Optimal unmasking schedules for masked diffusion models (LLaDA, Dream, MDLM, MaskGIT…).
///
/// A schedule says how many tokens each forward pass reveals. unmask computes the exact expected
/// KL error of any schedule from the data's information curve Z (Chen, Cong, Li, COLT 2026), finds the
/// optimal schedule for a step budget or an error target, and compares it with today's presets.
/// Curves come from a file (--curve) or a closed-form family (--dist). Units are nats unless
/// --unit bits is given.
#[derive(Debug, Parser)]
#[command(name = "unmask", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Peak memory a command may plan to use (e.g. 4GiB, 512M, 16G); inputs that would need
    /// more are refused up front with the estimate.
    #[arg(long, global = true, value_name = "SIZE", env = "UNMASK_MAX_MEMORY",
          default_value = "4GiB", value_parser = unmask_core::budget::parse_size)]
    max_memory: f64,

    /// Elementary operations a command may plan (about 10^9 per second); inputs that would
    /// need more are refused up front with the estimate [default: 1e10, about ten seconds; for
    /// a network's training and forward passes 3.6e12, about an hour].
    #[arg(long, global = true, value_name = "OPS", env = "UNMASK_MAX_WORK",
          value_parser = unmask_core::budget::parse_size)]
    max_work: Option<f64>,

    /// Where networks (--model, train) run: cpu, or cuda / cuda:N in a binary built with
    /// `--features cuda`.
    #[arg(
        long,
        global = true,
        value_name = "DEVICE",
        env = "UNMASK_DEVICE",
        default_value = "cpu"
    )]
    device: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print or write an information curve, with TC, DTC and Σ I(X_i; X_−i).
    Curve(cmd::curve::Args),
    /// Exact expected KL of a schedule, per step, with bounds.
    Eval(cmd::eval::Args),
    /// The optimal schedule for a step budget (--steps) or an error target (--epsilon).
    Plan(cmd::plan::Args),
    /// Every preset at a step budget against the optimum.
    Compare(cmd::compare::Args),
    /// Optimal expected KL against the number of steps, and each preset's.
    Frontier(cmd::frontier::Args),
    /// A built-in tour of the paper's distribution families.
    Demo(cmd::demo::Args),
    /// Generate sequences with a schedule or an adaptive rule (NFE and counts reported).
    Sample(cmd::sample::Args),
    /// The theory's expected KL against Monte Carlo, the sampler's exact KL, NFE and NLL.
    Verify(cmd::verify::Args),
    /// Estimate a curve from draws and oracle calls, as with a trained model.
    Estimate(cmd::estimate::Args),
    /// A model's marginals at the masked positions of one sequence (`--ids 5,_,_,7`).
    Predict(cmd::predict::Args),
    /// Train a masked diffusion network (LLaDA's architecture and objective) on a
    /// distribution's draws or a text.
    Train(cmd::train::Args),
    /// Held-out NLL per token of a schedule under a model, beside Theorem 16's prediction.
    Score(cmd::score::Args),
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let env = env::Env::new(cli.max_memory, cli.max_work, &cli.device);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Curve(a) => cmd::curve::run(a, &env, &mut out)?,
        Command::Eval(a) => cmd::eval::run(a, &env, &mut out)?,
        Command::Plan(a) => cmd::plan::run(a, &env, &mut out)?,
        Command::Compare(a) => cmd::compare::run(a, &env, &mut out)?,
        Command::Frontier(a) => cmd::frontier::run(a, &env, &mut out)?,
        Command::Demo(a) => cmd::demo::run(a, &env, &mut out)?,
        Command::Sample(a) => cmd::sample::run(a, &env, &mut out)?,
        Command::Verify(a) => cmd::verify::run(a, &env, &mut out)?,
        Command::Estimate(a) => cmd::estimate::run(a, &env, &mut out)?,
        Command::Predict(a) => cmd::predict::run(a, &env, &mut out)?,
        Command::Train(a) => cmd::train::run(a, &env, &mut out)?,
        Command::Score(a) => cmd::score::run(a, &env, &mut out)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// candle 0.11 asks for its thread count on every matrix product; without `RAYON_NUM_THREADS`
/// it recounts the physical cores from /proc/cpuinfo each time, which made a small network's
/// forward passes 4× slower (measured on `unmask estimate --model`: 5.5 s, 7 s of it in the
/// kernel, against 1.3 s). Setting the variable to rayon's own default once, at start-up,
/// changes no thread count.
#[allow(unsafe_code)]
fn pin_thread_count() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let threads = env::threads();
        // SAFETY: called first thing in `main`, before any other thread exists, so nothing
        // can read the environment concurrently.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
    }
}

fn main() -> ExitCode {
    pin_thread_count();
    match run() {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`unmask … | head`) is not an error (ripgrep).
            let broken_pipe = err.chain().any(|cause| {
                let kind = match cause.downcast_ref::<std::io::Error>() {
                    Some(e) => Some(e.kind()),
                    None => cause
                        .downcast_ref::<serde_json::Error>()
                        .and_then(serde_json::Error::io_error_kind),
                };
                kind == Some(std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("unmask: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
