/// Progress reports from long computations (the core never prints; a CLI draws a bar).
///
/// Called from worker threads, hence `Sync`; the default does nothing.
pub trait Observe: Sync {
    /// `done` more work items (draws) finished.
    fn advanced(&self, done: u64) {
        let _ = done;
    }
}

/// No progress reports.
impl Observe for () {}

/// Running sums of a quantity: count, Σ v, Σ v². Mergeable.
///
/// Running sums with standard errors ([`Moments`]), the options of a Monte Carlo run
/// ([`Runs`]) and its progress reports ([`Observe`]): what the verification and estimation
/// modules share.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Moments {
    /// Number of values.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The sum of their squares.
    pub sum_sq: f64,
}

impl Moments {
    /// Moments of values, summed in order.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let mut m = Moments::default();
        for v in values {
            m.count += 1;
            m.sum += v;
            m.sum_sq += v * v;
        }
        m
    }

    /// The mean (NaN when empty).
    pub fn mean(&self) -> f64 {
        self.sum / self.count as f64
    }

    /// The standard error of the mean (sample standard deviation / √count).
    pub fn stderr(&self) -> f64 {
        if self.count < 2 {
            return f64::NAN;
        }
        let c = self.count as f64;
        let var = ((self.sum_sq - self.sum * self.sum / c) / (c - 1.0)).max(0.0);
        (var / c).sqrt()
    }

    /// The 95% normal confidence interval of the mean.
    pub fn ci95(&self) -> (f64, f64) {
        let half = 1.959_963_984_540_054 * self.stderr();
        (self.mean() - half, self.mean() + half)
    }

    /// Adds another set of values.
    pub fn merge(&mut self, other: &Moments) {
        self.count += other.count;
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
    }
}

/// How a Monte Carlo computation draws its work items: how many, from which seed, the index of
/// the first (to split one run into shards that merge exactly), and who hears about progress.
/// Item i uses the ChaCha8 stream `(seed, first + i)` ([`crate::stream`]), so results do not
/// depend on the thread count.
///
/// # Example
///
/// ```
/// use unmask_core::Runs;
/// let runs = Runs::new(2000, 7).first(2000);
/// assert_eq!((runs.samples, runs.seed, runs.first), (2000, 7, 2000));
/// ```
#[derive(Clone, Copy)]
pub struct Runs<'a> {
    /// Work items (draws).
    pub samples: usize,
    /// The seed.
    pub seed: u64,
    /// Index of the first item.
    pub first: u64,
    /// Progress reports.
    pub observe: &'a dyn Observe,
}

impl std::fmt::Debug for Runs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runs")
            .field("samples", &self.samples)
            .field("seed", &self.seed)
            .field("first", &self.first)
            .finish_non_exhaustive()
    }
}

impl Runs<'static> {
    /// `samples` items from `seed`, starting at item 0, with no progress reports.
    pub fn new(samples: usize, seed: u64) -> Self {
        Runs {
            samples,
            seed,
            first: 0,
            observe: &(),
        }
    }
}

impl<'a> Runs<'a> {
    /// Starts at item `first`.
    pub fn first(self, first: u64) -> Self {
        Runs { first, ..self }
    }

    /// Reports each finished item to `observe`.
    pub fn observe<'b>(self, observe: &'b dyn Observe) -> Runs<'b> {
        Runs {
            samples: self.samples,
            seed: self.seed,
            first: self.first,
            observe,
        }
    }

    /// The generator of item `i` (0-based within this run).
    pub(crate) fn rng(&self, i: usize) -> rand_chacha::ChaCha8Rng {
        crate::sampler::stream(self.seed, self.first + i as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_merge_and_ci() {
        let mut a = Moments::of([1.0, 2.0]);
        a.merge(&Moments::of([3.0, 4.0]));
        assert_eq!(a, Moments::of([1.0, 2.0, 3.0, 4.0]));
        assert_eq!(a.mean(), 2.5);
        let (lo, hi) = a.ci95();
        assert!(lo < 2.5 && hi > 2.5);
    }
}
