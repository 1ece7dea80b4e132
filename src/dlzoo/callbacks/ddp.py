"""Batch norm statistics made the same on every rank before a DDP run evaluates.

DDP averages the gradients, so every rank holds the same weights, but each rank's batch
norm layers update their running mean and variance from that rank's own batches: after
an epoch the ranks' statistics differ (measured on ``digits_cnn`` with
``trainer=ddp_cpu``: validation loss 0.1234 during fit against 0.1227 for the saved
checkpoint, which holds rank zero's). Validation would then score a different model on
each half of the split, and the best checkpoint would be chosen by a number no single
model has. :class:`SyncNormStats` averages the running statistics over the ranks at the
start of every validation and test epoch, so the model scored is the model saved.
(``trainer.sync_batchnorm`` syncs the batch statistics at every step instead, on GPUs
only.)
"""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from torch import nn

__all__ = ["SyncNormStats", "average_norm_stats"]


def _running_stats(module: nn.Module) -> list[torch.Tensor]:
    """Every normalisation layer's running mean and variance (not its step counter)."""
    stats = []
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._NormBase) and layer.track_running_stats:
            stats += [t for t in (layer.running_mean, layer.running_var) if t is not None]
    return stats


@torch.no_grad()
def average_norm_stats(module: nn.Module, world_size: int) -> int:
    """Replace every running mean and variance by its average over the process group.

    Args:
        module: the model (the same architecture on every rank).
        world_size: the number of processes.

    Returns:
        The number of values averaged (0: nothing to do, nothing communicated).
    """
    stats = _running_stats(module)
    if world_size < 2 or not stats:
        return 0
    flat = torch.cat([t.reshape(-1) for t in stats])  # one all-reduce for all layers
    torch.distributed.all_reduce(flat)
    flat /= world_size
    offset = 0
    for t in stats:
        t.copy_(flat[offset : offset + t.numel()].view_as(t))
        offset += t.numel()
    return int(flat.numel())


class SyncNormStats(Callback):
    """Average the batch norm running statistics over the ranks before evaluating.

    A no-op in a single process. build() adds it to every run.
    """

    def _sync(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.world_size > 1:
            average_norm_stats(pl_module, trainer.world_size)

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._sync(trainer, pl_module)

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._sync(trainer, pl_module)
