//! Replays every stored fuzzing input — the corpora in `fuzz/corpus/<target>/` and the fixed
//! crashes in `fuzz/regressions/<target>/` — through the library (the fuzz targets' own
//! bodies, `unmask-fuzz`) and through the CLI, so that CI keeps what fuzzing found without
//! running a fuzzer (`scripts/fuzz.sh` runs one).
//!
//! Distribution specs go through curve, sample, verify and estimate; schedule specs through
//! eval; rule specs through sample; curve files through plan, compare, frontier and eval. The
//! neural inputs: checkpoint headers (`checkpoint_header`: a `model.safetensors` or a
//! `config.json` in an otherwise valid checkpoint) through predict; checkpoint files
//! (`checkpoint_files`: a file name on the first line, its contents after) through predict and
//! `train --resume`; training flags (`train_flags`, CLI only: one command line after
//! `train --out DIR`) through train.
//!
//! The property: every input ends in exit code 0 or 2 within 10 s, under a 4 GiB address-space
//! limit (`prlimit`, when the machine has it), with nothing on stderr that looks like a panic.
//! The test binary is a debug build, 10–50× slower than release, so the runs use a work budget
//! of 10⁸ operations (a tenth of a second in release) instead of the default 10¹⁰; the memory
//! budget stays at the default.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every stored input of a target, sorted by path.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for kind in ["corpus", "regressions"] {
        let dir = fuzz_dir().join(kind).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                let bytes = std::fs::read(&path).expect("readable input");
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_stored_input_through_the_library() {
    let mut total = 0;
    for (target, run) in unmask_fuzz::TARGETS {
        let stored = inputs(target);
        assert!(!stored.is_empty(), "no stored inputs for {target}");
        for (path, bytes) in stored {
            let result = std::panic::catch_unwind(|| run(&bytes));
            assert!(result.is_ok(), "{target} panicked on {}", path.display());
            total += 1;
        }
    }
    eprintln!("replayed {total} inputs through the library");
}

