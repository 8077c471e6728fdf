"""Where and how a training run executes: threads, device, seeds, clock, progress bars.

Every trainer calls these once at its start, so a run is set up the same way in every
family: ``setup_torch`` (threads, then the device from ``pianoplay.device.pick_device``),
``seed_all`` (torch's global generator and the numpy generator that orders the data),
a :class:`Clock` for the wall-clock budget and :func:`progress` for the tqdm bars.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import torch


def setup_torch(threads: int = 0, device: str | torch.device | None = None) -> torch.device:
    """Set torch's CPU threads (0 = leave torch's default) and return the device
    (``pianoplay.device.pick_device``: ``None`` = CUDA when present, else the CPU)."""
    from pianoplay.device import pick_device

    if threads:
        torch.set_num_threads(threads)
    return device if isinstance(device, torch.device) else pick_device(device)


def seed_all(seed: int, numpy_seed=None) -> np.random.Generator:
    """Seed torch's global generator (initial weights, dropout) with ``seed`` and return
    the numpy generator for batches and augmentation, seeded with ``numpy_seed``
    (default ``seed``; ranks of a distributed run each draw their own windows)."""
    torch.manual_seed(seed)
    return np.random.default_rng(seed if numpy_seed is None else numpy_seed)


class Clock:
    """Training time against a budget, counted over resumed runs too.

    ``max_minutes`` 0 or ``None`` means no budget; ``elapsed_s`` is the time spent by
    the runs before a resume. With a ``dist`` (training.distributed.Distributed) the
    decision is shared: :meth:`over` is true on every rank when it is on one.
    """

    def __init__(self, max_minutes: float | None, elapsed_s: float = 0.0, dist=None):
        self.start = time.time() - elapsed_s
        self.budget_s = 60 * max_minutes if max_minutes else math.inf
        self.dist = dist

    def elapsed(self) -> float:
        """Seconds of training so far."""
        return time.time() - self.start

    def over(self) -> bool:
        over = self.elapsed() > self.budget_s
        return self.dist.any(over) if self.dist is not None else over


def progress(items, desc: str, quiet: bool = False):
    """A tqdm bar over ``items`` on stderr that disappears when done."""
    from tqdm import tqdm

    return tqdm(items, desc=desc, file=sys.stderr, mininterval=10, leave=False, disable=quiet)
