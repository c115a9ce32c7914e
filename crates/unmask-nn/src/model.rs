//! LLaDA's network in candle: parameters by LLaDA's tensor names, one forward pass with two
//! implementations of its three normalising ops.

use std::collections::BTreeMap;

use candle_core::{D, DType, Device, Tensor, Var};
use rand::{Rng, RngExt, SeedableRng};

use crate::{Config, NnError};

/// Which implementation of RMSNorm, RoPE and softmax a forward pass uses.
///
/// candle's fused kernels (`ops::rms_norm`, `rotary_emb::rope`, `ops::softmax_last_dim`) have no
/// backward pass: gradients silently stop at them (candle issue #2168). Training therefore runs
/// [`Path::Train`], built from differentiable primitives only; inference may run the fused
/// kernels ([`Path::Infer`]). A test checks both give the same logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Differentiable primitives.
    Train,
    /// Fused kernels, no gradients.
    Infer,
}

/// A LLaDA-architecture masked diffusion network.
///
/// # Definitions
///
/// With h = RMSNorm(x)·w (variance over the last axis, ε from the config), each of the
/// `n_layers` blocks computes
///
/// ```text
/// x ← x + attn_out( softmax(RoPE(q)·RoPE(k)ᵀ/√d_head) · v ),  q,k,v = q_proj,k_proj,v_proj(attn_norm(x))
/// x ← x + ff_out( silu(ff_proj(h)) ⊙ up_proj(h) ),             h = ff_norm(x)
/// ```
///
/// with *no* causal mask (every position sees every other), rotate-half RoPE with
/// `inv_freq_i = θ^(−2i/d_head)` in f32, grouped KV heads expanded by `repeat_interleave`; then
/// `ln_f` and the head (`ff_out`, or `wteᵀ` when tied). The logit at position i predicts token
/// i; there is no time input (the mask ratio is read off the input). Parameter names are
/// LLaDA's: `model.transformer.wte.weight`, `model.transformer.blocks.{i}.q_proj.weight`, …
/// ([`tensor_shapes`]), so checkpoints interchange with LLaDA's code (`docs/neural.md`).
#[derive(Debug, Clone)]
pub struct Llada {
    config: Config,
    wte: Tensor,
    blocks: Vec<Block>,
    ln_f: Tensor,
    head: Option<Tensor>,
}

#[derive(Debug, Clone)]
struct Block {
    attn_norm: Tensor,
    q_proj: Tensor,
    k_proj: Tensor,
    v_proj: Tensor,
    attn_out: Tensor,
    ff_norm: Tensor,
    ff_proj: Tensor,
    up_proj: Tensor,
    ff_out: Tensor,
}

const PREFIX: &str = "model.transformer";

/// Every tensor of a network with `config`, by LLaDA's name, with its shape, in sorted order.
pub fn tensor_shapes(config: &Config) -> BTreeMap<String, Vec<usize>> {
    let (d, kv) = (config.d_model, config.n_kv_heads * config.head_dim());
    let (e, m) = (config.embedding_size, config.mlp_hidden_size);
    let mut out = BTreeMap::new();
    out.insert(format!("{PREFIX}.wte.weight"), vec![e, d]);
    out.insert(format!("{PREFIX}.ln_f.weight"), vec![d]);
    if !config.weight_tying {
        out.insert(format!("{PREFIX}.ff_out.weight"), vec![e, d]);
    }
    for i in 0..config.n_layers {
        let b = |name: &str| format!("{PREFIX}.blocks.{i}.{name}.weight");
        out.insert(b("attn_norm"), vec![d]);
        out.insert(b("q_proj"), vec![d, d]);
        out.insert(b("k_proj"), vec![kv, d]);
        out.insert(b("v_proj"), vec![kv, d]);
        out.insert(b("attn_out"), vec![d, d]);
        out.insert(b("ff_norm"), vec![d]);
        out.insert(b("ff_proj"), vec![m, d]);
        out.insert(b("up_proj"), vec![m, d]);
        out.insert(b("ff_out"), vec![d, m]);
    }
    out
}

