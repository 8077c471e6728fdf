"""The training loop every family runs: train, validate, keep the best, stop, resume.

A trainer supplies an :class:`EpochTask` (one epoch of updates, a validation score, the
history record, how to save the best checkpoint) and calls :func:`fit`, which runs

    train_epoch -> validate -> scheduler -> record -> save best if improved -> history.json
    (+ curves) -> OUT/resume/ (training/state.py) -> barrier (distributed runs)

until ``max_epochs``, ``patience`` epochs without a better score, the :class:`Clock`'s
budget (counted over resumes; checked inside the epoch too), or the task's own end (a
step budget). An "epoch" may be a round of steps: the segment VAE validates every
``eval_every`` steps. Under torchrun only rank 0 validates and writes; the others wait
at the barrier and stop together (the clock's decision is all-reduced).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pianoplay.training.history import write_history
from pianoplay.training.runtime import Clock
from pianoplay.training.task import EpochTask

__all__ = ["EpochTask", "LoopConfig", "Resumable", "fit", "plateau"]


@dataclass
class LoopConfig:
    max_epochs: int | None = None  # None: until the task says it is done
    patience: int | None = None  # epochs without a better score before stopping; None: never
    min_delta: float = 0.0  # a new best must beat the old one by more than this
    scheduler_per_epoch: bool = False  # step a non-plateau scheduler after each validation


@dataclass
class Resumable:
    """The objects whose state ``folder`` (``OUT/resume``) holds, saved after every epoch."""

    folder: Path
    model: torch.nn.Module
    opt: torch.optim.Optimizer
    sched: object
    rng: np.random.Generator

    def save(self, st: dict) -> None:
        from pianoplay.training.state import save_state

        save_state(self.folder, self.model, self.opt, self.sched, self.rng, st)

    def start(self, resume: bool, **fields) -> dict:
        """The loop's state: fresh (``fields`` added), or what the last run saved."""
        st = {"epoch": 0, "best": math.inf, "best_epoch": 0, "bad": 0, "elapsed_s": 0.0,
              "history": [], **fields}
        if resume:
            from pianoplay.training.state import load_state

            saved = load_state(self.folder, self.model, self.opt, self.sched, self.rng)
            if "bad_epochs" in saved:  # the VAE trainer's name before the shared loop
                saved["bad"] = saved.pop("bad_epochs")
            st.update(saved)
        return st


def plateau(opt, factor: float = 0.5):
    """Multiply the learning rate by ``factor`` after each epoch that does not improve."""
    return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=factor, patience=0)


def fit(task: EpochTask, st: dict, lc: LoopConfig, res: Resumable, clock: Clock, out: Path,
        dist=None) -> str:
    """Run epochs from ``st`` on; returns why training stopped: "time", "early stopping",
    "epochs" or the task's own reason ("steps")."""
    from pianoplay.training.distributed import Distributed

    dist = dist or Distributed()
    out.mkdir(parents=True, exist_ok=True)
    stop = "time" if clock.over() else None
    while stop is None:
        # rank 0 alone counts the bad epochs; dist.any shares its decision
        if lc.patience is not None and dist.any(st["bad"] >= lc.patience):
            return "early stopping"
        if lc.max_epochs is not None and st["epoch"] >= lc.max_epochs:
            return "epochs"
        if (done := task.finished(st)) is not None:
            return done
        epoch = st["epoch"] + 1
        train, stop = task.train_epoch(epoch, clock)
        st["epoch"] = epoch
        if not dist.is_main:  # rank 0 validates and writes; the others wait for it
            dist.barrier()
            continue
        score, valid = task.validate()
        if isinstance(res.sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            res.sched.step(score)
        elif lc.scheduler_per_epoch:
            res.sched.step()
        st["elapsed_s"] = clock.elapsed()
        record = task.record(epoch, train, valid, st["elapsed_s"] / 60)
        st["history"].append(record)
        improved = score < st["best"] - lc.min_delta
        if improved:
            st.update(best=score, best_epoch=epoch, bad=0)
            task.save_best(st, record)
        else:
            st["bad"] += 1
        task.end_epoch(st, record, improved)
        write_history(out, st["history"], task.curves)
        st["elapsed_s"] = clock.elapsed()
        res.save(st)
        dist.barrier()
    return stop
