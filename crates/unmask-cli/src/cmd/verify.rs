//! `unmask verify`: the theory's numbers against simulation.

use unmask_core::{
    Moments, Rule, Runs, Unit, exact_law, exact_output_law, expected_kl, kl_divergence,
    mc_expected_kl, mc_expected_kl_binomial, sample_batch, stream,
};

use crate::args::{Output, Sampling};
use crate::env::Env;
use crate::report::{self, num};

/// Check the theory against simulation.
#[derive(Debug, clap::Args)]
// μ is always exact here, so --dist is required, with or without --model (the shared sampling
// flags let `sample --model` go without it).
#[command(mut_arg("dist", |a| a.required(true)))]
pub struct Args {
    #[command(flatten)]
    pub sampling: Sampling,
    /// A trained network (checkpoint directory) as the sampler's conditionals, μ still exact:
    /// the Monte Carlo KL splits into the model's error (one token per step) and the
    /// schedule's part (needs --schedule).
    #[arg(long, value_name = "DIR", requires = "schedule")]
    pub model: Option<std::path::PathBuf>,
    /// With --model: the model's cross-entropy curve (`unmask estimate --model … --out FILE`):
    /// curve-based presets are planned from it, and `predicted` = model error + Theorem 16 on it.
    #[arg(long, value_name = "FILE", requires = "model")]
    pub curve: Option<std::path::PathBuf>,
    /// Project a noisy --curve onto the valid set (reporting the largest correction).
    #[arg(long, requires = "curve")]
    pub repair: bool,
    #[command(flatten)]
    pub output: Output,
}

pub fn run(args: Args, env: &Env, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    if let Some(dir) = &args.model {
        return run_model(&args, env, dir, unit, out);
    }
    let p = args.sampling.prepare(unit, env)?;
    if let (Rule::Binomial(b), Some(_)) = (&p.rule, &p.curve) {
        let n = unmask_core::Oracle::len(&p.family);
        env.check(
            format!(
                "the exact expectation of MDLM's {} passes over n = {n} tokens",
                b.passes()
            ),
            b.cost(n),
        )?;
    }
    let (m, seed) = (args.sampling.samples, args.sampling.seed);
    let measured = measure(&p, env, m, seed)?;
    render(&args, &p, &measured, unit, out)
}

/// What `verify` measures on a prepared sampler (nats).
struct Measured {
    /// Theorem 16 (or MDLM's exact expectation) on the exact curve, when there is one.
    exact: Option<f64>,
    /// The Monte Carlo expected KL, averaged over orders.
    mc: Option<Moments>,
    /// KL(μ‖ν) of the sampler's output law, when μ and ν can be enumerated.
    sampler_kl: Option<f64>,
    nfe: f64,
    gen_nll: Moments,
    /// H(X), exact or estimated (with its standard error).
    entropy: (f64, Option<f64>),
    /// The fraction of outputs in the support (codewords for a code).
    valid: f64,
    codes: bool,
}

/// Runs the Monte Carlo, the exact laws where they fit the budget, and the sampler's own
/// outputs.
fn measure(p: &crate::load::Prepared, env: &Env, m: usize, seed: u64) -> anyhow::Result<Measured> {
    let bar = || crate::progress::Progress::new(m as u64, "Monte Carlo expected KL");
    let (exact, mc) = match (&p.rule, &p.curve) {
        (Rule::RandomOrder(s), curve) => (
            curve.as_ref().map(|c| expected_kl(c, s)).transpose()?,
            Some(mc_expected_kl(
                &p.family,
                s,
                Runs::new(m, seed).observe(&bar()),
            )?),
        ),
        (Rule::Binomial(b), curve) => (
            curve.as_ref().map(|c| b.expected_kl(c)).transpose()?,
            Some(mc_expected_kl_binomial(
                &p.family,
                b,
                Runs::new(m, seed).observe(&bar()),
            )),
        ),
        _ => (None, None),
    };
    // The sampler's law first: μ's table is only worth building when ν could be enumerated.
    // Both are optional extras, computed only when μ's table (q^n outcomes, one ln μ each) fits
    // the work budget; otherwise `sampler_kl` is null.
    let n = unmask_core::Oracle::len(&p.family);
    let q = unmask_core::Oracle::vocab_size(&p.family) as f64;
    let per_outcome = p.dist.call_cost(0).work + n as f64;
    let table = unmask_core::budget::Cost::work(q.powi(n.min(64) as i32) * per_outcome);
    let sampler_kl = if env.check("the exact laws", table).is_ok() {
        exact_output_law(&p.family, &p.rule)
            .and_then(|nu| exact_law(&p.family).map(|mu| kl_divergence(&mu, &nu)))
    } else {
        None
    };
    // The sampler's own outputs: NFE, −ln μ(x), validity. Streams after the MC draws.
    let samples = sample_batch(&p.family, &p.rule, m, seed, m as u64)?;
    let nfe = samples.iter().map(|s| s.nfe() as f64).sum::<f64>() / m as f64;
    let lps: Vec<f64> = samples.iter().map(|s| p.family.ln_pmf(&s.tokens)).collect();
    let valid = lps.iter().filter(|l| l.is_finite()).count() as f64 / m as f64;
    let gen_nll = Moments::of(lps.iter().filter(|l| l.is_finite()).map(|l| -l));
    let entropy = match p.family.entropy() {
        Some(h) => (h, None),
        None => {
            let h = Moments::of((0..m).map(|i| {
                let x = p.family.sample(&mut stream(seed, 2 * m as u64 + i as u64));
                -p.family.ln_pmf(&x)
            }));
            (h.mean(), Some(h.stderr()))
        }
    };
    let codes = p.family.is_codeword(&samples[0].tokens).is_some();
    Ok(Measured {
        exact,
        mc,
        sampler_kl,
        nfe,
        gen_nll,
        entropy,
        valid,
        codes,
    })
}

