//! `unmask plan`: the optimal schedule for a step budget or an error target.

use crate::close;
use crate::common::{data, json, unmask};

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
