//! Small numeric helpers shared by the modules (not public).

/// Neumaier's compensated summation: the error is O(ε) independent of the number of terms,
/// as long as the result is not dominated by cancellation of much larger terms.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sum {
    sum: f64,
    comp: f64,
}

impl Sum {
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }

    pub(crate) fn value(self) -> f64 {
        self.sum + self.comp
    }
}

/// Compensated sum of an iterator.
pub(crate) fn sum<I: IntoIterator<Item = f64>>(values: I) -> f64 {
    let mut s = Sum::default();
    for v in values {
        s.add(v);
    }
    s.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensation_recovers_small_terms() {
        let values = [1.0, 1e100, 1.0, -1e100];
        assert_eq!(sum(values), 2.0);
        let naive: f64 = values.iter().sum();
        assert_eq!(naive, 0.0);
    }
}
