//! Progress bars on stderr for long Monte Carlo work, and spinners for long exact computations,
//! only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use unmask_core::Observe;

/// A bar over `total` draws, or nothing when stderr is not a terminal (pipes, CI, files).
pub struct Progress(Option<ProgressBar>);

impl Progress {
    pub fn new(total: u64, what: &str) -> Self {
        if !std::io::stderr().is_terminal() || total < 1000 {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        Progress(Some(bar))
    }
}

impl Progress {
    /// A spinner with `what` for a computation priced at `work` operations, shown on a
    /// terminal when that is more than about a second (10⁹ operations); nothing otherwise.
    pub fn spinner(what: &str, work: f64) -> Self {
        if !std::io::stderr().is_terminal() || work < 1e9 {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(what.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress(Some(bar))
    }

    /// Replaces the text before the bar (e.g. the latest loss).
    pub fn message(&self, text: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(text);
        }
    }
}

impl Observe for Progress {
    fn advanced(&self, done: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(done);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
