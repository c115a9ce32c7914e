//! `unmask demo`: a tour of the paper's distribution families on built-in inputs.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::{Value, json};
use unmask_core::{DistSpec, Method, Unit, compare, default_frontier_steps, optimal_schedule};

use crate::args::{Output, parse_steps};
use crate::env::Env;
use crate::load::Loaded;
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

/// The built-in families are small (n ≤ a few thousand), so the demo prices nothing.
pub fn run(args: Args, _env: &Env, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
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
            measured: Vec::new(),
        };
        let curve = &loaded.curve;
        let steps = args.steps.min(curve.len());
        let best = optimal_schedule(curve, steps, Method::Lagrangian)?;
        let cmp = compare(curve, steps)?;
        if let Some(dir) = &args.out {
            let grid = default_frontier_steps(curve.len());
            let series = plot::series(curve, &grid, &unmask_core::Baseline::frontier_order())?;
            let path = dir.join(format!("{name}.svg"));
            let title = format!("{spec}: optimal {steps} steps");
            let marks = plot::Marks {
                budget: Some(steps),
                ..plot::Marks::default()
            };
            plot::write(
                &path,
                curve.z(),
                unit,
                Some(&best.schedule),
                &series,
                &title,
                &marks,
            )?;
        }
        if args.output.json {
            let mut doc = report::curve_json(&loaded, unit);
            doc.insert(
                "plan".into(),
                json!({
                    "steps": best.schedule.steps(),
                    "schedule": best.schedule.counts(),
                    "expected_kl": unit.from_nats(best.expected_kl),
                }),
            );
            let rows = unmask_io::CompareReport::new(curve.len(), unit, steps, &cmp).rows;
            doc.insert("compare".into(), serde_json::to_value(rows)?);
            docs.push(Value::Object(doc));
            continue;
        }
        writeln!(out, "== {name} ==")?;
        write!(out, "{}", report::curve_text(&loaded, unit))?;
        writeln!(
            out,
            "optimal {} steps: {} → expected KL {} {unit}",
            steps,
            report::counts(&best.schedule),
            num(unit.from_nats(best.expected_kl))
        )?;
        write!(out, "{}", report::comparison_table(&cmp, unit))?;
        if let Some(dir) = &args.out {
            writeln!(out, "plot: {}", dir.join(format!("{name}.svg")).display())?;
        }
        writeln!(out)?;
    }
    let verified = verified(args.steps.min(8), unit)?;
    if args.output.json {
        let doc = json!({
            "schema_version": report::SCHEMA_VERSION,
            "unit": unit.name(),
            "steps": args.steps,
            "families": docs,
            "verified": verified.0,
        });
        report::print_json(out, &doc)?;
    } else {
        write!(out, "{}", verified.1)?;
    }
    Ok(())
}

/// Families with samplers for the simulation check, n small enough to be quick.
const SIMULATED: &[&str] = &[
    "parity:n=16",
    "rs:n=16,k=4,q=17",
    "repeat:n=16,q=8",
    "markov:n=32,q=4,stay=0.9",
    "code:n=16,k=6,q=3",
];

/// Draws for each simulation check.
const DRAWS: usize = 4000;

/// Theorem 16 against simulation: for each family, the optimal and the uniform schedule's
/// exact expected KL beside a Monte Carlo estimate (fixed seed) with its 95% interval.
fn verified(steps: usize, unit: Unit) -> anyhow::Result<(Value, String)> {
    let mut rows = Vec::new();
    let mut t = report::Table::new(&[
        "family",
        "schedule",
        "exact E-KL",
        "Monte Carlo ± se",
        "in 95% CI",
    ]);
    for spec in SIMULATED {
        let dist = DistSpec::parse(spec).expect("built-in specs are valid");
        let family = dist.build(None)?;
        let curve = family
            .exact_curve()
            .expect("these families have exact curves");
        let n = curve.len();
        for (name, schedule) in [
            (
                "optimal",
                optimal_schedule(&curve, steps, Method::Lagrangian)?.schedule,
            ),
            ("uniform", unmask_core::preset::llada(n, steps, None)?),
        ] {
            let exact = unmask_core::expected_kl(&curve, &schedule)?;
            let mc =
                unmask_core::mc_expected_kl(&family, &schedule, unmask_core::Runs::new(DRAWS, 0))?;
            let (lo, hi) = mc.ci95();
            let inside = lo - 1e-9 <= exact && exact <= hi + 1e-9;
            let u = |x: f64| unit.from_nats(x);
            rows.push(json!({
                "dist": spec, "schedule_name": name, "schedule": schedule.counts(),
                "exact_expected_kl": u(exact), "mc_expected_kl": u(mc.mean()),
                "stderr": u(mc.stderr()), "ci95": [u(lo), u(hi)], "samples": DRAWS,
            }));
            t.row(vec![
                spec.to_string(),
                format!("{name} {}", report::counts(&schedule)),
                num(u(exact)),
                format!("{} ± {}", num(u(mc.mean())), num(u(mc.stderr()))),
                if inside { "yes".into() } else { "no".into() },
            ]);
        }
    }
    let text = format!(
        "== verified by simulation ({DRAWS} draws each, seed 0, {steps} steps, {unit}) ==\n{}",
        t.render()
    );
    Ok((Value::Array(rows), text))
}
