/// Why a list of counts is not a schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// No steps at all.
    #[error("a schedule needs at least one step")]
    NoSteps,
    /// Every step reveals nothing.
    #[error("a schedule must reveal at least one token")]
    NothingRevealed,
    /// Breakpoints go backwards.
    #[error("breakpoint {index} ({value}) is below the previous one ({previous})")]
    DecreasingBreakpoint {
        /// 0-based position in the breakpoint list.
        index: usize,
        /// The offending breakpoint.
        value: usize,
        /// The one before it.
        previous: usize,
    },
    /// The counts add up to more than a `usize` holds.
    #[error("the counts add up to more than {max} tokens (count {index} = {value} overflows the sum)", max = usize::MAX)]
    TooManyTokens {
        /// 1-based position of the count at which the sum overflows.
        index: usize,
        /// That count.
        value: usize,
    },
    /// The last breakpoint is not n.
    #[error("the last breakpoint is {last}, expected n = {n}")]
    WrongTotal {
        /// The last breakpoint given.
        last: usize,
        /// The sequence length.
        n: usize,
    },
}

/// A validated schedule: counts per forward pass, summing to `n ≥ 1`.
///
/// # Example
///
/// ```
/// use unmask_core::Schedule;
/// let s = Schedule::from_counts(vec![4, 0, 3, 1])?;
/// assert_eq!((s.len(), s.steps(), s.wasted_steps()), (8, 4, 1));
/// assert_eq!(s.breakpoints(), vec![4, 4, 7, 8]);
/// assert_eq!(Schedule::from_breakpoints(8, &[4, 4, 7, 8])?, s);
/// # Ok::<(), unmask_core::ScheduleError>(())
/// ```
///
/// Unmasking schedules: how many tokens each forward pass reveals.
///
/// # Definitions
///
/// A schedule for n tokens is a list of counts `s_1..s_k` with `Σ s_i = n`; `k` is the number
/// of forward passes (NFE). Its breakpoints are the cumulative counts `N_i = s_1 + … + s_i`
/// (`N_0 = 0` is implied, `N_k = n`), the number of tokens revealed after step i.
///
/// # Design
///
/// Zero counts are legal: they are forward passes that reveal nothing. Some samplers produce them
/// (Dream with `steps = n` wastes its first pass, see `docs/peers.md`) and a tool that reproduces
/// those samplers must be able to represent and report them ([`Schedule::wasted_steps`]). A
/// schedule must still reveal at least one token in total.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Schedule {
    counts: Vec<usize>,
    n: usize,
}

impl Schedule {
    /// Builds a schedule from per-step counts.
    ///
    /// # Errors
    ///
    /// [`ScheduleError::NoSteps`] for an empty list, [`ScheduleError::NothingRevealed`] when all
    /// counts are zero, [`ScheduleError::TooManyTokens`] when their sum overflows (the sum is
    /// checked, so a wrapped total can never pass for a small n).
    pub fn from_counts(counts: Vec<usize>) -> Result<Self, ScheduleError> {
        if counts.is_empty() {
            return Err(ScheduleError::NoSteps);
        }
        let mut n = 0usize;
        for (i, &c) in counts.iter().enumerate() {
            n = n.checked_add(c).ok_or(ScheduleError::TooManyTokens {
                index: i + 1,
                value: c,
            })?;
        }
        if n == 0 {
            return Err(ScheduleError::NothingRevealed);
        }
        Ok(Schedule { counts, n })
    }

    /// Builds a schedule from cumulative revealed counts `N_1..N_k` (`N_0 = 0` implied, `N_k = n`).
    ///
    /// # Errors
    ///
    /// [`ScheduleError::DecreasingBreakpoint`], [`ScheduleError::WrongTotal`], and the errors of
    /// [`Schedule::from_counts`].
    pub fn from_breakpoints(n: usize, breakpoints: &[usize]) -> Result<Self, ScheduleError> {
        let mut counts = Vec::with_capacity(breakpoints.len());
        let mut previous = 0;
        for (index, &value) in breakpoints.iter().enumerate() {
            if value < previous {
                return Err(ScheduleError::DecreasingBreakpoint {
                    index,
                    value,
                    previous,
                });
            }
            counts.push(value - previous);
            previous = value;
        }
        if let Some(&last) = breakpoints.last()
            && last != n
        {
            return Err(ScheduleError::WrongTotal { last, n });
        }
        Self::from_counts(counts)
    }

