//! Curve files: JSON and CSV text to [`InformationCurve`] (see the [crate docs](crate)).

use serde_json::Value;
use unmask_core::budget::{Budget, OverBudget};
use unmask_core::{CurveError, InformationCurve, Repair, Unit, UnitError};

/// Which syntax the text is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON object.
    Json,
    /// Comma-separated values.
    Csv,
}

impl Format {
    /// The format a file name implies (`.json`, `.csv`), else the one its text starts like.
    pub fn guess(file_name: &str, text: &str) -> Format {
        if file_name.ends_with(".json") {
            Format::Json
        } else if file_name.ends_with(".csv") {
            Format::Csv
        } else if text.trim_start().starts_with('{') {
            Format::Json
        } else {
            Format::Csv
        }
    }
}

/// What a curve file says, before validation.
#[derive(Debug, Clone, PartialEq)]
pub enum RawCurve {
    /// `Z_1..Z_n`.
    Z(Vec<f64>),
    /// The entropy profile `h(0)..h(n−1)`.
    Entropy(Vec<f64>),
    /// A model's masked losses `(t, L(t))` (t revealed tokens) for a sequence of length n.
    Losses {
        /// Sequence length.
        n: usize,
        /// The measurements, 0 ≤ t < n.
        losses: Vec<(usize, f64)>,
    },
    /// Sparse points `(j, Z_j)` of a curve of length n.
    Points {
        /// Curve length.
        n: usize,
        /// The points, 1-based j.
        points: Vec<(usize, f64)>,
    },
}

impl RawCurve {
    /// The curve length the file describes.
    pub fn len(&self) -> usize {
        match self {
            RawCurve::Z(v) | RawCurve::Entropy(v) => v.len(),
            RawCurve::Points { n, .. } | RawCurve::Losses { n, .. } => *n,
        }
    }

