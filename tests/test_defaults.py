"""The CLI's flags and the app's controls start from one home, pianoplay.defaults."""

from __future__ import annotations

import pytest

from pianoplay import defaults
from pianoplay.cli import build_parser


def _defaults(*argv) -> dict:
    return vars(build_parser().parse_args([*argv, "--out", "x"]))


def test_generate_flags_start_at_the_defaults():
    args = _defaults("generate", "--checkpoint", "m")
    assert args["strategy"] == defaults.STRATEGY == "top-p"
    assert args["top_p"] == defaults.TOP_P == 0.9
    assert args["top_k"] == defaults.TOP_K
    assert args["beam_width"] == defaults.BEAM_WIDTH
    assert args["temperature"] is defaults.TEMPERATURE  # the checkpoint's own
    assert args["bars"] == defaults.BARS


@pytest.mark.parametrize("command", [("sample",), ("interpolate", "a.mid", "b.mid")])
def test_rendering_flags_start_at_the_defaults(command):
    args = _defaults(*command)
    assert args["tempo"] == defaults.TEMPO and args["program"] == defaults.PROGRAM
    if command[0] == "interpolate":
        assert args["steps"] == defaults.INTERPOLATION_STEPS


def test_generate_top_p_runs_without_a_top_p_flag(tmp_path):
    """`generate --strategy top-p` used to need --top-p (its default was 1)."""
    from pianoplay.commands.generate import check_flags

    args = build_parser().parse_args(["generate", "--checkpoint", "chord-lstm-nottingham",
                                      "--strategy", "top-p", "--out", str(tmp_path / "o")])
    check_flags(args)  # no error


def test_app_controls_start_at_the_defaults():
    import app
    from pianoplay.models.registry import Registry

    demo = app.build_app(Registry())
    blocks = list(demo.blocks.values())
    by_id = {b.elem_id: b for b in blocks if getattr(b, "elem_id", None)}
    by_label = {}
    for b in blocks:
        by_label.setdefault(getattr(b, "label", None), []).append(b)
    assert by_id["generate-top-p"].value == defaults.TOP_P
    assert by_id["generate-top-k"].value == defaults.TOP_K
    assert by_id["generate-beam-width"].value == defaults.BEAM_WIDTH
    assert by_id["tempo"].value == defaults.TEMPO
    assert by_id["sample-bars"].value == defaults.BARS
    assert {b.value for b in by_label["Bars"]} == {defaults.BARS}
    assert by_label["Steps (A and B included)"][0].value == defaults.INTERPOLATION_STEPS
    assert by_label["Count"][0].value == defaults.SAMPLES
