"""``figures/*.png``: the run's figures as image files, for a reader without TensorBoard.

The figure callbacks (:mod:`dlzoo.callbacks.figures` and its siblings) draw for the
best checkpoint's validation and for the test run; each figure they draw then is
rendered once, to pixels, and those pixels go both to TensorBoard and here. This
callback only keeps them: the pipeline calls :meth:`FigureFiles.write` once, after
scoring, so a run writes its PNGs at its end and never per epoch. A figure is named
after its tag without the stage (``test/confusion_matrix`` -> ``confusion_matrix.png``);
the test run's figure replaces the validation's, as the test split is the one
``metrics.json`` reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn

from dlzoo.callbacks.drawing import write_png

# the Trainer runs whose figures are kept: the pipeline's validation of the best
# checkpoint and its test run (never the epochs of fit)
_FINAL = (TrainerFn.VALIDATING, TrainerFn.TESTING)


class FigureFiles(Callback):
    """Keep the figures drawn for the best checkpoint; write them as ``DIR/<name>.png``.

    Args:
        dirpath: the folder of the PNG files, e.g. ``<run directory>/figures``.
    """

    def __init__(self, dirpath: str | Path) -> None:
        self.dirpath = Path(dirpath)
        self.pixels: dict[str, np.ndarray] = {}

    @staticmethod
    def drawn_for(trainer: Any) -> bool:
        """Whether the run keeps the figures drawn now (a final validation or a test
        run), the same answer on every rank: drawing may gather over the ranks (a
        confusion matrix's compute), so all of them draw, and rank zero keeps."""
        if trainer.state.fn not in _FINAL:
            return False
        return any(isinstance(c, FigureFiles) for c in trainer.callbacks)

    @staticmethod
    def of(trainer: Any) -> FigureFiles | None:
        """The run's ``FigureFiles`` when a figure drawn now is to be kept: a final
        validation or a test run, on rank zero (one process writes the files)."""
        if trainer.state.fn not in _FINAL or not trainer.is_global_zero:
            return None
        return next((c for c in trainer.callbacks if isinstance(c, FigureFiles)), None)

    def keep(self, tag: str, pixels: np.ndarray) -> None:
        """Keep a rendered figure under its tag's name (``val/graph`` -> ``graph``).

        Args:
            tag: ``stage/name``.
            pixels: (H, W, 3) uint8.
        """
        self.pixels[tag.rsplit("/", 1)[-1]] = pixels

    def write(self) -> list[Path]:
        """Write every kept figure as a PNG file, then forget them; return the paths."""
        paths = [write_png(p, self.dirpath / f"{name}.png") for name, p in self.pixels.items()]
        self.pixels.clear()
        return paths
