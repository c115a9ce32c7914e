//! The resource policy: inputs over the budget refused up front with the estimate.

use crate::common::{fails, json, tmp};

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
