"""``pianoplay train vae``: fit the LSTM-VAE on piano-roll windows.

Beta annealing and free bits, transposition augmentation, validation ELBO
every epoch with early stopping, loss curves (PNG) in the checkpoint folder,
resumable from ``OUT/resume/`` (safetensors + JSON, no pickles), deterministic
for a seed on the CPU.
"""

from __future__ import annotations

import json
import math
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pianoplay.music.representation import BENCHMARK

REPRESENTATION = BENCHMARK.to_dict()


@dataclass
class TrainConfig:
    seed: int = 0
    batch_size: int = 64
    lr: float = 1e-3
    lr_decay: float = 0.95  # per epoch
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    max_epochs: int = 100
    patience: int = 4  # epochs without a better validation ELBO
    window: int = 128  # frames: 16 bars of 8 eighth notes
    beta_max: float = 1.0
    beta_warmup_steps: int = 2000  # linear ramp 0 -> beta_max
    free_nats: float = 8.0  # per full window, scaled by length; MusicVAE's free bits
    transpose_max: int = 0  # augmentation: random shift in [-max, max] semitones...
    transpose_prob: float = 0.0  # ...applied to this fraction of windows
    vocab_min_count: int = 1
    max_minutes: float = 0.0  # 0 = no limit; stops mid-epoch when reached

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "train") -> TrainConfig:
        from pianoplay.config_io import from_dict

        return from_dict(cls, d, where)


def add_train_parser(families) -> None:
    p = families.add_parser("vae", help="LSTM-VAE (MusicVAE-style) on 16-bar windows")
    p.add_argument(
        "--data",
        type=Path,
        required=True,
        help="benchmark .mat/.pickle file (e.g. ../shared/data/benchmark/Nottingham.mat)",
    )
    p.add_argument("--out", type=Path, required=True, help="checkpoint folder to write")
    p.add_argument(
        "--config",
        default=None,
        help='JSON file or string: {"model": {...VAEConfig}, "train": {...TrainConfig}}',
    )
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default=None, help="cpu, cuda ... (default: auto)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/resume/")
    p.add_argument("--no-test", action="store_true", help="skip the final test-split evaluation")
    p.set_defaults(func=run)


def parse_config(text: str | None) -> tuple[dict, dict]:
    from pianoplay.errors import PianoplayError

    if not text:
        return {}, {}
    try:
        obj = (
            json.loads(text)
            if text.lstrip().startswith("{")
            else json.loads(Path(text).read_text())
        )
    except (OSError, json.JSONDecodeError) as err:
        raise PianoplayError(f"--config {text!r} is neither a JSON file nor a JSON object ({err}).")
    unknown = set(obj) - {"model", "train"}
    if unknown:
        raise PianoplayError(
            f"--config: unknown sections {sorted(unknown)}; use 'model' and 'train'."
        )
    return obj.get("model", {}), obj.get("train", {})


def load_rolls(data: Path, split: str) -> list[np.ndarray]:
    from pianoplay.data.load import load_split

    return load_split(data, split, REPRESENTATION)


def run(args) -> int:
    import torch

    from pianoplay.device import pick_device
    from pianoplay.errors import PianoplayError

    torch.set_num_threads(args.threads)
    model_over, train_over = parse_config(args.config)
    if args.max_minutes is not None:
        train_over["max_minutes"] = args.max_minutes
    if args.seed is not None:
        train_over["seed"] = args.seed
    if not args.data.exists():
        raise PianoplayError(f"--data {args.data} does not exist.")
    if args.resume and not (args.out / "resume" / "state.json").is_file():
        raise PianoplayError(f"--resume: {args.out / 'resume'} holds no training state.")
    command = "pianoplay " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    train(
        args.data,
        args.out,
        model_over,
        train_over,
        pick_device(args.device),
        resume=args.resume,
        command=command,
        test=not args.no_test,
    )
    return 0


