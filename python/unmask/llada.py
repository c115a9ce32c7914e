"""A small, exact implementation of LLaDA's architecture in PyTorch, with LLaDA's tensor names.

LLaDA (ML-GSAI/LLaDA, ``modeling_llada.py``, ``LLaDALlamaBlock``) is a bidirectional
transformer: per block ``x += attn_out(SDPA(RoPE(q), RoPE(k), v))`` on ``attn_norm(x)`` with no
causal mask, then ``x += ff_out(silu(ff_proj(h)) * up_proj(h))`` on ``ff_norm(x)``; RMSNorm with
a weight (variance in float32), rotate-half RoPE with ``inv_freq = θ^(−2i/d_head)`` computed in
float32, optional grouped KV heads, no biases, ``ln_f`` and an untied (or tied) head; the logit at
position i predicts token i. Parameters are named as in LLaDA's checkpoints
(``model.transformer.wte.weight``, ``model.transformer.blocks.{i}.q_proj.weight``, …), so a
``state_dict`` loads a LLaDA-format checkpoint of the same configuration and vice versa. It is
what unmask's tests, benchmark and example run as "a LLaDA model" on a CPU; a real checkpoint is
run with its own ``transformers`` code (``examples/llada_8b.py``).

``LLaDAModel(config)`` takes a LLaDA ``config.json`` (a dict, or its path; the file ``unmask
train`` writes included) and uses its keys ``d_model``, ``n_heads``,
``n_kv_heads``, ``n_layers``, ``mlp_hidden_size``, ``vocab_size`` (``embedding_size`` when
larger), ``rope_theta``, ``rms_norm_eps``, ``weight_tying``; ``forward(ids)`` returns an object
with ``.logits`` like the Hugging Face wrapper.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import torch
from torch import nn
from torch.nn import functional as F

KEYS = {"d_model", "n_heads", "n_kv_heads", "n_layers", "mlp_hidden_size", "vocab_size",
        "embedding_size", "rope_theta", "rms_norm_eps", "weight_tying", "mask_token_id"}

# The rest of a LLaDA ``config.json`` (and of the one ``unmask train`` writes), with the same
# rules as the Rust loader (crates/unmask-nn/src/config.rs): bookkeeping keys are read and
# ignored; keys that select an architecture variant must hold LLaDA's own value.
IGNORED = {"architectures", "auto_map", "model_type", "torch_dtype", "transformers_version",
           "use_cache", "precision", "max_sequence_length", "eos_token_id", "pad_token_id",
           "bos_token_id", "attention_dropout", "residual_dropout", "embedding_dropout",
           "init_device", "init_fn", "init_std", "init_cutoff_factor", "flash_attention",
           "mlp_ratio", "block_group_size", "alibi_bias_max", "rope_full_precision",
           "layer_norm_eps"}
FIXED = {"block_type": "llama", "activation_type": "silu", "layer_norm_type": "rms",
         "rope": True, "alibi": False, "include_bias": False, "include_qkv_bias": False,
         "bias_for_layer_norm": False, "layer_norm_with_affine": True,
         "attention_layer_norm": False, "scale_logits": False, "input_emb_norm": False,
         "multi_query_attention": False, "clip_qkv": None}


def _architecture(config) -> dict:
    """The keys that shape the network, from a config dict or the path of a ``config.json``."""
    if isinstance(config, (str, bytes)) or hasattr(config, "__fspath__"):
        import json
        import os
        with open(os.fspath(config), encoding="utf-8") as f:
            config = json.load(f)
    if not isinstance(config, dict):
        raise ValueError(f"config must be a dict or the path of a config.json, got {type(config).__name__}")
    for key, want in FIXED.items():
        if key in config:
            got = config[key]
            ok = got == want or (want is False and got is None) or (key == "activation_type" and got == "swiglu")
            if not ok:
                raise ValueError(f"config key {key!r} = {got!r}: only LLaDA's {want!r} is supported")
    unknown = set(config) - KEYS - IGNORED - set(FIXED)
    if unknown:
        raise ValueError(f"unsupported config keys: {sorted(unknown)}")
    return {k: v for k, v in config.items() if k in KEYS}


class RMSNorm(nn.Module):
    def __init__(self, size: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x):
        dtype = x.dtype
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dtype)


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, hd = c["d_model"], c["d_model"] // c["n_heads"]
        kv = c.get("n_kv_heads") or c["n_heads"]
        self.n_heads, self.n_kv, self.head_dim = c["n_heads"], kv, hd
        self.attn_norm = RMSNorm(d, c["rms_norm_eps"])
        self.q_proj = nn.Linear(d, c["n_heads"] * hd, bias=False)
        self.k_proj = nn.Linear(d, kv * hd, bias=False)
        self.v_proj = nn.Linear(d, kv * hd, bias=False)
        self.attn_out = nn.Linear(c["n_heads"] * hd, d, bias=False)
        self.ff_norm = RMSNorm(d, c["rms_norm_eps"])
        self.ff_proj = nn.Linear(d, c["mlp_hidden_size"], bias=False)  # the gate (SiLU)
        self.up_proj = nn.Linear(d, c["mlp_hidden_size"], bias=False)
        self.ff_out = nn.Linear(c["mlp_hidden_size"], d, bias=False)

    def forward(self, x, cos, sin, attention_mask=None):
        b, t, _ = x.shape
        h = self.attn_norm(x)
        q = self.q_proj(h).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        dtype = q.dtype
        q = (q.float() * cos + rotate_half(q.float()) * sin).to(dtype)
        k = (k.float() * cos + rotate_half(k.float()) * sin).to(dtype)
        if self.n_kv != self.n_heads:
            k = k.repeat_interleave(self.n_heads // self.n_kv, dim=1)
            v = v.repeat_interleave(self.n_heads // self.n_kv, dim=1)
        mask = None
        if attention_mask is not None:  # padding only: keys with 0 are not attended to
            mask = attention_mask[:, None, None, :].bool()
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=False)
        x = x + self.attn_out(att.transpose(1, 2).reshape(b, t, -1))
        h = self.ff_norm(x)
        return x + self.ff_out(F.silu(self.ff_proj(h)) * self.up_proj(h))


class LLaDAModel(nn.Module):
    """LLaDA's architecture (see the module docstring); ``forward(ids).logits`` is (B, L, V)."""

    def __init__(self, config):
        super().__init__()
        config = _architecture(config)
        c = {"n_kv_heads": None, "rope_theta": 10000.0, "rms_norm_eps": 1e-5,
             "weight_tying": False, **config}
        if c["d_model"] % c["n_heads"] or (c["d_model"] // c["n_heads"]) % 2:
            raise ValueError(f"d_model {c['d_model']} must split into {c['n_heads']} heads of "
                             "even size")
        self.config = c
        vocab = max(c["vocab_size"], c.get("embedding_size") or 0)
        t = nn.Module()
        t.wte = nn.Embedding(vocab, c["d_model"])
        t.blocks = nn.ModuleList(Block(c) for _ in range(c["n_layers"]))
        t.ln_f = RMSNorm(c["d_model"], c["rms_norm_eps"])
        if not c["weight_tying"]:
            t.ff_out = nn.Linear(c["d_model"], vocab, bias=False)
        self.model = nn.Module()
        self.model.transformer = t
        hd = c["d_model"] // c["n_heads"]
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        self.register_buffer("inv_freq", inv, persistent=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02 if "wte" in name else 1.0 / math.sqrt(p.shape[1]))

    def forward(self, ids, attention_mask=None):
        t = self.model.transformer
        x = t.wte(ids)
        pos = torch.arange(ids.shape[1], device=ids.device, dtype=torch.float32)
        freqs = torch.outer(pos, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        for block in t.blocks:
            x = block(x, cos, sin, attention_mask)
        x = t.ln_f(x)
        logits = F.linear(x, t.wte.weight) if self.config["weight_tying"] else t.ff_out(x)
        return SimpleNamespace(logits=logits)