/// Freshly initialised parameters for `config`, reproducible from `seed` alone (candle's CPU
/// generator cannot be seeded): norms 1, the embedding N(0, 0.02²), every other matrix
/// N(0, 1/fan_in), each tensor from its own ChaCha8 stream in sorted-name order.
pub fn init_params(config: &Config, seed: u64) -> Result<BTreeMap<String, Var>, NnError> {
    let mut out = BTreeMap::new();
    for (index, (name, shape)) in tensor_shapes(config).into_iter().enumerate() {
        let count: usize = shape.iter().product();
        let values: Vec<f32> = if shape.len() == 1 {
            vec![1.0; count]
        } else {
            let std = if name.ends_with("wte.weight") {
                0.02
            } else {
                1.0 / (shape[1] as f64).sqrt()
            };
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(index as u64);
            (0..count)
                .map(|_| (std * normal(&mut rng)) as f32)
                .collect()
        };
        let tensor = Tensor::from_vec(values, shape, &Device::Cpu)?;
        out.insert(name, Var::from_tensor(&tensor)?);
    }
    Ok(out)
}

/// One standard normal draw (Box–Muller).
fn normal<R: Rng>(rng: &mut R) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random::<f64>();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

impl Llada {
    /// The network over `tensors` (f32, by LLaDA's names; see [`tensor_shapes`]).
    ///
    /// # Errors
    ///
    /// [`NnError::Tensor`] naming a missing tensor, an unexpected one, or a wrong shape.
    pub fn new(config: Config, tensors: &BTreeMap<String, Tensor>) -> Result<Llada, NnError> {
        let shapes = tensor_shapes(&config);
        if let Some(extra) = tensors.keys().find(|k| !shapes.contains_key(*k)) {
            return Err(NnError::Tensor(format!(
                "unexpected tensor {extra:?} (not part of this configuration)"
            )));
        }
        for (name, shape) in &shapes {
            let t = tensors
                .get(name)
                .ok_or_else(|| NnError::Tensor(format!("missing tensor {name:?}")))?;
            if t.dims() != shape.as_slice() {
                return Err(NnError::Tensor(format!(
                    "tensor {name:?} has shape {:?}, expected {shape:?}",
                    t.dims()
                )));
            }
        }
        let get = |name: String| tensors[&name].to_dtype(DType::F32);
        let blocks = (0..config.n_layers)
            .map(|i| {
                let b = |n: &str| get(format!("{PREFIX}.blocks.{i}.{n}.weight"));
                Ok(Block {
                    attn_norm: b("attn_norm")?,
                    q_proj: b("q_proj")?,
                    k_proj: b("k_proj")?,
                    v_proj: b("v_proj")?,
                    attn_out: b("attn_out")?,
                    ff_norm: b("ff_norm")?,
                    ff_proj: b("ff_proj")?,
                    up_proj: b("up_proj")?,
                    ff_out: b("ff_out")?,
                })
            })
            .collect::<Result<_, candle_core::Error>>()?;
        Ok(Llada {
            wte: get(format!("{PREFIX}.wte.weight"))?,
            ln_f: get(format!("{PREFIX}.ln_f.weight"))?,
            head: if config.weight_tying {
                None
            } else {
                Some(get(format!("{PREFIX}.ff_out.weight"))?)
            },
            blocks,
            config,
        })
    }

    /// The network over trainable variables (gradients flow to them through [`Path::Train`]).
    ///
    /// # Errors
    ///
    /// As [`Llada::new`].
    pub fn from_vars(config: Config, vars: &BTreeMap<String, Var>) -> Result<Llada, NnError> {
        let tensors = vars
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect();
        Llada::new(config, &tensors)
    }

    /// The architecture.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The device the weights are on.
    pub fn device(&self) -> &Device {
        self.wte.device()
    }

    /// The network with every weight moved to `device` (a GPU with the `cuda` feature).
    ///
    /// # Errors
    ///
    /// candle's (no such device, out of memory).
    pub fn to_device(self, device: &Device) -> Result<Llada, NnError> {
        let mv = |t: Tensor| t.to_device(device);
        let blocks = self
            .blocks
            .into_iter()
            .map(|b| {
                Ok(Block {
                    attn_norm: mv(b.attn_norm)?,
                    q_proj: mv(b.q_proj)?,
                    k_proj: mv(b.k_proj)?,
                    v_proj: mv(b.v_proj)?,
                    attn_out: mv(b.attn_out)?,
                    ff_norm: mv(b.ff_norm)?,
                    ff_proj: mv(b.ff_proj)?,
                    up_proj: mv(b.up_proj)?,
                    ff_out: mv(b.ff_out)?,
                })
            })
            .collect::<Result<_, candle_core::Error>>()?;
        Ok(Llada {
            wte: mv(self.wte)?,
            ln_f: mv(self.ln_f)?,
            head: self.head.map(mv).transpose()?,
            blocks,
            config: self.config,
        })
    }

