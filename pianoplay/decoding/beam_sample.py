"""Beam sampling: beams grow by whole segments (bars) drawn by temperature sampling and
are kept by the model's own log-probability.

Each of the ``width`` beams proposes ``candidates`` continuations of one segment,
sampled at ``temperature``; the ``width`` best of all proposals by length-normalised
log-probability (mean nats per new token at temperature 1, the model's own
likelihood) become the next beams. Diverse beams: a proposal whose new segment equals
that of a better proposal already kept is passed over while others remain, so the
beams do not collapse onto one bar. Sampling keeps the music moving; choosing among
samples by likelihood keeps it coherent.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pianoplay.decoding.sampling import draw
from pianoplay.decoding.step import Runs, Start, StepFn, reorder, split


@dataclass
class Found:
    """What a beam-sampling search found, for each of its B independent searches.

    ``tokens`` (B, T) the best sequence; ``candidates`` (B, C, T) every proposal of
    the last segment and ``scores`` (B, C) their mean log-prob per token (nats),
    ``tokens[b]`` being the candidate of highest score."""

    tokens: torch.Tensor
    candidates: torch.Tensor
    scores: torch.Tensor


def beam_sample(
    step: StepFn,
    start: Start,
    steps: int,
    runs: Runs,
    gen: torch.Generator,
    width: int = 8,
    candidates: int = 2,
    segment: int = 8,
    offset: int = 0,
    temperature: float = 1.0,
) -> Found:
    """Beam sampling for each row of ``start`` (B independent searches, B * width beams).

    Segments end where ``(offset + t) % segment == 0``: pass the primer's length as
    ``offset`` to keep them on bar lines."""
    logits, state = start
    n, device = len(logits), logits.device
    rows = torch.arange(n, device=device).repeat_interleave(width)  # all beams start identical
    logits, state, runs = logits[rows], reorder(state, rows), runs.select(rows)
    scores = torch.zeros(n, width, device=device)  # summed log-prob of each beam
    history = torch.empty(n * width, 0, dtype=torch.long, device=device)
    t = 0
    while t < steps:
        length = min(segment - (offset + t) % segment, steps - t)
        kids = torch.arange(n * width, device=device).repeat_interleave(candidates)
        logits, state, runs = logits[kids], reorder(state, kids), runs.select(kids)
        seg, logp, logits, state = _sample_segment(
            step, logits, state, runs, gen, length, temperature, more=t + length < steps
        )
        total = scores.repeat_interleave(candidates, 1) + logp.view(n, -1)  # (n, W * K)
        proposals = torch.cat([history[kids], seg], 1)  # (n * W * K, t + length)
        t += length
        if t >= steps:
            c = proposals.view(n, width * candidates, t)
            norm = total / t
            return Found(c[torch.arange(n), norm.argmax(1)], c, norm)
        keep = _diverse_best(total, seg.view(n, width * candidates, -1), width)  # (n, W)
        chosen = (keep + torch.arange(n, device=device)[:, None] * width * candidates).flatten()
        scores = total.gather(1, keep)
        history, logits, state, runs = (
            proposals[chosen],
            logits[chosen],
            reorder(state, chosen),
            runs.select(chosen),
        )
    raise AssertionError("unreachable: steps >= 1")


def _sample_segment(step, logits, state, runs, gen, length, temperature, more):
    """``length`` tokens for every row: the tokens (R, length), each row's summed log-prob (R,),
    and the logits and state after them (one more ``step`` only when ``more`` follows)."""
    rows = len(logits)
    device = logits.device
    tokens = torch.empty(rows, length, dtype=torch.long, device=device)
    logp = torch.zeros(rows, device=device)
    for i in range(length):
        raw, ids = split(logits)
        tok = draw(runs.mask(raw, ids) / temperature, gen)
        logp += raw.gather(1, tok[:, None]).squeeze(1) - raw.logsumexp(-1)
        if ids is not None:
            tok = ids[tok]
        tokens[:, i] = tok
        runs.push(tok)
        if i + 1 < length or more:
            logits, state = step(state, tok)
    return tokens, logp, logits, state


def _diverse_best(total: torch.Tensor, segs: torch.Tensor, width: int) -> torch.Tensor:
    """(n, C) scores and (n, C, L) new segments -> (n, width) indices of the best proposals,
    a segment equal to a better kept one's passed over while there are enough others."""
    order = torch.argsort(total, 1, descending=True).tolist()
    segs = segs.tolist()
    keep = []
    for b, ranked in enumerate(order):
        seen, first, rest = set(), [], []
        for c in ranked:
            key = tuple(segs[b][c])
            (rest if key in seen else first).append(c)
            seen.add(key)
        keep.append((first + rest)[:width])
    return torch.tensor(keep, device=total.device)
