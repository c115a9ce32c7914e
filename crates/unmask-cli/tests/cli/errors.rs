//! Bad input of every kind: exit code 2, the value named, nothing partial written.

use crate::common::{data, fails, json, tmp};
use std::process::Command;

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
