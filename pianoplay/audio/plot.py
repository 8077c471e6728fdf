"""Piano-roll pictures, drawn for the size they are shown at.

Drawn straight from the array with Pillow (a few milliseconds, which matters
for the app's latency) rather than through matplotlib.

A :class:`Layout` says how wide the picture is shown (CSS pixels), how tall one
row of the roll is, and how many device pixels a CSS pixel has (2 for a
high-density screen; a normal one scales the picture down smoothly). Bars wrap
onto further rows, so a long piece makes a taller picture at the same scale
rather than a thinner strip, and every roll of a tab with the same number of
rows has the same height.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

LOW_PITCH = 21
BACKGROUND = (250, 248, 243)
BLACK_KEY_ROW = (236, 233, 225)
BAR_LINE = (170, 165, 155)
NOTE = (46, 92, 156)
NOTE_EDGE = (20, 50, 100)
TEXT = (40, 40, 40)
AXIS_TEXT = (100, 95, 85)
WHITE = (255, 255, 255)
MARK = (196, 78, 36)  # a marked step (where a primer ends)
# Pictures are drawn in palette mode, one byte per pixel: a third of the bytes to
# compress, so writing the PNG (the slow part) takes about a third of the time.
COLOURS = (BACKGROUND, BLACK_KEY_ROW, BAR_LINE, NOTE, NOTE_EDGE, TEXT, AXIS_TEXT, WHITE, MARK)
INDEX = {colour: i for i, colour in enumerate(COLOURS)}
PALETTE = [channel for colour in COLOURS for channel in colour]
PNG_LEVEL = 1  # zlib level: ~2x faster than the default 6, files ~2x larger
PLAYHEAD_KEY = "pianoplay"


@dataclass(frozen=True)
class Layout:
    """Sizes in CSS pixels (what the reader sees); the picture has ``scale`` times as many.

    ``width`` is the width the picture is shown at; ``row_height`` the height of one
    row of keys; ``bars_per_row`` how many bars of the piece's first bar length
    fill a row. Text is ``font`` CSS pixels high (12 or more stays readable).
    """

    width: int = 1180
    row_height: int = 190
    bars_per_row: int = 8
    scale: int = 2
    font: int = 13
    left: int = 34  # margin for the note names
    header: int = 20  # title strip (only when there is a title)
    bottom: int = 18  # bar numbers under each row
    gap: int = 6  # between rows


# One layout per place a roll is shown, so every roll of a tab has the same height.
WIDE = Layout()  # one roll across the page
QUARTER = Layout(width=290, row_height=120, bars_per_row=4)  # four samples side by side
HALF = Layout(width=580, row_height=110, bars_per_row=8)  # two side by side (steps, comparisons)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _canvas(size: tuple[int, int], colour: tuple[int, int, int]) -> Image.Image:
    img = Image.new("P", size, INDEX[colour])
    img.putpalette(PALETTE)
    return img


def note_name(key: int) -> str:
    """Key index (0 = A0) -> name with octave, "C4" for middle C."""
    pitch = key + LOW_PITCH
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    return f"{names[pitch % 12]}{pitch // 12 - 1}"


def _pitch_window(rolls: list[np.ndarray], min_span: int = 25) -> tuple[int, int]:
    """Key-index range [lo, hi) covering every active key with a margin."""
    active = np.flatnonzero(
        np.any([np.asarray(r).reshape(len(r), -1)[:, :88].any(0) for r in rolls], axis=0)
    )
    if active.size == 0:
        return 27, 27 + min_span  # around middle C
    lo, hi = int(active[0]) - 2, int(active[-1]) + 3
    if hi - lo < min_span:
        pad = (min_span - (hi - lo)) // 2
        lo, hi = lo - pad, hi + (min_span - (hi - lo) - pad)
    lo, hi = max(0, lo), min(88, hi)
    return lo, hi


def bar_steps(n_steps: int, steps_per_bar: int,
              bar_starts: list[int] | None = None) -> tuple[list[int], bool]:
    """Start step of every bar before ``n_steps``, and whether the first is a pickup.

    The piece's ``bar_starts`` first, then on in the length of its last bar (or
    ``steps_per_bar``) for the bars a model went on with. Steps before the first bar
    line make a pickup bar, drawn but not numbered.
    """
    starts = sorted({int(t) for t in (bar_starts or []) if 0 <= t < n_steps})
    step = starts[-1] - starts[-2] if len(starts) > 1 else max(1, int(steps_per_bar))
    pickup = bool(starts) and starts[0] > 0
    if not starts or pickup:
        starts.insert(0, 0)
    following = starts[-1] + step
    while following < n_steps:
        starts.append(following)
        following += step
    return starts, pickup


def _rows(bars: list[int], n_steps: int, steps_per_row: int) -> list[tuple[int, int, int]]:
    """(first step, end step, first bar index) of each row: whole bars, at most
    ``steps_per_row`` steps a row (a longer bar gets a row of its own)."""
    ends = bars[1:] + [n_steps]
    rows, first, first_bar = [], 0, 0
    for i, end in enumerate(ends):
        if end - first > steps_per_row and i > first_bar:
            rows.append((first, bars[i], first_bar))
            first, first_bar = bars[i], i
    rows.append((first, n_steps, first_bar))
    return rows


def _spans(frames: np.ndarray, onsets: np.ndarray | None):
    """(key, start, stop) of every note in a (T, K) roll."""
    held = frames > 0
    # a note starts where a key goes down, or where an onset restarts a held key
    starts = held & ~np.vstack([np.zeros((1, held.shape[1]), bool), held[:-1]])
    if onsets is not None:
        starts |= held & (onsets > 0)
    ends = held & ~np.vstack([held[1:], np.zeros((1, held.shape[1]), bool)])
    for k in np.flatnonzero(held.any(0)):
        first = np.flatnonzero(starts[:, k])
        # each note lasts until the key's next start or release, whichever comes first
        stops = np.flatnonzero(ends[:, k] | np.append(starts[1:, k], False)) + 1
        for start, stop in zip(first, stops[np.searchsorted(stops, first, side="right")]):
            yield int(k), int(start), int(stop)


def roll_layout(
    roll: np.ndarray,
    steps_per_bar: int = 8,
    layout: Layout = WIDE,
    bar_starts: list[int] | None = None,
    title: str | None = None,
) -> dict:
    """Where everything of :func:`roll_image` goes, in picture pixels: the playhead scale.

    ``{"px_step", "steps", "rows": [{"first", "end", "left", "top", "bottom"}], ...}``:
    step ``t`` of the row with ``first <= t < end`` starts at
    ``x = left + (t - first) * px_step`` between ``top`` and ``bottom``.
    """
    n_steps = max(1, len(roll))
    s = layout.scale
    bars, pickup = bar_steps(n_steps, steps_per_bar, bar_starts)
    lengths = np.diff(bars[1:] if pickup else bars)
    bar_len = int(np.median(lengths)) if len(lengths) else max(1, steps_per_bar)
    steps_per_row = max(1, layout.bars_per_row * max(1, bar_len))
    left = layout.left * s
    px_step = (layout.width * s - left - 2 * s) / steps_per_row
    top = layout.header * s if title else 0
    rows = []
    for first, end, first_bar in _rows(bars, n_steps, steps_per_row):
        height = layout.row_height * s
        rows.append({"first": first, "end": end, "bar": first_bar, "left": left,
                     "top": top, "bottom": top + height})
        top += height + (layout.bottom + layout.gap) * s
    return {"px_step": px_step, "steps": n_steps, "rows": rows, "bars": bars, "pickup": pickup,
            "width": layout.width * s, "height": top - layout.gap * s}


def roll_image(
    roll: np.ndarray,
    steps_per_bar: int = 8,
    keys: tuple[int, int] | None = None,
    layout: Layout = WIDE,
    title: str | None = None,
    marks: dict[int, str] | None = None,
    bar_starts: list[int] | None = None,
) -> tuple[Image.Image, dict]:
    """Picture of one roll, and its :func:`roll_layout`.

    Parameters
    ----------
    roll : np.ndarray
        (T, 88) frames, or (T, 88, 2) frames + onsets (onsets draw note starts).
    steps_per_bar : int
        Bar length in steps where ``bar_starts`` does not say (and after its last bar).
    keys : (lo, hi), optional
        Key-index range to show; default: the active range with a margin.
    layout : Layout
        The size the picture is shown at.
    marks : {step: label}, optional
        Steps to mark with a coloured line and a label (e.g. where a primer ends).
    bar_starts : list of int, optional
        The piece's own bars (``LoadedRoll.bar_starts``): 6/8 bars for a 6/8 tune.

    The C of each octave is named in the left margin and each bar numbered below.
    """
    roll = np.asarray(roll)
    frames = roll[..., 0] if roll.ndim == 3 else roll
    onsets = roll[..., 1] if roll.ndim == 3 else None
    lo, hi = keys or _pitch_window([frames])
    geo = roll_layout(frames, steps_per_bar, layout, bar_starts, title)
    s = layout.scale
    img = _canvas((geo["width"], geo["height"]), BACKGROUND)
    draw = ImageDraw.Draw(img)
    font = _font(layout.font * s)
    if title:
        draw.text((4 * s, layout.header * s // 2), title, fill=INDEX[TEXT], font=font, anchor="lm")
    spans = list(_spans(frames[:, lo:hi], None if onsets is None else onsets[:, lo:hi]))
    for row in geo["rows"]:
        _draw_row(draw, row, geo, (lo, hi), spans, marks or {}, font, s)
    return img, geo


def _draw_row(draw, row: dict, geo: dict, keys: tuple[int, int], spans, marks, font, s):
    """One row of a roll picture: keyboard shading, note names, bars, notes, marks."""
    lo, hi = keys
    px, n_steps = geo["px_step"], geo["steps"]
    x0, top, bottom, first, end = (row[k] for k in ("left", "top", "bottom", "first", "end"))
    px_key = (bottom - top) / (hi - lo)

    def x_of(t: int) -> int:
        return round(x0 + (t - first) * px)

    def y_of(k: int) -> float:
        return top + (hi - lo - 1 - k) * px_key

    for k in range(hi - lo):  # shade black-key rows like a keyboard, name each C
        pitch_class = (k + lo + LOW_PITCH) % 12
        y = y_of(k)
        if pitch_class in (1, 3, 6, 8, 10):
            draw.rectangle([x0, round(y), x_of(end), round(y + px_key) - 1],
                           fill=INDEX[BLACK_KEY_ROW])
        elif pitch_class == 0:
            yb = round(y + px_key) - 1
            draw.line([x0 - 4 * s, yb, x0 - 1, yb], fill=INDEX[AXIS_TEXT], width=s)
            draw.text((x0 - 5 * s, y + px_key / 2), note_name(k + lo), fill=INDEX[AXIS_TEXT],
                      font=font, anchor="rm")
    for i, t in enumerate(geo["bars"] + [n_steps]):
        if first <= t <= end:
            draw.line([x_of(t), top, x_of(t), bottom], fill=INDEX[BAR_LINE], width=s)
            number = i + 1 - geo["pickup"]
            if t < end and number > 0:
                draw.text((x_of(t) + 3 * s, bottom + 2 * s), str(number),
                          fill=INDEX[AXIS_TEXT], font=font, anchor="lt")
    for k, start, stop in spans:  # one rectangle per note, cut at the row's ends
        a, b = max(start, first), min(stop, end)
        if a < b:
            y = round(y_of(k))
            y_end = max(y + 1, round(y_of(k) + px_key) - 1)
            draw.rectangle([x_of(a), y, max(x_of(a) + s, x_of(b) - 1), y_end],
                           fill=INDEX[NOTE], outline=INDEX[NOTE_EDGE])
    for t, label in marks.items():
        t = int(t)
        if first <= t < end or t == end == n_steps:
            draw.line([x_of(t), top, x_of(t), bottom], fill=INDEX[MARK], width=2 * s)
            draw.text((x_of(t) + 4 * s, top + 2 * s), label, fill=INDEX[MARK], font=font,
                      anchor="lt")


def _scale_chunk(geo: dict, step_seconds: float) -> PngInfo:
    rows = [{k: row[k] for k in ("first", "end", "left", "top", "bottom")} for row in geo["rows"]]
    first = rows[0]
    scale = {"px_step": geo["px_step"], "steps": geo["steps"], "step_seconds": step_seconds,
             "rows": rows, "left": first["left"], "top": first["top"],
             "bottom": first["bottom"]}
    info = PngInfo()
    info.add_text(PLAYHEAD_KEY, json.dumps(scale))
    return info


def roll_png(
    roll: np.ndarray,
    path: str | Path,
    steps_per_bar: int = 8,
    title: str | None = None,
    step_seconds: float | None = None,
    layout: Layout = WIDE,
    marks: dict[int, str] | None = None,
    bar_starts: list[int] | None = None,
) -> Path:
    """Save :func:`roll_image` of ``roll`` as a PNG.

    With ``step_seconds`` (the audio's seconds per roll step) the PNG carries a text
    chunk ``pianoplay`` = JSON ``{"px_step", "steps", "step_seconds", "rows": [{"first",
    "end", "left", "top", "bottom"}], "left", "top", "bottom"}`` (the last three: the
    first row's), so the page can draw a playhead at ``row.left + (seconds /
    step_seconds - row.first) * px_step`` in the row that holds that step.
    """
    path = Path(path)
    img, geo = roll_image(roll, steps_per_bar, layout=layout, title=title, marks=marks,
                          bar_starts=bar_starts)
    info = None if step_seconds is None else _scale_chunk(geo, step_seconds)
    img.save(path, compress_level=PNG_LEVEL, pnginfo=info)
    return path


def roll_grid_png(
    rolls: list[np.ndarray],
    path: str | Path,
    titles: list[str] | None = None,
    steps_per_bar: int | list[int] = 8,
    columns: int = 2,
    layout: Layout = HALF,
) -> Path:
    """Several rolls in a grid with a shared pitch range (e.g. interpolation steps);
    ``steps_per_bar`` one bar length for all, or one per roll (each piece's own metre)."""
    frames = [np.asarray(r)[..., 0] if np.asarray(r).ndim == 3 else np.asarray(r) for r in rolls]
    keys = _pitch_window(frames)
    titles = titles or [None] * len(rolls)
    bars = steps_per_bar if isinstance(steps_per_bar, list) else [steps_per_bar] * len(rolls)
    images = [roll_image(r, b, keys, layout=layout, title=t)[0]
              for r, b, t in zip(rolls, bars, titles)]
    columns = max(1, min(columns, len(images)))
    width = max(im.width for im in images)
    height = max(im.height for im in images)
    rows = -(-len(images) // columns)
    gap = layout.gap * layout.scale
    grid = _canvas((columns * width + (columns - 1) * gap, rows * height + (rows - 1) * gap), WHITE)
    for i, im in enumerate(images):
        grid.paste(im, ((i % columns) * (width + gap), (i // columns) * (height + gap)))
    path = Path(path)
    grid.save(path, compress_level=PNG_LEVEL)
    return path
