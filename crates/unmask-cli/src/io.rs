//! Files: curve files through `unmask_io` (the formats and messages shared with the Python
//! bindings), the files `--dist` specs name (tables, transition matrices), atomic writes.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use serde_json::Value;
use unmask_core::{DistSpec, Family, FileData, InformationCurve, Oracle, Repair, Unit};

use crate::env::{Env, over_budget};

/// Reads and validates a curve file (`unmask_io` has the formats and the messages); with
/// `repair`, projects it onto the valid set instead.
pub fn read_curve(
    path: &Path,
    csv_unit: Option<Unit>,
    repair: bool,
    env: &Env,
) -> anyhow::Result<(InformationCurve, Option<Repair>)> {
    read_curve_full(path, csv_unit, repair, env).map(|r| (r.curve, r.repair))
}

/// As [`read_curve`], with the unit the file was written in and its measured positions.
pub fn read_curve_full(
    path: &Path,
    csv_unit: Option<Unit>,
    repair: bool,
    env: &Env,
) -> anyhow::Result<unmask_io::ReadCurve> {
    let text = fs::read_to_string(path)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let format = unmask_io::Format::guess(name, &text);
    unmask_io::read_curve_full(&text, format, csv_unit, repair, env.budget()).map_err(|e| match e {
        unmask_io::CurveFileError::Budget(b) => over_budget(b),
        other => other.into(),
    })
}

/// Reads and prices the file a `--dist` spec names (tables, transition matrices), if any.
pub fn file_data(dist: &DistSpec, env: &Env) -> anyhow::Result<Option<FileData>> {
    let Some(path) = dist.file() else {
        return Ok(None);
    };
    let text = fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let data = unmask_io::read_dist_file(dist, &text).with_context(|| path.to_string())?;
    env.check(format!("{dist} as given in {path}"), dist.file_cost(&data))?;
    Ok(Some(data))
}

/// Builds a samplable family, reading the file its spec names.
pub fn build_family(dist: &DistSpec, env: &Env) -> anyhow::Result<Family> {
    Ok(dist.build(file_data(dist, env)?)?)
}

/// File format for writing curves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CurveFormat {
    /// `{"schema_version", "unit", "n", "z"}`.
    Json,
    /// One column `z` with a header, values in the unit.
    Csv,
}

/// Serialises a curve in `unit` (the writer shared with the Python bindings).
pub fn curve_bytes(curve: &InformationCurve, unit: Unit, format: CurveFormat) -> Vec<u8> {
    let format = match format {
        CurveFormat::Json => unmask_io::Format::Json,
        CurveFormat::Csv => unmask_io::Format::Csv,
    };
    unmask_io::write_curve(curve, unit, format)
}

/// Writes a JSON document to `path` (pretty, newline-terminated, atomically).
pub fn write_json(path: &Path, doc: &Value) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(doc)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
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

/// Loads a checkpoint directory and builds its network (the names, shapes and vocabulary
/// checked; errors name the file or tensor).
pub fn load_model(dir: &Path, env: &Env) -> anyhow::Result<(unmask_nn::Llada, unmask_nn::Vocab)> {
    let ckpt = match unmask_nn::checkpoint::load(dir, env.budget()) {
        Err(unmask_nn::NnError::OverBudget(e)) => return Err(over_budget(e)),
        other => other.with_context(|| format!("--model {}", dir.display()))?,
    };
    let model = unmask_nn::Llada::new(ckpt.config, &ckpt.tensors)
        .with_context(|| format!("--model {}", dir.display()))?
        .to_device(&env.device()?)?;
    Ok((model, ckpt.vocab))
}

/// A loaded network (from `dir`, with its `vocab`) as the oracle for sequences of `family`:
/// its vocabulary must be the family's symbols (and, when the checkpoint records it, its
/// training length the family's n).
pub fn oracle_for(
    dir: &std::path::Path,
    model: unmask_nn::Llada,
    vocab: &unmask_nn::Vocab,
    family: &unmask_core::Family,
    batch: usize,
) -> anyhow::Result<unmask_nn::NeuralOracle> {
    let (n, q) = (
        unmask_core::Oracle::len(family),
        unmask_core::Oracle::vocab_size(family),
    );
    let oracle = unmask_nn::NeuralOracle::new(model, n, batch);
    if let Some(trained) = trained_length(dir)
        && trained != n
    {
        anyhow::bail!(
            "--model {}: it was trained on sequences of length {trained}, --dist has n = {n}",
            dir.display()
        );
    }
    match vocab {
        unmask_nn::Vocab::Symbols(s) if *s == q => {}
        unmask_nn::Vocab::Ids | unmask_nn::Vocab::Tokenizer(_) if oracle.vocab_size() == q => {}
        other => anyhow::bail!(
            "--model {}: its vocabulary ({}) is not --dist's {q} symbols",
            dir.display(),
            match other {
                unmask_nn::Vocab::Chars(c) => format!("{} characters", c.len()),
                unmask_nn::Vocab::Symbols(s) => format!("{s} symbols"),
                unmask_nn::Vocab::Ids | unmask_nn::Vocab::Tokenizer(_) => {
                    format!("{} token ids", oracle.vocab_size())
                }
            }
        ),
    }
    Ok(oracle)
}

/// The sequence length a checkpoint written by `unmask train` was trained on, if it says (its
/// run record; a family is never built to learn it).
pub fn trained_length(dir: &std::path::Path) -> Option<usize> {
    unmask_nn::RunInfo::of_checkpoint(dir)?.len
}

/// The model's curve given as `--curve` (repaired with `--repair`), which must have length `n`
/// (`what` says where n comes from in the message). A CSV must state its unit.
pub fn read_model_curve(
    path: Option<&Path>,
    repair: bool,
    n: usize,
    what: &str,
    env: &Env,
) -> anyhow::Result<Option<InformationCurve>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let (c, _) = read_curve(path, None, repair, env)
        .with_context(|| format!("--curve {}", path.display()))?;
    if c.len() != n {
        anyhow::bail!(
            "--curve {}: n = {}, but {what} = {n}",
            path.display(),
            c.len()
        );
    }
    Ok(Some(c))
}
