//! `unmask eval`: the exact expected KL of one schedule, per step, with bounds.

use anyhow::Context;
use unmask_core::{
    Guarantee, ScheduleSpec, Unit, expected_kl, li_cai_bound, smax_bound, step_costs,
};

use crate::args::{Input, Output};
use crate::env::Env;
use crate::report::{self, Table, num};

/// Exact expected KL of a schedule.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub output: Output,
    /// The schedule: counts (3,5,8) or a preset (llada:steps=32,block=8, dream:steps=32,
    /// cosine:steps=32, tc:epsilon=0.1,tc=5, optimal:steps=8, …; see the README).
    #[arg(long, short, value_name = "SPEC")]
    pub schedule: String,
}

pub fn run(args: Args, env: &Env, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    if let Some((blocks, source)) = args.input.load_blocks(env)? {
        return blockwise(&args, env, unit, &blocks, &source, out);
    }
    if args.schedule.trim_start().starts_with("mdlm") {
        return stochastic(args, env, unit, out);
    }
    let spec = ScheduleSpec::parse(&args.schedule, unit)
        .with_context(|| format!("--schedule {:?}", args.schedule))?;
    let loaded = args.input.load(env)?;
    let curve = &loaded.curve;
    let built = spec
        .build(curve.len(), Some(curve))
        .with_context(|| format!("--schedule {:?}", args.schedule))?;
    let schedule = &built.schedule;
    // The report holds one row per step (~600 bytes each in the JSON document).
    env.check(
        format!("the per-step report of {} steps", schedule.steps()),
        unmask_core::budget::Cost::memory(600.0 * schedule.steps() as f64),
    )?;
    let kl = expected_kl(curve, schedule)?;
    let costs = step_costs(curve, schedule)?;
    let li_cai = li_cai_bound(curve, schedule)?;
    let smax = smax_bound(curve, schedule)?;
    let u = |x: f64| unit.from_nats(x);
    let notes = report::InputNotes::new(&loaded, Some(schedule));
    if args.output.json {
        let doc = unmask_io::EvalReport {
            schema_version: unmask_io::SCHEMA_VERSION,
            n: curve.len(),
            unit: unit.name(),
            spec: args.schedule.clone(),
            steps: schedule.steps(),
            schedule: schedule.counts().to_vec(),
            expected_kl: u(kl),
            per_step: costs
                .iter()
                .map(|c| unmask_io::StepReport {
                    step: c.step,
                    start: c.start,
                    count: c.count,
                    expected_kl: u(c.expected_kl),
                })
                .collect(),
            wasted_steps: schedule.wasted_steps(),
            bounds: unmask_io::Bounds {
                li_cai: u(li_cai),
                smax_zn: u(smax),
                guarantee: built
                    .guarantee
                    .map(|g| unmask_io::GuaranteeReport::new(&g, curve, unit)),
            },
        };
        let mut doc = serde_json::to_value(doc)?;
        notes.add_to(&mut doc, unit);
        report::print_json(out, &doc)?;
        return Ok(());
    }
    writeln!(
        out,
        "{}, schedule {}",
        report::describe(&loaded, unit),
        args.schedule
    )?;
    write!(out, "{}", notes.text(curve.len(), unit))?;
    writeln!(out, "counts: {}", report::counts(schedule))?;
    writeln!(
        out,
        "steps: {} ({} wasted)   expected KL: {} {unit}   (TC = {})",
        schedule.steps(),
        schedule.wasted_steps(),
        num(u(kl)),
        num(u(curve.tc()))
    )?;
    writeln!(out, "{}", report::MEANING)?;
    writeln!(
        out,
        "bounds: Li–Cai {}   (s_max − 1)·Z_n {}",
        num(u(li_cai)),
        num(u(smax))
    )?;
    if let Some(g) = built.guarantee {
        writeln!(out, "guarantee: {}", guarantee_text(&g, curve, unit))?;
    }
    writeln!(out)?;
    let mut t = Table::new(&["step", "start", "count", &format!("expected KL ({unit})")]);
    let shown: Vec<_> = if costs.len() <= 64 {
        costs.iter().collect()
    } else {
        let mut by_cost: Vec<_> = costs.iter().collect();
        by_cost.sort_by(|a, b| b.expected_kl.total_cmp(&a.expected_kl));
        by_cost.truncate(20);
        by_cost.sort_by_key(|c| c.step);
        writeln!(out, "the 20 costliest of {} steps:", costs.len())?;
        by_cost
    };
    for c in shown {
        t.row(vec![
            c.step.to_string(),
            c.start.to_string(),
            c.count.to_string(),
            num(u(c.expected_kl)),
        ]);
    }
    write!(out, "{}", t.render())?;
    Ok(())
}

