#!/usr/bin/env bash
# Coverage-guided fuzzing of unmask's entry points with cargo-fuzz (libFuzzer + AddressSanitizer,
# debug assertions and overflow checks), on the stable toolchain.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 600 s, every target)
#
# The corpus of each target grows in fuzz/corpus/<target>; a crash lands in fuzz/artifacts/.
# Once fixed, copy the crashing input into fuzz/regressions/<target>/: the replay test
# (crates/unmask-cli/tests/replay.rs, part of scripts/test.sh) runs every corpus and regression
# input through the library and the CLI, so CI keeps what fuzzing found without a fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(schedule_spec dist_spec rule_spec curve_file curve_values small_sampling checkpoint_header)
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo-fuzz passes -Zsanitizer flags; this lets the stable compiler accept them.
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/regressions/$t"
    echo "==> fuzzing $t for $seconds s" >&2
    cargo fuzz run --fuzz-dir fuzz --debug-assertions "$t" "fuzz/corpus/$t" "fuzz/regressions/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 -max_len=4096 \
        -print_final_stats=1 2>&1 | tee "fuzz/$t.log" | grep -E "^(#[0-9]+\s+DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY|Done)" || true
done
