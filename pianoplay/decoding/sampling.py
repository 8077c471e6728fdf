"""Token-by-token decoding: ancestral sampling (temperature, top-k, top-p) and greedy argmax.

All B sequences advance as one batch; one ``step`` call per new token.
"""

from __future__ import annotations

import torch

from pianoplay.decoding.step import Runs, Start, StepFn, split


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """(B, V) -> (B, V) with everything outside the top k / the nucleus p set to -inf."""
    if top_k > 0 and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, -1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, -1, descending=True)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop = cum - sorted_logits.softmax(-1) >= top_p  # keep the smallest prefix reaching p
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    return logits


def draw(logits: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """(B, V) logits -> (B,) one id per row drawn from softmax(logits): the inverse CDF at one
    uniform per row (an id of probability 0 is never drawn). Several times faster than
    ``torch.multinomial`` over a vocabulary of thousands (2.7 ms -> ~0.2 ms for 32 x 4097)."""
    cum = logits.softmax(-1).cumsum(-1)
    u = 1 - torch.rand(len(logits), 1, generator=gen, device=logits.device)  # (0, 1]
    return torch.searchsorted(cum, u * cum[:, -1:]).squeeze(1).clamp_(max=logits.shape[1] - 1)


def sample(
    step: StepFn,
    start: Start,
    steps: int,
    runs: Runs,
    gen: torch.Generator,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    greedy: bool = False,
) -> torch.Tensor:
    """(B, steps) token ids: each drawn from softmax(logits / temperature), restricted to
    the top ``top_k`` ids and / or the nucleus ``top_p`` when given, or the argmax with
    ``greedy``; ``runs.rules`` hold throughout."""
    logits, state = start
    out = torch.empty(len(logits), steps, dtype=torch.long, device=logits.device)
    for t in range(steps):
        values, ids = split(logits)
        values = runs.mask(values, ids) / temperature  # rules in nats of the model
        if greedy:
            tok = values.argmax(-1)
        else:
            values = filter_logits(values, top_k, top_p)
            tok = draw(values, gen)
        if ids is not None:
            tok = ids[tok]
        out[:, t] = tok
        runs.push(tok)
        if t + 1 < steps:
            logits, state = step(state, tok)
    return out
