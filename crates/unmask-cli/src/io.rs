//! Reading and writing curve files; atomic writes.
//!
//! Formats (DESIGN.md §3):
//! - JSON `{"unit": "nats"|"bits", "z": [Z_1, …, Z_n]}`, or `"entropy": [h(0), …, h(n−1)]`, or
//!   sparse `"n": N, "points": [[j, Z_j], …]` (linear between points, constant after the last);
//! - CSV: one column `Z_1..Z_n`, or two columns `j,Z_j` (sparse, n = the largest j); an optional
//!   header line, blank lines and `#` comments are skipped. CSV carries no unit: values are read
//!   in `--unit`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use serde_json::Value;
use unmask_core::{DistSpec, Family, FileData, InformationCurve, Repair, Unit};

/// What a file said, before validation.
enum Raw {
    Z(Vec<f64>),
    Entropy(Vec<f64>),
    Points { n: usize, points: Vec<(usize, f64)> },
}

/// Reads and validates a curve; with `repair`, projects it onto the valid set instead.
pub fn read_curve(
    path: &Path,
    csv_unit: Unit,
    repair: bool,
) -> anyhow::Result<(InformationCurve, Option<Repair>)> {
    let text = fs::read_to_string(path)?;
    let is_json = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => true,
        Some("csv") => false,
        _ => text.trim_start().starts_with('{'),
    };
    let (raw, unit) = if is_json {
        parse_json(&text)?
    } else {
        (parse_csv(&text)?, csv_unit)
    };
    let nats = |v: Vec<f64>| -> Vec<f64> { v.into_iter().map(|x| unit.to_nats(x)).collect() };
    let n = match &raw {
        Raw::Z(v) | Raw::Entropy(v) => v.len(),
        Raw::Points { n, .. } => *n,
    };
    crate::args::budget()
        .check_curve_len(n)
        .map_err(crate::args::over_budget)?;
    let built = match raw {
        Raw::Z(z) if repair => InformationCurve::repair(nats(z)).map(|(c, r)| (c, Some(r))),
        Raw::Z(z) => InformationCurve::new(nats(z)).map(|c| (c, None)),
        Raw::Entropy(h) => {
            let h = nats(h);
            match h
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
            {
                Some((t, &value)) => Err(unmask_core::CurveError::BadEntropy { t, value }),
                None if repair => InformationCurve::repair(h.iter().map(|&x| h[0] - x).collect())
                    .map(|(c, r)| (c, Some(r))),
                None => InformationCurve::from_entropy(&h).map(|c| (c, None)),
            }
        }
        Raw::Points { n, mut points } => {
            for p in &mut points {
                p.1 = unit.to_nats(p.1);
            }
            if repair {
                InformationCurve::from_points_repaired(n, &points).map(|(c, r)| (c, Some(r)))
            } else {
                InformationCurve::from_points(n, &points).map(|c| (c, None))
            }
        }
    };
    Ok(built?)
}

fn number_array(value: &Value, field: &str) -> anyhow::Result<Vec<f64>> {
    let items = value
        .as_array()
        .ok_or_else(|| anyhow!("field {field:?} must be an array of numbers"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_f64()
                .ok_or_else(|| anyhow!("field {field:?}: element {i} ({v}) is not a number"))
        })
        .collect()
}

