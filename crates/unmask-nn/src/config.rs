//! LLaDA's `config.json`: the keys that shape the network, checked.

use serde_json::{Map, Value};

use unmask_core::budget::Cost;

use crate::NnError;

/// The architecture of a LLaDA-family network (`docs/neural.md`), read from and written to
/// LLaDA's `config.json` keys.
///
/// # Definitions
///
/// `d_model` d, `n_heads` H (head size d/H, even), `n_kv_heads` (grouped KV heads dividing H),
/// `n_layers`, `mlp_hidden_size` (SwiGLU width), `vocab_size` V (real tokens and the mask),
/// `embedding_size` ≥ V (rows of the embedding and columns of the head; the extra ones are
/// padding), `mask_token_id` < V, `rope_theta`, `rms_norm_eps`, `weight_tying` (head = wteᵀ).
///
/// # Example
///
/// ```
/// let c = unmask_nn::Config::tiny(9);
/// assert_eq!((c.d_model, c.n_layers, c.vocab_size, c.mask_token_id), (64, 2, 9, 8));
/// let back = unmask_nn::Config::from_json(&c.to_json().to_string(), "config.json")?;
/// assert_eq!(back, c);
/// # Ok::<(), unmask_nn::NnError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Width d.
    pub d_model: usize,
    /// Attention heads.
    pub n_heads: usize,
    /// Key/value heads (grouped-query attention); `n_heads` for plain multi-head attention.
    pub n_kv_heads: usize,
    /// Transformer blocks.
    pub n_layers: usize,
    /// SwiGLU hidden width.
    pub mlp_hidden_size: usize,
    /// Tokens, the mask included.
    pub vocab_size: usize,
    /// Embedding rows and head columns (≥ `vocab_size`).
    pub embedding_size: usize,
    /// The mask token's id.
    pub mask_token_id: usize,
    /// RoPE base θ.
    pub rope_theta: f64,
    /// RMSNorm ε.
    pub rms_norm_eps: f64,
    /// Head tied to the embedding.
    pub weight_tying: bool,
}

/// Keys of LLaDA's config that describe training, initialisation, devices or bookkeeping: read
/// and ignored.
const IGNORED: &[&str] = &[
    "architectures",
    "auto_map",
    "model_type",
    "torch_dtype",
    "transformers_version",
    "use_cache",
    "precision",
    "max_sequence_length",
    "eos_token_id",
    "pad_token_id",
    "bos_token_id",
    "attention_dropout",
    "residual_dropout",
    "embedding_dropout",
    "init_device",
    "init_fn",
    "init_std",
    "init_cutoff_factor",
    "flash_attention",
    "mlp_ratio",
    "block_group_size",
    "alibi_bias_max",
    "rope_full_precision",
    "layer_norm_eps",
];

/// Keys whose value selects an architecture variant: only LLaDA's own value is supported.
const FIXED: &[(&str, &str)] = &[
    ("block_type", "\"llama\""),
    ("activation_type", "\"silu\""),
    ("layer_norm_type", "\"rms\""),
    ("rope", "true"),
    ("alibi", "false"),
    ("include_bias", "false"),
    ("include_qkv_bias", "false"),
    ("bias_for_layer_norm", "false"),
    ("layer_norm_with_affine", "true"),
    ("attention_layer_norm", "false"),
    ("scale_logits", "false"),
    ("input_emb_norm", "false"),
    ("multi_query_attention", "false"),
    ("clip_qkv", "null"),
];

/// Training's time per priced operation against inference's: a step's many small ops, the
/// host-side update and the validation passes make training about four times slower than
/// its multiply-adds alone at inference speed (measured, release, 2 cores: `tiny` on n = 10,
/// B = 32, 200 steps in 2.9 s, priced 0.64 s before this factor; `small` on n = 256, 20 steps
/// in 45 s, priced 15 s).
pub const TRAIN_OVERHEAD: f64 = 4.0;

impl Config {
    /// The `--size tiny` network for `vocab` tokens (the mask last): d = 64, 2 layers, 4 heads,
    /// SwiGLU width 192, θ = 10⁴.
    pub fn tiny(vocab: usize) -> Config {
        Config {
            d_model: 64,
            n_heads: 4,
            n_kv_heads: 4,
            n_layers: 2,
            mlp_hidden_size: 192,
            vocab_size: vocab,
            embedding_size: vocab,
            mask_token_id: vocab - 1,
            rope_theta: 10_000.0,
            rms_norm_eps: 1e-5,
            weight_tying: false,
        }
    }

    /// Head size d/H.
    pub fn head_dim(&self) -> usize {
        self.d_model / self.n_heads
    }

