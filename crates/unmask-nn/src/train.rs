//! Training with LLaDA's masked cross-entropy: reproducible from a seed, resumable bit for bit.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{D, DType, Device, Tensor, Var};
use rand::RngExt;
use serde_json::{Value, json};

use crate::checkpoint::{self, FileBody, Vocab, Writer};
use crate::{Config, Llada, NnError, Path as FwdPath, RunInfo, init_params};
use unmask_core::budget::Budget;

/// Optimisation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Sequences per step.
    pub batch: usize,
    /// Peak learning rate (AdamW).
    pub lr: f64,
    /// Linear warm-up steps; then cosine decay to `lr / 10` at `total_steps`.
    pub warmup: usize,
    /// Steps of the whole run (the decay's end).
    pub total_steps: usize,
    /// Decoupled weight decay (0 as in MDLM).
    pub weight_decay: f64,
    /// Global gradient-norm clip (1.0 as in MDLM).
    pub clip: f64,
    /// The run's seed: initialisation, masking and data all derive from it.
    pub seed: u64,
}

impl TrainConfig {
    /// The learning rate at `step` (0-based).
    pub fn lr_at(&self, step: usize) -> f64 {
        if step < self.warmup {
            return self.lr * (step + 1) as f64 / self.warmup as f64;
        }
        let span = self.total_steps.saturating_sub(self.warmup).max(1) as f64;
        let progress = ((step - self.warmup) as f64 / span).min(1.0);
        let floor = self.lr / 10.0;
        floor + 0.5 * (self.lr - floor) * (1.0 + (std::f64::consts::PI * progress).cos())
    }

    fn to_json(&self) -> Value {
        json!({"batch": self.batch, "lr": self.lr, "warmup": self.warmup,
               "total_steps": self.total_steps, "weight_decay": self.weight_decay,
               "clip": self.clip, "seed": self.seed})
    }

    fn from_json(v: &Value) -> Option<TrainConfig> {
        Some(TrainConfig {
            batch: v.get("batch")?.as_u64()? as usize,
            lr: v.get("lr")?.as_f64()?,
            warmup: v.get("warmup")?.as_u64()? as usize,
            total_steps: v.get("total_steps")?.as_u64()? as usize,
            weight_decay: v.get("weight_decay")?.as_f64()?,
            clip: v.get("clip")?.as_f64()?,
            seed: v.get("seed")?.as_u64()?,
        })
    }

    /// Checks the ranges `unmask train` accepts (the same as its flags): batch ≥ 1, lr in
    /// (0, 1], clip finite and > 0, weight decay in [0, 1).
    ///
    /// # Errors
    ///
    /// A message naming the setting and its value.
    pub fn validate(&self) -> Result<(), String> {
        let fine = |x: f64, ok: bool| x.is_finite() && ok;
        if self.batch == 0 {
            return Err("batch = 0: must be at least 1".into());
        }
        if !fine(self.lr, self.lr > 0.0 && self.lr <= 1.0) {
            return Err(format!("lr = {}: must be in (0, 1]", self.lr));
        }
        if !fine(self.clip, self.clip > 0.0) {
            return Err(format!("clip = {}: must be finite and > 0", self.clip));
        }
        if !fine(self.weight_decay, (0.0..1.0).contains(&self.weight_decay)) {
            return Err(format!(
                "weight_decay = {}: must be in [0, 1)",
                self.weight_decay
            ));
        }
        Ok(())
    }
}

/// Mask-ratio floor ε: each position is masked with probability (1 − ε)·t + ε (LLaDA's
/// `forward_process`).
const MASK_EPS: f64 = 1e-3;
const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const ADAM_EPS: f64 = 1e-8;

/// A network being trained: parameters, AdamW moments and the step count.
///
/// # The objective
///
/// LLaDA's and MDLM's masked cross-entropy (`docs/neural.md`): per batch, mask ratios
/// t_b = (u + b)/B mod 1 (one stratified draw u), p_b = (1 − ε)·t_b + ε; each position of
/// sequence b is masked with probability p_b; the loss is
/// `Σ_b Σ_{i masked} −ln p_θ(x_i | x_masked) / p_b`, divided by B·n. Its expectation is the
/// negative ELBO per token, an upper bound on the model's NLL. The head's log-softmax runs over
/// the real tokens only (the mask is never a prediction).
///
/// Every random choice of step s (its data, u, the masks) comes from ChaCha8 streams indexed
/// by s under the run's seed, so a run resumed from a checkpoint continues exactly as the
/// uninterrupted one would (for a given thread count).
#[derive(Debug)]
pub struct Trainer {
    config: Config,
    train: TrainConfig,
    params: BTreeMap<String, Var>,
    /// AdamW's first and second moments, on the host (one f32 per parameter).
    m: BTreeMap<String, Vec<f32>>,
    v: BTreeMap<String, Vec<f32>>,
    step: usize,
    /// (step, training loss, validation loss) at each checkpoint.
    pub history: Vec<(usize, f64, Option<f64>)>,
    /// Where the parameters live (the moments and the update stay on the host).
    device: Device,
}