    /// True for a file without values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a curve file was refused. The messages are the ones the CLI and Python print.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CurveFileError {
    /// The text is not JSON.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// The JSON is not an object.
    #[error("expected a JSON object with \"unit\" and \"z\", \"entropy\" or \"points\"")]
    NotObject,
    /// No `"unit"` field.
    #[error("missing field \"unit\" (\"nats\" or \"bits\")")]
    MissingUnit,
    /// `"unit"` is not a string.
    #[error("field \"unit\" must be \"nats\" or \"bits\", found {0}")]
    UnitNotString(String),
    /// `"unit"` names no unit (the message is the unit's own; not a `source`, so a chain of
    /// causes does not print it twice).
    #[error("field \"unit\": {0}")]
    Unit(UnitError),
    /// A CSV `# unit = …` line names no unit.
    #[error("line {line}: {message}")]
    CsvUnit {
        /// 1-based line.
        line: usize,
        /// The unit's own message.
        message: String,
    },
    /// A CSV file that does not say its unit, read without a unit to assume.
    #[error(
        "the CSV file does not say its unit: add a line \"# unit = nats\" (or bits) before the values, or give the unit of the file's values (the CLI's --curve-unit)"
    )]
    CsvWithoutUnit,
    /// A CSV file whose unit line disagrees with the unit it was read in.
    #[error("the file says \"# unit = {file}\" but was to be read in {given}")]
    CsvUnitConflict {
        /// The file's unit.
        file: &'static str,
        /// The one asked for.
        given: &'static str,
    },
    /// None of the value fields.
    #[error(
        "expected one of the fields \"z\", \"entropy\", \"points\", \"losses\" or \"mask_ratios\""
    )]
    NoValues,
    /// More than one value field.
    #[error(
        "give only one of the fields \"z\", \"entropy\", \"points\", \"losses\", \"mask_ratios\" (found {0:?})"
    )]
    SeveralValues(Vec<&'static str>),
    /// A value field is not an array.
    #[error("field {0:?} must be an array of numbers")]
    NotArray(&'static str),
    /// An element is not a number.
    #[error("field {field:?}: element {index} ({value}) is not a number")]
    NotNumber {
        /// The field.
        field: &'static str,
        /// 0-based position.
        index: usize,
        /// The element as written.
        value: String,
    },
    /// A sparse curve without a valid `"n"`.
    #[error("sparse curve: field \"n\" must be a positive integer")]
    BadLength,
    /// `"points"` is not an array.
    #[error("field \"points\" must be an array of [j, Z_j] pairs")]
    PointsNotArray,
    /// An element of `"points"` is not a pair.
    #[error("field \"points\": element {index} ({value}) is not a [j, Z_j] pair")]
    NotPair {
        /// 0-based position.
        index: usize,
        /// The element as written.
        value: String,
    },
    /// A pair whose j is not an integer or whose Z is not a number.
    #[error("field \"points\": element {index} ({value}) is not [integer j, number Z_j]")]
    BadPair {
        /// 0-based position.
        index: usize,
        /// The element as written.
        value: String,
    },
    /// A CSV row with another number of columns than the first.
    #[error("line {line}: {found} columns, but line {first_line} has {expected}")]
    Ragged {
        /// 1-based line.
        line: usize,
        /// Columns found.
        found: usize,
        /// The first data line.
        first_line: usize,
        /// Its columns.
        expected: usize,
    },
    /// A CSV row with more than two columns.
    #[error("line {line}: expected 1 column (Z) or 2 columns (j,Z), found {found}")]
    TooManyColumns {
        /// 1-based line.
        line: usize,
        /// Columns found.
        found: usize,
    },
    /// A CSV field that is not a number.
    #[error("line {line}: {field:?} is not a number")]
    CsvNumber {
        /// 1-based line.
        line: usize,
        /// The field.
        field: String,
    },
    /// A CSV without data rows.
    #[error("no data rows")]
    NoRows,
    /// A loss CSV (header `t,loss` or `mask_ratio,loss`) without its sequence length.
    #[error("a loss CSV needs its sequence length: add a line `# n = N` (N = tokens per sequence)")]
    CsvLength,
    /// A header names columns this reader does not know.
    #[error("line {line}: header {header:?} is not `z`, `j,z`, `t,loss` or `mask_ratio,loss`")]
    CsvHeader {
        /// 1-based line.
        line: usize,
        /// The header as written.
        header: String,
    },
    /// A sparse CSV index that is not a positive integer.
    #[error("line {line}: j = {j} is not a positive integer index")]
    BadIndex {
        /// 1-based line.
        line: usize,
        /// The value read.
        j: f64,
    },
    /// Z values that look like masked losses (Z_1 > 0).
    #[error(
        "Z_1 = {value}, but Z_1 must be 0; if these are a model's masked losses L(t), give them as {{\"unit\", \"n\", \"losses\": [[t, L(t)], …]}} (Z_{{t+1}} = L(0) − L(t); see docs/formats.md)"
    )]
    LooksLikeLosses {
        /// The first value.
        value: f64,
    },
    /// A loss entry that is not a pair.
    #[error("field {field:?}: element {index} ({value}) is not a [{what}, loss] pair")]
    BadLoss {
        /// `"losses"` or `"mask_ratios"`.
        field: &'static str,
        /// What the first number is.
        what: &'static str,
        /// 0-based position.
        index: usize,
        /// The element as written.
        value: String,
    },
    /// An entropy value that is not a finite non-negative number, or an invalid curve.
    #[error(transparent)]
    Curve(#[from] CurveError),
    /// The curve is larger than the resource budget allows.
    #[error(transparent)]
    Budget(#[from] OverBudget),
}

fn number_array(value: &Value, field: &'static str) -> Result<Vec<f64>, CurveFileError> {
    let items = value.as_array().ok_or(CurveFileError::NotArray(field))?;
    items
        .iter()
        .enumerate()
        .map(|(index, v)| {
            v.as_f64().ok_or_else(|| CurveFileError::NotNumber {
                field,
                index,
                value: v.to_string(),
            })
        })
        .collect()
}

/// Parses the JSON forms (values in the file's own unit, which is returned beside them).
///
/// # Errors
///
/// A [`CurveFileError`] naming the field, element and value at fault.
pub fn parse_json(text: &str) -> Result<(RawCurve, Unit), CurveFileError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| CurveFileError::Json(e.to_string()))?;
    let object = value.as_object().ok_or(CurveFileError::NotObject)?;
    let unit = match object.get("unit") {
        Some(Value::String(u)) => u.parse::<Unit>().map_err(CurveFileError::Unit)?,
        Some(other) => return Err(CurveFileError::UnitNotString(other.to_string())),
        None => return Err(CurveFileError::MissingUnit),
    };
    let present: Vec<&'static str> = ["z", "entropy", "points", "losses", "mask_ratios"]
        .into_iter()
        .filter(|k| object.contains_key(*k))
        .collect();
    let raw = match present.as_slice() {
        ["z"] => RawCurve::Z(number_array(&object["z"], "z")?),
        ["entropy"] => RawCurve::Entropy(number_array(&object["entropy"], "entropy")?),
        ["points"] => {
            let n = object
                .get("n")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or(CurveFileError::BadLength)?;
            let items = object["points"]
                .as_array()
                .ok_or(CurveFileError::PointsNotArray)?;
            let points = items
                .iter()
                .enumerate()
                .map(|(index, p)| match p.as_array().map(Vec::as_slice) {
                    Some([j, z]) => {
                        match (j.as_u64().and_then(|j| usize::try_from(j).ok()), z.as_f64()) {
                            (Some(j), Some(z)) => Ok((j, z)),
                            _ => Err(CurveFileError::BadPair {
                                index,
                                value: p.to_string(),
                            }),
                        }
                    }
                    _ => Err(CurveFileError::NotPair {
                        index,
                        value: p.to_string(),
                    }),
                })
                .collect::<Result<Vec<_>, _>>()?;
            RawCurve::Points { n, points }
        }
        [field @ ("losses" | "mask_ratios")] => {
            let n = object
                .get("n")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or(CurveFileError::BadLength)?;
            let ratios = *field == "mask_ratios";
            let what = if ratios { "mask ratio" } else { "t" };
            let items = object[*field]
                .as_array()
                .ok_or(CurveFileError::NotArray(field))?;
            let losses = items
                .iter()
                .enumerate()
                .map(|(index, p)| {
                    let bad = || CurveFileError::BadLoss {
                        field,
                        what,
                        index,
                        value: p.to_string(),
                    };
                    let pair = p.as_array().map(Vec::as_slice).ok_or_else(bad)?;
                    let [x, loss] = pair else { return Err(bad()) };
                    let loss = loss.as_f64().ok_or_else(bad)?;
                    let t = if ratios {
                        let r = x.as_f64().ok_or_else(bad)?;
                        InformationCurve::revealed_at_mask_ratio(n, r)?
                    } else {
                        x.as_u64()
                            .and_then(|t| usize::try_from(t).ok())
                            .ok_or_else(bad)?
                    };
                    Ok((t, loss))
                })
                .collect::<Result<Vec<_>, CurveFileError>>()?;
            RawCurve::Losses { n, losses }
        }
        [] => return Err(CurveFileError::NoValues),
        _ => return Err(CurveFileError::SeveralValues(present)),
    };
    Ok((raw, unit))
}