fn has_prlimit() -> bool {
    Command::new("prlimit")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs the CLI with a 10 s deadline and a 4 GiB address-space limit; returns the exit code.
fn run_cli(args: &[String], limit: bool) -> (Option<i32>, String, Duration) {
    let binary = env!("CARGO_BIN_EXE_unmask");
    let mut cmd = if limit {
        let mut c = Command::new("prlimit");
        c.arg(format!("--as={}", 4u64 << 30)).arg("--").arg(binary);
        c
    } else {
        Command::new(binary)
    };
    let start = Instant::now();
    let mut child = cmd
        .args(args)
        .args(["--max-work", "1e8"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut stderr);
            }
            return (status.code(), stderr, start.elapsed());
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            return (None, "killed after 10 s".into(), start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A checkpoint in `dir` from a tiny valid one (`base`), with `file` replaced by `contents`.
fn checkpoint_with(base: &Path, dir: &Path, file: &str, contents: &[u8]) -> String {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    for f in [
        "config.json",
        "model.safetensors",
        "vocab.json",
        "optimizer.safetensors",
        "train_state.json",
    ] {
        std::fs::copy(base.join(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join(file), contents).unwrap();
    dir.display().to_string()
}

/// The CLI commands a stored input stands for (none for inputs the shell cannot pass).
fn commands(target: &str, bytes: &[u8], scratch: &Path, base: &Path) -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let text = |b: &[u8]| String::from_utf8_lossy(b).replace('\0', "");
    match target {
        "schedule_spec" => {
            let Some((&first, rest)) = bytes.split_first() else {
                return vec![];
            };
            let dist = format!("repeat:n={},q=3", usize::from(first) + 1);
            vec![s(&[
                "eval",
                "--dist",
                &dist,
                "--schedule",
                &text(rest),
                "--json",
            ])]
        }
        "dist_spec" => {
            let spec = text(bytes);
            vec![
                s(&["curve", "--dist", &spec, "--json"]),
                s(&[
                    "sample",
                    "--dist",
                    &spec,
                    "--schedule",
                    "uniform:steps=1",
                    "--samples",
                    "2",
                ]),
                s(&[
                    "verify",
                    "--dist",
                    &spec,
                    "--schedule",
                    "uniform:steps=1",
                    "--samples",
                    "2",
                ]),
                s(&[
                    "estimate",
                    "--dist",
                    &spec,
                    "--samples",
                    "2",
                    "--points",
                    "2",
                ]),
            ]
        }
        "rule_spec" => {
            let t = text(bytes);
            let (rule, schedule) = t.split_once('\n').unwrap_or((&t, ""));
            let mut c = s(&[
                "sample",
                "--dist",
                "markov:n=12,q=3,stay=0.5",
                "--samples",
                "2",
                "--rule",
                rule,
            ]);
            if !schedule.trim().is_empty() {
                c.extend(s(&["--schedule", schedule]));
            }
            vec![c]
        }
        "curve_file" | "curve_values" => {
            let content = if target == "curve_file" {
                bytes.to_vec()
            } else {
                let values: Vec<String> = bytes
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                    .map(|v| {
                        if v.is_finite() {
                            format!("{v:e}")
                        } else {
                            "null".into()
                        }
                    })
                    .collect();
                format!("{{\"unit\": \"nats\", \"z\": [{}]}}", values.join(", ")).into_bytes()
            };
            let json = scratch.with_extension("json");
            let csv = scratch.with_extension("csv");
            std::fs::write(&json, &content).unwrap();
            std::fs::write(&csv, &content).unwrap();
            let (json, csv) = (json.display().to_string(), csv.display().to_string());
            vec![
                s(&["plan", "--curve", &json, "--steps", "3", "--json"]),
                s(&["compare", "--curve", &json, "--steps", "2", "--repair"]),
                s(&["frontier", "--curve", &csv, "--repair", "--json"]),
                s(&["eval", "--curve", &csv, "--schedule", "uniform:steps=1"]),
            ]
        }
        "checkpoint_header" => {
            // Every input goes through the library; the CLI (two loads in a debug build) takes
            // a fixed tenth of the coverage-grown corpus, so the replay stays within CI's time.
            if !one_in_ten(bytes) {
                return vec![];
            }
            let ids = "_,_,_,_,_,_";
            let model = checkpoint_with(base, &scratch.join("m"), "model.safetensors", bytes);
            let config = checkpoint_with(base, &scratch.join("c"), "config.json", bytes);
            vec![
                s(&["predict", "--model", &model, "--ids", ids]),
                s(&["predict", "--model", &config, "--ids", ids]),
            ]
        }
        "checkpoint_files" => {
            let t = text(bytes);
            let (name, body) = t.split_once('\n').unwrap_or((&t, ""));
            let name = name.trim();
            if ![
                "config.json",
                "vocab.json",
                "tokenizer.json",
                "train_state.json",
            ]
            .contains(&name)
            {
                return vec![];
            }
            let dir = checkpoint_with(base, &scratch.join("f"), name, body.as_bytes());
            vec![
                s(&["predict", "--model", &dir, "--ids", "_,_,_,_,_,_"]),
                s(&["train", "--resume", &dir, "--steps", "2"]),
            ]
        }
        "train_flags" => {
            let out = scratch.join("out").display().to_string();
            let mut c = s(&["train", "--out", &out]);
            c.extend(text(bytes).split_whitespace().map(str::to_string));
            vec![c]
        }
        _ => vec![],
    }
}

/// Whether a `checkpoint_header` input goes through the CLI: one in ten, chosen by content (an
/// FNV-1a hash), so the choice does not depend on the directory order.
fn one_in_ten(bytes: &[u8]) -> bool {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    hash % 10 == 0
}

/// The corpora replayed through the CLI only (their inputs are command lines or whole files,
/// not a library entry point).
const CLI_ONLY: &[&str] = &["train_flags", "checkpoint_files"];

#[test]
fn every_stored_input_through_the_cli() {
    let limit = has_prlimit();
    if !limit {
        eprintln!("prlimit is missing: replaying without the 4 GiB address-space limit");
    }
    let scratch_dir = std::env::temp_dir().join(format!("unmask-replay-{}", std::process::id()));
    std::fs::create_dir_all(&scratch_dir).unwrap();
    // The valid checkpoint the neural inputs are spliced into.
    let base = scratch_dir.join("base");
    let trained = Command::new(env!("CARGO_BIN_EXE_unmask"))
        .args(["train", "--dist", "markov:n=6,q=3,stay=0.8", "--steps", "1"])
        .args(["--size", "tiny,d=16", "--batch", "2", "--out"])
        .arg(&base)
        .output()
        .expect("the binary runs");
    assert!(trained.status.success(), "{trained:?}");
    let mut runs = 0;
    let mut slowest = (Duration::ZERO, String::new());
    let names = unmask_fuzz::TARGETS
        .iter()
        .map(|(name, _)| *name)
        .chain(CLI_ONLY.iter().copied());
    for target in names {
        let stored = inputs(target);
        assert!(!stored.is_empty(), "no stored inputs for {target}");
        for (i, (path, bytes)) in stored.into_iter().enumerate() {
            let scratch = scratch_dir.join(format!("{target}-{i}"));
            std::fs::create_dir_all(&scratch).unwrap();
            for args in commands(target, &bytes, &scratch, &base) {
                let (code, stderr, took) = run_cli(&args, limit);
                assert!(
                    matches!(code, Some(0) | Some(2)) && !stderr.contains("panicked"),
                    "{target} input {}: {args:?} exited {code:?}: {stderr}",
                    path.display()
                );
                if took > slowest.0 {
                    slowest = (took, format!("{args:?}"));
                }
                runs += 1;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch_dir);
    eprintln!(
        "replayed {runs} CLI runs; slowest {:?}: {}",
        slowest.0, slowest.1
    );
}
