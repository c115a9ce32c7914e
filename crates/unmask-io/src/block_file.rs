//! Block-curve files: the conditional information curves of the blocks of a semi-autoregressive
//! decoder (`docs/formats.md`), one per block or one shared by all.
//!
//! ```json
//! {"unit": "nats", "block": 4, "curves": [[0, 0.1, 0.2, 0.2], [0, 0.3, 0.3, 0.4]]}
//! {"unit": "nats", "block": 4, "blocks": 8, "z": [0, 0.1, 0.2, 0.2]}
//! ```

use serde_json::Value;
use unmask_core::budget::{Budget, OverBudget};
use unmask_core::{BlockCurves, CurveError, InformationCurve, Unit};

/// Why a block-curve file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockFileError {
    /// The text is not JSON.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// No valid `"unit"`.
    #[error("field \"unit\" must be \"nats\" or \"bits\"")]
    Unit,
    /// No valid `"block"`.
    #[error("field \"block\" must be a positive integer (the block length)")]
    BlockLength,
    /// Neither or both of the two forms.
    #[error(
        "give either \"curves\" (one curve per block) or \"blocks\" with \"z\" (one curve for every block)"
    )]
    Form,
    /// No valid `"blocks"`.
    #[error("field \"blocks\" must be a positive integer (the number of blocks)")]
    BlockCount,
    /// A curve that is not an array of numbers of the block's length.
    #[error("{field}: expected {block} numbers (the block length), found {found}")]
    CurveLength {
        /// Which curve.
        field: String,
        /// The block length.
        block: usize,
        /// What was found.
        found: String,
    },
    /// An invalid curve.
    #[error("{field}: {source}")]
    Curve {
        /// Which curve.
        field: String,
        /// Why.
        source: CurveError,
    },
    /// More than the budget allows.
    #[error(transparent)]
    Budget(#[from] OverBudget),
}

fn curve_of(
    value: &Value,
    field: String,
    block: usize,
    unit: Unit,
) -> Result<InformationCurve, BlockFileError> {
    let numbers: Option<Vec<f64>> = value
        .as_array()
        .and_then(|items| items.iter().map(Value::as_f64).collect());
    match numbers {
        Some(z) if z.len() == block => {
            InformationCurve::new(z.into_iter().map(|x| unit.to_nats(x)).collect())
                .map_err(|source| BlockFileError::Curve { field, source })
        }
        Some(z) => Err(BlockFileError::CurveLength {
            field,
            block,
            found: format!("{} values", z.len()),
        }),
        None => Err(BlockFileError::CurveLength {
            field,
            block,
            found: "something else than an array of numbers".into(),
        }),
    }
}

/// Reads a block-curve file; the total length is checked against `budget` first.
///
/// # Errors
///
/// A [`BlockFileError`] naming the field at fault.
///
/// # Example
///
/// ```
/// use unmask_core::budget::Budget;
/// let text = r#"{"unit": "bits", "block": 2, "blocks": 3, "z": [0, 1]}"#;
/// let (blocks, unit) = unmask_io::read_block_curves(text, &Budget::default())?;
/// assert_eq!((blocks.blocks(), blocks.len(), unit.name()), (3, 6, "bits"));
/// # Ok::<(), unmask_io::BlockFileError>(())
/// ```
pub fn read_block_curves(
    text: &str,
    budget: &Budget,
) -> Result<(BlockCurves, Unit), BlockFileError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| BlockFileError::Json(e.to_string()))?;
    let unit = doc
        .get("unit")
        .and_then(Value::as_str)
        .and_then(|u| u.parse::<Unit>().ok())
        .ok_or(BlockFileError::Unit)?;
    let block = doc
        .get("block")
        .and_then(Value::as_u64)
        .and_then(|b| usize::try_from(b).ok())
        .filter(|&b| b >= 1)
        .ok_or(BlockFileError::BlockLength)?;
    let curves = match (doc.get("curves"), doc.get("blocks"), doc.get("z")) {
        (Some(list), None, None) => {
            let list = list.as_array().ok_or(BlockFileError::Form)?;
            budget.check_curve_len(list.len().saturating_mul(block))?;
            list.iter()
                .enumerate()
                .map(|(b, c)| curve_of(c, format!("curves[{b}]"), block, unit))
                .collect::<Result<Vec<_>, _>>()?
        }
        (None, Some(m), Some(z)) => {
            let m = m
                .as_u64()
                .and_then(|m| usize::try_from(m).ok())
                .filter(|&m| m >= 1)
                .ok_or(BlockFileError::BlockCount)?;
            budget.check_curve_len(m.saturating_mul(block))?;
            vec![curve_of(z, "z".into(), block, unit)?; m]
        }
        _ => return Err(BlockFileError::Form),
    };
    let blocks = BlockCurves::new(curves).map_err(|_| BlockFileError::Form)?;
    Ok((blocks, unit))
}

/// Writes block curves in the file format [`read_block_curves`] reads (one curve per block),
/// newline-terminated JSON: `{"block", "curves", "schema_version", "unit"}`. Blocks of
/// different lengths write `block` as the first block's length; the reader then refuses them.
pub fn write_block_curves(blocks: &BlockCurves, unit: Unit) -> Vec<u8> {
    let curves: Vec<Vec<f64>> = blocks.curves().iter().map(|c| c.values_in(unit)).collect();
    let doc = serde_json::json!({
        "schema_version": crate::SCHEMA_VERSION,
        "unit": unit.name(),
        "block": blocks.curves()[0].len(),
        "curves": curves,
    });
    let mut bytes = serde_json::to_vec(&doc).expect("JSON of finite numbers");
    bytes.push(b'\n');
    bytes
}
