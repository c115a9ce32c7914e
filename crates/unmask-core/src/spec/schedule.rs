use std::fmt;

use crate::curve::{InformationCurve, Unit};
use crate::optimize::{self, Method};
use crate::preset::{self, PresetError};
use crate::schedule::Schedule;

use super::{Params, SpecError};

/// How a theory schedule (TC, DTC) is parameterised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Theory {
    /// Theorem 9 with an estimate of TC (or DTC) and a target ε, both in nats.
    Target {
        /// Error target ε (nats).
        epsilon: f64,
        /// Estimate of TC or DTC (nats).
        estimate: f64,
    },
    /// The fixed-budget reading: the largest ζ with at most this many steps.
    Budget(usize),
}

/// What the optimiser is asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Exactly this many steps.
    Steps(usize),
    /// The fewest steps with expected KL ≤ ε (nats).
    Epsilon(f64),
}

/// A parsed schedule spec.
///
/// Schedule specs: counts or named presets, built into a [`Schedule`] for a length n.
///
/// A spec is either explicit counts (`3,5,8`) or `NAME[:key=value,…]`:
///
/// | spec | meaning |
/// |---|---|
/// | `llada:steps=K[,block=B]` | LLaDA's counts, block by block ([`preset::llada`]) |
/// | `uniform:steps=K` | LLaDA with one block |
/// | `dream:steps=K[,eps=0.001][,linspace=fused\|plain]` | Dream's counts, zero first step kept ([`preset::dream`]) |
/// | `cosine:steps=K` | MaskGIT cosine ([`preset::cosine`]) |
/// | `pow:steps=K,p=P` | polynomial grid ([`preset::power`]) |
/// | `pyramid:factor=F` | step i reveals ⌊i/F⌋+1 ([`preset::pyramid`]) |
/// | `constant:size=S` | constant steps ([`preset::constant`]) |
/// | `tc:epsilon=E,tc=T`, `dtc:epsilon=E,dtc=D` | CCL Theorem 9 ([`preset::tc_schedule`]) |
/// | `tc:steps=K`, `dtc:steps=K` | the fixed-budget reading ([`preset::theory_budget`]) |
/// | `austin:epsilon=E,dtc=D` | CCL Theorem 10 ([`preset::austin`]) |
/// | `sqrt:steps=K` | continuum rule, needs a curve ([`preset::sqrt_rule`]) |
/// | `optimal:steps=K`, `optimal:epsilon=E` | the optimum, needs a curve ([`crate::optimal_schedule`]) |
///
/// Information-valued parameters (`epsilon`, `tc`, `dtc`) are read in the unit passed to
/// [`ScheduleSpec::parse`] and stored in nats. Unknown names and keys are errors that list the
/// valid ones; the parser never panics on any input.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ScheduleSpec {
    /// Explicit counts.
    Counts(Vec<usize>),
    /// LLaDA's counts.
    Llada {
        /// Total steps.
        steps: usize,
        /// Block length (None: one block).
        block: Option<usize>,
    },
    /// LLaDA with one block.
    Uniform {
        /// Total steps.
        steps: usize,
    },
    /// Dream's counts.
    Dream {
        /// Total steps.
        steps: usize,
        /// Final time of the grid.
        eps: f64,
        /// How `torch.linspace` rounds the grid.
        linspace: preset::Linspace,
    },
    /// MaskGIT cosine.
    Cosine {
        /// Total steps.
        steps: usize,
    },
    /// Polynomial grid.
    Pow {
        /// Total steps.
        steps: usize,
        /// Exponent.
        p: f64,
    },
    /// Pyramid.
    Pyramid {
        /// Tokens per step grow by one every `factor` steps.
        factor: usize,
    },
    /// Constant step size.
    Constant {
        /// Step size.
        size: usize,
    },
    /// CCL's TC schedule.
    Tc(Theory),
    /// CCL's DTC schedule.
    Dtc(Theory),
    /// CCL's two-phase schedule.
    Austin {
        /// Target ε (nats).
        epsilon: f64,
        /// DTC estimate (nats).
        dtc: f64,
    },
    /// Square-root continuum rule.
    Sqrt {
        /// Total steps.
        steps: usize,
    },
    /// The optimum.
    Optimal(Target),
}