    /// The all-singletons schedule (`k = n`, exact sampling, zero error).
    ///
    /// # Panics
    ///
    /// If `n == 0`.
    pub fn singletons(n: usize) -> Self {
        assert!(n > 0, "a schedule must reveal at least one token");
        Schedule {
            counts: vec![1; n],
            n,
        }
    }

    /// The single-step schedule (`k = 1`, every token drawn from its marginal; error = TC).
    ///
    /// # Panics
    ///
    /// If `n == 0`.
    pub fn one_step(n: usize) -> Self {
        assert!(n > 0, "a schedule must reveal at least one token");
        Schedule { counts: vec![n], n }
    }

    /// Per-step counts `s_1..s_k`.
    pub fn counts(&self) -> &[usize] {
        &self.counts
    }

    /// Number of steps k (forward passes, including wasted ones).
    pub fn steps(&self) -> usize {
        self.counts.len()
    }

    /// Number of tokens n.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always false: a schedule reveals at least one token.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Number of steps that reveal nothing.
    pub fn wasted_steps(&self) -> usize {
        self.counts.iter().filter(|&&c| c == 0).count()
    }

    /// The largest count `s_max`.
    pub fn max_count(&self) -> usize {
        self.counts.iter().copied().max().unwrap_or(0)
    }

    /// Cumulative counts `N_1..N_k` (the last one is n).
    pub fn breakpoints(&self) -> Vec<usize> {
        self.counts
            .iter()
            .scan(0, |acc, &c| {
                *acc += c;
                Some(*acc)
            })
            .collect()
    }

    /// `(start, count)` for every step, where `start = N_{i−1}` is the number of tokens revealed
    /// before the step (0-based reveal index of its first token).
    pub fn blocks(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.counts.iter().scan(0, |start, &c| {
            let block = (*start, c);
            *start += c;
            Some(block)
        })
    }

    /// The same schedule without its zero-count steps.
    pub fn without_wasted(&self) -> Schedule {
        Schedule {
            counts: self.counts.iter().copied().filter(|&c| c > 0).collect(),
            n: self.n,
        }
    }

    /// The schedule run backwards (counts reversed), which maps the TC schedule to the DTC one.
    pub fn reversed(&self) -> Schedule {
        let mut counts = self.counts.clone();
        counts.reverse();
        Schedule { counts, n: self.n }
    }
}

impl std::fmt::Display for Schedule {
    /// Writes the counts as `3,5,8`, the spec syntax that parses back to the same schedule.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, c) in self.counts.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_create() {
        assert_eq!(Schedule::from_counts(vec![]), Err(ScheduleError::NoSteps));
        assert_eq!(
            Schedule::from_counts(vec![0, 0]),
            Err(ScheduleError::NothingRevealed)
        );
        assert_eq!(
            Schedule::from_breakpoints(5, &[2, 1, 5]),
            Err(ScheduleError::DecreasingBreakpoint {
                index: 1,
                value: 1,
                previous: 2
            })
        );
        assert_eq!(
            Schedule::from_breakpoints(5, &[2, 4]),
            Err(ScheduleError::WrongTotal { last: 4, n: 5 })
        );
        assert_eq!(
            Schedule::from_breakpoints(5, &[]),
            Err(ScheduleError::NoSteps)
        );
    }

    #[test]
    fn views() {
        let s = Schedule::from_counts(vec![2, 0, 3]).unwrap();
        assert_eq!(s.blocks().collect::<Vec<_>>(), vec![(0, 2), (2, 0), (2, 3)]);
        assert_eq!(s.without_wasted().counts(), &[2, 3]);
        assert_eq!(s.reversed().counts(), &[3, 0, 2]);
        assert_eq!(s.max_count(), 3);
        assert_eq!(s.to_string(), "2,0,3");
        assert_eq!(Schedule::singletons(3).counts(), &[1, 1, 1]);
        assert_eq!(Schedule::one_step(3).counts(), &[3]);
    }
}
