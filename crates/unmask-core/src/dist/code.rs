//! Uniform distributions over affine linear codes over a prime field (parity, random codes,
//! Reed–Solomon): CCL's hard instances.
//!
//! # Definitions
//!
//! With a k×n generator G over F_q (rank k) and a shift s, `X = u·G + s` for `u` uniform on
//! F_q^k. Revealing `x_T` imposes `u·g_j = x_j − s_j` (g_j the j-th column); a masked position
//! i is then determined iff g_i lies in the span of the revealed columns, and uniform otherwise.
//! Hence `H(X_S) = rank(G_S)·ln q` and
//!
//! ```text
//! Z_j = ln q · ( r̄_1 + r̄_{j−1} − r̄_j ),   r̄_i = mean rank of G_S over |S| = i
//! ```
//!
//! For an MDS code (Reed–Solomon) every k columns are independent, so `Z_j = ln q·1[j > k]`.

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

use super::field::{Added, Basis, Basis2, Field};
use crate::curve::InformationCurve;
use crate::num::binomial;

/// An affine linear code over F_q with the uniform distribution on it.
#[derive(Debug, Clone)]
pub struct Code {
    field: Field,
    q: u32,
    k: usize,
    /// Columns g_j ∈ F_q^k, j = 0..n.
    columns: Vec<Vec<u32>>,
    shift: Vec<u32>,
    mds: bool,
    /// For q = 2, the columns bit-packed (the fast solver); empty otherwise.
    bits: Vec<Vec<u64>>,
}

/// Incremental elimination over the code's field: bit-packed for q = 2.
#[derive(Debug, Clone)]
enum Solver {
    Prime(Basis),
    Binary(Basis2),
}

impl Solver {
    fn rank(&self) -> usize {
        match self {
            Solver::Prime(b) => b.rank(),
            Solver::Binary(b) => b.rank(),
        }
    }
}

fn pack(columns: &[Vec<u32>], q: u32) -> Vec<Vec<u64>> {
    if q != 2 {
        return Vec::new();
    }
    columns
        .iter()
        .map(|g| {
            let mut words = vec![0u64; g.len().div_ceil(64).max(1)];
            for (i, &x) in g.iter().enumerate() {
                words[i / 64] |= u64::from(x & 1) << (i % 64);
            }
            words
        })
        .collect()
}

impl Code {
    /// A random code of dimension k and length n over prime q, with a random shift.
    /// `k ≤ n`, `q` prime (validated by the caller).
    pub(crate) fn random<R: Rng + ?Sized>(n: usize, k: usize, q: u32, rng: &mut R) -> Self {
        let field = Field::new(q);
        loop {
            let columns: Vec<Vec<u32>> = (0..n)
                .map(|_| (0..k).map(|_| rng.random_range(0..q)).collect())
                .collect();
            let mut basis = Basis::new(field, n);
            // rank of G = rank of its rows; build rows from the columns.
            for r in 0..k {
                let row: Vec<u32> = columns.iter().map(|c| c[r]).collect();
                basis.add(&row, 0);
            }
            if basis.rank() == k {
                let shift = (0..n).map(|_| rng.random_range(0..q)).collect();
                return Code {
                    field,
                    q,
                    k,
                    bits: pack(&columns, q),
                    columns,
                    shift,
                    mds: false,
                };
            }
        }
    }

    /// The even-weight words of n bits: `x_{n−1} = x_0 + … + x_{n−2}` over F_2, no shift.
    pub(crate) fn parity(n: usize) -> Self {
        let k = n - 1;
        let columns: Vec<Vec<u32>> = (0..n)
            .map(|j| (0..k).map(|r| u32::from(j == r || j == n - 1)).collect())
            .collect();
        Code {
            field: Field::new(2),
            q: 2,
            k,
            bits: pack(&columns, 2),
            columns,
            shift: vec![0; n],
            mds: true,
        }
    }

    /// Reed–Solomon: evaluations of polynomials of degree < k at n distinct random points of
    /// F_q (q prime > n), plus a random shift. MDS.
    pub(crate) fn reed_solomon<R: Rng + ?Sized>(n: usize, k: usize, q: u32, rng: &mut R) -> Self {
        let field = Field::new(q);
        let mut points: Vec<u32> = (0..q).collect();
        points.shuffle(rng);
        points.truncate(n);
        let columns: Vec<Vec<u32>> = points
            .iter()
            .map(|&a| {
                let mut power = 1;
                (0..k)
                    .map(|_| {
                        let v = power;
                        power = field.mul(power, a);
                        v
                    })
                    .collect()
            })
            .collect();
        let shift = (0..n).map(|_| rng.random_range(0..q)).collect();
        Code {
            field,
            q,
            k,
            bits: pack(&columns, q),
            columns,
            shift,
            mds: true,
        }
    }

