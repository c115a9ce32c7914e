//! Estimate files (`unmask estimate --out`): a sparse curve that `--curve` reads, its standard
//! errors, the cross-entropy variant, the measured profile, and the shard's sums (nats) that
//! [`ProfileEstimate::merge`] adds, so that one estimate can be split across machines.

use serde_json::{Value, json};
use unmask_core::{Loss, Moments, PointEstimate, ProfileEstimate, Unit};

use crate::SCHEMA_VERSION;

/// Why an estimate file was refused. The messages are the ones the CLI prints.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardError {
    /// The text is not JSON.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// No `"shard"` object.
    #[error("not an estimate file: no field \"shard\"")]
    NotShard,
    /// No valid `"n"`.
    #[error("field \"n\" missing")]
    MissingLength,
    /// No `"shard.grid"` array.
    #[error("field \"shard.grid\" missing")]
    MissingGrid,
    /// A grid entry that is not an index.
    #[error("shard.grid: {0} is not an index")]
    BadGrid(String),
    /// A moments list is absent.
    #[error("field \"shard.moments_nats.{0}\" missing")]
    MissingMoments(&'static str),
    /// A moments list of the wrong length.
    #[error("shard.moments_nats.{key} has {found} entries for {grid} grid points")]
    MomentsLength {
        /// The list.
        key: &'static str,
        /// Its length.
        found: usize,
        /// The grid's.
        grid: usize,
    },
    /// A moments entry that is not `[count, sum, sum_sq]`.
    #[error("shard.moments_nats.{key}: {value} is not [count, sum, sum_sq]")]
    BadMoments {
        /// The list.
        key: &'static str,
        /// The entry as written.
        value: String,
    },
}

/// An estimate file read back: the sums, where they came from, and the runs they merge.
#[derive(Debug, Clone, PartialEq)]
pub struct Shard {
    /// The per-grid-point sums.
    pub estimate: ProfileEstimate,
    /// The distribution or model the estimate is of.
    pub source: String,
    /// One object per run merged into this file (`{"seed", "first", "samples"}`).
    pub parts: Vec<Value>,
    /// Which loss the main `points` are (`"loss"` in the file; predicted entropy by default).
    pub main: Loss,
}

fn moments_json(m: &Moments) -> Value {
    json!([m.count, m.sum, m.sum_sq])
}

/// The estimate document: `unit`, `n`, `source`, the sparse `points` and `stderr` (predicted
/// entropy), `cross_entropy{points, stderr}`, `profile{t, entropy, cross_entropy}` and
/// `shard{parts, samples, grid, moments_nats}` (see `docs/formats.md`).
pub fn estimate_document(
    e: &ProfileEstimate,
    unit: Unit,
    source: &str,
    parts: Vec<Value>,
    main: Loss,
) -> Value {
    let pts = |loss| -> (Vec<Value>, Vec<f64>) {
        let p = e.z_points(loss);
        (
            p.iter()
                .map(|&(j, z, _)| json!([j, unit.from_nats(z)]))
                .collect(),
            p.iter().map(|&(_, _, s)| unit.from_nats(s)).collect(),
        )
    };
    let (other, other_name, main_name) = match main {
        Loss::Entropy => (Loss::CrossEntropy, "cross_entropy", "entropy"),
        Loss::CrossEntropy => (Loss::Entropy, "predicted_entropy", "cross_entropy"),
    };
    let (points, stderr) = pts(main);
    let (o_points, o_stderr) = pts(other);
    let each = |f: &dyn Fn(&PointEstimate) -> Value| e.points.iter().map(f).collect::<Vec<_>>();
    let mut doc = json!({
        "schema_version": SCHEMA_VERSION,
        "unit": unit.name(),
        "n": e.n,
        "source": source,
        "loss": main_name,
        "points": points,
        "stderr": stderr,
        "profile": {
            "t": each(&|p| json!(p.t)),
            "entropy": each(&|p| json!(unit.from_nats(p.entropy.mean()))),
            "cross_entropy": each(&|p| json!(unit.from_nats(p.cross_entropy.mean()))),
        },
        "shard": {
            "parts": parts,
            "samples": e.points.first().map_or(0, |p| p.entropy.count),
            "grid": each(&|p| json!(p.t)),
            "moments_nats": {
                "entropy": each(&|p| moments_json(&p.entropy)),
                "cross_entropy": each(&|p| moments_json(&p.cross_entropy)),
                "z_entropy": each(&|p| moments_json(&p.z_entropy)),
                "z_cross_entropy": each(&|p| moments_json(&p.z_cross_entropy)),
            },
        },
    });
    doc[other_name] = json!({"points": o_points, "stderr": o_stderr});
    doc
}

