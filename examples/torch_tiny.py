"""The whole loop on a real (tiny) PyTorch model, on a CPU, in under a minute.

1. Train a LLaDA-architecture model (``unmask.llada.LLaDAModel``: d = 64, 2 layers) on a Markov
   chain, ``markov:n=32,q=8,stay=0.8``, with LLaDA's masked cross-entropy objective (mask each
   position with probability t, t stratified per batch, weight 1/t). The chain's exact curve is
   known, so every estimate below can be checked.
2. Estimate the model's curve from its own masked losses (``unmask.torch.estimate_curve``).
3. Plan the optimal K-step schedule from that curve (``unmask.optimal_schedule``).
4. Generate with it (``unmask.torch.generate``, LLaDA's loop with the planned counts).
5. Score uniform, cosine and the optimal schedule on held-out draws
   (``unmask.torch.score``): measured NLL per token beside Theorem 16's prediction.

    python examples/torch_tiny.py [--train-seconds 30]
"""

import argparse
import math
import time

import torch

import unmask
import unmask.torch as ut
from unmask.llada import LLaDAModel

SPEC, N, Q = "markov:n=32,q=8,stay=0.8", 32, 8
MASK = Q  # token ids 0..7 are the chain's symbols, 8 is the mask


def train(seconds: float, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = LLaDAModel({"d_model": 64, "n_heads": 4, "n_layers": 2, "mlp_hidden_size": 192,
                        "vocab_size": Q + 1})
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    batch, step, start = 128, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        x = torch.from_numpy(unmask.draw(SPEC, batch, seed=1, first=step * batch))
        t = (torch.arange(batch) + torch.rand(batch)) / batch  # stratified mask ratios
        masked = torch.rand(batch, N) < t[:, None]
        logits = model(x.masked_fill(masked, MASK)).logits
        ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), x, reduction="none")
        loss = (ce * masked / t[:, None]).sum() / (batch * N)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for g in opt.param_groups:  # warm-up, then constant
            g["lr"] = 3e-3 * min(1.0, (step + 1) / 50)
        opt.step()
        step += 1
        if step % 100 == 0:
            print(f"  step {step}: loss {loss.item():.3f} nats/token")
    print(f"trained {step} steps ({step * batch * N / (time.perf_counter() - start):,.0f} "
          "tokens/s)")
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-seconds", type=float, default=30.0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = train(args.train_seconds)

    held_out = unmask.draw(SPEC, 512, seed=2)
    curve = ut.estimate_curve(model, held_out, mask_id=MASK, points=16, progress=False)
    exact = unmask.Curve.from_dist(SPEC)
    se = dict(curve.stderr)
    print(f"model's curve: Z_n = {curve.z[-1]:.3f} ± {se[N]:.3f} nats (exact {exact.z[-1]:.3f}), "
          f"TC {curve.tc:.3f} (exact {exact.tc:.3f})")

    plan = unmask.optimal_schedule(curve, steps=8)
    print("optimal 8-step schedule from the model's curve:", plan["schedule"].tolist())
    # Generation continues a 4-token prompt: plan on the curve of the answer given the prompt.
    # Temperature 1 with random remasking is the random-order sampler the theory describes.
    answer = ut.estimate_curve(model, held_out, mask_id=MASK, prompt=4, progress=False)
    prompt = torch.from_numpy(unmask.draw(SPEC, 4, seed=3)[:, :4])
    out = ut.generate(model, prompt, gen_length=N - 4, schedule="optimal", steps=8,
                      curve=answer, temperature=1.0, remasking="random", mask_id=MASK, seed=0)
    print(f"generated {out.tokens.shape[0]} sequences in {out.nfe} forward passes "
          f"(counts {out.counts[0]}), e.g.", "".join(map(str, out.tokens[0].tolist())))

    print(f"\n{'schedule':<16}{'NLL/token':>12}{'± SE':>8}{'predicted':>11}  (nats, 256 held-out "
          "draws × 2 orders)")
    for k in (4, 8):
        for spec in (f"uniform:steps={k}", f"cosine:steps={k}", f"optimal:steps={k}"):
            s = ut.score(model, held_out[:256], spec, mask_id=MASK, orders=2, curve=curve,
                         progress=False)
            print(f"{spec:<16}{s.nll_per_token:>12.4f}{s.stderr:>8.4f}"
                  f"{s.predicted_nll_per_token:>11.4f}")
    one = ut.score(model, held_out[:128], f"uniform:steps={N}", mask_id=MASK, progress=False)
    print(f"{'one per step':<16}{one.nll_per_token:>12.4f}{one.stderr:>8.4f}  (the model's NLL; "
          f"the chain's entropy rate is {exact_entropy_rate():.4f})")


def exact_entropy_rate() -> float:
    """H(X)/n of the chain: ln q for the first symbol, then the entropy of a transition row."""
    stay, move = 0.8, 0.2 / (Q - 1)
    row = -(stay * math.log(stay) + (Q - 1) * move * math.log(move))
    return (math.log(Q) + (N - 1) * row) / N


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