/// The report: JSON (`unmask_io::VerifyReport`) or text.
fn render(
    args: &Args,
    p: &crate::load::Prepared,
    r: &Measured,
    unit: Unit,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let (m, seed) = (args.sampling.samples, args.sampling.seed);
    let u = |x: f64| unit.from_nats(x);
    let Measured {
        exact,
        mc,
        sampler_kl,
        nfe,
        ref gen_nll,
        entropy,
        valid,
        codes,
    } = *r;
    if args.output.json {
        let doc = unmask_io::VerifyReport {
            schema_version: unmask_io::SCHEMA_VERSION,
            n: unmask_core::Oracle::len(&p.family),
            unit: unit.name(),
            dist: p.dist.to_string(),
            seed,
            samples: m,
            exact_expected_kl: exact.map(u),
            mc_expected_kl: mc.map(|x| u(x.mean())),
            stderr: mc.map(|x| u(x.stderr())),
            ci95: mc.map(|x| [u(x.ci95().0), u(x.ci95().1)]),
            sampler_kl: sampler_kl.map(u).and_then(report::finite),
            nfe,
            gen_nll: report::finite(u(gen_nll.mean())),
            entropy: u(entropy.0),
            entropy_stderr: entropy.1.map(u),
            valid_fraction: valid,
        };
        report::print_json(out, &serde_json::to_value(doc)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "verify {} with {} samples (seed {seed}); values in {unit}",
        p.dist, m
    )?;
    if let Some(e) = exact {
        writeln!(
            out,
            "expected KL (averaged over orders), exact (Theorem 16): {}",
            num(u(e))
        )?;
        writeln!(out, "{}", report::MEANING)?;
    }
    if let Some(mc) = mc {
        let (lo, hi) = mc.ci95();
        writeln!(
            out,
            "expected KL (averaged over orders), Monte Carlo:        {} ± {}  (95% CI [{}, {}])",
            num(u(mc.mean())),
            num(u(mc.stderr())),
            num(u(lo)),
            num(u(hi))
        )?;
    }
    match sampler_kl {
        Some(k) => writeln!(
            out,
            "KL(μ‖ν) of the sampler's output law (orders mixed; at most the above): {}",
            if k.is_finite() {
                num(u(k))
            } else {
                "∞".into()
            }
        )?,
        None => writeln!(
            out,
            "sampler KL(μ‖ν): not computed (distribution too large or rule not enumerable)"
        )?,
    }
    writeln!(out, "mean NFE: {}", num(nfe))?;
    writeln!(
        out,
        "generative NLL −ln μ(x): {} (H(X) = {}{}), {}: {:.4}",
        num(u(gen_nll.mean())),
        num(u(entropy.0)),
        entropy
            .1
            .map_or(String::new(), |s| format!(" ± {}", num(u(s)))),
        if codes {
            "codeword fraction"
        } else {
            "in-support fraction"
        },
        valid
    )?;
    Ok(())
}

/// `verify --model`: μ exact, the sampler's conditionals from the network.
fn run_model(
    args: &Args,
    env: &Env,
    dir: &std::path::Path,
    unit: Unit,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    use anyhow::{Context, bail};
    let s = &args.sampling;
    if !matches!(s.rule.as_deref().map(str::trim), None | Some("random")) {
        bail!("--rule: verify --model measures the random-order sampler; drop --rule");
    }
    let spec = s
        .schedule
        .as_deref()
        .context("--schedule: verify --model needs the schedule to measure")?;
    let dist = unmask_core::DistSpec::parse(s.dist_text()?)
        .with_context(|| format!("--dist {:?}", s.dist_text().unwrap_or("")))?;
    env.check(format!("building {}", s.dist_text()?), dist.build_cost())?;
    let family = crate::io::build_family(&dist, env)
        .with_context(|| format!("--dist {:?}", s.dist_text().unwrap_or("")))?;
    let n = unmask_core::Oracle::len(&family);
    let (model, vocab) = crate::io::load_model(dir, env)?;
    let oracle = crate::io::oracle_for(dir, model, &vocab, &family, 64)?;
    let model_curve =
        crate::io::read_model_curve(args.curve.as_deref(), args.repair, n, "--dist has n", env)?;
    let exact = match dist.check_curve(env.budget()) {
        Ok(()) => family.exact_curve(),
        Err(_) => None,
    };
    // Curve-based presets come from the model's curve when given: what a user without the
    // truth would plan.
    let schedule = unmask_core::ScheduleSpec::parse(spec, unit)
        .with_context(|| format!("--schedule {spec:?}"))?
        .build(n, model_curve.as_ref().or(exact.as_ref()))
        .with_context(|| format!("--schedule {spec:?}"))?
        .schedule;
    env.check_model_passes(
        &oracle,
        s.samples as f64 * (schedule.steps() + n) as f64,
        format!("{} draws through the model", s.samples),
    )?;
    let (m, seed) = (s.samples, s.seed);
    let singles = unmask_core::Schedule::from_counts(vec![1; n])?;
    let bar = crate::progress::Progress::new(2 * m as u64, "Monte Carlo KL through the model");
    let total = unmask_core::mc_model_kl(
        &family,
        &oracle,
        &schedule,
        Runs::new(m, seed).observe(&bar),
    )?;
    let model_error =
        unmask_core::mc_model_kl(&family, &oracle, &singles, Runs::new(m, seed).observe(&bar))?;
    drop(bar);
    let theorem = model_curve
        .as_ref()
        .map(|c| expected_kl(c, &schedule))
        .transpose()?;
    let predicted = theorem.map(|t| model_error.mean() + t);
    let perfect = exact
        .as_ref()
        .map(|c| expected_kl(c, &schedule))
        .transpose()?;
    let u = |x: f64| unit.from_nats(x);
    let ci = |x: &Moments| [u(x.ci95().0), u(x.ci95().1)];
    if args.output.json {
        let doc = serde_json::json!({
            "schema_version": unmask_io::SCHEMA_VERSION,
            "n": n,
            "unit": unit.name(),
            "dist": dist.to_string(),
            "model": dir,
            "seed": seed,
            "samples": m,
            "steps": schedule.steps(),
            "schedule": schedule.counts(),
            "exact_expected_kl": perfect.map(u),
            "mc_expected_kl": u(total.mean()),
            "stderr": u(total.stderr()),
            "ci95": ci(&total),
            "model_error": u(model_error.mean()),
            "model_error_stderr": u(model_error.stderr()),
            "model_error_ci95": ci(&model_error),
            "theorem16_on_curve": theorem.map(u),
            "predicted": predicted.map(u),
        });
        return report::print_json(out, &doc);
    }
    writeln!(
        out,
        "verify {dist} through model {} with {m} draws (seed {seed}), {} steps; values in {unit}",
        dir.display(),
        schedule.steps()
    )?;
    let line = |x: &Moments| {
        format!(
            "{} ± {}  (95% CI [{}, {}])",
            num(u(x.mean())),
            num(u(x.stderr())),
            num(u(x.ci95().0)),
            num(u(x.ci95().1))
        )
    };
    writeln!(
        out,
        "expected KL (averaged over orders), Monte Carlo: {}",
        line(&total)
    )?;
    writeln!(
        out,
        "  model error (one token per step): {}",
        line(&model_error)
    )?;
    if let (Some(p), Some(t)) = (predicted, theorem) {
        writeln!(
            out,
            "  predicted: model error + Theorem 16 on the model's curve = {} + {} = {}",
            num(u(model_error.mean())),
            num(u(t)),
            num(u(p))
        )?;
    }
    if let Some(e) = perfect {
        writeln!(
            out,
            "  (the schedule's cost for a perfect model, Theorem 16 on the exact curve: {})",
            num(u(e))
        )?;
    }
    Ok(())
}
