//! End-to-end tests of the `unmask` binary: outputs, JSON fields, exit codes, error messages.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

/// Runs the binary; returns (exit code, stdout, stderr).
fn unmask(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_unmask"))
        .args(args)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "panic on {args:?}: {stderr}");
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stdout).to_string(),
        stderr,
    )
}

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, stdout, stderr) = unmask(&all);
    assert_eq!(code, 0, "{args:?} failed: {stderr}");
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("bad JSON from {args:?}: {e}\n{stdout}"))
}

/// Asserts failure with exit code 2 and every `needle` in stderr.
fn fails(args: &[&str], needles: &[&str]) {
    let (code, stdout, stderr) = unmask(args);
    assert_eq!(
        code, 2,
        "{args:?} should fail with 2; stdout: {stdout}; stderr: {stderr}"
    );
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: stderr lacks {needle:?}:\n{stderr}"
        );
    }
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("unmask-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

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
        &["line 3", "columns"],
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