    /// Length n.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Always false (n ≥ 1).
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Field size q.
    pub fn q(&self) -> u32 {
        self.q
    }

    /// Dimension k.
    pub fn dimension(&self) -> usize {
        self.k
    }

    /// A uniform codeword.
    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<u32> {
        let f = self.field;
        let u: Vec<u32> = (0..self.k).map(|_| rng.random_range(0..self.q)).collect();
        self.columns
            .iter()
            .zip(&self.shift)
            .map(|(g, &s)| {
                let dot = g
                    .iter()
                    .zip(&u)
                    .fold(0, |acc, (&a, &b)| f.add(acc, f.mul(a, b)));
                f.add(dot, s)
            })
            .collect()
    }

    fn solver(&self) -> Solver {
        self.solver_of(false)
    }

    /// The bit-packed solver for q = 2 unless `generic` (the slow reference) is asked for.
    fn solver_of(&self, generic: bool) -> Solver {
        if generic || self.bits.is_empty() {
            Solver::Prime(Basis::new(self.field, self.k))
        } else {
            Solver::Binary(Basis2::new())
        }
    }

    /// Adds `u · g_j = c`.
    fn learn(&self, solver: &mut Solver, j: usize, c: u32) -> Added {
        match solver {
            Solver::Prime(b) => b.add(&self.columns[j], c),
            Solver::Binary(b) => b.add(&self.bits[j], c == 1),
        }
    }

    /// `u · g_j` if the constraints determine it.
    fn determined(&self, solver: &Solver, j: usize) -> Option<u32> {
        match solver {
            Solver::Prime(b) => b.determined(&self.columns[j]),
            Solver::Binary(b) => b.determined(&self.bits[j]).map(u32::from),
        }
    }

    /// The constraints imposed by the revealed positions, or None if they contradict.
    fn constraints(&self, partial: &[u32]) -> Option<Solver> {
        self.constraints_with(partial, false)
    }

    fn constraints_with(&self, partial: &[u32], generic: bool) -> Option<Solver> {
        let mut solver = self.solver_of(generic);
        for (j, &x) in partial.iter().enumerate() {
            if x != crate::oracle::MASK {
                let c = self.field.sub(x % self.q, self.shift[j]);
                if self.learn(&mut solver, j, c) == Added::Inconsistent {
                    return None;
                }
            }
        }
        Some(solver)
    }

    /// Is x a codeword?
    pub fn contains(&self, x: &[u32]) -> bool {
        x.len() == self.len() && x.iter().all(|&v| v < self.q) && self.constraints(x).is_some()
    }

    /// `ln μ(x)`: `−k ln q` on the code, −∞ off it.
    pub(crate) fn ln_pmf(&self, x: &[u32]) -> f64 {
        if self.contains(x) {
            -(self.k as f64) * (self.q as f64).ln()
        } else {
            f64::NEG_INFINITY
        }
    }

    pub(crate) fn marginals(&self, partial: &[u32], query: &[usize], out: &mut [f64]) {
        self.marginals_with(partial, query, out, false)
    }

    /// The oracle; `generic` forces the F_q solver even for q = 2 (the slow reference).
    pub(crate) fn marginals_with(
        &self,
        partial: &[u32],
        query: &[usize],
        out: &mut [f64],
        generic: bool,
    ) {
        let q = self.q as usize;
        let uniform = 1.0 / q as f64;
        match self.constraints_with(partial, generic) {
            None => out.fill(uniform),
            Some(solver) => {
                for (row, &i) in out.chunks_mut(q).zip(query) {
                    match self.determined(&solver, i) {
                        Some(v) => {
                            row.fill(0.0);
                            row[self.field.add(v, self.shift[i]) as usize] = 1.0;
                        }
                        None => row.fill(uniform),
                    }
                }
            }
        }
    }

    /// `H(X) = k ln q`.
    pub(crate) fn entropy(&self) -> f64 {
        self.k as f64 * (self.q as f64).ln()
    }

    /// Rank of the columns in `order`, prefix by prefix: `ranks[i]` = rank of the first i.
    fn prefix_ranks(&self, order: &[usize]) -> Vec<usize> {
        let mut solver = self.solver();
        let mut ranks = Vec::with_capacity(order.len() + 1);
        ranks.push(0);
        for &j in order {
            self.learn(&mut solver, j, 0);
            ranks.push(solver.rank());
        }
        ranks
    }

