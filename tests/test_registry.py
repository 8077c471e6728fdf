"""Checkpoint folders and the registry: discovery, safety, clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from pianoplay.cli import main as cli_main
from pianoplay.errors import CheckpointError
from pianoplay.models.checkpoint import load_checkpoint, save_checkpoint
from pianoplay.models.registry import Registry
from pianoplay.paths import CHECKPOINTS_DIR


def make_folder(root, name="tiny", family="chord-lstm"):
    state = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    state["tied"] = state["w"]  # shared storage must still save
    return save_checkpoint(root / name, {"name": name, "family": family, "model": {"d": 3},
                                         "metrics": {"nll_per_frame": 1.5}},
                           state, extra_json={"vocab.json": {"frames": [[60]]}})


def test_checkpoint_round_trip(tmp_path):
    folder = make_folder(tmp_path)
    config, state, extras = load_checkpoint(folder)
    assert config["family"] == "chord-lstm" and config["files"] == {"vocab": "vocab.json"}
    assert torch.equal(state["w"], state["tied"]) and state["w"].shape == (2, 3)
    assert extras["vocab"] == {"frames": [[60]]}


def test_pickled_weights_are_refused(tmp_path):
    folder = tmp_path / "evil"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"family": "vae", "model": {}}))
    torch.save({"w": torch.zeros(1)}, folder / "model.pt")
    with pytest.raises(CheckpointError, match="pickled weights are never loaded"):
        load_checkpoint(folder)
    assert Registry(tmp_path, device="cpu").list() == []  # not offered either


def test_non_json_extra_file_is_refused(tmp_path):
    folder = make_folder(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["files"]["vocab"] = "vocab.pkl"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="only JSON"):
        load_checkpoint(folder)


def test_registry_discovers_folders_and_names_unknown_ones(tmp_path):
    make_folder(tmp_path, "a")
    make_folder(tmp_path, "b", family="vae")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    (tmp_path / "strange").mkdir()
    (tmp_path / "strange" / "config.json").write_text(json.dumps({"family": "gpt", "model": {}}))
    registry = Registry(tmp_path, device="cpu")
    assert registry.names() == ["a", "b"]
    assert registry.names("music-vae") == ["b"]
    assert registry.info("a").metrics == {"nll_per_frame": 1.5}
    with pytest.raises(CheckpointError, match="unknown checkpoint 'nope'; available: a, b"):
        registry.load("nope")


def test_unknown_device_is_a_clear_error():
    from pianoplay.errors import PianoplayError

    with pytest.raises(PianoplayError, match="not a torch device"):
        Registry(device="tpu-please")


def test_shipped_checkpoints_are_complete_and_small():
    infos = Registry(device="cpu").list()
    assert {i.family for i in infos} >= {"music-vae", "segment-vae", "chord-lstm", "roll-lstm"}
    for info in infos:
        files = list(info.path.iterdir())
        assert all(f.stat().st_size < 25_000_000 for f in files), info.name
        assert not any(f.suffix in (".pt", ".pth", ".pkl", ".ckpt") for f in files), info.name
        assert (info.path / "README.md").is_file(), f"{info.name} has no model card"
        assert info.metrics, f"{info.name} reports no metrics"
        assert info.config.get("training", {}).get("command"), f"{info.name}: no training command"
    assert CHECKPOINTS_DIR.is_dir()


def test_cli_lists_checkpoints_and_rejects_unknown(capsys):
    assert cli_main(["checkpoints"]) == 0
    assert "vae-nottingham" in capsys.readouterr().out
    code = cli_main(["evaluate", "--checkpoint", "no-such-model", "--data",
                     "x.mat", "--split", "test"])
    assert code == 2
    assert "unknown checkpoint 'no-such-model'" in capsys.readouterr().err