/// Reads and validates a curve from text; with `repair`, projects it onto the valid set
/// instead of rejecting it. JSON files carry their unit; a CSV file states it in a
/// `# unit = nats` (or `bits`) line, or is read in `csv_unit` when it does not (and refused
/// when neither says: a unit is never guessed).
/// The curve's length is checked against `budget` before anything of that length is built.
///
/// # Errors
///
/// [`CurveFileError`]: the syntax, the field or line, the curve's validation, or the budget.
pub fn read_curve(
    text: &str,
    format: Format,
    csv_unit: Option<Unit>,
    repair: bool,
    budget: &Budget,
) -> Result<(InformationCurve, Option<Repair>), CurveFileError> {
    read_curve_in(text, format, csv_unit, repair, budget).map(|(c, r, _)| (c, r))
}

/// As [`read_curve`], also returning the unit the values were written in (the file's own for
/// JSON, `csv_unit` for CSV).
///
/// # Errors
///
/// As [`read_curve`].
pub fn read_curve_in(
    text: &str,
    format: Format,
    csv_unit: Option<Unit>,
    repair: bool,
    budget: &Budget,
) -> Result<(InformationCurve, Option<Repair>, Unit), CurveFileError> {
    read_curve_full(text, format, csv_unit, repair, budget).map(|r| (r.curve, r.repair, r.unit))
}

/// Everything [`read_curve_full`] learns from a curve file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadCurve {
    /// The curve (nats).
    pub curve: InformationCurve,
    /// What repairing changed, when it was asked for or implied (sparse points, losses).
    pub repair: Option<Repair>,
    /// The unit the file's values were written in.
    pub unit: Unit,
    /// The positions j (1-based) actually measured, for sparse files (points, or losses at
    /// t revealed tokens, which give Z_{t+1}); empty for a full curve.
    pub measured: Vec<usize>,
}

