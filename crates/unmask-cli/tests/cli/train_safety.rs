//! `unmask train` and checkpoint loading never lose a user's data and accept no nonsense: the
//! target folder is checked before any write, one writer at a time, readers never see a missing
//! or partial checkpoint, no non-finite tensor is written or loaded, every flag is validated,
//! and the budget prices networks (each finding of the adversarial pass has a case here).

use crate::common::{fails, json, poison, snapshot, tmp, unmask};

use std::path::Path;

const SPEC: &str = "markov:n=10,q=4,stay=0.8";

/// A tiny training run's arguments writing to `out` for `steps` steps.
fn tiny<'a>(out: &'a str, steps: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--dist",
        SPEC,
        "--out",
        out,
        "--steps",
        steps,
        "--size",
        "tiny,d=16",
        "--batch",
        "4",
    ]
}

fn trained(name: &str, steps: &str) -> String {
    let out = tmp(name).display().to_string();
    let (code, _, stderr) = unmask(&tiny(&out, steps));
    assert_eq!(code, 0, "{stderr}");
    out
}

#[test]
fn out_never_touches_what_is_not_a_checkpoint() {
    // A folder of the user's: a thesis and a subfolder of CSVs.
    let thesis = tmp("thesis");
    std::fs::create_dir_all(thesis.join("csv")).unwrap();
    std::fs::write(thesis.join("thesis.tex"), "\\chapter{One}").unwrap();
    std::fs::write(thesis.join("csv/a.csv"), "1,2\n").unwrap();
    let before = snapshot(&thesis);
    let t = thesis.display().to_string();
    fails(
        &tiny(&t, "2"),
        &[
            "thesis",
            "not part of an unmask checkpoint",
            "\"csv\"",
            "\"thesis.tex\"",
            "nothing was written",
        ],
    );
    assert_eq!(snapshot(&thesis), before, "the user's folder is intact");
    // A file is not renamed or replaced.
    let file = tmp("notes.txt");
    std::fs::write(&file, "notes").unwrap();
    fails(
        &tiny(&file.display().to_string(), "2"),
        &["is an existing file"],
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "notes");
    // `/`, `.`, `..` name no folder.
    for bad in ["/", ".", ".."] {
        fails(&tiny(bad, "2"), &["is not a folder name"]);
    }
    assert!(!Path::new("/.tmp").exists());
    // A LLaDA-format checkpoint unmask train did not write (no train_state.json) stays.
    let foreign = tmp("foreign");
    let src = trained("foreign-src", "1");
    std::fs::create_dir_all(&foreign).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(Path::new(&src).join(f), foreign.join(f)).unwrap();
    }
    let before = snapshot(&foreign);
    fails(
        &tiny(&foreign.display().to_string(), "2"),
        &[
            "no train_state.json",
            "not a checkpoint written by unmask train",
        ],
    );
    assert_eq!(snapshot(&foreign), before);
    // The user's DIR.tmp and DIR.old folders beside a real target survive a run.
    let out = tmp("run");
    for side in ["run.tmp", "run.old"] {
        let d = tmp(side);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("keep.txt"), side).unwrap();
    }
    let o = out.display().to_string();
    let (code, _, stderr) = unmask(&[&tiny(&o, "4")[..], &["--checkpoint-every", "2"]].concat());
    assert_eq!(code, 0, "{stderr}");
    for side in ["run.tmp", "run.old"] {
        assert_eq!(
            std::fs::read_to_string(tmp(side).join("keep.txt")).unwrap(),
            side
        );
    }
    // An existing checkpoint is replaced, an empty folder used.
    let (code, _, stderr) = unmask(&tiny(&o, "2"));
    assert_eq!(code, 0, "{stderr}");
    let empty = tmp("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, _, stderr) = unmask(&tiny(&empty.display().to_string(), "1"));
    assert_eq!(code, 0, "{stderr}");
    assert!(empty.join("train_state.json").is_file());
    // No temporary folder is left beside the checkpoints.
    let parent = out.parent().unwrap();
    let stray: Vec<String> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".run.") && (n.contains(".tmp-") || n.contains(".old-")))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

/// Whether `dir` holds a whole checkpoint: every file present and complete (JSON parses, the
/// safetensors file is as long as its header says).
fn whole(dir: &Path) -> Result<(), String> {
    for f in ["config.json", "train_state.json", "vocab.json"] {
        let text = std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{f}: {e}"))?;
        serde_json::from_str::<serde_json::Value>(&text).map_err(|e| format!("{f}: {e}"))?;
    }
    for f in ["model.safetensors", "optimizer.safetensors"] {
        let bytes = std::fs::read(dir.join(f)).map_err(|e| format!("{f}: {e}"))?;
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value =
            serde_json::from_slice(&bytes[8..8 + n]).map_err(|e| format!("{f}: {e}"))?;
        let end = header
            .as_object()
            .unwrap()
            .values()
            .filter_map(|t| t["data_offsets"][1].as_u64())
            .max()
            .unwrap_or(0) as usize;
        if 8 + n + end != bytes.len() {
            return Err(format!(
                "{f}: {} bytes, header says {}",
                bytes.len(),
                8 + n + end
            ));
        }
    }
    Ok(())
}

