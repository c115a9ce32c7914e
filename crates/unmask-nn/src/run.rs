//! The run record a training checkpoint carries (`train_state.json`'s `"run"`): what the network
//! was trained on, so that `--resume` continues with the same data and the model commands know
//! the sequence length the network answers for.
//!
//! # Format
//!
//! `{"dist": SPEC, "len": n, "checkpoint_every": S}` for a distribution's draws, or
//! `{"text": FILE, "valid": FILE | null, "len": n, "checkpoint_every": S}` for windows of a text.
//! Records written before `len` was stored for distributions (and before `checkpoint_every`)
//! still read: `len` is then the spec's own n when it names one (`None` for file-backed
//! families, never by building the family), `checkpoint_every` absent.
//!
//! # Example
//!
//! ```
//! use unmask_nn::{RunData, RunInfo};
//! let run = RunInfo { data: RunData::Dist("markov:n=10,q=4,stay=0.8".into()), len: Some(10),
//!                     checkpoint_every: Some(50) };
//! let back = RunInfo::from_json(&run.to_json()).unwrap();
//! assert_eq!(back, run);
//! let old = serde_json::json!({"dist": "parity:n=6"});
//! assert_eq!(RunInfo::from_json(&old).unwrap().len, Some(6));
//! ```

use serde_json::{Value, json};

/// What a network was trained on.
#[derive(Debug, Clone, PartialEq)]
pub enum RunData {
    /// Exact draws of a distribution spec.
    Dist(String),
    /// Windows of a text file, validated on another file or the held-out last tenth.
    Text {
        /// The training text.
        text: String,
        /// The validation text, when given.
        valid: Option<String>,
    },
}

/// A training run's record (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// The data.
    pub data: RunData,
    /// The sequence length n, when known.
    pub len: Option<usize>,
    /// Steps between checkpoints, when recorded.
    pub checkpoint_every: Option<usize>,
}

impl RunInfo {
    /// The record as stored.
    pub fn to_json(&self) -> Value {
        let mut doc = match &self.data {
            RunData::Dist(spec) => json!({"dist": spec}),
            RunData::Text { text, valid } => json!({"text": text, "valid": valid}),
        };
        if let Some(n) = self.len {
            doc["len"] = json!(n);
        }
        if let Some(s) = self.checkpoint_every {
            doc["checkpoint_every"] = json!(s);
        }
        doc
    }

    /// Reads a stored record.
    ///
    /// # Errors
    ///
    /// A message when the record names no data (neither `"dist"` nor `"text"`) or a field has
    /// the wrong type.
    pub fn from_json(doc: &Value) -> Result<RunInfo, String> {
        let count = |key: &str| -> Result<Option<usize>, String> {
            match doc.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .filter(|&n| n >= 1)
                    .map(Some)
                    .ok_or_else(|| format!("\"{key}\" = {v} is not a count ≥ 1")),
            }
        };
        let text_of = |key: &str| doc.get(key).and_then(Value::as_str).map(str::to_string);
        let data = if let Some(spec) = text_of("dist") {
            RunData::Dist(spec)
        } else if let Some(text) = text_of("text") {
            RunData::Text {
                text,
                valid: text_of("valid"),
            }
        } else {
            return Err("the run record names no data (\"dist\" or \"text\")".into());
        };
        let mut len = count("len")?;
        if len.is_none()
            && let RunData::Dist(spec) = &data
        {
            len = unmask_core::DistSpec::parse(spec)
                .ok()
                .and_then(|d| d.len());
        }
        Ok(RunInfo {
            data,
            len,
            checkpoint_every: count("checkpoint_every")?,
        })
    }

    /// The record of the checkpoint in `dir` (`train_state.json`), if it has one that reads.
    pub fn of_checkpoint(dir: &std::path::Path) -> Option<RunInfo> {
        let text = std::fs::read_to_string(dir.join("train_state.json")).ok()?;
        let state: Value = serde_json::from_str(&text).ok()?;
        RunInfo::from_json(state.get("run")?).ok()
    }
}
