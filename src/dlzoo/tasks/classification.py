"""Classification: a net's logits against integer class labels.

Metrics (torchmetrics): accuracy, macro precision, macro recall and macro F1 on
validation and test, plus a confusion matrix that
:class:`dlzoo.callbacks.figures.ConfusionMatrixFigure` draws for TensorBoard. The
training loss and accuracy are summed on the device and logged once per epoch, so a
training step costs no host synchronisation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import Optimizer
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

from dlzoo.errors import ConfigError
from dlzoo.losses import get_loss
from dlzoo.tasks.base import Task

CLASSIFICATION_LOSSES = ("cross_entropy", "nll", "bce", "mse", "rmse")


class ClassificationTask(Task):
    """Optimise a classifier.

    Args:
        net: maps an input batch to logits.
        num_classes: number of classes (filled in from the datamodule).
        optimizer: a partial that takes parameter groups.
        scheduler: a scheduler config dict or ``None``.
        loss: ``cross_entropy``; ``nll`` (on ``log_softmax`` of the logits); ``bce``
            (one-vs-rest, sigmoid per class); ``mse`` / ``rmse`` (on softmax
            probabilities against one-hot targets, as in the early-curriculum
            exercises).
        label_smoothing: for ``cross_entropy`` only.

    Shapes:
        batch: ``(x, y, *extra)`` with ``x`` whatever the net takes, ``y`` of shape (B,)
        holding class indices and optional extra inputs (e.g. sequence lengths (B,)),
        passed on as ``net(x, *extra)``; the net returns logits (B, num_classes).
    """

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        optimizer: Callable[..., Optimizer],
        scheduler: dict[str, Any] | None = None,
        loss: str = "cross_entropy",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(net, optimizer, scheduler)
        if num_classes < 2:
            raise ConfigError(
                f"classification needs at least 2 classes, the data has {num_classes}: "
                "add a second class (e.g. another subfolder of an image folder)"
            )
        if loss not in CLASSIFICATION_LOSSES:
            raise ConfigError(
                f"task.loss={loss!r} does not fit classification; "
                f"valid: {', '.join(CLASSIFICATION_LOSSES)}"
            )
        if label_smoothing and loss != "cross_entropy":
            raise ConfigError("task.label_smoothing works with loss=cross_entropy only")
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"], logger=False)
        self.num_classes = num_classes
        self.loss_name = loss
        kwargs = {"label_smoothing": label_smoothing} if loss == "cross_entropy" else {}
        self.criterion = get_loss(loss, **kwargs)

        def metrics() -> MetricCollection:
            common = {"num_classes": num_classes, "validate_args": False}
            return MetricCollection(
                {
                    "acc": MulticlassAccuracy(average="micro", **common),
                    "precision": MulticlassPrecision(average="macro", **common),
                    "recall": MulticlassRecall(average="macro", **common),
                    "f1": MulticlassF1Score(average="macro", **common),
                },
                compute_groups=True,
            )

        self.val_metrics = metrics()
        self.test_metrics = metrics()
        self.val_confmat = MulticlassConfusionMatrix(num_classes, validate_args=False)
        self.test_confmat = MulticlassConfusionMatrix(num_classes, validate_args=False)

    def compute_loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The configured loss of logits (B, C) against class indices (B,)."""
        if self.loss_name == "nll":
            return self.criterion(F.log_softmax(logits, dim=-1), y)
        if self.loss_name == "bce":
            return self.criterion(logits, F.one_hot(y, self.num_classes).to(logits.dtype))
        if self.loss_name in ("mse", "rmse"):
            target = F.one_hot(y, self.num_classes).to(logits.dtype)
            return self.criterion(logits.softmax(dim=-1), target)
        return self.criterion(logits, y)

    def _shared_step(self, batch: Any, stage: str) -> torch.Tensor:
        inputs, y = self.split_batch(batch)
        logits = self.net(*inputs)  # (B, C); inputs: x and e.g. sequence lengths
        return self._score(logits, y, stage)

    def _score(self, logits: torch.Tensor, y: torch.Tensor, stage: str) -> torch.Tensor:
        """The loss of one batch; its sums and the stage's metrics are updated.

        Shapes:
            logits (B, C), y (B,) -> a scalar loss
        """
        loss = self.compute_loss(logits, y)
        preds = logits.detach().argmax(dim=-1)  # (B,)
        sums = torch.stack(
            [
                loss.detach() * y.numel(),
                (preds == y).sum().to(loss.dtype),
                loss.new_tensor(y.numel()),
            ]
        )
        self._accumulate(stage, sums)
        if stage == "val":
            self.val_metrics.update(preds, y)
            self.val_confmat.update(preds, y)
        elif stage == "test":
            self.test_metrics.update(preds, y)
            self.test_confmat.update(preds, y)
        return loss

    def infer(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Class probabilities.

        Shapes:
            inputs: what the net takes, e.g. x (B, C, H, W) -> (B, num_classes)
        """
        return self.net(*inputs).softmax(dim=-1)

    def prediction_table(
        self, names: list[str], predicted: torch.Tensor, datamodule: Any
    ) -> tuple[list[str], list[list[Any]]]:
        """``input, class, p_<class>...``: the most probable class and every probability.

        Shapes:
            predicted: (N, num_classes) probabilities, N == len(names)
        """
        classes = list(getattr(datamodule, "class_names", []) or range(predicted.shape[1]))
        header = ["input", "class", *(f"p_{c}" for c in classes)]
        rows = [
            [name, classes[int(p.argmax())], *(f"{v:.6g}" for v in p.tolist())]
            for name, p in zip(names, predicted, strict=True)
        ]
        return header, rows

    def _log_epoch(self, stage: str, collection: MetricCollection | None = None) -> None:
        sums = self._epoch_sums(stage)
        values: dict[str, torch.Tensor] = {}
        if sums is not None:
            values[f"{stage}/loss"] = sums[0] / sums[2]
            if collection is None:
                values[f"{stage}/acc"] = sums[1] / sums[2]
        if collection is not None:
            values.update({f"{stage}/{k}": v for k, v in collection.compute().items()})
            collection.reset()
        self._log_epoch_values(values)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val", self.val_metrics)

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test", self.test_metrics)

    def on_validation_epoch_start(self) -> None:
        self.val_confmat.reset()

    def on_test_epoch_start(self) -> None:
        self.test_confmat.reset()
