//! `unmask curve`: print or write an information curve with its summary statistics.

use std::path::PathBuf;

use serde_json::json;
use unmask_core::{InformationCurve, Unit};

use crate::args::{Input, Loaded, Output};
use crate::io::{self, CurveFormat};
use crate::report::{self, Table, num};

/// Print or write an information curve.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub output: Output,
    /// Write the curve to PATH (atomically) instead of printing its values.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Format of --out; by default taken from the extension (.csv), else JSON.
    #[arg(long, value_enum)]
    pub format: Option<CurveFormat>,
}

/// What `unmask curve` can do besides printing.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Merge estimate shards (files from `unmask estimate --out`) weighted by their counts.
    Merge(super::estimate::MergeArgs),
}

pub fn run(args: Args, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    if let Some(Action::Merge(m)) = args.action {
        return super::estimate::merge(m, out);
    }
    let unit = Unit::from(args.output.unit);
    let loaded = args.input.load(unit)?;
    let curve = &loaded.curve;
    if let Some(path) = &args.out {
        let format = args
            .format
            .unwrap_or(if path.extension().is_some_and(|e| e == "csv") {
                CurveFormat::Csv
            } else {
                CurveFormat::Json
            });
        io::write_atomic(path, &io::curve_bytes(curve, unit, format))?;
    }
    if args.output.json {
        let mut doc = summary_json(&loaded, unit);
        if let Some(path) = &args.out {
            doc.insert("out".into(), json!(path.display().to_string()));
        } else {
            doc.insert("z".into(), json!(curve.values_in(unit)));
        }
        report::print_json(out, &serde_json::Value::Object(doc))?;
        return Ok(());
    }
    write!(out, "{}", summary_text(&loaded, unit))?;
    if let Some(path) = &args.out {
        writeln!(out, "wrote {} values to {}", curve.len(), path.display())?;
    } else {
        writeln!(out)?;
        write!(out, "{}", sample_table(curve, unit))?;
    }
    Ok(())
}

/// The curve's statistics as JSON fields (without the values).
pub fn summary_json(loaded: &Loaded, unit: Unit) -> serde_json::Map<String, serde_json::Value> {
    let c = &loaded.curve;
    let mut doc = report::header(c.len(), unit);
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
pub fn summary_text(loaded: &Loaded, unit: Unit) -> String {
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
        s.push_str(&format!(
            "repaired: largest correction {} at Z_{}\n",
            num(unit.from_nats(r.max_correction)),
            r.at_j
        ));
    }
    s
}

/// Up to 17 evenly spaced values of the curve.
fn sample_table(curve: &InformationCurve, unit: Unit) -> String {
    let n = curve.len();
    let mut js: Vec<usize> = (0..=16).map(|i| 1 + i * (n - 1) / 16).collect();
    js.dedup();
    let mut t = Table::new(&["j", &format!("Z_j ({unit})")]);
    for j in js {
        t.row(vec![j.to_string(), num(unit.from_nats(curve.z()[j - 1]))]);
    }
    t.render()
}
