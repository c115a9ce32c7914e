//! The files `--dist` specs name: `table:FILE` (an explicit pmf) and `markov:…,matrix=FILE` (a
//! transition matrix), read into the core's [`FileData`]. Their validation (probabilities sum
//! to 1, rows stochastic, sizes) is the core's (`Table::new`, `Markov::new`).

use serde_json::Value;
use unmask_core::{DistSpec, FileData};

/// Why a `--dist` file was refused. The messages are the ones the CLI prints.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DistFileError {
    /// The text is not JSON.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// A table field that must be a positive integer.
    #[error("field {0:?} must be a positive integer")]
    NotInteger(&'static str),
    /// A table without probabilities.
    #[error("missing field \"p\"")]
    MissingProbabilities,
    /// Not an array of rows.
    #[error("expected a matrix: an array of rows, or {{\"matrix\": [[…], …]}}")]
    NotMatrix,
    /// An array of numbers that is not.
    #[error("field {field:?} must be an array of numbers")]
    NotArray {
        /// The field or row.
        field: String,
    },
    /// An element that is not a number.
    #[error("field {field:?}: element {index} ({value}) is not a number")]
    NotNumber {
        /// The field or row.
        field: String,
        /// 0-based position.
        index: usize,
        /// The element as written.
        value: String,
    },
}

fn numbers(value: &Value, field: &str) -> Result<Vec<f64>, DistFileError> {
    let items = value.as_array().ok_or_else(|| DistFileError::NotArray {
        field: field.to_string(),
    })?;
    items
        .iter()
        .enumerate()
        .map(|(index, v)| {
            v.as_f64().ok_or_else(|| DistFileError::NotNumber {
                field: field.to_string(),
                index,
                value: v.to_string(),
            })
        })
        .collect()
}

/// Reads the file text of a spec that names one ([`DistSpec::file`]): a table for `table:`,
/// a transition matrix otherwise.
///
/// # Errors
///
/// A [`DistFileError`] naming the field or row at fault.
///
/// # Example
///
/// ```
/// use unmask_core::{DistSpec, FileData};
/// let spec = DistSpec::parse("table:t.json")?;
/// let data = unmask_io::read_dist_file(&spec, r#"{"q": 2, "n": 1, "p": [0.25, 0.75]}"#)?;
/// assert_eq!(data, FileData::Table { q: 2, n: 1, p: vec![0.25, 0.75] });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_dist_file(spec: &DistSpec, text: &str) -> Result<FileData, DistFileError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| DistFileError::Json(e.to_string()))?;
    match spec {
        DistSpec::Table { .. } => {
            let field = |k: &'static str| {
                value
                    .get(k)
                    .and_then(Value::as_u64)
                    .and_then(|x| usize::try_from(x).ok())
                    .ok_or(DistFileError::NotInteger(k))
            };
            let (q, n) = (field("q")?, field("n")?);
            let p = numbers(
                value.get("p").ok_or(DistFileError::MissingProbabilities)?,
                "p",
            )?;
            Ok(FileData::Table { q, n, p })
        }
        _ => {
            let rows = value.get("matrix").unwrap_or(&value);
            let rows = rows.as_array().ok_or(DistFileError::NotMatrix)?;
            let rows = rows
                .iter()
                .enumerate()
                .map(|(i, r)| numbers(r, &format!("matrix row {i}")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(FileData::Matrix(rows))
        }
    }
}
