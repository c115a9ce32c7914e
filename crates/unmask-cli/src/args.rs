//! Flags shared by the subcommands, and their conversion into validated inputs.

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::Context;
use unmask_core::budget::Budget;
use unmask_core::{DistSpec, InformationCurve, Repair, Unit};

static BUDGET: OnceLock<(Budget, bool)> = OnceLock::new();

/// The work a network's training or forward passes may plan when `--max-work` is not given:
/// 3.6·10¹² operations, about an hour. A model command a user asks for (a minute of
/// estimation, ten minutes of training) is ordinary work; the guard is there for runaway
/// inputs (13 billion parameters, a million steps).
pub const MODEL_WORK: f64 = 3.6e12;

/// Sets the process's resource budget (`--max-memory`, `--max-work`, and whether the work
/// limit was given); the first call wins.
pub fn set_budget(budget: Budget, work_given: bool) {
    let _ = BUDGET.set((budget, work_given));
}

/// The resource budget every command checks its inputs against before allocating.
pub fn budget() -> Budget {
    BUDGET.get().map(|b| b.0).unwrap_or_default()
}

/// The budget of a network's training and forward passes: the same memory, and
/// [`MODEL_WORK`] unless `--max-work` was given.
pub fn model_budget() -> Budget {
    let (b, given) = BUDGET.get().copied().unwrap_or_default();
    if given {
        b
    } else {
        Budget::new(b.memory(), MODEL_WORK)
    }
}

/// A refusal of the resource policy, with the flags that lift it.
pub fn over_budget(e: unmask_core::budget::OverBudget) -> anyhow::Error {
    anyhow::anyhow!("{e} (raise --max-memory or --max-work to allow it)")
}

/// Where the information curve comes from.
#[derive(Debug, Clone, clap::Args)]
pub struct Input {
    /// Curve file: JSON {"unit", "z" | "entropy" | "n"+"points" | "n"+"losses"} or CSV (one
    /// column Z_1..Z_n, two columns j,Z_j for a sparse curve, or t,loss / mask_ratio,loss with
    /// "# n = N"); a CSV states its unit in a "# unit = nats" line, or with --curve-unit.
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "dist",
        required_unless_present_any = ["dist", "blocks"]
    )]
    pub curve: Option<PathBuf>,

    /// A distribution instead of a file (its curve: closed form, exact, or estimated):
    /// product:n=N[,q=Q], parity:n=N, repeat:n=N,q=Q, mds:n=N,k=K,q=Q, logfactor:n=N,eps=E,
    /// rs:n=N,k=K,q=Q, code:n=N,k=K,q=Q, markov:n=N,q=Q,stay=P (or matrix=FILE),
    /// hmm:n=N,states=S,q=Q, mixture:n=N,q=Q,components=M, table:FILE.
    #[arg(long, value_name = "SPEC", conflicts_with = "blocks")]
    pub dist: Option<String>,

    /// Block curves of a semi-autoregressive decoder (eval, plan, compare, frontier): JSON
    /// {"unit", "block": L, "curves": [[Z^(1)_1..Z^(1)_L], …]} or {"unit", "block": L,
    /// "blocks": m, "z": [..]}.
    #[arg(long, value_name = "PATH", conflicts_with = "curve")]
    pub blocks: Option<PathBuf>,

    /// The unit of a CSV curve file that has no "# unit = …" line (independent of --unit,
    /// the unit of the output). A CSV with neither is refused: a unit is never guessed.
    #[arg(long, value_enum, value_name = "UNIT")]
    pub curve_unit: Option<UnitArg>,

    /// Project a noisy curve onto the valid set (Z_1 = 0, non-negative, non-decreasing) by
    /// isotonic regression instead of rejecting it; the largest correction is reported.
    #[arg(long)]
    pub repair: bool,
}

/// Output options shared by every subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct Output {
    /// Unit of every printed quantity and of information-valued parameters (epsilon, tc, dtc).
    #[arg(long, value_enum, default_value_t = UnitArg::Nats)]
    pub unit: UnitArg,

    /// Machine-readable JSON on stdout (stable field names, see the README).
    #[arg(long)]
    pub json: bool,
}

/// `--unit` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UnitArg {
    /// Natural logarithm.
    Nats,
    /// Base-2 logarithm.
    Bits,
}

impl From<UnitArg> for Unit {
    fn from(u: UnitArg) -> Unit {
        match u {
            UnitArg::Nats => Unit::Nats,
            UnitArg::Bits => Unit::Bits,
        }
    }
}

