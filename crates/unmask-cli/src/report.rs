//! Rendering: numbers, schedules and aligned tables for people; JSON values for machines.

use std::fmt::Write as _;

use serde_json::{Value, json};
use unmask_core::{Comparison, Schedule, Unit};

use crate::load::Loaded;

pub use unmask_io::SCHEMA_VERSION;

/// `curve SOURCE (n = N, TC = T UNIT)`, the first line of every text report on a curve.
pub fn describe(loaded: &Loaded, unit: Unit) -> String {
    format!(
        "curve {} (n = {}, TC = {} {unit})",
        loaded.source,
        loaded.curve.len(),
        num(unit.from_nats(loaded.curve.tc()))
    )
}

/// A number with 6 significant digits, in fixed or scientific notation as fits.
pub fn num(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if (1e-3..1e6).contains(&a) {
        let digits = (5 - a.log10().floor() as i32).clamp(0, 9) as usize;
        let s = format!("{x:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{x:.4e}")
    }
}

/// Counts as `a,b,c`, shortened in the middle when there are many.
pub fn counts(schedule: &Schedule) -> String {
    let c = schedule.counts();
    let join = |s: &[usize]| {
        s.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    if c.len() <= 24 {
        join(c)
    } else {
        format!(
            "{},…,{} ({} steps)",
            join(&c[..12]),
            join(&c[c.len() - 6..]),
            c.len()
        )
    }
}

/// JSON object header every document starts with.
pub fn header(n: usize, unit: Unit) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("schema_version".into(), json!(SCHEMA_VERSION));
    m.insert("n".into(), json!(n));
    m.insert("unit".into(), json!(unit.name()));
    m
}

/// Prints a JSON document followed by a newline.
pub fn print_json(out: &mut dyn std::io::Write, doc: &Value) -> anyhow::Result<()> {
    // serde_json wraps the writer's errors; unwrap them so that a closed pipe stays an
    // `io::Error` of kind BrokenPipe, which `main` treats as success.
    serde_json::to_writer_pretty(&mut *out, doc).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

/// A plain-text table with a header row; columns after the first are right-aligned.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Table {
            rows: vec![headers.iter().map(|h| h.to_string()).collect()],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let width: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut s = String::new();
        for (i, row) in self.rows.iter().enumerate() {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let pad = width[c] - cell.chars().count();
                if c == 0 {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str("  ");
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                }
            }
            let _ = writeln!(s, "{}", line.trim_end());
            if i == 0 {
                let total: usize = width.iter().sum::<usize>() + 2 * columns.saturating_sub(1);
                let _ = writeln!(s, "{}", "-".repeat(total));
            }
        }
        s
    }
}

/// What every expected-KL figure means, printed under it in text reports (README: "Reading the
/// numbers").
pub const MEANING: &str = "(expected KL = the KL over the whole sequence from the data to the \
random-order sampler's output with that schedule, averaged over orders: 0 loses nothing, ln 2 \
nats = 1 bit is one wrong coin flip per sequence)";

pub fn comparison_table(cmp: &Comparison, unit: Unit) -> String {
    let mut t = Table::new(&[
        "preset",
        "steps",
        &format!("expected KL ({unit})"),
        "× optimal",
        "steps to match",
        "counts",
    ]);
    for r in &cmp.rows {
        t.row(vec![
            r.baseline.name(),
            r.schedule.steps().to_string(),
            num(unit.from_nats(r.expected_kl)),
            r.ratio_to_optimal(cmp.optimal_kl).map_or("∞".into(), num),
            r.steps_to_match_optimal
                .map_or("none ≤ n".into(), |k| k.to_string()),
            counts(&r.schedule),
        ]);
    }
    t.render()
}
/// The curve's statistics as JSON fields (without the values).
pub fn curve_json(loaded: &Loaded, unit: Unit) -> serde_json::Map<String, serde_json::Value> {
    let c = &loaded.curve;
    let mut doc = header(c.len(), unit);
    doc.insert("source".into(), json!(loaded.source));
    doc.insert("tc".into(), json!(unit.from_nats(c.tc())));
    doc.insert("dtc".into(), json!(unit.from_nats(c.dtc())));
    doc.insert("sum_mi".into(), json!(unit.from_nats(c.sum_mi())));
    doc.insert("z_n".into(), json!(unit.from_nats(c.z_n())));
    if let Some(r) = loaded.repair {
        doc.insert(
            "repair".into(),
            json!({"max_correction": unit.from_nats(r.max_correction), "at_j": r.at_j}),
        );
    }
    doc
}
/// Two lines of statistics for people.
pub fn curve_text(loaded: &Loaded, unit: Unit) -> String {
    let c = &loaded.curve;
    let mut s = format!(
        "curve {} (n = {}, {unit})\nTC = {}   DTC = {}   Σ I(X_i;X_−i) = n·Z_n = {}   Z_n = {}\n",
        loaded.source,
        c.len(),
        num(unit.from_nats(c.tc())),
        num(unit.from_nats(c.dtc())),
        num(unit.from_nats(c.sum_mi())),
        num(unit.from_nats(c.z_n())),
    );
    if let Some(r) = loaded.repair {
        s.push_str(&repair_line(&r, unit));
    }
    s
}

