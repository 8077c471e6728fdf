"""Checkpoint folders: ``config.json`` + ``model.safetensors`` (+ JSON files).

``config.json`` holds everything needed to rebuild the model without retyping
a hyperparameter::

    {
      "name": "chord-lstm-nottingham",
      "family": "chord-lstm" | "roll-lstm" | "vae",
      "model": {...},               # the model's config dataclass, as a dict
      "representation": {...},      # steps_per_quarter, key normalisation, ...
      "data": {...},                # training data and split
      "training": {...},            # the exact command, epochs, time, seed
      "metrics": {...},             # measured numbers (the model card)
      "files": {"vocab": "vocab.json"},  # extra JSON files, optional
      "decode_temperature": 0.9,    # the app's default temperature, optional
      "app_roles": [...], "not_for": {role: reason}   # what the app offers it for, optional
    }

Pickles are never read: weights come from safetensors only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pianoplay.errors import CheckpointError

if TYPE_CHECKING:  # torch is imported where weights are read or written, so that
    import torch  # listing checkpoints (the app's first page) does not pay for it

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
UNSAFE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".bin", ".ckpt")


def save_checkpoint(
    folder: str | Path,
    config: dict[str, Any],
    state_dict: dict[str, torch.Tensor],
    extra_json: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint folder. ``extra_json`` maps file names to JSON-able objects."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = dict(config)
    if extra_json:
        config.setdefault("files", {}).update({Path(n).stem: n for n in extra_json})
        for name, obj in extra_json.items():
            (folder / name).write_text(json.dumps(obj, indent=1) + "\n")
    # safetensors refuses shared or non-contiguous storage (tied weights).
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}
    save_file(tensors, str(folder / WEIGHTS))
    write_config(folder, config)
    return folder


def write_config(folder: str | Path, config: dict[str, Any]) -> None:
    Path(folder, CONFIG).write_text(json.dumps(config, indent=2) + "\n")


def read_config(folder: str | Path) -> dict[str, Any]:
    """Read and check ``config.json`` of a checkpoint folder."""
    folder = Path(folder)
    path = folder / CONFIG
    if not path.is_file():
        raise CheckpointError(f"{folder} is not a checkpoint: it has no {CONFIG}.")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON ({err}).") from None
    for key in ("family", "model"):
        if key not in config:
            raise CheckpointError(f"{path} lacks the required field {key!r}.")
    return config


def load_checkpoint(
    folder: str | Path, device: torch.device | str = "cpu"
) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, Any]]:
    """Return ``(config, state_dict, extras)`` where ``extras`` maps each
    ``config["files"]`` key to its parsed JSON content."""
    from safetensors.torch import load_file

    folder = Path(folder)
    config = read_config(folder)
    weights = folder / WEIGHTS
    if not weights.is_file():
        unsafe = sorted(p.name for p in folder.iterdir() if p.suffix in UNSAFE_SUFFIXES)
        hint = f" Found {', '.join(unsafe)}: pickled weights are never loaded." if unsafe else ""
        raise CheckpointError(f"{folder} has no {WEIGHTS}.{hint}")
    try:
        state = load_file(str(weights), device=str(device))
    except Exception as err:  # safetensors raises its own SafetensorError
        raise CheckpointError(f"{weights} is not a readable safetensors file ({err}).") from None
    extras: dict[str, Any] = {}
    for key, name in config.get("files", {}).items():
        if not str(name).endswith(".json"):
            raise CheckpointError(f"{folder}: extra file {name!r} is not JSON; only JSON is read.")
        try:
            extras[key] = json.loads((folder / name).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise CheckpointError(f"{folder / name} could not be read as JSON ({err}).") from None
    return config, state, extras
