//! What every command runs under, built once in `main` from the global flags and passed to each
//! command (as ripgrep passes its `HiArgs`): the resource budget, the device networks run on,
//! and the thread count. No process-wide state.

use unmask_core::budget::{Budget, Cost, OverBudget};

/// The work a network's training or forward passes may plan when `--max-work` is not given:
/// 3.6·10¹² operations, about an hour. A model command a user asks for (a minute of
/// estimation, ten minutes of training) is ordinary work; the guard is there for runaway
/// inputs (13 billion parameters, a million steps).
pub const MODEL_WORK: f64 = 3.6e12;

/// The settings of one run of the binary.
#[derive(Debug, Clone)]
pub struct Env {
    budget: Budget,
    model_budget: Budget,
    device: String,
    threads: usize,
}

impl Env {
    /// From `--max-memory`, `--max-work` (absent: the defaults, [`Budget::DEFAULT_WORK`] for
    /// curve and Monte Carlo work, [`MODEL_WORK`] for networks) and `--device`.
    pub fn new(max_memory: f64, max_work: Option<f64>, device: &str) -> Env {
        let work = max_work.unwrap_or(Budget::DEFAULT_WORK);
        Env {
            budget: Budget::new(max_memory, work),
            model_budget: Budget::new(max_memory, max_work.unwrap_or(MODEL_WORK)),
            device: device.to_string(),
            threads: threads(),
        }
    }

    /// The budget every command checks its inputs against before allocating.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Refuses `cost` over the budget, naming `what` and the flags that lift the limit.
    ///
    /// # Errors
    ///
    /// The refusal, with the estimate.
    pub fn check(&self, what: impl Into<String>, cost: Cost) -> anyhow::Result<()> {
        self.budget.check(what, cost).map_err(over_budget)
    }

    /// [`Env::check`] against the networks' budget.
    ///
    /// # Errors
    ///
    /// The refusal, with the estimate.
    pub fn check_model(&self, what: impl Into<String>, cost: Cost) -> anyhow::Result<()> {
        self.model_budget.check(what, cost).map_err(over_budget)
    }

    /// Prices `passes` forward passes of `oracle`'s network over sequences of its length
    /// ([`unmask_nn::Config::forward_cost`]).
    ///
    /// # Errors
    ///
    /// The refusal, with the estimate.
    pub fn check_model_passes(
        &self,
        oracle: &unmask_nn::NeuralOracle,
        passes: f64,
        what: String,
    ) -> anyhow::Result<()> {
        let n = unmask_core::Oracle::len(oracle);
        self.check_model(what, oracle.model().config().forward_cost(1, n, passes))
    }

    /// The device networks run on (`--device`, CPU by default).
    ///
    /// # Errors
    ///
    /// An unknown name, or a GPU this binary cannot open.
    pub fn device(&self) -> anyhow::Result<unmask_nn::Device> {
        use anyhow::Context;
        unmask_nn::device(&self.device).context("--device")
    }

    /// Threads that sample in parallel (each holds one oracle call's buffers).
    pub fn threads(&self) -> usize {
        self.threads
    }
}

/// A refusal of the resource policy, with the flags that lift it.
pub fn over_budget(e: OverBudget) -> anyhow::Error {
    anyhow::anyhow!("{e} (raise --max-memory or --max-work to allow it)")
}

/// `RAYON_NUM_THREADS` when set to a positive count (rayon's own rule), else the machine's
/// parallelism; the one place the thread count is looked up (`main` pins it at start-up).
pub fn threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