fn parse_json(text: &str) -> anyhow::Result<(Raw, Unit)> {
    let value: Value = serde_json::from_str(text).context("malformed JSON")?;
    let object = value.as_object().ok_or_else(|| {
        anyhow!("expected a JSON object with \"unit\" and \"z\", \"entropy\" or \"points\"")
    })?;
    let unit = match object.get("unit") {
        Some(Value::String(u)) => u.parse::<Unit>().context("field \"unit\"")?,
        Some(other) => bail!("field \"unit\" must be \"nats\" or \"bits\", found {other}"),
        None => bail!("missing field \"unit\" (\"nats\" or \"bits\")"),
    };
    let present: Vec<&str> = ["z", "entropy", "points"]
        .into_iter()
        .filter(|k| object.contains_key(*k))
        .collect();
    let raw = match present.as_slice() {
        ["z"] => Raw::Z(number_array(&object["z"], "z")?),
        ["entropy"] => Raw::Entropy(number_array(&object["entropy"], "entropy")?),
        ["points"] => {
            let n =
                object.get("n").and_then(Value::as_u64).ok_or_else(|| {
                    anyhow!("sparse curve: field \"n\" must be a positive integer")
                })? as usize;
            let items = object["points"]
                .as_array()
                .ok_or_else(|| anyhow!("field \"points\" must be an array of [j, Z_j] pairs"))?;
            let points = items
                .iter()
                .enumerate()
                .map(|(i, p)| match p.as_array().map(Vec::as_slice) {
                    Some([j, z]) => match (j.as_u64(), z.as_f64()) {
                        (Some(j), Some(z)) => Ok((j as usize, z)),
                        _ => Err(anyhow!(
                            "field \"points\": element {i} ({p}) is not [integer j, number Z_j]"
                        )),
                    },
                    _ => Err(anyhow!(
                        "field \"points\": element {i} ({p}) is not a [j, Z_j] pair"
                    )),
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Raw::Points { n, points }
        }
        [] => bail!("expected one of the fields \"z\", \"entropy\" or \"points\""),
        _ => {
            bail!("give only one of the fields \"z\", \"entropy\", \"points\" (found {present:?})")
        }
    };
    Ok((raw, unit))
}

fn parse_csv(text: &str) -> anyhow::Result<Raw> {
    let mut rows: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut seen_data = false;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let parsed: Result<Vec<f64>, _> = fields.iter().map(|f| f.parse::<f64>()).collect();
        match parsed {
            Ok(values) => {
                seen_data = true;
                if let Some(&(first_line, ref first)) = rows.first()
                    && first.len() != values.len()
                {
                    bail!(
                        "line {number}: {} columns, but line {first_line} has {}",
                        values.len(),
                        first.len()
                    );
                }
                if values.len() > 2 {
                    bail!(
                        "line {number}: expected 1 column (Z) or 2 columns (j,Z), found {}",
                        values.len()
                    );
                }
                rows.push((number, values));
            }
            Err(_) if !seen_data && fields.iter().any(|f| f.chars().any(char::is_alphabetic)) => {
                // A header line before the data.
                seen_data = true;
            }
            Err(_) => {
                let bad = fields
                    .iter()
                    .find(|f| f.parse::<f64>().is_err())
                    .unwrap_or(&"");
                bail!("line {number}: {bad:?} is not a number");
            }
        }
    }
    let Some((_, first)) = rows.first() else {
        bail!("no data rows");
    };
    if first.len() == 1 {
        return Ok(Raw::Z(rows.into_iter().map(|(_, v)| v[0]).collect()));
    }
    let mut points = Vec::with_capacity(rows.len());
    for (number, v) in rows {
        let j = v[0];
        if !(j >= 1.0 && j.fract() == 0.0 && j <= 1e15) {
            bail!("line {number}: j = {j} is not a positive integer index");
        }
        points.push((j as usize, v[1]));
    }
    let n = points.iter().map(|p| p.0).max().unwrap_or(0);
    Ok(Raw::Points { n, points })
}

/// Builds a samplable family, reading the file its spec names (tables, transition matrices).
pub fn build_family(dist: &DistSpec) -> anyhow::Result<Family> {
    let data = match dist.file() {
        None => None,
        Some(path) => {
            let text = fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
            let value: Value =
                serde_json::from_str(&text).with_context(|| format!("{path}: malformed JSON"))?;
            let data = match dist {
                DistSpec::Table { .. } => table_data(&value).with_context(|| path.to_string())?,
                _ => matrix_data(&value).with_context(|| path.to_string())?,
            };
            crate::args::budget()
                .check(format!("{dist} as given in {path}"), dist.file_cost(&data))
                .map_err(crate::args::over_budget)?;
            Some(data)
        }
    };
    Ok(dist.build(data)?)
}

fn table_data(value: &Value) -> anyhow::Result<FileData> {
    let field = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| anyhow!("field {k:?} must be a positive integer"))
    };
    let (q, n) = (field("q")? as usize, field("n")? as usize);
    let p = number_array(
        value
            .get("p")
            .ok_or_else(|| anyhow!("missing field \"p\""))?,
        "p",
    )?;
    Ok(FileData::Table { q, n, p })
}