fn guarantee_text(g: &Guarantee, curve: &unmask_core::InformationCurve, unit: Unit) -> String {
    let bound = g.bound(curve).map(|b| num(unit.from_nats(b)));
    match *g {
        Guarantee::Theorem9 {
            dtc,
            estimate,
            epsilon,
            zeta,
            max_steps,
        } => {
            let name = if dtc { "DTC" } else { "TC" };
            format!(
                "CCL Theorem 9 (ζ = {zeta}): E-KL ≤ ε = {} for every distribution with {name} ≤ {}, in ≤ {:.1} steps; {}",
                num(unit.from_nats(epsilon)),
                num(unit.from_nats(estimate)),
                max_steps,
                if bound.is_some() {
                    "this curve qualifies"
                } else {
                    "this curve's correlation exceeds the estimate"
                },
            )
        }
        Guarantee::Budget { dtc, zeta } => {
            let name = if dtc { "DTC" } else { "TC" };
            match bound {
                Some(b) => {
                    format!("CCL Theorem 9, fixed budget (ζ = {zeta}): E-KL ≤ {name}/(ζ − 1) = {b}")
                }
                None => format!(
                    "ζ = {zeta}: no step budget fits a geometric schedule; one step (E-KL = TC)"
                ),
            }
        }
    }
}

/// `--schedule mdlm:…`: random Binomial counts, evaluated exactly in expectation.
fn stochastic(
    args: Args,
    env: &Env,
    unit: Unit,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let schedule = unmask_core::preset::BinomialSchedule::parse(&args.schedule)
        .with_context(|| format!("--schedule {:?}", args.schedule))?;
    let loaded = args.input.load(env)?;
    let curve = &loaded.curve;
    env.check(
        format!(
            "the exact expectation of {} over n = {} tokens",
            args.schedule,
            curve.len()
        ),
        schedule.cost(curve.len()),
    )?;
    let kl = schedule.expected_kl(curve)?;
    let (counts, busy) = schedule.expected_counts(curve.len());
    let calls = schedule.expected_model_calls(curve.len());
    let u = |x: f64| unit.from_nats(x);
    if args.output.json {
        let doc = unmask_io::StochasticEvalReport {
            schema_version: unmask_io::SCHEMA_VERSION,
            n: curve.len(),
            unit: unit.name(),
            spec: args.schedule.clone(),
            stochastic: true,
            steps: schedule.passes(),
            expected_counts: counts.clone(),
            expected_kl: u(kl),
            expected_busy_steps: busy,
            expected_nfe: calls,
        };
        report::print_json(out, &serde_json::to_value(doc)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{}, schedule {} (random counts)",
        report::describe(&loaded, unit),
        args.schedule
    )?;
    writeln!(
        out,
        "passes: {} ({} steps + noise removal); expected passes that reveal something: {}",
        schedule.passes(),
        schedule.passes() - 1,
        num(busy)
    )?;
    writeln!(
        out,
        "expected model calls of MDLM's loop (cached for log-linear noise): {}",
        num(calls)
    )?;
    writeln!(
        out,
        "expected KL over counts and orders: {} {unit}",
        num(u(kl))
    )?;
    let shown: Vec<String> = counts.iter().take(12).map(|c| num(*c)).collect();
    writeln!(
        out,
        "expected counts: {}{}",
        shown.join(", "),
        if counts.len() > 12 { ", …" } else { "" }
    )?;
    Ok(())
}

/// `--blocks`: a block-wise decoder, evaluated exactly per block. Counts and presets are built
/// for all n tokens and split at the block boundaries (`llada:steps=K,block=L` gives every block
/// K/m steps); `optimal:steps=K` and `optimal:epsilon=E` allocate the steps optimally.
fn blockwise(
    args: &Args,
    env: &Env,
    unit: Unit,
    blocks: &unmask_core::BlockCurves,
    source: &str,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let spec = ScheduleSpec::parse(&args.schedule, unit)
        .with_context(|| format!("--schedule {:?}", args.schedule))?;
    let (schedules, per_block) = match spec {
        ScheduleSpec::Optimal(target) => {
            let reach = match target {
                unmask_core::Target::Steps(k) => k,
                unmask_core::Target::Epsilon(_) => blocks.len(),
            };
            env.check(
                format!(
                    "the optimal allocation over {} blocks, n = {}",
                    blocks.blocks(),
                    blocks.len()
                ),
                unmask_core::blockwise_frontier_cost(blocks, &[reach]),
            )?;
            let best = match target {
                unmask_core::Target::Steps(k) => unmask_core::optimal_blockwise(blocks, k)?,
                unmask_core::Target::Epsilon(e) => unmask_core::min_steps_blockwise(blocks, e)?,
            };
            (best.schedules, best.per_block)
        }
        spec => {
            let flat = spec
                .build(blocks.len(), None)
                .with_context(|| format!("--schedule {:?}", args.schedule))?
                .schedule;
            let split = blocks
                .split(&flat)
                .with_context(|| format!("--schedule {:?}", args.schedule))?;
            let (_, per) = unmask_core::blockwise_expected_kl(blocks, &split)?;
            (split, per)
        }
    };
    let mut doc = unmask_io::BlockwiseReport::new(blocks.len(), unit, &schedules, &per_block);
    doc.spec = Some(args.schedule.clone());
    if args.output.json {
        report::print_json(out, &serde_json::to_value(doc)?)?;
    } else {
        write!(out, "{}", report::blockwise_text(source, blocks, &doc))?;
    }
    Ok(())
}
