//! `unmask curve`: print or write an information curve with its summary statistics.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use unmask_core::{InformationCurve, ProfileEstimate, Unit};

use crate::args::{Input, Output};
use crate::env::Env;
use crate::io::{self, CurveFormat};
use crate::report::{self, Table, num};

/// Print or write an information curve.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub output: Output,
    /// Write the curve to PATH (atomically) instead of printing its values.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Format of --out; by default taken from the extension (.csv), else JSON.
    #[arg(long, value_enum)]
    pub format: Option<CurveFormat>,
    /// The conditional block curves of a semi-autoregressive decoder with blocks of L tokens
    /// (with --dist; closed forms for product, parity, repeat, mds, rs and stay-or-move markov
    /// chains, enumeration of the law for other small families), printed or written
    /// with --out in the block-curve format that `plan --blocks` and `eval --blocks` read.
    #[arg(long, value_name = "L", value_parser = crate::args::parse_steps, requires = "dist")]
    pub block: Option<usize>,
}

/// What `unmask curve` can do besides printing.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Merge estimate shards (files from `unmask estimate --out`) weighted by their counts.
    Merge(MergeArgs),
}

pub fn run(args: Args, env: &Env, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    if let Some(Action::Merge(m)) = args.action {
        return merge(m, out);
    }
    let unit = Unit::from(args.output.unit);
    if let Some(block) = args.block {
        return block_curves(&args, env, block, unit, out);
    }
    let loaded = args.input.load(env)?;
    let curve = &loaded.curve;
    if args.out.is_some() || args.output.json {
        env.check(
            format!("writing the {} values of the curve as text", curve.len()),
            unmask_core::budget::Cost::text(curve.len()),
        )?;
    }
    if let Some(path) = &args.out {
        let format = args
            .format
            .unwrap_or(if path.extension().is_some_and(|e| e == "csv") {
                CurveFormat::Csv
            } else {
                CurveFormat::Json
            });
        io::write_atomic(path, &io::curve_bytes(curve, unit, format))?;
    }
    if args.output.json {
        let mut doc = report::curve_json(&loaded, unit);
        if let Some(path) = &args.out {
            doc.insert("out".into(), json!(path.display().to_string()));
        } else {
            doc.insert("z".into(), json!(curve.values_in(unit)));
        }
        report::print_json(out, &serde_json::Value::Object(doc))?;
        return Ok(());
    }
    write!(out, "{}", report::curve_text(&loaded, unit))?;
    if let Some(path) = &args.out {
        writeln!(out, "wrote {} values to {}", curve.len(), path.display())?;
    } else {
        writeln!(out)?;
        write!(out, "{}", sample_table(curve, unit))?;
    }
    Ok(())
}

/// Up to 17 evenly spaced values of the curve.
fn sample_table(curve: &InformationCurve, unit: Unit) -> String {
    let n = curve.len();
    let mut js: Vec<usize> = (0..=16).map(|i| 1 + i * (n - 1) / 16).collect();
    js.dedup();
    let mut t = Table::new(&["j", &format!("Z_j ({unit})")]);
    for j in js {
        t.row(vec![j.to_string(), num(unit.from_nats(curve.z()[j - 1]))]);
    }
    t.render()
}

/// Merge estimate shards.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Estimate files written by `unmask estimate --out` (same distribution, n and grid), or
    /// block estimates written by `unmask estimate --block L --out`, merged block by block.
    #[arg(value_name = "FILE", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Write the merged estimate here (atomically) instead of printing it.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: Output,
}

