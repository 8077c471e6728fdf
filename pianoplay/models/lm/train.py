"""``pianoplay train chord-lstm|roll-lstm``: train an LM, save the best checkpoint.

Every hyperparameter is a field of :class:`LMTrainConfig`: its defaults, then the keys of
``--config`` (a JSON object or file, e.g. a checkpoint's ``training.config``), then the
flags given explicitly. The shared loop (``pianoplay.training.loop``) does the rest:
validation NLL (the benchmark protocol) after every epoch, the best checkpoint kept, the
learning rate halved when it stops improving, early stopping after ``patience`` epochs
without improvement, ``max_minutes`` counted over resumed runs, ``OUT/resume/`` after
every epoch (``--resume`` ends where an uninterrupted run would), ``history.json`` and
``loss_curves.png``. Deterministic for a seed on a given device.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from pianoplay.config_io import from_dict
from pianoplay.models.checkpoint import save_checkpoint, write_config
from pianoplay.models.lm.card import write_card
from pianoplay.music.hand_vocab import HandVocab
from pianoplay.music.roll import shift_keys
from pianoplay.music.vocab import ChordVocab
from pianoplay.training.task import EpochTask

# torch and the modules that import it (the models, their data and evaluator, the loop) are
# imported inside the functions that train: `pianoplay train` imports every family's trainer
# to register its flags, and `pianoplay --help` should not pay for torch.

REPRESENTATION = {
    "steps_per_quarter": 2,
    "normalize_key": True,
    "onsets": False,
    "steps_per_bar": 8,
}
@dataclass
class LMTrainConfig:
    """The hyperparameters of an LM run; the checkpoint keeps them in
    ``config.json["training"]["config"]``. One flag per field (``--batch-size`` for
    ``batch_size``; ``SWITCHES`` for the booleans). Fields after ``normalize_key`` are
    chord-lstm's only (roll-lstm refuses a change to them). Where the run happens
    (``--device``, ``--threads``) and what it reads and writes (``--data``, ``--out``,
    ``--resume``, ``--no-test``) are not part of it."""

    epochs: int = 60
    max_minutes: float = 60.0
    patience: int = 5
    seed: int = 0
    batch_size: int = 16
    max_batch_frames: int = 8192
    lr: float = 2e-3
    weight_decay: float = 0.0
    clip: float = 1.0
    bptt: int = 64
    transpose: int = 0
    limit: int | None = None
    embd: int = 256  # roll-lstm: 128
    hidden: int = 512  # roll-lstm: 256
    layers: int = 2
    dropout: float = 0.3
    steps_per_quarter: int = 2
    normalize_key: bool = True
    min_count: int = 1
    max_vocab: int | None = None
    min_pieces: int = 2
    unk_aux: float = 0.1
    unk_head: bool = True
    hands: bool = False
    hand_vocab_size: int = 4096
    key_features: bool = True
    tie_weights: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "training.config") -> LMTrainConfig:
        return from_dict(cls, d, where)

    @classmethod
    def for_family(cls, family: str) -> LMTrainConfig:
        return cls() if family == "chord-lstm" else cls(embd=128, hidden=256)


def _representation(data: Path, cfg: LMTrainConfig) -> dict:
    if data.suffix in (".mat", ".pickle", ".pkl"):
        return dict(REPRESENTATION)
    spq = cfg.steps_per_quarter
    return {"steps_per_quarter": spq, "normalize_key": cfg.normalize_key, "onsets": False,
            "steps_per_bar": 4 * spq}


def _vocab_and_model(cfg: LMTrainConfig, family: str, train_rolls):
    """The vocabulary (chord-lstm; None for roll-lstm) and the model's config."""
    if family != "chord-lstm":
        from pianoplay.models.lm.roll_model import RollLSTMConfig

        return None, RollLSTMConfig(n_embd=cfg.embd, n_hidden=cfg.hidden, n_layer=cfg.layers,
                                    dropout=cfg.dropout)
    from pianoplay.models.lm.model import ChordLSTMConfig

    if cfg.hands:
        vocab = HandVocab.build(train_rolls, max_size=cfg.hand_vocab_size,
                                min_count=cfg.min_count, transpose=cfg.transpose)
    else:
        vocab = ChordVocab.build(train_rolls, min_count=cfg.min_count, max_size=cfg.max_vocab,
                                 min_pieces=cfg.min_pieces)
    return vocab, ChordLSTMConfig(
        n_out=vocab.n_out, n_embd=cfg.embd, n_hidden=cfg.hidden, n_layer=cfg.layers,
        dropout=cfg.dropout, tie_weights=cfg.tie_weights, key_features=cfg.key_features,
        unk_head=cfg.unk_head, hands=cfg.hands,
    )


