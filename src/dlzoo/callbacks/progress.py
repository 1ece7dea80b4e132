"""A progress bar that prints one line per epoch.

Lightning's default bars redraw on every batch; on a small model that redraw costs a
noticeable share of the step time, and in a log file it leaves a wall of carriage
returns. This bar prints each finished epoch's metrics as one line, and the test
metrics once.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks.progress.progress_bar import ProgressBar

_progress = logging.getLogger("dlzoo.progress")


def say(line: str) -> None:
    """One line for the user: to the ``dlzoo.progress`` logger where one is set up (a
    Hydra run sends it to the console and the run's log file), else to stdout."""
    if _progress.handlers:
        _progress.info(line)
    else:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def format_metrics(metrics: dict[str, Any]) -> str:
    """``name value`` pairs, sorted, 4 significant digits."""
    parts = []
    for name in sorted(metrics):
        value = metrics[name]
        value = value.item() if hasattr(value, "item") else value
        parts.append(f"{name} {value:.4g}" if isinstance(value, float) else f"{name} {value}")
    return "  ".join(parts)


class EpochProgressBar(ProgressBar):
    """One line per epoch: ``epoch 3/30  train/loss ...  val/acc ...  (0.9s)``.

    The task logs its training metrics at the very end of an epoch, after the
    progress-bar hooks of that epoch ran, so each line is printed when the next epoch
    starts (and when fit ends).
    """

    def __init__(self) -> None:
        super().__init__()
        self._enabled = True
        self._epoch_start = 0.0
        self._pending: int | None = None

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def _write(self, line: str) -> None:
        if self._enabled:
            say(line)

    def _flush_epoch(self, trainer: L.Trainer) -> None:
        if self._pending is None:
            return
        metrics = {
            k: v for k, v in trainer.callback_metrics.items() if k.startswith(("train/", "val/"))
        }
        seconds = time.perf_counter() - self._epoch_start
        total = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else "?"
        self._write(
            f"epoch {self._pending + 1}/{total}  {format_metrics(metrics)}  ({seconds:.1f}s)"
        )
        self._pending = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flush_epoch(trainer)
        self._epoch_start = time.perf_counter()
        self._pending = trainer.current_epoch

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flush_epoch(trainer)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._pending = None

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metrics = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("test/")}
        self._write(f"test  {format_metrics(metrics)}")
