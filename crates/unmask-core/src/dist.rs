//! Distribution families whose information curve is known in closed form.
//!
//! | spec | distribution | curve |
//! |---|---|---|
//! | `product:n=N` | any product distribution | `Z ≡ 0` |
//! | `parity:n=N` | uniform over even-weight words of n bits | `Z = (0, …, 0, ln 2)` |
//! | `repeat:n=N,q=Q` | one uniform symbol copied n times | `Z = (0, ln q, …, ln q)` |
//! | `mds:n=N,k=K,q=Q` | uniform over a k-dimensional MDS code over F_q (Reed–Solomon) | `Z_j = ln q · 1[j > k]` |
//! | `logfactor:n=N,eps=E` | CCL Lemma 28's profile | `≈ 1/(4 j ln n)`, reflected |
//!
//! Parity and MDS codes are CCL's hard instances (Proposition 20): two steps `(k, n − k)` are
//! exact, yet no sampler that does not know k beats Ω(n) steps. `logfactor` forces
//! Ω(log n / ε) steps for error ε on every schedule (Theorem 30).
//!
//! Families with sampling oracles (issue 3) extend [`DistSpec`] with new variants; the parser
//! and the `--dist` flag stay as they are.

use crate::curve::InformationCurve;
use crate::spec::{Params, SpecError};

/// A parsed `--dist` spec.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DistSpec {
    /// A product distribution over n positions.
    Product {
        /// Length.
        n: usize,
    },
    /// Uniform over even-weight words of n bits.
    Parity {
        /// Length (≥ 2).
        n: usize,
    },
    /// One uniform symbol over q values, repeated n times.
    Repeat {
        /// Length.
        n: usize,
        /// Alphabet size (≥ 1).
        q: usize,
    },
    /// Uniform over a k-dimensional MDS code of length n over F_q.
    Mds {
        /// Length.
        n: usize,
        /// Dimension (1 ≤ k ≤ n).
        k: usize,
        /// Field size (≥ 2).
        q: usize,
    },
    /// CCL Lemma 28's logarithmic-factor profile.
    LogFactor {
        /// Length (≥ 2).
        n: usize,
        /// Block growth ε (0 < ε ≤ 1).
        eps: f64,
    },
}

/// The valid family names.
pub const DIST_NAMES: &[&str] = &["product", "parity", "repeat", "mds", "logfactor"];

fn dist_keys(name: &str) -> &'static [&'static str] {
    match name {
        "repeat" => &["n", "q"],
        "mds" => &["n", "k", "q"],
        "logfactor" => &["n", "eps"],
        _ => &["n"],
    }
}

fn usage(name: &str) -> &'static str {
    match name {
        "product" => "product:n=N",
        "parity" => "parity:n=N",
        "repeat" => "repeat:n=N,q=Q",
        "mds" => "mds:n=N,k=K,q=Q",
        _ => "logfactor:n=N,eps=E",
    }
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
    /// let z = d.curve();
    /// assert_eq!(z.z()[..2], [0.0, 0.0]);
    /// assert!((z.z()[2] - 5f64.ln()).abs() < 1e-15);
    /// # Ok::<(), unmask_core::SpecError>(())
    /// ```
    pub fn parse(spec: &str) -> Result<Self, SpecError> {
        let p = Params::parse(spec, DIST_NAMES, dist_keys)?;
        let name = p.name();
        let n = p.require(p.usize("n")?, "n", usage(name))?;
        let bad = |key: &str, value: String, expected: &'static str| SpecError::BadValue {
            name: name.to_string(),
            key: key.to_string(),
            value,
            expected,
        };
        let min_n = if matches!(name, "parity" | "logfactor") {
            2
        } else {
            1
        };
        if n < min_n {
            return Err(bad(
                "n",
                n.to_string(),
                if min_n == 2 {
                    "a length ≥ 2"
                } else {
                    "a length ≥ 1"
                },
            ));
        }
        Ok(match name {
            "product" => DistSpec::Product { n },
            "parity" => DistSpec::Parity { n },
            "repeat" => {
                let q = p.require(p.usize("q")?, "q", usage(name))?;
                if q == 0 {
                    return Err(bad("q", q.to_string(), "an alphabet size ≥ 1"));
                }
                DistSpec::Repeat { n, q }
            }
            "mds" => {
                let k = p.require(p.usize("k")?, "k", usage(name))?;
                let q = p.require(p.usize("q")?, "q", usage(name))?;
                if k == 0 || k > n {
                    return Err(bad("k", k.to_string(), "a dimension between 1 and n"));
                }
                if q < 2 {
                    return Err(bad("q", q.to_string(), "a field size ≥ 2"));
                }
                DistSpec::Mds { n, k, q }
            }
            _ => {
                let eps = p.require(p.f64("eps")?, "eps", usage(name))?;
                if !(eps > 0.0 && eps <= 1.0) {
                    return Err(bad("eps", eps.to_string(), "a growth rate 0 < eps ≤ 1"));
                }
                DistSpec::LogFactor { n, eps }
            }
        })
    }

    /// Sequence length n.
    pub fn len(&self) -> usize {
        match *self {
            DistSpec::Product { n }
            | DistSpec::Parity { n }
            | DistSpec::Repeat { n, .. }
            | DistSpec::Mds { n, .. }
            | DistSpec::LogFactor { n, .. } => n,
        }
    }

    /// Always false: parsed specs have n ≥ 1.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The exact information curve (nats).
    pub fn curve(&self) -> InformationCurve {
        let n = self.len();
        let z = match *self {
            DistSpec::Product { .. } => vec![0.0; n],
            DistSpec::Parity { .. } => {
                let mut z = vec![0.0; n];
                z[n - 1] = std::f64::consts::LN_2;
                z
            }
            DistSpec::Repeat { q, .. } => {
                let mut z = vec![(q as f64).ln(); n];
                z[0] = 0.0;
                z
            }
            DistSpec::Mds { k, q, .. } => (1..=n)
                .map(|j| if j > k { (q as f64).ln() } else { 0.0 })
                .collect(),
            DistSpec::LogFactor { eps, .. } => log_factor(n, eps),
        };
        InformationCurve::new(z).expect("closed-form curves are valid")
    }
}

