//! The README's console examples, regenerated from the binary: every ```` ```console ```` block's
//! `$ unmask …` lines are run and their output must equal the lines that follow, so the examples
//! cannot go stale.

use std::process::Command;

#[test]
fn readme_console_examples_are_the_binarys_output() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let mut checked = 0;
    let mut lines = readme.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() != "```console" {
            continue;
        }
        let mut block: Vec<&str> = Vec::new();
        for l in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            block.push(l);
        }
        let mut k = 0;
        while k < block.len() {
            let Some(command) = block[k].strip_prefix("$ unmask ") else {
                k += 1;
                continue;
            };
            let mut expected = Vec::new();
            k += 1;
            while k < block.len() && !block[k].starts_with("$ ") {
                expected.push(block[k]);
                k += 1;
            }
            let out = Command::new(env!("CARGO_BIN_EXE_unmask"))
                .args(command.split_whitespace())
                .output()
                .expect("the binary runs");
            assert!(
                out.status.success(),
                "README example failed: unmask {command}"
            );
            let actual = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                actual.trim_end(),
                expected.join("\n").trim_end(),
                "README example `unmask {command}` is stale: regenerate it from the binary"
            );
            checked += 1;
        }
    }
    assert!(checked >= 1, "no console examples found in the README");
}
