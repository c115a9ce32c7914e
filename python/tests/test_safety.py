"""The Python bridge accepts no nonsense (issue "training and model loading lose no data"):
probabilities are validated, the estimation grid is Rust's and costs O(n) for any size,
generated tokens are never the mask id, impossible tokens raise naming where, and the model
class loads the config that ``unmask train`` writes."""

import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import unmask

torch = pytest.importorskip("torch") if os.environ.get("UNMASK_REQUIRE_FRAMEWORKS") != "1" \
    else __import__("torch")

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("UNMASK_BIN", str(ROOT / "target" / "debug" / "unmask"))


def uniform_predict(q):
    def predict(tokens, mask):
        return np.full(tokens.shape + (q,), 1.0 / q)
    return predict


def test_estimate_curve_refuses_what_is_not_a_probability_table():
    seqs = unmask.draw("markov:n=6,q=3,stay=0.8", 8, seed=1)
    unmask.estimate_curve(uniform_predict(3), seqs, points=3)  # a valid table passes
    logits = lambda tokens, mask: np.full(tokens.shape + (3,), 2.5)  # noqa: E731
    with pytest.raises(ValueError, match=r"sum to 7\.5.*logits\? apply softmax"):
        unmask.estimate_curve(logits, seqs, points=3)
    negative = lambda tokens, mask: np.tile([1.5, -0.5, 0.0], tokens.shape + (1,))  # noqa: E731
    with pytest.raises(ValueError, match=r"negative probability -0\.5 at sequence 0, position 0, token 1"):
        unmask.estimate_curve(negative, seqs, points=3)
    def nan(tokens, mask):
        p = np.full(tokens.shape + (3,), 1.0 / 3)
        p[0, 2, 1] = np.nan
        return p
    with pytest.raises(ValueError, match=r"nan at sequence 0, position 2, token 1"):
        unmask.estimate_curve(nan, seqs, points=3)


def test_the_grid_is_rusts_and_any_point_count_is_cheap():
    # k·40/16 = 2.5, 7.5, …: Rust rounds halves away from zero (Python's round() would not).
    assert unmask.estimation_grid(41, 16) == [0, 3, 5, 8, 10, 13, 15, 18, 20, 23, 25, 28, 30,
                                              33, 35, 38, 40]
    out = subprocess.run([BIN, "estimate", "--dist", "markov:n=41,q=2,stay=0.8", "--samples",
                          "4", "--points", "16", "--json"], capture_output=True, text=True,
                         check=True)
    doc = json.loads(out.stdout)
    # The CLI's curve is measured at t + 1 for each t of the grid.
    assert [int(p[0]) - 1 for p in doc["points"]] == unmask.estimation_grid(41, 16)
    start = time.perf_counter()
    seqs = unmask.draw("markov:n=6,q=3,stay=0.8", 4, seed=1)
    curve = unmask.estimate_curve(uniform_predict(3), seqs, points=10**12)
    assert time.perf_counter() - start < 10
    assert curve.n == 6
    assert unmask.estimation_grid(5, 10**12) == [0, 1, 2, 3, 4]


class Fixed(torch.nn.Module):
    """A "model" returning the same logits row at every position."""

    def __init__(self, row):
        super().__init__()
        self.row = torch.tensor(row, dtype=torch.float32)

    def forward(self, ids):
        return self.row.expand(ids.shape[0], ids.shape[1], -1).clone()


def test_generate_never_emits_the_mask_id():
    import unmask.torch as ut
    # The model favours the mask id (3) at every position.
    model = Fixed([0.0, 1.0, 0.5, 9.0])
    for temperature in [0.0, 1.0]:
        g = ut.generate(model, torch.tensor([[1, 2]]), gen_length=8, mask_id=3, steps=4,
                        temperature=temperature, seed=0)
        out = g.tokens[0, 2:]
        assert bool((out != 3).all()), out
        if temperature == 0.0:
            assert out.tolist() == [1] * 8  # the best real token


def test_generate_refuses_a_position_with_no_candidate_and_prompts_outside_the_vocabulary():
    import unmask.torch as ut
    dead = Fixed([-float("inf"), -float("inf"), -float("inf"), 0.0])
    with pytest.raises(ValueError, match=r"every token but the mask a logit of −inf at batch row 0, position 2"):
        ut.generate(dead, torch.tensor([[1, 2]]), gen_length=4, mask_id=3, steps=2)
    model = Fixed([0.0, 1.0, 0.5, 9.0])
    with pytest.raises(ValueError, match=r"prompt_ids\[0, 1\] = 7 is outside the model's vocabulary of 4"):
        ut.generate(model, torch.tensor([[1, 7]]), gen_length=4, mask_id=3, steps=2)


def test_score_raises_on_a_true_token_of_probability_zero():
    import unmask.torch as ut
    # Token 2 has logit −inf everywhere: any sequence holding it has infinite NLL.
    model = Fixed([0.0, 0.0, -float("inf"), 0.0])
    seqs = torch.tensor([[0, 1, 0, 1], [0, 1, 2, 1]])
    with pytest.raises(ValueError, match=r"sequence 1's true token 2 at position 2 probability 0"):
        ut.score(model, seqs, [1, 1, 1, 1], mask_id=3, progress=False)


def test_llada_model_takes_the_config_unmask_train_writes(tmp_path):
    from unmask.llada import LLaDAModel
    ckpt = tmp_path / "m"
    subprocess.run([BIN, "train", "--dist", "markov:n=6,q=3,stay=0.8", "--out", str(ckpt),
                    "--steps", "1", "--size", "tiny,d=16", "--batch", "2"], check=True,
                   capture_output=True)
    config = json.loads((ckpt / "config.json").read_text())
    for given in (config, str(ckpt / "config.json"), ckpt / "config.json"):
        model = LLaDAModel(given)
        assert model(torch.zeros(1, 6, dtype=torch.long)).logits.shape == (1, 6, 4)
    with pytest.raises(ValueError, match=r"'alibi' = True: only LLaDA's False"):
        LLaDAModel({**config, "alibi": True})
    with pytest.raises(ValueError, match=r"unsupported config keys: \['frobnicate'\]"):
        LLaDAModel({**config, "frobnicate": 1})


def test_values_that_look_like_losses_get_the_losses_hint():
    with pytest.raises(ValueError, match=r"look like a model's masked losses.*Curve\.from_masked_losses"):
        unmask.Curve([2.1, 1.6, 1.4])
    with pytest.raises(ValueError, match=r"Z_1 = -0\.5"):
        unmask.Curve([-0.5, 0.0, 0.1])


def test_one_rule_for_unit_names():
    # "bit" was accepted and "BITS" refused; the core's rule now holds everywhere.
    assert unmask.Curve([0.0, 0.5, 1.0], unit="BITS").unit == "bits"
    assert unmask.Curve([0.0, 0.5, 1.0], unit=" Nat ").unit == "nats"
    seqs = unmask.draw("markov:n=6,q=3,stay=0.8", 8, seed=1)
    assert unmask.estimate_curve(uniform_predict(3), seqs, points=3, unit="Bits").unit == "bits"
    with pytest.raises(ValueError, match="unknown unit 'furlongs'"):
        unmask.estimate_curve(uniform_predict(3), seqs, points=3, unit="furlongs")
