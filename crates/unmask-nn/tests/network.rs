//! The network's invariants, on microscopic configurations (fast even in debug builds).

use candle_core::{Device, Tensor};
use unmask_core::{MASK, Oracle};
use unmask_nn::{Config, Llada, NeuralOracle, Path, TrainConfig, Trainer, Vocab, init_params};

fn micro(vocab: usize) -> Config {
    Config {
        d_model: 16,
        n_heads: 4,
        n_kv_heads: 2,
        n_layers: 2,
        mlp_hidden_size: 24,
        ..Config::tiny(vocab)
    }
}

fn settings(seed: u64) -> TrainConfig {
    TrainConfig {
        batch: 4,
        lr: 3e-3,
        warmup: 2,
        total_steps: 20,
        weight_decay: 0.01,
        clip: 1.0,
        seed,
    }
}

fn model(config: &Config, seed: u64) -> Llada {
    Llada::from_vars(config.clone(), &init_params(config, seed).unwrap()).unwrap()
}

fn batch(seed: u64, rows: usize, n: usize, q: u32) -> Vec<u32> {
    let dist = unmask_core::DistSpec::parse(&format!("markov:n={n},q={q},stay=0.8"))
        .unwrap()
        .build(None)
        .unwrap();
    (0..rows)
        .flat_map(|i| dist.sample(&mut unmask_core::stream(seed, i as u64)))
        .collect()
}

