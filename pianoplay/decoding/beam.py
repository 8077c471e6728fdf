"""Beam search: the ``width`` most likely continuations, extended one token at a time."""

from __future__ import annotations

import torch

from pianoplay.decoding.step import Runs, Start, StepFn, reorder, split


def beam(
    step: StepFn,
    start: Start,
    steps: int,
    runs: Runs,
    width: int = 8,
    n: int = 1,
    temperature: float = 1.0,
) -> torch.Tensor:
    """(n, steps) token ids: the ``n`` best of ``width`` beams of one search from row 0 of
    ``start``, ranked by log-probability of softmax(logits / temperature) under ``runs.rules``.
    All beams share one length, so length normalisation would not change the ranking."""
    logits, state = start
    rows = torch.zeros(width, dtype=torch.long, device=logits.device)
    logits, state, runs = logits[rows], reorder(state, rows), runs.select(rows)
    scores = torch.full((width,), float("-inf"), device=logits.device)
    scores[0] = 0.0  # all beams start identical: expand only one at the first step
    history = torch.empty(width, 0, dtype=torch.long, device=logits.device)
    for t in range(steps):
        values, ids = split(logits)
        logp = (runs.mask(values, ids) / temperature).log_softmax(-1)  # (W, V) or (W, K)
        scores, flat = torch.topk((scores[:, None] + logp).flatten(), width)
        parent, tok = flat // logp.shape[1], flat % logp.shape[1]
        if ids is not None:
            tok = ids[tok]
        history = torch.cat([history[parent], tok[:, None]], 1)
        runs = runs.select(parent)
        runs.push(tok)
        if t + 1 < steps:
            logits, state = step(reorder(state, parent), tok)
    return history[torch.argsort(scores, descending=True)[:n]]