/// As [`read_curve_in`], also returning which positions were measured.
///
/// # Errors
///
/// As [`read_curve`].
pub fn read_curve_full(
    text: &str,
    format: Format,
    csv_unit: Option<Unit>,
    repair: bool,
    budget: &Budget,
) -> Result<ReadCurve, CurveFileError> {
    let (raw, unit) = match format {
        Format::Json => parse_json(text)?,
        Format::Csv => {
            let (raw, stated) = crate::curve_csv::parse_csv_with_unit(text)?;
            let unit = match (stated, csv_unit) {
                (Some(file), Some(given)) if file != given => {
                    return Err(CurveFileError::CsvUnitConflict {
                        file: file.name(),
                        given: given.name(),
                    });
                }
                (Some(unit), _) | (None, Some(unit)) => unit,
                (None, None) => return Err(CurveFileError::CsvWithoutUnit),
            };
            (raw, unit)
        }
    };
    budget.check_curve_len(raw.len())?;
    let measured = match &raw {
        RawCurve::Points { points, .. } => points.iter().map(|p| p.0).collect(),
        RawCurve::Losses { losses, .. } => losses.iter().map(|p| p.0 + 1).collect(),
        RawCurve::Z(_) | RawCurve::Entropy(_) => Vec::new(),
    };
    let nats = |v: Vec<f64>| -> Vec<f64> { v.into_iter().map(|x| unit.to_nats(x)).collect() };
    let built = match raw {
        RawCurve::Z(z) if repair => InformationCurve::repair(nats(z)).map(|(c, r)| (c, Some(r))),
        RawCurve::Z(z) => match InformationCurve::new(nats(z)) {
            Err(CurveError::FirstNotZero { value }) if value > 0.0 => {
                return Err(CurveFileError::LooksLikeLosses { value });
            }
            other => other.map(|c| (c, None)),
        },
        RawCurve::Losses { n, losses } => {
            let losses: Vec<(usize, f64)> = losses
                .into_iter()
                .map(|(t, l)| (t, unit.to_nats(l)))
                .collect();
            InformationCurve::from_masked_losses(n, &losses).map(|(c, r)| (c, Some(r)))
        }
        RawCurve::Entropy(h) => {
            let h = nats(h);
            match h
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
            {
                Some((t, &value)) => Err(CurveError::BadEntropy { t, value }),
                None if repair => InformationCurve::repair(h.iter().map(|&x| h[0] - x).collect())
                    .map(|(c, r)| (c, Some(r))),
                None => InformationCurve::from_entropy(&h).map(|c| (c, None)),
            }
        }
        RawCurve::Points { n, mut points } => {
            for p in &mut points {
                p.1 = unit.to_nats(p.1);
            }
            if repair {
                InformationCurve::from_points_repaired(n, &points).map(|(c, r)| (c, Some(r)))
            } else {
                match InformationCurve::from_points(n, &points) {
                    Err(CurveError::FirstNotZero { value }) if value > 0.0 => {
                        return Err(CurveFileError::LooksLikeLosses { value });
                    }
                    other => other.map(|c| (c, None)),
                }
            }
        }
    };
    let (curve, repair) = built?;
    Ok(ReadCurve {
        curve,
        repair,
        unit,
        measured,
    })
}

/// Version of the JSON documents unmask writes (`"schema_version"`).
pub const SCHEMA_VERSION: u32 = 1;