def transpose(roll: np.ndarray, shift: int) -> np.ndarray:
    """Shift a (T, 88) roll by ``shift`` semitones; keys pushed off the edge are dropped."""
    out = np.zeros_like(roll)
    if shift >= 0:
        out[:, shift:] = roll[:, : 88 - shift]
    else:
        out[:, :shift] = roll[:, -shift:]
    return out


def epoch_windows(rolls, tc: TrainConfig, rng: np.random.Generator) -> list[np.ndarray]:
    """Random-phase tiling: each piece cut into consecutive windows with a random
    offset, so every frame is seen once per epoch and window lengths vary like the
    tails met at test time."""
    from pianoplay.models.vae.evaluate import tile_windows

    out = []
    for roll in rolls:
        phase = int(rng.integers(tc.window))
        for _, _, w in tile_windows([roll], tc.window, phase):
            if tc.transpose_max and rng.random() < tc.transpose_prob:
                w = transpose(w, int(rng.integers(-tc.transpose_max, tc.transpose_max + 1)))
            out.append(w)
    return out


def batches_by_length(windows, batch_size: int, rng: np.random.Generator):
    order = np.argsort([len(w) + rng.random() for w in windows], kind="stable")
    groups = [order[k : k + batch_size] for k in range(0, len(order), batch_size)]
    rng.shuffle(groups)
    return [[windows[i] for i in g] for g in groups]