def train(cfg: LMTrainConfig, family: str, data: Path, out: Path, *, device=None,
          threads: int = 0, resume: bool = False, test: bool = True, command: str = "") -> dict:
    """Train ``family`` on ``data`` into the checkpoint folder ``out``; returns its config."""

    import torch

    from pianoplay.models.lm.data import load_rolls
    from pianoplay.models.lm.trained import build_model
    from pianoplay.training.loop import LoopConfig, Resumable, fit, plateau
    from pianoplay.training.runtime import Clock, seed_all, setup_torch

    device = setup_torch(threads, device)
    rng = seed_all(cfg.seed)
    rep = _representation(data, cfg)
    t_load = time.time()
    train_rolls = load_rolls(data, "train", rep)[: cfg.limit]
    valid_rolls = load_rolls(data, "valid", rep)
    train_rolls = [r for r in train_rolls if len(r) >= 2]
    print(f"loaded {len(train_rolls)} train / {len(valid_rolls)} valid pieces "
          f"({sum(map(len, train_rolls))} frames) in {time.time() - t_load:.1f} s",
          file=sys.stderr)
    vocab, model_cfg = _vocab_and_model(cfg, family, train_rolls)
    model = build_model(family, model_cfg.to_dict(), vocab).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{family}: {n_params / 1e6:.2f} M parameters"
          + (f", vocabulary {vocab.n_out - 1} frames + UNK" if vocab else "")
          + f", device {device}", file=sys.stderr)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    config = _checkpoint_config(cfg, family, data, out, rep, model_cfg.to_dict(), vocab,
                                train_rolls, valid_rolls, device, n_params, command)
    res = Resumable(out / "resume", model, opt, plateau(opt), rng)
    st = res.start(resume)
    if resume:
        print(f"resumed after epoch {st['epoch']} ({st['elapsed_s'] / 60:.1f} min)",
              file=sys.stderr)
    if st["best_epoch"]:  # the best checkpoint so far is already in OUT
        config["training"].update({"best_epoch": st["best_epoch"], "history": st["history"]})
        config["metrics"] = {"valid_nll_per_frame": round(st["best"], 4)}
    task = LMTask(cfg, model, opt, vocab, train_rolls, valid_rolls, rng, device, out, config)
    clock = Clock(cfg.max_minutes, st["elapsed_s"])
    lc = LoopConfig(max_epochs=cfg.epochs, patience=cfg.patience, min_delta=1e-4)
    stopped = fit(task, st, lc, res, clock, out)
    config["training"].update({"epochs_run": len(st["history"]),
                               "train_minutes": round(clock.elapsed() / 60, 2),
                               "history": st["history"], "stopped": stopped})
    return _finish(out, data, rep, device, config, test, st["best_epoch"])


def _checkpoint_config(cfg, family, data, out, rep, model_cfg, vocab, train_rolls, valid_rolls,
                       device, n_params, command) -> dict:
    import torch

    training = {"command": command, "seed": cfg.seed, "device": str(device),
                "torch": torch.__version__, "machine": platform.machine(),
                "threads": torch.get_num_threads(), "parameters": n_params}
    for key in ("batch_size", "lr", "weight_decay", "clip", "bptt", "transpose", "max_minutes",
                "patience"):
        training[key] = getattr(cfg, key)
    config = {
        "name": out.name,
        "family": family,
        "model": model_cfg,
        "representation": rep,
        "data": {
            "name": data.stem if data.is_file() else data.name,
            "path": str(data),
            "train_pieces": len(train_rolls),
            "train_frames": int(sum(map(len, train_rolls))),
            "valid_pieces": len(valid_rolls),
        },
        "training": training,
        "metrics": {},
    }
    if vocab is not None:
        training["unk_aux"] = cfg.unk_aux
        config["data"].update(vocab_min_count=cfg.min_count, vocab_min_pieces=cfg.min_pieces,
                              vocab_size=vocab.n_out - 1)
        if cfg.hands:
            config["data"].update(vocab_right=len(vocab.right), vocab_left=len(vocab.left),
                                  vocab_split_pitch=vocab.split_pitch, vocab_min_pieces=None)
        config["files"] = {"vocab": "vocab.json"}
    training["config"] = cfg.to_dict()
    return config


