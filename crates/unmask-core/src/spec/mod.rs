//! The spec languages: the strings users type (`--schedule`, `--dist`, `--rule`), parsed into
//! validated requests for the mathematics. Every language shares one grammar,
//! `NAME[:key=value,…]` (the private `Params`), and one error type ([`SpecError`]) whose messages say what
//! is wrong with the value; the front ends add the flag or argument it came from.
//!
//! | language | module | builds |
//! |---|---|---|
//! | schedules: counts `3,5,8` or `llada:steps=K,…` | [`schedule`] | a [`crate::Schedule`] |
//! | distributions: `markov:n=N,q=Q,stay=P`, … | [`dist`] | a [`crate::Family`] or a closed-form curve |
//! | sampler rules: `eb:gamma=G`, `confidence`, … | [`rule`] | a [`crate::Rule`] |
//! | MDLM's random counts: `mdlm:steps=T,…` | [`binomial`] | a [`crate::preset::BinomialSchedule`] |
//!
//! The mathematics does not import this module; this module imports the mathematics. The parsers
//! never panic on any input (property tests and the fuzz targets in `fuzz/`).

pub mod binomial;
mod build;
mod cost;
pub mod dist;
mod policy;
pub mod rule;
pub mod schedule;

use crate::optimize::OptimizeError;
use crate::preset::PresetError;
use crate::schedule::ScheduleError;

pub use cost::{CODE_CURVE_ORDERS, DEFAULT_CURVE_DRAWS, DEFAULT_CURVE_POINTS, SamplingShape};
pub use policy::CurveSource;

/// Why a schedule or distribution spec was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The spec is empty.
    #[error("empty spec")]
    Empty,
    /// The name is not known.
    #[error("unknown name {name:?}{}; valid names: {}", did_you_mean(name, valid), valid.join(", "))]
    UnknownName {
        /// The name given.
        name: String,
        /// The valid names.
        valid: &'static [&'static str],
    },
    /// A key is not known for this name.
    #[error("{name}: unknown key {key:?}{}; valid keys: {}", did_you_mean(key, valid), valid.join(", "))]
    UnknownKey {
        /// The spec's name.
        name: String,
        /// The key given.
        key: String,
        /// The valid keys.
        valid: &'static [&'static str],
    },
    /// A required key is absent.
    #[error("{name}: missing {key}= ({usage})")]
    MissingKey {
        /// The spec's name.
        name: String,
        /// The key that is needed.
        key: &'static str,
        /// How the spec is written.
        usage: &'static str,
    },
    /// A key appears twice.
    #[error("{name}: key {key:?} given twice")]
    DuplicateKey {
        /// The spec's name.
        name: String,
        /// The repeated key.
        key: String,
    },
    /// A `key=value` pair is malformed.
    #[error("{name}: expected key=value, found {part:?}")]
    Malformed {
        /// The spec's name.
        name: String,
        /// The offending part.
        part: String,
    },
    /// A value does not parse as the expected type.
    #[error("{name}: {key}={value:?} is not {expected}")]
    BadValue {
        /// The spec's name.
        name: String,
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// An explicit count is not a non-negative integer.
    #[error("count #{index} ({value:?}) is not a non-negative integer")]
    BadCount {
        /// 1-based position in the list.
        index: usize,
        /// The value given.
        value: String,
    },
    /// Explicit counts do not sum to n.
    #[error("the counts sum to {sum}, expected n = {n}")]
    CountsMismatch {
        /// Their sum.
        sum: usize,
        /// The sequence length.
        n: usize,
    },
    /// The spec needs a curve and none was given.
    #[error("{name} needs an information curve")]
    NeedsCurve {
        /// The spec's name.
        name: &'static str,
    },
    /// The preset rejected its parameters. (The preset's error is part of this message and not
    /// its `source()`, so an error chain prints it once.)
    #[error("{name}: {cause}")]
    Preset {
        /// The spec's name.
        name: &'static str,
        /// The preset's error.
        cause: PresetError,
    },
    /// The optimiser rejected its parameters.
    #[error("optimal: {0}")]
    Optimize(#[from] OptimizeError),
    /// The counts do not form a schedule.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
}

/// `; did you mean "x"?` for the valid word closest to `given` (at most two edits, or a third
/// of its length), else nothing.
pub(crate) fn did_you_mean(given: &str, valid: &[&str]) -> String {
    let given = given.to_ascii_lowercase();
    let distance = |a: &str, b: &str| -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, &cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    };
    let limit = (given.chars().count() / 3).max(2);
    valid
        .iter()
        .map(|v| (distance(&given, v), *v))
        .filter(|&(d, _)| d <= limit)
        .min()
        .map_or_else(String::new, |(_, v)| format!("; did you mean {v:?}?"))
}