impl Trainer {
    /// A fresh network (seeded initialisation) with the mask token last.
    ///
    /// # Errors
    ///
    /// [`NnError::Input`] when the mask is not the last token.
    pub fn new(config: Config, train: TrainConfig) -> Result<Trainer, NnError> {
        if config.mask_token_id + 1 != config.vocab_size
            || config.embedding_size != config.vocab_size
        {
            return Err(NnError::Input(
                "training needs the mask token last and no padding columns".into(),
            ));
        }
        let params = init_params(&config, train.seed)?;
        let zeros = |p: &BTreeMap<String, Var>| -> BTreeMap<String, Vec<f32>> {
            p.iter()
                .map(|(k, v)| (k.clone(), vec![0.0; v.elem_count()]))
                .collect()
        };
        Ok(Trainer {
            m: zeros(&params),
            v: zeros(&params),
            params,
            config,
            train,
            step: 0,
            history: Vec::new(),
            device: Device::Cpu,
        })
    }

    /// The trainer with its parameters moved to `device` (a GPU with the `cuda` feature); the
    /// AdamW update still runs on the host, so every step copies the gradients and weights.
    ///
    /// # Errors
    ///
    /// candle's (no such device).
    pub fn on(mut self, device: &Device) -> Result<Trainer, NnError> {
        for var in self.params.values_mut() {
            *var = Var::from_tensor(&var.as_tensor().to_device(device)?)?;
        }
        self.device = device.clone();
        Ok(self)
    }

