"""The presets against re-implementations of their sources' code in the sources' numeric types
(NumPy int64 / float32 standing in for torch and JAX), over many lengths and step counts."""

import math

import numpy as np
import pytest

import unmask


def llada_counts(n, steps, block):
    """LLaDA generate.py: get_num_transfer_tokens per block (torch int64 arithmetic)."""
    counts = []
    blocks = n // block
    per_block = steps // blocks
    for _ in range(blocks):
        mask_num = np.int64(block)
        base, remainder = mask_num // per_block, mask_num % per_block
        row = np.zeros(per_block, dtype=np.int64) + base
        row[:remainder] += 1
        counts.extend(row.tolist())
    return counts


def torch_linspace_f32(start, end, points):
    """ATen's linspace kernel in float32: first half from start, second half from end."""
    start, end = np.float32(start), np.float32(end)
    step = (end - start) / np.float32(points - 1)
    half = points // 2
    return [start + step * np.float32(i) if i < half else end - step * np.float32(points - i - 1)
            for i in range(points)]


def dream_counts(n, steps, eps=1e-3):
    """Dream generation_utils.py (_sample, alg != 'origin'): float32 tensors, int() truncation."""
    ts = torch_linspace_f32(1.0, eps, steps + 1)
    masked, counts = n, []
    for i in range(steps):
        t, s = ts[i], ts[i + 1]
        num_mask_token = np.float32(masked)  # mask_index.sum() / batch, float32
        k = int(num_mask_token * (np.float32(1.0) - s / t)) if i < steps - 1 else int(num_mask_token)
        counts.append(k)
        masked -= k
    return counts


def maskgit_counts(n, steps):
    """MaskGIT mask_schedule + decode loop (JAX float32 with x64 off)."""
    unknown, counts = n, []
    for i in range(steps):
        if i == steps - 1:
            counts.append(unknown)
            break
        ratio = 1.0 * (i + 1) / steps
        mask_ratio = np.clip(np.cos(np.float32(math.pi / 2.0 * ratio)), np.float32(1e-6), np.float32(1.0))
        mask_len = np.floor(np.float32(n) * mask_ratio)
        mask_len = int(max(1, min(unknown - 1, mask_len)))
        counts.append(unknown - mask_len)
        unknown = mask_len
    return counts


@pytest.mark.parametrize("n", [1, 2, 7, 16, 100, 128, 255, 256, 512, 1000])
def test_llada_dream_maskgit(n):
    mismatches = []
    for k in range(1, n + 1):
        assert unmask.schedule(f"uniform:steps={k}", n).tolist() == llada_counts(n, k, n)
        if unmask.schedule(f"dream:steps={k}", n).tolist() != dream_counts(n, k):
            mismatches.append(("dream", k))
        if unmask.schedule(f"cosine:steps={k}", n).tolist() != maskgit_counts(n, k):
            mismatches.append(("cosine", k))
    assert not mismatches, mismatches


def test_llada_blocks():
    for n, block in [(256, 32), (128, 8), (96, 32)]:
        for k in range(n // block, n + 1, n // block):
            assert unmask.schedule(f"llada:steps={k},block={block}", n).tolist() == llada_counts(n, k, block)


def test_peers_examples():
    """The two quirks peers.md checked numerically."""
    assert unmask.schedule("uniform:steps=8", 100).tolist() == [13, 13, 13, 13, 12, 12, 12, 12]
    assert unmask.schedule("dream:steps=8", 100).tolist() == [12, 12, 12, 12, 12, 13, 13, 14]
    dream = unmask.schedule("dream:steps=512", 512).tolist()
    assert dream[0] == 0 and dream[-1] == 2 and set(dream[1:-1]) == {1}