/// What `--repair` did, as a line: the largest correction and where, or that none was needed
/// (not "largest correction 0 at Z_1").
fn repair_line(r: &unmask_core::Repair, unit: Unit) -> String {
    if r.max_correction == 0.0 {
        return "repaired: nothing to correct (the curve was already valid)\n".into();
    }
    format!(
        "repaired: largest correction {} at Z_{}\n",
        num(unit.from_nats(r.max_correction)),
        r.at_j
    )
}
/// What the reports of plan, eval, compare and frontier say about their input beside the
/// figures: the repair of a noisy curve, and what a schedule's error cannot see past the last
/// measured point of a sparse one.
pub struct InputNotes {
    repair: Option<unmask_core::Repair>,
    tail: Option<unmask_core::UnmeasuredTail>,
}

impl InputNotes {
    /// The notes for `schedule` (the one reported: the plan, the evaluated schedule, the
    /// optimum at the budget) on the loaded curve.
    pub fn new(loaded: &Loaded, schedule: Option<&unmask_core::Schedule>) -> Self {
        let tail = schedule.and_then(|s| {
            unmask_core::unmeasured_tail(&loaded.curve, &loaded.measured, s)
                .ok()
                .flatten()
        });
        InputNotes {
            repair: loaded.repair,
            tail,
        }
    }

    /// Adds `repair` and `unmeasured_tail` to a JSON report (only when there is something to
    /// say, so full exact curves keep their fields).
    pub fn add_to(&self, doc: &mut serde_json::Value, unit: Unit) {
        unmask_io::add_input_notes(doc, self.repair, self.tail, unit);
    }

    /// The same as lines of text (empty when there is nothing to say).
    pub fn text(&self, n: usize, unit: Unit) -> String {
        let mut s = String::new();
        if let Some(r) = self.repair {
            s.push_str(&repair_line(&r, unit));
        }
        if let Some(t) = self.tail.filter(|t| t.steps > 0) {
            s.push_str(&format!(
                "warning: Z is measured up to j = {} of n = {n}; past it the curve is held flat, so the {} step(s) revealing the last {} tokens look free there. \
                 Were Z to keep rising at its last measured slope, this schedule's expected KL would be {} {unit} instead of {}. \
                 Measure a point at j = n (all but one token revealed) to remove the doubt.\n",
                t.measured_through,
                t.steps,
                t.tokens,
                num(unit.from_nats(t.expected_kl_linear)),
                num(unit.from_nats(t.expected_kl_flat)),
            ));
        }
        s
    }
}

/// JSON has no infinities: log-probabilities of impossible outputs become null.
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The text report of a curve estimate: its size and the Z values with standard errors.
pub fn estimate_text(e: &unmask_core::ProfileEstimate, unit: Unit, source: &str) -> String {
    use unmask_core::Loss;
    let samples = e.points.first().map_or(0, |p| p.entropy.count);
    let mut s = format!(
        "estimated curve of {source} from {samples} draws (n = {}, {unit})\n",
        e.n
    );
    let mut t = Table::new(&["j", "Z_j (entropy)", "± se", "Z_j (cross-entropy)", "± se"]);
    for (a, b) in e
        .z_points(Loss::Entropy)
        .iter()
        .zip(e.z_points(Loss::CrossEntropy))
    {
        t.row(vec![
            a.0.to_string(),
            num(unit.from_nats(a.1)),
            num(unit.from_nats(a.2)),
            num(unit.from_nats(b.1)),
            num(unit.from_nats(b.2)),
        ]);
    }
    s.push_str(&t.render());
    s
}

/// The text report of a block-wise decoder: total, then one row per block.
pub fn blockwise_text(
    source: &str,
    blocks: &unmask_core::BlockCurves,
    r: &unmask_io::BlockwiseReport,
) -> String {
    let unit = r.unit;
    let mut s = format!(
        "blocks {source} ({} blocks, n = {})\nsteps: {}   expected KL: {} {unit} (sum over blocks of Theorem 16 on each block's conditional curve)\n",
        blocks.blocks(),
        blocks.len(),
        r.steps,
        num(r.expected_kl)
    );
    let mut t = Table::new(&["block", "tokens", "steps", "expected KL", "counts"]);
    for (b, (block, curve)) in r.blocks.iter().zip(blocks.curves()).enumerate() {
        let counts: Vec<String> = block.schedule.iter().map(|c| c.to_string()).collect();
        t.row(vec![
            (b + 1).to_string(),
            curve.len().to_string(),
            block.steps.to_string(),
            num(block.expected_kl),
            counts.join(","),
        ]);
    }
    s.push_str(&t.render());
    s.push_str(MEANING);
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(1.0), "1");
        assert_eq!(num(4.643856189774724), "4.64386");
        assert_eq!(num(123456.7), "123457");
        assert_eq!(num(1e-7), "1.0000e-7");
        assert_eq!(num(-0.25), "-0.25");
    }

    #[test]
    fn table_alignment() {
        let mut t = Table::new(&["name", "kl"]);
        t.row(vec!["uniform".into(), "1.5".into()]);
        t.row(vec!["optimal".into(), "0".into()]);
        assert_eq!(
            t.render(),
            "name      kl\n------------\nuniform  1.5\noptimal    0\n"
        );
    }

    #[test]
    fn long_schedules_are_shortened() {
        let s = Schedule::from_counts(vec![1; 40]).unwrap();
        assert!(counts(&s).ends_with("(40 steps)"));
        assert_eq!(counts(&Schedule::from_counts(vec![2, 3]).unwrap()), "2,3");
    }
}
