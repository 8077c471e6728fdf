"""Fitting a latent prior over a segment VAE's codes: the task the shared training loop
runs (:func:`train`). The VAE (``train.vae``, a checkpoint of the registry) is frozen:
every piece of the training splits is encoded once per transposition
(``codes.code_set``, cached), and each step draws windows of ``model.segments``
consecutive codes, a data set per window by ``train.mix``, and a mask of known positions
(``model.masks``). Validation: the loss on fixed windows of each set's valid split,
nothing known and half known.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pianoplay import paths
from pianoplay.data.midi_sets import load_midi_split
from pianoplay.models.checkpoint import save_checkpoint
from pianoplay.models.latent_prior.codebook import assign, build_codebook
from pianoplay.models.latent_prior.codes import CodeSet, code_set
from pianoplay.models.latent_prior.masked import MaskedPrior, masked_loss
from pianoplay.models.latent_prior.model import Denoiser, PriorConfig, count_parameters, loss, masks
from pianoplay.models.latent_prior.networks import build_model
from pianoplay.models.latent_prior.options import PriorTrainConfig
from pianoplay.models.registry import Registry
from pianoplay.training.loop import LoopConfig, Resumable, fit
from pianoplay.training.runtime import Clock, seed_all, setup_torch
from pianoplay.training.task import EpochTask

FAMILY = "latent-prior"


def prepare(model, windows: np.ndarray) -> torch.Tensor:
    """A batch as the model reads it: ids (B, S) long, or standardised codes (B, S, D)."""
    if isinstance(model, MaskedPrior):
        return torch.as_tensor(windows, dtype=torch.long)
    return model.normalise(torch.as_tensor(windows, dtype=torch.float32))


def model_loss(model, x, known, style, generator=None) -> torch.Tensor:
    if isinstance(model, MaskedPrior):
        return masked_loss(model, x, known, style, generator)
    return loss(model, x, known, style, generator)


def batch_of(sets, windows, mix, B: int, S: int, rng: np.random.Generator):
    """(windows (B, S[, D]), style (B,) int64), a data set per window drawn by ``mix``."""
    style = rng.choice(len(sets), size=B, p=np.asarray(mix) / np.sum(mix))
    out = []
    for k in style:
        piece, first = windows[k][rng.integers(len(windows[k]))]
        out.append(sets[k].pieces[piece][first:first + S])
    return np.stack(out), torch.from_numpy(style.astype(np.int64))


class PriorTask(EpochTask):
    curves = {"loss": "denoising loss (unknown positions)"}

    def __init__(self, model, opt, sched, train_sets, valid, tc, st, rng, out, command, counts):
        self.model, self.opt, self.sched = model, opt, sched
        self.sets, self.valid, self.tc, self.st, self.rng = train_sets, valid, tc, st, rng
        self.windows = [s.windows(model.cfg.segments) for s in train_sets]
        self.out, self.command, self.counts = out, command, counts

    def finished(self, st):
        return "steps" if st["step"] >= self.tc.max_steps else None

    def train_epoch(self, epoch, clock):
        self.model.train()
        S, total, n = self.model.cfg.segments, 0.0, 0
        for _ in range(self.tc.eval_every):
            z, style = batch_of(self.sets, self.windows, self.tc.mix, self.tc.batch, S, self.rng)
            x = prepare(self.model, z)
            value = model_loss(self.model, x, masks(len(x), S), style)
            self.opt.zero_grad(set_to_none=True)
            value.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.opt.step()
            self.sched.step()
            self.st["step"] += 1
            total, n = total + float(value.detach()), n + 1
            if self.st["step"] >= self.tc.max_steps:
                return {"train_loss": total / n}, "steps"
            if clock.over():
                return {"train_loss": total / n}, "time"
        return {"train_loss": total / n}, None

    @torch.no_grad()
    def validate(self):
        self.model.eval()
        gen = torch.Generator().manual_seed(0)
        out, scores = {}, []
        for name, (x, style) in self.valid.items():
            S = x.shape[1]
            nothing = torch.zeros(len(x), S, dtype=torch.bool)
            free = model_loss(self.model, x, nothing, style, gen)
            half = torch.arange(S)[None].expand(len(x), S) < S // 2
            cont = model_loss(self.model, x, half, style, gen)
            out[f"valid_{name}_sample"] = float(free)
            out[f"valid_{name}_continue"] = float(cont)
            scores.append(float(free + cont) / 2)
        out["valid_loss"] = float(np.mean(scores))
        return out["valid_loss"], out

    def record(self, epoch, train, valid, minutes):
        lr = self.sched.get_last_lr()[0]
        return {"epoch": epoch, "step": self.st["step"], "minutes": minutes, "lr": lr,
                **train, **valid}

    def save_best(self, st, record):
        mc = self.model.cfg
        config = {
            "name": self.out.name,
            "family": FAMILY,
            "model": mc.to_dict(),
            "via": self.tc.vae,
            "representation": self.representation,
            "data": {"sets": self.counts, "split": "train"},
            "training": {"command": self.command, "config": self.tc.to_dict(),
                         "torch_threads": torch.get_num_threads(), "step": st["step"],
                         "elapsed_s": round(st["elapsed_s"], 1),
                         "parameters": count_parameters(self.model)},
            "metrics": {"valid": {k: v for k, v in record.items() if k.startswith("valid_")}},
        }
        save_checkpoint(self.out, config, self.model.state_dict())

    def end_epoch(self, st, rec, improved):
        print(f"step {st['step']:6d} ({rec['minutes']:.1f} min) train {rec['train_loss']:.4f} "
              f"valid {rec['valid_loss']:.4f} "
              + " ".join(f"{k[6:]} {v:.4f}" for k, v in rec.items()
                         if k.startswith("valid_") and k != "valid_loss")
              + (" *" if improved else ""), flush=True)


def valid_windows(model: Denoiser, cs: CodeSet, style: int, n: int, seed: int):
    """Standardised codes (n, S, D) of windows drawn from ``cs`` (fixed by ``seed``)."""
    windows = cs.windows(model.cfg.segments)
    pick = np.random.default_rng(seed).choice(len(windows), size=min(n, len(windows)),
                                              replace=False)
    S = model.cfg.segments
    z = np.stack([cs.pieces[p][f:f + S] for p, f in windows[pick]])
    return prepare(model, z), torch.full((len(z),), style)


def train(out: Path, mc: PriorConfig, tc: PriorTrainConfig, resume: bool = False,
          command: str = "") -> str:
    """Fit on the training splits of the data sets named by ``mc.styles``."""
    setup_torch(tc.threads, "cpu")
    vae = Registry().load(tc.vae)
    shifts = range(tc.shift_min, tc.shift_max + 1)
    sets = [code_set(vae, name, "train", shifts) for name in mc.styles]
    valid = [code_set(vae, name, "valid") for name in mc.styles]
    books = None
    if mc.objective == "masked":
        books = codebook_sets(vae, mc, sets, valid, out, resume, tc.seed)
        sets, valid = books.pop("sets"), books.pop("valid")
    return fit_codes(out, mc, tc, sets, valid, dict(vae.config["representation"]), resume,
                     command, n_shifts=len(shifts), books=books)


def codebook_sets(vae, mc: PriorConfig, sets, valid, out: Path, resume: bool, seed: int):
    """The codebook of real bars (built once, kept in OUT/codebook.npz for resumed runs)
    and the training and validation sets as id sequences."""
    cache = out / "codebook.npz"
    if resume and cache.exists():
        with np.load(cache) as f:
            codebook, centroids = f["codebook"], f["centroids"]
        ids = [[assign(p, centroids) for p in s.pieces] for s in sets]
    else:
        rolls = [[x.roll for x in load_midi_split(paths.data_dir() / name, "train",
                                                  vae.representation.load_args())]
                 for name in mc.styles]
        codebook, centroids, ids = build_codebook(vae, sets, rolls, mc.codebook_size, seed)
        out.mkdir(parents=True, exist_ok=True)
        np.savez(cache, codebook=codebook, centroids=centroids)
    token_sets = [CodeSet(s.name, list(i), s.shifts) for s, i in zip(sets, ids)]
    token_valid = [CodeSet(s.name, [assign(p, centroids) for p in s.pieces], s.shifts)
                   for s in valid]
    return {"sets": token_sets, "valid": token_valid, "codebook": codebook,
            "centroids": centroids}


def fit_codes(out: Path, mc: PriorConfig, tc: PriorTrainConfig, sets: list[CodeSet],
              valid_sets: list[CodeSet], representation: dict, resume: bool = False,
              command: str = "", n_shifts: int = 1, books: dict | None = None) -> str:
    """Fit a prior on code sets (one per style of ``mc.styles``; id sets and ``books``,
    the codebook and centroids, for the masked objective) and write the best checkpoint
    to ``out``; returns why training stopped."""
    device = setup_torch(tc.threads, "cpu")
    rng = seed_all(tc.seed)
    model = build_model(mc).to(device)
    if isinstance(model, MaskedPrior):
        model.codebook.copy_(torch.as_tensor(books["codebook"]))
        model.centroids.copy_(torch.as_tensor(books["centroids"]))
    else:
        flat = np.concatenate([np.concatenate(s.pieces) for s in sets])
        model.mean.copy_(torch.from_numpy(flat.mean(0)))
        model.std.copy_(torch.from_numpy(flat.std(0) + 1e-3))
    valid = {cs.name: valid_windows(model, cs, k, tc.valid_windows, tc.seed)
             for k, cs in enumerate(valid_sets)}
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=0.01)
    warm, total = tc.warmup_steps, tc.max_steps
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.05, 0.5 * (1 + np.cos(np.pi * s / total))))
    res = Resumable(out / "resume", model, opt, sched, rng)
    st = res.start(resume, step=0)
    counts = {s.name: {"pieces": len(s.pieces) // n_shifts,
                       "codes": int(sum(map(len, s.pieces))) // n_shifts,
                       "windows": len(s.windows(mc.segments))} for s in sets}
    print(f"{count_parameters(model):,} parameters; windows: "
          + ", ".join(f"{k} {v['windows']:,}" for k, v in counts.items()), flush=True)
    task = PriorTask(model, opt, sched, sets, valid, tc, st, rng, out, command, counts)
    task.representation = representation
    clock = Clock(tc.max_minutes, st["elapsed_s"])
    return fit(task, st, LoopConfig(patience=None), res, clock, out)