    /// The exact curve: closed form for MDS codes, otherwise by enumerating all 2^n subsets
    /// (n ≤ `max_enumerate`). None when neither applies.
    pub(crate) fn exact_curve(&self, max_enumerate: usize) -> Option<InformationCurve> {
        let n = self.len();
        let lnq = (self.q as f64).ln();
        if self.mds {
            let z = (1..=n)
                .map(|j| if j > self.k { lnq } else { 0.0 })
                .collect();
            return InformationCurve::new(z).ok();
        }
        if n > max_enumerate {
            return None;
        }
        // Sum of ranks over all subsets of each size, by depth-first enumeration.
        let mut total = vec![0.0f64; n + 1];
        fn walk(code: &Code, j: usize, size: usize, solver: &Solver, total: &mut [f64]) {
            if j == code.len() {
                total[size] += solver.rank() as f64;
                return;
            }
            walk(code, j + 1, size, solver, total);
            let mut with = solver.clone();
            code.learn(&mut with, j, 0);
            walk(code, j + 1, size + 1, &with, total);
        }
        walk(self, 0, 0, &self.solver(), &mut total);
        let mean: Vec<f64> = (0..=n).map(|i| total[i] / binomial(n, i)).collect();
        let z = (1..=n)
            .map(|j| lnq * (mean[1] + mean[j - 1] - mean[j]))
            .collect();
        InformationCurve::new(z).ok()
    }

    /// Monte Carlo curve over `permutations` random orders (prefixes are uniform subsets):
    /// returns per-j means and standard errors of `Z_j`, in nats.
    pub(crate) fn estimate_curve<R: Rng + ?Sized>(
        &self,
        permutations: usize,
        rng: &mut R,
    ) -> (Vec<f64>, Vec<f64>) {
        let n = self.len();
        let lnq = (self.q as f64).ln();
        let r1 = self
            .columns
            .iter()
            .filter(|c| c.iter().any(|&v| v != 0))
            .count() as f64
            / n as f64;
        // Z_j = ln q (r̄_1 − P[the j-th column of a random order raises the rank]).
        let mut raises = vec![0usize; n + 1];
        let mut order: Vec<usize> = (0..n).collect();
        for _ in 0..permutations {
            order.shuffle(rng);
            let ranks = self.prefix_ranks(&order);
            for j in 1..=n {
                raises[j] += ranks[j] - ranks[j - 1];
            }
        }
        let m = permutations as f64;
        let mut z = Vec::with_capacity(n);
        let mut se = Vec::with_capacity(n);
        for &count in raises.iter().skip(1) {
            let p = count as f64 / m;
            z.push(lnq * (r1 - p));
            se.push(lnq * (p * (1.0 - p) / (m - 1.0).max(1.0)).sqrt());
        }
        z[0] = 0.0;
        se[0] = 0.0;
        (z, se)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn samples_are_codewords_and_oracle_is_consistent() {
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        for code in [
            Code::random(7, 3, 5, &mut rng),
            Code::parity(6),
            Code::reed_solomon(6, 2, 7, &mut rng),
        ] {
            let q = code.q() as usize;
            for _ in 0..20 {
                let x = code.sample(&mut rng);
                assert!(code.contains(&x));
                assert!((code.ln_pmf(&x) + code.entropy()).abs() < 1e-12);
                // Revealing all but one position determines it.
                let mut partial = x.clone();
                partial[2] = crate::oracle::MASK;
                let mut out = vec![0.0; q];
                code.marginals(&partial, &[2], &mut out);
                if code.dimension() < code.len() {
                    assert_eq!(out[x[2] as usize], 1.0);
                }
            }
        }
        let mut bad = Code::parity(4).sample(&mut rng);
        bad[0] ^= 1;
        assert!(!Code::parity(4).contains(&bad));
    }

    #[test]
    fn exact_curve_by_enumeration_matches_mds_closed_form() {
        let mut rng = ChaCha8Rng::seed_from_u64(32);
        let mut rs = Code::reed_solomon(6, 3, 7, &mut rng);
        let closed = rs.exact_curve(0).unwrap();
        rs.mds = false;
        let enumerated = rs.exact_curve(12).unwrap();
        for (a, b) in closed.z().iter().zip(enumerated.z()) {
            assert!(
                (a - b).abs() < 1e-12,
                "{:?} vs {:?}",
                closed.z(),
                enumerated.z()
            );
        }
        let (z, se) = rs.estimate_curve(2000, &mut rng);
        for ((a, b), s) in closed.z().iter().zip(&z).zip(&se) {
            assert!((a - b).abs() <= 4.0 * s + 1e-12, "{a} vs {b} ± {s}");
        }
    }
}
