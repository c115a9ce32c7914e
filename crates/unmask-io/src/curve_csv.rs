//! Curve files in CSV: Z values, sparse points, or a model's masked losses (`docs/formats.md`).

use unmask_core::{InformationCurve, Unit};

use crate::curve_file::{CurveFileError, RawCurve};

/// Parses the CSV forms (values in the unit of a `# unit = nats|bits` line, if any, or
/// whatever unit the caller says).
///
/// # Errors
///
/// A [`CurveFileError`] naming the line and the field at fault.
pub fn parse_csv(text: &str) -> Result<RawCurve, CurveFileError> {
    parse_csv_with_unit(text).map(|(raw, _)| raw)
}

/// [`parse_csv`] and the unit the file states in a `# unit = nats` (or `bits`) comment line.
///
/// # Errors
///
/// As [`parse_csv`]; a unit line naming no unit is refused with its line number.
pub fn parse_csv_with_unit(text: &str) -> Result<(RawCurve, Option<Unit>), CurveFileError> {
    let mut unit: Option<Unit> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(comment) = line.trim().strip_prefix('#')
            && let Some((key, value)) = comment.split_once('=')
            && key.trim() == "unit"
        {
            unit = Some(
                value
                    .trim()
                    .parse::<Unit>()
                    .map_err(|e| CurveFileError::CsvUnit {
                        line: i + 1,
                        message: e.to_string(),
                    })?,
            );
        }
    }
    parse_csv_values(text).map(|raw| (raw, unit))
}

fn parse_csv_values(text: &str) -> Result<RawCurve, CurveFileError> {
    let mut rows: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut seen_data = false;
    // What the header names: the columns, and `# n = N` for loss files.
    let mut kind: Option<&'static str> = None;
    let mut length: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            if let Some((key, value)) = comment.split_once('=')
                && key.trim() == "n"
            {
                length = value.trim().parse().ok();
            }
            continue;
        }
        if line.is_empty() {
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
                    return Err(CurveFileError::Ragged {
                        line: number,
                        found: values.len(),
                        first_line,
                        expected: first.len(),
                    });
                }
                if values.len() > 2 {
                    return Err(CurveFileError::TooManyColumns {
                        line: number,
                        found: values.len(),
                    });
                }
                rows.push((number, values));
            }
            Err(_) if !seen_data && fields.iter().any(|f| f.chars().any(char::is_alphabetic)) => {
                // A header line before the data: it names the columns.
                let names: Vec<String> = fields.iter().map(|f| f.to_ascii_lowercase()).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                kind = Some(match names.as_slice() {
                    ["z"] | ["z_j"] => "z",
                    ["j", "z"] | ["j", "z_j"] => "points",
                    ["t", "loss"] => "losses",
                    ["mask_ratio" | "mask_ratios" | "r", "loss"] => "mask_ratios",
                    _ => {
                        return Err(CurveFileError::CsvHeader {
                            line: number,
                            header: line.to_string(),
                        });
                    }
                });
                seen_data = true;
            }
            Err(_) => {
                let bad = fields
                    .iter()
                    .find(|f| f.parse::<f64>().is_err())
                    .unwrap_or(&"");
                return Err(CurveFileError::CsvNumber {
                    line: number,
                    field: bad.to_string(),
                });
            }
        }
    }
    let Some((_, first)) = rows.first() else {
        return Err(CurveFileError::NoRows);
    };
    if first.len() == 1 {
        return Ok(RawCurve::Z(rows.into_iter().map(|(_, v)| v[0]).collect()));
    }
    if let Some(which @ ("losses" | "mask_ratios")) = kind {
        let n = length.ok_or(CurveFileError::CsvLength)?;
        let losses = rows
            .into_iter()
            .map(|(line, v)| {
                let t = if which == "mask_ratios" {
                    InformationCurve::revealed_at_mask_ratio(n, v[0])?
                } else if v[0] >= 0.0 && v[0].fract() == 0.0 && v[0] < 1e15 {
                    v[0] as usize
                } else {
                    return Err(CurveFileError::BadIndex { line, j: v[0] });
                };
                Ok((t, v[1]))
            })
            .collect::<Result<Vec<_>, CurveFileError>>()?;
        return Ok(RawCurve::Losses { n, losses });
    }
    let mut points = Vec::with_capacity(rows.len());
    for (line, v) in rows {
        let j = v[0];
        if !(j >= 1.0 && j.fract() == 0.0 && j <= 1e15) {
            return Err(CurveFileError::BadIndex { line, j });
        }
        points.push((j as usize, v[1]));
    }
    let n = points.iter().map(|p| p.0).max().unwrap_or(0);
    Ok(RawCurve::Points { n, points })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_variants() {
        let RawCurve::Z(z) = parse_csv("z\n0\n0.5\n\n# note\n1\n").unwrap() else {
            panic!("one column is Z")
        };
        assert_eq!(z, vec![0.0, 0.5, 1.0]);
        let RawCurve::Points { n, points } = parse_csv("j,z\n3,0.2\n5,0.4\n").unwrap() else {
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
}
