"""The 2-D map of a VAE's latent space with the current point marked.

The scatter of the training encodings (``LatentAxes.map_xy``) is drawn once
per checkpoint with matplotlib; each slider move only pastes a marker onto a
copy of that picture with Pillow, which takes milliseconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from pianoplay.audio.plot import PNG_LEVEL

MARKER = (214, 39, 40)


class LatentMap:
    """The map background of one ``LatentAxes`` and where its data points land in pixels."""

    def __init__(self, axes, colour_by: str = "note_density", size_px: int = 300) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.axes = axes
        xy = np.asarray(axes.map_xy, dtype=float).reshape(-1, 2)
        fig = Figure(figsize=(size_px / 100, size_px / 100), dpi=100)
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_axes((0.14, 0.13, 0.82, 0.83))
        values = axes.map_values.get(colour_by)
        colour = values if values is not None and len(values) == len(xy) else "#4c72b0"
        ax.scatter(xy[:, 0], xy[:, 1], c=colour, s=3, alpha=0.5, cmap="viridis", linewidths=0)
        lim = float(np.nanmax(np.abs(xy))) * 1.05 if len(xy) else 3.0
        lim = max(lim, 3.0)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_xlabel("latent axis 1 (std)", fontsize=8)
        ax.set_ylabel("latent axis 2 (std)", fontsize=8)
        ax.tick_params(labelsize=7)
        canvas.draw()
        self.base = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())
        self._to_px = ax.transData.transform
        x0, y0, x1, y1 = ax.bbox.extents
        self._box = (x0, self.base.height - y1, x1, self.base.height - y0)

    def pixel(self, xy: np.ndarray) -> tuple[float, float]:
        """Pixel position of a 2-D map point, clamped to the plot area."""
        x, y = self._to_px(np.asarray(xy, dtype=float).reshape(1, 2))[0]
        y = self.base.height - y
        left, top, right, bottom = self._box
        return float(np.clip(x, left, right)), float(np.clip(y, top, bottom))

    def png(self, z: np.ndarray, path: str | Path) -> Path:
        """Save the map with ``z`` (D,) marked as a red dot."""
        x, y = self.pixel(self.axes.project(z))
        img = self.base.copy()
        draw = ImageDraw.Draw(img)
        draw.ellipse([x - 6, y - 6, x + 6, y + 6], fill=MARKER, outline=(255, 255, 255), width=2)
        path = Path(path)
        img.save(path, compress_level=PNG_LEVEL)
        return path
