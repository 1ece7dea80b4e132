"""Anomaly detection by reconstruction error: an autoencoder trained on normal samples
only reconstructs the others worse.

The data (:class:`~dlzoo.data.derived.reconstruction.ReconstructionDataModule` with
``normal_classes``) trains on the normal classes; validation and test hold every class,
each sample flagged ``anomaly`` when its class is not normal. A sample's score is its
mean reconstruction error per pixel (the task's loss, from the latent mean); a sample
is called an anomaly when its score is above the threshold.

The threshold is fitted at the end of every validation epoch from the validation
scores alone, and kept in a buffer, so it travels in the checkpoint and the test split
never touches it:

- ``percentile``: the given percentile of the normal validation samples' scores (95: 5 %
  of normal samples are false alarms), which needs no labelled anomalies;
- ``f1``: the validation threshold with the best F1 score on the anomalies.

Metrics: ``val/loss`` and ``test/loss`` over the normal samples (what training
optimises); ``val/auroc``; ``test/auroc``, ``test/pr_auc`` (average precision), and at
the threshold ``test/precision``, ``test/recall``, ``test/f1``. After a test epoch
``test_scores`` and ``test_flags`` (the true flags) hold the split's scores for the
histogram figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torchmetrics.aggregation import CatMetric
from torchmetrics.functional.classification import binary_auroc, binary_average_precision

from dlzoo.errors import ConfigError, TrainingError
from dlzoo.tasks.reconstruction import ReconstructionTask

THRESHOLD_RULES = ("percentile", "f1")


def percentile_threshold(scores: torch.Tensor, flags: torch.Tensor, percentile: float) -> float:
    """The ``percentile`` (0 .. 100, linear interpolation) of the normal samples' scores.

    Shapes:
        scores (N,) float, flags (N,) bool (``True``: an anomaly)

    Raises:
        TrainingError: no normal sample.
    """
    normal = scores[~flags]
    if not len(normal):
        raise TrainingError("the validation split has no normal sample to fit a threshold on")
    return float(torch.quantile(normal.double(), percentile / 100.0))


def f1_threshold(scores: torch.Tensor, flags: torch.Tensor) -> float:
    """The threshold of best F1 when ``score > threshold`` is called an anomaly.

    Calling the k highest scores anomalies gives ``F1 = 2 TP / (k + P)`` (P anomalies);
    only cuts between two different scores count, and the threshold is the midpoint of
    the cut (below the lowest score when every sample is called an anomaly).

    Shapes:
        scores (N,) float, flags (N,) bool

    Raises:
        TrainingError: no anomaly (F1 is undefined).
    """
    positives = int(flags.sum())
    if not positives:
        raise TrainingError(
            "the validation split has no anomaly to fit an f1 threshold on: "
            "use task.threshold=percentile"
        )
    # in the scores' dtype: the threshold must separate them as they are compared
    desc, order = torch.sort(scores, descending=True)
    true_positives = flags[order].double().cumsum(0)  # (N,): TP with the top k called
    k = torch.arange(1, len(desc) + 1, dtype=torch.float64)
    f1 = 2 * true_positives / (k + positives)
    # a cut inside a run of equal scores cannot be made with one threshold
    f1[:-1][desc[:-1] == desc[1:]] = -1.0
    best = int(f1.argmax())
    if best == len(desc) - 1:
        return float(torch.nextafter(desc[-1], desc.new_tensor(-torch.inf)))
    return float((desc[best] + desc[best + 1]) / 2)


def threshold_metrics(
    scores: torch.Tensor, flags: torch.Tensor, threshold: float
) -> dict[str, float]:
    """``precision``, ``recall`` and ``f1`` of calling ``score > threshold`` an anomaly
    (0 where a ratio has nothing to count).

    Shapes:
        scores (N,) float, flags (N,) bool
    """
    called = scores > threshold
    tp = float((called & flags).sum())
    precision = tp / float(called.sum()) if called.any() else 0.0
    recall = tp / float(flags.sum()) if flags.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


class AnomalyTask(ReconstructionTask):
    """Train an autoencoder on normal samples; score and threshold its reconstruction
    error (see the module docstring).

    Args:
        net, optimizer, scheduler, loss, beta: as
            :class:`~dlzoo.tasks.reconstruction.ReconstructionTask`.
        normal_classes: the data's normal classes (filled in from the datamodule).
        threshold: ``percentile`` or ``f1``, the rule that fits the threshold on the
            validation split.
        percentile: for ``percentile``, in (0, 100).

    Raises:
        ConfigError: data without ``normal_classes``, an unknown rule or a percentile
            outside (0, 100).

    Attributes:
        threshold: the fitted threshold, a buffer (NaN until a validation epoch ends).
        test_scores, test_flags: the last test epoch's scores (N,) and true anomaly
            flags (N,) bool, on the CPU; ``None`` before a test.
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., Optimizer],
        normal_classes: Sequence[int] | None,
        scheduler: dict[str, Any] | None = None,
        loss: str = "mse",
        beta: float = 1.0,
        threshold: str = "percentile",
        percentile: float = 95.0,
    ) -> None:
        super().__init__(net, optimizer, scheduler, loss, beta)
        if normal_classes is None:
            raise ConfigError(
                "task=anomaly needs the normal classes: set data.normal_classes, e.g. "
                "data.normal_classes=[0,1,2,3,4,5,6,7,8]"
            )
        if threshold not in THRESHOLD_RULES:
            raise ConfigError(f"task.threshold={threshold!r}; valid: {', '.join(THRESHOLD_RULES)}")
        if not 0 < percentile < 100:
            raise ConfigError(f"task.percentile={percentile} must be in (0, 100)")
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"], logger=False)
        self.rule = threshold
        self.percentile = float(percentile)
        self.register_buffer("threshold", torch.tensor(float("nan")))
        # per stage: the epoch's scores and flags, gathered over processes by compute()
        self.scores = nn.ModuleDict({s: CatMetric(nan_strategy="disable") for s in ("val", "test")})
        self.flags = nn.ModuleDict({s: CatMetric(nan_strategy="disable") for s in ("val", "test")})
        self.test_scores: torch.Tensor | None = None
        self.test_flags: torch.Tensor | None = None

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """Each input's anomaly score: its mean reconstruction error per pixel.

        Shapes:
            x (B, C, H, W) -> (B,)
        """
        decoded = self.net.decode(self.net.encode(x)[1])
        return self.pixel_losses(decoded, x).flatten(1).mean(dim=1)

    def infer(self, *inputs: torch.Tensor) -> torch.Tensor:
        """``[score, flag]`` per input, flag 1.0 where the score is above the threshold.

        Shapes:
            x (B, C, H, W) -> (B, 2)
        """
        scores = self.score(*inputs)
        return torch.stack([scores, (scores > self.threshold).to(scores.dtype)], dim=1)

    def prediction_table(
        self, names: list[str], predicted: torch.Tensor, datamodule: Any
    ) -> tuple[list[str], list[list[Any]]]:
        """``input, score, anomaly`` (anomaly 0 or 1), one row per input."""
        rows = [
            [name, f"{float(score):.6g}", int(flag)]
            for name, (score, flag) in zip(names, predicted.tolist(), strict=True)
        ]
        return ["input", "score", "anomaly"], rows

    def _counted(self, batch: Mapping[str, Any], stage: str) -> torch.Tensor | None:
        # the loss is the training objective: measured on normal samples only
        return ~batch["anomaly"]

    def _observe(self, batch: Mapping[str, Any], stage: str, errors: torch.Tensor) -> None:
        if stage in self.scores:
            self.scores[stage].update(errors)
            self.flags[stage].update(batch["anomaly"].to(errors.dtype))

    def _gather(self, stage: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The epoch's scores (N,) and flags (N,) bool; the stores are reset."""
        scores, flags = self.scores[stage].compute(), self.flags[stage].compute() > 0.5
        self.scores[stage].reset()
        self.flags[stage].reset()
        return scores.flatten(), flags.flatten()

    def fit_threshold(self, scores: torch.Tensor, flags: torch.Tensor) -> float:
        """Fit and store the threshold by the configured rule (see the module doc).

        Shapes:
            scores (N,), flags (N,) bool: validation samples only
        """
        if self.rule == "f1":
            value = f1_threshold(scores, flags)
        else:
            value = percentile_threshold(scores, flags, self.percentile)
        self.threshold.fill_(value)
        return value

    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        scores, flags = self._gather("val")
        if not len(scores) or self.trainer.sanity_checking:
            return
        threshold = self.fit_threshold(scores, flags)
        values = {"val/threshold": torch.tensor(threshold)}
        if flags.any() and not flags.all():
            values["val/auroc"] = binary_auroc(scores, flags.long())
        self._log_epoch_values(values)

    def on_test_epoch_end(self) -> None:
        super().on_test_epoch_end()
        scores, flags = self._gather("test")
        self.test_scores, self.test_flags = scores.cpu(), flags.cpu()
        if not len(scores):
            return
        if torch.isnan(self.threshold):
            raise TrainingError(
                "the anomaly threshold was never fitted: it is fitted on the validation "
                "split, so run a validation epoch first (trainer.limit_val_batches > 0)"
            )
        if not (flags.any() and not flags.all()):
            raise TrainingError(
                "the test split needs normal samples and anomalies to score the detector: "
                "check data.normal_classes"
            )
        threshold = float(self.threshold)
        values = {
            "test/auroc": binary_auroc(scores, flags.long()),
            "test/pr_auc": binary_average_precision(scores, flags.long()),
            **{
                f"test/{k}": torch.tensor(v)
                for k, v in threshold_metrics(scores, flags, threshold).items()
            },
        }
        self._log_epoch_values(values)
