"""Mean absolute scaled error (Hyndman & Koehler 2006, "Another look at measures of
forecast accuracy").

.. math::

    \\mathrm{MASE} = \\frac{\\frac{1}{n}\\sum_t |y_t - \\hat y_t|}
                          {\\frac{1}{T-1}\\sum_{t=2}^{T} |s_t - s_{t-1}|}

The denominator is the in-sample MAE of the one-step naive forecast on the training
series ``s``, so MASE < 1 beats that naive forecast on the training data's own scale,
and the value does not depend on the series' units. For several target series the MASE
of each is taken with its own scale and the results are averaged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torchmetrics import Metric

from dlzoo.errors import ConfigError


def naive_scale(series: Tensor) -> Tensor:
    """The MASE denominator: mean absolute one-step difference of each training series.

    Args:
        series: the training part, time first.

    Shapes:
        - series: (T,) or (T, C) with T >= 2
        - output: () or (C,)
    """
    if series.shape[0] < 2:
        raise ConfigError("the MASE scale needs a training series of at least 2 steps")
    return (series[1:] - series[:-1]).abs().mean(dim=0)


class MeanAbsoluteScaledError(Metric):
    """MASE as a torchmetrics metric: sums of absolute errors per target, over batches
    and (in a distributed run) over processes, divided by a fixed scale at ``compute``.

    Args:
        scale: the in-sample MAE of the one-step naive forecast of each target series on
            the training split (see :func:`naive_scale`), in the same units as the
            predictions; one value per target (the last dimension of the predictions).

    Shapes:
        - preds, target: (..., C) with C = len(scale); every leading dimension (batch,
          horizon) is averaged
        - compute(): () — the mean over targets of each target's MASE
    """

    is_differentiable = True
    higher_is_better = False
    full_state_update = False

    def __init__(self, scale: Sequence[float] | Tensor, **kwargs) -> None:
        super().__init__(**kwargs)
        scale = torch.as_tensor(scale, dtype=torch.float32).reshape(-1)
        if scale.numel() == 0 or not torch.all(torch.isfinite(scale) & (scale > 0)):
            raise ConfigError(
                f"MASE scale must be positive and finite per target, got {scale.tolist()}: "
                "a constant training series has no naive error to scale by"
            )
        self.register_buffer("scale", scale, persistent=False)
        self.add_state("abs_error", torch.zeros_like(scale), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros(()), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        if preds.shape != target.shape or preds.shape[-1] != self.scale.numel():
            raise ValueError(
                f"MASE: preds {tuple(preds.shape)} and target {tuple(target.shape)} must "
                f"have the same shape ending in {self.scale.numel()} targets"
            )
        error = (preds.detach() - target).abs().reshape(-1, self.scale.numel())
        self.abs_error += error.sum(dim=0).to(self.abs_error.dtype)
        self.count += error.shape[0]

    def compute(self) -> Tensor:
        return (self.abs_error / self.count / self.scale).mean()
