"""What every dlzoo task shares: the injected net, the optimizer and scheduler from config.

A task is a ``LightningModule`` that owns a net (any ``nn.Module``), a loss and its
metrics. Subclasses implement ``_shared_step(batch, stage)``; this base class wires it
to Lightning's training / validation / test steps and builds the optimizer (weight
decay on weights only) and the scheduler (lengths derived from the trainer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.optim import Optimizer

from dlzoo.optim import build_optimizer, build_scheduler


class Task(L.LightningModule):
    """Base class of the tasks.

    Args:
        net: the network to optimise.
        optimizer: a partial that takes parameter groups (``_partial_: true`` in config).
        scheduler: a scheduler config dict (see :func:`dlzoo.optim.build_scheduler`) or
            ``None`` for a constant learning rate.
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., Optimizer],
        scheduler: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.net = net
        self.optimizer_factory = optimizer
        self.scheduler_config = dict(scheduler) if scheduler else None

    def __setattr__(self, name: str, value: Any) -> None:
        # Lightning sets `_current_fx_name` before and after every hook, some 40 times
        # per optimizer step. nn.Module.__setattr__ first checks whether the value is a
        # parameter, buffer or module, which made this a tenth of a small model's step;
        # a plain string attribute needs none of those checks.
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _shared_step(self, batch: Any, stage: str) -> torch.Tensor:
        raise NotImplementedError

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "test")

    def configure_optimizers(self) -> Any:
        optimizer = build_optimizer(self.optimizer_factory, self.net)
        if self.scheduler_config is None:
            return optimizer
        scheduler = build_scheduler(
            self.scheduler_config,
            optimizer,
            total_steps=self.trainer.estimated_stepping_batches,
            max_epochs=self.trainer.max_epochs,
        )
        return {"optimizer": optimizer, "lr_scheduler": scheduler}
