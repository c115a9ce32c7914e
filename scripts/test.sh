#!/usr/bin/env bash
# The whole test suite: Rust (unit, property, integration, CLI, doc tests), then the Python
# package built from source into a private virtual environment and its pytest suite (which
# compares the Python API with the CLI binary built by the first step).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
python3 -m venv target/venv
target/venv/bin/python -m pip install --quiet --upgrade pip
target/venv/bin/python -m pip install --quiet ./python pytest
UNMASK_BIN="$PWD/target/debug/unmask" target/venv/bin/python -m pytest -q python/tests