/// Block estimates (`estimate --block L --out`) merged block by block into one block-curve
/// file with the merged estimates beside.
fn merge_blocks(
    args: &MergeArgs,
    first: Vec<unmask_io::Shard>,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    let mut merged = first;
    for path in &args.files[1..] {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading block estimate {}", path.display()))?;
        let shards = unmask_io::read_block_estimates(&text)
            .with_context(|| format!("reading block estimate {}", path.display()))?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: a plain estimate file, but the first file holds block estimates",
                    path.display()
                )
            })?;
        if shards.len() != merged.len() {
            bail!(
                "{}: {} blocks, but the first file has {}",
                path.display(),
                shards.len(),
                merged.len()
            );
        }
        for (b, (m, s)) in merged.iter_mut().zip(shards).enumerate() {
            if m.source != s.source || m.main != s.main {
                bail!(
                    "{}: block {} is of another source or loss ({:?}) than the first file's ({:?})",
                    path.display(),
                    b + 1,
                    s.source,
                    m.source
                );
            }
            m.estimate
                .merge(&s.estimate)
                .with_context(|| format!("merging block {} of {}", b + 1, path.display()))?;
            m.parts.extend(s.parts);
        }
    }
    let main = merged[0].main;
    let estimates: Vec<ProfileEstimate> = merged.iter().map(|s| s.estimate.clone()).collect();
    let (doc, blocks) = unmask_io::block_estimate_document(
        &estimates,
        unit,
        &merged[0].source,
        &merged[0].parts,
        main,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(path) = &args.out {
        io::write_json(path, &doc)?;
    }
    if args.output.json {
        return report::print_json(out, &doc);
    }
    writeln!(
        out,
        "merged block estimates of {} ({} blocks of {}, {} draws per block; {unit})",
        merged[0].source,
        blocks.blocks(),
        blocks.curves()[0].len(),
        estimates[0].points.first().map_or(0, |p| p.entropy.count)
    )?;
    if let Some(path) = &args.out {
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}

fn merge(args: MergeArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    let first = std::fs::read_to_string(&args.files[0])
        .with_context(|| format!("reading estimate {}", args.files[0].display()))?;
    if let Some(shards) = unmask_io::read_block_estimates(&first)
        .with_context(|| format!("reading estimate {}", args.files[0].display()))?
    {
        return merge_blocks(&args, shards, out);
    }
    let mut merged: Option<(ProfileEstimate, String, Vec<Value>, unmask_core::Loss)> = None;
    for path in &args.files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading estimate {}", path.display()))?;
        let unmask_io::Shard {
            estimate: e,
            source,
            parts,
            main,
        } = unmask_io::read_estimate(&text)
            .with_context(|| format!("reading estimate {}", path.display()))?;
        match &mut merged {
            None => merged = Some((e, source, parts, main)),
            Some((m, s, p, l)) => {
                if *s != source {
                    bail!("{}: source {source:?} differs from {s:?}", path.display());
                }
                if *l != main {
                    bail!(
                        "{}: its main curve is of another loss than the first file's",
                        path.display()
                    );
                }
                m.merge(&e)
                    .with_context(|| format!("merging {}", path.display()))?;
                p.extend(parts);
            }
        }
    }
    let (estimate, source, parts, main) = merged.expect("clap requires at least one file");
    let doc = unmask_io::estimate_document(&estimate, unit, &source, parts, main);
    match &args.out {
        Some(path) => {
            io::write_json(path, &doc)?;
            if !args.output.json {
                write!(out, "{}", report::estimate_text(&estimate, unit, &source))?;
                writeln!(out, "wrote {}", path.display())?;
                return Ok(());
            }
            report::print_json(out, &doc)
        }
        None if args.output.json => report::print_json(out, &doc),
        None => {
            write!(out, "{}", report::estimate_text(&estimate, unit, &source))?;
            Ok(())
        }
    }
}

/// `--block L`: the family's conditional block curves, in the block-curve file format.
fn block_curves(
    args: &Args,
    env: &Env,
    block: usize,
    unit: Unit,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let spec = args.input.dist.as_deref().unwrap_or_default();
    let dist = unmask_core::DistSpec::parse(spec).with_context(|| format!("--dist {spec:?}"))?;
    // A file's family (`table:FILE`) knows its length only once read (the read is priced).
    let mut family = match dist.len() {
        Some(_) => None,
        None => Some(io::build_family(&dist, env)?),
    };
    let n = dist
        .len()
        .or(family.as_ref().map(unmask_core::Oracle::len))
        .unwrap_or(0);
    env.budget()
        .check_curve_len(n)
        .map_err(crate::env::over_budget)?;
    if n == 0 || !n.is_multiple_of(block) {
        bail!("--block {block} must divide n = {n}");
    }
    let blocks = match dist.closed_block_curves(block) {
        Some(blocks) => blocks,
        None => {
            let family = match family.take() {
                Some(f) => f,
                None => io::build_family(&dist, env)?,
            };
            unmask_core::BlockCurves::by_enumeration(&family, block).ok_or_else(|| {
                anyhow::anyhow!(
                    "--dist {spec:?}: exact block curves come from the structure of product, parity, repeat, mds, rs and stay-or-move markov chains, or from enumerating the law when q^n · 2^L is small (at most 2^20 outcomes); {} is neither (estimate them with `unmask estimate --dist {spec} --block {block}`)",
                    dist.name()
                )
            })?
        }
    };
    let bytes = unmask_io::write_block_curves(&blocks, unit);
    if let Some(path) = &args.out {
        io::write_atomic(path, &bytes)?;
    }
    if args.output.json && args.out.is_none() {
        out.write_all(&bytes)?;
        return Ok(());
    }
    let mut t = Table::new(&["block", "tokens", "TC", "Z_L"]);
    for (b, c) in blocks.curves().iter().enumerate() {
        t.row(vec![
            (b + 1).to_string(),
            c.len().to_string(),
            num(unit.from_nats(c.tc())),
            num(unit.from_nats(c.z_n())),
        ]);
    }
    writeln!(
        out,
        "block curves of {dist} ({} blocks of {block}, {unit}; conditional on the prefix, later blocks masked)",
        blocks.blocks()
    )?;
    write!(out, "{}", t.render())?;
    if let Some(path) = &args.out {
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}
