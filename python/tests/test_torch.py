"""The PyTorch bridge (unmask.torch) against independent references.

* Exactness of the plumbing: a torch module computing the exact conditional marginals of a
  Markov chain (forward–backward, exact_models.py) plays the model; the estimated curves must
  match curves enumerated from the joint law, and ``score`` must match Theorem 16 plus the
  enumerated entropy, within 4 standard errors.
* Agreement with Rust: the same draws and orders give the CLI's ``unmask estimate`` numbers.
* Parity with the peers' loops: ``generate`` against reference implementations of LLaDA's
  ``generate`` (ML-GSAI/LLaDA ``generate.py``) and Dream's ``_sample`` (Dream-org
  ``generation_utils.py``), written here from those sources, on a LLaDA-architecture model with
  random weights: token for token.
"""

import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch") if os.environ.get("UNMASK_REQUIRE_FRAMEWORKS") != "1" \
    else __import__("torch")

import unmask  # noqa: E402
import unmask.torch as ut  # noqa: E402
from exact_models import MarkovModel, entropy, enumerated_curve, joint  # noqa: E402
from references import dream_reference, llada_reference  # noqa: E402
from unmask.llada import LLaDAModel  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
N, Q, STAY = 8, 3, 0.7
SPEC = f"markov:n={N},q={Q},stay={STAY}"


