#!/usr/bin/env bash
# Compile-checks the `cuda` feature (candle's CUDA backend and its kernels) on a machine with no
# GPU and no system CUDA toolkit: nvcc, the CUDA headers and libraries come from NVIDIA's wheels
# on the Python registry, into target/cuda-venv. Not part of the tests (1.2 GB download, about
# 6 minutes on 2 cores). It checks that unmask builds against candle's CUDA backend; linking and
# running need the NVIDIA driver (libcuda) and a GPU:
#   cargo build --release --features cuda && unmask predict --device cuda --model DIR ...
#
# CUDA_COMPUTE_CAP picks the GPU generation the kernels are compiled for (default 90, Hopper).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/cuda-venv
if [ ! -x "$venv/bin/python" ]; then
    echo "check-cuda: installing nvcc and the CUDA 13 headers into $venv (about 1.2 GB)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "nvidia-cuda-nvcc==13.*" "nvidia-cuda-runtime==13.*" \
        "nvidia-cuda-cccl==13.*" "nvidia-cuda-crt==13.*" "nvidia-cuda-nvrtc==13.*" \
        "nvidia-cublas==13.*" nvidia-curand
fi
cuda=$("$venv/bin/python" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')
export CUDA_HOME="$cuda" CUDA_PATH="$cuda" PATH="$cuda/bin:$PATH"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
# cudarc 0.19 lists CUDA versions up to 13.4; the 13.x driver API it binds is unchanged in 13.5.
version=$(nvcc --version | sed -n 's/.*release \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r major minor <<<"$version"
if [ "$major" -eq 13 ] && [ "$minor" -gt 4 ]; then minor=4; fi
export CUDARC_CUDA_VERSION="${CUDARC_CUDA_VERSION:-${major}0${minor}0}"
echo "check-cuda: nvcc $(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'), sm_$CUDA_COMPUTE_CAP, cudarc bindings $CUDARC_CUDA_VERSION"
CARGO_TARGET_DIR=target/cuda cargo check -p unmask-cli --features cuda --all-targets
echo "check-cuda: unmask compiles with --features cuda"
