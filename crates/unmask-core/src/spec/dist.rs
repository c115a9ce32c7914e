use super::{Params, SpecError};
use crate::dist::{ChainError, LOG_FACTOR_MAX_BLOCKS, TableError, field, log_factor_blocks};

/// How a Markov chain is given.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainSpec {
    /// Stay with probability `stay`, else move uniformly to another symbol.
    Stay {
        /// Number of symbols.
        q: usize,
        /// Probability of staying.
        stay: f64,
    },
    /// A transition matrix read from a file.
    Matrix {
        /// The file.
        path: String,
    },
}

/// A parsed `--dist` spec.
///
/// Distribution specs: `NAME:key=value,…` (or `table:FILE`) parsed and checked, then built into
/// a samplable [`Family`](crate::Family) or a closed-form curve (the families are described in
/// [`Family`](crate::Family)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DistSpec {
    /// Independent positions.
    Product {
        /// Length.
        n: usize,
        /// Alphabet size.
        q: usize,
        /// Seed of the random marginals.
        seed: u64,
    },
    /// Uniform over even-weight words of n bits.
    Parity {
        /// Length (≥ 2).
        n: usize,
    },
    /// One uniform symbol repeated.
    Repeat {
        /// Length.
        n: usize,
        /// Alphabet size (≥ 1).
        q: usize,
    },
    /// An MDS code's curve (no sampler).
    Mds {
        /// Length.
        n: usize,
        /// Dimension.
        k: usize,
        /// Field size.
        q: usize,
    },
    /// CCL Lemma 28's profile (no sampler).
    LogFactor {
        /// Length (≥ 2).
        n: usize,
        /// Block growth.
        eps: f64,
    },
    /// Reed–Solomon code.
    Rs {
        /// Length.
        n: usize,
        /// Dimension.
        k: usize,
        /// Prime field size > n.
        q: usize,
        /// Seed of the points and shift.
        seed: u64,
    },
    /// A random linear code.
    Code {
        /// Length.
        n: usize,
        /// Dimension.
        k: usize,
        /// Prime field size.
        q: usize,
        /// Seed of the generator and shift.
        seed: u64,
    },
    /// A stationary Markov chain.
    Markov {
        /// Length (≥ 2).
        n: usize,
        /// Its transitions.
        chain: ChainSpec,
    },
    /// A random hidden Markov model.
    Hmm {
        /// Length.
        n: usize,
        /// Hidden states (≥ 2).
        states: usize,
        /// Alphabet size.
        q: usize,
        /// Seed of the parameters.
        seed: u64,
    },
    /// A random mixture of products.
    Mixture {
        /// Length.
        n: usize,
        /// Alphabet size.
        q: usize,
        /// Number of components.
        components: usize,
        /// Seed of the parameters.
        seed: u64,
    },
    /// An explicit table read from a file.
    Table {
        /// The file.
        path: String,
    },
}

/// Largest sequence length a `--dist` spec accepts (2^28 positions, 2 GiB per curve).
pub const MAX_LEN: usize = 1 << 28;

/// The valid family names.
pub const DIST_NAMES: &[&str] = &[
    "product",
    "parity",
    "repeat",
    "mds",
    "logfactor",
    "rs",
    "code",
    "markov",
    "hmm",
    "mixture",
    "table",
];

fn dist_keys(name: &str) -> &'static [&'static str] {
    match name {
        "product" => &["n", "q", "seed"],
        "repeat" => &["n", "q"],
        "mds" => &["n", "k", "q"],
        "logfactor" => &["n", "eps"],
        "rs" | "code" => &["n", "k", "q", "seed"],
        "markov" => &["n", "q", "stay", "matrix"],
        "hmm" => &["n", "states", "q", "seed"],
        "mixture" => &["n", "q", "components", "seed"],
        _ => &["n"],
    }
}

fn usage(name: &str) -> &'static str {
    match name {
        "product" => "product:n=N[,q=Q,seed=S]",
        "parity" => "parity:n=N",
        "repeat" => "repeat:n=N,q=Q",
        "mds" => "mds:n=N,k=K,q=Q",
        "logfactor" => "logfactor:n=N,eps=E",
        "rs" => "rs:n=N,k=K,q=Q[,seed=S]",
        "code" => "code:n=N,k=K,q=Q[,seed=S]",
        "markov" => "markov:n=N,q=Q,stay=P or markov:n=N,matrix=FILE",
        "hmm" => "hmm:n=N,states=S,q=Q[,seed=S]",
        "mixture" => "mixture:n=N,q=Q,components=M[,seed=S]",
        _ => "table:FILE",
    }
}

