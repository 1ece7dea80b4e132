"""How dlzoo draws: a matplotlib ``Figure`` made without pyplot, rendered once to pixels
on an Agg canvas, and those pixels written as a PNG file.

Nothing here imports Lightning or torch, so a command that only draws (``dlzoo-runs
plot=``) stays light; matplotlib itself is imported when a figure is first made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

# pixels per inch of the written files: the figures' own (matplotlib's default, as
# TensorBoard shows them), small files that are quick to encode
DPI = 100


def new_figure(**kwargs: Any) -> Any:
    """An empty matplotlib ``Figure`` made without pyplot.

    Drawing it chooses no backend and switches none: a notebook keeps its inline
    plots, a desktop session opens no window, a worker thread touches no GUI, and no
    figure stays open in pyplot. (matplotlib is imported here: only runs that draw
    figures pay for it.)

    Args:
        kwargs: ``Figure``'s arguments, e.g. ``figsize=(6, 4)``.
    """
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def render(fig: Any) -> np.ndarray:
    """The figure's pixels, drawn once on an Agg canvas (no pyplot, no backend switch).

    Args:
        fig: a matplotlib ``Figure``.

    Shapes:
        -> (H, W, 3) uint8, RGB.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def write_png(pixels: np.ndarray, path: str | Path) -> Path:
    """Write RGB pixels as a PNG file (its folder made when missing).

    Args:
        pixels: (H, W, 3) uint8, as :func:`render` returns them.
        path: the file to write.

    Returns:
        The path written.
    """
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, dpi=(DPI, DPI))
    return path


def save_figure(fig: Any, path: str | Path) -> Path:
    """Render a matplotlib figure and write it as a PNG file.

    Args:
        fig: a matplotlib ``Figure``, drawn at its own size and :data:`DPI`.
        path: the file to write.

    Returns:
        The path written.
    """
    return write_png(render(fig), path)
