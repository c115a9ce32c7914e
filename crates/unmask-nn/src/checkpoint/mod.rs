//! Checkpoint directories in LLaDA's format: `config.json`, `model.safetensors` (or shards listed
//! by `model.safetensors.index.json`), plus this tool's `vocab.json` and training state.
//!
//! Reading prices the checkpoint from its headers before reading any tensor ([`header`]) and
//! refuses a tensor with a NaN or an infinity by name; writing never touches a folder that is
//! not a checkpoint, holds a lock, and replaces the previous checkpoint atomically
//! ([`Writer`]).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::Value;
use unmask_core::budget::{Budget, Cost};

use crate::{Config, NnError};

pub mod header;
mod write;

pub use write::{CHECKPOINT_FILES, Target, Writer, check_target, interrupted_swap};

/// What the token ids mean.
#[derive(Debug, Clone, PartialEq)]
pub enum Vocab {
    /// Ids `0..size` are a distribution's symbols (`unmask train --dist`).
    Symbols(usize),
    /// Id i is the i-th character (`unmask train --text`).
    Chars(Vec<char>),
    /// A Hugging Face tokenizer (`tokenizer.json` shipped with a checkpoint).
    Tokenizer(std::sync::Arc<TokenizerFile>),
    /// No vocabulary file (a foreign checkpoint): ids only.
    Ids,
}

/// A checkpoint's `tokenizer.json`, loaded.
#[derive(Debug)]
pub struct TokenizerFile {
    json: String,
    tokenizer: tokenizers::Tokenizer,
}

impl PartialEq for TokenizerFile {
    fn eq(&self, other: &Self) -> bool {
        self.json == other.json
    }
}

impl Vocab {
    /// Real tokens (the mask excluded), when known.
    pub fn len(&self) -> Option<usize> {
        match self {
            Vocab::Symbols(q) => Some(*q),
            Vocab::Chars(c) => Some(c.len()),
            Vocab::Tokenizer(_) | Vocab::Ids => None,
        }
    }