/// The valid spec names.
pub const SCHEDULE_NAMES: &[&str] = &[
    "llada", "uniform", "dream", "cosine", "pow", "pyramid", "constant", "tc", "dtc", "austin",
    "sqrt", "optimal",
];

fn schedule_keys(name: &str) -> &'static [&'static str] {
    match name {
        "llada" => &["steps", "block"],
        "dream" => &["steps", "eps", "linspace"],
        "pow" => &["steps", "p"],
        "pyramid" => &["factor"],
        "constant" => &["size"],
        "tc" => &["steps", "epsilon", "tc"],
        "dtc" => &["steps", "epsilon", "dtc"],
        "austin" => &["epsilon", "dtc"],
        "optimal" => &["steps", "epsilon"],
        _ => &["steps"],
    }
}

/// A provable statement about a theory schedule's error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Guarantee {
    /// CCL Theorem 9: for every μ whose TC (or DTC) is at most `estimate`, `E-KL ≤ epsilon`,
    /// with at most `max_steps` steps.
    Theorem9 {
        /// Whether the schedule is the TC (false) or DTC (true) one.
        dtc: bool,
        /// The estimate the schedule was built for (nats).
        estimate: f64,
        /// The target (nats).
        epsilon: f64,
        /// ζ = 1 + ⌈estimate/ε⌉.
        zeta: usize,
        /// `2 + (1 + ln n)(1 + ⌈estimate/ε⌉)`.
        max_steps: f64,
    },
    /// The fixed-budget reading: `E-KL ≤ TC/(ζ − 1)` (or DTC) for every μ.
    Budget {
        /// Whether the schedule is the TC (false) or DTC (true) one.
        dtc: bool,
        /// The ζ chosen.
        zeta: usize,
    },
}

impl Guarantee {
    /// The bound this guarantee gives on `curve` (nats), or None when its assumption fails
    /// (the curve's TC or DTC exceeds the estimate) or it says nothing (ζ = 1).
    pub fn bound(&self, curve: &InformationCurve) -> Option<f64> {
        let corr = |dtc: bool| if dtc { curve.dtc() } else { curve.tc() };
        match *self {
            Guarantee::Theorem9 {
                dtc,
                estimate,
                epsilon,
                ..
            } => (corr(dtc) <= estimate * (1.0 + crate::tol::REL)).then_some(epsilon),
            Guarantee::Budget { dtc, zeta } => {
                if zeta > curve.len() {
                    Some(0.0)
                } else {
                    (zeta >= 2).then(|| corr(dtc) / (zeta - 1) as f64)
                }
            }
        }
    }
}

/// A schedule built from a spec, with the guarantee that comes with it (theory schedules).
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// The schedule.
    pub schedule: Schedule,
    /// The theorem behind it, if any.
    pub guarantee: Option<Guarantee>,
}

