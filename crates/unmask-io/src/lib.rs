//! File formats of unmask, shared by the command-line tool and the Python bindings: one
//! reader and one writer per format, one set of messages — curve files ([`read_curve`],
//! [`write_curve`]) and estimate files with their mergeable shards ([`read_estimate`],
//! [`estimate_document`]), and the reports of `plan`, `compare` and `frontier` ([`PlanReport`],
//! [`CompareReport`], [`FrontierReport`]).
//!
//! The core (`unmask-core`) reads no files and knows no formats; this crate turns text into its
//! validated types. Every function here takes text, not paths: the front ends read the files
//! (and name them in their errors), which also makes every reader reachable by the fuzz targets
//! (`fuzz/`).
//!
//! # Curve files
//!
//! - JSON `{"unit": "nats"|"bits", "z": [Z_1, …, Z_n]}`, or `"entropy": [h(0), …, h(n−1)]`, or
//!   sparse `"n": N, "points": [[j, Z_j], …]` (linear between points, constant after the last);
//! - CSV: one column `Z_1..Z_n`, or two columns `j,Z_j` (sparse, n = the largest j); an optional
//!   header line, blank lines and `#` comments are skipped. CSV carries no unit: the caller
//!   says which.
//!
//! See `docs/formats.md` in the repository for the full description.
//!
//! # Example
//!
//! ```
//! use unmask_core::{budget::Budget, Unit};
//! use unmask_io::{read_curve, Format};
//! let text = r#"{"unit": "bits", "z": [0, 0, 1, 1]}"#;
//! let (curve, repair) = read_curve(text, Format::Json, None, false, &Budget::default())?;
//! assert!((curve.tc() - 2.0 * std::f64::consts::LN_2).abs() < 1e-15);
//! assert!(repair.is_none());
//! let err = read_curve("0\n0.5\nx\n", Format::Csv, Some(Unit::Nats), false, &Budget::default());
//! assert_eq!(err.unwrap_err().to_string(), "line 3: \"x\" is not a number");
//! # Ok::<(), unmask_io::CurveFileError>(())
//! ```

#![deny(missing_docs, missing_debug_implementations)]
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod block_file;
mod curve_csv;
mod curve_file;
mod dist_file;
mod report;
mod shard;

pub use block_file::{BlockFileError, read_block_curves, write_block_curves};
pub use curve_csv::parse_csv;
pub use curve_file::{
    CurveFileError, Format, RawCurve, ReadCurve, SCHEMA_VERSION, parse_json, read_curve,
    read_curve_full, read_curve_in, write_curve,
};
pub use dist_file::{DistFileError, read_dist_file};
pub use report::{
    BlockReport, BlockwiseReport, Bounds, CompareReport, CompareRow, EvalReport, FrontierReport,
    GuaranteeReport, PlanReport, PlanTarget, Point, Series, SpeedupReport, StepReport,
    StochasticEvalReport, VerifyReport, add_input_notes,
};
pub use shard::{
    Shard, ShardError, block_estimate_document, estimate_document, read_block_estimates,
    read_estimate,
};
