"""The checkpoint to resume from: written after every epoch, whatever the metric did.

Lightning's ``ModelCheckpoint(save_last=True)`` writes ``last.ckpt`` only when it also
saves a top-k checkpoint, so with ``save_top_k=1`` it is a copy of the best one, and a
run resumed from it restarts at the best epoch rather than the last. This callback
writes ``last.ckpt`` at the end of every training epoch: after that epoch's validation,
early stopping and best checkpoint (Lightning runs checkpoint callbacks last, in their
order), so a resumed run continues with all of their states.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO


class LastCheckpoint(ModelCheckpoint):
    """``<dirpath>/last.ckpt``, overwritten at the end of every training epoch.

    Args:
        dirpath: the run's checkpoint folder.
        every_n_epochs: write it every this many epochs (1: every epoch).
    """

    def __init__(self, dirpath: str | Path, every_n_epochs: int = 1) -> None:
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
