"""``pianoplay train vae-segment``: fit the faithful segment VAE on MIDI data sets.

Each step draws windows of ``segments`` x ``segment_steps`` frames that start on a
bar line of a random piece (data sets mixed by ``mix`` weights), transposed by a
random shift, and fits reconstruction + beta * max(KL - free nats, 0) per segment
(MusicVAE's loss) and, on the detached posterior means, the z-sequence prior.
Validation on fixed windows of each data set's valid split every ``eval_every``
steps; the best weights are written as a checkpoint folder; resumable from
``OUT/resume/``; stops at ``max_minutes``. The rounds of ``eval_every`` steps are the
"epochs" of the shared loop (``pianoplay.training.loop.fit``), which also runs them
under torchrun (``training/distributed.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pianoplay import paths
from pianoplay.config_io import from_dict, to_dict
from pianoplay.data.midi_sets import load_midi_split
from pianoplay.models.checkpoint import read_config, save_checkpoint
from pianoplay.models.latent.axes import fit_axes, save_axes
from pianoplay.models.segment_vae.states import window_states
from pianoplay.music.representation import SIXTEENTHS
from pianoplay.training.task import EpochTask

# torch and the model are imported inside the functions that train: `pianoplay train` imports
# every family's trainer to register its flags, and `pianoplay --help` should not pay for torch.

CRITERION = "nll + beta_max * kl"  # how the best checkpoint is chosen (validation)


@dataclass
class SegmentTrainConfig:
    seed: int = 0
    data: list[str] = field(default_factory=lambda: ["nottingham", "piano-midi-de"])
    mix: list[float] = field(default_factory=lambda: [0.5, 0.5])  # share of windows per data set
    batch_windows: int = 8
    segments: int = 8  # segments per training window (the prior learns sequences this long)
    lr: float = 1e-3
    lr_final: float = 1e-4  # exponential decay to this at max_steps
    max_steps: int = 20000
    grad_clip: float = 1.0
    beta_max: float = 0.1
    beta_warmup_steps: int = 2000
    free_nats: float = 32.0  # per segment
    prior_weight: float = 0.01  # the prior's NLL is in nats over 256 dims: keep its gradient small
    transpose_max: int = 3
    eval_every: int = 250
    valid_windows: int = 48  # per data set
    max_minutes: float = 0.0
    threads: int = 1
    axes_segments: int = 12000  # per data set, for the latent axes fitted at the end
    save_float16: bool = False  # store the weights as float16 (files under 25 MB)

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "train") -> SegmentTrainConfig:
        return from_dict(cls, d, where)


def data_folder(name: str) -> Path:
    return paths.data_dir() / name


def load_set(name: str, split: str) -> list:
    return load_midi_split(data_folder(name), split, SIXTEENTHS.load_args())


def draw_windows(sets, weights, tc: SegmentTrainConfig, L: int, rng: np.random.Generator):
    """A batch: states (B, S, L, 88), mask (B, S) of segments that start inside the piece."""
    S = tc.segments
    states = np.zeros((tc.batch_windows, S, L, 88), np.int64)
    mask = np.zeros((tc.batch_windows, S), bool)
    for b in range(tc.batch_windows):
        pieces, lengths = sets[rng.choice(len(sets), p=weights)]
        piece = pieces[rng.choice(len(pieces), p=lengths)]
        starts = piece.bar_starts or [0]
        start = int(starts[rng.integers(len(starts))])
        shift = (
            int(rng.integers(-tc.transpose_max, tc.transpose_max + 1)) if tc.transpose_max else 0
        )
        states[b] = window_states(piece.roll, start, S * L, shift).reshape(S, L, 88)
        n_valid = math.ceil((len(piece.roll) - start) / L)
        mask[b, : max(1, min(S, n_valid))] = True
    return states, mask


def fixed_windows(pieces, n: int, S: int, L: int, seed: int):
    rng = np.random.default_rng(seed)
    lengths = np.array([len(p.roll) for p in pieces], float)
    states, mask = [], []
    for _ in range(n):
        piece = pieces[rng.choice(len(pieces), p=lengths / lengths.sum())]
        starts = piece.bar_starts or [0]
        start = int(starts[rng.integers(len(starts))])
        states.append(window_states(piece.roll, start, S * L).reshape(S, L, 88))
        m = np.zeros(S, bool)
        m[: max(1, min(S, math.ceil((len(piece.roll) - start) / L)))] = True
        mask.append(m)
    return np.stack(states), np.stack(mask)


def validate(model, windows, device) -> dict:
    """Teacher-forced NLL and KL per segment, and free-running (argmax) cell and onset
    accuracy on the valid segments of fixed windows."""
    import torch

    from pianoplay.models.segment_vae.model import ONSET

    states, mask = (torch.as_tensor(x, device=device) for x in windows)
    model.eval()
    with torch.no_grad():
        o = model(states, mask, sample=False)
        m = mask.float()
        flat = states[mask]  # (N, L, K)
        gen = model.generate(o["mu"][mask], temperature=0.0)
        true_on, gen_on = flat == ONSET, gen == ONSET
        hits = (true_on & gen_on).sum().item()
        prec = hits / max(gen_on.sum().item(), 1)
        rec = hits / max(true_on.sum().item(), 1)
    model.train()
    return {
        "nll_per_segment": float((o["nll"] * m).sum() / m.sum()),
        "kl_per_segment": float((o["kl"] * m).sum() / m.sum()),
        "prior_nll": float(o["prior_nll"]),
        "cell_accuracy": float((gen == flat).float().mean()),
        "onset_f1_aligned": 2 * prec * rec / max(prec + rec, 1e-9),
    }


def train(
    out: Path,
    model_over: dict,
    train_over: dict,
    device,
    resume: bool = False,
    command: str = "",
    quiet: bool = False,
) -> dict:
    import torch

    from pianoplay.models.segment_vae.model import SegmentVAE, SegmentVAEConfig
    from pianoplay.training.distributed import Distributed
    from pianoplay.training.loop import LoopConfig, Resumable, fit
    from pianoplay.training.runtime import Clock, seed_all, setup_torch

    tc = SegmentTrainConfig.from_dict(train_over)
    mc = SegmentVAEConfig.from_dict(model_over)
    dist = Distributed.from_env(setup_torch(tc.threads, device))
    device = dist.device
    # the same initial weights on every rank, each rank its own windows
    rng = seed_all(tc.seed, tc.seed + 1000 * dist.rank)
    L = mc.segment_steps
    sets, valid, counts = [], {}, {}
    for name in tc.data:
        pieces = load_set(name, "train")
        lengths = np.array([len(p.roll) for p in pieces], float)
        sets.append((pieces, lengths / lengths.sum()))
        counts[name] = {"pieces": len(pieces), "frames": int(lengths.sum())}
        valid[name] = fixed_windows(
            load_set(name, "valid"), tc.valid_windows, tc.segments, L, tc.seed + 1
        )
    model = SegmentVAE(mc).to(device)
    net = dist.wrap(model)
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    gamma = (tc.lr_final / tc.lr) ** (1.0 / max(tc.max_steps, 1))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    res = Resumable(out / "resume", model, opt, sched, rng)
    st = res.start(resume, step=0, best_step=0)
    if resume:
        if st.get("criterion") != CRITERION:  # a checkpoint chosen by another rule
            st["best"] = math.inf
        if dist.active:
            res.rng = np.random.default_rng([tc.seed, st["step"], dist.rank])
    st["criterion"] = CRITERION
    task = SegmentTask(tc, mc, model, net, opt, sched, res.rng, sets, valid, device,
                       st, out, counts, command, quiet)
    fit(task, st, LoopConfig(), res, Clock(tc.max_minutes, st["elapsed_s"], dist), out, dist)
    if dist.active:
        dist.record_weights(out, model, st["step"])
        dist.close()
        if not dist.is_main:
            return {}
    return finish(out, device, tc, quiet, max_segments=tc.axes_segments)


@dataclass
class SegmentTask(EpochTask):
    """Rounds of ``eval_every`` steps (the last cut short by ``max_steps`` or the clock),
    each followed by validation on the fixed windows of every data set."""

    tc: SegmentTrainConfig
    mc: object  # SegmentVAEConfig
    model: object
    net: object  # the model, or DDP around it
    opt: object
    sched: object  # stepped after every update
    rng: np.random.Generator
    sets: list  # (pieces, length weights) per data set
    valid: dict  # data set -> fixed windows
    device: object
    st: dict
    out: Path
    counts: dict
    command: str = ""
    quiet: bool = False

    def finished(self, st):
        return "steps" if st["step"] >= self.tc.max_steps else None

    def train_epoch(self, epoch, clock):
        import torch

        tc, st = self.tc, self.st
        weights = np.asarray(tc.mix, float) / sum(tc.mix)
        amp = self.device.type == "cuda"  # bfloat16 autocast on GPUs; full precision on CPU
        sums = np.zeros(4)
        while True:
            states, mask = draw_windows(self.sets, weights, tc, self.mc.segment_steps, self.rng)
            states = torch.as_tensor(states, device=self.device)
            mask = torch.as_tensor(mask, device=self.device)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=amp):
                o = self.net(states, mask)
            self.beta = tc.beta_max * min(1.0, st["step"] / max(tc.beta_warmup_steps, 1))
            m = mask.float()
            kl_cost = torch.clamp(o["kl"] - tc.free_nats, min=0.0)
            loss = ((o["nll"] + self.beta * kl_cost) * m).sum() / m.sum()
            loss = loss + tc.prior_weight * o["prior_nll"]
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), tc.grad_clip)
            self.opt.step()
            self.sched.step()
            st["step"] += 1
            sums += [
                float((o["nll"] * m).sum().detach()),
                float((o["kl"] * m).sum().detach()),
                float(m.sum()),
                float(o["prior_nll"].detach()),
            ]
            time_up = clock.over()
            done = time_up or st["step"] >= tc.max_steps
            if done or st["step"] % tc.eval_every == 0:
                break
        n_prior = (tc.eval_every if not done
                   else max(1, st["step"] % tc.eval_every or tc.eval_every))
        train = {"train_nll_per_segment": sums[0] / sums[2],
                 "train_kl_per_segment": sums[1] / sums[2], "train_prior_nll": sums[3] / n_prior}
        return train, ("time" if time_up else "steps" if done else None)

    def validate(self):
        """The training objective at full beta: with a small beta_max this is mostly the
        reconstruction, which is what a faithful model is for (the full ELBO would keep an
        early checkpoint once KL grows faster than the NLL falls)."""
        fields, score = {}, 0.0
        for name, windows in self.valid.items():
            v = fields[f"valid_{name}"] = validate(self.model, windows, self.device)
            score += v["nll_per_segment"] + self.tc.beta_max * v["kl_per_segment"]
        return score, fields

    def record(self, epoch, train, valid, minutes):
        lr = self.sched.get_last_lr()[0]
        return {"step": self.st["step"], "minutes": minutes, "beta": self.beta, "lr": lr,
                **train, **valid}

    def save_best(self, st, record):
        import torch


        st["best_step"] = st["step"]
        config = {
            "name": self.out.name,
            "family": "vae",
            "model": self.mc.to_dict(),
            "representation": SIXTEENTHS.to_dict(),
            "app_roles": ["interpolate", "latent"],  # the app's default for these tabs
            "data": {"sets": self.counts, "split": "train", "window_segments": self.tc.segments},
            "training": {
                "command": self.command,
                "config": self.tc.to_dict(),
                "device": str(self.device),
                "torch_threads": torch.get_num_threads(),
                "step": st["step"],
                "best_step": st["best_step"],
                "elapsed_s": round(st["elapsed_s"], 1),
            },
            "metrics": {"valid": {k: v for k, v in record.items() if k.startswith("valid_")}},
        }
        state = self.model.state_dict()
        if self.tc.save_float16:  # halves the file; loading copies them back into float32
            state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        save_checkpoint(self.out, config, state)

    def end_epoch(self, st, rec, improved):
        if self.quiet:
            return
        vs = "  ".join(
            f"{n}: nll {rec[f'valid_{n}']['nll_per_segment']:.1f} "
            f"kl {rec[f'valid_{n}']['kl_per_segment']:.1f} "
            f"cell {rec[f'valid_{n}']['cell_accuracy']:.4f} "
            f"onsetF1 {rec[f'valid_{n}']['onset_f1_aligned']:.3f}"
            for n in self.valid
        )
        print(
            f"step {st['step']:6d} ({rec['minutes']:.1f} min) beta {self.beta:.3f} train nll "
            f"{rec['train_nll_per_segment']:.1f} kl {rec['train_kl_per_segment']:.1f} | "
            f"{vs}{' *' if improved else ''}",
            flush=True,
        )


def finish(
    out: Path, device, tc: SegmentTrainConfig, quiet: bool = False, max_segments: int = 12000
) -> dict:
    """Reload the best weights and fit the latent axes (principal directions, attribute
    vectors) on segments of the training pieces, ``max_segments`` per data set."""
    from pianoplay.models.segment_vae.trained import TrainedSegmentVAE

    trained = TrainedSegmentVAE.from_checkpoint(out, device)
    rng = np.random.default_rng(tc.seed)
    L = trained.segment_steps
    rolls = []
    for name in tc.data:
        segs = [
            p.roll[k : k + L]
            for p in load_set(name, "train")
            for k in range(0, len(p.roll) - L + 1, L)
        ]
        segs = [x for x in segs if x.any()]
        pick = rng.permutation(len(segs))[:max_segments]
        rolls.extend(segs[i] for i in sorted(pick))
    fit_latent_axes(trained, rolls)
    if not quiet:
        print(f"latent axes fitted on {len(rolls)} training segments", flush=True)
    return read_config(out)


def fit_latent_axes(trained, rolls: list[np.ndarray], save: bool = True):
    """Fit :class:`~pianoplay.models.latent.axes.LatentAxes` on the segments of ``rolls``
    (T, 88, 2) with a loaded ``TrainedSegmentVAE`` and, with ``save``, write them beside its
    checkpoint; the wrapper then uses them."""
    from pianoplay.models.latent.scale import SCALES
    from pianoplay.models.latent.walk import WALKS  # deferred: imports torch

    L = trained.segment_steps
    segs = [r[k : k + L] for r in rolls for k in range(0, len(r) - L + 1, L)]
    segs = [s for s in segs if s.any()]
    axes = fit_axes(np.concatenate(trained.encode_rolls(segs)), segs)
    if trained.model.cfg.decoder in ("mlp", "lstm-parallel"):  # logits from z alone
        axes.attribute_walk = {name: dict(walk) for name, walk in WALKS.items()}
        axes.attribute_scale = {name: dict(scale) for name, scale in SCALES.items()}
    if save:
        source = f"train split, consecutive {L}-frame segments"
        save_axes(trained.folder, axes, {"segments": len(segs), "source": source})
    return axes
