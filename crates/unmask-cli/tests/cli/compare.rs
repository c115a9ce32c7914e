//! `unmask compare`: every preset against the optimum, and its speed-up headline.

use crate::common::{json, unmask};

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