    /// Parses `config.json` text (`file` names it in errors). Unknown keys and unsupported
    /// architecture variants are refused by name.
    ///
    /// # Errors
    ///
    /// [`NnError::Config`] naming the file and the key.
    pub fn from_json(text: &str, file: &str) -> Result<Config, NnError> {
        let bad = |msg: String| NnError::Config {
            file: file.to_string(),
            msg,
        };
        let doc: Map<String, Value> = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        for (key, value) in &doc {
            if let Some((_, want)) = FIXED.iter().find(|(k, _)| k == key) {
                let ok = value == &serde_json::from_str::<Value>(want).expect("literal JSON")
                    || (*want == "false" && value.is_null())
                    || (key == "activation_type" && value == "swiglu");
                if !ok {
                    return Err(bad(format!(
                        "{key} = {value} is not supported (only LLaDA's {want})"
                    )));
                }
            } else if !IGNORED.contains(&key.as_str()) && !KNOWN.contains(&key.as_str()) {
                return Err(bad(format!("unknown key {key:?}")));
            }
        }
        let int = |key: &str| -> Result<Option<usize>, NnError> {
            match doc.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_u64()
                    .and_then(|u| usize::try_from(u).ok())
                    .map(Some)
                    .ok_or_else(|| bad(format!("{key} = {v} is not a non-negative integer"))),
            }
        };
        let need = |key: &str| int(key)?.ok_or_else(|| bad(format!("missing key {key:?}")));
        let float = |key: &str, default: f64| -> Result<f64, NnError> {
            match doc.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v
                    .as_f64()
                    .filter(|x| x.is_finite() && *x > 0.0)
                    .ok_or_else(|| bad(format!("{key} = {v} is not a positive number"))),
            }
        };
        let n_heads = need("n_heads")?;
        let vocab_size = need("vocab_size")?;
        let config = Config {
            d_model: need("d_model")?,
            n_heads,
            n_kv_heads: int("n_kv_heads")?.unwrap_or(n_heads),
            n_layers: need("n_layers")?,
            mlp_hidden_size: need("mlp_hidden_size")?,
            vocab_size,
            embedding_size: int("embedding_size")?.unwrap_or(vocab_size),
            mask_token_id: need("mask_token_id")?,
            rope_theta: float("rope_theta", 10_000.0)?,
            rms_norm_eps: float("rms_norm_eps", 1e-5)?,
            weight_tying: match doc.get("weight_tying") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(v) => return Err(bad(format!("weight_tying = {v} is not a boolean"))),
            },
        };
        config.check().map_err(bad)?;
        Ok(config)
    }

    /// The shape rules: every size positive, heads dividing d with an even head size, KV heads
    /// dividing the heads, the mask inside the vocabulary, the vocabulary inside the embedding.
    fn check(&self) -> Result<(), String> {
        let sizes = [
            ("d_model", self.d_model),
            ("n_heads", self.n_heads),
            ("n_kv_heads", self.n_kv_heads),
            ("n_layers", self.n_layers),
            ("mlp_hidden_size", self.mlp_hidden_size),
            ("vocab_size", self.vocab_size),
        ];
        if let Some((k, _)) = sizes.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{k} must be positive"));
        }
        if !self.d_model.is_multiple_of(self.n_heads) || !self.head_dim().is_multiple_of(2) {
            return Err(format!(
                "d_model {} does not split into {} heads of even size",
                self.d_model, self.n_heads
            ));
        }
        if !self.n_heads.is_multiple_of(self.n_kv_heads) {
            return Err(format!(
                "n_kv_heads {} does not divide n_heads {}",
                self.n_kv_heads, self.n_heads
            ));
        }
        if self.vocab_size < 2 || self.mask_token_id >= self.vocab_size {
            return Err(format!(
                "mask_token_id {} is outside vocab_size {} (which needs a real token besides it)",
                self.mask_token_id, self.vocab_size
            ));
        }
        if self.embedding_size < self.vocab_size {
            return Err(format!(
                "embedding_size {} is below vocab_size {}",
                self.embedding_size, self.vocab_size
            ));
        }
        let params = self.parameter_count() as f64;
        if params > 2e10 {
            return Err(format!(
                "{params:.3e} parameters is beyond what this tool loads"
            ));
        }
        Ok(())
    }

    /// What `passes` batched forward passes over `batch` sequences of length `n` cost
    /// (inference: one layer's activations live at a time).
    ///
    /// Memory (f32): the parameters, and per layer the (B, n, d) activations (about 8 live),
    /// the SwiGLU's (B, n, mlp) (3) and the attention scores (B, H, n, n) (2), plus the logits
    /// (B, n, V) twice. Work: 2·parameters·n multiply-adds per sequence for the matrices and
    /// 2·layers·n²·d for attention, at one budget operation per 64 multiply-adds (candle runs
    /// about 5·10¹⁰ a second on 2 cores: `python/bench/bench_nn.py`).
    pub fn forward_cost(&self, batch: usize, n: usize, passes: f64) -> Cost {
        let (b, n) = (batch as f64, n as f64);
        let (d, h, layers) = (
            self.d_model as f64,
            self.n_heads as f64,
            self.n_layers as f64,
        );
        let params = self.parameter_count() as f64;
        let activations = b
            * n
            * (8.0 * d + 3.0 * self.mlp_hidden_size as f64 + 2.0 * self.embedding_size as f64)
            + 2.0 * b * h * n * n;
        let macs = b * (2.0 * params * n + 2.0 * layers * n * n * d);
        Cost::new(4.0 * (params + activations), passes * macs / 64.0)
    }

    /// What `steps` training steps on batches of `batch` sequences of length `n` cost.
    ///
    /// Memory (f32): about eight copies of the parameters (the weights, their gradients,
    /// AdamW's two moments and the update's working copies) and every layer's activations
    /// kept for the backward pass, (B, n, d) about 36 times, (B, n, mlp) 12, the attention
    /// scores (B, H, n, n) 9, plus the logits (B, n, V) 12 times (three times the tensors the
    /// graph names: candle keeps each op's output and its gradient's temporaries; measured
    /// peak 2.46 GB for `--size small --len 256 --batch 32`, priced 2.5 GB). Work: a forward
    /// and a backward pass (three forward passes' worth) and the update, times
    /// [`TRAIN_OVERHEAD`].
    pub fn training_cost(&self, batch: usize, n: usize, steps: f64) -> Cost {
        let (b, nf) = (batch as f64, n as f64);
        let (d, h, layers) = (
            self.d_model as f64,
            self.n_heads as f64,
            self.n_layers as f64,
        );
        let params = self.parameter_count() as f64;
        let per_layer =
            b * nf * (36.0 * d + 12.0 * self.mlp_hidden_size as f64) + 9.0 * b * h * nf * nf;
        let activations = layers * per_layer + 12.0 * b * nf * self.embedding_size as f64;
        let forward = self.forward_cost(batch, n, 1.0).work;
        Cost::new(
            4.0 * (8.0 * params + activations),
            steps * TRAIN_OVERHEAD * (3.0 * forward + 20.0 * params / 64.0),
        )
    }

    /// Number of parameters.
    pub fn parameter_count(&self) -> usize {
        let (d, hd) = (self.d_model, self.head_dim());
        let kv = self.n_kv_heads * hd;
        let block = 2 * d + d * d * 2 + 2 * d * kv + 3 * d * self.mlp_hidden_size;
        let head = if self.weight_tying {
            0
        } else {
            self.embedding_size * d
        };
        self.embedding_size * d + self.n_layers * block + d + head
    }

    /// The `config.json` document (LLaDA's keys and the fixed variant keys).
    pub fn to_json(&self) -> Value {
        let mut doc = serde_json::json!({
            "d_model": self.d_model,
            "n_heads": self.n_heads,
            "n_kv_heads": self.n_kv_heads,
            "n_layers": self.n_layers,
            "mlp_hidden_size": self.mlp_hidden_size,
            "vocab_size": self.vocab_size,
            "embedding_size": self.embedding_size,
            "mask_token_id": self.mask_token_id,
            "rope_theta": self.rope_theta,
            "rms_norm_eps": self.rms_norm_eps,
            "weight_tying": self.weight_tying,
        });
        for (k, v) in FIXED {
            doc[*k] = serde_json::from_str(v).expect("literal JSON");
        }
        doc
    }
}

