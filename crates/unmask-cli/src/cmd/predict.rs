//! `unmask predict --model DIR --ids 5,_,_,7`: the model's marginals at the masked positions —
//! the debugging door into a network, and how a checkpoint is checked against another
//! implementation (load, one oracle call, render).

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::json;
use unmask_core::{MASK, Oracle};

use crate::args::Output;
use crate::env::Env;
use crate::report::{self, Table};

/// The marginals of a model at the masked positions of one sequence.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A checkpoint directory (config.json and safetensors in LLaDA's format).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The sequence: token ids separated by commas, `_` for a masked position.
    #[arg(long, value_name = "IDS", allow_hyphen_values = true)]
    pub ids: String,
    /// Rows of the text table per position (the most likely tokens).
    #[arg(long, value_name = "K", default_value_t = 5)]
    pub top: usize,
    #[command(flatten)]
    pub output: Output,
}

pub fn run(args: Args, env: &Env, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let (model, vocab) = crate::io::load_model(&args.model, env)?;
    let config = model.config().clone();
    let q = unmask_nn::NeuralOracle::new(model.clone(), 1, 1).vocab_size();
    let partial = args
        .ids
        .split(',')
        .enumerate()
        .map(|(i, t)| match t.trim() {
            "_" => Ok(MASK),
            t => t
                .parse::<u32>()
                .ok()
                .filter(|&v| (v as usize) < q && v as usize != config.mask_token_id)
                .with_context(|| {
                    format!(
                        "--ids: item {} ({t:?}) is not `_` or a token id below {} other than the mask id {}",
                        i + 1,
                        q,
                        config.mask_token_id
                    )
                }),
        })
        .collect::<anyhow::Result<Vec<u32>>>()?;
    let query: Vec<usize> = (0..partial.len()).filter(|&i| partial[i] == MASK).collect();
    if query.is_empty() {
        bail!("--ids: no position is masked (`_`)");
    }
    if let Some(trained) = crate::io::trained_length(&args.model)
        && trained != partial.len()
    {
        bail!(
            "--ids: {} positions, but the model in {} was trained on sequences of length {trained} (other lengths were never seen)",
            partial.len(),
            args.model.display()
        );
    }
    let oracle = unmask_nn::NeuralOracle::new(model, partial.len(), 1);
    env.check_model_passes(
        &oracle,
        1.0,
        format!("one forward pass over {} positions", partial.len()),
    )?;
    let mut probs = vec![0.0; query.len() * q];
    oracle.conditional_marginals(&partial, &query, &mut probs)?;
    // Rows over every id 0..vocab_size − 1, the mask's probability 0.
    let rows: Vec<Vec<f64>> = probs
        .chunks(q)
        .map(|r| {
            let mut row = r.to_vec();
            row.resize(config.vocab_size, 0.0);
            row
        })
        .collect();
    if args.output.json {
        let doc = json!({
            "schema_version": unmask_io::SCHEMA_VERSION,
            "n": partial.len(),
            "vocab_size": config.vocab_size,
            "mask_token_id": config.mask_token_id,
            "positions": query,
            "probs": rows,
        });
        return report::print_json(out, &doc);
    }
    writeln!(
        out,
        "{} (n = {}, vocab {}, mask id {}): marginals of {} masked position(s)",
        args.model.display(),
        partial.len(),
        config.vocab_size,
        config.mask_token_id,
        query.len()
    )?;
    let mut table = Table::new(&["position", "token", "shows as", "probability"]);
    for (&i, row) in query.iter().zip(&rows) {
        let mut order: Vec<usize> = (0..row.len()).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
        for &v in order.iter().take(args.top.max(1)) {
            table.row(vec![
                i.to_string(),
                v.to_string(),
                vocab.show(v),
                format!("{:.6}", row[v]),
            ]);
        }
    }
    write!(out, "{}", table.render())?;
    Ok(())
}
