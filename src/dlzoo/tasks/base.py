"""What every dlzoo task shares: the injected net, the optimizer and scheduler from config.

A task is a ``LightningModule`` that owns a net (any ``nn.Module``), a loss and its
metrics. The task owns the batch: :meth:`Task.split_batch` is the one place that turns
a batch into the net's inputs and the target; the pre-training pair check, every step
and ``predict_step`` call it, and nothing else reads a batch by position. Subclasses
implement ``_shared_step(batch, stage)`` and :meth:`Task.infer` (what a user gets from
a trained model: class probabilities, a forecast in the series' units); this base class
wires them to Lightning's steps and builds the optimizer (weight decay on weights only)
and the scheduler (lengths derived from the trainer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import lightning as L
import torch
import torch.distributed as dist
from torch import nn
from torch.optim import Optimizer

from dlzoo.errors import TrainingError
from dlzoo.optim import build_optimizer, build_scheduler
from dlzoo.tasks.stepping import Stepping, backward_and_step, step_epoch_schedulers


def embedding_table(names: list[str], predicted: torch.Tensor) -> tuple[list[str], list[list[Any]]]:
    """A prediction CSV of embeddings: ``input, z_0, ..., z_{D-1}``, one row per input.

    Shapes:
        predicted: (N, D), N == len(names)
    """
    header = ["input", *(f"z_{i}" for i in range(predicted.shape[1]))]
    rows = [
        [name, *(f"{v:.6g}" for v in row.tolist())]
        for name, row in zip(names, predicted, strict=True)
    ]
    return header, rows


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
        # see dlzoo.tasks.stepping: the same features at a fraction of the cost per step
        self.automatic_optimization = False
        self.stepping = Stepping()
        self.net = net
        self.optimizer_factory = optimizer
        self.scheduler_config = dict(scheduler) if scheduler else None
        # id(parameter) -> learning-rate factor (transfer learning's reused body)
        self.lr_scales: dict[int, float] = {}
        # per stage, running sums of this epoch's per-batch numbers (see _accumulate)
        self._sums: dict[str, torch.Tensor] = {}
        # the global step the current training epoch began at (for the NaN message)
        self._epoch_first_step = 0

    def __setattr__(self, name: str, value: Any) -> None:
        # Lightning sets `_current_fx_name` before and after every hook, some 40 times
        # per optimizer step. nn.Module.__setattr__ first checks whether the value is a
        # parameter, buffer or module, which made this a tenth of a small model's step;
        # a plain string attribute needs none of those checks.
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def forward(self, x: torch.Tensor, *extra: torch.Tensor) -> torch.Tensor:
        return self.net(x, *extra)

    @staticmethod
    def split_batch(batch: Any) -> tuple[tuple[Any, ...], Any]:
        """Split a batch into the net's inputs and the target (``None`` when unlabelled).

        The layouts every datamodule serves:

        - a tuple / list ``(x, y, *extra)``: inputs ``(x, *extra)`` (e.g. sequence
          lengths after the labels), target ``y``; ``(x,)`` alone is unlabelled;
        - a mapping: ``x`` (or ``inputs``) first, then every other entry but ``y`` /
          ``target`` in the mapping's order, target ``y`` (or ``target``);
        - an object with a ``y`` attribute, e.g. a PyTorch Geometric ``Batch``: the
          object itself is the input, ``batch.y`` the target.

        Tasks whose batches hold pairs or triplets override this method.

        Raises:
            TypeError: a batch of none of these layouts.
        """
        if isinstance(batch, list | tuple):
            if not batch:
                raise TypeError("an empty batch has no inputs")
            if len(batch) == 1:
                return (batch[0],), None
            return (batch[0], *batch[2:]), batch[1]
        if isinstance(batch, Mapping):
            first = "x" if "x" in batch else "inputs"
            if first not in batch:
                raise TypeError(f"a batch mapping needs an 'x' entry, got {', '.join(batch)}")
            rest = [v for k, v in batch.items() if k not in (first, "y", "target")]
            return (batch[first], *rest), batch.get("y", batch.get("target"))
        if isinstance(batch, torch.Tensor):
            return (batch,), None
        if hasattr(batch, "y"):
            return (batch,), batch.y
        raise TypeError(f"cannot split a batch of type {type(batch).__name__}")

    def infer(self, *inputs: Any) -> torch.Tensor:
        """What a user gets from the trained model for the net's inputs (no target)."""
        raise NotImplementedError

    def embed(self, *inputs: Any) -> torch.Tensor:
        """The learned representation of the net's inputs: ``net.forward_features``.

        Linear probes, k-means, the latent figures and transfer learning read it; tasks
        whose representation lives elsewhere (a JEPA's target encoder) override it.

        Shapes:
            inputs: what the net takes, e.g. x (B, C, H, W) -> (B, D)
        """
        return self.net.forward_features(*inputs)

    def prediction_table(
        self, names: list[str], predicted: torch.Tensor, datamodule: Any
    ) -> tuple[list[str], list[list[Any]]]:
        """The CSV that ``dlzoo-predict`` writes: a header and one row per prediction.

        Args:
            names: one per input (file names, time stamps).
            predicted: what :meth:`infer` returned for those inputs.
            datamodule: the fitted datamodule (class or target names).
        """
        return embedding_table(names, predicted)

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        inputs, _ = self.split_batch(batch)
        return self.infer(*inputs)

    def _accumulate(self, stage: str, values: torch.Tensor) -> None:
        """Add one batch's numbers (e.g. loss x batch size, batch size) to the epoch's sums.

        The sums stay on the device: a training step costs no host synchronisation.
        """
        self._sums[stage] = self._sums[stage] + values if stage in self._sums else values

    def _epoch_sums(self, stage: str) -> torch.Tensor | None:
        """The epoch's sums over every batch and every process, and reset them."""
        sums = self._sums.pop(stage, None)
        if sums is None:
            return None
        # every rank summed its own share; a no-op on one device
        return self.trainer.strategy.reduce(sums, reduce_op="sum")

    def _log_epoch_values(self, values: dict[str, torch.Tensor]) -> None:
        """Log epoch-level values that are already global (summed over processes)."""
        if values:
            # sync_dist only tells Lightning that they are global (a process group of
            # one, e.g. DDP on one GPU, counts: Lightning warns otherwise)
            distributed = dist.is_available() and dist.is_initialized()
            self.log_dict(values, on_step=False, on_epoch=True, sync_dist=distributed)

    def _shared_step(self, batch: Any, stage: str) -> torch.Tensor:
        raise NotImplementedError

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = self._shared_step(batch, "train")
        backward_and_step(self, loss, batch_idx)
        return loss.detach()

    def _log_epoch(self, stage: str) -> None:
        raise NotImplementedError

    def on_train_epoch_start(self) -> None:
        self._epoch_first_step = self.trainer.global_step

    def on_train_epoch_end(self) -> None:
        self._check_finite_loss()
        self._log_epoch("train")
        step_epoch_schedulers(self)

    def _check_finite_loss(self) -> None:
        """Stop at the end of an epoch whose training loss was NaN or infinite.

        The epoch's loss sum is NaN or infinite as soon as one step's loss is; looking
        once an epoch costs no per-step work or host synchronisation.

        Raises:
            TrainingError: naming the epoch and its optimizer steps.
        """
        sums = self._sums.get("train")
        if sums is None or bool(torch.isfinite(sums[0])):
            return
        first = self._epoch_first_step + 1
        raise TrainingError(
            f"the training loss became NaN or infinite in epoch {self.current_epoch + 1} "
            f"(optimizer steps {first}-{self.trainer.global_step}): lower optimizer.lr, "
            "set trainer.gradient_clip_val=1.0, or check the data for NaN values"
        )

    def validation_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "test")

    def trained_modules(self) -> nn.Module:
        """What the optimizer updates: the net (a JEPA adds its predictor)."""
        return self.net

    def configure_optimizers(self) -> Any:
        optimizer = build_optimizer(self.optimizer_factory, self.trained_modules(), self.lr_scales)
        if self.scheduler_config is None:
            return optimizer
        scheduler = build_scheduler(
            self.scheduler_config,
            optimizer,
            total_steps=self.trainer.estimated_stepping_batches,
            max_epochs=self.trainer.max_epochs,
        )
        # Lightning ignores (and warns about) `monitor` under manual optimisation: the
        # task steps the scheduler itself, see dlzoo.tasks.stepping
        self.stepping.monitor = scheduler.pop("monitor", None)
        return {"optimizer": optimizer, "lr_scheduler": scheduler}
