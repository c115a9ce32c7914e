//! `unmask eval`: exact expected KL of a schedule, the paper's test vectors, wasted steps, guarantees.

use crate::close;
use crate::common::json;

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
