//! What each family costs to build, to answer an oracle call and to give its curve, priced from
//! the spec alone (no allocation), for the [resource policy](crate::budget).
//!
//! Each estimate follows the family's own tables and loops; the constants are the sizes of the
//! stored elements (8 bytes per f64, 4 per field element or token) and the operation counts of
//! the inner loops, rounded up. They are bounds on the order of magnitude, not predictions of
//! the last second: their job is to refuse `markov:q=10^9` before it allocates 21 GB, not to
//! schedule a cluster.

use super::dist::{ChainSpec, DistSpec, FileData};
use crate::budget::{Budget, Cost, OverBudget};

/// Draws and grid points of the default Monte Carlo curve of HMMs and mixtures (as the CLI and
/// the bindings compute it, `unmask estimate` for more).
pub const DEFAULT_CURVE_DRAWS: usize = 2000;
/// Grid points of that estimate.
pub const DEFAULT_CURVE_POINTS: usize = 32;
/// Random column orders of the structural curve of large random codes.
pub const CODE_CURVE_ORDERS: usize = 4000;

/// How many oracle calls a sampling run makes and how many positions each answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingShape {
    /// Sequences drawn.
    pub samples: usize,
    /// Oracle calls per sequence (at most).
    pub calls: usize,
    /// Positions answered per call (at most).
    pub rows: usize,
}

const F64: f64 = 8.0;
const U32: f64 = 4.0;

impl DistSpec {
    /// Alphabet size, when the spec states it (`matrix=` and tables carry theirs in the file).
    fn symbols(&self) -> Option<usize> {
        match *self {
            DistSpec::Parity { .. } => Some(2),
            DistSpec::Product { q, .. }
            | DistSpec::Repeat { q, .. }
            | DistSpec::Mds { q, .. }
            | DistSpec::Rs { q, .. }
            | DistSpec::Code { q, .. }
            | DistSpec::Hmm { q, .. }
            | DistSpec::Mixture { q, .. } => Some(q),
            DistSpec::Markov {
                chain: ChainSpec::Stay { q, .. },
                ..
            } => Some(q),
            _ => None,
        }
    }

    /// Memory and work of building the samplable family (its tables and oracle structures).
    /// Files (`table:`, `matrix=`) are priced by the reader; here they count as already read.
    pub fn build_cost(&self) -> Cost {
        let f = |x: usize| x as f64;
        match *self {
            DistSpec::Product { n, q, .. } => Cost::new(F64 * f(n) * f(q), 20.0 * f(n) * f(q)),
            // Columns of the (n−1)×n generator as u32, plus their bit-packed copy.
            DistSpec::Parity { n } => Cost::new((U32 + 0.125) * f(n) * f(n), f(n) * f(n)),
            DistSpec::Repeat { .. } | DistSpec::Mds { .. } | DistSpec::LogFactor { .. } => {
                Cost::default()
            }
            // Reed–Solomon shuffles all q field elements to pick n distinct points.
            DistSpec::Rs { n, k, q, .. } => {
                Cost::new(U32 * (f(q) + f(n) * f(k)), 2.0 * f(q) + f(n) * f(k))
            }
            // Generator columns; the rank check eliminates k rows of length n.
            DistSpec::Code { n, k, .. } => Cost::new(2.0 * U32 * f(n) * f(k), f(k) * f(k) * f(n)),
            DistSpec::Markov { n, ref chain } => match *chain {
                ChainSpec::Stay { q, .. } => markov_build(n, q, false),
                // The matrix is read by the caller; its q is not known here.
                ChainSpec::Matrix { .. } => Cost::default(),
            },
            DistSpec::Hmm { n, states, q, .. } => {
                markov_build(n, states, true)
                    + Cost::new(F64 * f(states) * f(q), 20.0 * f(states) * f(q))
            }
            DistSpec::Mixture {
                n, q, components, ..
            } => {
                let size = f(components) * f(n) * f(q);
                Cost::new(F64 * size, 20.0 * size)
            }
            DistSpec::Table { .. } => Cost::default(),
        }
    }

