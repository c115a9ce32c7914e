//! End-to-end tests of the `unmask` binary: outputs, JSON fields, exit codes, error messages.

use serde_json::Value;

mod common;
use common::{data, fails, json, tmp, unmask};
use std::process::Command;

fn close(a: &Value, b: f64) -> bool {
    (a.as_f64().expect("a number") - b).abs() < 1e-9
}

#[test]
fn eval_reed_solomon_vectors_in_bits() {
    for (schedule, expected) in [
        ("2,2", 0.0),
        ("1,3", 4.643856189774724),
        ("3,1", 2.321928094887362),
        ("4", 4.643856189774724),
    ] {
        let doc = json(&[
            "eval",
            "--dist",
            "mds:n=4,k=2,q=5",
            "--schedule",
            schedule,
            "--unit",
            "bits",
        ]);
        assert!(close(&doc["expected_kl"], expected), "{schedule}: {doc}");
        assert_eq!(doc["unit"], "bits");
        assert_eq!(doc["n"], 4);
        for field in ["steps", "schedule", "per_step", "wasted_steps", "bounds"] {
            assert!(doc.get(field).is_some(), "missing {field}");
        }
    }
}

#[test]
fn eval_reports_wasted_steps_and_guarantees() {
    let doc = json(&[
        "eval",
        "--dist",
        "parity:n=64",
        "--schedule",
        "dream:steps=64",
    ]);
    assert_eq!(doc["wasted_steps"], 1);
    assert_eq!(doc["schedule"][0], 0);
    assert!(close(&doc["expected_kl"], std::f64::consts::LN_2));
    let doc = json(&[
        "eval",
        "--dist",
        "parity:n=256",
        "--schedule",
        "tc:epsilon=1,tc=1",
        "--unit",
        "bits",
    ]);
    assert_eq!(doc["steps"], 9);
    let g = &doc["bounds"]["guarantee"];
    assert_eq!(g["applies"], true);
    assert!(close(&g["expected_kl_bound"], 1.0));
    assert!(doc["expected_kl"].as_f64().unwrap() <= 1.0);
    let doc = json(&[
        "eval",
        "--dist",
        "parity:n=256",
        "--schedule",
        "tc:steps=12",
    ]);
    assert!(doc["steps"].as_u64().unwrap() <= 12);
    assert!(doc["bounds"]["guarantee"]["expected_kl_bound"].is_number());
}

#[test]
fn plan_steps_and_epsilon() {
    let doc = json(&["plan", "--curve", &data("curve.json"), "--steps", "3"]);
    assert_eq!(doc["steps"], 3);
    assert_eq!(
        doc["schedule"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        8
    );
    for method in ["divide-conquer", "brute-force"] {
        let other = json(&[
            "plan",
            "--curve",
            &data("curve.json"),
            "--steps",
            "3",
            "--method",
            method,
        ]);
        assert!(close(
            &other["expected_kl"],
            doc["expected_kl"].as_f64().unwrap()
        ));
    }
    let doc = json(&["plan", "--dist", "repeat:n=100,q=4", "--epsilon", "0"]);
    assert_eq!(doc["steps"], 2);
    assert_eq!(doc["schedule"], serde_json::json!([1, 99]));
    let (code, stdout, _) = unmask(&[
        "plan",
        "--dist",
        "parity:n=10",
        "--steps",
        "4",
        "--format",
        "llada",
    ]);
    assert_eq!(code, 0);
    let list = stdout.lines().last().unwrap();
    assert!(list.starts_with('[') && list.ends_with(']'), "{stdout}");
}

#[test]
fn compare_and_frontier_fields() {
    let doc = json(&["compare", "--dist", "mds:n=64,k=16,q=67", "--steps", "4"]);
    let rows = doc["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "uniform",
            "dream",
            "cosine",
            "pow:p=0.5",
            "pow:p=2",
            "tc",
            "dtc",
            "sqrt",
            "optimal"
        ]
    );
    for r in rows {
        for field in [
            "schedule",
            "steps",
            "expected_kl",
            "steps_to_match_optimal",
            "ratio_to_optimal",
        ] {
            assert!(r.get(field).is_some(), "missing {field}");
        }
    }
    assert_eq!(rows[8]["steps_to_match_optimal"], 2);
    let doc = json(&[
        "frontier",
        "--dist",
        "logfactor:n=100,eps=0.1",
        "--steps",
        "1,5,100",
    ]);
    let points = doc["points"].as_array().unwrap();
    assert_eq!(points.len(), 3);
    assert_eq!(points[2]["expected_kl"], 0.0);
    assert_eq!(doc["presets"].as_array().unwrap().len(), 8);
}

