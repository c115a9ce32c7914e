//! `unmask demo`: a tour of the paper's distribution families on built-in inputs.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::{Value, json};
use unmask_core::{DistSpec, Method, Unit, compare, default_frontier_steps, optimal_schedule};

use crate::args::{Loaded, Output, parse_steps};
use crate::plot;
use crate::report::{self, num};

/// The built-in families, n = 256.
pub const FAMILIES: &[(&str, &str)] = &[
    ("parity", "parity:n=256"),
    ("repeat", "repeat:n=256,q=32"),
    ("mds", "mds:n=256,k=64,q=257"),
    ("logfactor", "logfactor:n=256,eps=0.05"),
    ("product", "product:n=256"),
];

/// A tour of the paper's families.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub output: Output,
    /// Step budget for the plans and comparisons.
    #[arg(long, value_name = "K", default_value_t = 16, value_parser = parse_steps, allow_negative_numbers = true)]
    pub steps: usize,
    /// Write one SVG plot per family into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut docs = Vec::new();
    if !args.output.json {
        writeln!(
            out,
            "unmask demo: the optimal {}-step schedule against today's presets on the paper's families.\n\
             Expected KL (in {unit}) is exact (CCL Theorem 16); \"steps to match\" is how many forward\n\
             passes a preset needs to be as good as the optimum with {} steps.\n",
            args.steps, args.steps
        )?;
    }
    for &(name, spec) in FAMILIES {
        let dist = DistSpec::parse(spec).expect("built-in specs are valid");
        let loaded = Loaded {
            curve: dist
                .closed_curve()
                .expect("built-in families have closed forms"),
            source: dist.to_string(),
            repair: None,
        };
        let curve = &loaded.curve;
        let steps = args.steps.min(curve.len());
        let best = optimal_schedule(curve, steps, Method::Lagrangian)?;
        let cmp = compare(curve, steps)?;
        if let Some(dir) = &args.out {
            let grid = default_frontier_steps(curve.len());
            let series = super::frontier::series(curve, &grid, false)?;
            let path = dir.join(format!("{name}.svg"));
            let title = format!("{spec}: optimal {steps} steps");
            plot::write(&path, curve, unit, Some(&best.schedule), &series, &title)?;
        }
        if args.output.json {
            let mut doc = super::curve::summary_json(&loaded, unit);
            doc.insert(
                "plan".into(),
                json!({
                    "steps": best.schedule.steps(),
                    "schedule": best.schedule.counts(),
                    "expected_kl": unit.from_nats(best.expected_kl),
                }),
            );
            doc.insert("compare".into(), super::compare::rows_json(&cmp, unit));
            docs.push(Value::Object(doc));
            continue;
        }
        writeln!(out, "== {name} ==")?;
        write!(out, "{}", super::curve::summary_text(&loaded, unit))?;
        writeln!(
            out,
            "optimal {} steps: {} → expected KL {} {unit}",
            steps,
            report::counts(&best.schedule),
            num(unit.from_nats(best.expected_kl))
        )?;
        write!(out, "{}", super::compare::table(&cmp, unit))?;
        if let Some(dir) = &args.out {
            writeln!(out, "plot: {}", dir.join(format!("{name}.svg")).display())?;
        }
        writeln!(out)?;
    }
    if args.output.json {
        let doc = json!({
            "schema_version": report::SCHEMA_VERSION,
            "unit": unit.name(),
            "steps": args.steps,
            "families": docs,
        });
        report::print_json(out, &doc)?;
    }
    Ok(())
}