    /// Token ids of a user's text: its characters for a text model, the tokenizer's encoding
    /// (no special tokens added), else comma-separated ids. Every id is checked against `q`
    /// real tokens.
    ///
    /// # Errors
    ///
    /// [`NnError::Input`] naming the character or item that has no id.
    pub fn encode(&self, text: &str, q: usize) -> Result<Vec<u32>, NnError> {
        let ids: Vec<u32> = match self {
            Vocab::Chars(chars) => text
                .chars()
                .map(|c| {
                    chars.binary_search(&c).map(|i| i as u32).map_err(|_| {
                        NnError::Input(format!("character {c:?} is not in the model's vocabulary"))
                    })
                })
                .collect::<Result<_, _>>()?,
            Vocab::Tokenizer(t) => t
                .tokenizer
                .encode(text, false)
                .map_err(|e| NnError::Input(format!("the tokenizer failed: {e}")))?
                .get_ids()
                .to_vec(),
            Vocab::Symbols(_) | Vocab::Ids => text
                .split(',')
                .map(|t| {
                    t.trim().parse::<u32>().map_err(|_| {
                        NnError::Input(format!(
                            "{t:?} is not a token id (give ids separated by commas)"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        if let Some(bad) = ids.iter().find(|&&v| v as usize >= q) {
            return Err(NnError::Input(format!(
                "token id {bad} is not below the model's {q} tokens"
            )));
        }
        Ok(ids)
    }

    /// Text of token ids: characters, the tokenizer's decoding, or the ids with commas.
    pub fn decode(&self, ids: &[u32]) -> String {
        match self {
            Vocab::Chars(chars) => ids.iter().map(|&t| chars[t as usize]).collect(),
            Vocab::Tokenizer(t) => t
                .tokenizer
                .decode(ids, false)
                .unwrap_or_else(|_| ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")),
            Vocab::Symbols(_) | Vocab::Ids => {
                ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
            }
        }
    }

    /// Whether ids read as text (characters or a tokenizer).
    pub fn is_text(&self) -> bool {
        matches!(self, Vocab::Chars(_) | Vocab::Tokenizer(_))
    }

    /// How token `id` prints: its character (escaped) for text, the id otherwise.
    pub fn show(&self, id: usize) -> String {
        match self {
            Vocab::Chars(c) if id < c.len() => format!("{:?}", c[id]),
            _ => id.to_string(),
        }
    }

    /// True for an empty vocabulary.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    fn to_json(&self) -> Option<Value> {
        match self {
            Vocab::Symbols(q) => Some(serde_json::json!({"kind": "symbols", "size": q})),
            Vocab::Chars(c) => {
                Some(serde_json::json!({"kind": "chars", "chars": c.iter().collect::<String>()}))
            }
            Vocab::Tokenizer(_) | Vocab::Ids => None,
        }
    }

    fn from_json(text: &str, file: &Path) -> Result<Vocab, NnError> {
        let bad = |msg: &str| NnError::File {
            path: file.to_path_buf(),
            msg: msg.to_string(),
        };
        let doc: Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
        match doc.get("kind").and_then(Value::as_str) {
            Some("symbols") => doc
                .get("size")
                .and_then(Value::as_u64)
                .and_then(|s| usize::try_from(s).ok())
                .filter(|&s| s >= 1)
                .map(Vocab::Symbols)
                .ok_or_else(|| bad("\"size\" must be a positive integer")),
            Some("chars") => doc
                .get("chars")
                .and_then(Value::as_str)
                .map(|s| Vocab::Chars(s.chars().collect()))
                .filter(|v| !v.is_empty())
                .ok_or_else(|| bad("\"chars\" must be a non-empty string")),
            _ => Err(bad("\"kind\" must be \"symbols\" or \"chars\"")),
        }
    }
}

/// A loaded checkpoint.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The architecture (`config.json`).
    pub config: Config,
    /// Every tensor by name, as stored (f32, bf16 or f16).
    pub tensors: BTreeMap<String, Tensor>,
    /// `vocab.json`, or [`Vocab::Ids`] without one.
    pub vocab: Vocab,
    /// The directory.
    pub dir: PathBuf,
}

fn read(path: &Path) -> Result<String, NnError> {
    std::fs::read_to_string(path).map_err(|e| NnError::File {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })
}

fn load_shard(path: &Path, expected: u64) -> Result<HashMap<String, Tensor>, NnError> {
    let fail = |msg: String| NnError::File {
        path: path.to_path_buf(),
        msg,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(expected).read_to_end(&mut bytes))
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 != expected {
        return Err(fail(format!(
            "changed while it was read ({} bytes, {expected} expected)",
            bytes.len()
        )));
    }
    let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
        .map_err(|e| fail(format!("not a readable safetensors file ({e})")))?;
    for (name, t) in &tensors {
        if !matches!(t.dtype(), DType::F32 | DType::BF16 | DType::F16) {
            return Err(fail(format!(
                "tensor {name:?} is {:?}; f32, bf16 or f16 expected",
                t.dtype()
            )));
        }
        header::check_finite(name, t).map_err(|e| fail(e.to_string()))?;
    }
    Ok(tensors)
}

/// Reads one safetensors file of a checkpoint (the optimizer state, say) the way [`load`] reads
/// the model: priced from its header against `budget` first, every tensor checked finite.
///
/// # Errors
///
/// As [`load`].
pub fn read_tensors(path: &Path, budget: &Budget) -> Result<HashMap<String, Tensor>, NnError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let lens = price(dir, &[path.to_path_buf()], budget)?;
    load_shard(path, lens[0])
}

/// Prices reading `files` (their sizes from the headers) against `budget`: the file's bytes
/// while it is parsed, the tensors as stored, and their f32 copies in the network.
fn price(dir: &Path, files: &[PathBuf], budget: &Budget) -> Result<Vec<u64>, NnError> {
    let mut lens = Vec::with_capacity(files.len());
    let (mut bytes, mut parameters) = (0.0, 0u64);
    for f in files {
        let h = header::read_header(f)?;
        lens.push(h.file_len);
        bytes += h.file_len as f64 + h.data_bytes as f64 + 4.0 * h.parameters as f64;
        parameters += h.parameters;
    }
    budget.check(
        format!(
            "reading the checkpoint {} ({parameters} parameters in {} file{})",
            dir.display(),
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        ),
        Cost::new(bytes, bytes / 8.0),
    )?;
    Ok(lens)
}

/// Loads a checkpoint directory: `config.json`, then `model.safetensors` or the shards of
/// `model.safetensors.index.json` (`weight_map`: tensor → file), then `vocab.json` if present.
/// Shapes and names are checked when the network is built ([`crate::Llada::new`]). The
/// tensor files are priced from their headers against `budget` before they are read, and every
/// tensor is checked to be finite once.
///
/// # Errors
///
/// [`NnError`] naming the file and what is wrong with it: [`NnError::OverBudget`] before any
/// tensor is read, [`NnError::File`] naming a non-finite tensor and its first bad index.
pub fn load(dir: &Path, budget: &Budget) -> Result<Checkpoint, NnError> {
    if !dir.is_dir() {
        let left = interrupted_swap(dir);
        let msg = match left.first() {
            Some(old) => format!(
                "not a checkpoint directory; a checkpoint write was interrupted mid-swap and left \
                 the previous checkpoint in {} (move it back with `mv {} {}`)",
                old.display(),
                old.display(),
                dir.display()
            ),
            None => "not a checkpoint directory".into(),
        };
        return Err(NnError::File {
            path: dir.to_path_buf(),
            msg,
        });
    }
    let config_path = dir.join("config.json");
    let config = Config::from_json(&read(&config_path)?, &config_path.display().to_string())?;
    let tensors = read_weights(dir, budget)?;
    let vocab = read_vocab(dir)?;
    let vocab_path = dir.join("vocab.json");
    if let Some(q) = vocab.len()
        && q + 1 != config.vocab_size
    {
        return Err(NnError::File {
            path: vocab_path,
            msg: format!(
                "{q} tokens and the mask, but config.json has vocab_size {}",
                config.vocab_size
            ),
        });
    }
    Ok(Checkpoint {
        config,
        tensors,
        vocab,
        dir: dir.to_path_buf(),
    })
}

/// The weights of `dir`: `model.safetensors`, or the shards `model.safetensors.index.json`
/// lists (each shard a plain file name in `dir`, each tensor in the shard the index names),
/// priced from their headers before any is read.
fn read_weights(dir: &Path, budget: &Budget) -> Result<BTreeMap<String, Tensor>, NnError> {
    let single = dir.join("model.safetensors");
    let index = dir.join("model.safetensors.index.json");
    let mut tensors = BTreeMap::new();
    if index.exists() {
        let doc: Value = serde_json::from_str(&read(&index)?).map_err(|e| NnError::File {
            path: index.clone(),
            msg: e.to_string(),
        })?;
        let map = doc
            .get("weight_map")
            .and_then(Value::as_object)
            .ok_or_else(|| NnError::File {
                path: index.clone(),
                msg: "no \"weight_map\" object".into(),
            })?;
        let mut files: Vec<&str> = map.values().filter_map(Value::as_str).collect();
        files.sort_unstable();
        files.dedup();
        for file in &files {
            if file.contains('/') || file.contains('\\') || file.starts_with('.') {
                return Err(NnError::File {
                    path: index.clone(),
                    msg: format!("shard {file:?} is not a file name in the directory"),
                });
            }
        }
        let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
        let lens = price(dir, &paths, budget)?;
        for ((file, path), len) in files.iter().zip(&paths).zip(lens) {
            let file = *file;
            for (name, t) in load_shard(path, len)? {
                if map.get(&name).and_then(Value::as_str) != Some(file) {
                    return Err(NnError::File {
                        path: dir.join(file),
                        msg: format!("tensor {name:?} is not listed for this shard in the index"),
                    });
                }
                tensors.insert(name, t);
            }
        }
        if let Some(name) = map.keys().find(|k| !tensors.contains_key(*k)) {
            return Err(NnError::File {
                path: index.clone(),
                msg: format!("tensor {name:?} is listed but in no shard"),
            });
        }
    } else if single.exists() {
        let lens = price(dir, std::slice::from_ref(&single), budget)?;
        tensors.extend(load_shard(&single, lens[0])?);
    } else {
        return Err(NnError::File {
            path: dir.to_path_buf(),
            msg: "neither model.safetensors nor model.safetensors.index.json".into(),
        });
    }
    Ok(tensors)
}

/// What the ids of `dir`'s network mean: `vocab.json`, else `tokenizer.json`, else ids only.
fn read_vocab(dir: &Path) -> Result<Vocab, NnError> {
    let vocab_path = dir.join("vocab.json");
    let tokenizer_path = dir.join("tokenizer.json");
    Ok(if vocab_path.exists() {
        Vocab::from_json(&read(&vocab_path)?, &vocab_path)?
    } else if tokenizer_path.exists() {
        let json = read(&tokenizer_path)?;
        let tokenizer =
            tokenizers::Tokenizer::from_bytes(json.as_bytes()).map_err(|e| NnError::File {
                path: tokenizer_path.clone(),
                msg: format!("not a readable tokenizer ({e})"),
            })?;
        Vocab::Tokenizer(std::sync::Arc::new(TokenizerFile { json, tokenizer }))
    } else {
        Vocab::Ids
    })
}

/// Extra files a training run keeps beside the model (optimizer moments, its state).
pub type Extra<'a> = Vec<(&'a str, FileBody<'a>)>;

/// The body of an extra checkpoint file.
pub enum FileBody<'a> {
    /// JSON text.
    Json(Value),
    /// Tensors (safetensors).
    Tensors(&'a BTreeMap<String, Tensor>),
}

/// Writes a checkpoint to `dir` ([`Writer::open`], then [`Writer::save`]): a new folder, an
/// empty one or a checkpoint of this tool, never anything else; the previous checkpoint is
/// replaced atomically.
///
/// # Errors
///
/// As [`Writer::open`] and [`Writer::save`].
pub fn save(
    dir: &Path,
    config: &Config,
    tensors: &BTreeMap<String, Tensor>,
    vocab: &Vocab,
    extra: Extra<'_>,
) -> Result<(), NnError> {
    Writer::open(dir)?.save(config, tensors, vocab, extra)
}

/// Writes a checkpoint's files into the fresh directory `tmp`, after checking that every tensor
/// is finite (nothing is written otherwise). Tensors are written f32 with the metadata
/// `{"format": "pt"}` that LLaDA's `transformers` code expects.
fn write_files(
    tmp: &Path,
    config: &Config,
    tensors: &BTreeMap<String, Tensor>,
    vocab: &Vocab,
    extra: Extra<'_>,
) -> Result<(), NnError> {
    for (name, t) in tensors {
        header::check_finite(name, t)?;
    }
    for (file, body) in &extra {
        if let FileBody::Tensors(map) = body {
            for (name, t) in *map {
                header::check_finite(&format!("{file}: {name}"), t)?;
            }
        }
    }
    let fail = |path: &Path, e: &dyn std::fmt::Display| NnError::File {
        path: path.to_path_buf(),
        msg: e.to_string(),
    };
    let json = |name: &str, doc: &Value| {
        let path = tmp.join(name);
        let mut text = serde_json::to_string_pretty(doc).expect("JSON");
        text.push('\n');
        std::fs::write(&path, text).map_err(|e| fail(&path, &e))
    };
    let tensors_file = |name: &str, map: &BTreeMap<String, Tensor>| {
        let path = tmp.join(name);
        let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
        let f32s = map
            .iter()
            .map(|(k, t)| Ok((k.clone(), t.to_dtype(DType::F32)?)))
            .collect::<Result<Vec<_>, candle_core::Error>>()?;
        safetensors::serialize_to_file(f32s, Some(metadata), &path).map_err(|e| fail(&path, &e))
    };
    json("config.json", &config.to_json())?;
    tensors_file("model.safetensors", tensors)?;
    if let Some(v) = vocab.to_json() {
        json("vocab.json", &v)?;
    }
    for (name, body) in extra {
        match body {
            FileBody::Json(doc) => json(name, &doc)?,
            FileBody::Tensors(map) => tensors_file(name, map)?,
        }
    }
    Ok(())
}
