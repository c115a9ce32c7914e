"""unmask: optimal unmasking schedules for masked diffusion models.

A masked diffusion model (LLaDA, Dream, MDLM, ...) reveals a batch of tokens per forward pass and
samples them independently; the schedule (tokens per pass) sets the speed/quality trade-off. The
expected KL error of any schedule is exactly the left-endpoint step-approximation error of the
data's *information curve* Z (Chen, Cong, Li 2025, Theorem 16). This package computes it,
optimises it, and estimates Z from a model's predictions.

All numbers are in the curve's unit ("nats" by default, or "bits"). Errors are ``ValueError``
with the same messages as the ``unmask`` command-line tool.

PyTorch models plug in through ``unmask.torch`` (estimate a model's curve, generate with any
schedule, score schedules on held-out data); it needs torch, this module does not.

Quick start::

    import unmask
    curve = unmask.Curve.from_masked_losses(256, [0, 64, 128, 255], [2.1, 1.6, 1.4, 1.26])
    plan = unmask.optimal_schedule(curve, steps=32)
    counts = unmask.transfer_counts(plan["schedule"], batch_size=4)
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import numpy as np

from ._unmask import (
    BlockCurves,
    Curve,
    __version__,
    compare,
    draw,
    estimation_grid,
    estimation_orders,
    expected_kl,
    frontier,
    optimal_schedule,
    schedule,
    transfer_counts,
    unit_name as _unit_name,
)

__all__ = [
    "BlockCurves",
    "Curve",
    "__version__",
    "compare",
    "draw",
    "estimate_curve",
    "estimation_grid",
    "estimation_orders",
    "expected_kl",
    "frontier",
    "optimal_schedule",
    "schedule",
    "transfer_counts",
]


def _grid(n: int, points: Union[int, Sequence[int]]) -> list:
    """Revealed counts t to measure: P evenly spaced values in 1..n-1 (plus 0), or a list."""
    if isinstance(points, (int, np.integer)):
        if points < 1:
            raise ValueError(f"points must be at least 1, got {points}")
        # The Rust estimator's grid (halves rounded away from zero; O(n) for any P).
        return list(estimation_grid(int(n), int(min(points, 2**63 - 1))))
    else:
        ts = {int(t) for t in points} | {0}
    bad = [t for t in ts if not 0 <= t < n]
    if bad:
        raise ValueError(f"revealed counts must lie in 0..{n - 1}, got {sorted(bad)}")
    return sorted(ts)


def _check_probabilities(probs: np.ndarray, first: int) -> None:
    """Refuses what is not a probability table: non-finite or negative values, or rows that do
    not sum to 1 (within 1e-3: float16/bfloat16 softmax outputs); logits given by mistake fail
    here instead of producing a curve above log q."""
    bad = ~np.isfinite(probs)
    if bad.any():
        b, i, v = np.argwhere(bad)[0]
        raise ValueError(f"predict returned {probs[b, i, v]} at sequence {first + b}, position {i}, "
                         f"token {v}: probabilities must be finite")
    if (probs < 0).any():
        b, i, v = np.argwhere(probs < 0)[0]
        raise ValueError(f"predict returned a negative probability {probs[b, i, v]} at sequence {first + b}, "
                         f"position {i}, token {v} (logits? apply softmax first)")
    sums = probs.sum(axis=2)
    off = np.abs(sums - 1.0) > 1e-3
    if off.any():
        b, i = np.argwhere(off)[0]
        raise ValueError(f"predict's probabilities at sequence {first + b}, position {i} sum to {sums[b, i]:.6g}, "
                         "not 1 (logits? apply softmax over the vocabulary first)")


def estimate_curve(
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray],
    sequences: np.ndarray,
    points: Union[int, Sequence[int]] = 16,
    seed: int = 0,
    batch_size: int = 64,
    loss: str = "entropy",
    unit: str = "nats",
) -> Curve:
    """Estimate the information curve of the data a model was trained on, from the model alone.

    For each sequence, a random order of positions is drawn once; for each revealed count t of
    the grid, the first t positions of that order are revealed and ``predict`` is asked for the
    rest. The mean predicted entropy of the masked positions estimates ``h(t) = E H(X_i | X_S)``
    (``loss="entropy"``, unbiased for a calibrated model); the mean cross-entropy
    ``-log p(x_i)`` of the true tokens is the training-loss variant (``loss="cross_entropy"``,
    biased upward by model error). ``Z_{t+1} = h(0) - h(t)`` is averaged per sequence (the same
    order serves every t, so differences have small variance) and the curve is built from the
    grid points with the monotone repair applied and reported in ``curve.correction``;
    ``curve.stderr`` lists ``(j, standard error)``.

    Args:
        predict: maps ``(tokens, mask)`` — int64 array (B, n) and bool array (B, n) with True at
            masked positions — to probabilities (B, n, q). Masked tokens hold their true value;
            a model must ignore them (replace them by its mask id).
        sequences: int array (M, n) of token ids (a data set, or draws from a distribution).
        points: number of grid points P (evenly spaced in 1..n-1, plus 0), or explicit counts.
        seed: the orders are ``estimation_orders(n, M, seed)``: those of the Rust estimator
            (``unmask estimate --seed``) and of ``unmask.torch.estimate_curve``.
        batch_size: sequences per ``predict`` call.
        loss: "entropy" or "cross_entropy".
        unit: unit of the returned curve.

    Example (a three-line wrapper around a PyTorch model)::

        def predict(tokens, mask):
            x = torch.as_tensor(tokens).masked_fill(torch.as_tensor(mask), MASK_ID)
            with torch.no_grad():
                return model(x).logits.softmax(-1).float().cpu().numpy()
    """
    if loss not in ("entropy", "cross_entropy"):
        raise ValueError(f"loss must be 'entropy' or 'cross_entropy', got {loss!r}")
    unit = _check_unit(unit)
    seqs = np.asarray(sequences)
    if seqs.ndim != 2 or seqs.shape[0] < 2 or seqs.shape[1] < 2:
        raise ValueError(f"sequences must be a 2-D array with at least 2 rows and 2 columns, got shape {seqs.shape}")
    if not np.issubdtype(seqs.dtype, np.integer):
        raise ValueError(f"sequences must hold integer token ids, got dtype {seqs.dtype}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    seqs = seqs.astype(np.int64)
    m, n = seqs.shape
    grid = _grid(n, points)
    orders = estimation_orders(n, m, seed)
    # rank[b, i] = position of i in sequence b's order: i is revealed at t iff rank < t.
    rank = np.empty_like(orders)
    np.put_along_axis(rank, orders, np.arange(n)[None, :].repeat(m, axis=0), axis=1)
    per_seq = np.zeros((m, len(grid)))
    for g, t in enumerate(grid):
        for start in range(0, m, batch_size):
            tokens = seqs[start : start + batch_size]
            mask = rank[start : start + batch_size] >= t
            probs = np.asarray(predict(tokens, mask), dtype=np.float64)
            if probs.ndim != 3 or probs.shape[:2] != tokens.shape:
                raise ValueError(f"predict returned shape {probs.shape}, expected ({tokens.shape[0]}, {n}, q)")
            _check_probabilities(probs, start)
            if loss == "entropy":
                with np.errstate(divide="ignore", invalid="ignore"):
                    terms = np.where(probs > 0, -probs * np.log(probs), 0.0).sum(axis=2)
            else:
                if tokens.max() >= probs.shape[2] or tokens.min() < 0:
                    raise ValueError("a token id is outside the vocabulary of predict's output")
                chosen = np.take_along_axis(probs, tokens[:, :, None], axis=2)[:, :, 0]
                terms = -np.log(np.maximum(chosen, np.finfo(float).tiny))
            per_seq[start : start + batch_size, g] = (terms * mask).sum(axis=1) / mask.sum(axis=1)
    return _curve_from_profiles(per_seq, grid, n, unit)


def _check_unit(unit: str) -> str:
    """The unit's canonical name, "nats" or "bits", by the core's one rule (singular or plural,
    any case); an unknown unit is refused before any model is asked anything."""
    try:
        return _unit_name(unit)
    except (ValueError, TypeError):
        raise ValueError(f"unknown unit {unit!r}, expected \"nats\" or \"bits\"") from None


def _curve_from_profiles(per_seq: np.ndarray, grid: Sequence[int], n: int, unit: str) -> Curve:
    """The estimators' common tail: per-sequence losses ``h(t)`` at the grid's t (M × len(grid),
    nats) to the curve ``Z_{t+1} = h(0) − h(t)`` averaged over sequences (coupled: each
    sequence's own h(0)), with standard errors over sequences, repaired onto the monotone set."""
    diffs = per_seq[:, [0]] - per_seq
    means = diffs.mean(axis=0)
    ses = diffs.std(axis=0, ddof=1) / np.sqrt(per_seq.shape[0])
    factor = 1.0 if unit == "nats" else 1.0 / np.log(2.0)
    pts = [(t + 1, float(z) * factor) for t, z in zip(grid, means)]
    errs = [(t + 1, float(s) * factor) for t, s in zip(grid, ses)]
    return Curve.from_points(n, pts, unit=unit, repair=True, stderr=errs)