def cli(*args):
    binary = os.environ.get("UNMASK_BIN", str(ROOT / "target" / "debug" / "unmask"))
    out = subprocess.run([binary, *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def law():
    return joint(N, Q, STAY)


@pytest.fixture(scope="module")
def data():
    return unmask.draw(SPEC, 1500, seed=11)


def within(curve, exact, k=4.0):
    """Every estimated grid point within k standard errors (plus float slack) of the truth."""
    z = curve.z
    for j, se in curve.stderr:
        assert abs(z[j - 1] - exact[j - 1]) <= k * se + 1e-9, (j, z[j - 1], exact[j - 1], se)


# --- estimate_curve ------------------------------------------------------------------------

@pytest.mark.parametrize("loss", ["cross_entropy", "entropy"])
def test_estimate_agrees_with_the_rust_estimator(loss):
    """Same draws, same orders: the CLI's estimate to float32 accuracy."""
    seqs = unmask.draw(SPEC, 300, seed=5)
    ours = ut.estimate_curve(MarkovModel(Q, STAY), seqs, mask_id=Q, points=7, seed=5,
                             loss=loss, progress=False)
    theirs = cli("estimate", "--dist", SPEC, "--samples", "300", "--points", "7", "--seed", "5")
    points = theirs["points"] if loss == "entropy" else theirs["cross_entropy"]["points"]
    np.testing.assert_allclose(ours.z, [z for _, z in points], rtol=1e-6, atol=1e-7)


def test_orders_are_the_rust_estimators():
    orders = unmask.estimation_orders(10, 50, seed=3)
    assert orders.shape == (50, 10)
    assert (np.sort(orders, axis=1) == np.arange(10)).all()
    np.testing.assert_array_equal(orders[7:9], unmask.estimation_orders(10, 2, seed=3, first=7))
    # Uniform permutations: every position equally likely first (chi-square, 9 dof, p > 1e-4).
    first = np.bincount(unmask.estimation_orders(10, 5000, seed=4)[:, 0], minlength=10)
    assert ((first - 500) ** 2 / 500).sum() < 35.0


def test_estimate_recovers_the_exact_curve(law, data):
    exact = enumerated_curve(law)
    np.testing.assert_allclose(exact, unmask.Curve.from_dist(SPEC).z, atol=1e-12)
    curve = ut.estimate_curve(MarkovModel(Q, STAY), data, mask_id=Q, points=7, progress=False)
    within(curve, exact)
    assert curve.n == N and len(curve.stderr) == N


def test_estimate_with_shift_and_prompt(law, data):
    exact = enumerated_curve(law, prefix=2)
    shifted = ut.estimate_curve(MarkovModel(Q, STAY, shift=True), data, mask_id=Q, points=5,
                                prompt=2, shift=True, progress=False)
    plain = ut.estimate_curve(MarkovModel(Q, STAY), data, mask_id=Q, points=5, prompt=2,
                              progress=False)
    assert shifted.n == N - 2
    within(shifted, exact)
    np.testing.assert_allclose(shifted.z, plain.z, atol=1e-6)  # the shift is undone exactly
    # A prompt given as prefix ids is the same as leading tokens of the sequences.
    prefixed = ut.estimate_curve(MarkovModel(Q, STAY), torch.as_tensor(data[:, 2:]),
                                 mask_id=Q, points=5, prompt=torch.as_tensor(data[:, :2]),
                                 progress=False)
    np.testing.assert_allclose(prefixed.z, plain.z, atol=0)


def test_estimate_block_curves(law, data):
    blocks = ut.estimate_curve(MarkovModel(Q, STAY), data, mask_id=Q, points=3, block=4,
                               progress=False)
    assert isinstance(blocks, unmask.BlockCurves)
    assert (blocks.blocks, blocks.block, blocks.n) == (2, 4, N)
    for b, curve in enumerate(blocks.curves):
        within(curve, enumerated_curve(law, block=4, index=b))
    # The first block is the chain's first 4 tokens alone: its curve differs from block 2's,
    # which is conditioned on block 1 (the estimator resolves it).
    e0, e1 = enumerated_curve(law, block=4, index=0), enumerated_curve(law, block=4, index=1)
    assert abs(e0[-1] - e1[-1]) > 0.04


# --- score ---------------------------------------------------------------------------------

@pytest.mark.parametrize("schedule", ["uniform:steps=2", "cosine:steps=3", [1, 3, 4], "llada:steps=8"])
def test_score_is_theorem16(law, data, schedule):
    exact = unmask.Curve.from_dist(SPEC)
    s = ut.score(MarkovModel(Q, STAY), data[:600], schedule, mask_id=Q, orders=4, curve=exact,
                 progress=False)
    truth = (entropy(law) + unmask.expected_kl(exact, schedule)) / N
    assert abs(s.nll_per_token - truth) <= 4 * s.stderr, (s, truth)
    # The prediction from the exact curve is Theorem 16 (the exact model's h(0) is ln q).
    assert s.baseline == pytest.approx(math.log(Q), abs=1e-6)
    assert s.predicted_nll_per_token == pytest.approx(truth, abs=1e-6)


def test_score_with_prompt(law, data):
    exact = enumerated_curve(law, prefix=3)
    curve = unmask.Curve(exact)
    s = ut.score(MarkovModel(Q, STAY), data[:600], "uniform:steps=2", mask_id=Q, orders=4,
                 prompt=3, curve=curve, progress=False)
    truth = (entropy(law, prefix=3) + unmask.expected_kl(curve, "uniform:steps=2")) / (N - 3)
    assert abs(s.nll_per_token - truth) <= 4 * s.stderr, (s, truth)
    assert abs(s.predicted_nll_per_token - truth) <= 4 * s.stderr


# --- generate: LLaDA's and Dream's loops ---------------------------------------------------

VOCAB, MASK = 24, 23


class NoMask(torch.nn.Module):
    """A mask predictor never predicts the mask: its logit is −inf (as a trained model's
    effectively is), so every generated sequence ends fully unmasked."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, ids):
        out = self.inner(ids)
        out.logits[..., MASK] = -math.inf
        return out


@pytest.fixture(scope="module")
def llada():
    torch.manual_seed(0)
    model = LLaDAModel({"d_model": 32, "n_heads": 4, "n_kv_heads": 2, "n_layers": 2,
                        "mlp_hidden_size": 48, "vocab_size": VOCAB, "rope_theta": 10000.0})
    return NoMask(model).eval()


CASES = [  # (gen_length, block_length, steps, temperature, remasking)
    (16, 16, 8, 0.0, "low_confidence"), (16, 4, 8, 0.0, "low_confidence"),
    (16, 16, 8, 0.0, "random"), (16, 8, 4, 0.0, "random"),
    (16, 16, 6, 0.8, "low_confidence"), (16, 8, 8, 1.0, "low_confidence"),
    (16, 16, 16, 0.5, "random"), (12, 4, 6, 0.9, "random"), (8, 4, 12, 0.0, "low_confidence"),
]


@torch.inference_mode()
def test_generate_is_lladas_loop(llada):
    for case in CASES:
        gen_length, block, steps, temperature, remasking = case
        for seed in range(20):
            g = torch.Generator().manual_seed(1000 + seed)
            prompt = torch.randint(0, MASK, (3, 5), generator=g)
            torch.manual_seed(seed)
            want = llada_reference(llada, prompt, steps, gen_length, block, temperature,
                                   remasking, MASK)
            torch.manual_seed(seed)
            got = ut.generate(llada, prompt, gen_length=gen_length, steps=steps,
                              block_length=block, temperature=temperature, remasking=remasking,
                              mask_id=MASK)
            assert torch.equal(got.tokens, want), (case, seed)
            assert got.nfe == steps
            assert not bool((got.tokens == MASK).any())


@torch.inference_mode()
def test_other_schedules_change_only_the_counts(llada):
    curve = unmask.Curve.from_dist("markov:n=16,q=8,stay=0.9")
    blocks = unmask.BlockCurves([unmask.Curve.from_dist("markov:n=8,q=8,stay=0.9")] * 2)
    for seed in range(20):
        prompt = torch.randint(0, MASK, (2, 4), generator=torch.Generator().manual_seed(seed))
        for schedule, crv, block, temp in [("optimal", curve, None, 0.0),
                                           ("optimal", blocks, 8, 0.7),
                                           ("cosine:steps=5", None, None, 0.0)]:
            plan = ut.plan_counts(16, steps=5, schedule=schedule, curve=crv, block_length=block)
            torch.manual_seed(seed)
            got = ut.generate(llada, prompt, gen_length=16, steps=5, schedule=schedule,
                              curve=crv, block_length=block, temperature=temp, mask_id=MASK,
                              return_trace=True)
            torch.manual_seed(seed)
            want = llada_reference(llada, prompt, 5, 16, block or 16, temp, "low_confidence",
                                   MASK, counts=plan)
            assert torch.equal(got.tokens, want), (schedule, seed)
            assert [s["count"] for s in got.trace] == [c for b in plan for c in b]
            assert all(s["positions"].shape == (2, s["count"]) for s in got.trace)
            assert got.nfe == 5 and sum(map(sum, plan)) == 16


@torch.inference_mode()
def test_generate_with_shift_is_dreams_loop(llada):
    rules = {"maskgit_plus": "low_confidence", "topk_margin": "margin", "entropy": "entropy"}
    for alg, remasking in rules.items():
        for seed, (gen_length, steps) in enumerate([(16, 16), (16, 5), (12, 7), (20, 3)] * 5):
            prompt = torch.randint(0, MASK, (2, 3), generator=torch.Generator().manual_seed(seed))
            want = dream_reference(llada, prompt, steps, gen_length, alg, MASK)
            got = ut.generate(llada, prompt, gen_length=gen_length, schedule=f"dream:steps={steps}",
                              remasking=remasking, shift=True, mask_id=MASK)
            assert torch.equal(got.tokens, want), (alg, seed)


def test_generate_with_a_private_generator_is_reproducible(llada):
    prompt = torch.randint(0, MASK, (2, 3), generator=torch.Generator().manual_seed(1))
    runs = [ut.generate(llada, prompt, gen_length=8, steps=4, temperature=1.0,
                        remasking="random", mask_id=MASK, seed=9).tokens for _ in range(2)]
    assert torch.equal(*runs)


# --- plans and block curves ----------------------------------------------------------------

def test_plan_counts():
    assert ut.plan_counts(8, steps=4, block_length=4) == [[2, 2], [2, 2]]
    assert ut.plan_counts(4, steps=6) == [[1, 1, 1, 1, 0, 0]]  # LLaDA: zero-count steps kept
    assert ut.plan_counts(8, schedule=[3, 1, 0, 2, 2], block_length=4) == [[3, 1, 0], [2, 2]]
    assert ut.plan_counts(6, schedule="uniform:steps=3") == [[2, 2, 2]]
    with pytest.raises(ValueError, match="sum to 7, but gen_length is 8"):
        ut.plan_counts(8, schedule=[3, 4])
    with pytest.raises(ValueError, match="does not divide into blocks of 4"):
        ut.plan_counts(8, schedule=[3, 3, 2], block_length=4)
    with pytest.raises(ValueError, match="multiple of the number of blocks 2"):
        ut.plan_counts(8, steps=3, block_length=4)
    with pytest.raises(ValueError, match="needs unmask.BlockCurves"):
        ut.plan_counts(8, steps=4, schedule="optimal", curve=unmask.Curve([0.0] * 8),
                       block_length=4)


def test_block_curves_api():
    half = unmask.Curve([0.0, 0.0, 0.0, math.log(2)])
    blocks = unmask.BlockCurves([half, unmask.Curve([0.0] * 4)])
    best = blocks.optimal(steps=3)
    assert [b["steps"] for b in best["blocks"]] == [2, 1] and best["expected_kl"] == 0.0
    assert best["schedule"].sum() == 8
    llada = blocks.expected_kl("llada:steps=4,block=4")
    assert llada["expected_kl"] == pytest.approx(unmask.expected_kl(half, [2, 2]))
    again = unmask.BlockCurves.from_json(blocks.to_json())
    assert again.blocks == 2 and np.allclose(again.curves[0].z, half.z)
    assert [a.tolist() for a in blocks.split([4, 4])] == [[4], [4]]
    with pytest.raises(ValueError):
        blocks.split([3, 5])
    with pytest.raises(ValueError, match="curve #1 is in bits"):
        unmask.BlockCurves([half, unmask.Curve([0.0] * 4, unit="bits")])


# --- bad input -----------------------------------------------------------------------------

def test_bad_input_is_a_value_error(llada):
    prompt = torch.zeros((1, 2), dtype=torch.long)
    with pytest.raises(ValueError, match=r"ids up to 99 \(mask_id 99\): are the mask id"):
        ut.generate(llada, prompt, gen_length=4, steps=2, mask_id=99)  # the embedding fails
    with pytest.raises(ValueError, match="mask_id 24 is not in the model's vocabulary of 24"):
        ut.generate(lambda ids: torch.zeros((*ids.shape, 24)), prompt, gen_length=4, steps=2,
                    mask_id=24)

    def short(ids):
        return torch.zeros((ids.shape[0], ids.shape[1] - 1, 5))

    with pytest.raises(ValueError, match=r"logits of shape \(1, 5, 5\), expected \(1, 6, V\)"):
        ut.generate(short, prompt, gen_length=4, steps=2, mask_id=4)

    def nan(ids):
        out = torch.zeros((*ids.shape, 5))
        out[0, 1, 2] = float("nan")
        return out

    with pytest.raises(ValueError, match="non-finite logit .* position 1, token 2"):
        ut.generate(nan, prompt, gen_length=4, steps=2, mask_id=4)
    with pytest.raises(ValueError, match="sum to 3, but gen_length is 4"):
        ut.generate(llada, prompt, gen_length=4, schedule=[1, 2], mask_id=MASK)
    with pytest.raises(ValueError, match="does not divide into blocks"):
        ut.generate(llada, prompt, gen_length=4, schedule=[1, 2, 1], block_length=2, mask_id=MASK)
    with pytest.raises(ValueError, match="remasking must be one of"):
        ut.generate(llada, prompt, gen_length=4, steps=2, mask_id=MASK, remasking="best")
    seqs = np.zeros((4, 6), dtype=np.int64)
    with pytest.raises(ValueError, match=r"ids up to 30 \(mask_id 30\)"):
        ut.estimate_curve(llada, seqs, mask_id=30, progress=False)
    with pytest.raises(ValueError, match=r"sequences\[0, 0\] = 40 is outside the model's vocab"):
        ut.estimate_curve(lambda ids: torch.zeros((*ids.shape, 24)), seqs + 40, mask_id=MASK,
                          progress=False)
    with pytest.raises(ValueError, match="shift=True: no logit predicts the first token"):
        ut.estimate_curve(llada, seqs, mask_id=MASK, shift=True, progress=False)
    with pytest.raises(ValueError, match="is the mask id"):
        ut.score(llada, seqs + MASK, [6], mask_id=MASK, progress=False)
    with pytest.raises(ValueError, match="non-finite logit"):
        ut.score(nan, seqs, [6], mask_id=4, progress=False)


# --- examples ------------------------------------------------------------------------------

def test_torch_tiny_example_runs():
    """The example end to end with a short training run (the README's full run trains 30 s)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(ROOT / "examples" / "torch_tiny.py"),
                          "--train-seconds", "4"], capture_output=True, text=True, check=True)
    assert "optimal:steps=8" in out.stdout and "forward passes" in out.stdout


def test_llada_8b_recipe_compiles():
    import py_compile

    py_compile.compile(str(ROOT / "examples" / "llada_8b.py"), doraise=True)
