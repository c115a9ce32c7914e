//! `unmask estimate`: curves and block curves from draws and oracle calls, and shards that merge.

use crate::common::{data, fails, json, tmp, unmask};
use serde_json::Value;

#[test]
fn estimate_shards_merge_to_one_run() {
    let dir = tmp("estimate");
    std::fs::create_dir_all(&dir).unwrap();
    let p = |name: &str| dir.join(name).display().to_string();
    let base = [
        "estimate",
        "--dist",
        "markov:n=24,q=3,stay=0.8",
        "--points",
        "5",
        "--seed",
        "4",
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let (code, _, err) = unmask(&args);
        assert_eq!(code, 0, "{err}");
    };
    let (one, a, b, merged) = (p("one.json"), p("a.json"), p("b.json"), p("merged.json"));
    run(&["--samples", "400", "--out", &one]);
    run(&["--samples", "150", "--out", &a]);
    run(&["--samples", "250", "--first", "150", "--out", &b]);
    let (code, _, err) = unmask(&["curve", "merge", &a, &b, "--out", &merged]);
    assert_eq!(code, 0, "{err}");
    let read = |path: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let (x, y) = (read(&one), read(&merged));
    assert_eq!(x["shard"]["samples"], y["shard"]["samples"]);
    for (u, v) in x["points"]
        .as_array()
        .unwrap()
        .iter()
        .zip(y["points"].as_array().unwrap())
    {
        assert_eq!(u[0], v[0]);
        assert!((u[1].as_f64().unwrap() - v[1].as_f64().unwrap()).abs() < 1e-12);
    }
    // The estimate is a curve file, and covers the exact curve.
    let exact = json(&["curve", "--dist", "markov:n=24,q=3,stay=0.8"]);
    for ((pt, se), _) in x["points"]
        .as_array()
        .unwrap()
        .iter()
        .zip(x["stderr"].as_array().unwrap())
        .zip(0..)
    {
        let j = pt[0].as_u64().unwrap() as usize;
        let truth = exact["z"][j - 1].as_f64().unwrap();
        assert!((pt[1].as_f64().unwrap() - truth).abs() <= 4.0 * se.as_f64().unwrap() + 1e-9);
    }
    let plan = json(&["plan", "--curve", &one, "--repair", "--steps", "4"]);
    assert_eq!(plan["steps"], 4);
    fails(
        &["curve", "merge", &one, &data("curve.json")],
        &["curve.json", "shard"],
    );
    let (code, _, _) = unmask(&[
        "estimate",
        "--dist",
        "markov:n=24,q=3,stay=0.8",
        "--points",
        "3",
        "--samples",
        "10",
        "--out",
        &p("other.json"),
    ]);
    assert_eq!(code, 0);
    fails(&["curve", "merge", &one, &p("other.json")], &["grid"]);
}

/// `estimate --block L` with the exact oracle recovers the exact block curves (within 4
/// standard errors at every grid point) and writes a file `plan --blocks` reads.
#[test]
fn estimate_blocks_recovers_exact_block_curves() {
    let file = tmp("estimated-blocks.json").display().to_string();
    let est = json(&[
        "estimate",
        "--dist",
        "markov:n=24,q=3,stay=0.85",
        "--block",
        "8",
        "--samples",
        "1500",
        "--points",
        "7",
        "--seed",
        "4",
        "--out",
        &file,
    ]);
    let exact = json(&[
        "curve",
        "--dist",
        "markov:n=24,q=3,stay=0.85",
        "--block",
        "8",
    ]);
    assert_eq!(est["block"], 8);
    for (b, doc) in est["estimates"].as_array().unwrap().iter().enumerate() {
        let truth = exact["curves"][b].as_array().unwrap();
        for (p, se) in doc["points"]
            .as_array()
            .unwrap()
            .iter()
            .zip(doc["stderr"].as_array().unwrap())
        {
            let j = p[0].as_u64().unwrap() as usize;
            let (z, se) = (p[1].as_f64().unwrap(), se.as_f64().unwrap());
            let want = truth[j - 1].as_f64().unwrap();
            assert!(
                (z - want).abs() <= 4.0 * se + 1e-12,
                "block {b}, Z_{j}: {z} ± {se} vs {want}"
            );
        }
    }
    let plan = json(&["plan", "--blocks", &file, "--steps", "6"]);
    assert_eq!(plan["steps"], 6);
    fails(
        &[
            "estimate",
            "--dist",
            "markov:n=24,q=3,stay=0.85",
            "--block",
            "5",
        ],
        &["--block 5 must divide n = 24"],
    );
}

/// Block estimates written in shards (`estimate --block L --first F --samples S`) merge block by
/// block into what one run over all the draws writes; the merged file is a block-curve file.
#[test]
fn block_estimate_shards_merge() {
    let p = |name: &str| tmp(name).display().to_string();
    let base = [
        "estimate",
        "--dist",
        "markov:n=16,q=3,stay=0.8",
        "--block",
        "8",
        "--points",
        "4",
        "--seed",
        "9",
    ];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let (code, _, err) = unmask(&args);
        assert_eq!(code, 0, "{err}");
    };
    let (one, a, b, merged) = (
        p("b_one.json"),
        p("b_a.json"),
        p("b_b.json"),
        p("b_merged.json"),
    );
    run(&["--samples", "300", "--out", &one]);
    run(&["--samples", "120", "--out", &a]);
    run(&["--samples", "180", "--first", "120", "--out", &b]);
    let (code, text, err) = unmask(&["curve", "merge", &a, &b, "--out", &merged]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("merged block estimates"), "{text}");
    let read = |path: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let (x, y) = (read(&one), read(&merged));
    assert_eq!(x["block"], y["block"]);
    for (ex, ey) in x["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .zip(y["estimates"].as_array().unwrap())
    {
        assert_eq!(ex["shard"]["samples"], ey["shard"]["samples"]);
        for (u, v) in ex["points"]
            .as_array()
            .unwrap()
            .iter()
            .zip(ey["points"].as_array().unwrap())
        {
            assert_eq!(u[0], v[0]);
            assert!((u[1].as_f64().unwrap() - v[1].as_f64().unwrap()).abs() < 1e-12);
        }
    }
    for (cx, cy) in x["curves"]
        .as_array()
        .unwrap()
        .iter()
        .zip(y["curves"].as_array().unwrap())
    {
        for (u, v) in cx.as_array().unwrap().iter().zip(cy.as_array().unwrap()) {
            assert!((u.as_f64().unwrap() - v.as_f64().unwrap()).abs() < 1e-12);
        }
    }
    // The merge is a block-curve file that plan reads.
    let plan = json(&["plan", "--blocks", &merged, "--steps", "4"]);
    assert_eq!(plan["steps"], 4);
    // A plain estimate does not merge into block estimates.
    let plain = p("b_plain.json");
    let (code, _, err) = unmask(&[
        "estimate",
        "--dist",
        "markov:n=16,q=3,stay=0.8",
        "--samples",
        "50",
        "--out",
        &plain,
    ]);
    assert_eq!(code, 0, "{err}");
    fails(&["curve", "merge", &a, &plain], &["plain estimate file"]);
}
