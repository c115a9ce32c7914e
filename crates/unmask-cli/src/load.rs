//! Turning the flags into validated inputs: a curve from `--curve` or `--dist`, block curves
//! from `--blocks`, a sampler ready to run from the sampling flags. Every size is priced
//! against the run's [`Env`] before it is built.

use anyhow::Context;
use unmask_core::{DistSpec, InformationCurve, Repair, Unit};

use crate::args::{Input, Sampling};
use crate::env::Env;

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

impl Input {
    /// Reads `--blocks`, when given: the block curves and the file's name.
    pub fn load_blocks(
        &self,
        env: &Env,
    ) -> anyhow::Result<Option<(unmask_core::BlockCurves, String)>> {
        let Some(path) = &self.blocks else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading block curves from {}", path.display()))?;
        let (blocks, _) = unmask_io::read_block_curves(&text, env.budget())
            .map_err(|e| match e {
                unmask_io::BlockFileError::Budget(b) => crate::env::over_budget(b),
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
    pub fn load(&self, env: &Env) -> anyhow::Result<Loaded> {
        if self.blocks.is_some() {
            anyhow::bail!(
                "--blocks works with eval, plan, compare and frontier; give --curve or --dist here"
            );
        }
        match (&self.curve, &self.dist) {
            (Some(path), _) => {
                let read = crate::io::read_curve_full(
                    path,
                    self.curve_unit.map(Unit::from),
                    self.repair,
                    env,
                )
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
                dist.check_curve(env.budget())
                    .map_err(crate::env::over_budget)
                    .with_context(|| format!("--dist {spec:?}"))?;
                let (curve, source) =
                    dist_curve(&dist, env).with_context(|| format!("--dist {spec:?}"))?;
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
pub fn dist_curve(dist: &DistSpec, env: &Env) -> anyhow::Result<(InformationCurve, String)> {
    let (curve, source) = dist.curve(crate::io::file_data(dist, env)?)?;
    Ok((curve, format!("{dist}{source}")))
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

    pub fn prepare(&self, unit: Unit, env: &Env) -> anyhow::Result<Prepared> {
        let text = self.dist_text()?;
        let dist = DistSpec::parse(text).with_context(|| format!("--dist {text:?}"))?;
        let budget = env.budget();
        env.check(format!("building {}", text), dist.build_cost())
            .with_context(|| format!("--dist {:?}", text))?;
        let family =
            crate::io::build_family(&dist, env).with_context(|| format!("--dist {:?}", text))?;
        // The exact curve only when its computation fits the budget (a stay chain with a large q
        // samples cheaply, but its curve needs q² per distance).
        let curve = match dist.check_curve(budget) {
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
                        dist.check_curve(budget)
                            .map_err(crate::env::over_budget)
                            .with_context(|| format!("--dist {:?}", text))?;
                        Some(dist_curve(&dist, env)?.0)
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
        dist.check_sampling(budget, shape, env.threads())
            .map_err(crate::env::over_budget)
            .with_context(|| format!("--dist {:?}", text))?;
        Ok(Prepared {
            dist,
            family,
            rule,
            curve,
        })
    }
}
