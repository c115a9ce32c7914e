"""Overhead of the PyTorch bridge, measured against the loops it replaces, in the same run.

* ``generate`` against LLaDA's reference loop (python/tests/references.py, restated from
  ML-GSAI/LLaDA generate.py) at equal NFE: the wall-time ratio (target ≤ 1.05).
* ``estimate_curve``: the share of its wall time spent inside the model's forward (target ≥ 90%).

The model is LLaDA's architecture at a tiny size (``unmask.llada.LLaDAModel``: d = 64, 2 layers,
4 heads, vocabulary 64) on the CPU with 2 threads, batch 8, prompt 16 + 64 generated tokens.
Medians of interleaved repeats. Run: ``python python/bench/bench_torch.py``.
"""

import statistics
import sys
import time
from pathlib import Path

import torch

import unmask
import unmask.torch as ut
from unmask.llada import LLaDAModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from references import llada_reference  # noqa: E402

VOCAB, MASK = 65, 64


class Timed(torch.nn.Module):
    """The model, with the wall time of its forward passes accumulated."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.seconds, self.calls = inner, 0.0, 0

    def forward(self, ids):
        start = time.perf_counter()
        out = self.inner(ids)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return out


def main(repeats: int = 7) -> None:
    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = LLaDAModel({"d_model": 64, "n_heads": 4, "n_layers": 2, "mlp_hidden_size": 192,
                        "vocab_size": VOCAB}).eval()
    prompt = torch.randint(0, MASK, (8, 16), generator=torch.Generator().manual_seed(1))
    for steps, block in [(64, 64), (32, 16)]:
        ref, ours = [], []
        with torch.inference_mode():
            for _ in range(repeats):
                start = time.perf_counter()
                want = llada_reference(model, prompt, steps, 64, block, 0.0, "low_confidence", MASK)
                ref.append(time.perf_counter() - start)
                start = time.perf_counter()
                got = ut.generate(model, prompt, gen_length=64, steps=steps, block_length=block,
                                  mask_id=MASK)
                ours.append(time.perf_counter() - start)
                assert torch.equal(got.tokens, want)
        r, o = statistics.median(ref), statistics.median(ours)
        print(f"generate, {steps} steps, block {block}, batch 8: LLaDA's loop {r * 1e3:.1f} ms, "
              f"unmask.torch {o * 1e3:.1f} ms, ratio {o / r:.3f}")
    seqs = torch.randint(0, MASK, (256, 80), generator=torch.Generator().manual_seed(2))
    shares = []
    for _ in range(3):
        timed = Timed(model)
        start = time.perf_counter()
        ut.estimate_curve(timed, seqs, mask_id=MASK, points=16, batch_size=32, prompt=16,
                          progress=False)
        total = time.perf_counter() - start
        shares.append(timed.seconds / total)
    print(f"estimate_curve, 256 sequences × 17 grid points ({timed.calls} forwards of 32): "
          f"{total:.2f} s, {100 * statistics.median(shares):.1f}% inside the model's forward")
    print(f"(torch {torch.__version__}, unmask {unmask.__version__}, {torch.get_num_threads()} "
          "threads)")


if __name__ == "__main__":
    main()