/// A spec split into its name and `key=value` pairs, with typed, checked access.
#[derive(Debug)]
pub(crate) struct Params<'a> {
    name: &'a str,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Params<'a> {
    /// Splits `NAME[:k=v,…]`, checking keys against `valid(name)`.
    pub(crate) fn parse(
        spec: &'a str,
        names: &'static [&'static str],
        keys: impl Fn(&str) -> &'static [&'static str],
    ) -> Result<Self, SpecError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(SpecError::Empty);
        }
        let (name, rest) = match spec.split_once(':') {
            Some((name, rest)) => (name.trim(), Some(rest)),
            None => (spec, None),
        };
        // Names and keys are matched without regard to case (`LLaDA:Steps=8`).
        let Some(&name) = names.iter().find(|v| v.eq_ignore_ascii_case(name)) else {
            return Err(SpecError::UnknownName {
                name: name.to_string(),
                valid: names,
            });
        };
        let valid = keys(name);
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for part in rest.into_iter().flat_map(|r| r.split(',')) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let Some((key, value)) = part.split_once('=') else {
                return Err(SpecError::Malformed {
                    name: name.to_string(),
                    part: part.to_string(),
                });
            };
            let (key, value) = (key.trim(), value.trim());
            let Some(&key) = valid.iter().find(|k| k.eq_ignore_ascii_case(key)) else {
                return Err(SpecError::UnknownKey {
                    name: name.to_string(),
                    key: key.to_string(),
                    valid,
                });
            };
            if pairs.iter().any(|(k, _)| *k == key) {
                return Err(SpecError::DuplicateKey {
                    name: name.to_string(),
                    key: key.to_string(),
                });
            }
            pairs.push((key, value));
        }
        Ok(Params { name, pairs })
    }

    pub(crate) fn name(&self) -> &'a str {
        self.name
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| *k == key)
    }

    /// The raw text of a key's value.
    pub(crate) fn raw_value(&self, key: &str) -> Option<&'a str> {
        self.raw(key)
    }

    fn raw(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn bad(&self, key: &str, value: &str, expected: &'static str) -> SpecError {
        SpecError::BadValue {
            name: self.name.to_string(),
            key: key.to_string(),
            value: value.to_string(),
            expected,
        }
    }

    pub(crate) fn usize(&self, key: &str) -> Result<Option<usize>, SpecError> {
        self.raw(key)
            .map(|v| {
                v.parse()
                    .map_err(|_| self.bad(key, v, "a non-negative integer"))
            })
            .transpose()
    }

    pub(crate) fn f64(&self, key: &str) -> Result<Option<f64>, SpecError> {
        self.raw(key)
            .map(|v| match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(x),
                _ => Err(self.bad(key, v, "a finite number")),
            })
            .transpose()
    }

    pub(crate) fn require<T>(
        &self,
        value: Option<T>,
        key: &'static str,
        usage: &'static str,
    ) -> Result<T, SpecError> {
        value.ok_or_else(|| SpecError::MissingKey {
            name: self.name.to_string(),
            key,
            usage,
        })
    }
}
