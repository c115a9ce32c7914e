//! End-to-end tests of the `unmask` binary: outputs, JSON fields, exit codes, error messages,
//! one module per command or concern.

use serde_json::Value;

#[path = "../common/mod.rs"]
mod common;

mod blocks;
mod budget;
mod compare;
mod curve;
mod errors;
mod estimate;
mod eval;
mod frontier;
mod models;
mod output;
mod plan;
mod review_defects;
mod sample;
mod train_safety;
mod verify;

/// Equal to `b` within 1e−9.
fn close(a: &Value, b: f64) -> bool {
    (a.as_f64().expect("a number") - b).abs() < 1e-9
}
