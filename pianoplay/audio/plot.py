"""Piano-roll pictures.

Drawn straight from the array with Pillow (a few milliseconds, which matters
for the app's latency) rather than through matplotlib.
"""

from __future__ import annotations

import json
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
AXIS_TEXT = (110, 105, 95)
WHITE = (255, 255, 255)
MARK = (196, 78, 36)  # a marked step (where a primer ends)
# Pictures are drawn in palette mode, one byte per pixel: a third of the bytes to
# compress, so writing the PNG (the slow part) takes about a third of the time.
COLOURS = (BACKGROUND, BLACK_KEY_ROW, BAR_LINE, NOTE, NOTE_EDGE, TEXT, AXIS_TEXT, WHITE, MARK)
INDEX = {colour: i for i, colour in enumerate(COLOURS)}
PALETTE = [channel for colour in COLOURS for channel in colour]
PNG_LEVEL = 1  # zlib level: ~2x faster than the default 6, files ~2x larger (still a few KB)
# Axes: note names (C1 ... C8) in a left margin, bar numbers in a strip below the roll.
# Step t of a roll starts at x = LEFT + t * px_step; the playhead script in assets/ reads
# this scale (and the seconds per step) from the PNG's "pianoplay" text chunk.
LEFT = 24
BOTTOM = 12
HEADER = 14  # title strip
PLAYHEAD_KEY = "pianoplay"


def _font():
    return ImageFont.load_default()


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


