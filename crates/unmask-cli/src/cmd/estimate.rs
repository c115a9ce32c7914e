//! `unmask estimate`: the curve from draws and oracle calls only, as with a trained model;
//! shards written by separate runs merge with `unmask curve merge`.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use unmask_core::{
    Loss, Moments, Oracle, PointEstimate, ProfileEstimate, Unit, estimate_profile_observed,
};

use crate::args::{Output, parse_steps};
use crate::io;
use crate::report::{self, num};

/// Estimate a curve from samples and oracle calls.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The distribution (its oracle plays the model, its sampler the data set).
    #[arg(long, value_name = "SPEC")]
    pub dist: String,
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

/// The grid t = round(k·(n−1)/P), k = 1..P, deduplicated, with 0.
pub fn grid(n: usize, points: usize) -> Vec<usize> {
    let mut ts: Vec<usize> = (0..=points)
        .map(|k| ((k as f64) * (n - 1) as f64 / points as f64).round() as usize)
        .filter(|&t| t < n)
        .collect();
    ts.dedup();
    ts
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
    let ts = grid(n, args.points);
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
    let bar = crate::progress::Progress::new(args.samples as u64, "estimating the curve");
    let estimate = estimate_profile_observed(
        &family,
        |r| family.sample(r),
        &ts,
        args.samples,
        args.seed,
        args.first,
        &bar,
    )?;
    drop(bar);
    let parts = vec![json!({"seed": args.seed, "first": args.first, "samples": args.samples})];
    let doc = document(&estimate, unit, &dist.to_string(), parts);
    if let Some(path) = &args.out {
        write(path, &doc)?;
    }
    if args.output.json {
        report::print_json(out, &doc)?;
    } else {
        summary(out, &estimate, unit, &dist.to_string())?;
        if let Some(path) = &args.out {
            writeln!(out, "wrote {}", path.display())?;
        }
    }
    Ok(())
}

fn moments_json(m: &Moments) -> Value {
    json!([m.count, m.sum, m.sum_sq])
}

/// The estimate file: a sparse curve (`unit`, `n`, `points`) readable by `--curve`, standard
/// errors, the cross-entropy variant, and the shard's sums (in nats) for merging.
pub fn document(e: &ProfileEstimate, unit: Unit, source: &str, parts: Vec<Value>) -> Value {
    let pts = |loss| -> (Vec<Value>, Vec<f64>) {
        let p = e.z_points(loss);
        (
            p.iter()
                .map(|&(j, z, _)| json!([j, unit.from_nats(z)]))
                .collect(),
            p.iter().map(|&(_, _, s)| unit.from_nats(s)).collect(),
        )
    };
    let (points, stderr) = pts(Loss::Entropy);
    let (ce_points, ce_stderr) = pts(Loss::CrossEntropy);
    json!({
        "schema_version": report::SCHEMA_VERSION,
        "unit": unit.name(),
        "n": e.n,
        "source": source,
        "points": points,
        "stderr": stderr,
        "cross_entropy": {"points": ce_points, "stderr": ce_stderr},
        "profile": {
            "t": e.points.iter().map(|p| p.t).collect::<Vec<_>>(),
            "entropy": e.points.iter().map(|p| unit.from_nats(p.entropy.mean())).collect::<Vec<_>>(),
            "cross_entropy": e.points.iter().map(|p| unit.from_nats(p.cross_entropy.mean())).collect::<Vec<_>>(),
        },
        "shard": {
            "parts": parts,
            "samples": e.points.first().map_or(0, |p| p.entropy.count),
            "grid": e.points.iter().map(|p| p.t).collect::<Vec<_>>(),
            "moments_nats": {
                "entropy": e.points.iter().map(|p| moments_json(&p.entropy)).collect::<Vec<_>>(),
                "cross_entropy": e.points.iter().map(|p| moments_json(&p.cross_entropy)).collect::<Vec<_>>(),
                "z_entropy": e.points.iter().map(|p| moments_json(&p.z_entropy)).collect::<Vec<_>>(),
                "z_cross_entropy": e.points.iter().map(|p| moments_json(&p.z_cross_entropy)).collect::<Vec<_>>(),
            },
        },
    })
}

