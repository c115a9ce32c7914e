//! The resource policy: every size a user can type, or a file can carry, is priced before
//! anything is allocated or run.
//!
//! # Definitions
//!
//! A [`Cost`] is an estimate of the peak memory (bytes) and the work (elementary operations:
//! one multiply-add, one table lookup) that a computation needs. A [`Budget`] is what the user
//! allows; [`Budget::check`] refuses a cost above it with an [`OverBudget`] error that names the
//! computation, the estimate and the budget. Estimates are made in `f64`, so a product of
//! user-supplied sizes can never overflow while it is being priced.
//!
//! The defaults, [`Budget::DEFAULT_MEMORY`] (4 GiB) and [`Budget::DEFAULT_WORK`] (10¹⁰
//! operations, roughly ten seconds on one core), are the promise that no input accepted without
//! a raised budget can take the machine; the front ends let the user raise both.
//!
//! Where the formulas come from: each family's costs ([`crate::DistSpec::curve_cost`],
//! [`crate::DistSpec::build_cost`], [`crate::DistSpec::sampling_cost`]) follow its data
//! structures (the tables it allocates) and the loops of its algorithms, up to constant factors
//! that were measured once (see the docs of [`CURVE_BYTES_PER_TOKEN`]).
//!
//! # Example
//!
//! ```
//! use unmask_core::budget::{Budget, Cost};
//! let budget = Budget::default();
//! assert!(budget.check("a small table", Cost::memory(1e6)).is_ok());
//! let err = budget.check("q × q matrix with q = 10^6", Cost::memory(8e12)).unwrap_err();
//! assert!(err.to_string().contains("7.3 TiB"));
//! ```

use std::fmt;
use std::ops::Add;

/// Peak bytes per token of the curve commands (a curve and the optimiser's working arrays: Z
/// itself, 8 bytes, is the floor; the Lagrangian search adds 4, its balancing pass 8).
/// Measured, release, peak RSS: `plan` 17.2 B/token at n = 10⁷ (172 MB), 15.8 at n = 10⁸
/// (1.58 GB); `eval` and `curve` (text) the same.
pub const CURVE_BYTES_PER_TOKEN: f64 = 18.0;

/// Peak bytes per value of a curve written as text (JSON or CSV) on top of the curve itself:
/// `curve --json` at n = 10⁷ peaks at 485 MB, 31 B per value more than `curve`.
pub const TEXT_BYTES_PER_VALUE: f64 = 32.0;

/// An estimate of memory and work (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cost {
    /// Peak memory, bytes.
    pub bytes: f64,
    /// Elementary operations.
    pub work: f64,
}

impl Cost {
    /// Memory only.
    pub fn memory(bytes: f64) -> Cost {
        Cost { bytes, work: 0.0 }
    }

    /// Work only.
    pub fn work(work: f64) -> Cost {
        Cost { bytes: 0.0, work }
    }

    /// Memory and work.
    pub fn new(bytes: f64, work: f64) -> Cost {
        Cost { bytes, work }
    }

    /// The same work done `times` times (memory is reused, so it stays).
    pub fn repeated(self, times: f64) -> Cost {
        Cost {
            bytes: self.bytes,
            work: self.work * times,
        }
    }

    /// A curve of n tokens and what the curve commands build on it.
    pub fn curve(n: usize) -> Cost {
        Cost::new(n as f64 * CURVE_BYTES_PER_TOKEN, n as f64 * 16.0)
    }

    /// n values written as text ([`TEXT_BYTES_PER_VALUE`]).
    pub fn text(n: usize) -> Cost {
        Cost::new(n as f64 * TEXT_BYTES_PER_VALUE, n as f64 * 40.0)
    }
}

impl Add for Cost {
    type Output = Cost;
    fn add(self, other: Cost) -> Cost {
        Cost {
            bytes: self.bytes + other.bytes,
            work: self.work + other.work,
        }
    }
}

/// What a computation may spend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    memory: f64,
    work: f64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            memory: Self::DEFAULT_MEMORY,
            work: Self::DEFAULT_WORK,
        }
    }
}

/// Which resource a cost exceeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Peak memory.
    Memory,
    /// Elementary operations (time).
    Work,
}

/// A computation priced above the budget.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{what} would need about {} of {}, over the budget of {}", show(*resource, *needed), noun(*resource), show(*resource, *budget))]
pub struct OverBudget {
    /// The computation, with the sizes that drive its cost.
    pub what: String,
    /// Which resource.
    pub resource: Resource,
    /// The estimate (bytes or operations).
    pub needed: f64,
    /// The budget (bytes or operations).
    pub budget: f64,
}

fn noun(r: Resource) -> &'static str {
    match r {
        Resource::Memory => "memory",
        Resource::Work => "work",
    }
}

fn show(r: Resource, x: f64) -> String {
    match r {
        Resource::Memory => Bytes(x).to_string(),
        Resource::Work => format!("{x:.1e} operations (~{})", Seconds(x / 1e9)),
    }
}

