"""unmask's network (candle) against PyTorch on the same CPU, configuration, batch and length,
measured in the same run.

PyTorch side: ``unmask.llada.LLaDAModel`` (LLaDA's architecture) trained with the same
objective (LLaDA's masked cross-entropy, AdamW, gradient clipping) and run forward under
``inference_mode``. unmask side: ``crates/unmask-nn/examples/throughput.rs`` (the library's
``Trainer`` and fused inference path), built in release. Both on 2 threads. Prints tokens/s of
each and the ratios, for the tiny size (d 64, 2 layers, length 64, batch 32, vocabulary 65) and
the peak memory of training the small size (d 128, 4 layers).

    python python/bench/bench_nn.py          # from the repository root, after cargo is available
"""

import json
import os
import subprocess
import time
from pathlib import Path

import torch

from unmask.llada import LLaDAModel

ROOT = Path(__file__).resolve().parents[2]


def torch_numbers(d, layers, vocab, length, batch, steps):
    torch.manual_seed(0)
    model = LLaDAModel({"d_model": d, "n_heads": 4, "n_layers": layers, "mlp_hidden_size": 3 * d,
                        "vocab_size": vocab + 1})
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    data = [torch.tensor([(i * 7 + s * 13) % vocab for i in range(batch * length)]).view(batch, length)
            for s in range(steps + 5)]

    def step(x):
        t = (torch.arange(batch) + torch.rand(batch)) / batch
        p = 0.999 * t + 1e-3
        masked = torch.rand(batch, length) < p[:, None]
        logits = model(x.masked_fill(masked, vocab)).logits[..., :vocab]
        ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), x, reduction="none")
        loss = (ce * masked / p[:, None]).sum() / (batch * length)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for x in data[:5]:
        step(x)
    start = time.perf_counter()
    for x in data[5:]:
        step(x)
    train = steps * batch * length / (time.perf_counter() - start)
    ids = torch.arange(2 * batch * length).remainder(vocab).view(2 * batch, length)
    with torch.inference_mode():
        model(ids)
        start = time.perf_counter()
        for _ in range(20):
            model(ids)
        forward = 20 * 2 * batch * length / (time.perf_counter() - start)
    return train, forward


def unmask_numbers(*args):
    env = {**os.environ, "RAYON_NUM_THREADS": "2"}
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "unmask-nn", "--example", "throughput"],
                   cwd=ROOT, check=True, env=env)
    out = subprocess.run([str(ROOT / "target" / "release" / "examples" / "throughput"), *map(str, args)],
                         capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout)


def main():
    torch.set_num_threads(2)
    tiny = (64, 2, 65, 64, 32, 60)
    theirs = torch_numbers(*tiny)
    ours = unmask_numbers(*tiny)
    print(f"tiny (d 64, 2 layers, length 64, batch 32), torch {torch.__version__}, 2 threads:")
    print(f"  training   tokens/s: PyTorch {theirs[0]:9,.0f}   unmask {ours['train_tokens_per_s']:9,.0f}"
          f"   ratio {ours['train_tokens_per_s'] / theirs[0]:.2f}")
    print(f"  forward    tokens/s: PyTorch {theirs[1]:9,.0f}   unmask {ours['forward_tokens_per_s']:9,.0f}"
          f"   ratio {ours['forward_tokens_per_s'] / theirs[1]:.2f}   (batch 64)")
    small = unmask_numbers(128, 4, 65, 64, 32, 10)
    print(f"small (d 128, 4 layers, {small['parameters']:,} parameters): unmask trains at "
          f"{small['train_tokens_per_s']:,.0f} tokens/s, peak resident memory "
          f"{small['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
