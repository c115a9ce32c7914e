//! From a parsed distribution spec to the mathematics: its closed-form curve, or the samplable
//! family it names (with the contents of the file it names, if any).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::dist::{ChainSpec, DistError, DistSpec, FileData};
use crate::curve::InformationCurve;
use crate::dist::{
    ChainError, Code, Family, Hmm, Markov, Mixture, Product, Repeat, Table, Transition, log_factor,
};

impl DistSpec {
    /// The curve when it is known in closed form (no distribution needs to be built).
    pub fn closed_curve(&self) -> Option<InformationCurve> {
        let z = match *self {
            DistSpec::Product { n, .. } => vec![0.0; n],
            DistSpec::Parity { n } => {
                let mut z = vec![0.0; n];
                z[n - 1] = std::f64::consts::LN_2;
                z
            }
            DistSpec::Repeat { n, q } => {
                let mut z = vec![(q as f64).ln(); n];
                z[0] = 0.0;
                z
            }
            DistSpec::Mds { n, k, q } | DistSpec::Rs { n, k, q, .. } => (1..=n)
                .map(|j| if j > k { (q as f64).ln() } else { 0.0 })
                .collect(),
            DistSpec::LogFactor { n, eps } => log_factor(n, eps),
            _ => return None,
        };
        Some(InformationCurve::new(z).expect("closed-form curves are valid"))
    }

    /// Builds the samplable distribution. `file` carries the contents of [`DistSpec::file`].
    ///
    /// # Errors
    ///
    /// [`DistError::NotSamplable`] for curve-only families, [`DistError::NeedsFile`] when the
    /// file's contents are missing, and the family's validation errors.
    ///
    /// # Example
    ///
    /// ```
    /// use unmask_core::{DistSpec, Oracle};
    /// let markov = DistSpec::parse("markov:n=8,q=3,stay=0.9")?.build(None)?;
    /// assert_eq!((markov.len(), markov.vocab_size()), (8, 3));
    /// assert!(markov.exact_curve().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(&self, file: Option<FileData>) -> Result<Family, DistError> {
        let rng = |seed: u64| ChaCha8Rng::seed_from_u64(seed);
        Ok(match (self, file) {
            (DistSpec::Product { n, q, seed }, _) => {
                Family::Product(Product::random(*n, *q, &mut rng(*seed)))
            }
            (DistSpec::Parity { n }, _) => Family::Code(Code::parity(*n)),
            (DistSpec::Repeat { n, q }, _) => Family::Repeat(Repeat { n: *n, q: *q }),
            (DistSpec::Mds { .. }, _) => {
                return Err(DistError::NotSamplable {
                    name: "mds",
                    instead: "rs:n=N,k=K,q=Q with a prime q > n",
                });
            }
            (DistSpec::LogFactor { .. }, _) => {
                return Err(DistError::NotSamplable {
                    name: "logfactor",
                    instead: "its curve with eval/plan/compare",
                });
            }
            (DistSpec::Rs { n, k, q, seed }, _) => {
                Family::Code(Code::reed_solomon(*n, *k, *q as u32, &mut rng(*seed)))
            }
            (DistSpec::Code { n, k, q, seed }, _) => {
                Family::Code(Code::random(*n, *k, *q as u32, &mut rng(*seed)))
            }
            (
                DistSpec::Markov {
                    n,
                    chain: ChainSpec::Stay { q, stay },
                },
                _,
            ) => Family::Markov(Markov::new(*n, Transition::Stay { q: *q, stay: *stay })?),
            (
                DistSpec::Markov {
                    n,
                    chain: ChainSpec::Matrix { .. },
                },
                Some(FileData::Matrix(rows)),
            ) => {
                let q = rows.len();
                if let Some(bad) = rows.iter().find(|r| r.len() != q) {
                    return Err(ChainError::Shape {
                        rows: q,
                        cols: bad.len(),
                    }
                    .into());
                }
                let p = rows.into_iter().flatten().collect();
                Family::Markov(Markov::new(*n, Transition::Dense { q, p })?)
            }
            (DistSpec::Hmm { n, states, q, seed }, _) => {
                Family::Hmm(Hmm::random(*n, *states, *q, &mut rng(*seed)))
            }
            (
                DistSpec::Mixture {
                    n,
                    q,
                    components,
                    seed,
                },
                _,
            ) => Family::Mixture(Mixture::random(*n, *q, *components, &mut rng(*seed))),
            (DistSpec::Table { .. }, Some(FileData::Table { q, n, p })) => {
                Family::Table(Table::new(q, n, p)?)
            }
            (spec, _) => {
                return Err(DistError::NeedsFile {
                    name: spec.name(),
                    path: spec.file().unwrap_or_default().to_string(),
                });
            }
        })
    }
}
