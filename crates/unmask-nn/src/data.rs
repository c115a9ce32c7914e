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
    /// A text corpus: the vocabulary is `vocab` when given (a resumed run keeps the ids it was
    /// trained with) or else the training text's characters (sorted); the validation text is
    /// `valid`, or the last tenth of `train` when absent. `what` names the inputs in errors.
    ///
    /// # Errors
    ///
    /// [`NnError::Input`] for a window length of 0, texts shorter than a window (saying what
    /// was split off), a character outside the vocabulary (naming it and its line: in the
    /// training text when `vocab` is given, else in the validation text).
    pub fn text(
        train: &str,
        valid: Option<&str>,
        n: usize,
        what: (&str, &str),
        vocab: Option<&[char]>,
    ) -> Result<Corpus, NnError> {
        if n == 0 {
            return Err(NnError::Input(
                "the window length must be at least 1 token".into(),
            ));
        }
        let held_out = valid.is_none();
        let (train, valid, cut) = match valid {
            Some(v) => (train.to_string(), v.to_string(), 0),
            None => {
                let chars: Vec<char> = train.chars().collect();
                let cut = chars.len() - chars.len() / 10;
                (
                    chars[..cut].iter().collect(),
                    chars[cut..].iter().collect(),
                    cut,
                )
            }
        };
        let chars: Vec<char> = match vocab {
            Some(v) => v.to_vec(),
            None => {
                let mut c: Vec<char> = train.chars().collect();
                c.sort_unstable();
                c.dedup();
                c
            }
        };
        let train_name = if held_out {
            format!("{} (its first nine tenths, the training part)", what.0)
        } else {
            what.0.to_string()
        };
        let valid_name = if held_out {
            format!(
                "{} (its last tenth from character {}, held out for validation; give --valid FILE to choose the validation text)",
                what.0,
                cut + 1
            )
        } else {
            what.1.to_string()
        };
        let train_ids = if vocab.is_some() {
            ids_of(&train, &chars, &train_name, "the checkpoint's vocabulary")?
        } else {
            let id = |c: char| chars.binary_search(&c).expect("own char") as u32;
            train.chars().map(id).collect()
        };
        let source = if vocab.is_some() {
            "the checkpoint's vocabulary".to_string()
        } else {
            format!("the training text {train_name}")
        };
        let valid_ids = ids_of(&valid, &chars, &valid_name, &source)?;
        for (ids, name) in [(&train_ids, &train_name), (&valid_ids, &valid_name)] {
            if ids.len() <= n {
                return Err(NnError::Input(format!(
                    "{name}: {} characters, fewer than a window of {n} + 1 (use a longer text or a smaller --len)",
                    ids.len(),
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

/// The ids of `text`'s characters in `chars` (sorted); a character outside is refused with its
/// line, as not occurring in `source`.
fn ids_of(text: &str, chars: &[char], name: &str, source: &str) -> Result<Vec<u32>, NnError> {
    let mut ids = Vec::with_capacity(text.len());
    let mut line = 1;
    for c in text.chars() {
        let id = chars.binary_search(&c).map_err(|_| {
            NnError::Input(format!(
                "{name}: line {line}: character {c:?} does not occur in {source}"
            ))
        })?;
        ids.push(id as u32);
        if c == '\n' {
            line += 1;
        }
    }
    Ok(ids)
}
