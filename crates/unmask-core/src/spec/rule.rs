//! Sampler rule specs: `random`, `fixed[:order=I.J.K…]`, `confidence[:temperature=T]`,
//! `eb:gamma=G`, `threshold:tau=T`, `mdlm:steps=T,…`, built into a [`Rule`].

use super::{Params, SpecError};
use crate::sampler::Rule;
use crate::schedule::Schedule;

/// The valid rule names.
pub const RULE_NAMES: &[&str] = &["random", "fixed", "confidence", "eb", "threshold", "mdlm"];

impl Rule {
    /// Builds a rule from a spec (`random`, `fixed[:order=I.J.K…]`, `confidence[:temperature=T]`,
    /// `eb:gamma=G`, `threshold:tau=T`, `mdlm:steps=T[,noise=…][,eps=E]`) and an optional
    /// schedule; `random` (the default when
    /// `rule` is None), `fixed` (left to right unless an order is given, positions separated by
    /// dots) and `confidence` need the schedule, the adaptive rules take none. γ is read in
    /// `unit`.
    ///
    /// # Errors
    ///
    /// A [`SpecError`] naming the problem.
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::{Rule, Schedule, Unit};
    /// let r = Rule::parse(Some("threshold:tau=0.9"), None, Unit::Nats)?;
    /// assert_eq!(r, Rule::Threshold { tau: 0.9 });
    /// let s = Schedule::from_counts(vec![2, 2])?;
    /// assert_eq!(Rule::parse(None, Some(s.clone()), Unit::Nats)?, Rule::RandomOrder(s));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(
        rule: Option<&str>,
        schedule: Option<Schedule>,
        unit: crate::Unit,
    ) -> Result<Rule, SpecError> {
        let keys = |name: &str| -> &'static [&'static str] {
            match name {
                "confidence" => &["temperature"],
                "fixed" => &["order"],
                "eb" => &["gamma"],
                "threshold" => &["tau"],
                "mdlm" => super::binomial::MDLM_KEYS,
                _ => &[],
            }
        };
        let p = Params::parse(rule.unwrap_or("random"), RULE_NAMES, keys)?;
        let name = p.name();
        let needs_schedule = |schedule: Option<Schedule>| {
            schedule.ok_or(SpecError::MissingKey {
                name: name.to_string(),
                key: "schedule",
                usage: "the random, fixed and confidence rules need a schedule",
            })
        };
        let refuses_schedule = |schedule: &Option<Schedule>| match schedule {
            Some(_) => Err(SpecError::Malformed {
                name: name.to_string(),
                part: "adaptive rules choose their own counts; give no schedule".into(),
            }),
            None => Ok(()),
        };
        Ok(match name {
            "mdlm" => {
                refuses_schedule(&schedule)?;
                Rule::Binomial(crate::preset::BinomialSchedule::parse(
                    rule.unwrap_or_default(),
                )?)
            }
            "random" => Rule::RandomOrder(needs_schedule(schedule)?),
            "fixed" => {
                let schedule = needs_schedule(schedule)?;
                let order = match p.raw_value("order") {
                    None => (0..schedule.len()).collect(),
                    Some(text) => text
                        .split('.')
                        .map(|v| {
                            v.trim().parse::<usize>().map_err(|_| SpecError::BadValue {
                                name: "fixed".into(),
                                key: "order".into(),
                                value: text.to_string(),
                                expected: "positions separated by dots, e.g. 3.0.2.1",
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                };
                Rule::FixedOrder { order, schedule }
            }
            "confidence" => Rule::Confidence {
                schedule: needs_schedule(schedule)?,
                temperature: p.f64("temperature")?.unwrap_or(0.0),
            },
            "eb" => {
                refuses_schedule(&schedule)?;
                Rule::EntropyBound {
                    gamma: unit.to_nats(p.require(p.f64("gamma")?, "gamma", "eb:gamma=G")?),
                }
            }
            _ => {
                refuses_schedule(&schedule)?;
                Rule::Threshold {
                    tau: p.require(p.f64("tau")?, "tau", "threshold:tau=T")?,
                }
            }
        })
    }
}
