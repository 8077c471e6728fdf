"""Piano-roll pictures: drawn for the size they are shown at, bars in the piece's metre,
long pieces wrapped onto rows, and the time scale the page's playhead reads."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from pianoplay.audio.plot import (
    BAR_LINE,
    MARK,
    QUARTER,
    WIDE,
    Layout,
    bar_steps,
    note_name,
    roll_image,
    roll_png,
)
from pianoplay.music.roll import load_roll


def _scale(path) -> dict:
    with Image.open(path) as img:
        return json.loads(img.text["pianoplay"])


def _rgb(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"))


def test_roll_png_has_axes_and_a_time_scale(tmp_path):
    assert note_name(39) == "C4" and note_name(0) == "A0" and note_name(87) == "C8"
    roll = np.zeros((64, 88), np.uint8)
    roll[:, 39] = 1  # middle C, held for 8 bars of eighths
    png = roll_png(roll, tmp_path / "r.png", steps_per_bar=8, title="t", step_seconds=0.25)
    scale = _scale(png)
    (row,) = scale["rows"]  # 8 bars fill one row of the wide layout
    assert row["first"] == 0 and row["end"] == 64 and scale["steps"] == 64
    assert scale["step_seconds"] == 0.25
    with Image.open(png) as img:
        assert img.width == WIDE.width * WIDE.scale  # drawn for the width it is shown at
        assert row["left"] + 64 * scale["px_step"] <= img.width
        pixels = np.asarray(img.convert("L"))
    margin = pixels[row["top"]:row["bottom"], : row["left"] - 10]
    assert (margin < 200).any(), "no note names in the left margin"
    strip = pixels[row["bottom"]:, row["left"]:]
    assert (strip < 200).sum() > 8 * 20, "no bar numbers below the roll"
    column = pixels[row["top"]:row["bottom"], row["left"] + 4]
    assert (column < 150).any(), "the note starts at x = left"


def test_text_is_at_least_12_css_pixels(tmp_path):
    """Bar numbers are drawn ``font`` CSS pixels high at the layout's scale: digits' ink
    is about 0.7 of that, so >= 8 CSS px of ink means a >= 12 px font on screen."""
    for layout in (WIDE, QUARTER):
        assert layout.font >= 12
        roll = np.zeros((16, 88), np.uint8)
        roll[:, 39] = 1
        img, geo = roll_image(roll, 8, layout=layout)
        row = geo["rows"][0]
        strip = np.asarray(img.convert("L"))[row["bottom"]:, row["left"]:row["left"] + 40]
        ink = np.flatnonzero((strip < 180).any(1))
        assert (ink[-1] - ink[0] + 1) / layout.scale >= 8, layout


def test_six_eight_tune_is_drawn_in_six_eight_bars(data_dir, tmp_path):
    tune = load_roll(data_dir / "nottingham" / "test" / "jigs_simple_chords_11.mid")
    assert tune.time_signature == (6, 8) and tune.steps_per_bar == 6
    primer = 8 * tune.steps_per_bar  # "the first 8 bars"
    img, geo = roll_image(tune.roll, tune.steps_per_bar, layout=WIDE, bar_starts=tune.bar_starts,
                          marks={primer: "primer"})
    assert geo["bars"][:4] == [0, 6, 12, 18]
    # the primer ends where bar 9 starts: the first step of the second row (8 bars a row)
    second = geo["rows"][1]
    assert second["first"] == primer and second["bar"] == 8
    rgb = _rgb(img)
    x = second["left"]
    assert (rgb[second["top"]:second["bottom"], x] == MARK).all(axis=1).mean() > 0.9
    # a bar line 6 steps (one 6/8 bar) on, none 8 steps on (a 4/4 bar)
    first = geo["rows"][0]
    px = geo["px_step"]
    at = lambda t: rgb[first["top"]:first["bottom"], round(first["left"] + t * px)]  # noqa: E731
    assert (at(6) == BAR_LINE).all(axis=1).mean() > 0.3
    assert (at(8) == BAR_LINE).all(axis=1).mean() < 0.05


def test_bars_go_on_in_the_last_bar_length_and_a_pickup_is_not_numbered():
    assert bar_steps(20, 8, [0, 6, 12]) == ([0, 6, 12, 18], False)
    assert bar_steps(20, 8) == ([0, 8, 16], False)
    assert bar_steps(14, 6, [2, 8]) == ([0, 2, 8], True)


def test_a_long_piece_wraps_onto_rows_at_the_same_scale(tmp_path):
    rng = np.random.default_rng(0)
    short = (rng.random((16 * 8, 88)) > 0.97).astype(np.uint8)
    long = (rng.random((64 * 8, 88)) > 0.97).astype(np.uint8)
    a = _scale(roll_png(short, tmp_path / "a.png", 8, step_seconds=0.25))
    b = _scale(roll_png(long, tmp_path / "b.png", 8, step_seconds=0.25))
    assert len(a["rows"]) == 2 and len(b["rows"]) == 8
    assert a["px_step"] == b["px_step"]  # wrapped, not shrunk
    heights = {r["bottom"] - r["top"] for r in a["rows"] + b["rows"]}
    assert len(heights) == 1  # one row height, whatever the pitch range
    for row in b["rows"]:
        assert row["end"] - row["first"] == 64
    # the same number of rows gives the same picture, whatever the notes
    other = (rng.random((16 * 8, 88)) > 0.99).astype(np.uint8)
    with Image.open(roll_png(other, tmp_path / "c.png", 8)) as c:
        assert c.size == Image.open(tmp_path / "a.png").size


def test_four_samples_side_by_side_fit_a_1280_page():
    roll = np.zeros((16 * 8, 88), np.uint8)
    roll[::2, 40] = 1
    img, geo = roll_image(roll, 8, layout=QUARTER)
    assert 4 * img.width / QUARTER.scale <= 1280 - 4 * 16
    assert geo["px_step"] / QUARTER.scale >= 6  # an eighth note is >= 6 CSS px wide
    assert Layout().scale == 2  # drawn for high-density screens; others scale it down
