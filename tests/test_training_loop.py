"""The shared training loop (pianoplay.training) and the LM's typed config.

A tiny regression model runs through ``fit`` for early stopping, the time budget and
resume; the LM trainer's ``LMTrainConfig`` round-trips through JSON, refuses unknown
keys by name (from_dict and ``--config``) and lets explicit flags win over ``--config``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from pianoplay.cli import build_parser, main
from pianoplay.config_io import ConfigError
from pianoplay.models.lm.train import LMTrainConfig
from pianoplay.models.lm.train_cli import resolve_config
from pianoplay.training.loop import EpochTask, LoopConfig, Resumable, fit, plateau
from pianoplay.training.runtime import Clock, seed_all

# -- LMTrainConfig --------------------------------------------------------------------------


def test_lm_train_config_round_trips_through_json():
    cfg = LMTrainConfig(epochs=3, lr=1e-3, limit=8, hands=True, max_vocab=None, dropout=0.1)
    assert LMTrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert LMTrainConfig.from_dict({}) == LMTrainConfig()


def test_lm_train_config_refuses_an_unknown_key_by_name():
    with pytest.raises(ConfigError, match="'lrr'"):
        LMTrainConfig.from_dict({"lrr": 0.1})


def _args(*argv):
    return build_parser().parse_args(["train", *argv, "--data", "x.mat", "--out", "o"])


def test_flags_win_over_config_which_wins_over_defaults():
    cfg = resolve_config(_args("roll-lstm", "--config", '{"lr": 0.01, "epochs": 3}',
                               "--lr", "0.02"))
    assert (cfg.lr, cfg.epochs, cfg.embd) == (0.02, 3, 128)  # flag, --config, roll default
    cfg = resolve_config(_args("chord-lstm", "--no-tie", "--config", '{"max_minutes": 5}'))
    assert (cfg.tie_weights, cfg.max_minutes, cfg.embd) == (False, 5.0, 256)
    assert isinstance(cfg.max_minutes, float)


def test_config_file_and_its_errors(tmp_path):
    path = tmp_path / "lm.json"
    path.write_text(json.dumps({"hidden": 24, "hands": True}))
    assert resolve_config(_args("chord-lstm", "--config", str(path))).hidden == 24
    with pytest.raises(ConfigError, match="'lr' must be float"):
        resolve_config(_args("roll-lstm", "--config", '{"lr": "0.1"}'))
    with pytest.raises(ConfigError, match="roll-lstm has no 'hands'"):
        resolve_config(_args("roll-lstm", "--config", str(path)))


def test_unknown_config_key_via_the_cli_names_it(tmp_path, data_dir, capsys):
    out = tmp_path / "o"
    rc = main(["train", "chord-lstm", "--data", str(data_dir / "benchmark" / "Nottingham.mat"),
               "--out", str(out), "--config", '{"bptt": 32, "hiden": 8}'])
    err = capsys.readouterr().err
    assert rc == 2 and "'hiden'" in err and "--config" in err
    assert not out.exists()


def test_lm_checkpoint_keeps_the_typed_config(tmp_path, data_dir):
    out = tmp_path / "roll"
    config = {"epochs": 1, "limit": 4, "embd": 8, "hidden": 8, "layers": 1}
    assert main(["train", "roll-lstm", "--data", str(data_dir / "benchmark" / "Nottingham.mat"),
                 "--out", str(out), "--config", json.dumps(config), "--hidden", "6",
                 "--threads", "1", "--no-test", "--device", "cpu"]) == 0
    saved = json.loads((out / "config.json").read_text())
    training = saved["training"]
    expected = {**LMTrainConfig.for_family("roll-lstm").to_dict(), **config, "hidden": 6}
    assert LMTrainConfig.from_dict(training["config"]) == LMTrainConfig.from_dict(expected)
    assert saved["model"]["n_hidden"] == 6 and training["stopped"] == "epochs"
    for key in ("command", "seed", "device", "torch", "machine", "threads", "batch_size", "lr",
                "weight_decay", "clip", "bptt", "transpose", "max_minutes", "patience",
                "parameters", "epochs_run", "best_epoch", "train_minutes", "history"):
        assert key in training, key
    assert json.loads((out / "history.json").read_text()) == training["history"]
    assert (out / "loss_curves.png").is_file()


# -- the loop on a tiny model -----------------------------------------------------------------


@dataclass
class Regression(EpochTask):
    """y = 2x + 1 from noisy points; ``scores`` replaces the validation loss when given."""

    model: torch.nn.Module
    opt: torch.optim.Optimizer
    rng: np.random.Generator
    scores: list | None = None
    saved: list | None = None

    def train_epoch(self, epoch, clock):
        x = torch.as_tensor(self.rng.normal(size=(16, 1)), dtype=torch.float32)
        y = 2 * x + 1 + 0.1 * torch.randn_like(x)
        loss = torch.nn.functional.mse_loss(self.model(x), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"train_loss": loss.item()}, ("time" if clock.over() else None)

    def validate(self):
        if self.scores is not None:
            score = self.scores.pop(0)
        else:
            with torch.no_grad():
                x = torch.linspace(-1, 1, 9)[:, None]
                score = torch.nn.functional.mse_loss(self.model(x), 2 * x + 1).item()
        return score, {"valid_loss": score}

    def save_best(self, st, record):
        self.saved = [*(self.saved or []), st["epoch"]]


def _setup(folder, scores=None):
    rng = seed_all(0)
    model = torch.nn.Linear(1, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    res = Resumable(folder / "resume", model, opt, plateau(opt), rng)
    return Regression(model, opt, rng, scores), res


def test_early_stopping_keeps_the_best_epoch(tmp_path):
    task, res = _setup(tmp_path, scores=[3.0, 2.0, 2.5, 2.6, 2.7, 1.0])
    st = res.start(False)
    why = fit(task, st, LoopConfig(max_epochs=10, patience=2), res, Clock(60), tmp_path)
    assert why == "early stopping" and st["epoch"] == 4
    assert (st["best"], st["best_epoch"], st["bad"]) == (2.0, 2, 2)
    assert task.saved == [1, 2]
    assert [h["valid_loss"] for h in st["history"]] == [3.0, 2.0, 2.5, 2.6]
    lrs = [g["lr"] for g in task.opt.param_groups]
    assert lrs == [0.05 * 0.5**2]  # plateau: halved after each epoch without a gain
    assert json.loads((tmp_path / "history.json").read_text())[-1]["epoch"] == 4


def test_time_budget_counts_the_runs_before_a_resume(tmp_path):
    task, res = _setup(tmp_path)
    st = res.start(False, elapsed_s=120.0)
    assert fit(task, st, LoopConfig(max_epochs=5), res, Clock(1.0, 120.0), tmp_path) == "time"
    assert st["epoch"] == 0
    st = res.start(False)
    why = fit(task, st, LoopConfig(max_epochs=5), res, Clock(1e-9), tmp_path)
    assert why == "time" and st["epoch"] == 0


def test_resumed_fit_ends_where_an_uninterrupted_one_does(tmp_path):
    task, res = _setup(tmp_path / "straight")
    st = res.start(False)
    assert fit(task, st, LoopConfig(max_epochs=4), res, Clock(60), tmp_path) == "epochs"
    straight = ([h["valid_loss"] for h in st["history"]],
                {k: v.clone() for k, v in task.model.state_dict().items()})

    cut = tmp_path / "cut"
    task, res = _setup(cut)
    fit(task, res.start(False), LoopConfig(max_epochs=2), res, Clock(60), cut)
    task, res = _setup(cut)
    torch.randn(5), task.rng.normal(size=5)  # generators elsewhere: resume restores them
    st = res.start(True)
    assert st["epoch"] == 2
    assert fit(task, st, LoopConfig(max_epochs=4), res, Clock(60, st["elapsed_s"]), cut) == "epochs"
    assert [h["valid_loss"] for h in st["history"]] == straight[0]
    assert all(torch.equal(v, straight[1][k]) for k, v in task.model.state_dict().items())