/// A file's contents that a spec refers to, parsed by the caller (the core reads no files).
#[derive(Debug, Clone, PartialEq)]
pub enum FileData {
    /// `table:FILE`: q, n and the q^n probabilities.
    Table {
        /// Alphabet size.
        q: usize,
        /// Length.
        n: usize,
        /// Probabilities, position 1 most significant.
        p: Vec<f64>,
    },
    /// `markov:…,matrix=FILE`: the rows of the transition matrix.
    Matrix(Vec<Vec<f64>>),
}

/// Why a distribution could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DistError {
    /// The spec itself.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The table.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The chain.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// A curve-only family was asked for samples.
    #[error("{name} is a closed-form curve without a sampler; use {instead}")]
    NotSamplable {
        /// The family.
        name: &'static str,
        /// What to use instead.
        instead: &'static str,
    },
    /// The spec needs a file's contents.
    #[error("{name} needs the contents of {path}")]
    NeedsFile {
        /// The family.
        name: &'static str,
        /// The file.
        path: String,
    },
    /// An estimated curve could not be made valid.
    #[error(transparent)]
    Curve(#[from] crate::CurveError),
}

impl DistSpec {
    /// Parses a distribution spec and checks its parameters.
    ///
    /// # Errors
    ///
    /// A [`SpecError`] naming the part at fault: unknown family or key, missing or malformed
    /// value, or a value outside its domain (`BadValue`).
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::DistSpec;
    /// let d = DistSpec::parse("mds:n=4,k=2,q=5")?;
    /// let z = d.closed_curve().unwrap();
    /// assert_eq!(z.z()[..2], [0.0, 0.0]);
    /// assert!((z.z()[2] - 5f64.ln()).abs() < 1e-15);
    /// # Ok::<(), unmask_core::SpecError>(())
    /// ```
    pub fn parse(spec: &str) -> Result<Self, SpecError> {
        if let Some(path) = spec.trim().strip_prefix("table:") {
            if path.trim().is_empty() || path.contains('=') {
                return Err(SpecError::MissingKey {
                    name: "table".into(),
                    key: "FILE",
                    usage: "table:FILE",
                });
            }
            return Ok(DistSpec::Table {
                path: path.trim().to_string(),
            });
        }
        let p = Params::parse(spec, DIST_NAMES, dist_keys)?;
        let name = p.name();
        let bad = |key: &str, value: String, expected: &'static str| SpecError::BadValue {
            name: name.to_string(),
            key: key.to_string(),
            value,
            expected,
        };
        let need = |key: &'static str| -> Result<usize, SpecError> {
            p.require(p.usize(key)?, key, usage(name))
        };
        let at_least =
            |key: &'static str, min: usize, what: &'static str| -> Result<usize, SpecError> {
                let v = need(key)?;
                if v < min {
                    Err(bad(key, v.to_string(), what))
                } else {
                    Ok(v)
                }
            };
        let seed = p.usize("seed")?.unwrap_or(0) as u64;
        if let Some(n) = p.usize("n")?
            && n > MAX_LEN
        {
            return Err(bad("n", n.to_string(), "a length ≤ 2^28"));
        }
        let min_n = if matches!(name, "parity" | "logfactor" | "markov") {
            2
        } else {
            1
        };
        let n = at_least(
            "n",
            min_n,
            if min_n == 2 {
                "a length ≥ 2"
            } else {
                "a length ≥ 1"
            },
        )?;
        let prime = |key: &'static str, q: usize| -> Result<usize, SpecError> {
            if field::is_prime(q as u64) && q < 1 << 31 {
                Ok(q)
            } else {
                Err(bad(key, q.to_string(), "a prime field size"))
            }
        };
        let dimension = |k: usize| -> Result<usize, SpecError> {
            if k == 0 || k > n {
                Err(bad("k", k.to_string(), "a dimension between 1 and n"))
            } else {
                Ok(k)
            }
        };
        Ok(match name {
            "product" => DistSpec::Product {
                n,
                q: match p.usize("q")? {
                    None => 2,
                    Some(q) if q >= 1 => q,
                    Some(q) => return Err(bad("q", q.to_string(), "an alphabet size ≥ 1")),
                },
                seed,
            },
            "parity" => DistSpec::Parity { n },
            "repeat" => DistSpec::Repeat {
                n,
                q: at_least("q", 1, "an alphabet size ≥ 1")?,
            },
            "mds" => DistSpec::Mds {
                n,
                k: dimension(need("k")?)?,
                q: at_least("q", 2, "a field size ≥ 2")?,
            },
            "logfactor" => {
                let eps = p.require(p.f64("eps")?, "eps", usage(name))?;
                if !(eps > 0.0 && eps <= 1.0) {
                    return Err(bad("eps", eps.to_string(), "a growth rate 0 < eps ≤ 1"));
                }
                // The profile has one block per power of 1 + eps up to n: ln n / ln(1 + eps).
                if log_factor_blocks(n, eps) > LOG_FACTOR_MAX_BLOCKS {
                    return Err(bad(
                        "eps",
                        eps.to_string(),
                        "a growth rate with at most 10^7 blocks up to n (ln n / ln(1 + eps)); smaller eps make the blocks shorter than one token",
                    ));
                }
                DistSpec::LogFactor { n, eps }
            }
            "rs" => {
                let k = dimension(need("k")?)?;
                let q = prime("q", need("q")?)?;
                if q <= n {
                    return Err(bad(
                        "q",
                        q.to_string(),
                        "a prime q > n (distinct evaluation points)",
                    ));
                }
                DistSpec::Rs { n, k, q, seed }
            }
            "code" => DistSpec::Code {
                n,
                k: dimension(need("k")?)?,
                q: prime("q", need("q")?)?,
                seed,
            },
            "markov" => {
                let chain = match (p.has("matrix"), p.has("q") || p.has("stay")) {
                    (true, false) => ChainSpec::Matrix {
                        path: spec
                            .split("matrix=")
                            .nth(1)
                            .unwrap_or("")
                            .split(',')
                            .next()
                            .unwrap_or("")
                            .trim()
                            .to_string(),
                    },
                    (false, _) => {
                        let q = at_least("q", 2, "an alphabet size ≥ 2")?;
                        let stay = p.require(p.f64("stay")?, "stay", usage(name))?;
                        if !(0.0..=1.0).contains(&stay) {
                            return Err(bad("stay", stay.to_string(), "a probability in [0, 1]"));
                        }
                        ChainSpec::Stay { q, stay }
                    }
                    (true, true) => {
                        return Err(SpecError::Malformed {
                            name: "markov".into(),
                            part: "give either q= and stay= or matrix=, not both".into(),
                        });
                    }
                };
                DistSpec::Markov { n, chain }
            }
            "hmm" => DistSpec::Hmm {
                n,
                states: at_least("states", 2, "at least 2 hidden states")?,
                q: at_least("q", 2, "an alphabet size ≥ 2")?,
                seed,
            },
            _ => DistSpec::Mixture {
                n,
                q: at_least("q", 2, "an alphabet size ≥ 2")?,
                components: at_least("components", 1, "at least 1 component")?,
                seed,
            },
        })
    }

    /// The file this spec needs, if any.
    pub fn file(&self) -> Option<&str> {
        match self {
            DistSpec::Table { path } => Some(path),
            DistSpec::Markov {
                chain: ChainSpec::Matrix { path },
                ..
            } => Some(path),
            _ => None,
        }
    }

    /// Sequence length n (None for tables, whose n is in their file).
    pub fn len(&self) -> Option<usize> {
        match *self {
            DistSpec::Product { n, .. }
            | DistSpec::Parity { n }
            | DistSpec::Repeat { n, .. }
            | DistSpec::Mds { n, .. }
            | DistSpec::LogFactor { n, .. }
            | DistSpec::Rs { n, .. }
            | DistSpec::Code { n, .. }
            | DistSpec::Markov { n, .. }
            | DistSpec::Hmm { n, .. }
            | DistSpec::Mixture { n, .. } => Some(n),
            DistSpec::Table { .. } => None,
        }
    }

    /// Always false: parsed specs have n ≥ 1.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The family's name.
    pub fn name(&self) -> &'static str {
        match self {
            DistSpec::Product { .. } => "product",
            DistSpec::Parity { .. } => "parity",
            DistSpec::Repeat { .. } => "repeat",
            DistSpec::Mds { .. } => "mds",
            DistSpec::LogFactor { .. } => "logfactor",
            DistSpec::Rs { .. } => "rs",
            DistSpec::Code { .. } => "code",
            DistSpec::Markov { .. } => "markov",
            DistSpec::Hmm { .. } => "hmm",
            DistSpec::Mixture { .. } => "mixture",
            DistSpec::Table { .. } => "table",
        }
    }
}