    /// Memory and work of one oracle call answering `rows` positions (the output rows of q
    /// probabilities each and the family's per-call work).
    pub fn call_cost(&self, rows: usize) -> Cost {
        let f = |x: usize| x as f64;
        let out = |q: usize| Cost::new(F64 * f(rows) * f(q), f(rows) * f(q));
        match *self {
            DistSpec::Product { q, .. } | DistSpec::Repeat { q, .. } => {
                out(q) + Cost::work(f(self.len().unwrap_or(0)))
            }
            // Gaussian elimination of the revealed columns, then one span test per row.
            DistSpec::Parity { n } => {
                out(2) + Cost::new(F64 * f(n) * f(n) / 64.0, f(n) * f(n) * f(n) / 64.0)
            }
            DistSpec::Rs { n, k, q, .. } | DistSpec::Code { n, k, q, .. } => {
                let words = if q == 2 { f(k) / 64.0 + 1.0 } else { f(k) };
                out(q) + Cost::new(U32 * f(k) * f(k), (f(n) + f(rows)) * f(k) * words)
            }
            DistSpec::Markov { n, ref chain } => match *chain {
                ChainSpec::Stay { q, .. } => {
                    out(q) + Cost::new(2.0 * F64 * f(n) * f(q), 4.0 * f(n) * f(q))
                }
                ChainSpec::Matrix { .. } => out(1) + Cost::work(f(n)),
            },
            DistSpec::Hmm { n, states, q, .. } => {
                out(q)
                    + Cost::new(
                        2.0 * F64 * f(n) * f(states),
                        4.0 * f(n) * f(states) * f(states) + f(rows) * f(states) * f(q),
                    )
            }
            DistSpec::Mixture {
                n, q, components, ..
            } => out(q) + Cost::new(F64 * f(components), f(components) * (f(n) + f(rows) * f(q))),
            DistSpec::Mds { .. } | DistSpec::LogFactor { .. } | DistSpec::Table { .. } => {
                Cost::default()
            }
        }
    }

    /// Memory and work of the curve that the curve commands use for this spec (closed form,
    /// exact from the structure, or the default estimate): see [`crate::Family::exact_curve`].
    pub fn curve_cost(&self) -> Cost {
        let f = |x: usize| x as f64;
        let n = self.len().unwrap_or(0);
        let curve = Cost::curve(n);
        match *self {
            DistSpec::Product { .. }
            | DistSpec::Parity { .. }
            | DistSpec::Repeat { .. }
            | DistSpec::Mds { .. }
            | DistSpec::Rs { .. } => curve,
            DistSpec::LogFactor { .. } => curve + Cost::work(f(n)),
            DistSpec::Code { n, k, q, .. } => {
                let words = if q == 2 { f(k) / 64.0 + 1.0 } else { f(k) };
                // Per order and column: a shuffle step, a random draw and an elimination
                // (measured: 34 ns per order and column at n = 20000, k = 1).
                let ranks = if n <= crate::dist::CODE_ENUMERATE_MAX {
                    2f64.powi(n as i32) * (40.0 + f(k) * words)
                } else {
                    f(CODE_CURVE_ORDERS) * f(n) * (40.0 + f(k) * words)
                };
                curve + self.build_cost() + Cost::work(ranks)
            }
            DistSpec::Markov { n, ref chain } => {
                // A stay chain's m(d) is O(1) each (the rows of P^d in closed form); a matrix
                // chain's q rows of P^d are priced by the file. Then the O(n²) weights.
                let step = match *chain {
                    ChainSpec::Stay { q, .. } => f(q),
                    ChainSpec::Matrix { .. } => 0.0,
                };
                curve + self.build_cost() + Cost::work(f(n) * step.min(64.0) + 2.0 * f(n) * f(n))
            }
            DistSpec::Hmm { .. } | DistSpec::Mixture { .. } => {
                let calls = f(DEFAULT_CURVE_DRAWS) * f(DEFAULT_CURVE_POINTS + 1);
                curve + self.build_cost() + self.call_cost(n).repeated(calls)
            }
            DistSpec::Table { .. } => curve,
        }
    }

    /// Memory and work of a sampling run: the family, one oracle call's buffers per thread, the
    /// calls themselves, and the sequences kept for the report.
    pub fn sampling_cost(&self, shape: SamplingShape, threads: usize) -> Cost {
        let f = |x: usize| x as f64;
        let n = f(self.len().unwrap_or(0));
        let call = self.call_cost(shape.rows);
        let calls = f(shape.samples) * f(shape.calls);
        self.build_cost()
            + Cost::new(call.bytes * f(threads.max(1)), call.work * calls)
            + Cost::new(2.0 * U32 * n * f(shape.samples), n * f(shape.samples))
    }

    /// Memory and work of a family whose tables come from a file (`markov:…,matrix=FILE` with
    /// its q × q matrix, `table:FILE`): building it and computing its exact curve.
    pub fn file_cost(&self, data: &FileData) -> Cost {
        let f = |x: usize| x as f64;
        match (self, data) {
            (DistSpec::Markov { n, .. }, FileData::Matrix(rows)) => {
                let (n, q) = (*n, rows.len());
                markov_build(n, q, true)
                    + Cost::new(
                        F64 * f(q) * f(q),
                        f(n) * f(q) * f(q) * f(q) + 2.0 * f(n) * f(n),
                    )
                    + Cost::curve(n)
            }
            (_, FileData::Table { q, n, .. }) => {
                // Subset enumeration, bounded by the table limits.
                Cost::new(
                    F64 * f(*q).powi((*n).min(64) as i32),
                    2f64.powi((*n).min(64) as i32) * f(*q).powi((*n).min(64) as i32),
                ) + Cost::curve(*n)
            }
            _ => Cost::default(),
        }
    }

