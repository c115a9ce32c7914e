//! `unmask verify`: the theory against Monte Carlo and exact output laws.

use crate::common::json;

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
