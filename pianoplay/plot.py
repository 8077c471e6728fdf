"""Piano-roll pictures.

Drawn straight from the array with Pillow (a few milliseconds, which matters
for the app's latency) rather than through matplotlib.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

LOW_PITCH = 21
BACKGROUND = (250, 248, 243)
BLACK_KEY_ROW = (236, 233, 225)
BAR_LINE = (170, 165, 155)
NOTE = (46, 92, 156)
NOTE_EDGE = (20, 50, 100)
TEXT = (40, 40, 40)
PNG_LEVEL = 1  # zlib level: ~2x faster than the default 6, files ~2x larger (still a few KB)


def _pitch_window(rolls: list[np.ndarray], min_span: int = 25) -> tuple[int, int]:
    """Key-index range [lo, hi) covering every active key with a margin."""
    active = np.flatnonzero(np.any([np.asarray(r).reshape(len(r), -1)[:, :88].any(0) for r in rolls], axis=0))
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
    """
    roll = np.asarray(roll)
    frames = roll[..., 0] if roll.ndim == 3 else roll
    onsets = roll[..., 1] if roll.ndim == 3 else None
    lo, hi = keys or _pitch_window([frames])
    n_steps, n_keys = max(1, len(frames)), hi - lo
    header = 14 if title else 0
    img = Image.new("RGB", (n_steps * px_step, n_keys * px_key + header), BACKGROUND)
    draw = ImageDraw.Draw(img)
    if title:
        draw.text((3, 1), title, fill=TEXT)
    for k in range(lo, hi):  # shade black-key rows like a keyboard
        if (k + LOW_PITCH) % 12 in (1, 3, 6, 8, 10):
            y = header + (hi - 1 - k) * px_key
            draw.rectangle([0, y, img.width, y + px_key - 1], fill=BLACK_KEY_ROW)
    if steps_per_bar > 0:
        for t in range(0, n_steps + 1, steps_per_bar):
            draw.line([t * px_step, header, t * px_step, img.height], fill=BAR_LINE)
    for k in range(lo, hi):
        y = header + (hi - 1 - k) * px_key
        column = frames[:, k] > 0
        t = 0
        while t < len(column):  # one rectangle per held note
            if not column[t]:
                t += 1
                continue
            start = t
            t += 1
            while t < len(column) and column[t] and not (onsets is not None and onsets[t, k]):
                t += 1
            draw.rectangle([start * px_step, y, t * px_step - 1, y + px_key - 1], fill=NOTE, outline=NOTE_EDGE)
    return img


def roll_png(roll: np.ndarray, path: str | Path, steps_per_bar: int = 8, title: str | None = None) -> Path:
    """Save :func:`roll_image` of ``roll`` as a PNG."""
    path = Path(path)
    roll_image(roll, steps_per_bar, title=title).save(path, compress_level=PNG_LEVEL)
    return path


def roll_grid_png(
    rolls: list[np.ndarray], path: str | Path, titles: list[str] | None = None,
    steps_per_bar: int = 8, columns: int = 2,
) -> Path:
    """Several rolls in a grid with a shared pitch range (e.g. interpolation steps)."""
    frames = [np.asarray(r)[..., 0] if np.asarray(r).ndim == 3 else np.asarray(r) for r in rolls]
    keys = _pitch_window(frames)
    titles = titles or [None] * len(rolls)
    images = [roll_image(r, steps_per_bar, keys, px_step=3, px_key=3, title=t) for r, t in zip(rolls, titles)]
    columns = max(1, min(columns, len(images)))
    width = max(im.width for im in images)
    height = max(im.height for im in images)
    rows = -(-len(images) // columns)
    gap = 6
    grid = Image.new("RGB", (columns * width + (columns - 1) * gap, rows * height + (rows - 1) * gap), (255, 255, 255))
    for i, im in enumerate(images):
        grid.paste(im, ((i % columns) * (width + gap), (i // columns) * (height + gap)))
    path = Path(path)
    grid.save(path, compress_level=PNG_LEVEL)
    return path