    /// Refuses a spec whose curve would not fit the budget.
    ///
    /// # Errors
    ///
    /// [`OverBudget`] naming the spec.
    pub fn check_curve(&self, budget: &Budget) -> Result<(), OverBudget> {
        budget.check(format!("the curve of {}", self.sized()), self.curve_cost())
    }

    /// Refuses a sampling run that would not fit the budget.
    ///
    /// # Errors
    ///
    /// [`OverBudget`] naming the spec and the run's shape.
    pub fn check_sampling(
        &self,
        budget: &Budget,
        shape: SamplingShape,
        threads: usize,
    ) -> Result<(), OverBudget> {
        budget.check(
            format!(
                "sampling {} ({} sequences, up to {} oracle calls of {} positions each)",
                self.sized(),
                shape.samples,
                shape.calls,
                shape.rows
            ),
            self.sampling_cost(shape, threads),
        )
    }

    /// The spec with its sizes (q named even where the spec leaves it implicit).
    fn sized(&self) -> String {
        match self.symbols() {
            Some(q) if !matches!(self, DistSpec::Parity { .. }) => format!("{self} (q = {q})"),
            _ => self.to_string(),
        }
    }
}

/// A chain over `q` states: the stationary law (uniform for a stay chain, dense elimination in
/// O(q³) otherwise), and the stored transition powers when `n·q²` entries fit the Markov
/// oracle's table limit (one vector–matrix product per row and distance: q or q² work).
fn markov_build(n: usize, q: usize, dense: bool) -> Cost {
    let (nf, qf) = (n as f64, q as f64);
    let stationary = if dense {
        Cost::new(F64 * qf * (qf + 1.0), qf * qf * qf)
    } else {
        Cost::new(F64 * qf, qf)
    };
    let left = if dense { qf * qf } else { qf };
    let powers = if nf * qf * qf <= crate::dist::markov::POWERS_MAX as f64 {
        Cost::new(F64 * nf * qf * qf, nf * qf * left)
    } else {
        Cost::default()
    };
    stationary + powers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(spec: &str) -> bool {
        let d = DistSpec::parse(spec).unwrap();
        d.check_curve(&Budget::default()).is_err()
    }

    #[test]
    fn the_fuzzers_sizes_are_refused_and_normal_ones_pass() {
        for spec in [
            "markov:n=2,q=2305843009213693952,stay=0.5",
            "markov:n=11,q=2684354573,stay=1",
            "markov:n=100000,q=2,stay=0.5",
            "hmm:n=2,states=3000,q=2",
            "code:n=100000,k=1,q=2",
            "mixture:n=8,q=2,components=2068430",
        ] {
            assert!(refused(spec), "{spec} should be refused");
        }
        // n = 10^8 needs 1.8 GB for its curve and a plan; 2.5·10^8 needs 4.5 GB: over the
        // default, inside a raised budget.
        assert!(!refused("parity:n=100000000"));
        assert!(refused("parity:n=250000000"));
        let parity = DistSpec::parse("parity:n=250000000").unwrap();
        assert!(parity.check_curve(&Budget::new(8e9, 1e10)).is_ok());
        for spec in [
            "parity:n=10000000",
            // A stay chain's curve comes from its structure: no q × q matrix.
            "markov:n=16,q=50000,stay=0.9",
            "markov:n=256,q=8,stay=0.9",
            "hmm:n=64,states=4,q=8",
            "code:n=64,k=8,q=3",
            "mixture:n=32,q=4,components=3",
            "rs:n=16,k=4,q=17",
        ] {
            assert!(!refused(spec), "{spec} should pass");
        }
        let e = DistSpec::parse("markov:n=2,q=2305843009213693952,stay=0.5")
            .unwrap()
            .check_curve(&Budget::default())
            .unwrap_err();
        assert!(e.to_string().contains("q = 2305843009213693952"), "{e}");
    }

    #[test]
    fn sampling_shapes() {
        let d = DistSpec::parse("parity:n=100000").unwrap();
        let shape = SamplingShape {
            samples: 10,
            calls: 100000,
            rows: 100000,
        };
        assert!(d.check_sampling(&Budget::default(), shape, 2).is_err());
        let d = DistSpec::parse("rs:n=1,k=1,q=2147483629").unwrap();
        let one = SamplingShape {
            samples: 1,
            calls: 1,
            rows: 1,
        };
        assert!(d.check_sampling(&Budget::default(), one, 2).is_err());
        let d = DistSpec::parse("markov:n=64,q=4,stay=0.9").unwrap();
        let shape = SamplingShape {
            samples: 1000,
            calls: 64,
            rows: 64,
        };
        assert!(d.check_sampling(&Budget::default(), shape, 2).is_ok());
    }
}