/// The file `unmask estimate --block L` writes: the block-curve file of the blocks' estimated
/// curves (the main loss, interpolated and repaired) with `source` and `estimates`, one
/// [`estimate_document`] per block, so that shards of block estimates merge block by block
/// ([`read_block_estimates`], `unmask curve merge`). Returns the document and the curves.
///
/// # Errors
///
/// A block whose estimate gives no curve, or no blocks at all.
pub fn block_estimate_document(
    estimates: &[ProfileEstimate],
    unit: Unit,
    source: &str,
    parts: &[Value],
    main: Loss,
) -> Result<(Value, unmask_core::BlockCurves), Box<dyn std::error::Error + Send + Sync>> {
    let curves = estimates
        .iter()
        .map(|e| e.curve(main).map(|(c, _)| c))
        .collect::<Result<Vec<_>, _>>()?;
    let blocks = unmask_core::BlockCurves::new(curves)?;
    let mut doc: Value = serde_json::from_slice(&crate::write_block_curves(&blocks, unit))?;
    doc["source"] = json!(source);
    doc["estimates"] = json!(
        estimates
            .iter()
            .map(|e| estimate_document(e, unit, source, parts.to_vec(), main))
            .collect::<Vec<_>>()
    );
    Ok((doc, blocks))
}

/// The per-block sums of a [`block_estimate_document`], or None when the document has no
/// `estimates` (a plain estimate file).
///
/// # Errors
///
/// A [`ShardError`] naming the field at fault, in the block's estimate.
pub fn read_block_estimates(text: &str) -> Result<Option<Vec<Shard>>, ShardError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| ShardError::Json(e.to_string()))?;
    let Some(list) = doc.get("estimates") else {
        return Ok(None);
    };
    let list = list.as_array().ok_or(ShardError::NotShard)?;
    list.iter()
        .map(|e| read_estimate(&e.to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Reads an estimate file's sums back.
///
/// # Errors
///
/// A [`ShardError`] naming the field at fault.
pub fn read_estimate(text: &str) -> Result<Shard, ShardError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| ShardError::Json(e.to_string()))?;
    let shard = doc.get("shard").ok_or(ShardError::NotShard)?;
    let n = doc
        .get("n")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(ShardError::MissingLength)?;
    let grid: Vec<usize> = shard
        .get("grid")
        .and_then(Value::as_array)
        .ok_or(ShardError::MissingGrid)?
        .iter()
        .map(|v| {
            v.as_u64()
                .and_then(|t| usize::try_from(t).ok())
                .ok_or_else(|| ShardError::BadGrid(v.to_string()))
        })
        .collect::<Result<_, _>>()?;
    let moments = |key: &'static str| -> Result<Vec<Moments>, ShardError> {
        let list = shard
            .pointer(&format!("/moments_nats/{key}"))
            .and_then(Value::as_array)
            .ok_or(ShardError::MissingMoments(key))?;
        if list.len() != grid.len() {
            return Err(ShardError::MomentsLength {
                key,
                found: list.len(),
                grid: grid.len(),
            });
        }
        list.iter()
            .map(|m| match m.as_array().map(Vec::as_slice) {
                Some([c, s, q]) => match (c.as_u64(), s.as_f64(), q.as_f64()) {
                    (Some(count), Some(sum), Some(sum_sq)) => Ok(Moments { count, sum, sum_sq }),
                    _ => Err(ShardError::BadMoments {
                        key,
                        value: m.to_string(),
                    }),
                },
                _ => Err(ShardError::BadMoments {
                    key,
                    value: m.to_string(),
                }),
            })
            .collect()
    };
    let (h, ce, zh, zce) = (
        moments("entropy")?,
        moments("cross_entropy")?,
        moments("z_entropy")?,
        moments("z_cross_entropy")?,
    );
    let points = grid
        .iter()
        .enumerate()
        .map(|(k, &t)| PointEstimate {
            t,
            entropy: h[k],
            cross_entropy: ce[k],
            z_entropy: zh[k],
            z_cross_entropy: zce[k],
        })
        .collect();
    Ok(Shard {
        estimate: ProfileEstimate { n, points },
        source: doc
            .get("source")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        parts: shard
            .get("parts")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        main: match doc.get("loss").and_then(Value::as_str) {
            Some("cross_entropy") => Loss::CrossEntropy,
            _ => Loss::Entropy,
        },
    })
}