#[test]
fn curve_files_round_trip() {
    let a = json(&["curve", "--curve", &data("curve.json")]);
    let b = json(&["curve", "--curve", &data("curve.csv")]);
    assert_eq!(a["z"], b["z"]);
    assert!(close(&a["tc"], 2.8));
    for field in ["n", "unit", "z", "tc", "dtc", "sum_mi"] {
        assert!(a.get(field).is_some(), "missing {field}");
    }
    let sparse = json(&["curve", "--curve", &data("sparse.json")]);
    assert_eq!(
        sparse,
        json(&["curve", "--curve", &data("sparse.csv")])
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("source".into(), sparse["source"].clone());
                Value::Object(o)
            })
            .unwrap()
    );
    let h = json(&["curve", "--curve", &data("entropy.json"), "--unit", "bits"]);
    assert_eq!(h["z"], serde_json::json!([0.0, 0.0, 0.5, 0.5]));
    for (name, format) in [
        ("out.json", None),
        ("out.csv", None),
        ("out.txt", Some("csv")),
    ] {
        let path = tmp(name);
        let path_s = path.display().to_string();
        let mut args = vec![
            "curve",
            "--dist",
            "logfactor:n=50,eps=0.2",
            "--out",
            &path_s,
            "--unit",
            "bits",
        ];
        if let Some(f) = format {
            args.extend(["--format", f]);
        }
        let (code, _, err) = unmask(&args);
        assert_eq!(code, 0, "{err}");
        let back = json(&["curve", "--curve", &path_s, "--unit", "bits"]);
        let orig = json(&[
            "curve",
            "--dist",
            "logfactor:n=50,eps=0.2",
            "--unit",
            "bits",
        ]);
        for (x, y) in back["z"]
            .as_array()
            .unwrap()
            .iter()
            .zip(orig["z"].as_array().unwrap())
        {
            assert!((x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-15);
        }
    }
}