def roll_image(
    roll: np.ndarray,
    steps_per_bar: int = 8,
    keys: tuple[int, int] | None = None,
    px_step: int = 5,
    px_key: int = 5,
    title: str | None = None,
    marks: dict[int, str] | None = None,
) -> Image.Image:
    """Picture of one roll.

    Parameters
    ----------
    roll : np.ndarray
        (T, 88) frames, or (T, 88, 2) frames + onsets (onsets draw note starts).
    steps_per_bar : int
        Where to draw bar lines.
    keys : (lo, hi), optional
        Key-index range to show; default: the active range with a margin.
    marks : {step: label}, optional
        Steps to mark with a coloured line and a label (e.g. where a primer ends).

    Step ``t`` starts at x = ``LEFT + t * px_step``; the C of each octave is named in the
    left margin and each bar numbered below (every few bars where they are narrow).
    """
    roll = np.asarray(roll)
    frames = roll[..., 0] if roll.ndim == 3 else roll
    onsets = roll[..., 1] if roll.ndim == 3 else None
    lo, hi = keys or _pitch_window([frames])
    n_steps, n_keys = max(1, len(frames)), hi - lo
    header = HEADER if title else 0
    bottom = header + n_keys * px_key  # y of the strip of bar numbers
    img = _canvas((LEFT + n_steps * px_step + 1, bottom + BOTTOM), BACKGROUND)
    draw = ImageDraw.Draw(img)
    font = _font()
    if title:
        draw.text((3, 1), title, fill=INDEX[TEXT], font=font)
    for k in range(lo, hi):  # shade black-key rows like a keyboard, name each C
        y = header + (hi - 1 - k) * px_key
        pitch_class = (k + LOW_PITCH) % 12
        if pitch_class in (1, 3, 6, 8, 10):
            draw.rectangle([LEFT, y, img.width, y + px_key - 1], fill=INDEX[BLACK_KEY_ROW])
        elif pitch_class == 0:
            draw.line([LEFT - 3, y + px_key - 1, LEFT - 1, y + px_key - 1], fill=INDEX[AXIS_TEXT])
            draw.text(
                (LEFT - 4, y + px_key / 2),
                note_name(k),
                fill=INDEX[AXIS_TEXT],
                font=font,
                anchor="rm",
            )
    if steps_per_bar > 0:
        every = max(1, -(-16 // (steps_per_bar * px_step)))  # labels at least 16 px apart
        for bar, t in enumerate(range(0, n_steps + 1, steps_per_bar)):
            x = LEFT + t * px_step
            draw.line([x, header, x, bottom], fill=INDEX[BAR_LINE])
            if bar % every == 0 and t < n_steps:
                draw.text((x + 2, bottom + 1), str(bar + 1), fill=INDEX[AXIS_TEXT], font=font)
    held = frames[:, lo:hi] > 0  # (T, K)
    # a note starts where a key goes down, or where an onset restarts a held key
    starts = held & ~np.vstack([np.zeros((1, hi - lo), bool), held[:-1]])
    if onsets is not None:
        starts |= held & (onsets[:, lo:hi] > 0)
    ends = held & ~np.vstack([held[1:], np.zeros((1, hi - lo), bool)])
    for k in np.flatnonzero(held.any(0)):  # one rectangle per note
        y = header + (hi - lo - 1 - k) * px_key
        first = np.flatnonzero(starts[:, k])
        # each note lasts until the key's next start or release, whichever comes first
        stops = np.flatnonzero(ends[:, k] | np.append(starts[1:, k], False)) + 1
        for start, stop in zip(first, stops[np.searchsorted(stops, first, side="right")]):
            draw.rectangle(
                [LEFT + start * px_step, y, LEFT + stop * px_step - 1, y + px_key - 1],
                fill=INDEX[NOTE],
                outline=INDEX[NOTE_EDGE],
            )
    for t, label in (marks or {}).items():
        x = LEFT + int(t) * px_step
        draw.line([x, header, x, bottom], fill=INDEX[MARK], width=2)
        draw.text((x + 3, header + 1), label, fill=INDEX[MARK], font=font)
    return img


def roll_png(
    roll: np.ndarray,
    path: str | Path,
    steps_per_bar: int = 8,
    title: str | None = None,
    step_seconds: float | None = None,
    px_step: int = 5,
    marks: dict[int, str] | None = None,
) -> Path:
    """Save :func:`roll_image` of ``roll`` as a PNG.

    With ``step_seconds`` (the audio's seconds per roll step) the PNG carries a text
    chunk ``pianoplay`` = JSON ``{"left", "px_step", "steps", "step_seconds", "top",
    "bottom"}``: where step 0 starts, pixels per step, and the roll's rows, so the page
    can draw a playhead at ``left + (seconds / step_seconds) * px_step``.
    """
    path = Path(path)
    img = roll_image(roll, steps_per_bar, px_step=px_step, title=title, marks=marks)
    info = None
    if step_seconds is not None:
        info = PngInfo()
        scale = {
            "left": LEFT,
            "px_step": px_step,
            "steps": max(1, len(roll)),
            "step_seconds": step_seconds,
            "top": HEADER if title else 0,
            "bottom": img.height - BOTTOM,
        }
        info.add_text(PLAYHEAD_KEY, json.dumps(scale))
    img.save(path, compress_level=PNG_LEVEL, pnginfo=info)
    return path


def roll_grid_png(
    rolls: list[np.ndarray],
    path: str | Path,
    titles: list[str] | None = None,
    steps_per_bar: int = 8,
    columns: int = 2,
) -> Path:
    """Several rolls in a grid with a shared pitch range (e.g. interpolation steps)."""
    frames = [np.asarray(r)[..., 0] if np.asarray(r).ndim == 3 else np.asarray(r) for r in rolls]
    keys = _pitch_window(frames)
    titles = titles or [None] * len(rolls)
    images = [
        roll_image(r, steps_per_bar, keys, px_step=3, px_key=3, title=t)
        for r, t in zip(rolls, titles)
    ]
    columns = max(1, min(columns, len(images)))
    width = max(im.width for im in images)
    height = max(im.height for im in images)
    rows = -(-len(images) // columns)
    gap = 6
    grid = _canvas((columns * width + (columns - 1) * gap, rows * height + (rows - 1) * gap), WHITE)
    for i, im in enumerate(images):
        grid.paste(im, ((i % columns) * (width + gap), (i // columns) * (height + gap)))
    path = Path(path)
    grid.save(path, compress_level=PNG_LEVEL)
    return path
