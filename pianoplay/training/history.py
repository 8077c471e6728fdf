"""Training curves: one record per validation, kept as ``history.json`` and a PNG.

A record is a flat dict such as ``{"epoch": 3, "train_nll": 3.41, "valid_nll": 3.52,
"lr": 0.002, "minutes": 4.1}``; a curve ``key`` plots ``train_<key>`` and
``valid_<key>`` against ``epoch``.
"""

from __future__ import annotations

import json
from pathlib import Path


def write_history(folder: Path, history: list[dict], curves: dict[str, str] | None = None) -> None:
    """``folder/history.json``, and ``folder/loss_curves.png`` with one panel per key of
    ``curves`` (key -> panel title) when given."""
    (folder / "history.json").write_text(json.dumps(history, indent=1) + "\n")
    if curves:
        plot_curves(history, folder / "loss_curves.png", curves)


def plot_curves(history: list[dict], path: Path, curves: dict[str, str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, len(curves), figsize=(4.4 * len(curves), 3.6), squeeze=False)
    for ax, (key, title) in zip(axes[0], curves.items()):
        ax.plot(ep, [h[f"train_{key}"] for h in history], "o-", label="train")
        ax.plot(ep, [h[f"valid_{key}"] for h in history], "o-", label="valid")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
