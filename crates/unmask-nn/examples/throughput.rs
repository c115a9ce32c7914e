//! Throughput of the network on this machine, for `python/bench/bench_nn.py` (which measures
//! PyTorch on the same configuration in the same run and prints the ratios).
//!
//! `cargo run --release -p unmask-nn --example throughput -- D LAYERS VOCAB LEN BATCH STEPS`
//! prints one JSON line: training tokens/s (forward, backward, AdamW; seeded batches), batched
//! inference-forward tokens/s (the fused path, batch 2·BATCH), and the peak resident memory.

use std::time::Instant;

/// The allocator the `unmask` binary uses (crates/unmask-cli/src/main.rs), so these numbers
/// are the CLI's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use candle_core::{Device, Tensor};
use unmask_nn::{Config, Path, TrainConfig, Trainer};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    let [d, layers, vocab, len, batch, steps] = a[..] else {
        return Err("usage: throughput D LAYERS VOCAB LEN BATCH STEPS".into());
    };
    let config = Config {
        d_model: d,
        n_layers: layers,
        mlp_hidden_size: 3 * d,
        ..Config::tiny(vocab + 1)
    };
    let mut trainer = Trainer::new(
        config,
        TrainConfig {
            batch,
            lr: 1e-3,
            warmup: 10,
            total_steps: steps,
            weight_decay: 0.0,
            clip: 1.0,
            seed: 0,
        },
    )?;
    let data: Vec<Vec<u32>> = (0..steps + 5)
        .map(|s| {
            (0..batch * len)
                .map(|i| ((i * 7 + s * 13) % vocab) as u32)
                .collect()
        })
        .collect();
    for ids in data.iter().take(5) {
        trainer.step(ids, len)?; // warm-up
    }
    let start = Instant::now();
    for ids in data.iter().skip(5) {
        trainer.step(ids, len)?;
    }
    let train = (steps * batch * len) as f64 / start.elapsed().as_secs_f64();
    let model = trainer.model()?;
    let ids: Vec<u32> = (0..2 * batch * len).map(|i| (i % vocab) as u32).collect();
    let ids = Tensor::from_vec(ids, (2 * batch, len), &Device::Cpu)?;
    model.forward(&ids, Path::Infer)?;
    let reps = 20;
    let start = Instant::now();
    for _ in 0..reps {
        model.forward(&ids, Path::Infer)?;
    }
    let forward = (reps * 2 * batch * len) as f64 / start.elapsed().as_secs_f64();
    println!(
        "{{\"train_tokens_per_s\": {train:.1}, \"forward_tokens_per_s\": {forward:.1}, \"peak_rss_mib\": {:.1}, \"parameters\": {}}}",
        peak_rss_kib().map_or(f64::NAN, |k| k as f64 / 1024.0),
        model.config().parameter_count()
    );
    Ok(())
}
