//! The defects a review of the tree found (the house-cleaning issue), each with the case that
//! failed before its fix.

use crate::common::{json, tmp, unmask};

/// The even-weight words of 4 bits as a `table:` file named `name` (parity:n=4 enumerated).
fn parity4_table(name: &str) -> std::path::PathBuf {
    let table = tmp(name);
    let p: Vec<f64> = (0u32..16)
        .map(|x| if x.count_ones() % 2 == 0 { 0.125 } else { 0.0 })
        .collect();
    std::fs::write(
        &table,
        serde_json::json!({"q": 2, "n": 4, "p": p}).to_string(),
    )
    .unwrap();
    table
}

/// `curve --dist table:FILE --block L` read n from the spec (0) before the file and refused
/// every table. The even-weight table of 4 bits, enumerated, must give the closed-form block
/// curves of `parity:n=4` exactly: block 1 free, block 2's last bit decided by the other three.
#[test]
fn block_curves_of_a_table() {
    let table = parity4_table("parity4.json");
    let spec = format!("table:{}", table.display());
    let from_table = json(&["curve", "--dist", &spec, "--block", "2"]);
    let closed = json(&["curve", "--dist", "parity:n=4", "--block", "2"]);
    let values = |doc: &serde_json::Value| -> Vec<f64> {
        doc["curves"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
            .collect()
    };
    let (a, b) = (values(&from_table), values(&closed));
    assert_eq!(a.len(), 4, "{from_table}");
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-12, "{from_table} vs {closed}");
    }
    assert!((a[3] - std::f64::consts::LN_2).abs() < 1e-12);
    let (code, _, stderr) = unmask(&["curve", "--dist", &spec, "--block", "3"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--block 3 must divide n = 4"), "{stderr}");
}

/// `verify --model --help` showed --dist and --schedule as optional: --dist is always required
/// by verify, --schedule with --model; sample still goes without --dist when given --model.
#[test]
fn verify_says_what_it_requires() {
    let (code, stdout, _) = unmask(&["verify", "--model", "m", "--help"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("Usage: unmask verify [OPTIONS] --dist <SPEC>"),
        "{stdout}"
    );
    assert!(stdout.contains("(needs --schedule)"), "{stdout}");
    let (code, _, stderr) = unmask(&["verify", "--model", "m", "--dist", "parity:n=4"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("required arguments were not provided") && stderr.contains("--schedule"),
        "{stderr}"
    );
    let (code, _, stderr) = unmask(&["sample", "--model", "/nonexistent/m"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a checkpoint directory"), "{stderr}");
    let (code, _, stderr) = unmask(&["sample"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--dist <SPEC>"), "{stderr}");
}

/// A model's losses given by mistake as sparse Z points got only "Z_1 = 5.8, expected 0"; they
/// get the same hint as dense Z values: the "losses" format.
#[test]
fn losses_given_as_points_get_the_losses_hint() {
    let file = tmp("losses-as-points.json");
    std::fs::write(
        &file,
        r#"{"unit": "nats", "n": 65, "points": [[1, 5.8], [33, 3.9], [65, 3.1]]}"#,
    )
    .unwrap();
    let (code, _, stderr) = unmask(&[
        "plan",
        "--curve",
        &file.display().to_string(),
        "--steps",
        "4",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("Z_1 = 5.8") && stderr.contains("\"losses\": [[t, L(t)]"),
        "{stderr}"
    );
}

/// `compare --blocks` silently ignored --plot and --presets, and the --blocks paths of compare
/// and frontier priced only the file read: now the plot is drawn, --presets refused as frontier
/// refuses it, and the optimisation priced.
#[test]
fn compare_blocks_draws_refuses_and_prices() {
    let file = tmp("blocks-compare.json").display().to_string();
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
    let svg = tmp("blocks-compare.svg");
    let (code, _, stderr) = unmask(&[
        "compare",
        "--blocks",
        &file,
        "--steps",
        "8",
        "--plot",
        &svg.display().to_string(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(
        drawn.contains("<svg") && drawn.contains("4 blocks"),
        "{drawn}"
    );
    for cmd in ["compare", "frontier"] {
        let mut args = vec![cmd, "--blocks", &file, "--presets", "cosine"];
        if cmd == "compare" {
            args.extend(["--steps", "8"]);
        }
        let (code, _, stderr) = unmask(&args);
        assert_eq!(code, 2, "{cmd}");
        assert!(
            stderr.contains("--presets does not apply with --blocks"),
            "{cmd}: {stderr}"
        );
    }
    for (cmd, what) in [
        (
            "compare",
            "comparing block-wise decoders on 4 blocks, n = 64",
        ),
        ("frontier", "the block-wise frontier at"),
    ] {
        let mut args = vec!["--max-work", "20000", cmd, "--blocks", &file];
        if cmd == "compare" {
            args.extend(["--steps", "8"]);
        }
        let (code, _, stderr) = unmask(&args);
        assert_eq!(code, 2, "{cmd}");
        assert!(
            stderr.contains(what) && stderr.contains("--max-work"),
            "{cmd}: {stderr}"
        );
    }
}

/// `trained_length` built the whole family to learn n, which fails for `table:FILE` (no file
/// data) and let any length through; the run record now carries n.
#[test]
fn a_table_trained_model_knows_its_length() {
    let table = parity4_table("table4.json");
    let out = tmp("table-model").display().to_string();
    let spec = format!("table:{}", table.display());
    let (code, _, stderr) = unmask(&[
        "train",
        "--dist",
        &spec,
        "--out",
        &out,
        "--steps",
        "2",
        "--size",
        "tiny,d=16",
        "--batch",
        "4",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let doc = json(&["predict", "--model", &out, "--ids", "1,_,_,0"]);
    assert_eq!(doc["n"], 4);
    let (code, _, stderr) = unmask(&["predict", "--model", &out, "--ids", "1,_"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("trained on sequences of length 4"),
        "{stderr}"
    );
}

/// Small things a newcomer met: `uniform:steps=0` said its range twice; `"unit": "bit"` was
/// accepted but `"BITS"` refused; a repair that changed nothing said "largest correction 0 at
/// Z_1".
#[test]
fn messages_say_things_once_and_units_follow_one_rule() {
    let (code, _, stderr) = unmask(&[
        "eval",
        "--dist",
        "parity:n=64",
        "--schedule",
        "uniform:steps=0",
    ]);
    assert_eq!(code, 2);
    assert_eq!(stderr.matches("is out of range").count(), 1, "{stderr}");
    let file = tmp("bits-upper.json");
    std::fs::write(&file, r#"{"unit": "BITS", "z": [0, 0.5, 1]}"#).unwrap();
    let f = file.display().to_string();
    let doc = json(&["curve", "--curve", &f]);
    assert!(
        (doc["tc"].as_f64().unwrap() - 1.5 * std::f64::consts::LN_2).abs() < 1e-12,
        "{doc}"
    );
    let (code, stdout, stderr) = unmask(&["plan", "--curve", &f, "--repair", "--steps", "2"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("repaired: nothing to correct"), "{stdout}");
    assert!(!stdout.contains("largest correction 0 at"), "{stdout}");
}
