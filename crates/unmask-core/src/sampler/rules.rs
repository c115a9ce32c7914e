//! One function per rule that decides a step from the marginals of the queried positions
//! ([`Rule::reveal`]). The sampler ([`super::sample`]) and the exact-law enumeration
//! ([`crate::verify::exact_output_law`]) both call it, so what the enumeration counts is what
//! the sampler does.

use rand::Rng;

use super::Rule;
use crate::num::entropy;

/// What a rule reveals at one step, as rows of the queried positions (in query order).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reveal {
    /// Draw each listed row from its marginal (random order, fixed order, MDLM, EB, threshold).
    Draw(Vec<usize>),
    /// Commit a proposed value to each listed row (LLaDA's `low_confidence`).
    Commit(Vec<(usize, u32)>),
}

impl Rule {
    /// Decides step `step` from the marginals of the queried positions (`marginals`: one row of
    /// q per position, in query order). Schedule rules query exactly the step's block and draw
    /// all of it; the confidence rule queries every masked position, proposes a value per row
    /// (`propose`: argmax at temperature 0, a tempered draw otherwise) and commits the
    /// `counts[step]` most confident proposals, ties to the earlier row; the adaptive rules
    /// query every masked position and draw the rows [`adaptive_choice`] picks.
    pub(crate) fn reveal(
        &self,
        step: usize,
        marginals: &[f64],
        q: usize,
        mut propose: impl FnMut(&[f64]) -> u32,
    ) -> Reveal {
        let rows = marginals.len() / q;
        match self {
            Rule::RandomOrder(_) | Rule::FixedOrder { .. } | Rule::Binomial(_) => {
                Reveal::Draw((0..rows).collect())
            }
            Rule::Confidence { schedule, .. } => {
                let mut proposals: Vec<(f64, usize, u32)> = marginals
                    .chunks(q)
                    .enumerate()
                    .map(|(r, row)| {
                        let v = propose(row);
                        (row[v as usize], r, v)
                    })
                    .collect();
                proposals.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                Reveal::Commit(
                    proposals
                        .iter()
                        .take(schedule.counts()[step])
                        .map(|&(_, r, v)| (r, v))
                        .collect(),
                )
            }
            Rule::EntropyBound { .. } | Rule::Threshold { .. } => {
                Reveal::Draw(adaptive_choice(self, marginals, q))
            }
        }
    }
}

/// The confidence rule's proposal for one row: the argmax at temperature 0, else a draw from
/// the row raised to 1/temperature and renormalised.
pub(crate) fn propose<R: Rng + ?Sized>(row: &[f64], temperature: f64, rng: &mut R) -> u32 {
    if temperature == 0.0 {
        return argmax_value(row);
    }
    let tempered: Vec<f64> = row.iter().map(|p| p.powf(1.0 / temperature)).collect();
    let total: f64 = tempered.iter().sum();
    let normalised: Vec<f64> = tempered.iter().map(|t| t / total).collect();
    crate::num::draw(&normalised, rng)
}

/// The most probable value of a row (the first on ties).
pub(crate) fn argmax_value(row: &[f64]) -> u32 {
    argmax(row) as u32
}

fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Which of the queried rows an adaptive rule commits (indices into the rows).
fn adaptive_choice(rule: &Rule, marginals: &[f64], q: usize) -> Vec<usize> {
    let rows = marginals.len() / q;
    match rule {
        Rule::EntropyBound { gamma } => {
            let mut by_entropy: Vec<(f64, usize)> = (0..rows)
                .map(|r| (entropy(&marginals[r * q..(r + 1) * q]), r))
                .collect();
            by_entropy.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            // Ascending order: with r added, the prefix's Σ H − max H is the sum before r.
            let mut total = 0.0;
            let mut chosen = Vec::new();
            for &(h, r) in &by_entropy {
                if !chosen.is_empty() && total > *gamma {
                    break;
                }
                chosen.push(r);
                total += h;
            }
            chosen
        }
        Rule::Threshold { tau } => {
            let top: Vec<(f64, usize)> = (0..rows)
                .map(|r| {
                    let row = &marginals[r * q..(r + 1) * q];
                    (row[argmax(row)], r)
                })
                .collect();
            let mut chosen: Vec<usize> = top.iter().filter(|t| t.0 >= *tau).map(|t| t.1).collect();
            if chosen.is_empty() {
                let best = top
                    .iter()
                    .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
                    .expect("at least one masked position");
                chosen.push(best.1);
            }
            chosen
        }
        _ => unreachable!("only adaptive rules choose by marginals"),
    }
}
