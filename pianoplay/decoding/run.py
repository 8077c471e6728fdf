"""Run a decoding strategy by name: :func:`decode`, and :func:`check_args` for its arguments."""

from __future__ import annotations

import torch

from pianoplay.decoding import NOT_OFFERED, SEARCHES, STRATEGIES
from pianoplay.decoding.beam import beam
from pianoplay.decoding.beam_sample import beam_sample
from pianoplay.decoding.sampling import sample
from pianoplay.decoding.step import DecodingError, Rules, Runs, Start, StepFn


def check_args(
    strategy: str, n: int, steps: int, temperature: float, top_k: int, top_p: float, beam_width: int
) -> None:
    """Raise :class:`DecodingError` naming the first argument out of range."""
    if strategy not in STRATEGIES and strategy not in NOT_OFFERED:
        raise DecodingError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}.")
    if n < 1:
        raise DecodingError(f"n must be at least 1, not {n}.")
    if steps < 1:
        raise DecodingError(f"steps must be at least 1, not {steps}.")
    if not temperature > 0:
        raise DecodingError(f"temperature must be positive, not {temperature}.")
    if strategy == "top-k" and top_k < 1:
        raise DecodingError(f"top-k decoding needs top_k >= 1, not {top_k}.")
    if strategy == "top-p" and not 0 < top_p <= 1:
        raise DecodingError(f"top-p decoding needs 0 < top_p <= 1, not {top_p}.")
    if strategy in ("beam", "beam-search") and beam_width < 1:
        raise DecodingError(f"beam_width must be at least 1, not {beam_width}.")
    if strategy == "beam-search" and n > beam_width:
        raise DecodingError(
            f"beam search returns the n best of beam_width beams: n={n} > beam_width={beam_width}."
        )


def decode(
    strategy: str,
    step: StepFn,
    start: Start,
    steps: int,
    rules: Rules,
    history: list[int] | None = None,
    gen: torch.Generator | None = None,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    beam_width: int = 8,
    segment: int = 8,
) -> torch.Tensor:
    """(n, steps) new token ids by ``strategy`` for the n rows of ``start``.

    ``history``: the token ids already decoded (a primer; the same for every row), which the
    rules continue and after which beam-sampling segments ``segment`` tokens long line up.
    Every strategy obeys ``rules``; the searches (greedy, beam, beam-search) take
    ``repeat_penalty`` off repeated ids, the sampling strategies ``sample_penalty``
    (:meth:`Rules.for_strategy`). ``beam-search`` returns the n best beams of one search from row 0;
    every other strategy decodes each row on its own."""
    history = history or []
    logits = start[0]
    check_args(strategy, len(logits), steps, temperature, top_k, top_p, beam_width)
    rules = rules.for_strategy(strategy in SEARCHES)
    runs = Runs.after(history, len(logits), rules, logits.device)
    if strategy == "beam-search":
        return beam(step, start, steps, runs, beam_width, len(logits), temperature)
    if strategy == "beam":
        found = beam_sample(
            step,
            start,
            steps,
            runs,
            gen,
            width=beam_width,
            segment=segment,
            offset=len(history),
            temperature=temperature,
        )
        return found.tokens
    return sample(
        step,
        start,
        steps,
        runs,
        gen,
        temperature,
        top_k=top_k if strategy == "top-k" else 0,
        top_p=top_p if strategy == "top-p" else 1.0,
        greedy=strategy == "greedy",
    )
