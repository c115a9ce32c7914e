"""optimal_schedule on a 10^6-point curve: the Python call against the Rust library call.

The Rust time is measured inside the extension around the same library function
(`unmask._unmask._rust_seconds_optimal`); the Python time adds argument conversion, releasing
the interpreter lock and building the result (the schedule array is handed over without a copy).
Both are the best of several runs.

    target/venv/bin/python python/bench/bench_optimal.py
"""

import time

import numpy as np

import unmask
from unmask import _unmask

N = 1_000_000
REPEATS = 5


def main() -> None:
    rng = np.random.default_rng(7)
    j = np.arange(N)
    increments = 2.0 * np.exp(-j / (N / 8)) / (N / 8) + np.where(rng.random(N) < 0.001, 0.5, 0.0)
    increments += np.where(rng.random(N) < 0.3, 0.0, rng.random(N) * 1e-4)
    increments[0] = 0.0
    z = np.cumsum(increments)
    start = time.perf_counter()
    curve = unmask.Curve(z)
    build = time.perf_counter() - start
    print(f"Curve(z) from a NumPy array of {N} floats: {build * 1e3:.1f} ms (one validated copy)")
    for k in (16, 256, 4096):
        best = float("inf")
        for _ in range(REPEATS):
            start = time.perf_counter()
            plan = unmask.optimal_schedule(curve, steps=k)
            best = min(best, time.perf_counter() - start)
        rust = _unmask._rust_seconds_optimal(curve, k, REPEATS)
        assert plan["steps"] == k
        print(f"K = {k:5d}: Python {best * 1e3:7.1f} ms, Rust {rust * 1e3:7.1f} ms, ratio {best / rust:.3f}")


if __name__ == "__main__":
    main()
