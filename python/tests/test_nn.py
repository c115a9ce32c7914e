"""unmask's own network (crates/unmask-nn, candle) against LLaDA's architecture in PyTorch.

A tiny LLaDA-format checkpoint is written here — config.json with LLaDA's keys, safetensors
written byte by byte from the format's definition, single-file f32 and sharded bf16 — from the
weights of ``unmask.llada.LLaDAModel`` (torch); ``unmask predict`` must give the marginals the
torch model gives. Broken checkpoints must be refused with the file, tensor or key named.
"""

import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch") if os.environ.get("UNMASK_REQUIRE_FRAMEWORKS") != "1" \
    else __import__("torch")

from unmask.llada import LLaDAModel  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("UNMASK_BIN", str(ROOT / "target" / "debug" / "unmask"))


def write_safetensors(path, tensors, dtype):
    """The safetensors layout: u64 header length, JSON header (dtype, shape, byte offsets),
    then the raw little-endian data."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in sorted(tensors.items()):
        t = t.detach().contiguous()
        if dtype == "BF16":
            raw = t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
        else:
            raw = t.to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


CONFIG = {"d_model": 32, "n_heads": 4, "n_kv_heads": 2, "n_layers": 2, "mlp_hidden_size": 40,
          "vocab_size": 11, "embedding_size": 12, "rope_theta": 500.0, "rms_norm_eps": 1e-5,
          "weight_tying": False}
MASK = 10


def tiny_model(seed, **overrides):
    torch.manual_seed(seed)
    model = LLaDAModel({**CONFIG, **overrides})
    with torch.no_grad():  # norms away from 1, so a swapped norm shows
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
    return model.eval()


def save(model, path, dtype="F32", shards=1, config_extra=None):
    path.mkdir(parents=True, exist_ok=True)
    config = {**model.config, "mask_token_id": MASK, "block_type": "llama",
              "activation_type": "silu", "architectures": ["LLaDAModelLM"], **(config_extra or {})}
    (path / "config.json").write_text(json.dumps(config))
    state = model.state_dict()
    if shards == 1:
        write_safetensors(path / "model.safetensors", state, dtype)
        return state
    names = sorted(state)
    weight_map = {}
    for s in range(shards):
        part = {n: state[n] for n in names[s::shards]}
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(path / file, part, dtype)
        weight_map.update({n: file for n in part})
    (path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    return state


def predict(path, ids):
    out = subprocess.run([BIN, "predict", "--model", str(path), "--ids", ids, "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def torch_marginals(model, ids, positions):
    x = torch.tensor([[MASK if t == "_" else int(t) for t in ids.split(",")]])
    with torch.no_grad():
        logits = model(x).logits[0, :, :CONFIG["vocab_size"]].double()
    logits[:, MASK] = -float("inf")
    return torch.softmax(logits, dim=-1)[positions].numpy()


@pytest.mark.parametrize("dtype,shards,tied", [("F32", 1, False), ("BF16", 3, False), ("F32", 2, True)])
def test_predict_matches_torch(tmp_path, dtype, shards, tied):
    model = tiny_model(7, weight_tying=tied)
    save(model, tmp_path / "ckpt", dtype, shards)
    if dtype == "BF16":  # the reference sees the stored (rounded) weights
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(torch.bfloat16).float())
    for ids in ["3,_,_,7,1,_,2,2,_,0,_,4", "_,_,_,_,_,_", "9"+",_" * 15]:
        got = predict(tmp_path / "ckpt", ids)
        want = torch_marginals(model, ids, got["positions"])
        assert got["vocab_size"] == 11 and got["mask_token_id"] == MASK
        np.testing.assert_allclose(np.array(got["probs"]), want, atol=2e-6, rtol=0)
        assert all(row[MASK] == 0.0 for row in got["probs"])


def refused(path, *needles):
    out = subprocess.run([BIN, "predict", "--model", str(path), "--ids", "1,_"],
                         capture_output=True, text=True)
    assert out.returncode == 2, out
    for n in needles:
        assert n in out.stderr, out.stderr


def test_broken_checkpoints_are_refused_by_name(tmp_path):
    model = tiny_model(1)
    state = save(model, tmp_path / "ok")
    predict(tmp_path / "ok", "1,_")
    # A missing tensor.
    save(model, tmp_path / "missing")
    write_safetensors(tmp_path / "missing" / "model.safetensors",
                      {k: v for k, v in state.items() if "blocks.1.up_proj" not in k}, "F32")
    refused(tmp_path / "missing", "missing tensor \"model.transformer.blocks.1.up_proj.weight\"")
    # A wrong shape.
    save(model, tmp_path / "shape")
    bad = dict(state)
    bad["model.transformer.blocks.0.q_proj.weight"] = torch.zeros(32, 31)
    write_safetensors(tmp_path / "shape" / "model.safetensors", bad, "F32")
    refused(tmp_path / "shape", "blocks.0.q_proj.weight", "[32, 31]", "[32, 32]")
    # An unexpected tensor, an unknown config key, an unsupported variant, a corrupt file.
    save(model, tmp_path / "extra")
    write_safetensors(tmp_path / "extra" / "model.safetensors",
                      {**state, "model.transformer.blocks.0.att_proj.weight": torch.zeros(2)}, "F32")
    refused(tmp_path / "extra", "unexpected tensor \"model.transformer.blocks.0.att_proj.weight\"")
    save(model, tmp_path / "key", config_extra={"frobnicate": 1})
    refused(tmp_path / "key", "config.json", "unknown key \"frobnicate\"")
    save(model, tmp_path / "alibi", config_extra={"alibi": True})
    refused(tmp_path / "alibi", "alibi = true is not supported")
    save(model, tmp_path / "corrupt")
    (tmp_path / "corrupt" / "model.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{}")
    refused(tmp_path / "corrupt", "model.safetensors", "not a readable safetensors file")
    refused(tmp_path / "nowhere", "not a checkpoint directory")


def read_safetensors(path):
    """The inverse of write_safetensors (f32 only: what unmask writes)."""
    data = Path(path).read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    body = data[8 + size:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        lo, hi = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(body[lo:hi], dtype="<f4").copy()).reshape(info["shape"])
    return out, header.get("__metadata__")


def test_a_trained_checkpoint_loads_into_torch_and_estimates_agree(tmp_path):
    """Issue "PyTorch bridge", agreement with Rust: a network trained by `unmask train` is
    LLaDA's architecture in torch too (same marginals), and the curve `unmask estimate --model`
    estimates is the one unmask.torch.estimate_curve estimates with the same seed."""
    import unmask
    import unmask.torch as ut

    spec, ckpt = "markov:n=12,q=4,stay=0.8", tmp_path / "m"
    subprocess.run([BIN, "train", "--dist", spec, "--out", str(ckpt), "--steps", "40",
                    "--size", "tiny,d=32", "--batch", "16", "--json"], check=True,
                   capture_output=True)
    config = json.loads((ckpt / "config.json").read_text())
    state, meta = read_safetensors(ckpt / "model.safetensors")
    assert meta == {"format": "pt"}
    from unmask.llada import KEYS
    model = LLaDAModel({k: v for k, v in config.items() if k in KEYS - {"mask_token_id"}})
    model.load_state_dict(state)
    model.eval()
    mask = config["mask_token_id"]
    assert mask == 4 and config["vocab_size"] == 5
    for ids in ["1,_,_,3,_,0,0,_,2,2,_,1", "_,_,_,_,_,_,_,_,_,_,_,_"]:
        got = predict(ckpt, ids)
        x = torch.tensor([[mask if t == "_" else int(t) for t in ids.split(",")]])
        with torch.no_grad():
            logits = model(x).logits[0].double()
        logits[:, mask] = -float("inf")
        want = torch.softmax(logits, -1)[got["positions"]].numpy()
        np.testing.assert_allclose(np.array(got["probs"]), want, atol=1e-5, rtol=0)
    out = subprocess.run([BIN, "estimate", "--dist", spec, "--model", str(ckpt), "--samples", "64",
                          "--points", "5", "--seed", "3", "--json"], capture_output=True,
                         text=True, check=True)
    rust = json.loads(out.stdout)
    assert rust["loss"] == "cross_entropy"
    ours = ut.estimate_curve(model, unmask.draw(spec, 64, seed=3), mask_id=mask, points=5, seed=3,
                             progress=False)
    entropy = ut.estimate_curve(model, unmask.draw(spec, 64, seed=3), mask_id=mask, points=5,
                                seed=3, loss="entropy", progress=False)
    for curve, part in [(ours, rust), (entropy, rust["predicted_entropy"])]:
        # Both sides repair the grid points the same way; the standard errors are the raw
        # per-draw spreads at each grid point.
        same = unmask.Curve.from_points(12, [tuple(p) for p in part["points"]], repair=True)
        np.testing.assert_allclose(curve.z, same.z, atol=1e-5, rtol=0)
        np.testing.assert_allclose([se for _, se in curve.stderr], part["stderr"], atol=1e-5)


def test_block_estimates_agree_with_the_cli(tmp_path):
    """`unmask estimate --model --block L` and `unmask.torch.estimate_curve(block=L)`: the same
    draws, orders and per-block reveals give the same block curves."""
    import unmask
    import unmask.torch as ut

    spec, ckpt = "markov:n=12,q=4,stay=0.8", tmp_path / "m"
    subprocess.run([BIN, "train", "--dist", spec, "--out", str(ckpt), "--steps", "20",
                    "--size", "tiny,d=32", "--batch", "8"], check=True, capture_output=True)
    config = json.loads((ckpt / "config.json").read_text())
    state, _ = read_safetensors(ckpt / "model.safetensors")
    from unmask.llada import KEYS
    model = LLaDAModel({k: v for k, v in config.items() if k in KEYS - {"mask_token_id"}})
    model.load_state_dict(state)
    model.eval()
    out = subprocess.run([BIN, "estimate", "--dist", spec, "--model", str(ckpt), "--block", "4",
                          "--samples", "40", "--points", "3", "--seed", "2", "--json"],
                         capture_output=True, text=True, check=True)
    rust = json.loads(out.stdout)
    ours = ut.estimate_curve(model, unmask.draw(spec, 40, seed=2), mask_id=4, points=3, seed=2,
                             block=4, progress=False)
    assert rust["block"] == 4 and len(rust["curves"]) == ours.blocks == 3
    for curve, z, est in zip(ours.curves, rust["curves"], rust["estimates"]):
        np.testing.assert_allclose(curve.z, z, atol=1e-5, rtol=0)
        np.testing.assert_allclose([se for _, se in curve.stderr], est["stderr"], atol=1e-5)