/// A curve with where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub curve: InformationCurve,
    /// The file path or the dist spec, for reports.
    pub source: String,
    /// What `--repair` changed, when it was given.
    pub repair: Option<Repair>,
    /// The measured positions of a sparse curve file (empty for full curves and families).
    pub measured: Vec<usize>,
}

impl Loaded {
    /// `curve SOURCE (n = N, TC = T UNIT)`, the first line of every text report.
    pub fn describe(&self, unit: Unit) -> String {
        format!(
            "curve {} (n = {}, TC = {} {unit})",
            self.source,
            self.curve.len(),
            crate::report::num(unit.from_nats(self.curve.tc()))
        )
    }
}

impl Input {
    /// Reads `--blocks`, when given: the block curves and the file's name.
    pub fn load_blocks(&self) -> anyhow::Result<Option<(unmask_core::BlockCurves, String)>> {
        let Some(path) = &self.blocks else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading block curves from {}", path.display()))?;
        let (blocks, _) = unmask_io::read_block_curves(&text, &budget())
            .map_err(|e| match e {
                unmask_io::BlockFileError::Budget(b) => over_budget(b),
                other => other.into(),
            })
            .with_context(|| format!("reading block curves from {}", path.display()))?;
        Ok(Some((blocks, path.display().to_string())))
    }

    /// The length a `--dist` spec declares, known before anything is built (None for files),
    /// so that a command can price its own work up front.
    pub fn declared_len(&self) -> Option<usize> {
        self.dist
            .as_deref()
            .and_then(|spec| DistSpec::parse(spec).ok())
            .and_then(|d| d.len())
    }

    /// Reads the curve from `--curve` or builds it from `--dist`.
    pub fn load(&self) -> anyhow::Result<Loaded> {
        if self.blocks.is_some() {
            anyhow::bail!(
                "--blocks works with eval, plan, compare and frontier; give --curve or --dist here"
            );
        }
        match (&self.curve, &self.dist) {
            (Some(path), _) => {
                let read =
                    crate::io::read_curve_full(path, self.curve_unit.map(Unit::from), self.repair)
                        .with_context(|| format!("reading curve from {}", path.display()))?;
                Ok(Loaded {
                    curve: read.curve,
                    source: path.display().to_string(),
                    repair: read.repair,
                    measured: read.measured,
                })
            }
            (None, Some(spec)) => {
                let dist = DistSpec::parse(spec).with_context(|| format!("--dist {spec:?}"))?;
                dist.check_curve(&budget())
                    .map_err(over_budget)
                    .with_context(|| format!("--dist {spec:?}"))?;
                let (curve, source) =
                    dist_curve(&dist).with_context(|| format!("--dist {spec:?}"))?;
                Ok(Loaded {
                    curve,
                    source,
                    repair: None,
                    measured: Vec::new(),
                })
            }
            (None, None) => anyhow::bail!("give a curve with --curve PATH or --dist SPEC"),
        }
    }
}

/// The curve of a `--dist` family by the core's policy ([`DistSpec::curve`]: closed form, exact,
/// structural or Monte Carlo estimate), with a source line that says which.
pub fn dist_curve(dist: &DistSpec) -> anyhow::Result<(InformationCurve, String)> {
    let (curve, source) = dist.curve(crate::io::file_data(dist)?)?;
    Ok((curve, format!("{dist}{source}")))
}

/// Parses a finite, non-negative number.
pub fn parse_nonnegative(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!("{s:?} is not a finite number ≥ 0")),
    }
}

/// Parses a step count ≥ 1.
pub fn parse_steps(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(k) if k > 0 => Ok(k),
        _ => Err(format!("{s:?} is not a step count ≥ 1")),
    }
}

/// A parsed `--steps LIST` (one argument holding many counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepList(pub Vec<usize>);

/// [`parse_step_list`] for clap.
pub fn step_list(s: &str) -> Result<StepList, String> {
    parse_step_list(s).map(StepList)
}

