"""Stop a run whose training loss became NaN or infinite, naming where it happened.

The check costs no host synchronisation per step: the first bad step is kept on the
device and looked at once, at the end of the epoch.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

from dlzoo.errors import TrainingError


class FiniteLoss(Callback):
    """Raise :class:`~dlzoo.errors.TrainingError` at the end of an epoch in which the
    training loss was NaN or infinite, naming the epoch and the first such step."""

    def __init__(self) -> None:
        self._first_bad: torch.Tensor | None = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._first_bad = None

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if not isinstance(loss, torch.Tensor):
            return
        step = torch.where(torch.isfinite(loss.detach()), torch.inf, float(trainer.global_step))
        self._first_bad = step if self._first_bad is None else torch.minimum(self._first_bad, step)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._first_bad is None:
            return
        first = float(self._first_bad)
        if first != float("inf"):
            raise TrainingError(
                f"the training loss became NaN or infinite in epoch {trainer.current_epoch + 1}"
                f" at step {int(first)}: lower optimizer.lr, set trainer.gradient_clip_val=1.0, "
                "or check the data for NaN values"
            )