/// A byte count printed in binary units (KiB, MiB, GiB…), as `--max-memory 4GiB` is written.
#[derive(Debug, Clone, Copy)]
pub struct Bytes(pub f64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        let mut x = self.0;
        let mut u = 0;
        while x >= 1024.0 && u + 1 < units.len() {
            x /= 1024.0;
            u += 1;
        }
        if u + 1 == units.len() && x >= 1024.0 {
            return write!(f, "{:.1e} B", self.0);
        }
        write!(f, "{x:.1} {}", units[u])
    }
}

struct Seconds(f64);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s < 120.0 {
            write!(f, "{s:.0} s")
        } else if s < 7200.0 {
            write!(f, "{:.0} min", s / 60.0)
        } else if s < 2.0 * 86400.0 * 365.0 {
            write!(f, "{:.0} h", s / 3600.0)
        } else {
            write!(f, "{:.0e} years", s / (86400.0 * 365.0))
        }
    }
}

impl Budget {
    /// Default peak memory: 4 GiB.
    pub const DEFAULT_MEMORY: f64 = 4.0 * (1u64 << 30) as f64;
    /// Default work: 10¹⁰ elementary operations (about ten seconds).
    pub const DEFAULT_WORK: f64 = 1e10;

    /// A budget of `memory` bytes and `work` operations (non-finite or negative values are
    /// treated as 0, which refuses everything but free computations).
    pub fn new(memory: f64, work: f64) -> Budget {
        let clean = |x: f64| if x.is_finite() && x > 0.0 { x } else { 0.0 };
        Budget {
            memory: clean(memory),
            work: clean(work),
        }
    }

    /// The memory budget, bytes.
    pub fn memory(&self) -> f64 {
        self.memory
    }

    /// The work budget, operations.
    pub fn work(&self) -> f64 {
        self.work
    }

    /// Refuses `cost` when it exceeds the budget; `what` names the computation and its sizes.
    ///
    /// # Errors
    ///
    /// [`OverBudget`] for the first resource exceeded (memory before work). A NaN estimate
    /// counts as exceeding.
    pub fn check(&self, what: impl Into<String>, cost: Cost) -> Result<(), OverBudget> {
        let over = |resource, needed: f64, budget: f64| {
            // NaN estimates fail `<=` and are refused with the rest.
            let fits = needed <= budget;
            (!fits).then_some((resource, needed, budget))
        };
        match over(Resource::Memory, cost.bytes, self.memory)
            .or_else(|| over(Resource::Work, cost.work, self.work))
        {
            None => Ok(()),
            Some((resource, needed, budget)) => Err(OverBudget {
                what: what.into(),
                resource,
                needed,
                budget,
            }),
        }
    }

    /// Refuses a curve of n tokens that would not fit ([`Cost::curve`]).
    ///
    /// # Errors
    ///
    /// [`OverBudget`] naming n.
    pub fn check_curve_len(&self, n: usize) -> Result<(), OverBudget> {
        self.check(format!("a curve of n = {n} tokens"), Cost::curve(n))
    }
}

/// Parses a size such as `4G`, `512M`, `2GiB`, `1e9` (bytes) or a plain count.
///
/// # Errors
///
/// A message naming the text when it is not a finite, positive size.
///
/// # Example
///
/// ```
/// use unmask_core::budget::parse_size;
/// assert_eq!(parse_size("4G"), Ok(4e9));
/// assert_eq!(parse_size("2GiB"), Ok(2.0 * 1024.0 * 1024.0 * 1024.0));
/// assert_eq!(parse_size("1e10"), Ok(1e10));
/// assert!(parse_size("-1").is_err() && parse_size("lots").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("{text:?} is not a size (e.g. 4G, 512M, 2GiB, 1e9)")),
    };
    match number.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x * scale),
        _ => Err(format!(
            "{text:?} is not a positive size (e.g. 4G, 512M, 2GiB, 1e9)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_the_resource_and_the_numbers() {
        let b = Budget::new(1e9, 1e9);
        assert!(b.check("x", Cost::new(1e9, 1e9)).is_ok());
        let e = b
            .check("markov q = 10^5", Cost::new(8e10, 0.0))
            .unwrap_err();
        assert_eq!(e.resource, Resource::Memory);
        assert_eq!(
            e.to_string(),
            "markov q = 10^5 would need about 74.5 GiB of memory, over the budget of 953.7 MiB"
        );
        let e = b.check("chain", Cost::work(1e12)).unwrap_err();
        assert_eq!(e.resource, Resource::Work);
        assert!(e.to_string().contains("1.0e12 operations (~17 min)"), "{e}");
        assert!(b.check("nan", Cost::work(f64::NAN)).is_err());
        assert!(b.check("inf", Cost::memory(f64::INFINITY)).is_err());
        assert_eq!(Budget::new(f64::NAN, -1.0), Budget::new(0.0, 0.0));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size(" 512M "), Ok(512e6));
        assert_eq!(parse_size("3"), Ok(3.0));
        assert_eq!(parse_size("1.5kb"), Ok(1500.0));
        for bad in ["", "0", "G", "1Q", "nan", "inf", "-3G"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(Bytes(1e30).to_string(), "1.0e30 B");
        assert_eq!(Bytes(999.0).to_string(), "999.0 B");
    }
}