def _finish(out, data, rep, device, config, test, best_epoch) -> dict:
    """Measure the best weights on the test split; write config.json and the model card."""
    from pianoplay.models.lm.data import load_rolls
    from pianoplay.models.lm.evaluate import nll_metrics
    from pianoplay.models.lm.trained import TrainedLM

    if test:
        trained = TrainedLM.from_checkpoint(out, device)
        metrics = nll_metrics(trained.model, trained.vocab, load_rolls(data, "test", rep), device)
        config["metrics"].update(
            {f"test_{k}": (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()}
        )
        print("test " + json.dumps(metrics), file=sys.stderr)
    write_config(out, config)
    write_card(out, config)
    print(json.dumps({"out": str(out), "best_epoch": best_epoch, **config["metrics"]}))
    return config


class LMTask(EpochTask):
    """One epoch of truncated-BPTT updates over length-sorted batches of whole pieces."""

    curves = {"nll": "NLL (nats / frame)"}

    def __init__(self, cfg, model, opt, vocab, train_rolls, valid_rolls, rng, device, out, config):
        self.cfg, self.model, self.opt, self.vocab = cfg, model, opt, vocab
        self.train_rolls, self.valid_rolls = train_rolls, valid_rolls
        self.rng, self.device, self.out, self.config = rng, device, out, config
        self.extra = {"vocab.json": vocab.to_json()} if vocab is not None else None
        self.unk_aux = cfg.unk_aux if vocab is not None else 0.0
        self.per_frame = getattr(vocab, "tokens_per_frame", 1)  # tokens per frame

    def train_epoch(self, epoch, clock):
        from pianoplay.models.lm.data import length_batches, make_batch
        from pianoplay.training.runtime import progress

        cfg, rng = self.cfg, self.rng
        self.model.train()
        self.total, self.count = 0.0, 0
        lengths = [len(r) for r in self.train_rolls]
        bar = progress(length_batches(lengths, cfg.batch_size, rng, cfg.max_batch_frames),
                       f"epoch {epoch}")
        for idx in bar:
            rolls = [self.train_rolls[i] for i in idx]
            if cfg.transpose:
                shifts = (int(rng.integers(-cfg.transpose, cfg.transpose + 1)) for _ in rolls)
                rolls = [shift_keys(r, k) for r, k in zip(rolls, shifts)]
            self._updates(make_batch(rolls, self.vocab).to(self.device))
            bar.set_postfix(nll=f"{self.total / self.count:.3f}", refresh=False)
            if clock.over():
                return {"nll": self.total / self.count}, "time"
        return {"nll": self.total / self.count}, None

    def _updates(self, batch) -> None:
        """Truncated BPTT: an update every ``bptt`` frames, the LSTM state carried over,
        so a whole-piece batch gives many updates without losing context."""
        import torch

        from pianoplay.models.lm.data import Batch, model_inputs

        model, bptt, state = self.model, self.cfg.bptt * self.per_frame, None
        for s in range(0, batch.mask.shape[1], bptt):
            part = Batch(*(getattr(batch, f)[:, s : s + bptt] for f in Batch.__dataclass_fields__))
            h, state = model(*model_inputs(model, part), state)
            state = tuple(x.detach() for x in state)
            lp = model.frame_log_prob(h, part.tokens_out, part.frames_out, offset=s)
            n = part.mask.sum()
            if n == 0:
                continue
            loss = -(lp * part.mask).sum() / n
            aux = loss.new_zeros(())
            if self.unk_aux:
                aux = self.unk_aux * (model.unk_bernoulli_nll(h, part.frames_out, s)
                                      * part.mask).sum() / n
            self.opt.zero_grad(set_to_none=True)
            (loss + aux).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.cfg.clip)
            self.opt.step()
            self.total += loss.item() * n.item()
            self.count += n.item() / self.per_frame  # NLL reported per frame

    def validate(self):
        from pianoplay.models.lm.evaluate import nll_metrics

        valid = nll_metrics(self.model, self.vocab, self.valid_rolls, self.device)
        return valid["nll_per_frame"], {"nll": valid["nll_per_frame"]}

    def record(self, epoch, train, valid, minutes):
        self.train_nll, self.valid_nll = train["nll"], valid["nll"]
        return {"epoch": epoch, "train_nll": round(train["nll"], 4),
                "valid_nll": round(valid["nll"], 4), "lr": self.opt.param_groups[0]["lr"],
                "minutes": round(minutes, 2)}

    def save_best(self, st, record):
        self.config["training"].update({"epochs_run": st["epoch"], "best_epoch": st["epoch"],
                                        "train_minutes": record["minutes"],
                                        "history": st["history"]})
        self.config["metrics"] = {"valid_nll_per_frame": round(st["best"], 4)}
        save_checkpoint(self.out, self.config, self.model.state_dict(), self.extra)

    def end_epoch(self, st, record, improved):
        print(f"epoch {record['epoch']:3d}  train {self.train_nll:.4f}  valid "
              f"{self.valid_nll:.4f}  {'*' if improved else ' '} {record['minutes']:.1f} min",
              file=sys.stderr, flush=True)
