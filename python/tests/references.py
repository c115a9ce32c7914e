"""The peers' sampling loops, restated from their sources for the PyTorch bridge's parity
tests (test_torch.py) and overhead benchmark (python/bench/bench_torch.py). Nothing here calls
unmask: these are what unmask.torch.generate is compared against.
"""

import numpy as np
import torch


def llada_reference(model, prompt, steps, gen_length, block_length, temperature, remasking,
                    mask_id, counts=None):
    """LLaDA's ``generate`` (ML-GSAI/LLaDA generate.py at 65cbed2: ``add_gumbel_noise``,
    ``get_num_transfer_tokens``, the block loop), restated; ``counts`` replaces
    ``get_num_transfer_tokens`` per block (to check other schedules change only the counts)."""
    x = torch.full((prompt.shape[0], prompt.shape[1] + gen_length), mask_id, dtype=torch.long)
    x[:, :prompt.shape[1]] = prompt.clone()
    num_blocks = gen_length // block_length
    per_block = steps // num_blocks
    for nb in range(num_blocks):
        lo = prompt.shape[1] + nb * block_length
        block_mask = x[:, lo:lo + block_length] == mask_id
        if counts is None:
            mask_num = block_mask.sum(dim=1, keepdim=True)
            num = torch.zeros(mask_num.size(0), per_block, dtype=torch.int64) + mask_num // per_block
            for i in range(mask_num.size(0)):
                num[i, :mask_num[i] % per_block] += 1
        else:
            num = torch.tensor(counts[nb])[None, :].expand(x.shape[0], -1)
        for i in range(num.shape[1]):
            mask_index = x == mask_id
            logits = model(x).logits
            if temperature == 0:
                noisy = logits
            else:
                l64 = logits.to(torch.float64)
                noise = torch.rand_like(l64, dtype=torch.float64)
                noisy = l64.exp() / (-torch.log(noise)) ** temperature
            x0 = torch.argmax(noisy, dim=-1)
            if remasking == "low_confidence":
                p = torch.nn.functional.softmax(logits, dim=-1)
                x0_p = torch.squeeze(torch.gather(p, dim=-1, index=torch.unsqueeze(x0, -1)), -1)
            else:
                x0_p = torch.rand((x0.shape[0], x0.shape[1]))
            x0_p[:, lo + block_length:] = -np.inf
            x0 = torch.where(mask_index, x0, x)
            confidence = torch.where(mask_index, x0_p, -np.inf)
            transfer = torch.zeros_like(x0, dtype=torch.bool)
            for j in range(confidence.shape[0]):
                _, select = torch.topk(confidence[j], k=int(num[j, i]))
                transfer[j, select] = True
            x[transfer] = x0[transfer]
    return x


def dream_reference(model, prompt, steps, gen_length, alg, mask_id, eps=1e-3):
    """Dream's ``_sample`` for ``alg`` in maskgit_plus/topk_margin/entropy at temperature 0,
    ``alg_temp=None`` (Dream-org generation_utils.py), restated: shifted logits, the
    ``linspace(1, eps, steps + 1)`` grid, ``int(num_mask · (1 − s/t))`` per step and all the
    rest at the last, top-k by confidence."""
    x = torch.nn.functional.pad(prompt, (0, gen_length), value=mask_id)
    timesteps = torch.linspace(1, eps, steps + 1)
    for i in range(steps):
        mask_index = x == mask_id
        logits = model(x).logits
        logits = torch.cat([logits[:, :1], logits[:, :-1]], dim=1)
        mask_logits = logits[mask_index]
        t, s = timesteps[i], timesteps[i + 1]
        probs = torch.softmax(mask_logits, dim=-1)
        confidence, x0 = probs.max(dim=-1)
        if alg == "topk_margin":
            top = torch.sort(probs, dim=-1, descending=True)[0]
            confidence = top[:, 0] - top[:, 1]
        elif alg == "entropy":
            confidence = torch.sum(probs * torch.log(probs + 1e-10), dim=-1)
        num_mask_token = mask_index.sum() / mask_index.shape[0]
        k = int(num_mask_token * (1 - s / t)) if i < steps - 1 else int(num_mask_token)
        full = torch.full_like(x, -torch.inf, dtype=logits.dtype)
        full[mask_index] = confidence
        if k > 0:
            _, transfer = torch.topk(full, k)
            x_ = torch.zeros_like(x) + mask_id
            x_[mask_index] = x0.clone()
            rows = torch.arange(x.size(0)).unsqueeze(1).expand_as(transfer)
            x[rows, transfer] = x_[rows, transfer]
    return x
