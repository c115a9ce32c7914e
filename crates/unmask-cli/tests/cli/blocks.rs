//! Block-wise (semi-autoregressive) decoding: eval, plan, compare and curves with --blocks/--block.

use crate::common::{fails, json, tmp, unmask};

/// `--blocks` on eval and plan: per-block and total expected KL, the optimal allocation, LLaDA's
/// equal split as a preset, and the errors of a schedule that crosses a block boundary.
#[test]
fn blockwise_eval_and_plan() {
    let path = tmp("blocks.json");
    let l2 = std::f64::consts::LN_2;
    std::fs::write(
        &path,
        format!(
            r#"{{"unit": "nats", "block": 4, "curves": [[0, 0, 0, {l2}], [0, 0, 0, 0], [0, 1, 1, 1]]}}"#
        ),
    )
    .unwrap();
    let p = path.display().to_string();
    // LLaDA's equal split: 2 steps per block of (2, 2).
    let doc = json(&[
        "eval",
        "--blocks",
        &p,
        "--schedule",
        "llada:steps=6,block=4",
    ]);
    assert_eq!(doc["schedule"], serde_json::json!([2, 2, 2, 2, 2, 2]));
    let per: Vec<f64> = doc["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["expected_kl"].as_f64().unwrap())
        .collect();
    assert!((per[0] - l2).abs() < 1e-12 && per[1] == 0.0 && (per[2] - 1.0).abs() < 1e-12);
    assert!((doc["expected_kl"].as_f64().unwrap() - (l2 + 1.0)).abs() < 1e-12);
    // The optimal allocation of 5 steps is exact: (3,1) for parity, (4) for the product, (1,3).
    let plan = json(&["plan", "--blocks", &p, "--steps", "5"]);
    assert_eq!(plan["schedule"], serde_json::json!([3, 1, 4, 1, 3]));
    assert_eq!(plan["expected_kl"], 0.0);
    assert_eq!(plan["target"]["steps"], 5);
    let (code, text, _) = unmask(&["plan", "--blocks", &p, "--steps", "5", "--format", "llada"]);
    assert_eq!(code, 0);
    assert!(text.contains("[3, 1, 4, 1, 3]") && text.contains("steps per block: [2, 1, 2]"));
    // ε form: the fewest steps with zero error.
    let eps = json(&["plan", "--blocks", &p, "--epsilon", "0"]);
    assert_eq!(eps["steps"], 5);
    fails(
        &["eval", "--blocks", &p, "--schedule", "3,2,3,4"],
        &["crosses the end of block 1"],
    );
    fails(
        &["curve", "--blocks", &p],
        &["eval, plan, compare and frontier"],
    );
    fails(&["plan", "--blocks", &p, "--steps", "2"], &["out of range"]);
    let bad = tmp("blocks_bad.json");
    std::fs::write(&bad, r#"{"unit": "nats", "block": 3, "curves": [[0, 1]]}"#).unwrap();
    fails(
        &[
            "plan",
            "--blocks",
            &bad.display().to_string(),
            "--steps",
            "2",
        ],
        &["curves[0]", "expected 3 numbers"],
    );
}

/// `curve --dist SPEC --block L` writes closed-form block curves that `plan --blocks` reads.
#[test]
fn block_curves_from_families() {
    let doc = json(&["curve", "--dist", "parity:n=8", "--block", "4"]);
    assert_eq!(doc["block"], 4);
    assert_eq!(doc["curves"][0], serde_json::json!([0.0, 0.0, 0.0, 0.0]));
    assert_eq!(doc["curves"][1][3], std::f64::consts::LN_2);
    let path = tmp("rs_blocks.json");
    let p = path.display().to_string();
    let (code, _, err) = unmask(&[
        "curve",
        "--dist",
        "rs:n=64,k=40,q=67",
        "--block",
        "16",
        "--out",
        &p,
    ]);
    assert_eq!(code, 0, "{err}");
    // Block 3 holds the code's last 8 free symbols: two steps of 8 are exact there.
    let plan = json(&["plan", "--blocks", &p, "--steps", "8"]);
    assert_eq!(plan["expected_kl"], 0.0);
    assert_eq!(plan["blocks"][2]["schedule"], serde_json::json!([8, 8]));
    // An HMM has no closed form; a small one is enumerated, a large one refused with advice.
    let hmm = json(&["curve", "--dist", "hmm:n=8,states=2,q=2", "--block", "4"]);
    assert_eq!(hmm["curves"].as_array().unwrap().len(), 2);
    fails(
        &["curve", "--dist", "hmm:n=64,states=2,q=2", "--block", "8"],
        &[
            "hmm is neither",
            "unmask estimate --dist hmm:n=64,states=2,q=2 --block 8",
        ],
    );
    fails(
        &["curve", "--dist", "parity:n=10", "--block", "4"],
        &["must divide n = 10"],
    );
    fails(&["curve", "--curve", &p, "--block", "4"], &["--dist"]);
}

/// The practitioner's question end to end: exact Markov block curves, LLaDA's equal split
/// against the optimal allocation, and the steps the allocation saves at equal error.
#[test]
fn compare_blocks_reports_steps_saved() {
    let file = tmp("markov-blocks.json").display().to_string();
    let (code, _, stderr) = unmask(&[
        "curve",
        "--dist",
        "markov:n=64,q=4,stay=0.9",
        "--block",
        "16",
        "--out",
        &file,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let doc = json(&["compare", "--blocks", &file, "--steps", "16"]);
    let rows = doc["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["llada", "cosine", "optimal"]);
    let kl = |i: usize| rows[i]["expected_kl"].as_f64().unwrap();
    assert!(kl(2) <= kl(0) + 1e-12 && kl(2) <= kl(1) + 1e-12);
    // LLaDA's row is exactly what eval --blocks says of llada:steps=16,block=16.
    let eval = json(&[
        "eval",
        "--blocks",
        &file,
        "--schedule",
        "llada:steps=16,block=16",
    ]);
    assert!((eval["expected_kl"].as_f64().unwrap() - kl(0)).abs() < 1e-12);
    let matched = rows[0]["steps_to_match"].as_u64().unwrap();
    assert!(matched <= 16);
    assert_eq!(doc["steps_saved_vs_llada"].as_u64().unwrap(), 16 - matched);
    // The optimal allocation at the matched step count is indeed within LLaDA's error.
    let plan = json(&["plan", "--blocks", &file, "--steps", &matched.to_string()]);
    assert!(plan["expected_kl"].as_f64().unwrap() <= kl(0) + 1e-9);
    fails(
        &["compare", "--blocks", &file, "--steps", "10"],
        &["do not split equally over 4 blocks"],
    );
}
