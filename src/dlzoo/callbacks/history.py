"""``history.csv``: every epoch-level metric of a run, one row per training epoch.

TensorBoard's event files hold the same curves, but reading them back needs
TensorBoard's reader; a CSV opens in pandas, a spreadsheet or ``csv``. The columns are
``epoch`` (1-based, as the progress lines count), ``step`` (optimizer steps so far),
``lr`` (the first optimizer's learning rate at the epoch's start), ``seconds`` (the
epoch's wall time, validation included), then every metric the task logged for the
epoch, sorted (``train/loss``, ``val/acc``, ...). An epoch without a validation leaves
its ``val/`` cells empty (and its ``epoch_test/`` ones, where the test split is scored
every epoch: :mod:`dlzoo.callbacks.epoch_test`).

The task logs its training metrics in its own ``on_train_epoch_end``, which Lightning
calls after the callbacks' one, so an epoch's row is written when the next epoch starts
and, for the last epoch, when training ends. Only whole epochs get a row: a run stopped
by a signal in the middle of one writes none for it.

Resumed (``resume=true`` or ``ckpt_path=``), a run keeps the rows of the epochs its
checkpoint had finished and drops any later ones (a ``last.ckpt`` may be older than the
last row), so every epoch has exactly one row. Rank zero writes; the other processes of
a distributed run do nothing. Rows are appended with the ``csv`` module; the file is
rewritten only when a metric first appears (a new column).
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback

FIRST = ["epoch", "step", "lr", "seconds"]
# what a validation epoch logs: its metrics, and the test split's scored beside them
# by EpochTestScore (dlzoo.callbacks.epoch_test)
VALIDATION = ("val/", "epoch_test/")


def _scalar(value: Any) -> float | None:
    """A logged value as a float; ``None`` for one that is not a single number."""
    if hasattr(value, "numel"):
        return float(value.item()) if value.numel() == 1 else None
    return float(value) if isinstance(value, int | float) else None


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of ``path`` (none when it does not exist)."""
    if not path.is_file():
        return [], []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """Write the whole file through a temporary one (a crash never leaves half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


class EpochHistory(Callback):
    """Append each finished training epoch's metrics to ``path``; see the module doc.

    Args:
        path: the CSV file, e.g. ``<run directory>/history.csv``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._columns: list[str] = []
        self._pending: dict[str, float] | None = None  # the epoch in progress
        self._started = 0.0
        self._val: dict[str, Any] = {}  # the epoch's validation metrics
        self._rates: dict[str, Any] | None = None  # the learning-rate monitor's, this epoch

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        if not trainer.is_global_zero:
            return
        # a resumed run: keep the epochs its checkpoint finished, nothing after them
        columns, rows = _read(self.path)
        kept = [
            r
            for r in rows
            if r.get("epoch", "").isdigit() and int(r["epoch"]) <= trainer.current_epoch
        ]
        if len(kept) != len(rows):
            _write(self.path, columns, kept)
        self._columns = columns if kept else []

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._flush(trainer)
        lr = float("nan")
        if trainer.optimizers:
            lr = float(trainer.optimizers[0].param_groups[0]["lr"])
        self._pending = {"epoch": trainer.current_epoch + 1, "lr": lr}
        self._started, self._val, self._rates = time.perf_counter(), {}, None

    def on_train_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int
    ) -> None:
        # Lightning's LearningRateMonitor logs an epoch's rates (lr-Adam, ...) when the
        # epoch starts: read them once every epoch-start hook has run, before they are
        # the next epoch's
        if self._pending is not None and self._rates is None:
            metrics = trainer.callback_metrics.items()
            self._rates = {k: v for k, v in metrics if k.startswith("lr-")}

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        # validation outside training (the best checkpoint's re-scoring) has no row
        if self._pending is None or trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics.items()
        self._val = {k: v for k, v in metrics if k.startswith(VALIDATION)}

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self._flush(trainer)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self._pending = None  # half an epoch has no row

    def _flush(self, trainer: Any) -> None:
        """Write the pending epoch's row, if that epoch finished (on rank zero)."""
        pending, self._pending = self._pending, None
        # current_epoch counts finished epochs: a run stopped mid-epoch has not
        if pending is None or pending["epoch"] > trainer.current_epoch:
            return
        if not trainer.is_global_zero:
            return
        # callback_metrics keep a validation's values until the next one, and hold the
        # next epoch's rates already: take this epoch's own, and the rest as logged
        own = (*VALIDATION, "test/", "lr-")
        logged = {k: v for k, v in trainer.callback_metrics.items() if not k.startswith(own)}
        metrics = {k: _scalar(v) for k, v in {**logged, **self._val, **(self._rates or {})}.items()}
        seconds = round(time.perf_counter() - self._started, 3)
        row = {**pending, "step": int(trainer.global_step), "seconds": seconds}
        row.update({k: v for k, v in sorted(metrics.items()) if v is not None})
        self._append(row)

    def _append(self, row: dict[str, Any]) -> None:
        new = [k for k in row if k not in self._columns]
        if not new and self.path.is_file():
            with open(self.path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=self._columns, restval="").writerow(row)
            return
        # a first row, or a metric not seen before (e.g. the first validation): the
        # header changes, so the file is written again with the new column
        _, rows = _read(self.path)
        known = [c for c in self._columns if c not in FIRST]
        self._columns = [*FIRST, *sorted({*known, *(k for k in new if k not in FIRST)})]
        _write(self.path, self._columns, [*rows, row])
