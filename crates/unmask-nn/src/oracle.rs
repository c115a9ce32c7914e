//! The network as the conditional-marginal oracle of one forward pass.

use candle_core::Tensor;
use unmask_core::{MASK, Oracle};

use crate::{Llada, NnError, Path};

/// A trained network answering [`Oracle`] queries: one forward pass per batch of sequences
/// (chunks of at most `max_batch`), probabilities over the real tokens.
///
/// # Definitions
///
/// Sequences of length `n` hold token ids `0..q` or [`MASK`], which becomes the model's mask id.
/// The marginal of a queried position is the softmax of its logits over the real tokens only:
/// the mask id and the padding columns past `vocab_size` get probability 0 and the rest is
/// renormalised (computed in f64 from the f32 logits). When the mask id is the last token (this
/// tool's checkpoints), the oracle's vocabulary is `0..vocab_size − 1`; otherwise it is
/// `0..vocab_size` with the mask's column always 0.
#[derive(Debug, Clone)]
pub struct NeuralOracle {
    model: Llada,
    n: usize,
    q: usize,
    max_batch: usize,
}

impl NeuralOracle {
    /// The oracle of `model` on sequences of length `n`, at most `max_batch` per forward pass.
    pub fn new(model: Llada, n: usize, max_batch: usize) -> NeuralOracle {
        let c = model.config();
        let q = if c.mask_token_id + 1 == c.vocab_size {
            c.vocab_size - 1
        } else {
            c.vocab_size
        };
        NeuralOracle {
            model,
            n,
            q,
            max_batch: max_batch.max(1),
        }
    }

    /// The network.
    pub fn model(&self) -> &Llada {
        &self.model
    }

    fn forward_rows(
        &self,
        partials: &[&[u32]],
        queries: &[&[usize]],
        outs: &mut [&mut [f64]],
    ) -> Result<(), NnError> {
        let c = self.model.config();
        let mask = c.mask_token_id as u32;
        let mut ids = Vec::with_capacity(partials.len() * self.n);
        for (b, p) in partials.iter().enumerate() {
            assert_eq!(p.len(), self.n, "sequence {b} has the wrong length");
            for (i, &v) in p.iter().enumerate() {
                if v == MASK {
                    ids.push(mask);
                } else if (v as usize) < self.q && v != mask {
                    ids.push(v);
                } else {
                    return Err(NnError::Input(format!(
                        "token {v} at position {i} is outside the model's {} tokens",
                        self.q
                    )));
                }
            }
        }
        let ids = Tensor::from_vec(ids, (partials.len(), self.n), self.model.device())?;
        let logits = self.model.forward(&ids, Path::Infer)?;
        let q = self.q;
        // Only the queried rows' real-token columns leave the device: with LLaDA's 126k-token
        // vocabulary the whole (B, n, V) block would be gigabytes.
        let rows: Vec<u32> = queries
            .iter()
            .enumerate()
            .flat_map(|(b, query)| query.iter().map(move |&i| (b * self.n + i) as u32))
            .collect();
        let width = logits.dim(2)?;
        let picked = logits
            .reshape((partials.len() * self.n, width))?
            .index_select(&Tensor::new(rows.as_slice(), self.model.device())?, 0)?
            .narrow(1, 0, q)?;
        let flat: Vec<f32> = picked.flatten_all()?.to_vec1()?;
        let mut next = 0;
        for (query, out) in queries.iter().zip(outs.iter_mut()) {
            assert_eq!(out.len(), query.len() * q, "output length");
            for (row, &i) in out.chunks_mut(q).zip(query.iter()) {
                let logit = &flat[next * q..(next + 1) * q];
                next += 1;
                let real = |v: usize| v != c.mask_token_id;
                // Every real token's logit must be finite (`f64::max` would skip a NaN).
                if let Some(v) = (0..q).filter(|&v| real(v)).find(|&v| !logit[v].is_finite()) {
                    return Err(NnError::Input(format!(
                        "the model's logit of token {v} at position {i} is {}, not finite",
                        logit[v]
                    )));
                }
                let top = (0..q)
                    .filter(|&v| real(v))
                    .map(|v| f64::from(logit[v]))
                    .fold(f64::NEG_INFINITY, f64::max);
                let mut total = 0.0;
                for (v, r) in row.iter_mut().enumerate() {
                    *r = if real(v) {
                        (f64::from(logit[v]) - top).exp()
                    } else {
                        0.0
                    };
                    total += *r;
                }
                row.iter_mut().for_each(|r| *r /= total);
            }
        }
        Ok(())
    }
}

impl Oracle for NeuralOracle {
    type Error = NnError;

    fn len(&self) -> usize {
        self.n
    }

    fn vocab_size(&self) -> usize {
        self.q
    }

    fn conditional_marginals(
        &self,
        partial: &[u32],
        query: &[usize],
        out: &mut [f64],
    ) -> Result<(), NnError> {
        self.forward_rows(&[partial], &[query], &mut [out])
    }

    fn batch_marginals(
        &self,
        partials: &[&[u32]],
        queries: &[&[usize]],
        outs: &mut [&mut [f64]],
    ) -> Result<(), NnError> {
        assert!(
            partials.len() == queries.len() && queries.len() == outs.len(),
            "batch sizes"
        );
        let mut start = 0;
        for chunk in outs.chunks_mut(self.max_batch) {
            let end = start + chunk.len();
            self.forward_rows(&partials[start..end], &queries[start..end], chunk)?;
            start = end;
        }
        Ok(())
    }
}
