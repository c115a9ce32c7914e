"""The peers' presets against the peers' own frameworks.

Each reference below is written by this project from the upstream source it names and runs in
that source's framework and dtype: MaskGIT's decode loop under ``jax.jit``/``lax.while_loop``
(float32, x64 off), Dream's and MDLM's grids with ``torch.linspace`` and their count arithmetic in
torch tensors, LLaDA's ``get_num_transfer_tokens`` and block loop in torch. None of them calls
unmask's arithmetic; unmask's answers come from the Python package and the CLI.

``UNMASK_REQUIRE_FRAMEWORKS=1`` (set by ``scripts/test.sh``) turns a missing torch or jax into a
failure instead of a skip.
"""

import json
import math
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

import unmask

ROOT = Path(__file__).resolve().parents[2]
N_MAX = 1024


def _framework(name):
    if os.environ.get("UNMASK_REQUIRE_FRAMEWORKS") == "1":
        return __import__(name)
    return pytest.importorskip(name)


def cli(*args):
    binary = os.environ.get("UNMASK_BIN", str(ROOT / "target" / "debug" / "unmask"))
    out = subprocess.run([binary, *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def ours(spec, n):
    return unmask.schedule(spec, n).tolist()


def pairs_report(name, compared, mismatches):
    """Prints the per-preset tally that the closing note quotes (pytest -s shows it)."""
    print(f"{name}: {compared} pairs compared, {len(mismatches)} mismatches")
    assert not mismatches, f"{name}: {len(mismatches)} of {compared} differ, e.g. {mismatches[:5]}"


# --- MaskGIT (google-research/maskgit, maskgit/libml/parallel_decode.py `decode`, -----------
# --- maskgit/libml/mask_schedule.py `schedule`) in JAX ------------------------------------------

def maskgit_decode_counts(jax, num_iter):
    """Tokens revealed per iteration by MaskGIT's decode loop, for a batch of lengths.

    As in the source, the iteration index is a traced int32 in ``lax.while_loop`` and
    ``num_iter`` a Python constant; ``unknown_number_in_the_beginning`` is per row. The loop
    re-masks ``mask_len`` tokens after each iteration; the last iteration's sample is the output,
    so it reveals every token still unknown.
    """
    jnp, lax = jax.numpy, jax.lax

    def run(unknown_at_start):
        def body(state):
            step, unknown, out = state
            ratio = 1. * (step + 1) / num_iter
            mask_ratio = jnp.clip(lax.cos(math.pi / 2. * ratio), 1e-6, 1.)  # schedule("cosine")
            mask_len = jnp.floor(unknown_at_start * mask_ratio)
            mask_len = jnp.maximum(1, jnp.minimum(unknown - 1, mask_len)).astype(jnp.int32)
            revealed = jnp.where(step == num_iter - 1, unknown, unknown - mask_len)
            return step + 1, unknown - revealed, out.at[:, step].set(revealed)

        init = (jnp.int32(0), unknown_at_start,
                jnp.zeros((unknown_at_start.shape[0], num_iter), jnp.int32))
        return lax.while_loop(lambda s: s[0] < num_iter, body, init)[2]

    return jax.jit(run)


def test_maskgit_cosine_against_jax():
    jax = _framework("jax")
    assert not jax.config.jax_enable_x64
    compared, mismatches = 0, []
    for k in range(1, N_MAX + 1):
        ns = np.arange(k, N_MAX + 1, dtype=np.int32)
        counts = np.asarray(maskgit_decode_counts(jax, k)(jax.numpy.asarray(ns)))
        for row, n in zip(counts, ns):
            compared += 1
            if ours(f"cosine:steps={k}", int(n)) != row.tolist():
                mismatches.append((int(n), k))
    pairs_report("cosine (MaskGIT, JAX)", compared, mismatches)


def test_maskgit_known_pair():
    """MaskGIT's own size: 256 tokens in 60 iterations reveal 6 then 5 at iterations 37 and 38."""
    assert ours("cosine:steps=60", 256)[36:38] == [6, 5]


# --- Dream (Dream-org/Dream-v0-Instruct-7B generation_utils.py, `_sample`, alg != 'origin') ---

def dream_counts_torch(torch, ns, steps, eps=1e-3):
    """Dream's per-step counts for sequences of every length in ``ns`` (one row each).

    ``num_mask_token = mask_index.sum() / mask_index.shape[0]`` is a float32 tensor (true
    division of an int64 sum), ``1 - s / t`` float32 on the ``torch.linspace`` grid, and
    ``int(...)`` truncates; the last step takes every remaining mask.
    """
    timesteps = torch.linspace(1, eps, steps + 1)
    masked = torch.as_tensor(ns, dtype=torch.int64)
    out = torch.zeros((len(ns), steps), dtype=torch.int64)
    for i in range(steps):
        t, s = timesteps[i], timesteps[i + 1]
        num_mask_token = masked / 1  # per sequence: batch of one
        if i < steps - 1:
            k = (num_mask_token * (1 - s / t)).to(torch.int64)  # int(): truncation
        else:
            k = num_mask_token.to(torch.int64)
        out[:, i] = k
        masked = masked - k
    return out


def dream_all_pairs(torch):
    """{(n, K): counts} for every n ≤ N_MAX, K ≤ n, from torch."""
    assert torch.get_default_dtype() == torch.float32
    return {(n, k): row
            for k in range(1, N_MAX + 1)
            for n, row in zip(range(k, N_MAX + 1),
                              dream_counts_torch(torch, list(range(k, N_MAX + 1)), k).tolist())}


def compare_dream(name, spec_suffix, reference):
    mismatches = [(n, k) for (n, k), row in reference.items()
                  if ours(f"dream:steps={k}{spec_suffix}", n) != row]
    pairs_report(name, len(reference), mismatches)


def test_dream_against_torch():
    """The default arithmetic (fused multiply-add) against torch on this CPU's vector dispatch."""
    torch = _framework("torch")
    capability = torch.backends.cpu.get_cpu_capability()
    if capability == "DEFAULT":
        pytest.skip("this CPU has no AVX2: torch uses its scalar kernel (tested below)")
    compare_dream(f"dream (torch {capability})", "", dream_all_pairs(torch))


def test_dream_plain_against_torch_scalar_kernel():
    """``linspace=plain`` against torch with its vector dispatch turned off."""
    _framework("torch")
    script = ("import json, torch, sys; sys.path.insert(0, sys.argv[1]); import test_peers; "
              "assert torch.backends.cpu.get_cpu_capability() == 'DEFAULT'; "
              "print(json.dumps([[n, k, r] for (n, k), r in test_peers.dream_all_pairs(torch).items()]))")
    env = dict(os.environ, ATEN_CPU_CAPABILITY="default")
    out = subprocess.run([sys.executable, "-c", script, str(Path(__file__).parent)],
                         env=env, capture_output=True, text=True, check=True)
    reference = {(n, k): r for n, k, r in json.loads(out.stdout)}
    compare_dream("dream linspace=plain (torch DEFAULT)", ",linspace=plain", reference)


def test_dream_quirks_and_devices():
    assert ours("dream:steps=8", 100) == [12, 12, 12, 12, 12, 13, 13, 14]
    dream = ours("dream:steps=512", 512)
    assert dream[0] == 0 and dream[-1] == 2 and set(dream[1:-1]) == {1}
    # torch.linspace with and without a fused multiply-add (see preset::Linspace).
    fused, plain = ours("dream:steps=500", 602), ours("dream:steps=500,linspace=plain", 602)
    assert fused != plain and sum(fused) == sum(plain) == 602


# --- LLaDA (ML-GSAI/LLaDA generate.py, `get_num_transfer_tokens` and `generate`) ------------

def llada_num_transfer_tokens(torch, mask_index, steps):
    """Per row: ``mask_num // steps`` each step, the first ``mask_num % steps`` steps one more."""
    mask_num = mask_index.sum(dim=1, keepdim=True)
    base, remainder = mask_num // steps, mask_num % steps
    counts = torch.zeros(mask_num.size(0), steps, dtype=torch.int64) + base
    for i in range(mask_num.size(0)):
        counts[i, : remainder[i]] += 1
    return counts


def test_llada_one_block_against_torch():
    torch = _framework("torch")
    compared, mismatches = 0, []
    for k in range(1, N_MAX + 1):
        ns = torch.arange(k, N_MAX + 1)
        mask_index = torch.arange(N_MAX)[None, :] < ns[:, None]  # row n: n masked positions
        counts = llada_num_transfer_tokens(torch, mask_index, k)
        for row, n in zip(counts.tolist(), ns.tolist()):
            compared += 2
            if ours(f"uniform:steps={k}", n) != row or ours(f"llada:steps={k}", n) != row:
                mismatches.append((n, k))
    pairs_report("llada/uniform one block (torch)", compared, mismatches)


def llada_generate_counts(torch, prompt_len, gen_length, block_length, steps, seed):
    """LLaDA's ``generate`` loop with a random-logit model; returns tokens committed per step."""
    mask_id, vocab = 7, 8
    gen = torch.Generator().manual_seed(seed)
    x = torch.full((1, prompt_len + gen_length), mask_id, dtype=torch.long)
    x[:, :prompt_len] = torch.randint(0, mask_id, (1, prompt_len), generator=gen)
    num_blocks = gen_length // block_length
    steps_per_block = steps // num_blocks
    committed = []
    for b in range(num_blocks):
        lo, hi = prompt_len + b * block_length, prompt_len + (b + 1) * block_length
        num_transfer = llada_num_transfer_tokens(torch, x[:, lo:hi] == mask_id, steps_per_block)
        for i in range(steps_per_block):
            mask_index = x == mask_id
            logits = torch.randn((1, x.shape[1], vocab), generator=gen)
            logits[..., mask_id] = -np.inf  # a mask predictor never predicts the mask
            x0 = torch.argmax(logits, dim=-1)
            p = torch.softmax(logits.to(torch.float64), dim=-1)
            x0_p = torch.gather(p, -1, x0[..., None]).squeeze(-1)
            x0_p[:, hi:] = -np.inf
            x0 = torch.where(mask_index, x0, x)
            confidence = torch.where(mask_index, x0_p, torch.tensor(-np.inf, dtype=torch.float64))
            _, select = torch.topk(confidence[0], k=int(num_transfer[0, i]))
            transfer = torch.zeros_like(x0, dtype=torch.bool)
            transfer[0, select] = True
            before = int((x == mask_id).sum())
            x[transfer] = x0[transfer]
            committed.append(before - int((x == mask_id).sum()))
    assert int((x == mask_id).sum()) == 0
    return committed


def test_llada_blocks_against_torch():
    """Every (n, block, K) LLaDA accepts for n ≤ 256, by its count arithmetic per block, and the
    whole generate loop with a model for a sample of them (what it actually commits)."""
    torch = _framework("torch")
    compared, mismatches = 0, []
    for n in range(1, 257):
        for block in (b for b in range(1, n + 1) if n % b == 0):
            blocks = n // block
            for k in range(blocks, n + 1, blocks):
                mask = torch.ones((1, block), dtype=torch.bool)
                want = llada_num_transfer_tokens(torch, mask, k // blocks)[0].tolist() * blocks
                compared += 1
                if ours(f"llada:steps={k},block={block}", n) != want:
                    mismatches.append((n, block, k))
    pairs_report("llada blocks (torch)", compared, mismatches)
    for seed, (prompt, n, block, k) in enumerate(
            [(5, 64, 16, 32), (3, 96, 32, 12), (0, 40, 8, 40), (7, 100, 100, 8), (2, 48, 12, 20)]):
        assert llada_generate_counts(torch, prompt, n, block, k, seed) == ours(
            f"llada:steps={k},block={block}", n), (n, block, k)


# --- MDLM (kuleshov-group/mdlm diffusion.py `_sample`, `_ddpm_update`, --------------------------
# --- `_ddpm_caching_update`; noise_schedule.py `LogLinearNoise`, `CosineNoise`) ---------------

def mdlm_move_chances(torch, steps, noise, grid_eps=1e-5, noise_eps=1e-3):
    """(mc_t, mc_s) per step as MDLM's sampler computes them, float32 tensors."""
    timesteps = torch.linspace(1, grid_eps, steps + 1)
    dt = (1 - grid_eps) / steps
    t = timesteps[:-1]
    s = t - dt
    if noise == "loglinear":  # _ddpm_caching_update: move_chance_t = t, move_chance_s = t - dt
        return t, s
    def move_chance(u):  # _ddpm_update: 1 - exp(-sigma), sigma = CosineNoise.total_noise
        sigma = -torch.log(noise_eps + (1 - noise_eps) * torch.cos(u * torch.pi / 2))
        return 1 - torch.exp(-sigma)
    return move_chance(t), move_chance(s)


def mdlm_loop(torch, n, steps, noise, runs, seed, vocab=4):
    """Runs MDLM's sampling loop on ``runs`` sequences (each as a batch of one) with a model that
    predicts uniform tokens; returns the tokens revealed per pass and the model calls.

    ``q_xs = p_x0 · (mc_t − mc_s)`` with ``q_xs[mask] = mc_s`` and MDLM's Gumbel argmax
    (``_sample_categorical``); the cached loop calls the model at the first step and after a
    step that changed x; the noise removal calls it once more and fills what is left.
    """
    gen = torch.Generator().manual_seed(seed)
    mask_id = vocab
    mc_t, mc_s = mdlm_move_chances(torch, steps, noise)
    x = torch.full((runs, n), mask_id, dtype=torch.int64)
    p_x0 = torch.full((runs, n, vocab + 1), 1.0 / vocab)
    p_x0[..., mask_id] = 0.0
    cached = noise == "loglinear"
    calls = torch.ones(runs, dtype=torch.int64)  # step 0 always calls the model
    counts = torch.zeros((runs, steps + 1), dtype=torch.int64)
    for i in range(steps):
        q_xs = p_x0 * (mc_t[i] - mc_s[i])
        q_xs[..., mask_id] = mc_s[i]
        gumbel_norm = 1e-10 - (torch.rand(q_xs.shape, generator=gen) + 1e-10).log()
        sampled = (q_xs / gumbel_norm).argmax(dim=-1)
        copy_flag = (x != mask_id).to(x.dtype)
        x_next = copy_flag * x + (1 - copy_flag) * sampled
        changed = (x_next != x).sum(dim=1)
        counts[:, i] = changed
        if i < steps - 1:
            calls += (changed > 0).to(torch.int64) if cached else 1
        x = x_next
    counts[:, steps] = (x == mask_id).sum(dim=1)  # noise removal: argmax fills the rest
    calls += 1
    return counts.numpy(), calls.numpy()


def theorem16(z, counts):
    """Σ_i Σ_{j<s_i} (z[N_{i−1}+j] − z[N_{i−1}]) for each row of counts (plain NumPy)."""
    out = np.zeros(len(counts))
    for r, row in enumerate(counts):
        start = 0
        for s in row:
            if s > 0:
                out[r] += float(np.sum(z[start:start + s] - z[start]))
            start += s
    return out


@pytest.mark.parametrize("dist,steps,noise", [
    ("markov:n=32,q=4,stay=0.8", 1000, "loglinear"),
    ("markov:n=64,q=3,stay=0.9", 128, "loglinear"),
    ("parity:n=256", 128, "loglinear"),
    ("markov:n=32,q=4,stay=0.8", 64, "cosine"),
])
def test_mdlm_against_its_loop_in_torch(dist, steps, noise):
    torch = _framework("torch")
    spec = f"mdlm:steps={steps},noise={noise}"
    report = cli("eval", "--dist", dist, "--schedule", spec)
    z = np.array(cli("curve", "--dist", dist)["z"])
    n = len(z)
    # Probabilities: expected tokens per pass from MDLM's float32 move chances (exact in
    # expectation, independent of unmask's recursion), to float32 accuracy.
    mc_t, mc_s = mdlm_move_chances(torch, steps, noise)
    p = ((mc_t - mc_s) / mc_t).double().numpy()
    remaining = n * np.concatenate([[1.0], np.cumprod(1 - p)])
    expected = np.append(remaining[:-1] * p, remaining[-1])
    np.testing.assert_allclose(report["expected_counts"], expected, rtol=2e-4, atol=1e-7)
    # Monte Carlo of the loop: expected KL and model calls within 4 standard errors.
    counts, calls = mdlm_loop(torch, n, steps, noise, runs=4000, seed=steps)
    kl = theorem16(z, counts)
    for name, values, exact in [("expected_kl", kl, report["expected_kl"]),
                                ("expected_nfe", calls, report["expected_nfe"])]:
        mean, se = values.mean(), values.std(ddof=1) / math.sqrt(len(values))
        print(f"{dist} {spec}: {name} unmask {exact:.4f}, MDLM loop {mean:.4f} ± {se:.4f}")
        if se == 0:
            assert exact == pytest.approx(mean, abs=1e-9)
        else:
            assert abs(mean - exact) <= 4 * se, (name, exact, mean, se)


def test_mdlm_defaults_are_mdlms():
    """The grid's eps is the sampler's 1e-5; 1e-3 is the noise floor, a separate key."""
    default = cli("eval", "--dist", "parity:n=1024", "--schedule", "mdlm:steps=128")
    explicit = cli("eval", "--dist", "parity:n=1024", "--schedule",
                   "mdlm:steps=128,eps=0.00001,noise_eps=0.001")
    assert default["expected_kl"] == explicit["expected_kl"]
    assert default["expected_kl"] == pytest.approx(0.6843, abs=1e-4)
    assert cli("eval", "--dist", "parity:n=32", "--schedule",
               "mdlm:steps=1000")["expected_nfe"] == pytest.approx(33.48, abs=0.01)
