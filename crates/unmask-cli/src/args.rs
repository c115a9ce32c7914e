//! Flags shared by the subcommands and their parsers (turning them into inputs is
//! [`crate::load`]'s).

use std::path::PathBuf;

use unmask_core::Unit;

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