impl ScheduleSpec {
    /// Parses a spec, reading information-valued parameters in `unit`.
    ///
    /// # Errors
    ///
    /// A [`SpecError`] naming the part at fault.
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::{ScheduleSpec, Unit};
    /// let s = ScheduleSpec::parse("llada:steps=32,block=8", Unit::Nats)?;
    /// assert_eq!(s, ScheduleSpec::Llada { steps: 32, block: Some(8) });
    /// assert_eq!(ScheduleSpec::parse("3,5,8", Unit::Nats)?, ScheduleSpec::Counts(vec![3, 5, 8]));
    /// assert!(ScheduleSpec::parse("linear:steps=4", Unit::Nats).is_err());
    /// # Ok::<(), unmask_core::SpecError>(())
    /// ```
    pub fn parse(spec: &str, unit: Unit) -> Result<Self, SpecError> {
        let trimmed = spec.trim();
        if trimmed.is_empty() {
            return Err(SpecError::Empty);
        }
        if trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c.is_whitespace())
        {
            let counts = trimmed
                .split(',')
                .enumerate()
                .map(|(i, v)| {
                    v.trim().parse::<usize>().map_err(|_| SpecError::BadCount {
                        index: i + 1,
                        value: v.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(ScheduleSpec::Counts(counts));
        }
        if trimmed.starts_with("mdlm") {
            return Err(SpecError::Malformed {
                name: "mdlm".into(),
                part: "MDLM's counts are random: they are a sampler rule (mdlm:steps=T), and their expected error is BinomialSchedule::expected_kl"
                    .into(),
            });
        }
        let p = Params::parse(trimmed, SCHEDULE_NAMES, schedule_keys)?;
        let nats = |x: f64| unit.to_nats(x);
        let steps = |usage| p.require(p.usize("steps")?, "steps", usage);
        Ok(match p.name() {
            "llada" => ScheduleSpec::Llada {
                steps: steps("llada:steps=K[,block=B]")?,
                block: p.usize("block")?,
            },
            "uniform" => ScheduleSpec::Uniform {
                steps: steps("uniform:steps=K")?,
            },
            "dream" => ScheduleSpec::Dream {
                steps: steps("dream:steps=K[,eps=0.001][,linspace=fused|plain]")?,
                eps: p.f64("eps")?.unwrap_or(1e-3),
                linspace: match p.raw_value("linspace") {
                    None | Some("fused") => preset::Linspace::Fused,
                    Some("plain") => preset::Linspace::Plain,
                    Some(other) => {
                        return Err(SpecError::BadValue {
                            name: "dream".into(),
                            key: "linspace".into(),
                            value: other.to_string(),
                            expected: "fused (torch on AVX2/AVX-512 CPUs and CUDA) or plain (torch's scalar CPU kernel)",
                        });
                    }
                },
            },
            "cosine" => ScheduleSpec::Cosine {
                steps: steps("cosine:steps=K")?,
            },
            "pow" => ScheduleSpec::Pow {
                steps: steps("pow:steps=K,p=P")?,
                p: p.require(p.f64("p")?, "p", "pow:steps=K,p=P")?,
            },
            "pyramid" => ScheduleSpec::Pyramid {
                factor: p.require(p.usize("factor")?, "factor", "pyramid:factor=F")?,
            },
            "constant" => ScheduleSpec::Constant {
                size: p.require(p.usize("size")?, "size", "constant:size=S")?,
            },
            name @ ("tc" | "dtc") => {
                let usage = if name == "tc" {
                    "tc:epsilon=E,tc=T or tc:steps=K"
                } else {
                    "dtc:epsilon=E,dtc=D or dtc:steps=K"
                };
                let theory = if p.has("steps") {
                    if p.has("epsilon") || p.has(name) {
                        return Err(SpecError::Malformed {
                            name: name.to_string(),
                            part: format!("give either steps= or epsilon= with {name}=, not both"),
                        });
                    }
                    Theory::Budget(steps(usage)?)
                } else {
                    Theory::Target {
                        epsilon: nats(p.require(p.f64("epsilon")?, "epsilon", usage)?),
                        estimate: nats(p.require(
                            p.f64(name)?,
                            if name == "tc" { "tc" } else { "dtc" },
                            usage,
                        )?),
                    }
                };
                if name == "tc" {
                    ScheduleSpec::Tc(theory)
                } else {
                    ScheduleSpec::Dtc(theory)
                }
            }
            "austin" => ScheduleSpec::Austin {
                epsilon: nats(p.require(p.f64("epsilon")?, "epsilon", "austin:epsilon=E,dtc=D")?),
                dtc: nats(p.require(p.f64("dtc")?, "dtc", "austin:epsilon=E,dtc=D")?),
            },
            "sqrt" => ScheduleSpec::Sqrt {
                steps: steps("sqrt:steps=K")?,
            },
            "optimal" => {
                let usage = "optimal:steps=K or optimal:epsilon=E";
                match (p.usize("steps")?, p.f64("epsilon")?) {
                    (Some(k), None) => ScheduleSpec::Optimal(Target::Steps(k)),
                    (None, Some(e)) => ScheduleSpec::Optimal(Target::Epsilon(nats(e))),
                    (None, None) => {
                        return Err(SpecError::MissingKey {
                            name: "optimal".into(),
                            key: "steps",
                            usage,
                        });
                    }
                    (Some(_), Some(_)) => {
                        return Err(SpecError::Malformed {
                            name: "optimal".into(),
                            part: "give either steps= or epsilon=, not both".into(),
                        });
                    }
                }
            }
            _ => unreachable!("names are checked by Params::parse"),
        })
    }

    /// The spec's name (`"counts"` for explicit counts).
    pub fn name(&self) -> &'static str {
        match self {
            ScheduleSpec::Counts(_) => "counts",
            ScheduleSpec::Llada { .. } => "llada",
            ScheduleSpec::Uniform { .. } => "uniform",
            ScheduleSpec::Dream { .. } => "dream",
            ScheduleSpec::Cosine { .. } => "cosine",
            ScheduleSpec::Pow { .. } => "pow",
            ScheduleSpec::Pyramid { .. } => "pyramid",
            ScheduleSpec::Constant { .. } => "constant",
            ScheduleSpec::Tc(_) => "tc",
            ScheduleSpec::Dtc(_) => "dtc",
            ScheduleSpec::Austin { .. } => "austin",
            ScheduleSpec::Sqrt { .. } => "sqrt",
            ScheduleSpec::Optimal(_) => "optimal",
        }
    }

    /// Builds the schedule for n tokens. `curve` is needed by `sqrt` and `optimal` only; when
    /// given, its length must be n.
    ///
    /// # Errors
    ///
    /// [`SpecError::NeedsCurve`], [`SpecError::CountsMismatch`], or the preset's or optimiser's
    /// error wrapped in [`SpecError`].
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::{ScheduleSpec, Unit};
    /// let spec = ScheduleSpec::parse("tc:epsilon=1,tc=1", Unit::Bits)?;
    /// let built = spec.build(256, None)?;
    /// assert_eq!(built.schedule.steps(), 9);
    /// assert!(built.guarantee.is_some());
    /// # Ok::<(), unmask_core::SpecError>(())
    /// ```
    pub fn build(&self, n: usize, curve: Option<&InformationCurve>) -> Result<Built, SpecError> {
        let name = self.name();
        let wrap = |r: Result<Schedule, PresetError>| {
            r.map(|schedule| Built {
                schedule,
                guarantee: None,
            })
            .map_err(|cause| SpecError::Preset { name, cause })
        };
        let need_curve = || curve.ok_or(SpecError::NeedsCurve { name });
        match *self {
            ScheduleSpec::Counts(ref counts) => {
                let schedule = Schedule::from_counts(counts.clone())?;
                if schedule.len() != n {
                    return Err(SpecError::CountsMismatch {
                        sum: schedule.len(),
                        n,
                    });
                }
                Ok(Built {
                    schedule,
                    guarantee: None,
                })
            }
            ScheduleSpec::Llada { steps, block } => wrap(preset::llada(n, steps, block)),
            ScheduleSpec::Uniform { steps } => wrap(preset::llada(n, steps, None)),
            ScheduleSpec::Dream {
                steps,
                eps,
                linspace,
            } => wrap(preset::dream(n, steps, eps, linspace)),
            ScheduleSpec::Cosine { steps } => wrap(preset::cosine(n, steps)),
            ScheduleSpec::Pow { steps, p } => wrap(preset::power(n, steps, p)),
            ScheduleSpec::Pyramid { factor } => wrap(preset::pyramid(n, factor)),
            ScheduleSpec::Constant { size } => wrap(preset::constant(n, size)),
            ScheduleSpec::Tc(theory) => build_theory(n, theory, false),
            ScheduleSpec::Dtc(theory) => build_theory(n, theory, true),
            ScheduleSpec::Austin { epsilon, dtc } => wrap(preset::austin(n, epsilon, dtc)),
            ScheduleSpec::Sqrt { steps } => wrap(preset::sqrt_rule(need_curve()?, steps)),
            ScheduleSpec::Optimal(target) => {
                let curve = need_curve()?;
                let optimum = match target {
                    Target::Steps(k) => optimize::optimal_schedule(curve, k, Method::Lagrangian)?,
                    Target::Epsilon(e) => optimize::min_steps(curve, e)?,
                };
                Ok(Built {
                    schedule: optimum.schedule,
                    guarantee: None,
                })
            }
        }
    }
}

fn build_theory(n: usize, theory: Theory, dtc: bool) -> Result<Built, SpecError> {
    let name = if dtc { "dtc" } else { "tc" };
    let err = |cause| SpecError::Preset { name, cause };
    let make = |zeta| {
        if dtc {
            preset::dtc_schedule(n, zeta)
        } else {
            preset::tc_schedule(n, zeta)
        }
    };
    match theory {
        Theory::Target { epsilon, estimate } => {
            preset::check_theory(epsilon, estimate, name).map_err(err)?;
            let zeta = preset::zeta_for(n, estimate, epsilon);
            Ok(Built {
                schedule: make(zeta).map_err(err)?,
                guarantee: Some(Guarantee::Theorem9 {
                    dtc,
                    estimate,
                    epsilon,
                    zeta,
                    max_steps: crate::kl::theorem9_max_steps(n, estimate, epsilon),
                }),
            })
        }
        Theory::Budget(steps) => {
            let (schedule, zeta) = preset::theory_budget(n, steps, dtc).map_err(err)?;
            Ok(Built {
                schedule,
                guarantee: Some(Guarantee::Budget { dtc, zeta }),
            })
        }
    }
}

impl fmt::Display for ScheduleSpec {
    /// The canonical spec string (information values in nats).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleSpec::Counts(c) => {
                let parts: Vec<String> = c.iter().map(|x| x.to_string()).collect();
                write!(f, "{}", parts.join(","))
            }
            ScheduleSpec::Llada { steps, block } => match block {
                Some(b) => write!(f, "llada:steps={steps},block={b}"),
                None => write!(f, "llada:steps={steps}"),
            },
            ScheduleSpec::Uniform { steps } => write!(f, "uniform:steps={steps}"),
            ScheduleSpec::Dream {
                steps,
                eps,
                linspace: preset::Linspace::Fused,
            } => write!(f, "dream:steps={steps},eps={eps}"),
            ScheduleSpec::Dream { steps, eps, .. } => {
                write!(f, "dream:steps={steps},eps={eps},linspace=plain")
            }
            ScheduleSpec::Cosine { steps } => write!(f, "cosine:steps={steps}"),
            ScheduleSpec::Pow { steps, p } => write!(f, "pow:steps={steps},p={p}"),
            ScheduleSpec::Pyramid { factor } => write!(f, "pyramid:factor={factor}"),
            ScheduleSpec::Constant { size } => write!(f, "constant:size={size}"),
            ScheduleSpec::Tc(t) | ScheduleSpec::Dtc(t) => {
                let name = self.name();
                match t {
                    Theory::Budget(k) => write!(f, "{name}:steps={k}"),
                    Theory::Target { epsilon, estimate } => {
                        write!(f, "{name}:epsilon={epsilon},{name}={estimate}")
                    }
                }
            }
            ScheduleSpec::Austin { epsilon, dtc } => {
                write!(f, "austin:epsilon={epsilon},dtc={dtc}")
            }
            ScheduleSpec::Sqrt { steps } => write!(f, "sqrt:steps={steps}"),
            ScheduleSpec::Optimal(Target::Steps(k)) => write!(f, "optimal:steps={k}"),
            ScheduleSpec::Optimal(Target::Epsilon(e)) => write!(f, "optimal:epsilon={e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> SpecError {
        ScheduleSpec::parse(s, Unit::Nats).unwrap_err()
    }

    #[test]
    fn bad_specs() {
        assert_eq!(err(""), SpecError::Empty);
        assert!(matches!(
            err("linear:steps=3"),
            SpecError::UnknownName { .. }
        ));
        assert!(err("linear").to_string().contains("llada, uniform"));
        assert!(matches!(err("llada:stpes=3"), SpecError::UnknownKey { .. }));
        assert!(matches!(
            err("llada:block=4"),
            SpecError::MissingKey { key: "steps", .. }
        ));
        assert!(matches!(
            err("llada:steps=3,steps=4"),
            SpecError::DuplicateKey { .. }
        ));
        assert!(matches!(err("llada:steps"), SpecError::Malformed { .. }));
        assert!(matches!(err("llada:steps=-3"), SpecError::BadValue { .. }));
        assert!(matches!(
            err("pow:steps=3,p=nan"),
            SpecError::BadValue { .. }
        ));
        assert!(matches!(err("optimal"), SpecError::MissingKey { .. }));
        assert!(matches!(
            err("optimal:steps=3,epsilon=0.1"),
            SpecError::Malformed { .. }
        ));
        assert!(matches!(
            err("tc:steps=3,epsilon=0.1"),
            SpecError::Malformed { .. }
        ));
        assert!(matches!(
            err("tc:epsilon=0.1"),
            SpecError::MissingKey { key: "tc", .. }
        ));
    }

    #[test]
    fn round_trip_display() {
        for s in [
            "3,5,8",
            "llada:steps=32,block=8",
            "uniform:steps=4",
            "dream:steps=8,eps=0.001",
            "cosine:steps=8",
            "pow:steps=8,p=0.5",
            "pyramid:factor=2",
            "constant:size=3",
            "tc:steps=5",
            "dtc:epsilon=0.5,dtc=2",
            "austin:epsilon=0.5,dtc=2",
            "sqrt:steps=4",
            "optimal:steps=4",
            "optimal:epsilon=0.25",
        ] {
            let spec = ScheduleSpec::parse(s, Unit::Nats).unwrap();
            assert_eq!(spec.to_string(), s);
        }
    }

    #[test]
    fn build_errors() {
        let spec = ScheduleSpec::parse("3,5", Unit::Nats).unwrap();
        assert_eq!(
            spec.build(9, None).unwrap_err(),
            SpecError::CountsMismatch { sum: 8, n: 9 }
        );
        let spec = ScheduleSpec::parse("optimal:steps=2", Unit::Nats).unwrap();
        assert_eq!(
            spec.build(9, None).unwrap_err(),
            SpecError::NeedsCurve { name: "optimal" }
        );
        let spec = ScheduleSpec::parse("uniform:steps=20", Unit::Nats).unwrap();
        assert!(
            spec.build(9, None)
                .unwrap_err()
                .to_string()
                .starts_with("uniform: steps = 20")
        );
        let spec = ScheduleSpec::parse("0,0", Unit::Nats).unwrap();
        assert!(matches!(
            spec.build(0, None).unwrap_err(),
            SpecError::Schedule(_)
        ));
    }

    #[test]
    fn bits_are_converted() {
        let spec = ScheduleSpec::parse("optimal:epsilon=1", Unit::Bits).unwrap();
        let ScheduleSpec::Optimal(Target::Epsilon(e)) = spec else {
            panic!("wrong variant");
        };
        assert!((e - std::f64::consts::LN_2).abs() < 1e-15);
    }
}
