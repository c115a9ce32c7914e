"""The whole unmask loop on a synthetic model, NumPy only (runs in CI).

A "model" whose predictions are exact for a stationary Markov chain (stay with probability 0.9,
else move uniformly among q symbols) plays the trained MDM; its own samples play the data set.
We estimate the information curve from the model's predictions alone, plan an optimal schedule,
and compare it with LLaDA's uniform schedule, both on the estimated and on the exact curve.

    python examples/synthetic_markov.py
"""

import numpy as np

import unmask

N, Q, STAY = 64, 4, 0.9


def chain_power(d: np.ndarray) -> tuple:
    """Diagonal and off-diagonal entries of P^d for the stay chain (d may be an array)."""
    lam = STAY - (1.0 - STAY) / (Q - 1)
    diag = 1.0 / Q + (1.0 - 1.0 / Q) * lam**d
    return diag, (1.0 - diag) / (Q - 1)


def sample_chain(m: int, rng: np.random.Generator) -> np.ndarray:
    x = np.empty((m, N), dtype=np.int64)
    x[:, 0] = rng.integers(Q, size=m)
    for i in range(1, N):
        move = rng.random(m) >= STAY
        other = (x[:, i - 1] + rng.integers(1, Q, size=m)) % Q
        x[:, i] = np.where(move, other, x[:, i - 1])
    return x


def predict(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Exact conditional marginals: each masked position depends on its nearest revealed
    neighbours l < i < r only, p(v) ∝ P^{i-l}[x_l, v] · P^{r-i}[v, x_r]."""
    b, n = tokens.shape
    idx = np.arange(n)[None, :].repeat(b, axis=0)
    left = np.maximum.accumulate(np.where(~mask, idx, -1), axis=1)
    right = np.minimum.accumulate(np.where(~mask, idx, n)[:, ::-1], axis=1)[:, ::-1]
    v = np.arange(Q)[None, None, :]
    probs = np.ones((b, n, Q))
    has_left = left >= 0
    xl = np.take_along_axis(tokens, np.maximum(left, 0), axis=1)
    dl_diag, dl_off = chain_power(np.where(has_left, idx - left, 0))
    from_left = np.where(v == xl[:, :, None], dl_diag[:, :, None], dl_off[:, :, None])
    probs *= np.where(has_left[:, :, None], from_left, 1.0 / Q)
    has_right = right < n
    xr = np.take_along_axis(tokens, np.minimum(right, n - 1), axis=1)
    dr_diag, dr_off = chain_power(np.where(has_right, right - idx, 0))
    to_right = np.where(v == xr[:, :, None], dr_diag[:, :, None], dr_off[:, :, None])
    probs *= np.where(has_right[:, :, None], to_right, 1.0)
    return probs / probs.sum(axis=2, keepdims=True)


def main() -> None:
    rng = np.random.default_rng(1)
    data = sample_chain(2000, rng)
    estimated = unmask.estimate_curve(predict, data, points=16, seed=2)
    exact = unmask.Curve.from_dist(f"markov:n={N},q={Q},stay={STAY}")
    print(f"estimated curve: {estimated}  (largest repair {estimated.correction[0]:.2e})")
    print(f"exact curve:     {exact}")
    worst = max(abs(estimated.z[j - 1] - exact.z[j - 1]) / se for j, se in estimated.stderr if se > 0)
    print(f"largest |estimate - exact| at the grid points: {worst:.2f} standard errors")
    for k in (4, 8, 16):
        plan = unmask.optimal_schedule(estimated, steps=k)
        uniform = f"uniform:steps={k}"
        print(
            f"{k:2d} steps: optimal {plan['schedule'].tolist()}\n"
            f"          E-KL on the exact curve: optimal {unmask.expected_kl(exact, plan['schedule']):.4f}"
            f" vs uniform {unmask.expected_kl(exact, uniform):.4f} nats"
        )


if __name__ == "__main__":
    main()