/// A list of step counts: numbers and ranges, comma-separated. `a..b` is every count from a to
/// b; `a..b:s` is a, a + s, a + 2s, … and b itself (so the last count is always drawn). The
/// result is sorted and without repeats.
///
/// ```text
/// 1,2,4..6      → 1, 2, 4, 5, 6
/// 1..256:64     → 1, 65, 129, 193, 256
/// ```
pub fn parse_step_list(s: &str) -> Result<Vec<usize>, String> {
    const MAX: usize = 100_000;
    let mut steps = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((from, rest)) = item.split_once("..") else {
            steps.push(parse_steps(item)?);
            continue;
        };
        let (to, stride) = match rest.split_once(':') {
            Some((to, stride)) => (
                to,
                parse_steps(stride).map_err(|e| format!("{item:?}: stride {e}"))?,
            ),
            None => (rest, 1),
        };
        let (from, to) = (parse_steps(from)?, parse_steps(to)?);
        if to < from {
            return Err(format!("{item:?}: the range ends before it starts"));
        }
        if (to - from) / stride + 2 > MAX {
            return Err(format!("{item:?}: more than {MAX} step counts"));
        }
        steps.extend((from..=to).step_by(stride));
        steps.push(to);
    }
    if steps.is_empty() {
        return Err(format!("{s:?} lists no step counts"));
    }
    steps.sort_unstable();
    steps.dedup();
    Ok(steps)
}

/// Flags of the commands that run a sampler on a distribution.
#[derive(Debug, Clone, clap::Args)]
pub struct Sampling {
    /// The distribution: product, parity, repeat, rs, code, markov, hmm, mixture or table specs
    /// (see the README), e.g. markov:n=64,q=4,stay=0.9. (Whether it is required is each
    /// command's: always for verify, unless --model for sample.)
    #[arg(long, value_name = "SPEC")]
    pub dist: Option<String>,
    /// Schedule for the random-order and confidence rules (counts or a preset spec).
    #[arg(long, short, value_name = "SPEC")]
    pub schedule: Option<String>,
    /// Sampler rule: random (default), fixed[:order=I.J.K…] (left to right by default),
    /// confidence[:temperature=T], eb:gamma=G (G in --unit), threshold:tau=T,
    /// mdlm:steps=T[,noise=loglinear|cosine] (random counts, no --schedule).
    #[arg(long, value_name = "RULE")]
    pub rule: Option<String>,
    /// Number of samples.
    #[arg(long, value_name = "M", default_value_t = 10, value_parser = parse_steps)]
    pub samples: usize,
    /// Seed: sample i uses the ChaCha8 stream (seed, i).
    #[arg(long, value_name = "SEED", default_value_t = 0)]
    pub seed: u64,
}

/// A sampler ready to run.
pub struct Prepared {
    pub dist: DistSpec,
    pub family: unmask_core::Family,
    pub rule: unmask_core::Rule,
    /// The exact curve, when the family's structure gives one (never an estimate).
    pub curve: Option<InformationCurve>,
}

impl Sampling {
    /// The `--dist` spec text (clap requires it unless `--model` is given).
    pub fn dist_text(&self) -> anyhow::Result<&str> {
        self.dist.as_deref().context("--dist is required here")
    }

    pub fn prepare(&self, unit: Unit) -> anyhow::Result<Prepared> {
        let text = self.dist_text()?;
        let dist = DistSpec::parse(text).with_context(|| format!("--dist {text:?}"))?;
        let budget = budget();
        budget
            .check(format!("building {}", text), dist.build_cost())
            .map_err(over_budget)
            .with_context(|| format!("--dist {:?}", text))?;
        let family =
            crate::io::build_family(&dist).with_context(|| format!("--dist {:?}", text))?;
        // The exact curve only when its computation fits the budget (a stay chain with a large q
        // samples cheaply, but its curve needs q² per distance).
        let curve = match dist.check_curve(&budget) {
            Ok(()) => family.exact_curve(),
            Err(_) => None,
        };
        let schedule = match &self.schedule {
            None => None,
            Some(spec) => {
                let parsed = unmask_core::ScheduleSpec::parse(spec, unit).with_context(|| {
                    if spec.trim_start().starts_with("mdlm") {
                        format!(
                            "--schedule {spec:?} (sample and verify take MDLM as --rule mdlm:steps=T; \
                             `unmask eval --schedule mdlm:steps=T` gives its exact expected KL)"
                        )
                    } else {
                        format!("--schedule {spec:?}")
                    }
                })?;
                let n = unmask_core::Oracle::len(&family);
                // Curve-based schedules on families without an exact curve use the estimate.
                let needs_curve = matches!(
                    parsed,
                    unmask_core::ScheduleSpec::Sqrt { .. } | unmask_core::ScheduleSpec::Optimal(_)
                );
                let estimated = match (&curve, needs_curve) {
                    (None, true) => {
                        dist.check_curve(&budget)
                            .map_err(over_budget)
                            .with_context(|| format!("--dist {:?}", text))?;
                        Some(dist_curve(&dist)?.0)
                    }
                    _ => None,
                };
                Some(
                    parsed
                        .build(n, curve.as_ref().or(estimated.as_ref()))
                        .with_context(|| format!("--schedule {spec:?}"))?
                        .schedule,
                )
            }
        };
        let given_schedule = schedule.is_some();
        let rule = unmask_core::Rule::parse(self.rule.as_deref(), schedule, unit).map_err(|e| {
            let hint = match &e {
                unmask_core::SpecError::MissingKey {
                    key: "schedule", ..
                } => " (give --schedule)",
                unmask_core::SpecError::Malformed { .. } if given_schedule => " (drop --schedule)",
                _ => "",
            };
            anyhow::Error::new(e).context(format!(
                "--rule {:?}{hint}",
                self.rule.as_deref().unwrap_or("random")
            ))
        })?;
        let n = unmask_core::Oracle::len(&family);
        rule.check::<std::convert::Infallible>(n)
            .context("--schedule")?;
        let (calls, rows) = rule.worst_case_calls(n);
        let shape = unmask_core::SamplingShape {
            samples: self.samples,
            calls,
            rows,
        };
        dist.check_sampling(&budget, shape, rayon_threads())
            .map_err(over_budget)
            .with_context(|| format!("--dist {:?}", text))?;
        Ok(Prepared {
            dist,
            family,
            rule,
            curve,
        })
    }
}

