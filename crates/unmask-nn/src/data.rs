//! What a network trains and is evaluated on: exact draws of a distribution, or windows of a
//! text with a character vocabulary.

use rand::RngExt;
use unmask_core::{Family, stream};

use crate::{NnError, Vocab};

/// A source of training and validation sequences of length n.
///
/// Batch `step` of a run with seed s is a pure function of (s, step): sequence i of it comes
/// from the ChaCha8 stream (s + 1, step·B + i), validation sequence i from (s + 2, i) — so
/// resumed runs see the data the uninterrupted run would have.
#[derive(Debug)]
pub enum Corpus {
    /// Fresh exact draws every batch.
    Dist(Family),
    /// Random windows of a tokenised text; validation windows from a held-out text.
    Text {
        /// The characters, id = index.
        chars: Vec<char>,
        /// Training text as ids.
        train: Vec<u32>,
        /// Validation text as ids.
        valid: Vec<u32>,
        /// Window length.
        n: usize,
    },
}

impl Corpus {
    /// A text corpus: the vocabulary is the training text's characters (sorted); the
    /// validation text is `valid`, or the last tenth of `train` when absent. `what` names the
    /// inputs in errors.
    ///
    /// # Errors
    ///
    /// [`NnError::Input`] for texts shorter than a window, or a validation character outside
    /// the training vocabulary (with its line).
    pub fn text(
        train: &str,
        valid: Option<&str>,
        n: usize,
        what: (&str, &str),
    ) -> Result<Corpus, NnError> {
        let (train, valid) = match valid {
            Some(v) => (train.to_string(), v.to_string()),
            None => {
                let chars: Vec<char> = train.chars().collect();
                let cut = chars.len() - chars.len() / 10;
                (chars[..cut].iter().collect(), chars[cut..].iter().collect())
            }
        };
        let mut chars: Vec<char> = train.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        let id = |c: char| chars.binary_search(&c).ok().map(|i| i as u32);
        let train_ids: Vec<u32> = train.chars().map(|c| id(c).expect("own char")).collect();
        let mut valid_ids = Vec::new();
        for (line, text) in valid.split('\n').enumerate() {
            for c in text.chars().chain(std::iter::once('\n')) {
                valid_ids.push(id(c).ok_or_else(|| {
                    NnError::Input(format!(
                        "{}: line {}: character {c:?} does not occur in {}",
                        what.1,
                        line + 1,
                        what.0
                    ))
                })?);
            }
        }
        valid_ids.pop(); // the split added one newline too many
        for (ids, name) in [(&train_ids, what.0), (&valid_ids, what.1)] {
            if ids.len() <= n {
                return Err(NnError::Input(format!(
                    "{name}: {} characters, fewer than a window of {} + 1",
                    ids.len(),
                    n
                )));
            }
        }
        Ok(Corpus::Text {
            chars,
            train: train_ids,
            valid: valid_ids,
            n,
        })
    }

    /// A text to evaluate on with a trained model's character vocabulary: all of it is
    /// held out (its windows are the validation sequences).
    ///
    /// # Errors
    ///
    /// [`NnError::Input`] for a character outside the vocabulary (with its line), a model
    /// without a character vocabulary, or a text shorter than a window.
    pub fn held_out_text(
        text: &str,
        n: usize,
        vocab: &Vocab,
        name: &str,
    ) -> Result<Corpus, NnError> {
        let Vocab::Chars(chars) = vocab else {
            return Err(NnError::Input(format!(
                "{name}: the model was not trained on text (it has no character vocabulary)"
            )));
        };
        let mut ids = Vec::new();
        for (line, part) in text.split('\n').enumerate() {
            if line > 0 {
                ids.push(chars.binary_search(&'\n').map_err(|_| {
                    NnError::Input(format!(
                        "{name}: line {line} ends in a newline, which the model never saw"
                    ))
                })? as u32);
            }
            for c in part.chars() {
                ids.push(chars.binary_search(&c).map_err(|_| {
                    NnError::Input(format!(
                        "{name}: line {}: character {c:?} is not in the model's vocabulary",
                        line + 1
                    ))
                })? as u32);
            }
        }
        if ids.len() <= n {
            return Err(NnError::Input(format!(
                "{name}: {} characters, fewer than a window of {n} + 1",
                ids.len()
            )));
        }
        Ok(Corpus::Text {
            chars: chars.clone(),
            train: ids.clone(),
            valid: ids,
            n,
        })
    }

    /// Sequence length n.
    pub fn len(&self) -> usize {
        match self {
            Corpus::Dist(f) => unmask_core::Oracle::len(f),
            Corpus::Text { n, .. } => *n,
        }
    }

    /// Never true (n ≥ 1).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The token vocabulary (the mask comes after it).
    pub fn vocab(&self) -> Vocab {
        match self {
            Corpus::Dist(f) => Vocab::Symbols(unmask_core::Oracle::vocab_size(f)),
            Corpus::Text { chars, .. } => Vocab::Chars(chars.clone()),
        }
    }

    /// Training batch `step`: `batch` sequences, row-major.
    pub fn batch(&self, seed: u64, step: usize, batch: usize) -> Vec<u32> {
        (0..batch)
            .flat_map(|i| {
                let mut rng = stream(seed.wrapping_add(1), (step * batch + i) as u64);
                self.draw(&mut rng)
            })
            .collect()
    }

    /// `count` validation sequences, row-major (evenly spaced windows of a text).
    pub fn validation(&self, seed: u64, count: usize) -> Vec<u32> {
        match self {
            Corpus::Dist(_) => (0..count)
                .flat_map(|i| self.draw(&mut stream(seed.wrapping_add(2), i as u64)))
                .collect(),
            Corpus::Text { valid, n, .. } => {
                let span = valid.len() - n;
                let count = count.min(span + 1);
                (0..count)
                    .flat_map(|i| {
                        let at = i * span / count.max(1);
                        valid[at..at + n].iter().copied()
                    })
                    .collect()
            }
        }
    }

    /// One held-out sequence drawn with `rng`: an exact draw, or a uniformly placed window of
    /// the validation text (what `unmask estimate --model --text` averages over).
    pub fn held_out(&self, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<u32> {
        match self {
            Corpus::Dist(f) => f.sample(rng),
            Corpus::Text { valid, n, .. } => {
                let at = rng.random_range(0..=valid.len() - n);
                valid[at..at + n].to_vec()
            }
        }
    }

    fn draw(&self, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<u32> {
        match self {
            Corpus::Dist(f) => f.sample(rng),
            Corpus::Text { train, n, .. } => {
                let at = rng.random_range(0..=train.len() - n);
                train[at..at + n].to_vec()
            }
        }
    }
}