fn summary(
    out: &mut dyn std::io::Write,
    e: &ProfileEstimate,
    unit: Unit,
    source: &str,
) -> anyhow::Result<()> {
    let samples = e.points.first().map_or(0, |p| p.entropy.count);
    writeln!(
        out,
        "estimated curve of {source} from {samples} draws (n = {}, {unit})",
        e.n
    )?;
    let mut t = report::Table::new(&["j", "Z_j (entropy)", "± se", "Z_j (cross-entropy)", "± se"]);
    for (a, b) in e
        .z_points(Loss::Entropy)
        .iter()
        .zip(e.z_points(Loss::CrossEntropy))
    {
        t.row(vec![
            a.0.to_string(),
            num(unit.from_nats(a.1)),
            num(unit.from_nats(a.2)),
            num(unit.from_nats(b.1)),
            num(unit.from_nats(b.2)),
        ]);
    }
    write!(out, "{}", t.render())?;
    Ok(())
}

fn write(path: &Path, doc: &Value) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(doc)?;
    bytes.push(b'\n');
    io::write_atomic(path, &bytes)
}

/// Reads an estimate file back into sums.
fn read_shard(path: &Path) -> anyhow::Result<(ProfileEstimate, String, Vec<Value>)> {
    let text = std::fs::read_to_string(path)?;
    let doc: Value = serde_json::from_str(&text).context("malformed JSON")?;
    let shard = doc
        .get("shard")
        .ok_or_else(|| anyhow!("not an estimate file: no field \"shard\""))?;
    let n = doc
        .get("n")
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("field \"n\" missing"))? as usize;
    let grid: Vec<usize> = shard
        .get("grid")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("field \"shard.grid\" missing"))?
        .iter()
        .map(|v| {
            v.as_u64()
                .map(|t| t as usize)
                .ok_or_else(|| anyhow!("shard.grid: {v} is not an index"))
        })
        .collect::<anyhow::Result<_>>()?;
    let moments = |key: &str| -> anyhow::Result<Vec<Moments>> {
        let list = shard
            .pointer(&format!("/moments_nats/{key}"))
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow!("field \"shard.moments_nats.{key}\" missing"))?;
        if list.len() != grid.len() {
            bail!(
                "shard.moments_nats.{key} has {} entries for {} grid points",
                list.len(),
                grid.len()
            );
        }
        list.iter()
            .map(|m| match m.as_array().map(Vec::as_slice) {
                Some([c, s, q]) => Ok(Moments {
                    count: c
                        .as_u64()
                        .ok_or_else(|| anyhow!("shard.moments_nats.{key}: bad count {c}"))?,
                    sum: s
                        .as_f64()
                        .ok_or_else(|| anyhow!("shard.moments_nats.{key}: bad sum {s}"))?,
                    sum_sq: q.as_f64().ok_or_else(|| {
                        anyhow!("shard.moments_nats.{key}: bad sum of squares {q}")
                    })?,
                }),
                _ => Err(anyhow!(
                    "shard.moments_nats.{key}: {m} is not [count, sum, sum_sq]"
                )),
            })
            .collect()
    };
    let (h, ce, zh, zce) = (
        moments("entropy")?,
        moments("cross_entropy")?,
        moments("z_entropy")?,
        moments("z_cross_entropy")?,
    );
    let points = grid
        .iter()
        .enumerate()
        .map(|(k, &t)| PointEstimate {
            t,
            entropy: h[k],
            cross_entropy: ce[k],
            z_entropy: zh[k],
            z_cross_entropy: zce[k],
        })
        .collect();
    let source = doc
        .get("source")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let parts = shard
        .get("parts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok((ProfileEstimate { n, points }, source, parts))
}

/// Merge estimate shards.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Estimate files written by `unmask estimate --out` (same distribution, n and grid).
    #[arg(value_name = "FILE", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Write the merged estimate here (atomically) instead of printing it.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: Output,
}

pub fn merge(args: MergeArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    let mut merged: Option<(ProfileEstimate, String, Vec<Value>)> = None;
    for path in &args.files {
        let (e, source, parts) =
            read_shard(path).with_context(|| format!("reading estimate {}", path.display()))?;
        match &mut merged {
            None => merged = Some((e, source, parts)),
            Some((m, s, p)) => {
                if *s != source {
                    bail!("{}: source {source:?} differs from {s:?}", path.display());
                }
                m.merge(&e)
                    .with_context(|| format!("merging {}", path.display()))?;
                p.extend(parts);
            }
        }
    }
    let (estimate, source, parts) = merged.expect("clap requires at least one file");
    let doc = document(&estimate, unit, &source, parts);
    match &args.out {
        Some(path) => {
            write(path, &doc)?;
            if !args.output.json {
                summary(out, &estimate, unit, &source)?;
                writeln!(out, "wrote {}", path.display())?;
                return Ok(());
            }
            report::print_json(out, &doc)
        }
        None if args.output.json => report::print_json(out, &doc),
        None => summary(out, &estimate, unit, &source),
    }
}
