//! The `--model` commands end to end on a network trained here in seconds: train, resume,
//! predict, estimate, verify, score and sample, their JSON fields, and the refusals.

use crate::common::{fails, json, tmp, unmask};

const SPEC: &str = "markov:n=10,q=4,stay=0.8";

/// `unmask train` of a tiny network for 30 steps into `out`.
fn train(out: &str) -> serde_json::Value {
    json(&[
        "train",
        "--dist",
        SPEC,
        "--out",
        out,
        "--steps",
        "30",
        "--size",
        "tiny,d=16",
        "--batch",
        "8",
        "--checkpoint-every",
        "10",
        "--seed",
        "3",
    ])
}

/// A tiny network trained for a few steps (shared by the tests of this file).
fn trained(name: &str) -> String {
    let dir = tmp(name);
    let out = dir.display().to_string();
    if !dir.join("config.json").exists() {
        let doc = train(&out);
        assert_eq!(doc["steps"], 30);
        assert_eq!(doc["tokens"], 30 * 8 * 10);
        for key in ["train_loss", "valid_loss", "tokens_per_s"] {
            assert!(
                doc[key].as_f64().is_some_and(f64::is_finite),
                "{key}: {doc}"
            );
        }
    }
    out
}

#[test]
fn train_is_reproducible_and_resumes() {
    let whole = trained("whole");
    let part = tmp("part").display().to_string();
    train(&part);
    // Two seeded runs write the same weights; a resumed run continues the step count and
    // the history (bit-for-bit equality with an uninterrupted run is the library's test,
    // crates/unmask-nn/tests/network.rs).
    let a = std::fs::read(format!("{whole}/model.safetensors")).unwrap();
    let b = std::fs::read(format!("{part}/model.safetensors")).unwrap();
    assert_eq!(a, b, "seeded runs are reproducible");
    let doc = json(&["train", "--resume", &part, "--steps", "40"]);
    assert_eq!(doc["steps"], 40);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{part}/train_state.json")).unwrap())
            .unwrap();
    assert_eq!(state["step"], 40);
    assert_eq!(state["history"].as_array().unwrap().len(), 4);
    for f in [
        "config.json",
        "model.safetensors",
        "vocab.json",
        "optimizer.safetensors",
    ] {
        assert!(std::path::Path::new(&part).join(f).exists(), "{f}");
    }
}