/// Threads that sample in parallel (each holds one oracle call's buffers).
/// `RAYON_NUM_THREADS` when set to a positive count (rayon's own rule), else the machine's
/// parallelism; the one place the thread count is looked up (`main` pins it at start-up).
pub fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Prices `passes` forward passes of `oracle`'s network over sequences of its length against the
/// work budget: a pass costs about 2·parameters·n multiply-adds, which candle runs at about
/// 5·10¹⁰ per second on 2 cores (tiny network, batched: `python/bench/bench_nn.py`), so at one
/// budget operation (about a nanosecond) per 64.
pub fn check_model_passes(
    oracle: &unmask_nn::NeuralOracle,
    passes: f64,
    what: String,
) -> anyhow::Result<()> {
    let n = unmask_core::Oracle::len(oracle);
    model_budget()
        .check(what, oracle.model().config().forward_cost(1, n, passes))
        .map_err(over_budget)
}

static DEVICE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Records `--device` (once, at start-up).
pub fn set_device(spec: &str) {
    let _ = DEVICE.set(spec.to_string());
}

/// The device networks run on (`--device`, CPU by default).
pub fn device() -> anyhow::Result<unmask_nn::Device> {
    let spec = DEVICE.get().map_or("cpu", String::as_str);
    unmask_nn::device(spec).context("--device")
}

/// Parses an integer ≥ 1 (a count where 0 means nothing).
pub fn parse_positive(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(v) if v >= 1 => Ok(v),
        _ => Err(format!("{s:?} is not an integer ≥ 1")),
    }
}

/// `--presets` names whole-sequence presets; with `--blocks` the decoders are fixed (LLaDA's and
/// cosine's equal splits and the optimal allocation), so compare and frontier refuse it alike.
pub fn refuse_presets_with_blocks<T>(presets: &[T]) -> anyhow::Result<()> {
    if presets.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "--presets does not apply with --blocks (the block-wise decoders are llada, cosine and the optimal allocation)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_lists() {
        assert_eq!(parse_step_list("1,2,4..6").unwrap(), vec![1, 2, 4, 5, 6]);
        assert_eq!(
            parse_step_list("1..256:64").unwrap(),
            vec![1, 65, 129, 193, 256]
        );
        assert_eq!(parse_step_list("8, 1..3").unwrap(), vec![1, 2, 3, 8]);
        assert_eq!(parse_step_list("1..64").unwrap().len(), 64);
        for bad in ["", "0", "5..2", "1..x", "1..9:0", "1..1000000000"] {
            assert!(parse_step_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_nonnegative("0.5").unwrap(), 0.5);
        assert!(parse_nonnegative("-1").is_err());
        assert!(parse_nonnegative("nan").is_err());
        assert!(parse_nonnegative("inf").is_err());
        assert_eq!(parse_steps("3").unwrap(), 3);
        assert!(parse_steps("0").is_err());
        assert!(parse_steps("-2").is_err());
    }
}
