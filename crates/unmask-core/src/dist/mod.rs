//! Distributions: closed-form curves and samplable families with exact oracles.
//!
//! | spec | distribution | curve |
//! |---|---|---|
//! | `product:n=N[,q=Q,seed=S]` | independent positions, random marginals | `Z ≡ 0` |
//! | `parity:n=N` | uniform over even-weight words of n bits | `(0, …, 0, ln 2)` |
//! | `repeat:n=N,q=Q` | one uniform symbol copied n times | `(0, ln q, …, ln q)` |
//! | `mds:n=N,k=K,q=Q` | a k-dimensional MDS code over F_q (curve only) | `ln q · 1[j > k]` |
//! | `logfactor:n=N,eps=E` | CCL Lemma 28's profile (curve only) | `≈ 1/(4 x ln n)`, reflected |
//! | `rs:n=N,k=K,q=Q[,seed=S]` | Reed–Solomon over prime q > n, random points and shift | `ln q · 1[j > k]` |
//! | `code:n=N,k=K,q=Q[,seed=S]` | uniform over a random k-dim code over prime F_q, random shift | exact (n ≤ 20) or estimated |
//! | `markov:n=N,q=Q,stay=P` | stationary chain: stay w.p. P, else move uniformly | exact, O(n²) |
//! | `markov:n=N,matrix=FILE` | stationary chain with a row-stochastic matrix (JSON `[[…], …]`) | exact, O(n²) |
//! | `hmm:n=N,states=S,q=Q[,seed=S]` | random hidden Markov model | estimated |
//! | `mixture:n=N,q=Q,components=M[,seed=S]` | mixture of M random products | estimated |
//! | `table:FILE` | explicit pmf, JSON `{"q", "n", "p": [q^n values]}`, q^n ≤ 2^24 | exact by subset enumeration (small) |
//!
//! Parity and MDS codes are CCL's hard instances (Proposition 20): two steps `(k, n − k)` are
//! exact, yet no sampler that does not know k beats Ω(n) steps. `logfactor` forces
//! Ω(log n / ε) steps for error ε on every schedule (Theorem 30). A family's random parameters
//! come from a ChaCha8 generator seeded with its `seed` (default 0), so a spec names one
//! distribution on every machine.

mod code;
mod family;
pub(crate) mod field;
mod hmm;
mod logfactor;
pub(crate) mod markov;
mod mixture;
mod product;
mod repeat;
mod table;

pub use code::Code;
pub use family::{CODE_ENUMERATE_MAX, Family, Reference};
pub use hmm::Hmm;
pub(crate) use logfactor::{LOG_FACTOR_MAX_BLOCKS, log_factor, log_factor_blocks};
pub use markov::{ChainError, Markov, Transition};
pub use mixture::Mixture;
pub use product::Product;
pub use repeat::Repeat;
pub use table::{TABLE_MAX, Table, TableError};