#[test]
fn one_writer_at_a_time_and_readers_never_see_a_missing_checkpoint() {
    let out = tmp("contested");
    let o = out.display().to_string();
    let args = [&tiny(&o, "40")[..], &["--checkpoint-every", "1"]].concat();
    let children: Vec<_> = (0..3)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_unmask"))
                .args(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Poll while the winner writes: once the checkpoint exists it is always whole.
    let (mut seen, mut polls, mut bad) = (false, 0, Vec::new());
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(120) {
        if out.exists() {
            seen = true;
        }
        if seen {
            polls += 1;
            if let Err(e) = whole(&out) {
                bad.push(e);
            }
            let state: Option<serde_json::Value> =
                std::fs::read_to_string(out.join("train_state.json"))
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok());
            if state.is_some_and(|s| s["step"] == 40) {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let results: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let winners = results
        .iter()
        .filter(|r| r.status.code() == Some(0))
        .count();
    assert_eq!(winners, 1, "exactly one writer wins");
    for r in results.iter().filter(|r| r.status.code() != Some(0)) {
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("another training run is writing to it") && stderr.contains("process "),
            "{stderr}"
        );
    }
    assert!(polls > 20, "the reader polled {polls} times");
    eprintln!("a reader polled the contested checkpoint {polls} times: all whole");
    assert!(
        bad.is_empty(),
        "{} of {polls} polls saw a broken checkpoint: {bad:?}",
        bad.len()
    );
    whole(&out).unwrap();
}

#[test]
fn a_write_interrupted_mid_swap_is_found_by_resume() {
    let dir = trained("swapped", "2");
    // What a crash between the fallback's two renames leaves: DIR gone, .DIR.old-* present.
    let old = tmp(".swapped.old-12345-0");
    std::fs::rename(&dir, &old).unwrap();
    fails(
        &["train", "--resume", &dir, "--steps", "3"],
        &["interrupted mid-swap", ".swapped.old-12345-0", "mv "],
    );
}

#[test]
fn no_command_exits_0_on_a_checkpoint_with_a_nan_or_an_infinity() {
    let src = trained("poisoned-src", "2");
    for (k, value) in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY]
        .into_iter()
        .enumerate()
    {
        let dir = tmp(&format!("poisoned-{k}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in unmask_files() {
            std::fs::copy(Path::new(&src).join(f), dir.join(f)).unwrap();
        }
        // One value of one row of the output head (5 tokens × d = 16): row 2, column 3.
        poison(
            &dir.join("model.safetensors"),
            "model.transformer.ff_out.weight",
            2 * 16 + 3..2 * 16 + 4,
            value,
        );
        let d = dir.display().to_string();
        let words = [
            "model.transformer.ff_out.weight",
            "[2, 3]",
            "must be finite",
        ];
        for cmd in [
            vec!["predict", "--model", &d, "--ids", "1,_,_,3,1,1,1,1,1,_"],
            vec!["estimate", "--dist", SPEC, "--model", &d, "--samples", "20"],
            vec![
                "verify",
                "--dist",
                SPEC,
                "--model",
                &d,
                "--schedule",
                "uniform:steps=5",
                "--samples",
                "20",
            ],
            vec![
                "score",
                "--dist",
                SPEC,
                "--model",
                &d,
                "--schedule",
                "uniform:steps=5",
                "--samples",
                "20",
            ],
            vec![
                "sample",
                "--model",
                &d,
                "--schedule",
                "uniform:steps=5",
                "--samples",
                "2",
            ],
            vec!["train", "--resume", &d, "--steps", "3"],
        ] {
            fails(&cmd, &words);
        }
    }
}

#[test]
fn resume_refuses_non_finite_optimizer_state() {
    let dir = trained("poisoned-moments", "2");
    poison(
        &Path::new(&dir).join("optimizer.safetensors"),
        "v.model.transformer.ff_out.weight",
        7..8,
        f32::NAN,
    );
    fails(
        &["train", "--resume", &dir, "--steps", "3"],
        &[
            "optimizer.safetensors",
            "v.model.transformer.ff_out.weight",
            "[0, 7]",
            "must be finite",
        ],
    );
}

fn unmask_files() -> [&'static str; 5] {
    [
        "config.json",
        "model.safetensors",
        "vocab.json",
        "optimizer.safetensors",
        "train_state.json",
    ]
}

#[test]
fn a_diverging_run_keeps_the_last_finite_checkpoint_and_says_its_step() {
    let dir = trained("diverging", "1");
    // Finite weights so large that the next forward pass overflows (the first block's MLP
    // output, 16 × 192).
    let model = Path::new(&dir).join("model.safetensors");
    poison(
        &model,
        "model.transformer.blocks.0.ff_out.weight",
        0..16 * 192,
        3e38,
    );
    let before = std::fs::read(&model).unwrap();
    fails(
        &[
            "train",
            "--resume",
            &dir,
            "--steps",
            "4",
            "--checkpoint-every",
            "1",
        ],
        &[
            "training diverged at step 2",
            "the last finite checkpoint, from step 1",
        ],
    );
    assert_eq!(
        std::fs::read(&model).unwrap(),
        before,
        "nothing non-finite written"
    );
}

#[test]
fn every_training_flag_is_validated() {
    let out = tmp("never-written").display().to_string();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--lr", "nan"], &["--lr", "in (0, 1]"]),
        (&["--lr", "inf"], &["--lr", "in (0, 1]"]),
        (&["--lr", "-1"], &["--lr", "\"-1\"", "in (0, 1]"]),
        (&["--lr", "0"], &["--lr", "in (0, 1]"]),
        (&["--clip", "0"], &["--clip", "> 0"]),
        (&["--clip", "-1"], &["--clip", "> 0"]),
        (&["--weight-decay", "nan"], &["--weight-decay", "[0, 1)"]),
        (&["--batch", "0"], &["--batch", "≥ 1"]),
        (&["--checkpoint-every", "0"], &["--checkpoint-every", "≥ 1"]),
        (&["--steps", "0"], &["--steps", "≥ 1"]),
    ];
    for (extra, words) in cases {
        let mut args = vec!["train", "--dist", SPEC, "--out", &out];
        args.extend_from_slice(extra);
        fails(&args, words);
    }
    for extra in [["--tokens", "inf"], ["--tokens", "0"]] {
        let mut args = vec!["train", "--dist", SPEC, "--out", &out];
        args.extend_from_slice(&extra);
        fails(&args, &["--tokens", "token count ≥ 1"]);
    }
    fails(
        &[
            "train", "--dist", SPEC, "--out", &out, "--tokens", "1000", "--batch", "0",
        ],
        &["--batch", "≥ 1"],
    );
    let p = tmp("words.txt");
    std::fs::write(
        &p,
        "the quick brown fox jumps over the lazy dog\n".repeat(20),
    )
    .unwrap();
    let text = p.display().to_string();
    fails(
        &["train", "--text", &text, "--len", "0", "--out", &out],
        &["--len", "≥ 1"],
    );
    assert!(
        !Path::new(&out).exists(),
        "nothing written by a refused run"
    );
}

#[test]
fn resume_refuses_conflicting_flags_and_keeps_its_settings() {
    let dir = trained("resumed", "2");
    fails(
        &[
            "train", "--resume", &dir, "--lr", "0.01", "--batch", "8", "--seed", "9",
        ],
        &[
            "--lr 0.01 (the run uses 0.003)",
            "--batch 8 (the run uses 4)",
            "--seed 9 (the run uses 0)",
        ],
    );
    for flag in [["--size", "small"], ["--dist", SPEC]] {
        let (code, _, stderr) = unmask(&["train", "--resume", &dir, flag[0], flag[1]]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("cannot be used with"), "{stderr}");
    }
    // Equal values are no conflict; --checkpoint-every is the saved run's unless given.
    let out = tmp("resumed-every");
    let o = out.display().to_string();
    let (code, _, stderr) = unmask(&[&tiny(&o, "6")[..], &["--checkpoint-every", "3"]].concat());
    assert_eq!(code, 0, "{stderr}");
    let doc = json(&["train", "--resume", &o, "--steps", "12", "--lr", "0.003"]);
    assert_eq!(doc["steps"], 12);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("train_state.json")).unwrap())
            .unwrap();
    let steps: Vec<u64> = state["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[0].as_u64().unwrap())
        .collect();
    assert_eq!(
        steps,
        [3, 6, 9, 12],
        "checkpoints every 3 steps after resuming too"
    );
    assert!(
        doc["valid_loss_stderr"].as_f64().is_some_and(|s| s > 0.0),
        "{doc}"
    );
}

