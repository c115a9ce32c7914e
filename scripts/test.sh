#!/usr/bin/env bash
# The whole test suite: Rust (unit, property, integration, CLI, doc tests), then the Python
# package built from source into a private virtual environment and its pytest suite (which
# compares the Python API with the CLI binary built by the first step, and the peers' presets
# with the peers' own frameworks: PyTorch and JAX on CPU, about 6 GB, installed once and reused).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\n==> %s\n' "$*" >&2; }
say "cargo test --workspace"
cargo test --workspace
if [ ! -x target/venv/bin/python ]; then
    say "creating target/venv"
    python3 -m venv target/venv
fi
if ! target/venv/bin/python -c "import torch, jax, pytest" 2>/dev/null; then
    say "installing pytest, torch and jax into target/venv (first run only; about 6 GB)"
    target/venv/bin/python -m pip install --quiet --upgrade pip
    target/venv/bin/python -m pip install --quiet pytest torch jax
fi
say "building and installing the Python package (maturin, release)"
target/venv/bin/python -m pip install --quiet ./python
say "pytest python/tests (the MaskGIT comparison compiles 1024 JAX loops: about 3 minutes)"
UNMASK_BIN="$PWD/target/debug/unmask" UNMASK_REQUIRE_FRAMEWORKS=1 \
    target/venv/bin/python -m pytest -q python/tests
