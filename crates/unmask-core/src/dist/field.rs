//! Arithmetic in a prime field F_q and incremental Gaussian elimination over it.

/// Is `q` prime? (trial division; q is a vocabulary size, so small)
pub(crate) fn is_prime(q: u64) -> bool {
    if q < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= q {
        if q.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

/// The prime field F_q, elements as `u32` in `0..q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    q: u64,
}

impl Field {
    /// # Panics
    ///
    /// If q is not prime or above 2^31 (callers validate).
    pub(crate) fn new(q: u32) -> Self {
        assert!(
            is_prime(q as u64) && q < (1 << 31),
            "F_q needs a prime q < 2^31"
        );
        Field { q: q as u64 }
    }

    pub(crate) fn add(self, a: u32, b: u32) -> u32 {
        ((a as u64 + b as u64) % self.q) as u32
    }

    pub(crate) fn sub(self, a: u32, b: u32) -> u32 {
        ((a as u64 + self.q - b as u64) % self.q) as u32
    }

    pub(crate) fn mul(self, a: u32, b: u32) -> u32 {
        (a as u64 * b as u64 % self.q) as u32
    }

    /// Multiplicative inverse by Fermat's little theorem (`a ≠ 0`).
    pub(crate) fn inv(self, a: u32) -> u32 {
        debug_assert!(a != 0);
        let (mut base, mut exp, mut acc) = (a as u64, self.q - 2, 1u64);
        while exp > 0 {
            if exp & 1 == 1 {
                acc = acc * base % self.q;
            }
            base = base * base % self.q;
            exp >>= 1;
        }
        acc as u32
    }
}

/// Row-echelon basis of vectors in F_q^k, each with a right-hand value: the constraints
/// `u · g = c` learned so far. Rows are normalised to a leading 1 at their pivot.
#[derive(Debug, Clone)]
pub(crate) struct Basis {
    field: Field,
    k: usize,
    rows: Vec<(usize, Vec<u32>, u32)>, // (pivot, vector, value)
}

/// What adding a constraint did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Added {
    /// Independent: the rank grew.
    Independent,
    /// Implied by the earlier ones, and consistent with them.
    Implied,
    /// Contradicts the earlier ones (probability 0).
    Inconsistent,
}

impl Basis {
    pub(crate) fn new(field: Field, k: usize) -> Self {
        Basis {
            field,
            k,
            rows: Vec::new(),
        }
    }

    pub(crate) fn rank(&self) -> usize {
        self.rows.len()
    }

    /// Reduces `(v, c)` by the basis; returns the residual value (v is reduced in place).
    fn reduce(&self, v: &mut [u32], mut c: u32) -> u32 {
        let f = self.field;
        for (pivot, row, value) in &self.rows {
            let factor = v[*pivot];
            if factor != 0 {
                for (x, &r) in v.iter_mut().zip(row) {
                    *x = f.sub(*x, f.mul(factor, r));
                }
                c = f.sub(c, f.mul(factor, *value));
            }
        }
        c
    }

    /// Adds the constraint `u · g = c`.
    pub(crate) fn add(&mut self, g: &[u32], c: u32) -> Added {
        let mut v = g.to_vec();
        let c = self.reduce(&mut v, c);
        match v.iter().position(|&x| x != 0) {
            None if c == 0 => Added::Implied,
            None => Added::Inconsistent,
            Some(pivot) => {
                let f = self.field;
                let inv = f.inv(v[pivot]);
                for x in &mut v {
                    *x = f.mul(*x, inv);
                }
                let c = f.mul(c, inv);
                // Keep rows reduced at this pivot so later reductions stay one pass.
                for (_, row, value) in &mut self.rows {
                    let factor = row[pivot];
                    if factor != 0 {
                        for (x, &r) in row.iter_mut().zip(&v) {
                            *x = f.sub(*x, f.mul(factor, r));
                        }
                        *value = f.sub(*value, f.mul(factor, c));
                    }
                }
                self.rows.push((pivot, v, c));
                Added::Independent
            }
        }
    }

