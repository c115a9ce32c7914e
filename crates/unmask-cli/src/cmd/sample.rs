//! `unmask sample`: generate sequences with any schedule or adaptive rule.

use serde_json::json;
use unmask_core::{Unit, sample_batch};

use crate::args::{Output, Sampling};
use crate::report::{self, num};

/// Generate sequences.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub sampling: Sampling,
    #[command(flatten)]
    pub output: Output,
}

pub fn run(args: Args, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let unit = Unit::from(args.output.unit);
    let p = args.sampling.prepare(unit)?;
    let samples = sample_batch(
        &p.family,
        &p.rule,
        args.sampling.samples,
        args.sampling.seed,
        0,
    )?;
    let nfe_mean = samples.iter().map(|s| s.nfe() as f64).sum::<f64>() / samples.len() as f64;
    if args.output.json {
        let mut doc = report::header(unmask_core::Oracle::len(&p.family), unit);
        doc.insert("dist".into(), json!(p.dist.to_string()));
        doc.insert("seed".into(), json!(args.sampling.seed));
        doc.insert("nfe_mean".into(), json!(nfe_mean));
        doc.insert(
            "samples".into(),
            json!(
                samples
                    .iter()
                    .map(|s| json!({
                        "tokens": s.tokens,
                        "nfe": s.nfe(),
                        "counts": s.counts,
                        "ln_prob": report::finite(p.family.ln_pmf(&s.tokens)),
                    }))
                    .collect::<Vec<_>>()
            ),
        );
        report::print_json(out, &serde_json::Value::Object(doc))?;
        return Ok(());
    }
    writeln!(
        out,
        "{} samples of {} (seed {}), mean NFE {}",
        samples.len(),
        p.dist,
        args.sampling.seed,
        num(nfe_mean)
    )?;
    for s in &samples {
        let tokens: Vec<String> = s.tokens.iter().map(|t| t.to_string()).collect();
        writeln!(out, "{}  (nfe {})", tokens.join(" "), s.nfe())?;
    }
    Ok(())
}
