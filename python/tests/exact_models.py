"""Exact references for the PyTorch bridge's tests, written independently of unmask.

* ``MarkovModel``: a torch module whose "logits" are the exact conditional marginals of a
  stay-or-move Markov chain given the revealed positions (forward–backward in float64), i.e. a
  perfect mask predictor. ``shift=True`` emits them one position early, as a Dream-style
  (shifted) model does.
* ``enumerated_curve``: the information curve by enumeration of the joint law (every sequence,
  every subset of revealed positions), optionally given a revealed prefix and restricted to one
  block with the later blocks marginalised out.
"""

import itertools
import math

import numpy as np
import torch


def transition(q, stay):
    t = np.full((q, q), (1.0 - stay) / (q - 1))
    np.fill_diagonal(t, stay)
    return t


class MarkovModel(torch.nn.Module):
    """Exact marginals of the chain (uniform start, stay w.p. ``stay``); token q is the mask."""

    def __init__(self, q, stay, shift=False):
        super().__init__()
        self.q, self.mask_id, self.shift = q, q, shift
        self.register_buffer("t", torch.tensor(transition(q, stay)))
        self.calls = 0

    def forward(self, ids):
        self.calls += 1
        b, n = ids.shape
        q = self.q
        revealed = ids != self.mask_id
        evidence = torch.ones((b, n, q), dtype=torch.float64)
        onehot = torch.nn.functional.one_hot(ids.clamp(max=q - 1), q).double()
        evidence = torch.where(revealed[..., None], onehot, evidence)
        alpha = torch.empty((b, n, q), dtype=torch.float64)
        a = evidence[:, 0] / q
        alpha[:, 0] = a / a.sum(-1, keepdim=True)
        for i in range(1, n):
            a = (alpha[:, i - 1] @ self.t) * evidence[:, i]
            alpha[:, i] = a / a.sum(-1, keepdim=True)
        beta = torch.ones((b, n, q), dtype=torch.float64)
        for i in range(n - 2, -1, -1):
            v = (evidence[:, i + 1] * beta[:, i + 1]) @ self.t.T
            beta[:, i] = v / v.sum(-1, keepdim=True)
        post = alpha * beta
        post = post / post.sum(-1, keepdim=True)
        logits = torch.full((b, n, q + 1), -math.inf, dtype=torch.float64)
        logits[..., :q] = post.log()
        if self.shift:  # the logit at i predicts token i + 1
            logits = torch.cat([logits[:, 1:], logits[:, -1:]], dim=1)
        return logits


def joint(n, q, stay):
    """p(x) for every x in q^n, as an n-dimensional array."""
    t = transition(q, stay)
    p = np.full((q,), 1.0 / q)
    for _ in range(n - 1):
        p = p[..., None] * t.reshape((1,) * (p.ndim - 1) + (q, q))
    return p


def _entropy_of(p, keep):
    drop = tuple(i for i in range(p.ndim) if i not in keep)
    m = p.sum(axis=drop) if drop else p
    m = m[m > 0]
    return float(-(m * np.log(m)).sum())


def enumerated_curve(p, prefix=0, block=None, index=0):
    """Z_1..Z_L of the positions ``prefix + index·L .. prefix + (index+1)·L`` given positions
    ``< prefix + index·L`` revealed and the later ones marginalised out: Z_{t+1} = h(0) − h(t),
    h(t) the mean over |S| = t subsets of the block and i outside S of H(X_i | X_S, prefix)."""
    n = p.ndim
    length = block or (n - prefix)
    lo = prefix + index * length
    cols = list(range(lo, lo + length))
    given = tuple(range(lo))
    cache = {}

    def h(keep):
        key = tuple(sorted(keep))
        if key not in cache:
            cache[key] = _entropy_of(p, set(key))
        return cache[key]

    prof = []
    for t in range(length):
        vals = []
        for s in itertools.combinations(cols, t):
            base = h(given + s)
            vals.extend(h(given + s + (i,)) - base for i in cols if i not in s)
        prof.append(np.mean(vals))
    return np.array([prof[0] - v for v in prof])


def entropy(p, prefix=0):
    """H(X_{prefix..n} | X_{<prefix})."""
    return _entropy_of(p, set(range(p.ndim))) - _entropy_of(p, set(range(prefix)))
