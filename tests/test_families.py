"""Model families declare themselves, and every shipped checkpoint x every subcommand that
takes ``--checkpoint`` runs or refuses in one line (exit 2), never a traceback."""

from __future__ import annotations

import pkgutil

import pytest

import pianoplay.models as models_package
from pianoplay.cli import main
from pianoplay.models.families import all_families, family_of, load_object
from pianoplay.models.registry import Registry
from pianoplay.models.spec import FamilySpec
from pianoplay.paths import ASSETS_DIR, data_dir
from pianoplay.ui.tabs import TABS

SHIPPED = Registry(device="cpu").names()
COMMANDS = ("sample", "generate", "interpolate", "evaluate")


def test_every_shipped_checkpoint_matches_exactly_one_family():
    from pianoplay.models.checkpoint import read_config

    assert SHIPPED
    for name in SHIPPED:
        config = read_config(Registry(device="cpu").info(name).path)
        matched = [spec.name for spec in all_families() if spec.matches(config)]
        assert len(matched) == 1, (name, matched)
        assert family_of(config).name == matched[0]


def test_declarations_name_what_exists():
    tabs = {tab.TAB for tab in TABS if tab.TAB is not None}
    names = [spec.name for spec in all_families()]
    assert len(names) == len(set(names)) and {"music-vae", "segment-vae", "chord-lstm",
                                              "roll-lstm"} <= set(names)
    for spec in all_families():
        assert isinstance(spec, FamilySpec)
        assert callable(getattr(load_object(spec.inference), "from_checkpoint"))
        if spec.evaluator:
            assert callable(load_object(spec.evaluator))
        else:
            assert spec.no_evaluator.strip()
        if spec.trainer:
            assert callable(load_object(f"{spec.trainer}:add_train_parser"))
        for tab in (*spec.tabs, *spec.refuses):
            assert tab in tabs, f"{spec.name} names an unknown tab {tab!r}"


def test_a_family_is_a_folder():
    """Every package under pianoplay/models/ either declares families or is shared code."""
    shared = {"latent"}  # latent-space tools of the VAE families
    for module in pkgutil.iter_modules(models_package.__path__):
        if not module.ispkg or module.name in shared:
            continue
        package = __import__(f"pianoplay.models.{module.name}", fromlist=["_"])
        if not (hasattr(package, "FAMILY") or hasattr(package, "FAMILIES")):
            pytest.skip(f"pianoplay/models/{module.name} declares no family yet")


def test_an_unknown_config_is_refused_in_one_line(tmp_path):
    from pianoplay.errors import CheckpointError

    with pytest.raises(CheckpointError, match="no model family recognises family 'gpt'"):
        family_of({"family": "gpt", "model": {}})


def args_for(command: str, name: str, out) -> list[str]:
    tunes = sorted(ASSETS_DIR.glob("*.mid"))
    common = ["--checkpoint", name]
    if command == "sample":
        return [command, *common, "-n", "1", "--bars", "2", "--seed", "1", "--no-audio",
                "--out", str(out)]
    if command == "generate":
        return [command, *common, "-n", "1", "--bars", "2", "--seed", "1",
                "--strategy", "sample", "--no-audio", "--out", str(out)]
    if command == "interpolate":
        return [command, str(tunes[0]), str(tunes[1]), *common, "--steps", "2", "--seed", "1",
                "--no-audio", "--out", str(out)]
    return [command, *common, "--data", str(data_dir() / "nottingham"), "--split", "test",
            "--limit", "2", "--json"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", SHIPPED)
def test_every_checkpoint_runs_or_refuses_in_one_line(name, command, tmp_path, capsys):
    code = main(args_for(command, name, tmp_path / "out"))
    err = capsys.readouterr().err
    if code == 0:
        return
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"pianoplay {command}: error: "), err
    tab = command if command != "evaluate" else None
    info = Registry(device="cpu").info(name)
    if tab is not None:  # the app refuses it too, with the same sentence
        assert tab not in info.tabs and info.refusal(tab) in lines[0]
