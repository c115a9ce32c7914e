"""unmask.torch: put a PyTorch masked diffusion model in the loop.

Three calls cover what a practitioner with LLaDA-, Dream- or MDLM-style model asks:

* :func:`estimate_curve` — the model's information curve from its own masked losses (whole
  sequence, answer given a prompt, or one curve per block of a block-wise decoder), with
  standard errors; the random orders are the Rust estimator's for the same seed.
* :func:`generate` — LLaDA's semi-autoregressive sampling loop with the per-step counts taken
  from any unmask schedule (a count list, a preset spec, or the optimal schedule of a curve);
  with LLaDA's own schedule and random state it returns exactly the tokens of LLaDA's reference
  ``generate()``.
* :func:`score` — the held-out negative log-likelihood per token of data under the K-step
  random-order sampler with a schedule, and the value Theorem 16 predicts from a curve.

The model is any callable or ``nn.Module`` mapping input ids ``(B, L)`` (masked positions hold
``mask_id``) to logits ``(B, L, V)``, or to an object with ``.logits`` (Hugging Face models).
``shift=True`` is Dream's convention: the logit at position i − 1 predicts token i (Dream is
adapted from an autoregressive model), so position 0 needs a prompt token before it.

Importing this module needs torch; ``import unmask`` does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Union

import numpy as np
import torch

import unmask

__all__ = ["Generation", "Score", "estimate_curve", "generate", "score"]

REMASKING = ("low_confidence", "random", "margin", "entropy")


# --- the model call -------------------------------------------------------------------------

def _device(model) -> torch.device:
    if isinstance(model, torch.nn.Module):
        for p in model.parameters():
            return p.device
        for b in model.buffers():
            return b.device
    return torch.device("cpu")


def _forward(model, ids, mask_id, shift, attention_mask=None, what="the model"):
    """Logits ``(B, L, V)`` of ``model(ids)``, checked: shape, vocabulary, no NaN or +inf."""
    try:
        out = model(ids) if attention_mask is None else model(ids, attention_mask=attention_mask)
    except IndexError as e:  # an embedding lookup past the vocabulary (CPU)
        raise ValueError(f"{what} failed on input ids up to {int(ids.max())} (mask_id "
                         f"{mask_id}): are the mask id and every token id in the model's "
                         f"vocabulary? ({e})") from e
    logits = getattr(out, "logits", out)
    if isinstance(logits, (tuple, list)):
        logits = logits[0]
    if not isinstance(logits, torch.Tensor):
        raise ValueError(f"{what} returned {type(out).__name__}, expected a tensor of logits "
                         "(B, L, V) or an object with .logits")
    b, length = ids.shape
    if logits.dim() != 3 or tuple(logits.shape[:2]) != (b, length):
        raise ValueError(f"{what} returned logits of shape {tuple(logits.shape)}, expected "
                         f"({b}, {length}, V) for input ids of shape ({b}, {length})")
    if mask_id >= logits.shape[2]:
        raise ValueError(f"mask_id {mask_id} is not in the model's vocabulary of "
                         f"{logits.shape[2]} tokens (logits have V = {logits.shape[2]})")
    bad = torch.isnan(logits) | torch.isposinf(logits)
    if bool(bad.any()):
        row, pos, tok = (int(v) for v in bad.nonzero()[0])
        raise ValueError(f"{what} returned a non-finite logit ({float(logits[row, pos, tok])}) "
                         f"at batch row {row}, position {pos}, token {tok}")
    if shift:  # Dream: the logit at i - 1 predicts token i
        logits = torch.cat([logits[:, :1], logits[:, :-1]], dim=1)
    return logits


def _log_probs(logits, mask_id):
    """Log-probabilities over the real tokens in float32: the mask token gets probability 0."""
    lp = logits.float()
    lp[..., mask_id] = -math.inf
    return torch.log_softmax(lp, dim=-1)


def _ids(x, what, mask_id) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.dim() != 2 or t.shape[0] < 1 or t.shape[1] < 1:
        raise ValueError(f"{what} must be a 2-D array of token ids, got shape {tuple(t.shape)}")
    if t.dtype.is_floating_point or t.dtype == torch.bool or t.dtype.is_complex:
        raise ValueError(f"{what} must hold integer token ids, got dtype {t.dtype}")
    t = t.long()
    if bool((t < 0).any()):
        row, col = (int(v) for v in (t < 0).nonzero()[0])
        raise ValueError(f"{what}[{row}, {col}] = {int(t[row, col])} is negative")
    if bool((t == mask_id).any()):
        row, col = (int(v) for v in (t == mask_id).nonzero()[0])
        raise ValueError(f"{what}[{row}, {col}] is the mask id {mask_id}: data must be unmasked")
    return t


def _check_vocab(tokens, vocab, what):
    if int(tokens.max()) >= vocab:
        row, col = (int(v) for v in (tokens >= vocab).nonzero()[0])
        raise ValueError(f"{what}[{row}, {col}] = {int(tokens[row, col])} is outside the model's "
                         f"vocabulary of {vocab} tokens")


def _progress(total, desc, enabled):
    if enabled:
        try:
            from tqdm.auto import tqdm
            return tqdm(total=total, desc=desc, leave=False)
        except ImportError:
            pass
    return None


def _with_prompt(sequences, prompt, mask_id):
    """(full sequences, prompt length P): ``prompt`` is a length (leading tokens of each
    sequence) or prefix tokens ``(P,)``/``(M, P)`` prepended to every sequence."""
    seqs = _ids(sequences, "sequences", mask_id)
    if prompt is None:
        return seqs, 0
    if isinstance(prompt, (int, np.integer)):
        p = int(prompt)
        if not 0 <= p < seqs.shape[1]:
            raise ValueError(f"prompt = {p} must be a length in 0..{seqs.shape[1] - 1}")
        return seqs, p
    pt = torch.as_tensor(prompt)
    if pt.dim() == 1:
        pt = pt[None, :].expand(seqs.shape[0], -1)
    pt = _ids(pt, "prompt", mask_id)
    if pt.shape[0] != seqs.shape[0]:
        raise ValueError(f"prompt has {pt.shape[0]} rows, sequences {seqs.shape[0]}")
    return torch.cat([pt, seqs], dim=1), pt.shape[1]


# --- estimate_curve -------------------------------------------------------------------------

@torch.inference_mode()
def estimate_curve(model, sequences, *, mask_id: int, points: Union[int, Sequence[int]] = 16,
                   batch_size: int = 32, shift: bool = False, prompt=None,
                   block: Optional[int] = None, seed: int = 0, loss: str = "cross_entropy",
                   unit: str = "nats", progress: bool = True, attention_mask=None):
    """The information curve of the data as the model sees it, from its masked losses.

    Per sequence, one random order of the answer positions (those after the prompt) is taken
    from ``unmask.estimation_orders`` — the orders the Rust estimator (``unmask estimate``)
    uses for the same seed. For each revealed count t of the grid, the first t positions of
    the order are revealed and the model is asked for the rest; the per-sequence mean loss of
    the masked positions gives ``h(t)`` and ``Z_{t+1} = h(0) − h(t)`` is averaged per sequence
    (coupled: one order serves every t, so the differences have small variance; ``docs/theory.md``
    §6). ``loss="cross_entropy"`` (−ln p of the true token: what the model's training loss and
    :func:`score` measure, biased upward by model error) or ``"entropy"`` (the predicted
    entropy: unbiased for a calibrated model). Probabilities are the log-softmax in float32 over
    the real tokens (the mask token's logit is dropped), whatever the model's dtype.

    Args:
        model: callable or ``nn.Module``: ids ``(B, L)`` → logits ``(B, L, V)`` (or ``.logits``).
        sequences: token ids ``(M, n)``, M ≥ 2 (held-out data, or draws of a distribution).
        mask_id: the mask token's id (LLaDA: 126336).
        points: number of grid points (evenly spaced, plus t = 0), or explicit counts t.
        batch_size: rows per forward pass.
        shift: Dream's convention (needs a prompt of at least one token).
        prompt: a prompt length P (the first P tokens of each sequence) or prefix ids ``(P,)``
            or ``(M, P)``: always revealed; the curve is that of the answer given the prompt.
        block: block length L: the conditional curve of each block of a block-wise decoder
            (earlier blocks revealed, later ones masked), returned as ``unmask.BlockCurves``.
        seed: the estimator's seed (as ``unmask estimate --seed``).
        loss: "cross_entropy" or "entropy".
        unit: unit of the result.
        progress: show a tqdm bar when tqdm is installed.
        attention_mask: passed to the model as ``attention_mask=`` (padding), when given.

    Returns:
        ``unmask.Curve`` of length n − P with ``stderr`` (repaired onto the monotone set, the
        correction in ``.correction``), or ``unmask.BlockCurves`` with ``block``.

    Example::

        curve = unmask.torch.estimate_curve(model, held_out, mask_id=126336, prompt=64)
        plan = unmask.optimal_schedule(curve, steps=64)
    """
    if loss not in ("entropy", "cross_entropy"):
        raise ValueError(f"loss must be 'entropy' or 'cross_entropy', got {loss!r}")
    unit = unmask._check_unit(unit)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    seqs, p = _with_prompt(sequences, prompt, mask_id)
    m, n = seqs.shape
    if m < 2:
        raise ValueError(f"sequences must have at least 2 rows for a standard error, got {m}")
    if shift and p == 0:
        raise ValueError("shift=True: no logit predicts the first token; give a prompt of at "
                         "least one token (Dream's BOS)")
    a = n - p
    if a < 2:
        raise ValueError(f"the answer has {a} tokens; estimation needs at least 2")
    if block is not None and (block < 1 or a % block):
        raise ValueError(f"block = {block} must divide the answer length {a}")
    length = block or a
    blocks = a // length
    grid = unmask._grid(length, points)
    orders = torch.from_numpy(unmask.estimation_orders(a, m, seed))
    rank = torch.empty_like(orders)
    rank.scatter_(1, orders, torch.arange(a).expand(m, a).contiguous())
    # Within block b, the answer order restricted to the block: rank among the block's positions.
    local = rank.view(m, blocks, length).argsort(dim=2).argsort(dim=2)
    device = _device(model)
    # Every (sequence, block, t) query, in batches.
    queries = [(i, b, g) for b in range(blocks) for g in range(len(grid)) for i in range(m)]
    per_row = np.zeros((m, blocks, len(grid)))
    bar = _progress(len(queries), "estimating the curve", progress)
    for start in range(0, len(queries), batch_size):
        chunk = queries[start:start + batch_size]
        rows = torch.tensor([q[0] for q in chunk])
        bs = torch.tensor([q[1] for q in chunk])
        ts = torch.tensor([grid[q[2]] for q in chunk])
        # masked[r, j] for answer position j: later blocks, or this block's unrevealed ones.
        blk = torch.arange(a) // length
        masked = (blk[None, :] > bs[:, None]) | (
            (blk[None, :] == bs[:, None]) & (local[rows].reshape(len(chunk), a) >= ts[:, None]))
        target = (blk[None, :] == bs[:, None]) & masked
        ids = seqs[rows].clone()
        ids[:, p:][masked] = mask_id
        am = None if attention_mask is None else torch.as_tensor(attention_mask)[rows].to(device)
        logits = _forward(model, ids.to(device), mask_id, shift, am)
        if start == 0:  # the vocabulary is known from the first forward pass
            _check_vocab(seqs, logits.shape[2], "sequences")
        lp = _log_probs(logits[:, p:], mask_id)
        if loss == "cross_entropy":
            terms = -lp.gather(2, seqs[rows, p:].to(device)[..., None])[..., 0]
        else:
            terms = -(lp.exp() * lp.nan_to_num(neginf=0.0)).sum(dim=2)
        terms = terms.double().cpu()
        mean = (terms * target).sum(dim=1) / target.sum(dim=1)
        for (i, b, g), v in zip(chunk, mean.tolist()):
            per_row[i, b, g] = v
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    curves = [unmask._curve_from_profiles(per_row[:, b, :], grid, length, unit)
              for b in range(blocks)]
    return curves[0] if block is None else unmask.BlockCurves(curves)


# --- schedules for the loop -----------------------------------------------------------------

def _llada_counts(length: int, steps: int) -> List[int]:
    """LLaDA's ``get_num_transfer_tokens`` for one block: the preset ``llada`` (checked against
    LLaDA's torch code in test_peers.py), and zero-count steps past one token per step."""
    if steps <= length:
        return unmask.schedule(f"llada:steps={steps}", length).tolist()
    return [1] * length + [0] * (steps - length)


def _split(flat: Sequence[int], length: int, blocks: int) -> List[List[int]]:
    """Flat counts cut at the block boundaries; a zero-count step belongs to the block before."""
    counts = [int(c) for c in flat]
    if any(c < 0 for c in counts):
        raise ValueError(f"the schedule has a negative count: {counts}")
    if sum(counts) != length * blocks:
        raise ValueError(f"the schedule's counts sum to {sum(counts)}, but gen_length is "
                         f"{length * blocks}")
    out: List[List[int]] = [[] for _ in range(blocks)]
    b, filled = 0, 0
    for k, c in enumerate(counts):
        if filled == length and c > 0:
            b, filled = b + 1, 0
        if filled + c > length:
            raise ValueError(f"step {k + 1} reveals {c} tokens but block {b + 1} has only "
                             f"{length - filled} left: the schedule does not divide into blocks "
                             f"of {length}")
        out[b].append(c)
        filled += c
    return out


def plan_counts(gen_length: int, *, steps: Optional[int] = None, schedule=None, curve=None,
                block_length: Optional[int] = None) -> List[List[int]]:
    """The per-block count lists :func:`generate` runs (one list per block of ``block_length``).

    ``schedule=None`` with ``steps=K``: LLaDA's own (K / blocks steps per block, its
    ``get_num_transfer_tokens``). ``"optimal"`` with ``curve`` (an ``unmask.Curve`` of length
    gen_length, or ``unmask.BlockCurves`` matching the blocks) and ``steps``: the optimal
    schedule. Any other string: a preset spec on gen_length (``curve`` for curve-based ones).
    A sequence of counts (list, array, tensor, or a plan dict's ``"schedule"``): as given.
    """
    length = gen_length if block_length is None else int(block_length)
    if gen_length < 1 or length < 1 or gen_length % length:
        raise ValueError(f"gen_length {gen_length} must be a positive multiple of block_length "
                         f"{length}")
    blocks = gen_length // length
    if isinstance(schedule, dict):
        schedule = schedule["schedule"]
    if schedule is None:
        if steps is None:
            raise ValueError("give steps= (LLaDA's schedule) or schedule=")
        if steps < blocks or steps % blocks:
            raise ValueError(f"steps = {steps} must be a positive multiple of the number of "
                             f"blocks {blocks} (LLaDA's loop)")
        return [_llada_counts(length, steps // blocks) for _ in range(blocks)]
    if isinstance(schedule, str) and schedule == "optimal":
        if steps is None or curve is None:
            raise ValueError("schedule='optimal' needs steps= and curve=")
        if isinstance(curve, unmask.BlockCurves):
            if curve.n != gen_length or curve.block != length or curve.blocks != blocks:
                raise ValueError(f"the block curves have {curve.blocks} blocks of {curve.block}, "
                                 f"but generation has {blocks} of {length}")
            return [list(map(int, b["schedule"])) for b in curve.optimal(steps=steps)["blocks"]]
        if blocks != 1:
            raise ValueError("a block-wise optimal schedule needs unmask.BlockCurves (e.g. "
                             "estimate_curve(..., block=L)); a whole-sequence curve plans one block")
        if curve.n != gen_length:
            raise ValueError(f"the curve has n = {curve.n}, but gen_length is {gen_length}")
        return [unmask.optimal_schedule(curve, steps=steps)["schedule"].tolist()]
    if isinstance(schedule, str):
        c = curve if isinstance(curve, unmask.Curve) else None
        flat = unmask.schedule(schedule, gen_length, curve=c).tolist()
    else:
        flat = [int(v) for v in (schedule.tolist() if hasattr(schedule, "tolist") else schedule)]
    return _split(flat, length, blocks)


# --- generate -------------------------------------------------------------------------------

@dataclass
class Generation:
    """What :func:`generate` returns."""

    tokens: torch.Tensor
    """``(B, P + gen_length)``: the prompt and the generated tokens."""
    nfe: int
    """Forward passes (the same for every sequence of the batch: they advance in lockstep)."""
    counts: List[List[int]]
    """Tokens revealed per step, one list per block."""
    trace: Optional[List[dict]] = None
    """With ``return_trace``: per step ``{"block", "count", "positions" (B, count),
    "confidences" (B, count)}``."""


@torch.inference_mode()
def generate(model, prompt_ids, *, gen_length: int, mask_id: int, steps: Optional[int] = None,
             schedule=None, curve=None, block_length: Optional[int] = None,
             remasking: str = "low_confidence", temperature: float = 0.0, shift: bool = False,
             attention_mask=None, seed: Optional[int] = None,
             return_trace: bool = False) -> Generation:
    """LLaDA's semi-autoregressive sampling loop, with any unmask schedule.

    The canvas is the prompt followed by ``gen_length`` masks, cut into blocks of
    ``block_length`` decoded left to right. Each step runs one forward pass, takes the argmax
    (or, at ``temperature > 0``, LLaDA's float64 Gumbel-max ``exp(logits) / (−ln u)^T``) as
    each masked position's candidate, scores candidates by the remasking rule, and commits the
    planned number of highest-scoring masked positions of the current block. Rules:
    ``"low_confidence"`` (the candidate's probability; LLaDA), ``"random"`` (uniform scores;
    LLaDA), ``"margin"`` (top-1 minus top-2 probability; Dream's ``topk_margin``),
    ``"entropy"`` (Σ p ln(p + 1e−10); Dream's ``entropy``).

    Exactness: with ``steps=K`` alone (LLaDA's schedule) and ``seed=None`` the random numbers
    come from torch's global generator in LLaDA's order, so ``torch.manual_seed(s)`` before
    the call gives the tokens of LLaDA's reference ``generate()`` (ML-GSAI/LLaDA
    ``generate.py``) with the same arguments. With ``shift=True``, ``temperature=0``, one block
    and ``schedule="dream:steps=K"``, ``"low_confidence"``/``"margin"``/``"entropy"`` are
    Dream's ``maskgit_plus``/``topk_margin``/``entropy`` loop (Dream's ``_sample``). Other
    schedules change only the counts. A step with count 0 still runs its forward pass, as in
    LLaDA's loop (the random streams stay aligned); optimal schedules have none.

    Args:
        model: ids ``(B, L)`` → logits ``(B, L, V)`` (or ``.logits``).
        prompt_ids: LongTensor ``(B, P)`` (left-pad unequal prompts, as LLaDA does).
        gen_length: tokens to generate.
        mask_id: the mask token's id.
        steps, schedule, curve, block_length: see :func:`plan_counts`.
        remasking: one of "low_confidence", "random", "margin", "entropy".
        temperature: 0 for argmax; > 0 samples by LLaDA's Gumbel-max.
        shift: Dream's logit shift.
        attention_mask: ``(B, P)`` padding mask, extended with ones over the generation and
            passed to the model (LLaDA's convention).
        seed: None for torch's global generator (LLaDA's behaviour), or a seed for a private one.
        return_trace: record per step the committed positions and their scores.
    """
    if remasking not in REMASKING:
        raise ValueError(f"remasking must be one of {REMASKING}, got {remasking!r}")
    if not temperature >= 0 or not math.isfinite(temperature):
        raise ValueError(f"temperature must be a finite number ≥ 0, got {temperature}")
    if not isinstance(mask_id, (int, np.integer)) or mask_id < 0:
        raise ValueError(f"mask_id must be a non-negative integer, got {mask_id!r}")
    prompt = _ids(prompt_ids, "prompt_ids", mask_id)
    if shift and prompt.shape[1] == 0:
        raise ValueError("shift=True needs a prompt of at least one token")
    plan = plan_counts(gen_length, steps=steps, schedule=schedule, curve=curve,
                       block_length=block_length)
    length = gen_length // len(plan)
    device = _device(model)
    bsz, p = prompt.shape
    x = torch.full((bsz, p + gen_length), mask_id, dtype=torch.long, device=device)
    x[:, :p] = prompt.to(device)
    if attention_mask is not None:
        attention_mask = torch.as_tensor(attention_mask).to(device)
        if tuple(attention_mask.shape) != (bsz, p):
            raise ValueError(f"attention_mask has shape {tuple(attention_mask.shape)}, expected "
                             f"({bsz}, {p}) like prompt_ids")
        attention_mask = torch.cat([attention_mask, torch.ones(
            (bsz, gen_length), dtype=attention_mask.dtype, device=device)], dim=-1)
    gen = None
    if seed is not None:
        gen = torch.Generator(device=device).manual_seed(int(seed))
    trace: Optional[List[dict]] = [] if return_trace else None
    nfe = 0
    for b, counts in enumerate(plan):
        hi = p + (b + 1) * length
        for k in counts:
            mask_index = x == mask_id
            logits = _forward(model, x, mask_id, shift, attention_mask, f"the model (step {nfe + 1})")
            nfe += 1
            if nfe == 1 and p > 0:
                _check_vocab(prompt, logits.shape[2], "prompt_ids")
            # Candidates never include the mask id (LLaDA's models give it ~0 probability, so
            # their loop never picks it in effect; a model that favours it would otherwise emit
            # it as an output token). Confidences stay the softmax over the whole vocabulary,
            # as in LLaDA's loop.
            candidates = logits.clone()
            candidates[..., mask_id] = -math.inf
            _check_candidates(candidates, mask_index, hi, nfe)
            if temperature > 0:
                l64 = candidates.to(torch.float64)
                noise = torch.rand(l64.shape, dtype=torch.float64, device=device, generator=gen)
                x0 = torch.argmax(l64.exp() / (-torch.log(noise)) ** temperature, dim=-1)
            else:
                x0 = torch.argmax(candidates, dim=-1)
            if remasking == "random":
                x0_p = torch.rand(x0.shape, device=device, generator=gen)
            else:
                probs = torch.softmax(logits, dim=-1)
                if remasking == "low_confidence":
                    x0_p = torch.gather(probs, -1, x0[..., None])[..., 0]
                elif remasking == "margin":
                    top = torch.topk(probs, 2, dim=-1).values
                    x0_p = top[..., 0] - top[..., 1]
                else:
                    x0_p = torch.sum(probs * torch.log(probs + 1e-10), dim=-1)
            x0_p[:, hi:] = -np.inf
            x0 = torch.where(mask_index, x0, x)
            confidence = torch.where(mask_index, x0_p, -np.inf)
            chosen = torch.topk(confidence, k, dim=-1).indices
            x.scatter_(1, chosen, x0.gather(1, chosen))
            if trace is not None:
                trace.append({"block": b, "count": k, "positions": chosen.cpu(),
                              "confidences": confidence.gather(1, chosen).cpu()})
    return Generation(tokens=x, nfe=nfe, counts=plan, trace=trace)


def _check_candidates(candidates, mask_index, hi, nfe):
    """Refuses a step where a masked position of the current block has no candidate token (every
    logit but the mask's is −inf): argmax would silently return token 0."""
    dead = torch.isneginf(candidates).all(dim=-1) & mask_index
    dead[:, hi:] = False
    if bool(dead.any()):
        row, pos = (int(v) for v in dead.nonzero()[0])
        raise ValueError(f"the model (step {nfe}) gives every token but the mask a logit of −inf at "
                         f"batch row {row}, position {pos}: there is no token to generate there")


# --- score ----------------------------------------------------------------------------------

@dataclass
class Score:
    """What :func:`score` returns (nats per token unless ``unit="bits"``)."""

    nll_per_token: float
    """Mean over sequences of −ln ν(x) / n under the K-step random-order sampler."""
    stderr: float
    ci95: tuple
    baseline: float
    """ĥ(0): the mean loss of the first (all-masked) pass, per token."""
    predicted_nll_per_token: Optional[float]
    """ĥ(0) − (1/n) Σ_k s_k Ẑ_{t_k+1} from ``curve`` (Theorem 16), when given."""
    steps: int
    orders: int
    sequences: int
    schedule: List[int] = field(default_factory=list)


@torch.inference_mode()
def score(model, sequences, schedule, *, mask_id: int, shift: bool = False, orders: int = 1,
          prompt=None, curve=None, batch_size: int = 32, seed: int = 0, unit: str = "nats",
          progress: bool = True) -> Score:
    """Held-out negative log-likelihood per token of ``sequences`` under the K-step
    random-order sampler with ``schedule`` — what a schedule costs on the user's data.

    For each sequence and each of ``orders`` random orders (``unmask.estimation_orders``), the
    sampler's steps are replayed with the true tokens: step k reveals the next s_k positions of
    the order, and their −ln p(x_i | revealed) under the model (float32, mask token excluded)
    is the step's share of −ln ν(x). Its expectation is ``Σ_k s_k h(t_k)`` with ``t_k`` the
    tokens revealed before step k, i.e. ``n·h(0) − Σ_k s_k Z_{t_k+1}``: the model's NLL plus
    Theorem 16's schedule cost. With ``curve`` (the model's cross-entropy curve of the same
    length, e.g. from :func:`estimate_curve`) that prediction is returned beside the measurement,
    with ``h(0)`` measured by the first pass of this run.

    ``schedule``: a count list, a preset spec (``curve`` for curve-based ones), or a plan dict.
    The standard error is over sequences (their orders averaged); M ≥ 2 sequences.
    """
    if orders < 1 or batch_size < 1:
        raise ValueError(f"orders and batch_size must be at least 1, got {orders}, {batch_size}")
    unit = unmask._check_unit(unit)
    seqs, p = _with_prompt(sequences, prompt, mask_id)
    m, n = seqs.shape
    a = n - p
    if m < 2:
        raise ValueError(f"sequences must have at least 2 rows for a standard error, got {m}")
    if shift and p == 0:
        raise ValueError("shift=True: no logit predicts the first token; give a prompt of at "
                         "least one token (Dream's BOS)")
    counts = plan_counts(a, schedule=schedule, curve=curve)[0]
    if curve is not None and curve.n != a:
        raise ValueError(f"the curve has n = {curve.n}, but the scored answer has {a} tokens")
    order = torch.from_numpy(unmask.estimation_orders(a, m * orders, seed))
    device = _device(model)
    total = np.zeros(m * orders)
    first = np.zeros(m * orders)
    bar = _progress(m * orders, "scoring", progress)
    for start in range(0, m * orders, batch_size):
        rows = torch.arange(start, min(start + batch_size, m * orders))
        truth = seqs[rows // orders]
        ids = truth.clone()
        ids[:, p:] = mask_id
        nll = torch.zeros(len(rows), dtype=torch.float64)
        t = 0
        for k in counts:
            if k == 0:
                continue
            lp = _log_probs(_forward(model, ids.to(device), mask_id, shift), mask_id)[:, p:]
            if t == 0:
                if start == 0:
                    _check_vocab(seqs, lp.shape[2], "sequences")
                all_ce = -lp.gather(2, truth[:, p:].to(device)[..., None])[..., 0]
                if not bool(torch.isfinite(all_ce).all()):
                    r, c = (int(v) for v in (~torch.isfinite(all_ce)).nonzero()[0])
                    raise ValueError(f"the model gives sequence {int(rows[r]) // orders}'s true token "
                                     f"{int(truth[r, p + c])} at position {p + c} probability 0 with "
                                     "everything masked (−ln p = inf): its NLL is infinite")
                first[rows.numpy()] = all_ce.double().mean(dim=1).cpu().numpy()
            pos = order[rows, t:t + k]
            tok = truth[:, p:].gather(1, pos)
            picked = _picked(lp, pos.to(device), tok.to(device))
            if not bool(torch.isfinite(picked).all()):
                r, c = (int(v) for v in (~torch.isfinite(picked)).nonzero()[0])
                raise ValueError(f"the model gives sequence {int(rows[r]) // orders}'s true token "
                                 f"{int(tok[r, c])} at position {p + int(pos[r, c])} probability 0 "
                                 f"(−ln p = {float(picked[r, c])}): its NLL is infinite")
            nll += picked.sum(dim=1)
            ids[:, p:].scatter_(1, pos, tok)
            t += k
        total[rows.numpy()] = (nll / a).numpy()
        if bar is not None:
            bar.update(len(rows))
    if bar is not None:
        bar.close()
    factor = 1.0 if unit == "nats" else 1.0 / math.log(2.0)
    per_seq = total.reshape(m, orders).mean(axis=1)
    mean, se = float(per_seq.mean()), float(per_seq.std(ddof=1) / math.sqrt(m))
    baseline = float(first.mean())
    predicted = None
    if curve is not None:
        # Theorem 16 on the model's curve: Σ_k s_k Ẑ_{t_k+1} = TC − E-KL(schedule), so the
        # prediction is ĥ(0) − (TC − E-KL)/n, from the core's exact evaluation.
        nats = curve.to_unit("nats")
        gain = nats.tc - unmask.expected_kl(nats, list(counts))
        predicted = (baseline - gain / a) * factor
    return Score(nll_per_token=mean * factor, stderr=se * factor,
                 ci95=((mean - 1.96 * se) * factor, (mean + 1.96 * se) * factor),
                 baseline=baseline * factor, predicted_nll_per_token=predicted,
                 steps=len([c for c in counts if c > 0]), orders=orders, sequences=m,
                 schedule=list(counts))


def _picked(lp, pos, tok):
    """−ln p(tok) at positions ``pos`` of each row, float64 on the CPU."""
    rows = lp.gather(1, pos[..., None].expand(-1, -1, lp.shape[2]))
    return -rows.gather(2, tok[..., None])[..., 0].double().cpu()