def train(
    data: Path,
    out: Path,
    model_over: dict,
    train_over: dict,
    device,
    resume: bool = False,
    command: str = "",
    test: bool = True,
    quiet: bool = False,
) -> dict:
    """Train and write the checkpoint folder ``out``; returns the final config dict."""
    import torch
    from tqdm import tqdm

    from pianoplay.models.checkpoint import save_checkpoint
    from pianoplay.models.vae.evaluate import elbo, make_batch
    from pianoplay.models.vae.model import MusicVAE, VAEConfig
    from pianoplay.music.vocab import ChordVocab
    from pianoplay.training.state import load_state, save_state

    tc = TrainConfig.from_dict(train_over)
    train_rolls, valid_rolls = load_rolls(data, "train"), load_rolls(data, "valid")
    vocab = ChordVocab.build(train_rolls, min_count=tc.vocab_min_count)
    mc = VAEConfig.from_dict({"max_steps": tc.window, **model_over, "n_out": vocab.n_out})
    torch.manual_seed(tc.seed)
    rng = np.random.default_rng(tc.seed)
    model = MusicVAE(mc, torch.from_numpy(vocab.frame_matrix)).to(device)
    model.set_unk_prior(vocab.key_probs, vocab.log_unk_norm)
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, tc.lr_decay)
    st = {
        "epoch": 0,
        "step": 0,
        "best": math.inf,
        "best_epoch": 0,
        "bad_epochs": 0,
        "elapsed_s": 0.0,
        "history": [],
    }
    if resume:
        st = load_state(out / "resume", model, opt, sched, rng)
    t_start = time.time() - st["elapsed_s"]
    budget = tc.max_minutes * 60 if tc.max_minutes else math.inf
    out.mkdir(parents=True, exist_ok=True)

    def save_best(metrics: dict) -> None:
        config = {
            "name": out.name,
            "family": "vae",
            "model": mc.to_dict(),
            "representation": REPRESENTATION,
            "data": {
                "name": data.stem,
                "path": str(data),
                "split": "train",
                "pieces": len(train_rolls),
                "frames": int(sum(map(len, train_rolls))),
                "window_frames": tc.window,
                "window_bars": tc.window // 8,
            },
            "training": {
                "command": command,
                "config": tc.to_dict(),
                "device": str(device),
                "torch_threads": torch.get_num_threads(),
                **{k: st[k] for k in ("epoch", "step", "best_epoch", "elapsed_s")},
            },
            "metrics": metrics,
        }
        save_checkpoint(out, config, model.state_dict(), {"vocab.json": vocab.to_json()})

    stopped = False
    while st["epoch"] < tc.max_epochs and not stopped:
        model.train()
        groups = batches_by_length(epoch_windows(train_rolls, tc, rng), tc.batch_size, rng)
        sums = np.zeros(3)  # recon, kl, frames
        bar = tqdm(groups, desc=f"epoch {st['epoch'] + 1}", leave=False, disable=quiet)
        for group in bar:
            roll, tokens, lengths, mask = make_batch(group, vocab, device)
            o = model(roll, tokens, lengths)
            beta = tc.beta_max * min(1.0, st["step"] / max(tc.beta_warmup_steps, 1))
            recon = -(o["logp"] * mask).sum()
            free = tc.free_nats * lengths.to(device).float() / tc.window
            kl_cost = torch.clamp(o["kl"] - free, min=0.0).sum()
            n = mask.sum()
            loss = (recon + beta * kl_cost) / n
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            opt.step()
            st["step"] += 1
            sums += [recon.item(), o["kl"].sum().item(), n.item()]
            bar.set_postfix(
                recon=f"{sums[0] / sums[2]:.3f}", kl=f"{sums[1] / sums[2]:.3f}", beta=f"{beta:.2f}"
            )
            if time.time() - t_start > budget:
                stopped = True
                break
        sched.step()
        st["epoch"] += 1
        st["elapsed_s"] = time.time() - t_start
        v = elbo(model, vocab, valid_rolls, tc.window, seed=tc.seed)
        rec = {
            "epoch": st["epoch"],
            "step": st["step"],
            "minutes": st["elapsed_s"] / 60,
            "train_recon": sums[0] / sums[2],
            "train_kl": sums[1] / sums[2],
            "train_elbo": (sums[0] + sums[1]) / sums[2],
            "valid_recon": v["recon_nll_per_frame"],
            "valid_kl": v["kl_per_frame"],
            "valid_elbo": v["elbo_nll_per_frame"],
        }
        st["history"].append(rec)
        improved = rec["valid_elbo"] < st["best"]
        if improved:
            st["best"], st["best_epoch"], st["bad_epochs"] = rec["valid_elbo"], st["epoch"], 0
            save_best({"valid": v})
        else:
            st["bad_epochs"] += 1
        if not quiet:
            print(
                f"epoch {st['epoch']:3d}  train recon {rec['train_recon']:.3f} "
                f"kl {rec['train_kl']:.3f}"
                f"  | valid recon {rec['valid_recon']:.3f} kl {rec['valid_kl']:.3f} "
                f"elbo {rec['valid_elbo']:.3f}{' *' if improved else ''}  "
                f"({rec['minutes']:.1f} min)",
                flush=True,
            )
        plot_curves(st["history"], out / "loss_curves.png")
        (out / "history.json").write_text(json.dumps(st["history"], indent=1) + "\n")
        save_state(out / "resume", model, opt, sched, rng, st)
        if st["bad_epochs"] >= tc.patience:
            break
    return finish(out, device, data, test, quiet)


def finish(out: Path, device, data: Path, test: bool, quiet: bool) -> dict:
    """Reload the best weights, store latent axes, and measure the test split."""
    from pianoplay.models.checkpoint import read_config, write_config
    from pianoplay.models.vae.trained import TrainedVAE

    trained = TrainedVAE.from_checkpoint(out, device)
    trained.build_latent_axes(load_rolls(data, "train"))
    config = read_config(out)
    if test:
        from pianoplay.models.vae.evaluate import evaluate

        config["metrics"]["test"] = evaluate(trained, load_rolls(data, "test"))
        if not quiet:
            print(json.dumps(config["metrics"]["test"], indent=1))
    write_config(out, config)
    return config


def plot_curves(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, key in zip(axes, ("recon", "kl", "elbo")):
        ax.plot(ep, [h[f"train_{key}"] for h in history], "o-", label="train")
        ax.plot(ep, [h[f"valid_{key}"] for h in history], "o-", label="valid")
        ax.set_title(
            {"recon": "reconstruction NLL", "kl": "KL", "elbo": "negative ELBO"}[key]
            + " (nats / frame)"
        )
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