/// Keys [`Config::from_json`] reads.
const KNOWN: &[&str] = &[
    "d_model",
    "n_heads",
    "n_kv_heads",
    "n_layers",
    "mlp_hidden_size",
    "vocab_size",
    "embedding_size",
    "mask_token_id",
    "rope_theta",
    "rms_norm_eps",
    "weight_tying",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_by_name() {
        let mut doc = Config::tiny(9).to_json();
        doc["alibi"] = Value::Bool(true);
        let e = Config::from_json(&doc.to_string(), "c.json").unwrap_err();
        assert!(
            e.to_string().contains("alibi = true is not supported"),
            "{e}"
        );
        let mut doc = Config::tiny(9).to_json();
        doc["frobnicate"] = Value::Bool(true);
        let e = Config::from_json(&doc.to_string(), "c.json").unwrap_err();
        assert!(
            e.to_string().contains("c.json: unknown key \"frobnicate\""),
            "{e}"
        );
        let mut doc = Config::tiny(9).to_json();
        doc["n_heads"] = 5.into();
        let e = Config::from_json(&doc.to_string(), "c.json").unwrap_err();
        assert!(e.to_string().contains("does not split into 5 heads"), "{e}");
        let mut doc = Config::tiny(9).to_json();
        doc["mask_token_id"] = 9.into();
        assert!(Config::from_json(&doc.to_string(), "c.json").is_err());
    }
}