    /// Logits `(B, L, embedding_size)` for token ids `(B, L)` (u32; masked positions hold the
    /// mask id).
    ///
    /// # Errors
    ///
    /// candle's errors (shapes, ids past the embedding).
    pub fn forward(&self, ids: &Tensor, path: Path) -> candle_core::Result<Tensor> {
        let (b, l) = ids.dims2()?;
        let c = &self.config;
        let (cos, sin) = rope_tables(l, c.head_dim(), c.rope_theta, ids.device())?;
        let mut x = self
            .wte
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, l, c.d_model))?;
        for block in &self.blocks {
            x = block.forward(&x, c, &cos, &sin, path)?;
        }
        let h = rms_norm(&x, &self.ln_f, c.rms_norm_eps, path)?;
        match &self.head {
            Some(w) => linear(&h, w),
            None => linear(&h, &self.wte),
        }
    }
}

impl Block {
    fn forward(
        &self,
        x: &Tensor,
        c: &Config,
        cos: &Tensor,
        sin: &Tensor,
        path: Path,
    ) -> candle_core::Result<Tensor> {
        let (b, l, d) = x.dims3()?;
        let (heads, kv, hd) = (c.n_heads, c.n_kv_heads, c.head_dim());
        let h = rms_norm(x, &self.attn_norm, c.rms_norm_eps, path)?;
        let split = |t: Tensor, n: usize| t.reshape((b, l, n, hd))?.transpose(1, 2)?.contiguous();
        let q = rope(&split(linear(&h, &self.q_proj)?, heads)?, cos, sin, path)?;
        let mut k = rope(&split(linear(&h, &self.k_proj)?, kv)?, cos, sin, path)?;
        let mut v = split(linear(&h, &self.v_proj)?, kv)?;
        if kv != heads {
            // repeat_interleave over heads: KV head j serves query heads j·r .. (j + 1)·r.
            let r = heads / kv;
            let expand = |t: &Tensor| {
                t.unsqueeze(2)?
                    .broadcast_as((b, kv, r, l, hd))?
                    .reshape((b, heads, l, hd))
            };
            k = expand(&k)?;
            v = expand(&v)?;
        }
        let scores = (q.matmul(&k.t()?.contiguous()?)? * (1.0 / (hd as f64).sqrt()))?;
        let att = match path {
            Path::Train => candle_nn::ops::softmax(&scores, D::Minus1)?,
            Path::Infer => candle_nn::ops::softmax_last_dim(&scores)?,
        };
        let y = att.matmul(&v)?.transpose(1, 2)?.reshape((b, l, d))?;
        let x = (x + linear(&y, &self.attn_out)?)?;
        let h = rms_norm(&x, &self.ff_norm, c.rms_norm_eps, path)?;
        let gate = linear(&h, &self.ff_proj)?.silu()?;
        let up = linear(&h, &self.up_proj)?;
        x + linear(&(gate * up)?, &self.ff_out)?
    }
}

/// `x · wᵀ` over the last axis (w is `(out, in)`, PyTorch's layout).
fn linear(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let (b, l, i) = x.dims3()?;
    let o = w.dim(0)?;
    x.reshape((b * l, i))?.matmul(&w.t()?)?.reshape((b, l, o))
}

fn rms_norm(x: &Tensor, w: &Tensor, eps: f64, path: Path) -> candle_core::Result<Tensor> {
    match path {
        Path::Infer => candle_nn::ops::rms_norm(&x.contiguous()?, w, eps as f32),
        Path::Train => {
            let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
            x.broadcast_div(&(ms + eps)?.sqrt()?)?.broadcast_mul(w)
        }
    }
}

fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor, path: Path) -> candle_core::Result<Tensor> {
    match path {
        Path::Infer => candle_nn::rotary_emb::rope(x, cos, sin),
        Path::Train => candle_nn::rotary_emb::rope_slow(x, cos, sin),
    }
}

/// cos and sin of `position · inv_freq_i`, `(L, d_head/2)`, f32.
fn rope_tables(
    l: usize,
    head_dim: usize,
    theta: f64,
    device: &Device,
) -> candle_core::Result<(Tensor, Tensor)> {
    let half = head_dim / 2;
    let inv: Vec<f32> = (0..half)
        .map(|i| 1.0 / (theta as f32).powf(2.0 * i as f32 / head_dim as f32))
        .collect();
    let mut angles = Vec::with_capacity(l * half);
    for p in 0..l {
        angles.extend(inv.iter().map(|f| p as f32 * f));
    }
    let a = Tensor::from_vec(angles, (l, half), device)?;
    Ok((a.cos()?, a.sin()?))
}
