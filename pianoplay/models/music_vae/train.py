"""``pianoplay train vae``: fit the LSTM-VAE on piano-roll windows.

Beta annealing and free bits, transposition augmentation; the shared loop
(``pianoplay.training.loop``) validates the ELBO every epoch with early stopping,
writes loss curves (PNG) and ``history.json`` in the checkpoint folder and makes the
run resumable from ``OUT/resume/`` (safetensors + JSON, no pickles); deterministic
for a seed on the CPU.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pianoplay.config_io import from_dict
from pianoplay.data.load import load_split
from pianoplay.errors import PianoplayError
from pianoplay.models.checkpoint import read_config, save_checkpoint, write_config
from pianoplay.models.latent.axes import fit_axes, save_axes
from pianoplay.music.representation import BENCHMARK
from pianoplay.music.roll import shift_keys
from pianoplay.training.options import read_json_arg
from pianoplay.training.task import EpochTask

# torch and the model are imported inside the functions that train: `pianoplay train` imports
# every family's trainer to register its flags, and `pianoplay --help` should not pay for torch.

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

    obj = read_json_arg(text)
    unknown = set(obj) - {"model", "train"}
    if unknown:
        raise PianoplayError(
            f"--config: unknown sections {sorted(unknown)}; use 'model' and 'train'."
        )
    return obj.get("model", {}), obj.get("train", {})


def load_rolls(data: Path, split: str) -> list[np.ndarray]:

    return load_split(data, split, REPRESENTATION)


def run(args) -> int:
    from pianoplay.training.runtime import setup_torch

    device = setup_torch(args.threads, args.device)
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
        device,
        resume=args.resume,
        command=command,
        test=not args.no_test,
    )
    return 0


def epoch_windows(rolls, tc: TrainConfig, rng: np.random.Generator) -> list[np.ndarray]:
    """Random-phase tiling: each piece cut into consecutive windows with a random
    offset, so every frame is seen once per epoch and window lengths vary like the
    tails met at test time."""
    from pianoplay.models.music_vae.evaluate import tile_windows

    out = []
    for roll in rolls:
        phase = int(rng.integers(tc.window))
        for _, _, w in tile_windows([roll], tc.window, phase):
            if tc.transpose_max and rng.random() < tc.transpose_prob:
                w = shift_keys(w, int(rng.integers(-tc.transpose_max, tc.transpose_max + 1)))
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

    from pianoplay.models.music_vae.model import MusicVAE, VAEConfig
    from pianoplay.music.vocab import ChordVocab
    from pianoplay.training.loop import LoopConfig, Resumable, fit
    from pianoplay.training.runtime import Clock, seed_all

    tc = TrainConfig.from_dict(train_over)
    train_rolls, valid_rolls = load_rolls(data, "train"), load_rolls(data, "valid")
    vocab = ChordVocab.build(train_rolls, min_count=tc.vocab_min_count)
    mc = VAEConfig.from_dict({"max_steps": tc.window, **model_over, "n_out": vocab.n_out})
    rng = seed_all(tc.seed)
    model = MusicVAE(mc, torch.from_numpy(vocab.frame_matrix)).to(device)
    model.set_unk_prior(vocab.key_probs, vocab.log_unk_norm)
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, tc.lr_decay)
    res = Resumable(out / "resume", model, opt, sched, rng)
    st = res.start(resume, step=0)
    task = VAETask(tc, mc, model, opt, vocab, train_rolls, valid_rolls, rng, device, st, out,
                   data, command, quiet)
    lc = LoopConfig(max_epochs=tc.max_epochs, patience=tc.patience, scheduler_per_epoch=True)
    fit(task, st, lc, res, Clock(tc.max_minutes, st["elapsed_s"]), out)
    return finish(out, device, data, test, quiet)


@dataclass
class VAETask(EpochTask):
    """One epoch over random-phase windows of every piece, batched by length; validation
    is the negative ELBO per frame of the valid split."""

    tc: TrainConfig
    mc: object  # VAEConfig
    model: object
    opt: object
    vocab: object
    train_rolls: list
    valid_rolls: list
    rng: np.random.Generator
    device: object
    st: dict  # the loop's state: ``step`` counts updates for the beta ramp
    out: Path
    data: Path
    command: str = ""
    quiet: bool = False
    curves = {
        "recon": "reconstruction NLL (nats / frame)",
        "kl": "KL (nats / frame)",
        "elbo": "negative ELBO (nats / frame)",
    }

    def train_epoch(self, epoch, clock):
        import torch

        from pianoplay.models.music_vae.evaluate import make_batch
        from pianoplay.training.runtime import progress

        tc, model, st = self.tc, self.model, self.st
        model.train()
        groups = batches_by_length(epoch_windows(self.train_rolls, tc, self.rng), tc.batch_size,
                                   self.rng)
        sums = np.zeros(3)  # recon, kl, frames
        bar = progress(groups, f"epoch {epoch}", self.quiet)
        stop = None
        for group in bar:
            roll, tokens, lengths, mask = make_batch(group, self.vocab, self.device)
            o = model(roll, tokens, lengths)
            beta = tc.beta_max * min(1.0, st["step"] / max(tc.beta_warmup_steps, 1))
            recon = -(o["logp"] * mask).sum()
            free = tc.free_nats * lengths.to(self.device).float() / tc.window
            kl_cost = torch.clamp(o["kl"] - free, min=0.0).sum()
            n = mask.sum()
            loss = (recon + beta * kl_cost) / n
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            self.opt.step()
            st["step"] += 1
            sums += [recon.item(), o["kl"].sum().item(), n.item()]
            bar.set_postfix(
                recon=f"{sums[0] / sums[2]:.3f}", kl=f"{sums[1] / sums[2]:.3f}", beta=f"{beta:.2f}"
            )
            if clock.over():
                stop = "time"
                break
        return {"train_recon": sums[0] / sums[2], "train_kl": sums[1] / sums[2],
                "train_elbo": (sums[0] + sums[1]) / sums[2]}, stop

    def validate(self):
        from pianoplay.models.music_vae.evaluate import elbo

        self.valid = elbo(self.model, self.vocab, self.valid_rolls, self.tc.window,
                          seed=self.tc.seed)
        return self.valid["elbo_nll_per_frame"], self.valid

    def record(self, epoch, train, valid, minutes):
        return {"epoch": epoch, "step": self.st["step"], "minutes": minutes, **train,
                "valid_recon": valid["recon_nll_per_frame"], "valid_kl": valid["kl_per_frame"],
                "valid_elbo": valid["elbo_nll_per_frame"]}

    def save_best(self, st, record):
        import torch


        out, data, tc, rolls = self.out, self.data, self.tc, self.train_rolls
        config = {
            "name": out.name,
            "family": "vae",
            "model": self.mc.to_dict(),
            "representation": REPRESENTATION,
            "data": {
                "name": data.stem,
                "path": str(data),
                "split": "train",
                "pieces": len(rolls),
                "frames": int(sum(map(len, rolls))),
                "window_frames": tc.window,
                "window_bars": tc.window // 8,
            },
            "training": {
                "command": self.command,
                "config": tc.to_dict(),
                "device": str(self.device),
                "torch_threads": torch.get_num_threads(),
                **{k: st[k] for k in ("epoch", "step", "best_epoch", "elapsed_s")},
            },
            "metrics": {"valid": self.valid},
        }
        save_checkpoint(out, config, self.model.state_dict(), {"vocab.json": self.vocab.to_json()})

    def end_epoch(self, st, rec, improved):
        if not self.quiet:
            print(
                f"epoch {st['epoch']:3d}  train recon {rec['train_recon']:.3f} "
                f"kl {rec['train_kl']:.3f}"
                f"  | valid recon {rec['valid_recon']:.3f} kl {rec['valid_kl']:.3f} "
                f"elbo {rec['valid_elbo']:.3f}{' *' if improved else ''}  "
                f"({rec['minutes']:.1f} min)",
                flush=True,
            )


def fit_latent_axes(trained, train_rolls: list[np.ndarray], save: bool = True):
    """Encode the full windows of ``train_rolls`` with a loaded ``TrainedVAE``, fit
    :class:`~pianoplay.models.latent.axes.LatentAxes` and, with ``save``, write them beside
    its checkpoint as ``latent.json``."""
    from pianoplay.models.music_vae.evaluate import tile_windows  # deferred: imports torch

    n = trained.n_steps
    wins = [w for _, _, w in tile_windows(train_rolls, n) if len(w) == n]
    axes = fit_axes(trained.encode_rolls(wins), wins)
    if save:
        source = f"train split, consecutive {trained.n_steps}-frame windows from each piece's start"
        save_axes(trained.folder, axes, {"windows": len(wins), "source": source})
    return axes


def finish(out: Path, device, data: Path, test: bool, quiet: bool) -> dict:
    """Reload the best weights, store latent axes, and measure the test split."""
    from pianoplay.models.music_vae.trained import TrainedVAE  # deferred: imports torch

    trained = TrainedVAE.from_checkpoint(out, device)
    fit_latent_axes(trained, load_rolls(data, "train"))
    config = read_config(out)
    if test:
        from pianoplay.models.music_vae.evaluate import evaluate

        config["metrics"]["test"] = evaluate(trained, load_rolls(data, "test"))
        if not quiet:
            print(json.dumps(config["metrics"]["test"], indent=1))
    write_config(out, config)
    return config