impl std::fmt::Display for DistSpec {
    /// The canonical spec string.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DistSpec::Product { n } => write!(f, "product:n={n}"),
            DistSpec::Parity { n } => write!(f, "parity:n={n}"),
            DistSpec::Repeat { n, q } => write!(f, "repeat:n={n},q={q}"),
            DistSpec::Mds { n, k, q } => write!(f, "mds:n={n},k={k},q={q}"),
            DistSpec::LogFactor { n, eps } => write!(f, "logfactor:n={n},eps={eps}"),
        }
    }
}

/// CCL Lemma 28: `f(x) = p_i = (1+ε)^{−i} / (4 ln n)` on the blocks
/// `B_i = [⌊(1+ε)^i⌋, ⌊(1+ε)^{i+1}⌋ − 1]`, x = 1..n. f decreases, so the curve is its
/// reflection (digest §12, A5) with the leading zero every curve has:
///
/// ```text
/// Z_1 = 0,   Z_j = f(n + 1 − j)   for j = 2..n      (f(n−1), …, f(1))
/// ```
///
/// Dropping `f(n) ≈ 1/(4 n ln n)` changes the L1 lower bound by that much only.
fn log_factor(n: usize, eps: f64) -> Vec<f64> {
    let scale = 1.0 / (4.0 * (n as f64).ln());
    let mut f = vec![0.0; n + 1]; // f[x] for x = 1..n
    let mut x = 1usize;
    let mut i = 0i32;
    while x <= n {
        let hi = (1.0 + eps).powi(i + 1).floor();
        let value = (1.0 + eps).powi(-i) * scale;
        while x <= n && (x as f64) < hi {
            f[x] = value;
            x += 1;
        }
        i += 1;
    }
    let mut z = vec![0.0; n];
    for (j, slot) in z.iter_mut().enumerate().skip(1) {
        *slot = f[n - j]; // paper index j + 1 ↦ f(n + 1 − (j + 1))
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        let ln2 = std::f64::consts::LN_2;
        let c = DistSpec::parse("parity:n=5").unwrap().curve();
        assert_eq!(c.z(), &[0.0, 0.0, 0.0, 0.0, ln2]);
        assert!((c.tc() - ln2).abs() < 1e-15);
        assert!((c.dtc() - 4.0 * ln2).abs() < 1e-15);
        let c = DistSpec::parse("repeat:n=4,q=3").unwrap().curve();
        let l3 = 3f64.ln();
        assert_eq!(c.z(), &[0.0, l3, l3, l3]);
        // Repeated token: TC = (n − 1) ln q, DTC = ln q (digest §6).
        assert!((c.tc() - 3.0 * l3).abs() < 1e-14);
        assert!((c.dtc() - l3).abs() < 1e-14);
        let c = DistSpec::parse("mds:n=6,k=2,q=7").unwrap().curve();
        // MDS: TC = (n − k) ln q, DTC = k ln q.
        assert!((c.tc() - 4.0 * 7f64.ln()).abs() < 1e-14);
        assert!((c.dtc() - 2.0 * 7f64.ln()).abs() < 1e-14);
        assert_eq!(DistSpec::parse("product:n=3").unwrap().curve().tc(), 0.0);
    }

    #[test]
    fn log_factor_profile() {
        let c = DistSpec::parse("logfactor:n=1000,eps=0.1").unwrap().curve();
        let z = c.z();
        assert_eq!(z[0], 0.0);
        // Blocks B_0..B_6 are empty for ε = 0.1 (⌊1.1^7⌋ = 1), so f(1) = p_7.
        let top = 1.1f64.powi(-7) / (4.0 * 1000f64.ln());
        assert!((c.z_n() - top).abs() < 1e-15, "Z_n = f(1) = p_7");
        // Roughly 1/(4 x ln n) with x = n + 1 − j.
        for j in [10usize, 100, 500, 900] {
            let x = (1000 + 1 - j) as f64;
            let approx = 1.0 / (4.0 * x * 1000f64.ln());
            assert!(
                z[j - 1] / approx > 0.8 && z[j - 1] / approx < 1.25,
                "j = {j}"
            );
        }
        // The sum over x of f is at most 1 (so TC ≤ 1).
        assert!(c.tc() <= 1.0);
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
            "logfactor:n=10,eps=0",
            "logfactor:n=10,eps=2",
            "product:n=0",
            "product:n=3,q=2",
        ] {
            assert!(DistSpec::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(
            DistSpec::parse("mds:n=4,k=2,q=5").unwrap().to_string(),
            "mds:n=4,k=2,q=5"
        );
    }
}