#[test]
fn text_runs_keep_their_vocabulary_and_take_one_line_files() {
    let text = tmp("one-line.txt");
    std::fs::write(&text, "abcdefghij".repeat(30)).unwrap();
    let t = text.display().to_string();
    let out = tmp("one-line").display().to_string();
    let args = [
        "train",
        "--text",
        &t,
        "--len",
        "8",
        "--out",
        &out,
        "--steps",
        "2",
        "--size",
        "tiny,d=16",
        "--batch",
        "4",
    ];
    let (code, _, stderr) = unmask(&args);
    assert_eq!(code, 0, "a one-line text trains: {stderr}");
    let vocab = std::fs::read_to_string(Path::new(&out).join("vocab.json")).unwrap();
    // A changed character: the saved ids are kept and the new character refused by name.
    std::fs::write(&text, "abcdefghiZ".repeat(30)).unwrap();
    fails(
        &["train", "--resume", &out, "--steps", "3"],
        &[
            "the run's text changed",
            "character 'Z'",
            "the checkpoint's vocabulary",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(Path::new(&out).join("vocab.json")).unwrap(),
        vocab
    );
    // Same characters in another order: resumes with the saved ids.
    std::fs::write(&text, "jihgfedcba".repeat(30)).unwrap();
    let (code, _, stderr) = unmask(&["train", "--resume", &out, "--steps", "3"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(Path::new(&out).join("vocab.json")).unwrap(),
        vocab
    );
    let empty = tmp("empty.txt");
    std::fs::write(&empty, "").unwrap();
    fails(
        &[
            "train",
            "--text",
            &empty.display().to_string(),
            "--out",
            &tmp("e").display().to_string(),
        ],
        &["0 characters", "fewer than a window of 64 + 1", "--len"],
    );
}

#[test]
fn the_budget_prices_networks_before_allocating() {
    let out = tmp("too-big").display().to_string();
    let started = std::time::Instant::now();
    fails(
        &[
            "train",
            "--dist",
            SPEC,
            "--out",
            &out,
            "--size",
            "tiny,d=4096,layers=40,mlp=16384",
        ],
        &["training", "parameters", "GiB of memory", "--max-memory"],
    );
    fails(
        &[
            "train",
            "--dist",
            "markov:n=100000,q=4,stay=0.8",
            "--out",
            &out,
        ],
        &["batches of 32 × 100000 tokens", "TiB of memory"],
    );
    fails(
        &[
            "train",
            "--dist",
            SPEC,
            "--out",
            &out,
            "--steps",
            "1000000000",
        ],
        &["1000000000 steps", "operations", "--max-work"],
    );
    assert!(started.elapsed().as_secs() < 20, "refused up front");
    assert!(!Path::new(&out).exists());
    // Checkpoint reads are priced from the header; a device file is no checkpoint.
    let m = trained("priced", "1");
    fails(
        &[
            "--max-memory",
            "100K",
            "predict",
            "--model",
            &m,
            "--ids",
            &["1"; 10].join(",").replace("1,1", "1,_"),
        ],
        &["reading the checkpoint", "KiB of memory", "--max-memory"],
    );
    let zero = tmp("zero-model");
    std::fs::create_dir_all(&zero).unwrap();
    std::fs::copy(Path::new(&m).join("config.json"), zero.join("config.json")).unwrap();
    let link = zero.join("model.safetensors");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    fails(
        &[
            "predict",
            "--model",
            &zero.display().to_string(),
            "--ids",
            "_",
        ],
        &["model.safetensors", "not a regular file"],
    );
    // A foreign checkpoint (no record of its length) at 20,000 masked positions: priced.
    let foreign = tmp("foreign-long");
    std::fs::create_dir_all(&foreign).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(Path::new(&m).join(f), foreign.join(f)).unwrap();
    }
    fails(
        &[
            "predict",
            "--model",
            &foreign.display().to_string(),
            "--ids",
            &vec!["_"; 20_000].join(","),
        ],
        &["one forward pass over 20000 positions", "GiB of memory"],
    );
    // A model's own length is the only one it answers for.
    fails(
        &["predict", "--model", &m, "--ids", "1,_,_,3"],
        &["4 positions", "trained on sequences of length 10"],
    );
    fails(
        &["estimate", "--dist", SPEC, "--model", &m, "--samples", "1"],
        &["--samples", "at least two draws"],
    );
}

#[test]
fn verify_names_its_figure_the_order_averaged_expected_kl() {
    let (code, stdout, stderr) = unmask(&[
        "verify",
        "--dist",
        "markov:n=10,q=3,stay=0.8",
        "--schedule",
        "5,5",
        "--samples",
        "200",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("expected KL (averaged over orders), Monte Carlo"),
        "{stdout}"
    );
    assert!(
        stdout.contains("KL(μ‖ν) of the sampler's output law"),
        "{stdout}"
    );
    let m = trained("labelled", "1");
    let (code, stdout, stderr) = unmask(&[
        "verify",
        "--dist",
        SPEC,
        "--model",
        &m,
        "--schedule",
        "5,5",
        "--samples",
        "20",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("expected KL (averaged over orders), Monte Carlo"),
        "{stdout}"
    );
    assert!(!stdout.contains("KL(μ‖ν), Monte Carlo"), "{stdout}");
}
