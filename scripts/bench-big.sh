#!/usr/bin/env bash
# Issue 9 §4's big-input targets, measured on the release binary: wall time and peak memory of
# compare at n = 10^7 (target < 10 s) and plan at n = 10^8 (target < 10 s and < 2 GB; Z alone
# is 800 MB, the floor), and the q = 50000 stay chain computed from its structure.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/unmask
run() {
    /usr/bin/time -f "%e s, %M KiB peak  $*" "$bin" "$@" --max-memory 8GiB --max-work 1e12 \
        >/dev/null 2>/tmp/bench-big.$$ || { cat /tmp/bench-big.$$; exit 1; }
    tail -n 1 /tmp/bench-big.$$
}
run compare --dist parity:n=10000000 --steps 16
run compare --dist logfactor:n=10000000,eps=0.1 --steps 64
run plan --dist parity:n=100000000 --steps 8
run plan --dist logfactor:n=100000000,eps=0.1 --steps 64
run plan --dist markov:n=16,q=50000,stay=0.9 --steps 4
rm -f /tmp/bench-big.$$
