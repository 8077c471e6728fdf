"""The step contract every decoding strategy is written against, and the token rules they obey.

A model that can be decoded supplies a **step function** and a **start**::

    step(state, tokens) -> (logits, state)
        tokens  (B,) long     the token just emitted by each of the B sequences
        logits  (B, V) float  raw (untempered) next-token logits after it
        state   tuple of tensors, each with the batch on dim 1 (BATCH_DIM)

    start = (logits (B, V), state)   the logits and state before the first new token
                                     (after the start symbol and any primer)

Dim 1 is the batch because that is ``nn.LSTM``'s state layout ``(layers, B, H)``;
a tensor that conditions every step (a VAE's ``z``) travels in the state as
``(1, B, D)``. Strategies reorder and copy sequences (beams) only through
:func:`reorder`, so a step function never sees which row came from where.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from pianoplay.errors import PianoplayError

BATCH_DIM = 1

State = tuple[torch.Tensor, ...]
StepFn = Callable[[State, torch.Tensor], tuple[torch.Tensor, State]]
Start = tuple[torch.Tensor, State]


class DecodingError(PianoplayError, ValueError):
    """A decoding argument out of range (named in the message)."""


def reorder(state: State, index: torch.Tensor) -> State:
    """Rows ``index`` (R,) of every state tensor (gather along the batch dim; repeats copy)."""
    return tuple(s.index_select(BATCH_DIM, index) for s in state)


@dataclass(frozen=True)
class Rules:
    """What no strategy may emit.

    ``banned``: ids never emitted (a chord-LSTM's UNK). ``rest``: the id of the
    silent frame; it lasts at most ``max_rest`` frames in a row. Any other id is
    repeated (a held frame) at most ``max_hold`` frames in a row. 0 = no limit.
    ``repeat_penalty`` (nats) is taken off the logit of a token once for each time it
    occurs among the last ``repeat_window`` tokens (a frequency penalty, CTRL's repetition
    penalty at window 1): what a strategy proposes repeats less than the model would.
    """

    banned: tuple[int, ...] = ()
    rest: int = -1
    max_rest: int = 0
    max_hold: int = 0
    repeat_penalty: float = 0.0
    repeat_window: int = 1

    def limits(self, last: torch.Tensor) -> torch.Tensor:
        """(B,) how many times in a row ``last`` may occur (a huge number = no limit)."""
        none = torch.iinfo(torch.long).max
        hold = torch.full_like(last, self.max_hold or none)
        return torch.where(last == self.rest, self.max_rest or none, hold)


class Runs:
    """Each sequence's last token and how many times in a row it has occurred: what
    :class:`Rules` need. ``last`` and ``run`` are (B,) long tensors."""

    def __init__(self, last: torch.Tensor, run: torch.Tensor, rules: Rules, recent: torch.Tensor | None = None):
        self.last, self.run, self.rules = last, run, rules
        self.recent = recent if recent is not None else last[:, None].repeat(1, rules.repeat_window)

    @classmethod
    def after(cls, history: list[int], batch: int, rules: Rules, device=None) -> Runs:
        """The runs after ``history`` (the primer's token ids) for ``batch`` sequences.
        An empty history counts as a rest that may not go on: a piece does not open with silence."""
        if history:
            last, run = history[-1], 1
            while run < len(history) and history[-1 - run] == last:
                run += 1
        else:
            last, run = rules.rest, rules.max_rest or 1
        recent = ([-1] * rules.repeat_window + history)[-rules.repeat_window:]
        return cls(torch.full((batch,), last, dtype=torch.long, device=device),
                   torch.full((batch,), run, dtype=torch.long, device=device), rules,
                   torch.tensor(recent, dtype=torch.long, device=device)[None].repeat(batch, 1))

    def mask(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, V) logits with every id the rules forbid next set to -inf (in place)."""
        if self.rules.banned:
            logits[:, list(self.rules.banned)] = float("-inf")
        if self.rules.repeat_penalty:
            recent = self.recent
            logits.scatter_add_(1, recent.clamp(min=0), (recent >= 0) * -self.rules.repeat_penalty)
        over = self.run >= self.rules.limits(self.last)
        if over.any():
            rows = over.nonzero().squeeze(1)
            logits[rows, self.last[rows]] = float("-inf")
        return logits

    def push(self, tokens: torch.Tensor) -> None:
        """Record the (B,) tokens just emitted."""
        self.run = torch.where(tokens == self.last, self.run + 1, 1)
        self.last = tokens
        self.recent = torch.cat([self.recent[:, 1:], tokens[:, None]], 1)

    def select(self, index: torch.Tensor) -> Runs:
        return Runs(self.last[index], self.run[index], self.rules, self.recent[index])