    /// The value of `u · g` if the constraints determine it.
    pub(crate) fn determined(&self, g: &[u32]) -> Option<u32> {
        debug_assert_eq!(g.len(), self.k);
        let mut v = g.to_vec();
        // Reducing (g, 0) leaves −(u · g) + (residual) ; the value is the negated residual.
        let residual = self.reduce(&mut v, 0);
        v.iter()
            .all(|&x| x == 0)
            .then(|| self.field.sub(0, residual))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_ops() {
        let f = Field::new(7);
        for a in 1..7 {
            assert_eq!(f.mul(a, f.inv(a)), 1);
        }
        assert_eq!(f.sub(2, 5), 4);
        assert!(is_prime(2) && is_prime(257) && !is_prime(1) && !is_prime(91));
    }

    #[test]
    fn basis_determines_implied_values() {
        // u = (u0, u1) over F_5; learn u0 + u1 = 3 and u0 + 2 u1 = 4 → u1 = 1, u0 = 2.
        let f = Field::new(5);
        let mut b = Basis::new(f, 2);
        assert_eq!(b.add(&[1, 1], 3), Added::Independent);
        assert_eq!(b.determined(&[1, 0]), None);
        assert_eq!(b.add(&[1, 2], 4), Added::Independent);
        assert_eq!(b.determined(&[1, 0]), Some(2));
        assert_eq!(b.determined(&[0, 1]), Some(1));
        assert_eq!(b.determined(&[3, 4]), Some((3 * 2 + 4) % 5));
        assert_eq!(b.add(&[2, 2], 1), Added::Implied);
        assert_eq!(b.add(&[2, 2], 2), Added::Inconsistent);
        assert_eq!(b.rank(), 2);
    }
}

/// The same incremental elimination over F_2 with bit-packed vectors (64 coordinates per word):
/// XOR replaces the field arithmetic, which makes binary codes about two orders faster.
#[derive(Debug, Clone)]
pub(crate) struct Basis2 {
    rows: Vec<(usize, Vec<u64>, bool)>, // (pivot bit, vector, value)
}

impl Basis2 {
    pub(crate) fn new() -> Self {
        Basis2 { rows: Vec::new() }
    }

    pub(crate) fn rank(&self) -> usize {
        self.rows.len()
    }

    fn bit(v: &[u64], i: usize) -> bool {
        v[i / 64] >> (i % 64) & 1 == 1
    }

    fn reduce(&self, v: &mut [u64], mut c: bool) -> bool {
        for (pivot, row, value) in &self.rows {
            if Self::bit(v, *pivot) {
                for (x, r) in v.iter_mut().zip(row) {
                    *x ^= r;
                }
                c ^= value;
            }
        }
        c
    }

    pub(crate) fn add(&mut self, g: &[u64], c: bool) -> Added {
        let mut v = g.to_vec();
        let c = self.reduce(&mut v, c);
        let Some(word) = v.iter().position(|&w| w != 0) else {
            return if c {
                Added::Inconsistent
            } else {
                Added::Implied
            };
        };
        let pivot = word * 64 + v[word].trailing_zeros() as usize;
        for (_, row, value) in &mut self.rows {
            if Self::bit(row, pivot) {
                for (x, r) in row.iter_mut().zip(&v) {
                    *x ^= r;
                }
                *value ^= c;
            }
        }
        self.rows.push((pivot, v, c));
        Added::Independent
    }

    pub(crate) fn determined(&self, g: &[u64]) -> Option<bool> {
        let mut v = g.to_vec();
        let residual = self.reduce(&mut v, false);
        v.iter().all(|&w| w == 0).then_some(residual)
    }
}

#[cfg(test)]
mod binary_tests {
    use super::*;

    /// The bit-packed solver agrees with the generic one over F_2 on random systems.
    #[test]
    fn binary_agrees_with_prime() {
        let mut state = 12345u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200 {
            let k = 1 + (next() % 70) as usize;
            let words = k.div_ceil(64);
            let (mut a, mut b) = (Basis::new(Field::new(2), k), Basis2::new());
            for _ in 0..(next() % 80) {
                let g: Vec<u32> = (0..k).map(|_| (next() & 1) as u32).collect();
                let mut packed = vec![0u64; words];
                for (i, &x) in g.iter().enumerate() {
                    packed[i / 64] |= (x as u64) << (i % 64);
                }
                let c = (next() & 1) as u32;
                assert_eq!(a.determined(&g), b.determined(&packed).map(u32::from));
                assert_eq!(a.add(&g, c), b.add(&packed, c == 1));
                assert_eq!(a.rank(), b.rank());
            }
        }
    }
}
