//! `unmask frontier`: the optimal and preset frontiers, headline, presets, step ranges, plots.

use crate::common::{fails, json, tmp, unmask};

/// `frontier` opens with the speed-up at its budget, takes step ranges and a preset list, and
/// with `--blocks` draws the block-wise decoders; its plots mark the budget, honest zeros,
/// measured points and block boundaries in a legend strip of their own.
#[test]
fn frontier_headline_presets_ranges_and_plots() {
    let (code, text, err) = unmask(&[
        "frontier",
        "--dist",
        "logfactor:n=1024,eps=0.1",
        "--steps",
        "1..64:16",
        "--presets",
        "llada,Cosine",
    ]);
    assert_eq!(code, 0, "{err}");
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("optimal reaches LLaDA's (uniform) error at 64 steps in "),
        "{first}"
    );
    assert!(
        text.contains("steps     optimal    uniform     cosine"),
        "{text}"
    );
    assert!(text.contains("(expected KL = the KL over the whole sequence"));
    let doc = json(&[
        "frontier",
        "--dist",
        "logfactor:n=1024,eps=0.1",
        "--steps",
        "1..64:16",
        "--presets",
        "llada,cosine",
        "--budget",
        "32",
    ]);
    let steps: Vec<u64> = doc["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["steps"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, vec![1, 17, 33, 49, 64]);
    assert_eq!(doc["speedup"]["steps"], 32);
    // The headline equals plan --epsilon at LLaDA's error, from the compare row.
    let cmp = json(&[
        "compare",
        "--dist",
        "logfactor:n=1024,eps=0.1",
        "--steps",
        "32",
    ]);
    assert_eq!(doc["speedup"], cmp["speedup"]);
    let uniform = cmp["rows"][0]["expected_kl"].as_f64().unwrap().to_string();
    let plan = json(&[
        "plan",
        "--dist",
        "logfactor:n=1024,eps=0.1",
        "--epsilon",
        &uniform,
    ]);
    assert_eq!(doc["speedup"]["optimal_steps"], plan["steps"]);
    fails(
        &["frontier", "--dist", "parity:n=8", "--presets", "cosin"],
        &["did you mean \"cosine\""],
    );
    fails(
        &["frontier", "--dist", "parity:n=8", "--steps", "5..2"],
        &["ends before it starts"],
    );
    // compare --presets keeps the optimum as the reference row.
    let cmp = json(&[
        "compare",
        "--dist",
        "parity:n=64",
        "--steps",
        "8",
        "--presets",
        "maskgit",
    ]);
    let names: Vec<&str> = cmp["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["cosine", "optimal"]);

    // Plots: budget line, zeros as markers with a "0" label, the legend in its own strip.
    let svg = tmp("frontier_parity.svg");
    let (code, _, err) = unmask(&[
        "compare",
        "--dist",
        "parity:n=64",
        "--steps",
        "8",
        "--plot",
        &svg.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let drawn = std::fs::read_to_string(&svg).unwrap();
    for needle in ["budget K = 8", "exactly 0", ">0<", "Z (information curve)"] {
        assert!(
            drawn
                .replace(['\n', ' '], "")
                .contains(&needle.replace(' ', "")),
            "{needle}"
        );
    }
    // Block-wise: the table and the boundaries every L tokens.
    let blocks = tmp("frontier_blocks.json");
    let b = blocks.display().to_string();
    let (code, _, err) = unmask(&[
        "curve",
        "--dist",
        "markov:n=256,q=8,stay=0.9",
        "--block",
        "32",
        "--out",
        &b,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, text, err) = unmask(&["frontier", "--blocks", &b]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.starts_with("The optimal allocation matches LLaDA's equal split at 64 steps"),
        "{text}"
    );
    let doc = json(&["frontier", "--blocks", &b, "--steps", "8,12,64"]);
    let llada = &doc["series"][1];
    assert_eq!(llada["name"], "llada");
    assert!(
        llada["points"][1]["expected_kl"].is_null(),
        "12 steps do not split over 8 blocks"
    );
    let optimal = doc["series"][0]["points"][2]["expected_kl"]
        .as_f64()
        .unwrap();
    let llada64 = llada["points"][2]["expected_kl"].as_f64().unwrap();
    assert!(optimal < llada64);
    let plan = json(&["plan", "--blocks", &b, "--steps", "64"]);
    assert!((plan["expected_kl"].as_f64().unwrap() - optimal).abs() < 1e-12 * optimal);
    let svg = tmp("frontier_blocks.svg");
    let (code, _, err) = unmask(&[
        "frontier",
        "--blocks",
        &b,
        "--plot",
        &svg.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::read_to_string(&svg)
            .unwrap()
            .contains("block boundaries (every 32 tokens)")
    );
    // plan --blocks draws its allocation the same way.
    let svg = tmp("plan_blocks.svg");
    let (code, _, err) = unmask(&[
        "plan",
        "--blocks",
        &b,
        "--steps",
        "64",
        "--plot",
        &svg.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(drawn.contains("block boundaries (every 32 tokens)"));
    assert!(drawn.contains("budget K = 64"));
}
