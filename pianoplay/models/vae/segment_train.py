"""``pianoplay train vae-segment``: fit the faithful segment VAE on MIDI data sets.

Each step draws windows of ``segments`` x ``segment_steps`` frames that start on a
bar line of a random piece (data sets mixed by ``mix`` weights), transposed by a
random shift, and fits reconstruction + beta * max(KL - free nats, 0) per segment
(MusicVAE's loss) and, on the detached posterior means, the z-sequence prior.
Validation on fixed windows of each data set's valid split every ``eval_every``
steps; the best weights are written as a checkpoint folder; resumable from
``OUT/resume/``; stops at ``max_minutes``.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pianoplay.config_io import from_dict, to_dict
from pianoplay.music.representation import SIXTEENTHS

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
    from pianoplay import paths

    return paths.data_dir() / name


def load_set(name: str, split: str) -> list:
    from pianoplay.data.midi_sets import load_midi_split

    return load_midi_split(data_folder(name), split, SIXTEENTHS.load_args())


def window_states(roll: np.ndarray, start: int, n_frames: int, shift: int = 0) -> np.ndarray:
    """(n_frames, 88) int64 key states of ``roll[start:start + n_frames]`` ((T, 88, 2)),
    padded with silence, transposed by ``shift`` semitones (dropping keys pushed off the
    piano)."""
    from pianoplay.music.roll import shift_keys

    window = roll[start:start + n_frames]
    frames, onsets = window[..., 0] > 0, window[..., 1] > 0
    states = shift_keys(np.where(onsets, 1, np.where(frames, 2, 0)).astype(np.int64), shift)
    out = np.zeros((n_frames, 88), np.int64)
    out[: len(states)] = states
    return out


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

    from pianoplay.models.vae.segment_model import ONSET

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

    from pianoplay.models.vae.segment_model import SegmentVAE, SegmentVAEConfig
    from pianoplay.training.distributed import Distributed, weights_digest
    from pianoplay.training.state import load_state, save_state

    tc = SegmentTrainConfig.from_dict(train_over)
    mc = SegmentVAEConfig.from_dict(model_over)
    torch.set_num_threads(tc.threads)
    dist = Distributed.from_env(device)
    device = dist.device
    torch.manual_seed(tc.seed)  # the same initial weights on every rank
    rng = np.random.default_rng(tc.seed + 1000 * dist.rank)  # each rank its own windows
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
    weights = np.asarray(tc.mix, float) / sum(tc.mix)
    model = SegmentVAE(mc).to(device)
    net = dist.wrap(model)
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    gamma = (tc.lr_final / tc.lr) ** (1.0 / max(tc.max_steps, 1))
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
    st = {"step": 0, "best": math.inf, "best_step": 0, "elapsed_s": 0.0, "history": []}
    if resume:
        st = load_state(out / "resume", model, opt, sched, rng)
        if st.get("criterion") != CRITERION:  # a checkpoint chosen by another rule
            st["best"] = math.inf
        rng = np.random.default_rng([tc.seed, st["step"], dist.rank]) if dist.active else rng
    st["criterion"] = CRITERION
    t_start = time.time() - st["elapsed_s"]
    amp = device.type == "cuda"  # bfloat16 autocast on GPUs; full precision on the CPU
    budget = tc.max_minutes * 60 if tc.max_minutes else math.inf
    out.mkdir(parents=True, exist_ok=True)
    sums = np.zeros(4)
    while st["step"] < tc.max_steps:
        states, mask = draw_windows(sets, weights, tc, L, rng)
        states, mask = torch.as_tensor(states, device=device), torch.as_tensor(mask, device=device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            o = net(states, mask)
        beta = tc.beta_max * min(1.0, st["step"] / max(tc.beta_warmup_steps, 1))
        m = mask.float()
        kl_cost = torch.clamp(o["kl"] - tc.free_nats, min=0.0)
        loss = ((o["nll"] + beta * kl_cost) * m).sum() / m.sum() + tc.prior_weight * o["prior_nll"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        opt.step()
        sched.step()
        st["step"] += 1
        sums += [
            float((o["nll"] * m).sum().detach()),
            float((o["kl"] * m).sum().detach()),
            float(m.sum()),
            float(o["prior_nll"].detach()),
        ]
        done = dist.any(time.time() - t_start > budget) or st["step"] >= tc.max_steps
        if st["step"] % tc.eval_every and not done:
            continue
        if not dist.is_main:  # rank 0 validates and writes; the others wait for it
            dist.barrier()
            if done:
                break
            continue
        st["elapsed_s"] = time.time() - t_start
        rec = {
            "step": st["step"],
            "minutes": st["elapsed_s"] / 60,
            "beta": beta,
            "lr": sched.get_last_lr()[0],
            "train_nll_per_segment": sums[0] / sums[2],
            "train_kl_per_segment": sums[1] / sums[2],
            "train_prior_nll": sums[3]
            / (tc.eval_every if not done else max(1, st["step"] % tc.eval_every or tc.eval_every)),
        }
        sums[:] = 0
        score = 0.0
        for name, windows in valid.items():
            v = validate(model, windows, device)
            rec[f"valid_{name}"] = v
            # The training objective at full beta: with a small beta_max this is mostly the
            # reconstruction, which is what a faithful model is for (the full ELBO would keep
            # an early checkpoint once KL grows faster than the NLL falls).
            score += v["nll_per_segment"] + tc.beta_max * v["kl_per_segment"]
        st["history"].append(rec)
        improved = score < st["best"]
        if improved:
            st["best"], st["best_step"] = score, st["step"]
            save_best(out, model, mc, tc, st, counts, command, device, rec)
        if not quiet:
            vs = "  ".join(
                f"{n}: nll {rec[f'valid_{n}']['nll_per_segment']:.1f} "
                f"kl {rec[f'valid_{n}']['kl_per_segment']:.1f} "
                f"cell {rec[f'valid_{n}']['cell_accuracy']:.4f} "
                f"onsetF1 {rec[f'valid_{n}']['onset_f1_aligned']:.3f}"
                for n in valid
            )
            print(
                f"step {st['step']:6d} ({rec['minutes']:.1f} min) beta {beta:.3f} train nll "
                f"{rec['train_nll_per_segment']:.1f} kl {rec['train_kl_per_segment']:.1f} | "
                f"{vs}{' *' if improved else ''}",
                flush=True,
            )
        (out / "history.json").write_text(json.dumps(st["history"], indent=1) + "\n")
        save_state(out / "resume", model, opt, sched, rng, st)
        dist.barrier()
        if done:
            break
    if dist.active:  # a record that the ranks ended with the same weights
        (out / f"ddp_rank{dist.rank}.json").write_text(
            json.dumps(
                {
                    "rank": dist.rank,
                    "world_size": dist.world_size,
                    "step": st["step"],
                    "weights_sha256": weights_digest(model),
                }
            )
            + "\n"
        )
        dist.barrier()
        dist.close()
        if not dist.is_main:
            return {}
    return finish(out, device, tc, quiet, max_segments=tc.axes_segments)


def finish(
    out: Path, device, tc: SegmentTrainConfig, quiet: bool = False, max_segments: int = 12000
) -> dict:
    """Reload the best weights and fit the latent axes (principal directions, attribute
    vectors) on segments of the training pieces, ``max_segments`` per data set."""
    from pianoplay.models.vae.segment_trained import TrainedSegmentVAE

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
    trained.build_latent_axes(rolls)
    if not quiet:
        print(f"latent axes fitted on {len(rolls)} training segments", flush=True)
    return trained.config


def save_best(out, model, mc, tc, st, counts, command, device, rec) -> None:
    import torch

    from pianoplay.models.checkpoint import save_checkpoint

    config = {
        "name": out.name,
        "family": "vae",
        "model": mc.to_dict(),
        "representation": SIXTEENTHS.to_dict(),
        "app_roles": ["interpolate", "latent"],  # the app's default for these tabs
        "data": {"sets": counts, "split": "train", "window_segments": tc.segments},
        "training": {
            "command": command,
            "config": tc.to_dict(),
            "device": str(device),
            "torch_threads": torch.get_num_threads(),
            "step": st["step"],
            "best_step": st["best_step"],
            "elapsed_s": round(st["elapsed_s"], 1),
        },
        "metrics": {"valid": {k: v for k, v in rec.items() if k.startswith("valid_")}},
    }
    state = model.state_dict()
    if tc.save_float16:  # halves the file; loading copies them back into float32 weights
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    save_checkpoint(out, config, state)


def add_train_parser(families) -> None:
    p = families.add_parser(
        "vae-segment",
        help="the faithful segment VAE on MIDI data sets (one z per 2 bars of sixteenths)",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="pianoplay train vae-segment")
    add_arguments(p)
    return run(p.parse_args(argv))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help="checkpoint folder to write")
    p.add_argument(
        "--config",
        default=None,
        help='JSON file or string: {"model": {...SegmentVAEConfig}, '
        '"train": {...SegmentTrainConfig}}',
    )
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget")
    p.add_argument("--resume", action="store_true", help="continue from OUT/resume/")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: CUDA when present)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument(
        "--finish-only",
        action="store_true",
        help="skip training: fit the latent axes of the checkpoint in OUT",
    )


def run(args) -> int:
    from pianoplay.device import pick_device

    text = args.config or "{}"
    raw = json.loads(Path(text).read_text() if not text.lstrip().startswith("{") else text)
    from pianoplay.config_io import ConfigError

    unknown = sorted(set(raw) - {"model", "train"})
    if unknown:
        raise ConfigError(
            f"--config: unknown section(s) {', '.join(map(repr, unknown))}; "
            "expected 'model' and 'train'."
        )
    train_over = dict(raw.get("train", {}))
    if args.max_minutes is not None:
        train_over["max_minutes"] = args.max_minutes
    command = "pianoplay train vae-segment " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    if args.finish_only:
        finish(
            args.out, pick_device(args.device), SegmentTrainConfig.from_dict(train_over), args.quiet
        )
        return 0
    train(
        args.out,
        raw.get("model", {}),
        train_over,
        pick_device(args.device),
        resume=args.resume,
        command=command,
        quiet=args.quiet,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