fn logits(m: &Llada, ids: &[u32], n: usize, path: Path) -> Vec<f32> {
    let t = Tensor::from_vec(ids.to_vec(), (ids.len() / n, n), &Device::Cpu).unwrap();
    m.forward(&t, path)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn every_parameter_receives_a_gradient() {
    let trainer = Trainer::new(micro(5), settings(1)).unwrap();
    let norms = trainer.gradient_norms(&batch(2, 4, 12, 4), 12).unwrap();
    assert_eq!(norms.len(), unmask_nn::tensor_shapes(&micro(5)).len());
    for (name, g) in norms {
        assert!(
            g > 0.0 && g.is_finite(),
            "{name}: squared gradient norm {g}"
        );
    }
}

#[test]
fn training_and_inference_paths_agree() {
    let c = micro(5);
    let m = model(&c, 3);
    let mut ids = batch(4, 3, 10, 4);
    ids[3] = 4; // some masks
    ids[17] = 4;
    let a = logits(&m, &ids, 10, Path::Train);
    let b = logits(&m, &ids, 10, Path::Infer);
    assert!(max_diff(&a, &b) < 1e-5, "{}", max_diff(&a, &b));
}

#[test]
fn batched_equals_unbatched_and_attention_is_bidirectional() {
    let c = micro(5);
    let oracle = NeuralOracle::new(model(&c, 5), 8, 2);
    let partials: Vec<Vec<u32>> = vec![
        vec![0, MASK, 2, MASK, MASK, 1, 1, MASK],
        vec![MASK; 8],
        vec![3, 3, MASK, 0, 0, 0, 0, 2],
    ];
    let queries: Vec<Vec<usize>> = vec![vec![1, 3, 7], vec![0, 5], vec![2]];
    let mut outs: Vec<Vec<f64>> = queries.iter().map(|q| vec![0.0; q.len() * 4]).collect();
    {
        let p: Vec<&[u32]> = partials.iter().map(Vec::as_slice).collect();
        let q: Vec<&[usize]> = queries.iter().map(Vec::as_slice).collect();
        let mut o: Vec<&mut [f64]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
        oracle.batch_marginals(&p, &q, &mut o).unwrap();
    }
    for ((p, q), batched) in partials.iter().zip(&queries).zip(&outs) {
        let mut single = vec![0.0; q.len() * 4];
        oracle.conditional_marginals(p, q, &mut single).unwrap();
        for (a, b) in single.iter().zip(batched) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        for row in single.chunks(4) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
    // Changing the last token changes the first position's marginal.
    let mut a = vec![0.0; 4];
    let mut b = vec![0.0; 4];
    oracle
        .conditional_marginals(&[MASK, 1, 1, 1, 1, 1, 1, 0], &[0], &mut a)
        .unwrap();
    oracle
        .conditional_marginals(&[MASK, 1, 1, 1, 1, 1, 1, 3], &[0], &mut b)
        .unwrap();
    assert!(a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-6));
    // Out-of-vocabulary input is an error, not a panic.
    let mut out = vec![0.0; 4];
    assert!(
        oracle
            .conditional_marginals(&[9, MASK, 0, 0, 0, 0, 0, 0], &[1], &mut out)
            .is_err()
    );
}

fn params_of(t: &Trainer) -> Vec<f32> {
    let m = t.model().unwrap();
    logits(&m, &batch(99, 2, 12, 4), 12, Path::Infer)
}

#[test]
fn training_is_deterministic_and_resumes_exactly() {
    let data = |step: usize| batch(1000 + step as u64, 4, 12, 4);
    let run = |steps: usize| {
        let mut t = Trainer::new(micro(5), settings(7)).unwrap();
        let mut losses = Vec::new();
        for s in 0..steps {
            losses.push(t.step(&data(s), 12).unwrap());
        }
        (t, losses)
    };
    let (a, la) = run(6);
    let (b, lb) = run(6);
    assert_eq!(la, lb);
    assert_eq!(params_of(&a), params_of(&b));
    // 3 steps, a checkpoint, a resumed run of 3 more: the same bits as 6 in one go.
    let (half, _) = run(3);
    let dir = std::env::temp_dir().join(format!("unmask-nn-resume-{}", std::process::id()));
    let writer = unmask_nn::checkpoint::Writer::open(&dir).unwrap();
    half.save(
        &writer,
        &Vocab::Symbols(4),
        &unmask_nn::RunInfo {
            data: unmask_nn::RunData::Dist("markov:n=12,q=4,stay=0.8".into()),
            len: Some(12),
            checkpoint_every: None,
        },
    )
    .unwrap();
    drop(writer);
    let budget = unmask_core::budget::Budget::default();
    let (mut resumed, state, _) = Trainer::resume(&dir, &budget).unwrap();
    assert_eq!(state.len, Some(12));
    assert_eq!(resumed.step_count(), 3);
    let mut lr = Vec::new();
    for s in 3..6 {
        lr.push(resumed.step(&data(s), 12).unwrap());
    }
    assert_eq!(lr, la[3..].to_vec());
    assert_eq!(params_of(&resumed), params_of(&a));
    // The checkpoint round trip: loading the saved model gives the saved model's logits.
    let ckpt = unmask_nn::checkpoint::load(&dir, &budget).unwrap();
    let loaded = Llada::new(ckpt.config, &ckpt.tensors).unwrap();
    assert_eq!(ckpt.vocab, Vocab::Symbols(4));
    assert_eq!(
        logits(&loaded, &batch(5, 2, 12, 4), 12, Path::Infer),
        logits(&half.model().unwrap(), &batch(5, 2, 12, 4), 12, Path::Infer)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_loss_falls_on_a_markov_chain() {
    let mut t = Trainer::new(
        micro(5),
        TrainConfig {
            total_steps: 60,
            ..settings(3)
        },
    )
    .unwrap();
    let valid = batch(5000, 16, 12, 4);
    let (before, _) = t.evaluate(&valid, 12, 8, 1).unwrap();
    for s in 0..60 {
        t.step(&batch(s, 8, 12, 4), 12).unwrap();
    }
    let (after, se) = t.evaluate(&valid, 12, 8, 1).unwrap();
    assert!(se > 0.0 && se < 0.2, "standard error {se}");
    assert!(after < before - 0.2, "{before} → {after}");
}

#[test]
fn a_diverging_step_is_refused_and_changes_nothing() {
    let mut t = Trainer::new(
        micro(5),
        TrainConfig {
            lr: f64::NAN,
            ..settings(3)
        },
    )
    .unwrap();
    // A NaN learning rate would poison every parameter: the update is refused before it is
    // committed, and the parameters stay those of the step before.
    let before = params_of(&t);
    let err = t.step(&batch(1, 4, 12, 4), 12).unwrap_err();
    assert!(
        err.to_string().contains("training diverged at step 1")
            && err.to_string().contains("non-finite"),
        "{err}"
    );
    assert_eq!(t.step_count(), 0);
    assert_eq!(params_of(&t), before);
}
