"""Resumable training state: safetensors (weights, optimiser moments, RNG) + JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file


def save_state(folder: Path, model, opt, sched, rng: np.random.Generator, st: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    osd = opt.state_dict()
    for pid, slots in osd["state"].items():
        for name, value in slots.items():
            tensors[f"opt.{pid}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    save_file(tensors, str(folder / "state.safetensors"))
    meta = {"train": st, "param_groups": osd["param_groups"], "scheduler": sched.state_dict(),
            "numpy_rng": rng.bit_generator.state}
    (folder / "state.json").write_text(json.dumps(meta) + "\n")


def load_state(folder: Path, model, opt, sched, rng: np.random.Generator) -> dict:
    meta = json.loads((folder / "state.json").read_text())
    tensors = load_file(str(folder / "state.safetensors"))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    state: dict = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = value
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    sched.load_state_dict(meta["scheduler"])
    torch.set_rng_state(tensors["rng.torch"])
    rng.bit_generator.state = meta["numpy_rng"]
    return meta["train"]