#[test]
fn repair_reports_its_correction() {
    fails(
        &["curve", "--curve", &data("noisy.json")],
        &["noisy.json", "Z_3", "non-decreasing"],
    );
    let doc = json(&["curve", "--curve", &data("noisy.json"), "--repair"]);
    assert!(close(&doc["repair"]["max_correction"], 0.05));
    let z: Vec<f64> = doc["z"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(z.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn bad_input_is_rejected_cleanly() {
    fails(
        &["curve", "--curve", &data("decreasing.json")],
        &["decreasing.json", "Z_3 = 0.1", "Z_2 = 0.2"],
    );
    fails(
        &["curve", "--curve", &data("negative.json")],
        &["Z_2 = -0.2", "negative"],
    );
    fails(
        &["curve", "--curve", &data("first_nonzero.json")],
        &["Z_1 = 0.5"],
    );
    fails(
        &["curve", "--curve", &data("malformed.json")],
        &["malformed.json", "malformed JSON", "line"],
    );
    fails(
        &["curve", "--curve", &data("nan.csv")],
        &["nan.csv", "Z_3 = NaN"],
    );
    fails(
        &["curve", "--curve", &data("ragged.csv")],
        &["line 4", "columns"],
    );
    fails(
        &["curve", "--curve", &data("text.csv")],
        &["line 3", "\"abc\""],
    );
    fails(
        &["curve", "--curve", &data("missing.json")],
        &["missing.json"],
    );
    fails(
        &["plan", "--dist", "parity:n=8", "--steps", "0"],
        &["--steps"],
    );
    fails(
        &["plan", "--dist", "parity:n=8", "--steps", "9"],
        &["steps = 9", "n = 8"],
    );
    fails(
        &["plan", "--dist", "parity:n=8", "--epsilon", "-1"],
        &["--epsilon"],
    );
    fails(&["plan", "--dist", "parity:n=8"], &["--steps"]);
    fails(
        &[
            "eval",
            "--dist",
            "parity:n=8",
            "--schedule",
            "linear:steps=3",
        ],
        &["unknown name", "llada"],
    );
    fails(
        &[
            "eval",
            "--dist",
            "parity:n=8",
            "--schedule",
            "llada:stpes=3",
        ],
        &["unknown key", "steps"],
    );
    fails(
        &["eval", "--dist", "parity:n=8", "--schedule", "3,5,8"],
        &["sum to 16", "n = 8"],
    );
    fails(
        &[
            "eval",
            "--dist",
            "parity:n=8",
            "--schedule",
            "llada:steps=3,block=3",
        ],
        &["block = 3"],
    );
    fails(
        &["eval", "--dist", "gauss:n=8", "--schedule", "4,4"],
        &["--dist", "unknown name", "parity"],
    );
    fails(
        &["eval", "--dist", "mds:n=8,k=9,q=11", "--schedule", "4,4"],
        &["k=\"9\""],
    );
    fails(
        &["compare", "--dist", "parity:n=8", "--steps", "20"],
        &["steps = 20"],
    );
    fails(
        &["frontier", "--dist", "parity:n=8", "--steps", "1,20"],
        &["20", "n = 8"],
    );
    fails(
        &[
            "curve",
            "--dist",
            "parity:n=8",
            "--curve",
            &data("curve.json"),
        ],
        &["cannot be used with"],
    );
    fails(&["curve"], &["--curve"]);
}

#[test]
fn out_is_atomic_and_not_partial_on_error() {
    let path = tmp("never.json");
    let _ = std::fs::remove_file(&path);
    let p = path.display().to_string();
    fails(
        &["curve", "--curve", &data("decreasing.json"), "--out", &p],
        &["Z_3"],
    );
    assert!(!path.exists(), "nothing is written on bad input");
    let dir = tmp("no-such-dir").join("x.json");
    fails(
        &[
            "curve",
            "--dist",
            "parity:n=4",
            "--out",
            &dir.display().to_string(),
        ],
        &["writing"],
    );
}

#[test]
fn plots_and_demo() {
    let svg = tmp("plan.svg");
    let s = svg.display().to_string();
    let (code, _, err) = unmask(&[
        "plan",
        "--dist",
        "logfactor:n=300,eps=0.1",
        "--steps",
        "12",
        "--plot",
        &s,
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.contains("</svg>"));
    let dir = tmp("demo");
    let d = dir.display().to_string();
    let (code, stdout, err) = unmask(&["demo", "--out", &d]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("== mds =="));
    for family in ["parity", "repeat", "mds", "logfactor", "product"] {
        assert!(dir.join(format!("{family}.svg")).exists(), "{family}");
    }
    let doc = json(&["demo", "--steps", "8"]);
    assert_eq!(doc["families"].as_array().unwrap().len(), 5);
}

#[test]
fn text_output_reads_well() {
    let (code, stdout, _) = unmask(&[
        "eval",
        "--dist",
        "mds:n=4,k=2,q=5",
        "--schedule",
        "1,3",
        "--unit",
        "bits",
    ]);
    assert_eq!(code, 0);
    assert!(stdout.contains("expected KL: 4.64386 bits"), "{stdout}");
    let (code, stdout, _) = unmask(&["curve", "--dist", "parity:n=4", "--unit", "bits"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("TC = 1   DTC = 3"), "{stdout}");
}

#[test]
fn sample_reports_nfe_and_counts() {
    let doc = json(&[
        "sample",
        "--dist",
        "parity:n=8",
        "--schedule",
        "7,1",
        "--samples",
        "5",
        "--seed",
        "3",
    ]);
    let samples = doc["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 5);
    for s in samples {
        assert_eq!(s["nfe"], 2);
        assert_eq!(s["counts"], serde_json::json!([7, 1]));
        let ones: u64 = s["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap())
            .sum();
        assert_eq!(ones % 2, 0, "(n − 1, 1) samples parity exactly");
    }
    // Same seed, same output.
    assert_eq!(
        doc,
        json(&[
            "sample",
            "--dist",
            "parity:n=8",
            "--schedule",
            "7,1",
            "--samples",
            "5",
            "--seed",
            "3"
        ])
    );
    let doc = json(&[
        "sample",
        "--dist",
        "markov:n=16,q=3,stay=0.9",
        "--rule",
        "eb:gamma=0.5",
        "--samples",
        "3",
    ]);
    for s in doc["samples"].as_array().unwrap() {
        let counts: u64 = s["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .sum();
        assert_eq!(counts, 16);
    }
    let doc = json(&[
        "sample",
        "--dist",
        &format!("table:{}", data("table.json")),
        "--rule",
        "threshold:tau=0.9",
        "--samples",
        "4",
    ]);
    assert_eq!(doc["n"], 2);
    let doc = json(&[
        "sample",
        "--dist",
        &format!("markov:n=6,matrix={}", data("matrix.json")),
        "--schedule",
        "optimal:steps=3",
        "--rule",
        "confidence",
    ]);
    assert_eq!(doc["samples"][0]["nfe"], 3);
}

#[test]
fn mdlm_random_counts() {
    let doc = json(&[
        "eval",
        "--dist",
        "parity:n=32",
        "--schedule",
        "mdlm:steps=16",
    ]);
    assert_eq!(doc["stochastic"], true);
    assert_eq!(doc["steps"], 17);
    let counts: f64 = doc["expected_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_f64().unwrap())
        .sum();
    assert!((counts - 32.0).abs() < 1e-9);
    let kl = doc["expected_kl"].as_f64().unwrap();
    assert!(kl > 0.0 && kl < std::f64::consts::LN_2);
    // MDLM's cached loop: more than the busy passes (the first call and the noise removal are
    // always made), fewer than the 17 passes of the uncached loop.
    let (nfe, busy) = (
        doc["expected_nfe"].as_f64().unwrap(),
        doc["expected_busy_steps"].as_f64().unwrap(),
    );
    assert!(nfe > busy && nfe < 17.0, "{nfe} vs {busy}");
    fails(
        &[
            "eval",
            "--dist",
            "parity:n=32",
            "--schedule",
            "mdlm:steps=0",
        ],
        &["steps = 0"],
    );
    fails(
        &[
            "eval",
            "--dist",
            "parity:n=32",
            "--schedule",
            "mdlm:steps=4,noise=linear",
        ],
        &["noise"],
    );
    fails(
        &[
            "sample",
            "--dist",
            "parity:n=32",
            "--schedule",
            "mdlm:steps=4",
        ],
        &["unmask eval"],
    );
}

#[test]
fn fixed_order_rule() {
    // Left to right, parity's last symbol is computed from the others: always a codeword.
    let doc = json(&[
        "sample",
        "--dist",
        "parity:n=6",
        "--schedule",
        "5,1",
        "--rule",
        "fixed",
        "--samples",
        "20",
    ]);
    for s in doc["samples"].as_array().unwrap() {
        let ones: u64 = s["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap())
            .sum();
        assert_eq!(ones % 2, 0);
    }
    let doc = json(&[
        "verify",
        "--dist",
        "parity:n=4",
        "--schedule",
        "2,2",
        "--rule",
        "fixed:order=3.2.1.0",
        "--samples",
        "200",
    ]);
    assert!(close(&doc["sampler_kl"], std::f64::consts::LN_2));
    fails(
        &[
            "sample",
            "--dist",
            "parity:n=4",
            "--schedule",
            "2,2",
            "--rule",
            "fixed:order=0.1.1.2",
        ],
        &["permutation"],
    );
    fails(
        &[
            "sample",
            "--dist",
            "parity:n=4",
            "--schedule",
            "2,2",
            "--rule",
            "fixed:order=a.b",
        ],
        &["order"],
    );
}

#[test]
fn verify_fields_and_agreement() {
    let doc = json(&[
        "verify",
        "--dist",
        "markov:n=6,q=2,stay=0.8",
        "--schedule",
        "3,3",
        "--samples",
        "4000",
        "--seed",
        "2",
    ]);
    for field in [
        "exact_expected_kl",
        "mc_expected_kl",
        "ci95",
        "samples",
        "nfe",
        "sampler_kl",
        "gen_nll",
        "entropy",
        "valid_fraction",
    ] {
        assert!(doc.get(field).is_some(), "missing {field}");
    }
    let exact = doc["exact_expected_kl"].as_f64().unwrap();
    let mc = doc["mc_expected_kl"].as_f64().unwrap();
    let se = doc["stderr"].as_f64().unwrap();
    assert!((mc - exact).abs() <= 4.0 * se, "{mc} vs {exact} ± {se}");
    let sampler = doc["sampler_kl"].as_f64().unwrap();
    assert!(sampler <= exact + 1e-12);
    let doc = json(&[
        "verify",
        "--dist",
        "rs:n=6,k=2,q=7",
        "--schedule",
        "uniform:steps=2",
        "--samples",
        "500",
    ]);
    assert!(doc["valid_fraction"].as_f64().unwrap() < 1.0);
    let doc = json(&[
        "verify",
        "--dist",
        "rs:n=6,k=2,q=7",
        "--schedule",
        "2,4",
        "--samples",
        "500",
    ]);
    assert_eq!(doc["valid_fraction"], 1.0);
    assert!(doc["exact_expected_kl"].as_f64().unwrap().abs() < 1e-12);
}

#[test]
fn families_without_exact_curves_are_estimated() {
    let (code, stdout, err) = unmask(&["plan", "--dist", "hmm:n=20,states=2,q=3", "--steps", "4"]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("estimated: 2000 draws"), "{stdout}");
    let doc = json(&["curve", "--dist", "mixture:n=12,q=3,components=3"]);
    let z: Vec<f64> = doc["z"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(z.len(), 12);
    assert!(z.windows(2).all(|w| w[0] <= w[1]));
}

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

#[test]
fn bad_distributions_are_rejected_cleanly() {
    let table = |name: &str| format!("table:{}", data(name));
    fails(
        &[
            "sample",
            "--dist",
            &table("table_sum.json"),
            "--rule",
            "eb:gamma=1",
        ],
        &["table_sum.json", "sum to 1.2"],
    );
    fails(
        &[
            "sample",
            "--dist",
            &table("table_short.json"),
            "--rule",
            "eb:gamma=1",
        ],
        &["q^n = 4", "found 2"],
    );
    fails(
        &[
            "sample",
            "--dist",
            &table("table_negative.json"),
            "--rule",
            "eb:gamma=1",
        ],
        &["p[1] = -0.5"],
    );
    fails(
        &[
            "sample",
            "--dist",
            &table("malformed.json"),
            "--rule",
            "eb:gamma=1",
        ],
        &["malformed JSON"],
    );
    fails(
        &[
            "sample",
            "--dist",
            &table("missing.json"),
            "--rule",
            "eb:gamma=1",
        ],
        &["missing.json"],
    );
    fails(
        &[
            "sample",
            "--dist",
            &format!("markov:n=5,matrix={}", data("matrix_bad.json")),
            "--schedule",
            "5",
        ],
        &["row 0", "not a probability"],
    );
    fails(
        &["sample", "--dist", "code:n=8,k=2,q=4", "--schedule", "8"],
        &["q=\"4\"", "prime"],
    );
    fails(
        &["sample", "--dist", "code:n=8,k=9,q=3", "--schedule", "8"],
        &["k=\"9\""],
    );
    fails(
        &["sample", "--dist", "rs:n=8,k=2,q=7", "--schedule", "8"],
        &["prime q > n"],
    );
    fails(
        &["sample", "--dist", "gauss:n=8", "--schedule", "8"],
        &["unknown name", "markov"],
    );
    fails(
        &[
            "sample",
            "--dist",
            "markov:n=8,q=2,stay=0.5,colour=red",
            "--schedule",
            "8",
        ],
        &["unknown key", "stay"],
    );
    fails(
        &["sample", "--dist", "mds:n=8,k=2,q=11", "--schedule", "8"],
        &["rs:"],
    );
    fails(&["sample", "--dist", "parity:n=8"], &["--schedule"]);
    fails(
        &[
            "sample",
            "--dist",
            "parity:n=8",
            "--schedule",
            "4,4",
            "--rule",
            "eb:gamma=1",
        ],
        &["drop --schedule"],
    );
    fails(
        &[
            "sample",
            "--dist",
            "parity:n=8",
            "--rule",
            "threshold:tau=2",
        ],
        &["tau = 2"],
    );
    fails(
        &["sample", "--dist", "parity:n=8", "--schedule", "4,5"],
        &["sum to 9"],
    );
}

/// Every subcommand's JSON into a reader that closes early (`unmask … --json | head -c 10`):
/// exit 0, nothing on stderr. Closing before the first write makes the failure certain; the
/// large outputs are also read for 10 bytes first, as `head -c 10` does.
#[test]
fn closed_pipe_is_success() {
    use std::io::Read;
    use std::process::Stdio;
    let cases: &[&[&str]] = &[
        &["curve", "--dist", "parity:n=200000"],
        &[
            "eval",
            "--dist",
            "repeat:n=20000,q=4",
            "--schedule",
            "constant:size=1",
        ],
        &[
            "eval",
            "--dist",
            "parity:n=64",
            "--schedule",
            "mdlm:steps=8",
        ],
        &["plan", "--dist", "repeat:n=20000,q=4", "--steps", "10000"],
        &["compare", "--dist", "parity:n=64", "--steps", "8"],
        &["frontier", "--dist", "parity:n=64"],
        &["demo", "--steps", "4"],
        &[
            "sample",
            "--dist",
            "parity:n=64",
            "--schedule",
            "uniform:steps=8",
            "--samples",
            "2000",
        ],
        &[
            "verify",
            "--dist",
            "parity:n=8",
            "--schedule",
            "uniform:steps=4",
            "--samples",
            "200",
        ],
        &[
            "estimate",
            "--dist",
            "markov:n=16,q=2,stay=0.8",
            "--samples",
            "50",
            "--points",
            "4",
        ],
    ];
    for args in cases {
        for read_first in [false, true] {
            let mut child = Command::new(env!("CARGO_BIN_EXE_unmask"))
                .args(*args)
                .arg("--json")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the binary runs");
            let mut stdout = child.stdout.take().unwrap();
            if read_first {
                let mut head = [0u8; 10];
                stdout.read_exact(&mut head).unwrap();
            }
            drop(stdout);
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?} (read first: {read_first}): {stderr}"
            );
            assert!(stderr.is_empty(), "{args:?}: {stderr}");
        }
    }
}

/// The fuzzer's findings (issue "Robustness"), each refused at once with exit 2 and a message
/// naming the parameter, the value and the budget — or computed within it.
#[test]
fn resource_policy_refuses_up_front() {
    let big = tmp("huge-values.json");
    std::fs::write(&big, r#"{"unit":"nats","z":[0,0,1e308,1e308,1e308]}"#).unwrap();
    let sparse = tmp("huge-n.csv");
    std::fs::write(&sparse, "# unit = nats\n300000000,1\n").unwrap();
    let (big, sparse) = (big.display().to_string(), sparse.display().to_string());
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec![
                "eval",
                "--dist",
                "repeat:n=3,q=2",
                "--schedule",
                "18446744073709551615,4",
            ],
            vec!["overflows the sum", "count 2"],
        ),
        (
            vec![
                "sample",
                "--dist",
                "repeat:n=3,q=2",
                "--schedule",
                "18446744073709551615,4",
            ],
            vec!["overflows the sum"],
        ),
        (
            vec!["plan", "--curve", &big, "--steps", "3"],
            vec!["Z_3 = 1e308", "too large"],
        ),
        (vec!["plan", "--curve", &big, "--epsilon", "1"], vec!["Z_3"]),
        (
            vec!["compare", "--curve", &big, "--steps", "3"],
            vec!["Z_3"],
        ),
        (vec!["frontier", "--curve", &big], vec!["Z_3"]),
        (
            vec!["eval", "--curve", &big, "--schedule", "optimal:steps=3"],
            vec!["Z_3"],
        ),
        (
            vec![
                "curve",
                "--dist",
                "markov:n=2,q=2305843009213693952,stay=0.5",
            ],
            vec![
                "q = 2305843009213693952",
                "memory",
                "budget of 4.0 GiB",
                "--max-memory",
            ],
        ),
        (
            vec!["curve", "--dist", "markov:n=11,q=2684354573,stay=1"],
            vec!["q = 2684354573", "memory"],
        ),
        (
            vec![
                "curve",
                "--dist",
                "mixture:n=8,q=2305843009213693952,components=2",
            ],
            vec!["q = 2305843009213693952"],
        ),
        (
            vec!["curve", "--dist", "hmm:n=8,states=2,q=2305843009213693952"],
            vec!["q = 2305843009213693952"],
        ),
        (
            vec![
                "sample",
                "--dist",
                "rs:n=1,k=1,q=2147483629",
                "--rule",
                "eb:gamma=1",
            ],
            vec!["q=2147483629", "memory"],
        ),
        (
            vec![
                "sample",
                "--dist",
                "parity:n=100000",
                "--rule",
                "eb:gamma=1",
            ],
            vec!["parity:n=100000", "memory"],
        ),
        (
            vec![
                "sample",
                "--dist",
                "repeat:n=4096,q=1000000",
                "--rule",
                "eb:gamma=1",
            ],
            vec!["q = 1000000", "memory"],
        ),
        (
            vec!["plan", "--curve", &sparse, "--steps", "4"],
            vec!["n = 300000000", "memory"],
        ),
        (
            vec!["curve", "--dist", "logfactor:n=2,eps=1e-17"],
            vec!["eps", "10^7 blocks"],
        ),
        (
            vec!["curve", "--dist", "markov:n=100000,q=2,stay=0.5"],
            vec!["markov:n=100000", "operations", "--max-work"],
        ),
        (
            vec!["curve", "--dist", "hmm:n=2,states=3000,q=2"],
            vec!["states=3000", "operations"],
        ),
        (
            vec!["curve", "--dist", "code:n=100000,k=1,q=2"],
            vec!["code:n=100000", "operations"],
        ),
        (
            vec!["curve", "--dist", "mixture:n=8,q=2,components=2068430"],
            vec!["components=2068430", "operations"],
        ),
        (
            vec!["curve", "--dist", "markov:n=16,q=3000000000,stay=0.9"],
            vec!["q=3000000000", "GiB"],
        ),
        (
            vec![
                "eval",
                "--dist",
                "parity:n=100000",
                "--schedule",
                "mdlm:steps=1000",
            ],
            vec!["mdlm:steps=1000", "operations"],
        ),
        (
            vec!["compare", "--dist", "parity:n=100000000", "--steps", "16"],
            vec!["n = 100000000", "memory"],
        ),
    ];
    for (args, needles) in &cases {
        let start = std::time::Instant::now();
        fails(args, needles);
        assert!(
            start.elapsed().as_secs() < 5,
            "{args:?} took {:?}",
            start.elapsed()
        );
    }
    // The budget is a flag (and an environment variable), not a wall.
    fails(
        &["curve", "--dist", "parity:n=100000", "--max-memory", "1M"],
        &["parity:n=100000", "budget of 976.6 KiB"],
    );
    let doc = json(&["curve", "--dist", "parity:n=100000", "--max-memory", "8M"]);
    assert_eq!(doc["n"], 100000);
    fails(
        &["curve", "--dist", "parity:n=1000", "--max-memory", "lots"],
        &["lots", "size"],
    );
}

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

/// A model's masked losses as a curve file: `losses` (t revealed) and `mask_ratios`, converted
/// by Z_{t+1} = L(0) − L(t) and repaired; Z values that look like losses get a hint.
#[test]
fn loss_profile_files() {
    let losses = tmp("losses.json");
    std::fs::write(
        &losses,
        r#"{"unit": "nats", "n": 256, "losses": [[0, 2.10], [64, 1.62], [128, 1.41], [192, 1.30], [255, 1.26]]}"#,
    )
    .unwrap();
    let ratios = tmp("ratios.json");
    std::fs::write(
        &ratios,
        r#"{"unit": "nats", "n": 256, "mask_ratios": [[1, 2.10], [0.75, 1.62], [0.5, 1.41], [0.25, 1.30]]}"#,
    )
    .unwrap();
    let a = json(&[
        "plan",
        "--curve",
        &losses.display().to_string(),
        "--steps",
        "32",
    ]);
    assert_eq!(a["steps"], 32);
    let c = json(&["curve", "--curve", &losses.display().to_string()]);
    let z: Vec<f64> = c["z"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        (z[64] - 0.48).abs() < 1e-12 && (z[255] - 0.84).abs() < 1e-12,
        "{z:?}"
    );
    let r = json(&["curve", "--curve", &ratios.display().to_string()]);
    assert!((r["z"][192].as_f64().unwrap() - 0.80).abs() < 1e-12);
    let wrong = tmp("z_are_losses.json");
    std::fs::write(&wrong, r#"{"unit": "nats", "z": [2.1, 1.6, 1.4]}"#).unwrap();
    fails(
        &[
            "plan",
            "--curve",
            &wrong.display().to_string(),
            "--steps",
            "2",
        ],
        &["a model's masked losses", "\"losses\""],
    );
    let bad = tmp("bad_losses.json");
    std::fs::write(&bad, r#"{"unit": "nats", "n": 8, "losses": [[2, 1.0]]}"#).unwrap();
    fails(
        &["curve", "--curve", &bad.display().to_string()],
        &["must include t = 0"],
    );
}

/// Near-miss names and keys get a suggestion; names and keys match without regard to case.
#[test]
fn did_you_mean_and_case() {
    fails(
        &[
            "eval",
            "--dist",
            "parity:n=8",
            "--schedule",
            "cosin:steps=4",
        ],
        &["did you mean \"cosine\"?"],
    );
    fails(
        &["eval", "--dist", "parity:n=8", "--schedule", "llada:step=4"],
        &["did you mean \"steps\"?"],
    );
    fails(
        &["curve", "--dist", "markv:n=4,q=2,stay=0.5"],
        &["did you mean \"markov\"?"],
    );
    fails(
        &["curve", "--dist", "zzzzzz:n=4"],
        &["unknown name \"zzzzzz\"; valid names"],
    );
    let a = json(&[
        "eval",
        "--dist",
        "Parity:N=8",
        "--schedule",
        "LLaDA:Steps=4",
    ]);
    let b = json(&[
        "eval",
        "--dist",
        "parity:n=8",
        "--schedule",
        "llada:steps=4",
    ]);
    assert_eq!(a["expected_kl"], b["expected_kl"]);
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

/// A stay chain's curve comes from its structure (no q × q matrix): q = 50,000 at once.
#[test]
fn large_stay_chains_are_computed_from_their_structure() {
    let doc = json(&["curve", "--dist", "markov:n=16,q=50000,stay=0.9"]);
    assert_eq!(doc["z"].as_array().unwrap().len(), 16);
    let tc = doc["tc"].as_f64().unwrap();
    assert!(tc > 100.0 && tc.is_finite(), "{tc}");
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

/// compare's text report opens with the speed-up: the optimum's fewest steps at uniform's
/// error, which `plan --epsilon` confirms.
#[test]
fn compare_opens_with_the_speed_up() {
    let (code, stdout, _) = unmask(&[
        "compare",
        "--dist",
        "markov:n=64,q=4,stay=0.9",
        "--steps",
        "16",
    ]);
    assert_eq!(code, 0);
    let first = stdout.lines().next().unwrap();
    assert!(
        first.starts_with("optimal reaches LLaDA's (uniform) error at 16 steps in "),
        "{first}"
    );
    let fewest: usize = first
        .split(" in ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let uniform = json(&[
        "eval",
        "--dist",
        "markov:n=64,q=4,stay=0.9",
        "--schedule",
        "uniform:steps=16",
    ]);
    let eps = uniform["expected_kl"].as_f64().unwrap().to_string();
    let plan = json(&[
        "plan",
        "--dist",
        "markov:n=64,q=4,stay=0.9",
        "--epsilon",
        &eps,
    ]);
    assert_eq!(plan["steps"].as_u64(), Some(fewest as u64));
}

/// Loss CSVs: a header names the columns (`t,loss` or `mask_ratio,loss`) and `# n = N` the
/// length; both give the JSON loss file's plan; a missing length or an unknown header is
/// refused by name.
#[test]
fn loss_csv_files() {
    let t = tmp("losses.csv");
    std::fs::write(
        &t,
        "# masked cross-entropy\n# unit = nats\n# n = 256\nt,loss\n0,2.10\n64,1.62\n128,1.41\n192,1.30\n255,1.26\n",
    )
    .unwrap();
    let r = tmp("ratios.csv");
    std::fs::write(
        &r,
        "# unit = nats\n# n = 256\nmask_ratio,loss\n1,2.10\n0.75,1.62\n0.5,1.41\n0.25,1.30\n0.00390625,1.26\n",
    )
    .unwrap();
    let j = tmp("losses.json");
    std::fs::write(
        &j,
        r#"{"unit": "nats", "n": 256, "losses": [[0, 2.10], [64, 1.62], [128, 1.41], [192, 1.30], [255, 1.26]]}"#,
    )
    .unwrap();
    let plan =
        |p: &std::path::Path| json(&["plan", "--curve", &p.display().to_string(), "--steps", "32"]);
    let (a, b, c) = (plan(&t), plan(&r), plan(&j));
    assert_eq!(a["expected_kl"], c["expected_kl"]);
    assert_eq!(b["expected_kl"], c["expected_kl"]);
    assert_eq!(a["schedule"], c["schedule"]);
    // A CSV states its unit, or is given one apart from the output unit; never guessed.
    let bare = tmp("bare.csv");
    std::fs::write(&bare, "z\n0\n0.5\n1\n").unwrap();
    let bare_s = bare.display().to_string();
    fails(
        &["curve", "--curve", &bare_s],
        &["does not say its unit", "# unit = nats", "--curve-unit"],
    );
    fails(
        &["curve", "--curve", &bare_s, "--unit", "bits"],
        &["does not say its unit"],
    );
    let in_bits = json(&["curve", "--curve", &bare_s, "--curve-unit", "bits"]);
    assert_eq!(in_bits["unit"], "nats");
    assert!((in_bits["tc"].as_f64().unwrap() - 1.5 * std::f64::consts::LN_2).abs() < 1e-12);
    let out_bits = json(&[
        "curve",
        "--curve",
        &bare_s,
        "--curve-unit",
        "nats",
        "--unit",
        "bits",
    ]);
    assert!((out_bits["tc"].as_f64().unwrap() - 1.5 / std::f64::consts::LN_2).abs() < 1e-12);
    fails(
        &[
            "curve",
            "--curve",
            &t.display().to_string(),
            "--curve-unit",
            "bits",
        ],
        &["says \"# unit = nats\" but was to be read in bits"],
    );
    let bad = tmp("nolength.csv");
    std::fs::write(&bad, "t,loss\n0,2\n3,1\n").unwrap();
    fails(
        &[
            "plan",
            "--curve",
            &bad.display().to_string(),
            "--steps",
            "2",
        ],
        &["needs its sequence length", "# n = N"],
    );
    std::fs::write(&bad, "step,value\n0,2\n").unwrap();
    fails(
        &[
            "plan",
            "--curve",
            &bad.display().to_string(),
            "--steps",
            "2",
        ],
        &["line 1", "\"step,value\""],
    );
}

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

/// Sparse curves are never silently held flat, and repairs are reported alike: plan, eval,
/// compare and frontier say in text and JSON what the schedule's error cannot see past the
/// last measured point, and what `--repair` changed.
#[test]
fn unmeasured_tails_and_repairs_are_reported_everywhere() {
    let sparse = tmp("tail_points.json");
    std::fs::write(
        &sparse,
        r#"{"unit": "nats", "n": 64, "points": [[8, 0.5], [16, 0.9], [32, 1.3]]}"#,
    )
    .unwrap();
    let p = sparse.display().to_string();
    let noisy = data("noisy.json");
    for args in [
        vec!["plan", "--steps", "4"],
        vec!["eval", "--schedule", "uniform:steps=4"],
        vec!["compare", "--steps", "4"],
        vec!["frontier", "--budget", "4"],
    ] {
        let mut with = args.clone();
        with.extend(["--curve", p.as_str()]);
        let (code, text, err) = unmask(&with);
        assert_eq!(code, 0, "{err}");
        assert!(
            text.contains("warning: Z is measured up to j = 32 of n = 64"),
            "{args:?}: {text}"
        );
        let doc = json(&with);
        let tail = &doc["unmeasured_tail"];
        assert_eq!(tail["measured_through"], 32, "{args:?}");
        assert_eq!(tail["tokens"], 32);
        // Rising on at the last slope (0.4 over 16 tokens) can only add error.
        assert!(tail["expected_kl_linear"].as_f64() >= tail["expected_kl_flat"].as_f64());
        let mut repaired = args.clone();
        repaired.extend(["--curve", noisy.as_str(), "--repair"]);
        let (code, text, err) = unmask(&repaired);
        assert_eq!(code, 0, "{err}");
        assert!(
            text.contains("repaired: largest correction 0.05 at Z_2"),
            "{args:?}"
        );
        let doc = json(&repaired);
        assert_eq!(doc["repair"]["at_j"], 2, "{args:?}");
        assert!(doc.get("unmeasured_tail").is_none());
    }
    // The plan's last step spans the unmeasured half: the linear reading costs far more.
    let plan = json(&["plan", "--curve", &p, "--steps", "4"]);
    let tail = &plan["unmeasured_tail"];
    assert_eq!(tail["steps"], 1);
    assert!(
        tail["expected_kl_linear"].as_f64().unwrap()
            > 3.0 * tail["expected_kl_flat"].as_f64().unwrap()
    );
    // A point at j = n removes the warning.
    let full = tmp("tail_points_full.json");
    std::fs::write(
        &full,
        r#"{"unit": "nats", "n": 64, "points": [[8, 0.5], [16, 0.9], [32, 1.3], [64, 1.6]]}"#,
    )
    .unwrap();
    let (_, text, _) = unmask(&[
        "plan",
        "--curve",
        &full.display().to_string(),
        "--steps",
        "4",
    ]);
    assert!(!text.contains("warning"), "{text}");
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