/// Writes a curve in `unit`: JSON `{"n", "schema_version", "unit", "z"}` or a one-column CSV
/// with a `z` header, newline-terminated. The CLI (`unmask curve --out`) and Python
/// (`Curve.to_json`) both write through this function, so their files are byte-identical, and
/// [`read_curve`] reads both back to the same values (`f64` round-trips through its shortest
/// decimal form; in bits, up to the ulp of the unit conversion).
///
/// # Example
///
/// ```
/// use unmask_core::{budget::Budget, InformationCurve, Unit};
/// use unmask_io::{read_curve, write_curve, Format};
/// let c = InformationCurve::new(vec![0.0, 0.25, 0.5])?;
/// let bytes = write_curve(&c, Unit::Nats, Format::Json);
/// assert_eq!(bytes, b"{\"n\":3,\"schema_version\":1,\"unit\":\"nats\",\"z\":[0.0,0.25,0.5]}\n");
/// let text = String::from_utf8(bytes).unwrap();
/// let (back, _) = read_curve(&text, Format::Json, None, false, &Budget::default())?;
/// assert_eq!(back, c);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_curve(curve: &InformationCurve, unit: Unit, format: Format) -> Vec<u8> {
    let values = curve.values_in(unit);
    match format {
        Format::Json => {
            let doc = serde_json::json!({
                "schema_version": SCHEMA_VERSION,
                "unit": unit.name(),
                "n": curve.len(),
                "z": values,
            });
            let mut bytes = serde_json::to_vec(&doc).expect("JSON of finite numbers");
            bytes.push(b'\n');
            bytes
        }
        Format::Csv => {
            let mut s = String::with_capacity(values.len() * 20 + 24);
            s.push_str(&format!("# unit = {}\nz\n", unit.name()));
            for v in values {
                s.push_str(&format!("{v}\n"));
            }
            s.into_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(text: &str, format: Format) -> Result<InformationCurve, CurveFileError> {
        read_curve(text, format, Some(Unit::Nats), false, &Budget::default()).map(|(c, _)| c)
    }

    #[test]
    fn forms_and_messages() {
        let ln2 = std::f64::consts::LN_2;
        let c = read(r#"{"unit": "bits", "entropy": [1, 1, 0.5]}"#, Format::Json).unwrap();
        assert_eq!(c.z(), &[0.0, 0.0, 0.5 * ln2]);
        let c = read("j,z\n# comment\n2,0.5\n4,1\n", Format::Csv).unwrap();
        assert_eq!(c.len(), 4);
        for (text, format, message) in [
            ("{", Format::Json, "malformed JSON"),
            ("[1]", Format::Json, "expected a JSON object"),
            (r#"{"z": [0]}"#, Format::Json, "missing field \"unit\""),
            (r#"{"unit": 3, "z": [0]}"#, Format::Json, "found 3"),
            (
                r#"{"unit": "nats"}"#,
                Format::Json,
                "expected one of the fields",
            ),
            (
                r#"{"unit": "nats", "z": [0], "points": []}"#,
                Format::Json,
                "give only one",
            ),
            (
                r#"{"unit": "nats", "z": [0, "a"]}"#,
                Format::Json,
                "element 1 (\"a\")",
            ),
            (
                r#"{"unit": "nats", "points": [[1, 0]]}"#,
                Format::Json,
                "field \"n\"",
            ),
            (
                r#"{"unit": "nats", "n": 3, "points": [[1.5, 0]]}"#,
                Format::Json,
                "integer j",
            ),
            (
                "0\n1,2\n",
                Format::Csv,
                "line 2: 2 columns, but line 1 has 1",
            ),
            ("1,2,3\n", Format::Csv, "expected 1 column"),
            ("# nothing\n", Format::Csv, "no data rows"),
            ("0.5,1\n", Format::Csv, "line 1: j = 0.5"),
            ("0\n-1\n", Format::Csv, "Z_2 = -1 is negative"),
            (
                r#"{"unit": "nats", "n": 300000000, "points": [[1, 0]]}"#,
                Format::Json,
                "n = 300000000",
            ),
        ] {
            let e = read(text, format).unwrap_err().to_string();
            assert!(e.contains(message), "{text:?}: {e}");
        }
    }

    proptest! {
        /// Whatever the text, the readers return a curve or an error (never a panic), and a
        /// curve they accept is a valid one of the length the text describes.
        #[test]
        fn never_panics(text in ".{0,200}", repair: bool) {
            for format in [Format::Json, Format::Csv] {
                if let Ok((c, _)) = read_curve(&text, format, Some(Unit::Bits), repair, &Budget::default()) {
                    prop_assert!(!c.is_empty());
                }
            }
        }
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

    proptest! {
        /// The file parsers return errors, never panic, on arbitrary text.
        #[test]
        fn parsers_never_panic(text in "\\PC{0,200}", json_ish in "\\{\"unit\": ?\"(nats|bits)\", ?\"(z|entropy|points|losses|mask_ratios|n)\": ?[\\[\\]0-9.,eE+-]{0,40}\\}") {
            let _ = crate::curve_csv::parse_csv(&text);
            let _ = parse_json(&text);
            if let Ok((raw, _)) = parse_json(&json_ish) {
                let _ = match raw {
                    RawCurve::Z(z) => InformationCurve::new(z).map(|_| ()),
                    RawCurve::Entropy(h) => InformationCurve::from_entropy(&h).map(|_| ()),
                    RawCurve::Points { n, points } => InformationCurve::from_points(n, &points).map(|_| ()),
                    RawCurve::Losses { n, losses } => InformationCurve::from_masked_losses(n, &losses).map(|_| ()),
                };
            }
        }
    }
}