impl std::fmt::Display for DistSpec {
    /// The canonical spec string.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DistSpec::Product { n, q, seed } => write!(f, "product:n={n},q={q},seed={seed}"),
            DistSpec::Parity { n } => write!(f, "parity:n={n}"),
            DistSpec::Repeat { n, q } => write!(f, "repeat:n={n},q={q}"),
            DistSpec::Mds { n, k, q } => write!(f, "mds:n={n},k={k},q={q}"),
            DistSpec::LogFactor { n, eps } => write!(f, "logfactor:n={n},eps={eps}"),
            DistSpec::Rs { n, k, q, seed } => write!(f, "rs:n={n},k={k},q={q},seed={seed}"),
            DistSpec::Code { n, k, q, seed } => write!(f, "code:n={n},k={k},q={q},seed={seed}"),
            DistSpec::Markov {
                n,
                chain: ChainSpec::Stay { q, stay },
            } => {
                write!(f, "markov:n={n},q={q},stay={stay}")
            }
            DistSpec::Markov {
                n,
                chain: ChainSpec::Matrix { path },
            } => {
                write!(f, "markov:n={n},matrix={path}")
            }
            DistSpec::Hmm { n, states, q, seed } => {
                write!(f, "hmm:n={n},states={states},q={q},seed={seed}")
            }
            DistSpec::Mixture {
                n,
                q,
                components,
                seed,
            } => {
                write!(f, "mixture:n={n},q={q},components={components},seed={seed}")
            }
            DistSpec::Table { path } => write!(f, "table:{path}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        let ln2 = std::f64::consts::LN_2;
        let c = DistSpec::parse("parity:n=5")
            .unwrap()
            .closed_curve()
            .unwrap();
        assert_eq!(c.z(), &[0.0, 0.0, 0.0, 0.0, ln2]);
        assert!((c.tc() - ln2).abs() < 1e-15);
        assert!((c.dtc() - 4.0 * ln2).abs() < 1e-15);
        let c = DistSpec::parse("repeat:n=4,q=3")
            .unwrap()
            .closed_curve()
            .unwrap();
        let l3 = 3f64.ln();
        assert_eq!(c.z(), &[0.0, l3, l3, l3]);
        // Repeated token: TC = (n − 1) ln q, DTC = ln q (`docs/theory.md` §8).
        assert!((c.tc() - 3.0 * l3).abs() < 1e-14);
        assert!((c.dtc() - l3).abs() < 1e-14);
        let c = DistSpec::parse("mds:n=6,k=2,q=7")
            .unwrap()
            .closed_curve()
            .unwrap();
        // MDS: TC = (n − k) ln q, DTC = k ln q.
        assert!((c.tc() - 4.0 * 7f64.ln()).abs() < 1e-14);
        assert!((c.dtc() - 2.0 * 7f64.ln()).abs() < 1e-14);
        assert_eq!(
            DistSpec::parse("product:n=3")
                .unwrap()
                .closed_curve()
                .unwrap()
                .tc(),
            0.0
        );
    }

    #[test]
    fn bad_dists() {
        for bad in [
            "",
            "gauss:n=3",
            "parity",
            "parity:n=1",
            "parity:n=x",
            "mds:n=4,k=5,q=5",
            "mds:n=4,k=0,q=5",
            "mds:n=4,k=2,q=1",
            "mds:n=4,k=2",
            "repeat:n=3,q=0",
            "rs:n=8,k=2,q=7",
            "rs:n=8,k=2,q=12",
            "code:n=8,k=2,q=4",
            "markov:n=8,q=2",
            "markov:n=8,q=2,stay=1.5",
            "markov:n=8,q=2,stay=0.5,matrix=m.json",
            "hmm:n=8,states=1,q=2",
            "mixture:n=8,q=2,components=0",
            "table:",
            "logfactor:n=10,eps=0",
            "logfactor:n=10,eps=2",
            "product:n=0",
            "product:n=3,k=2",
            "product:n=1000000000000",
        ] {
            assert!(DistSpec::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(
            DistSpec::parse("mds:n=4,k=2,q=5").unwrap().to_string(),
            "mds:n=4,k=2,q=5"
        );
    }
}
