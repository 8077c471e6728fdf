"""What a trainer plugs into :func:`pianoplay.training.loop.fit`: an :class:`EpochTask`.

Kept apart from the loop (and torch) so a trainer's module, which subclasses it, imports
fast: the CLI builds every subcommand's parser before it runs one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pianoplay.training.runtime import Clock


class EpochTask:
    """What a trainer plugs into :func:`fit`; ``st`` is the state dict it shares."""

    curves: dict[str, str] | None = None  # history keys to plot (key -> title), or none

    def train_epoch(self, epoch: int, clock: Clock) -> tuple[dict, str | None]:
        """One epoch (or round) of updates: the record's training fields, and why the
        run must stop after it ("time", "steps") or ``None``."""
        raise NotImplementedError

    def validate(self) -> tuple[float, dict]:
        """The score to minimise and whatever :meth:`record` needs from validation."""
        raise NotImplementedError

    def record(self, epoch: int, train: dict, valid: dict, minutes: float) -> dict:
        """This epoch's entry of the history."""
        return {"epoch": epoch, **train, **valid, "minutes": minutes}

    def save_best(self, st: dict, record: dict) -> None:
        """Write the checkpoint: the score just improved (``st["best"]``)."""

    def end_epoch(self, st: dict, record: dict, improved: bool) -> None:
        """After the epoch's bookkeeping, before the resume state is saved (print it)."""

    def finished(self, st: dict) -> str | None:
        """Why to stop before the next epoch when the task's own budget is spent."""
        return None
