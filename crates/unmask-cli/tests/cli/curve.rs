//! Curve files and `unmask curve`: formats, repairs, loss profiles, sparse tails, estimated families.

use crate::close;
use crate::common::{data, fails, json, tmp, unmask};
use serde_json::Value;

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

/// A stay chain's curve comes from its structure (no q × q matrix): q = 50,000 at once.
#[test]
fn large_stay_chains_are_computed_from_their_structure() {
    let doc = json(&["curve", "--dist", "markov:n=16,q=50000,stay=0.9"]);
    assert_eq!(doc["z"].as_array().unwrap().len(), 16);
    let tc = doc["tc"].as_f64().unwrap();
    assert!(tc > 100.0 && tc.is_finite(), "{tc}");
}
