"""The step contract every decoding strategy is written against, and the token rules they obey.

A model that can be decoded supplies a **step function** and a **start**::

    step(state, tokens) -> (logits, state)
        tokens  (B,) long     the token just emitted by each of the B sequences
        logits  (B, V) float  raw (untempered) next-token logits after it
        state   tuple of tensors, each with the batch on dim 1 (BATCH_DIM)

    start = (logits (B, V), state)   the logits and state before the first new token
                                     (after the start symbol and any primer)

A step may return :class:`Narrow` logits instead of (B, V): the values (B, K) of K ids
``ids`` (K,), every other id at -inf, as a hand model does (only the hand whose turn it
is, half the vocabulary). The strategies then work on the K columns and emit ``ids[...]``:
the same tokens as with the full row, for half the softmax, cumsum and logsumexp.

Dim 1 is the batch because that is ``nn.LSTM``'s state layout ``(layers, B, H)``;
a tensor that conditions every step (a VAE's ``z``) travels in the state as
``(1, B, D)``. Strategies reorder and copy sequences (beams) only through
:func:`reorder`, so a step function never sees which row came from where.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from pianoplay.errors import PianoplayError

BATCH_DIM = 1

State = tuple[torch.Tensor, ...]
StepFn = Callable[[State, torch.Tensor], tuple[torch.Tensor, State]]
Start = tuple[torch.Tensor, State]


class DecodingError(PianoplayError, ValueError):
    """A decoding argument out of range (named in the message)."""


@dataclass(frozen=True)
class Narrow:
    """Logits of the ids ``ids`` (K,) long, ascending, only: ``values`` (B, K); every
    other id of the vocabulary is at -inf. Indexing selects rows (beams)."""

    values: torch.Tensor
    ids: torch.Tensor

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, rows: torch.Tensor) -> Narrow:
        return Narrow(self.values[rows], self.ids)

    @property
    def device(self) -> torch.device:
        return self.values.device

    def full(self, n_ids: int) -> torch.Tensor:
        """(B, n_ids) the whole row, -inf outside ``ids``."""
        out = self.values.new_full((len(self.values), n_ids), float("-inf"))
        out[:, self.ids] = self.values
        return out



Logits = torch.Tensor | Narrow


def columns(ids: torch.Tensor | None, query: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Vocabulary ids ``query`` (any shape) -> their columns in logits whose columns are the
    ids ``ids`` (K,) ascending (``None``: column j is id j), clamped into range, and whether
    each queried id has a column there."""
    if ids is None:
        return query, torch.ones_like(query, dtype=torch.bool)
    pos = torch.searchsorted(ids, query.contiguous()).clamp_(max=len(ids) - 1)
    return pos, ids[pos] == query


