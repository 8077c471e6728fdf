"""Train a performer on the piano-midi-de training split (resumable, one thread by default).

    pianoplay train performer --out checkpoints/performer-classical \
        [--config '{"max_minutes": 25, "model": {"hidden": 64}}'] [--resume]
    (or python -m pianoplay.models.performer.train with the same flags)

Each epoch draws ``iters`` batches of random crops (``crop`` notes and ``crop`` steps) from
the training pieces; validation runs every valid piece whole. The score kept is the
velocity MAE / 10 + the pedal's binary cross-entropies. At the end the pedal thresholds and
the velocity spread are chosen on the validation split (``calibrate.py``).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pianoplay.config_io import from_dict
from pianoplay.models.checkpoint import WEIGHTS, save_checkpoint
from pianoplay.models.performer.calibrate import calibrate
from pianoplay.models.performer.data import load_split
from pianoplay.models.performer.model import VEL_CENTER, VEL_SCALE, Performer, PerformerConfig
from pianoplay.training.loop import LoopConfig, Resumable, fit, plateau
from pianoplay.training.runtime import Clock, seed_all, setup_torch
from pianoplay.training.task import EpochTask

FAMILY = "performer"


@dataclass
class PerformerTrainConfig:
    model: dict = field(default_factory=dict)  # PerformerConfig fields
    lr: float = 2e-3
    weight_decay: float = 0.01  # AdamW
    batch: int = 16
    crop: int = 384
    iters: int = 60  # batches per epoch
    max_epochs: int = 60
    patience: int = 8
    max_minutes: float = 35.0
    seed: int = 0
    threads: int = 1
    limit: int | None = None  # pieces per split (tiny runs in the tests)
    press_weight: float = 3.0  # positive weight of the sparse press targets
    # the pedal net learns from the pieces that use the pedal (down on more than this share
    # of steps): how to pedal, not whether; half the piano-midi-de files have no pedal at all
    pedalled: float = 0.05

    @classmethod
    def from_dict(cls, d: dict | None) -> PerformerTrainConfig:
        return from_dict(cls, d, where="performer training")


def _crops(rng, pieces, key_x, key_y, n: int, crop: int):
    """``n`` random crops (pieces drawn by length) -> x (n, L, F), ys, mask (n, L)."""
    lens = np.array([len(getattr(p, key_y[0])) for p in pieces], dtype=float)
    idx = rng.choice(len(pieces), size=n, p=lens / lens.sum())
    L = int(min(crop, lens[idx].max()))
    x = np.zeros((n, L, getattr(pieces[0], key_x).shape[1]), np.float32)
    ys = [np.zeros((n, L), np.float32) for _ in key_y]
    mask = np.zeros((n, L), np.float32)
    for b, i in enumerate(idx):
        p = pieces[i]
        total = len(getattr(p, key_y[0]))
        s = int(rng.integers(0, max(total - L, 0) + 1))
        m = min(L, total - s)
        x[b, :m] = getattr(p, key_x)[s:s + m]
        for y, k in zip(ys, key_y):
            y[b, :m] = getattr(p, k)[s:s + m]
        mask[b, :m] = 1
    return torch.from_numpy(x), [torch.from_numpy(y) for y in ys], torch.from_numpy(mask)


def losses(model: Performer, notes, vel, nmask, steps, down, press, press_weight: float):
    """Velocity Huber loss (scaled units) and the pedal's two BCEs, masked means."""
    pred = (model.velocity(notes) - VEL_CENTER) / VEL_SCALE
    target = (vel - VEL_CENTER) / VEL_SCALE
    lv = (F.huber_loss(pred, target, delta=0.3, reduction="none") * nmask).sum() / nmask.sum()
    logits = model.pedal(steps)
    w = torch.tensor(press_weight)
    ld = F.binary_cross_entropy_with_logits(logits[..., 0], down, reduction="none")
    lp = F.binary_cross_entropy_with_logits(logits[..., 1], press, pos_weight=w,
                                            reduction="none")
    return lv, ld, lp