    /// Resumes from a checkpoint written by [`Trainer::save`] (read within `budget`): the
    /// trainer, the run record and the vocabulary.
    ///
    /// # Errors
    ///
    /// [`NnError`] naming what is missing or inconsistent.
    pub fn resume(dir: &Path, budget: &Budget) -> Result<(Trainer, RunInfo, Vocab), NnError> {
        let ckpt = checkpoint::load(dir, budget)?;
        let state_path = dir.join("train_state.json");
        let bad = |msg: String| NnError::File {
            path: state_path.clone(),
            msg,
        };
        let text = std::fs::read_to_string(&state_path).map_err(|e| bad(e.to_string()))?;
        let state: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let train = state
            .get("train")
            .and_then(TrainConfig::from_json)
            .ok_or_else(|| bad("no valid \"train\" settings".into()))?;
        train
            .validate()
            .map_err(|m| bad(format!("\"train\": {m}")))?;
        let step = state
            .get("step")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad("no \"step\"".into()))? as usize;
        let mut trainer = Trainer::new(ckpt.config.clone(), train)?;
        Llada::new(ckpt.config.clone(), &ckpt.tensors)?; // names and shapes
        for (name, var) in &trainer.params {
            var.set(&ckpt.tensors[name].to_dtype(DType::F32)?)?;
        }
        let moments_path = dir.join("optimizer.safetensors");
        let moments = checkpoint::read_tensors(&moments_path, budget)?;
        for (name, var) in &trainer.params {
            for (prefix, store) in [("m.", &mut trainer.m), ("v.", &mut trainer.v)] {
                let t = moments
                    .get(&format!("{prefix}{name}"))
                    .ok_or_else(|| NnError::File {
                        path: moments_path.clone(),
                        msg: format!("no tensor {prefix}{name}"),
                    })?;
                if t.dims() != var.dims() {
                    return Err(NnError::File {
                        path: moments_path.clone(),
                        msg: format!("{prefix}{name} has shape {:?}", t.dims()),
                    });
                }
                store.insert(name.clone(), t.flatten_all()?.to_vec1::<f32>()?);
            }
        }
        trainer.step = step;
        trainer.history = state
            .get("history")
            .and_then(Value::as_array)
            .map(|h| {
                h.iter()
                    .filter_map(|e| {
                        Some((
                            e.get(0)?.as_u64()? as usize,
                            e.get(1)?.as_f64()?,
                            e.get(2).and_then(Value::as_f64),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let run = state
            .get("run")
            .ok_or_else(|| "no \"run\" record".to_string())
            .and_then(RunInfo::from_json)
            .map_err(bad)?;
        Ok((trainer, run, ckpt.vocab))
    }

    /// Steps taken.
    pub fn step_count(&self) -> usize {
        self.step
    }

    /// The settings.
    pub fn settings(&self) -> &TrainConfig {
        &self.train
    }

    /// The network at its current parameters.
    ///
    /// # Errors
    ///
    /// Never for a trainer built by this module.
    pub fn model(&self) -> Result<Llada, NnError> {
        Llada::from_vars(self.config.clone(), &self.params)
    }

    /// The objective on `ids` (B·n tokens, real tokens only) with step `step`'s masks, as a
    /// scalar tensor attached to the parameters.
    fn loss(
        &self,
        model: &Llada,
        ids: &[u32],
        n: usize,
        seed: u64,
        step: u64,
    ) -> Result<Tensor, NnError> {
        let weighted = self.weighted_nll(model, ids, n, seed, step)?;
        Ok((weighted.sum_all()? / ids.len() as f64)?)
    }

    /// Each position's term of the objective (B·n values: −ln p of a masked token over its
    /// masking probability, 0 where unmasked).
    fn weighted_nll(
        &self,
        model: &Llada,
        ids: &[u32],
        n: usize,
        seed: u64,
        step: u64,
    ) -> Result<Tensor, NnError> {
        let b = ids.len() / n;
        let q = self.config.vocab_size - 1;
        let mut rng = unmask_core::stream(seed, step);
        let u: f64 = rng.random();
        let mut input = ids.to_vec();
        let mut weight = vec![0f32; ids.len()];
        for s in 0..b {
            let t = ((u + s as f64) / b as f64).fract();
            let p = (1.0 - MASK_EPS) * t + MASK_EPS;
            for i in 0..n {
                if rng.random::<f64>() < p {
                    input[s * n + i] = q as u32;
                    weight[s * n + i] = (1.0 / p) as f32;
                }
            }
        }
        let dev = self.device.clone();
        let input = Tensor::from_vec(input, (b, n), &dev)?;
        let target = Tensor::from_vec(ids.to_vec(), b * n, &dev)?;
        let weight = Tensor::from_vec(weight, b * n, &dev)?;
        let logits = model.forward(&input, FwdPath::Train)?.narrow(2, 0, q)?;
        let logp = candle_nn::ops::log_softmax(&logits.reshape((b * n, q))?, D::Minus1)?;
        let nll = logp.gather(&target.unsqueeze(1)?, 1)?.squeeze(1)?.neg()?;
        Ok((nll * weight)?)
    }

    /// One optimisation step on a batch `ids` of sequences of length `n` (row-major): the
    /// loss before the step.
    ///
    /// # Errors
    ///
    /// [`NnError::Diverged`] when the loss or the gradient norm is not finite (the parameters
    /// are left unchanged), or when a parameter receives no gradient.
    pub fn step(&mut self, ids: &[u32], n: usize) -> Result<f64, NnError> {
        let model = self.model()?;
        let loss = self.loss(&model, ids, n, self.train.seed, self.step as u64)?;
        let value = f64::from(loss.to_scalar::<f32>()?);
        if !value.is_finite() {
            return Err(NnError::Diverged {
                step: self.step + 1,
                what: format!("the loss is {value}"),
            });
        }
        let grads = loss.backward()?;
        // The update runs on the host: one pass over each tensor's values instead of a dozen
        // tensor ops per parameter (measured: python/bench/bench_nn.py).
        let mut norm2 = 0.0;
        let mut gs = Vec::with_capacity(self.params.len());
        for (name, var) in &self.params {
            let g = grads
                .get(var.as_tensor())
                .ok_or_else(|| NnError::Input(format!("parameter {name} received no gradient")))?;
            let g: Vec<f32> = g.flatten_all()?.to_vec1()?;
            norm2 += g.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>();
            gs.push(g);
        }
        let norm = norm2.sqrt();
        if !norm.is_finite() {
            return Err(NnError::Diverged {
                step: self.step + 1,
                what: format!("the gradient norm is {norm}"),
            });
        }
        let scale = if norm > self.train.clip {
            self.train.clip / norm
        } else {
            1.0
        };
        let t = (self.step + 1) as i32;
        let lr = self.train.lr_at(self.step);
        let (c1, c2) = (1.0 - BETA1.powi(t), 1.0 - BETA2.powi(t));
        let decay = 1.0 - lr * self.train.weight_decay;
        // The new values are computed for every tensor first and committed only when all are
        // finite, so a diverging step leaves the parameters and moments of the step before.
        let mut updated = Vec::with_capacity(self.params.len());
        for ((name, var), g) in self.params.iter().zip(gs) {
            let mut w: Vec<f32> = var.as_tensor().flatten_all()?.to_vec1()?;
            let mut m = self.m[name].clone();
            let mut v = self.v[name].clone();
            for (((w, m), v), g) in w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
                let g = f64::from(g) * scale;
                let mf = BETA1 * f64::from(*m) + (1.0 - BETA1) * g;
                let vf = BETA2 * f64::from(*v) + (1.0 - BETA2) * g * g;
                let update = (mf / c1) / ((vf / c2).sqrt() + ADAM_EPS);
                *w = (f64::from(*w) * decay - lr * update) as f32;
                *m = mf as f32;
                *v = vf as f32;
            }
            if let Some(k) = w.iter().position(|x| !x.is_finite()) {
                return Err(NnError::Diverged {
                    step: self.step + 1,
                    what: format!(
                        "the update makes {name} non-finite ({} at element {k}; learning rate {lr})",
                        w[k]
                    ),
                });
            }
            updated.push((name.clone(), w, m, v));
        }
        for (name, w, m, v) in updated {
            let var = &self.params[&name];
            var.set(&Tensor::from_vec(w, var.shape(), &self.device)?)?;
            self.m.insert(name.clone(), m);
            self.v.insert(name, v);
        }
        self.step += 1;
        Ok(value)
    }

    /// The objective on held-out sequences (fixed masks from `seed`, in batches of `batch`):
    /// the validation loss (negative ELBO per token, nats) and its standard error over the
    /// sequences (each sequence's own mask ratio and masks included in its scatter).
    ///
    /// # Errors
    ///
    /// candle's.
    pub fn evaluate(
        &self,
        ids: &[u32],
        n: usize,
        batch: usize,
        seed: u64,
    ) -> Result<(f64, f64), NnError> {
        let model = self.model()?;
        let mut values = Vec::with_capacity(ids.len() / n);
        for (k, chunk) in ids.chunks(batch.max(1) * n).enumerate() {
            let rows = chunk.len() / n;
            let w = self
                .weighted_nll(&model, chunk, n, seed, k as u64)?
                .detach();
            let sums: Vec<f32> = (w.reshape((rows, n))?.sum(1)? / n as f64)?.to_vec1()?;
            values.extend(sums.into_iter().map(f64::from));
        }
        let m = unmask_core::Moments::of(values);
        Ok((m.mean(), m.stderr()))
    }

    /// Writes the checkpoint (model, vocabulary, optimizer moments, `train_state.json` with
    /// the step, the settings, the history and the run record) through `writer`, which replaces the
    /// previous one atomically.
    ///
    /// # Errors
    ///
    /// [`NnError::NonFinite`] (nothing written) or [`NnError::File`].
    pub fn save(&self, writer: &Writer, vocab: &Vocab, run: &RunInfo) -> Result<(), NnError> {
        let tensors: BTreeMap<String, Tensor> = self
            .params
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.as_tensor().to_device(&Device::Cpu)?)))
            .collect::<Result<_, candle_core::Error>>()?;
        let mut moments = BTreeMap::new();
        for (prefix, store) in [("m.", &self.m), ("v.", &self.v)] {
            for (k, values) in store {
                let shape = self.params[k].shape().clone();
                moments.insert(
                    format!("{prefix}{k}"),
                    Tensor::from_vec(values.clone(), shape, &Device::Cpu)?,
                );
            }
        }
        let state = json!({
            "step": self.step,
            "train": self.train.to_json(),
            "history": self.history.iter().map(|(s, l, v)| json!([s, l, v])).collect::<Vec<_>>(),
            "run": run.to_json(),
        });
        writer.save(
            &self.config,
            &tensors,
            vocab,
            vec![
                ("optimizer.safetensors", FileBody::Tensors(&moments)),
                ("train_state.json", FileBody::Json(state)),
            ],
        )
    }

    /// Squared norms of every parameter's gradient after one backward pass on `ids` (for the
    /// test that no op silently drops gradients).
    ///
    /// # Errors
    ///
    /// candle's.
    pub fn gradient_norms(&self, ids: &[u32], n: usize) -> Result<BTreeMap<String, f64>, NnError> {
        let model = self.model()?;
        let loss = self.loss(&model, ids, n, self.train.seed, 0)?;
        let grads = loss.backward()?;
        self.params
            .iter()
            .map(|(name, var)| {
                let g = grads.get(var.as_tensor());
                let v = match g {
                    Some(g) => f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?),
                    None => 0.0,
                };
                Ok((name.clone(), v))
            })
            .collect()
    }
}
