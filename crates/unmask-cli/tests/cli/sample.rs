//! `unmask sample`: NFE and counts, MDLM's random counts, fixed orders.

use crate::close;
use crate::common::{data, fails, json};

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