class PerformerTask(EpochTask):
    """The velocity net and the pedal net share no weight, so each is kept at its own best
    epoch: the loop's score is the sum of the two best-so-far validation scores (it improves
    when either does), and the checkpoint holds each net's best weights."""

    curves = None

    def __init__(self, model, opt, rng, cfg: PerformerTrainConfig, train, valid, out, config,
                 history=()):
        self.model, self.opt, self.rng, self.cfg = model, opt, rng, cfg
        self.train, self.valid, self.out, self.config = train, valid, out, config
        self.pedal_train = [p for p in train if p.down.mean() > cfg.pedalled] or train
        self.pedal_valid = [p for p in valid if p.down.mean() > cfg.pedalled] or valid
        self.best = {"notes": min((h["valid_velocity_mae"] for h in history), default=np.inf),
                     "steps": min((h["valid_pedal_bce"] for h in history), default=np.inf)}
        self.best_epoch = {part: next((h["epoch"] for h in history if h[key] == self.best[part]),
                                      0) for part, key in (("notes", "valid_velocity_mae"),
                                                           ("steps", "valid_pedal_bce"))}
        self.improved: set[str] = set()

    def train_epoch(self, epoch, clock):
        self.model.train()
        total = 0.0
        for _ in range(self.cfg.iters):
            notes, (vel,), nmask = _crops(self.rng, self.train, "notes", ("velocity",),
                                          self.cfg.batch, self.cfg.crop)
            steps, (down, press), smask = _crops(self.rng, self.pedal_train, "steps",
                                                 ("down", "press"), self.cfg.batch,
                                                 self.cfg.crop)
            lv, ld, lp = losses(self.model, notes, vel, nmask, steps, down, press,
                                self.cfg.press_weight)
            loss = lv + ((ld + lp) * smask).sum() / smask.sum()
            self.opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.opt.step()
            total += float(loss.detach())
            if clock.over():
                return {"train_loss": total / (_ + 1)}, "time"
        return {"train_loss": total / self.cfg.iters}, None

    @torch.no_grad()
    def validate(self):
        self.model.eval()
        err, n, bce, m = 0.0, 0, 0.0, 0
        for p in self.valid:
            v = self.model.velocity(torch.from_numpy(p.notes)[None])[0].numpy()
            err += float(np.abs(np.clip(v, 1, 127) - p.velocity).sum())
            n += len(v)
        for p in self.pedal_valid:
            lg = self.model.pedal(torch.from_numpy(p.steps)[None])[0]
            bce += float(F.binary_cross_entropy_with_logits(
                lg[:, 0], torch.from_numpy(p.down.astype(np.float32)), reduction="sum"))
            bce += float(F.binary_cross_entropy_with_logits(
                lg[:, 1], torch.from_numpy(p.press.astype(np.float32)), reduction="sum"))
            m += len(p.down)
        now = {"notes": err / n, "steps": bce / m}
        self.improved = {k for k in now if now[k] < self.best[k]}
        for k in self.improved:
            self.best[k] = now[k]
        score = self.best["notes"] / 10 + self.best["steps"]
        return score, {"valid_score": score, "valid_velocity_mae": now["notes"],
                       "valid_pedal_bce": now["steps"]}

    def save_best(self, st, record):
        state = self.model.state_dict()
        path = self.out / WEIGHTS
        if path.is_file() and len(self.improved) < 2:  # keep the other net's best weights
            from safetensors.torch import load_file

            kept = load_file(str(path))
            state = {k: (v if k.split(".")[0] in self.improved else kept.get(k, v))
                     for k, v in state.items()}
        for part in self.improved:
            self.best_epoch[part] = record["epoch"]
        training = {**self.config["training"], "best_epoch": {
            "velocity": self.best_epoch["notes"], "pedal": self.best_epoch["steps"]}}
        save_checkpoint(self.out, {**self.config, "training": training}, state)

    def end_epoch(self, st, record, improved):
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v
                          for k, v in record.items()}) + (" *" if improved else ""), flush=True)


def train(cfg: PerformerTrainConfig, out: Path, resume: bool = False, cache: Path | None = None,
          command: str = "") -> dict:
    """Train, keep the best weights in ``out``, calibrate on valid; returns config.json."""
    setup_torch(cfg.threads, "cpu")
    rng = seed_all(cfg.seed)
    mcfg = PerformerConfig.from_dict(cfg.model)
    cache = Path(cache) if cache else None
    sets = {s: load_split(s, cache / f"cache-{s}.npz" if cache else None, cfg.limit)
            for s in ("train", "valid")}
    model = Performer(mcfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = plateau(opt)
    config = {
        "name": out.name, "family": FAMILY, "model": asdict(mcfg),
        "representation": {"steps_per_quarter": 4, "grid": "score sixteenths"},
        "data": {"name": "piano-midi-de", "split": "metadata.csv train / valid / test",
                 "pieces": {k: len(v) for k, v in sets.items()}},
        "training": {"config": asdict(cfg), "command": command},
        "app_roles": [], "metrics": {},
    }
    res = Resumable(out / "resume", model, opt, sched, rng)
    st = res.start(resume)
    clock = Clock(cfg.max_minutes, st["elapsed_s"])
    task = PerformerTask(model, opt, rng, cfg, sets["train"], sets["valid"], out, config,
                         st["history"])
    t0 = time.time()
    why = fit(task, st, LoopConfig(max_epochs=cfg.max_epochs, patience=cfg.patience),
              res, clock, out)
    from pianoplay.models.checkpoint import load_checkpoint

    _, state, _ = load_checkpoint(out)
    model.load_state_dict(state)
    model.eval()
    tuned = calibrate(model, sets["valid"])
    config["model"] = {**asdict(mcfg), **tuned}
    config["training"].update(stopped=why, epochs=st["epoch"], best_epoch={
                                  "velocity": task.best_epoch["notes"],
                                  "pedal": task.best_epoch["steps"]},
                              minutes=round(st["elapsed_s"] / 60, 1),
                              this_run_s=round(time.time() - t0, 1))
    save_checkpoint(out, config, model.state_dict())
    return config


def main(argv=None) -> int:
    from pianoplay.models.performer.train_cli import add_arguments, run

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    args = ap.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