#[test]
fn predict_estimate_verify_score_sample() {
    let m = trained("m");
    let p = json(&["predict", "--model", &m, "--ids", "1,_,_,3,1,1,1,1,1,1"]);
    assert_eq!(p["positions"], serde_json::json!([1, 2]));
    assert_eq!(p["vocab_size"], 5);
    for row in p["probs"].as_array().unwrap() {
        let row: Vec<f64> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(row.len(), 5);
        assert_eq!(row[4], 0.0, "the mask id has probability 0");
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
    let curve = tmp("m-curve.json").display().to_string();
    let e = json(&[
        "estimate",
        "--dist",
        SPEC,
        "--model",
        &m,
        "--samples",
        "50",
        "--points",
        "9",
        "--out",
        &curve,
    ]);
    assert_eq!(e["loss"], "cross_entropy");
    assert!(e["predicted_entropy"]["points"].is_array());
    let v = json(&[
        "verify",
        "--dist",
        SPEC,
        "--model",
        &m,
        "--curve",
        &curve,
        "--repair",
        "--schedule",
        "optimal:steps=3",
        "--samples",
        "40",
    ]);
    assert_eq!(v["steps"], 3);
    for key in [
        "mc_expected_kl",
        "stderr",
        "model_error",
        "predicted",
        "exact_expected_kl",
    ] {
        assert!(v[key].as_f64().is_some(), "{key}: {v}");
    }
    assert_eq!(v["model_error_ci95"].as_array().unwrap().len(), 2);
    let s = json(&[
        "score",
        "--model",
        &m,
        "--dist",
        SPEC,
        "--schedule",
        "uniform:steps=5",
        "--curve",
        &curve,
        "--repair",
        "--samples",
        "20",
        "--orders",
        "2",
    ]);
    assert_eq!(
        (s["steps"].as_u64(), s["orders"].as_u64()),
        (Some(5), Some(2))
    );
    for key in [
        "nll_per_token",
        "stderr",
        "baseline",
        "predicted_nll_per_token",
    ] {
        assert!(s[key].as_f64().is_some_and(f64::is_finite), "{key}: {s}");
    }
    let g = json(&[
        "sample",
        "--model",
        &m,
        "--dist",
        SPEC,
        "--schedule",
        "cosine:steps=4",
        "--samples",
        "5",
        "--prompt",
        "2,2",
    ]);
    assert_eq!(
        g["batched_forward_passes"], 4,
        "five sequences, one pass per step"
    );
    for x in g["samples"].as_array().unwrap() {
        let t = x["tokens"].as_array().unwrap();
        assert_eq!(t.len(), 10);
        assert_eq!(
            (t[0].as_u64(), t[1].as_u64()),
            (Some(2), Some(2)),
            "the prompt stays"
        );
        assert!(x["ln_prob"].as_f64().is_some());
    }
    let (code, stdout, _) = unmask(&[
        "sample",
        "--model",
        &m,
        "--rule",
        "eb:gamma=0.3",
        "--samples",
        "2",
    ]);
    assert_eq!(code, 0);
    assert!(stdout.contains("2 samples from model"), "{stdout}");
}

#[test]
fn model_commands_refuse_bad_input() {
    let m = trained("bad");
    fails(
        &["predict", "--model", "/nonexistent/model", "--ids", "1,_"],
        &["not a checkpoint directory"],
    );
    fails(
        &["predict", "--model", &m, "--ids", "1,2"],
        &["no position is masked"],
    );
    fails(
        &["predict", "--model", &m, "--ids", "1,_,9"],
        &["item 3", "\"9\""],
    );
    fails(
        &[
            "estimate",
            "--dist",
            "markov:n=10,q=3,stay=0.8",
            "--model",
            &m,
            "--samples",
            "5",
        ],
        &["its vocabulary (4 symbols) is not --dist's 3 symbols"],
    );
    fails(
        &[
            "estimate",
            "--dist",
            "markov:n=12,q=4,stay=0.8",
            "--model",
            &m,
            "--samples",
            "5",
        ],
        &["trained on sequences of length 10", "n = 12"],
    );
    fails(
        &[
            "sample",
            "--model",
            &m,
            "--schedule",
            "uniform:steps=2",
            "--prompt",
            "7",
        ],
        &["--prompt", "token id 7 is not below the model's 4 tokens"],
    );
    // A corrupt checkpoint.
    let broken = tmp("broken");
    std::fs::create_dir_all(&broken).unwrap();
    for f in ["config.json", "vocab.json"] {
        std::fs::copy(format!("{m}/{f}"), broken.join(f)).unwrap();
    }
    std::fs::write(broken.join("model.safetensors"), b"garbage").unwrap();
    fails(
        &[
            "predict",
            "--model",
            &broken.display().to_string(),
            "--ids",
            "_",
        ],
        &["model.safetensors", "not a readable safetensors file"],
    );
    // Divergence and the training flags: tests/train_safety.rs.
    let nan = tmp("nan").display().to_string();
    fails(
        &["train", "--dist", SPEC, "--out", &nan, "--size", "huge"],
        &["--size", "\"huge\""],
    );
    if !cfg!(feature = "cuda") {
        fails(
            &["predict", "--model", &m, "--ids", "1,_", "--device", "cuda"],
            &["--device", "built without CUDA support", "--features cuda"],
        );
    }
    fails(
        &["predict", "--model", &m, "--ids", "1,_", "--device", "tpu"],
        &["not cpu, cuda or cuda:N"],
    );
}

#[test]
fn a_checkpoint_with_a_tokenizer_encodes_prompts_and_decodes_samples() {
    let m = trained("tok");
    let dir = tmp("tok-hf");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(format!("{m}/{f}"), dir.join(f)).unwrap();
    }
    // A word-level tokenizer over four words (ids 0..3); the model's mask is id 4.
    let tokenizer = r#"{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
        "decoder": null, "model": {"type": "WordLevel", "vocab": {"red": 0, "green": 1,
        "blue": 2, "grey": 3}, "unk_token": "grey"}}"#;
    std::fs::write(dir.join("tokenizer.json"), tokenizer).unwrap();
    let d = dir.display().to_string();
    let g = json(&[
        "sample",
        "--model",
        &d,
        "--len",
        "10",
        "--schedule",
        "uniform:steps=5",
        "--samples",
        "2",
        "--prompt",
        "blue blue red",
    ]);
    for x in g["samples"].as_array().unwrap() {
        let t: Vec<u64> = x["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(&t[..3], &[2, 2, 0]);
        let text = x["text"].as_str().unwrap();
        assert!(text.starts_with("blue blue red "), "{text}");
        assert_eq!(text.split(' ').count(), 10);
    }
    std::fs::write(dir.join("tokenizer.json"), "{not json").unwrap();
    fails(
        &["predict", "--model", &d, "--ids", "_"],
        &["tokenizer.json", "not a readable tokenizer"],
    );
}

#[test]
fn ctrl_c_writes_a_checkpoint_and_stops() {
    let dir = tmp("interrupted").display().to_string();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_unmask"))
        .args([
            "train",
            "--dist",
            SPEC,
            "--out",
            &dir,
            "--steps",
            "1000000",
            "--size",
            "tiny,d=16",
            "--batch",
            "4",
            "--checkpoint-every",
            "1000000",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("interrupted at step"), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = doc["steps"].as_u64().unwrap();
    assert!(steps > 0 && steps < 1_000_000);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/train_state.json")).unwrap())
            .unwrap();
    assert_eq!(state["step"].as_u64(), Some(steps));
}
