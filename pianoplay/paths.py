"""Where data, checkpoints and soundfonts live."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS_DIR = Path(os.environ.get("PIANOPLAY_CHECKPOINTS", REPO_ROOT / "checkpoints"))
ASSETS_DIR = REPO_ROOT / "assets"
SOUNDFONTS_DIR = REPO_ROOT / "soundfonts"


def data_dir() -> Path:
    """``$PIANOPLAY_DATA``, else ``../shared/data`` beside the repository when present,
    else ``~/.cache/pianoplay/data`` (where ``pianoplay data download`` writes)."""
    env = os.environ.get("PIANOPLAY_DATA")
    if env:
        return Path(env)
    shared = REPO_ROOT.parent / "shared" / "data"
    if shared.is_dir():
        return shared
    return Path.home() / ".cache" / "pianoplay" / "data"


def cache_dir() -> Path:
    """Preprocessed-data cache (``$PIANOPLAY_CACHE`` or ``~/.cache/pianoplay``)."""
    return Path(os.environ.get("PIANOPLAY_CACHE", Path.home() / ".cache" / "pianoplay"))


def personal_dir() -> Path:
    """Where personal checkpoints (``pianoplay personalise``) live: ``$PIANOPLAY_PERSONAL``,
    else ``personal/`` under :func:`cache_dir` (outside the repository)."""
    env = os.environ.get("PIANOPLAY_PERSONAL")
    return Path(env) if env else cache_dir() / "personal"