fn matrix_data(value: &Value) -> anyhow::Result<FileData> {
    let rows = value.get("matrix").unwrap_or(value);
    let rows = rows.as_array().ok_or_else(|| {
        anyhow!("expected a matrix: an array of rows, or {{\"matrix\": [[…], …]}}")
    })?;
    let rows = rows
        .iter()
        .enumerate()
        .map(|(i, r)| number_array(r, &format!("matrix row {i}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(FileData::Matrix(rows))
}

/// File format for writing curves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CurveFormat {
    /// `{"schema_version", "unit", "n", "z"}`.
    Json,
    /// One column `z` with a header, values in the unit.
    Csv,
}

/// Serialises a curve in `unit`.
pub fn curve_bytes(curve: &InformationCurve, unit: Unit, format: CurveFormat) -> Vec<u8> {
    let values = curve.values_in(unit);
    match format {
        CurveFormat::Json => {
            let doc = serde_json::json!({
                "schema_version": 1,
                "unit": unit.name(),
                "n": curve.len(),
                "z": values,
            });
            let mut bytes = serde_json::to_vec(&doc).expect("JSON of numbers");
            bytes.push(b'\n');
            bytes
        }
        CurveFormat::Csv => {
            let mut s = String::with_capacity(values.len() * 20 + 8);
            s.push_str("z\n");
            for v in values {
                s.push_str(&format!("{v}\n"));
            }
            s.into_bytes()
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename, so
/// a failure never leaves a partial file behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_variants() {
        let Raw::Z(z) = parse_csv("z\n0\n0.5\n\n# note\n1\n").unwrap() else {
            panic!("one column is Z")
        };
        assert_eq!(z, vec![0.0, 0.5, 1.0]);
        let Raw::Points { n, points } = parse_csv("j,z\n3,0.2\n5,0.4\n").unwrap() else {
            panic!("two columns are points")
        };
        assert_eq!((n, points), (5, vec![(3, 0.2), (5, 0.4)]));
        let err = |t: &str| parse_csv(t).err().unwrap().to_string();
        assert!(err("0\n0.1,2\n").contains("line 2"));
        assert!(err("0\nabc\n").contains("line 2: \"abc\""));
        assert!(err("z\n").contains("no data"));
        assert!(err("1.5,0.2\n").contains("not a positive integer"));
        assert!(err("0,1,2\n").contains("expected 1 column"));
    }

    #[test]
    fn json_variants() {
        let err = |t: &str| parse_json(t).err().unwrap().to_string();
        assert!(err("{").contains("malformed JSON"));
        assert!(err("[1]").contains("JSON object"));
        assert!(err(r#"{"z":[0]}"#).contains("missing field \"unit\""));
        assert!(err(r#"{"unit":"furlongs","z":[0]}"#).contains("unit"));
        assert!(err(r#"{"unit":"nats"}"#).contains("expected one of"));
        assert!(err(r#"{"unit":"nats","z":[0],"entropy":[1]}"#).contains("only one"));
        assert!(err(r#"{"unit":"nats","z":[0,"a"]}"#).contains("element 1"));
        assert!(err(r#"{"unit":"nats","points":[[2,0.1]]}"#).contains("\"n\""));
        assert!(err(r#"{"unit":"nats","n":3,"points":[[2]]}"#).contains("element 0"));
        assert!(parse_json(r#"{"unit":"bits","n":3,"points":[[2,0.1]]}"#).is_ok());
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The file parsers return errors, never panic, on arbitrary text.
        #[test]
        fn parsers_never_panic(text in "\\PC{0,200}", json_ish in "\\{\"unit\": ?\"(nats|bits)\", ?\"(z|entropy|points|n)\": ?[\\[\\]0-9.,eE+-]{0,40}\\}") {
            let _ = parse_csv(&text);
            let _ = parse_json(&text);
            if let Ok((raw, _)) = parse_json(&json_ish) {
                let _ = match raw {
                    Raw::Z(z) => InformationCurve::new(z).map(|_| ()),
                    Raw::Entropy(h) => InformationCurve::from_entropy(&h).map(|_| ()),
                    Raw::Points { n, points } => InformationCurve::from_points(n, &points).map(|_| ()),
                };
            }
        }
    }
}
