"""The checkpoint to resume from: written after every epoch, whatever the metric did.

Lightning's ``ModelCheckpoint(save_last=True)`` writes ``last.ckpt`` only when it also
saves a top-k checkpoint, so with ``save_top_k=1`` it is a copy of the best one, and a
run resumed from it restarts at the best epoch rather than the last. This callback
writes ``last.ckpt`` at the end of a training epoch: after that epoch's validation,
early stopping and best checkpoint (Lightning runs checkpoint callbacks last, in their
order), so a resumed run continues with all of their states. It writes at most every
``min_interval_s`` seconds, and always after the run's final epoch: writing a small
net's checkpoint every 0.1 s epoch cost 4 % of its training time, while a crash then
costs at most that many seconds of training.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO


class LastCheckpoint(ModelCheckpoint):
    """``<dirpath>/last.ckpt``, overwritten at the end of a training epoch.

    Args:
        dirpath: the run's checkpoint folder.
        every_n_epochs: consider writing it every this many epochs.
        min_interval_s: seconds since the last write before the next one (0: every
            epoch); the final epoch is always written.
    """

    def __init__(
        self, dirpath: str | Path, every_n_epochs: int = 1, min_interval_s: float = 10.0
    ) -> None:
        self.min_interval_s = float(min_interval_s)
        self._written_at = -math.inf
        super().__init__(
            dirpath=dirpath,
            filename="last",
            monitor=None,
            save_top_k=1,
            save_last=False,
            every_n_epochs=every_n_epochs,
            save_on_train_epoch_end=True,
            auto_insert_metric_name=False,
            enable_version_counter=False,
        )

    @property
    def path(self) -> Path:
        return Path(str(self.dirpath)) / "last.ckpt"

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        super().on_train_start(trainer, pl_module)
        self._written_at = time.monotonic()

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        max_steps = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else math.inf
        final = (
            trainer.should_stop  # early stopping (it runs before checkpoint callbacks)
            or trainer.current_epoch + 1 >= (trainer.max_epochs or math.inf)
            or trainer.global_step >= max_steps
        )
        due = time.monotonic() - self._written_at >= self.min_interval_s
        # DDP: writing is collective (Lightning waits for every rank), so every rank
        # takes rank zero's decision, not its own clock's; a no-op on one device
        due = bool(trainer.strategy.broadcast(due))
        if final or due:
            super().on_train_epoch_end(trainer, pl_module)
            self._written_at = time.monotonic()


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoint files that are always whole: written to ``<name>.tmp``, then renamed.

    Lightning writes a checkpoint straight to its path, so a run killed during the
    write (a pre-empted job, an out-of-memory kill) leaves a truncated ``last.ckpt``
    and nothing to resume from; a rename is atomic, so the old file stays until the
    new one is complete.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(checkpoint, tmp)
        os.replace(tmp, path)


def last_checkpoint_path(trainer: Any) -> Path | None:
    """Where the trainer's :class:`LastCheckpoint` writes (``None``: it has none).

    Args:
        trainer: a Lightning Trainer.
    """
    return next((c.path for c in trainer.callbacks if isinstance(c, LastCheckpoint)), None)