def split(logits: Logits) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(B, V) logits or :class:`Narrow` ones -> the float values (B, K) and the ids of their
    columns (``None``: column j is id j)."""
    if isinstance(logits, Narrow):
        return logits.values.float(), logits.ids
    return logits.float(), None


def reorder(state: State, index: torch.Tensor) -> State:
    """Rows ``index`` (R,) of every state tensor (gather along the batch dim; repeats copy)."""
    return tuple(s.index_select(BATCH_DIM, index) for s in state)


@dataclass(frozen=True)
class Rules:
    """What no strategy may emit (0 = no limit).

    ``banned``: ids never emitted (a chord-LSTM's UNK). ``max_hold``: an id occurs at
    most this many times in a row (a held frame). ``rest``: the id of the silent frame;
    it fills at most ``max_rest`` of any ``rest_window`` tokens. ``repeat_penalty``
    (nats) is taken off the logit of an id once for each time it occurs among the last
    ``repeat_window`` tokens (a frequency penalty; CTRL's repetition penalty at window 1):
    ``period``: tokens per frame (a hand model's two: a hold is an id equal to the one
    ``period`` tokens back, ``max_hold`` counts such repeats);
    what a strategy proposes repeats less than the model would. The searches (greedy,
    beam) use it; the sampling strategies (sample, top-k, top-p) use ``sample_penalty``
    over the last ``sample_window`` tokens instead (see :func:`for_strategy`).
    """

    banned: tuple[int, ...] = ()
    max_hold: int = 0
    rest: int = -1
    max_rest: int = 0
    rest_window: int = 0
    repeat_penalty: float = 0.0
    repeat_window: int = 0
    sample_penalty: float = 0.0
    sample_window: int = 0
    period: int = 1

    @property
    def memory(self) -> int:
        """How many past tokens the rules look at."""
        return max(self.period, self.rest_window, self.repeat_window)

    def for_strategy(self, search: bool) -> Rules:
        """The rules a strategy decodes under: a search (greedy, beam) keeps
        ``repeat_penalty``; a sampling strategy takes ``sample_penalty`` and
        ``sample_window`` as its repetition penalty."""
        if search:
            return replace(self, sample_penalty=0.0, sample_window=0)
        return replace(
            self,
            repeat_penalty=self.sample_penalty,
            repeat_window=self.sample_window,
            sample_penalty=0.0,
            sample_window=0,
        )


class Runs:
    """What :class:`Rules` need of each sequence's past: ``recent`` (B, memory) its last
    tokens, oldest first (-1 = none yet), and ``runs`` (B, period) for each of the last
    ``period`` tokens how many times in a row (every ``period`` tokens) it has occurred.
    With ``period`` 1 that is the run of the last token."""

    def __init__(self, recent: torch.Tensor, runs: torch.Tensor, rules: Rules):
        self.recent, self.runs, self.rules = recent, runs, rules

    @classmethod
    def after(cls, history: list[int], batch: int, rules: Rules, device=None) -> Runs:
        """The past after ``history`` (a primer's token ids) for ``batch`` sequences.
        Without a history the rest budget starts spent, so a piece does not open with silence."""
        size, p = rules.memory, rules.period
        recent = ([-1] * size + list(history))[-size:]
        if not history and rules.max_rest:
            first = size - rules.rest_window  # the oldest tokens of the rest window leave first
            recent[first : first + rules.max_rest * p : p] = [rules.rest] * rules.max_rest
        runs = []
        for j in range(p):  # the token p - j back
            end = len(history) - (p - j)
            run = 0
            while end - run * p >= 0 and history[end - run * p] == history[end]:
                run += 1
            runs.append(run)
        return cls(
            torch.tensor(recent, dtype=torch.long, device=device)[None].repeat(batch, 1),
            torch.tensor(runs, dtype=torch.long, device=device)[None].repeat(batch, 1),
            rules,
        )

    @property
    def last(self) -> torch.Tensor:
        """(B,) the token a hold would repeat next (``period`` tokens back)."""
        return self.recent[:, -self.rules.period]

    def mask(self, logits: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        """A copy of the (B, V) logits with every id the rules forbid next at -inf and the
        penalties taken off. ``ids`` (V,): the vocabulary id of each column (a
        :class:`Narrow` row); rules about ids outside it have nothing to do."""
        logits = logits.clone()
        rules, rows = self.rules, torch.arange(len(logits), device=logits.device)
        if rules.banned:
            col, ok = columns(ids, torch.tensor(rules.banned, device=logits.device))
            logits[:, col[ok]] = float("-inf")
        if rules.repeat_penalty:
            recent = self.recent[:, -rules.repeat_window :]
            col, ok = columns(ids, recent.clamp(min=0))
            logits.scatter_add_(1, col, (ok & (recent >= 0)) * -rules.repeat_penalty)
        if rules.max_rest and rules.rest >= 0:
            spent = (self.recent[:, -rules.rest_window :] == rules.rest).sum(1) >= rules.max_rest
            col, ok = columns(ids, torch.tensor([rules.rest], device=logits.device))
            if ok.item():
                logits[rows[spent], col] = float("-inf")
        if rules.max_hold:
            col, ok = columns(ids, self.last.clamp(min=0))
            over = (self.runs[:, 0] >= rules.max_hold) & (self.last >= 0) & ok
            logits[rows[over], col[over]] = float("-inf")
        return logits

    def push(self, tokens: torch.Tensor) -> None:
        """Record the (B,) tokens just emitted."""
        run = torch.where(tokens == self.last, self.runs[:, 0] + 1, 1)
        self.runs = torch.cat([self.runs[:, 1:], run[:, None]], 1)
        self.recent = torch.cat([self.recent[:, 1:], tokens[:, None]], 1)

    def select(self, index: torch.Tensor) -> Runs:
        return Runs(self.recent[index], self.runs[index], self.rules)
