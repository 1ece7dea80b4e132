"""Forecasting: a net maps a window of the past to the next ``horizon`` steps.

The loss is taken on the scaled values the net sees; the metrics are taken in the
series' own units: MAE, RMSE and MASE (Hyndman & Koehler 2006), whose scale is the
in-sample MAE of the one-step naive forecast on the training split. Every validation and
test epoch also scores the naive forecast (the last observed value, repeated) on the
same windows, so ``metrics.json`` shows whether the net beats it:
``test/mase_vs_naive`` below 1 does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection

from dlzoo.errors import ConfigError
from dlzoo.losses import get_loss
from dlzoo.metrics.mase import MeanAbsoluteScaledError
from dlzoo.tasks.base import Task

FORECAST_LOSSES = ("mse", "mae", "huber", "rmse")
WINDOW_NORMS = ("none", "last")
# windows kept per stage for the forecast figure
FIGURE_WINDOWS = 4


class ForecastTask(Task):
    """Optimise a forecaster.

    Args:
        net: maps ``x`` (B, window, input_size) to a forecast (B, horizon, output_size).
        optimizer: a partial that takes parameter groups.
        target_offset, target_scale: per target, ``original = scaled * scale + offset``
            (filled in from the datamodule).
        mase_scale: per target, the in-sample MAE of the one-step naive forecast on the
            training split, in original units (filled in from the datamodule).
        scheduler: a scheduler config dict or ``None``.
        loss: ``mse``, ``mae``, ``huber`` or ``rmse``, on the scaled values.
        huber_delta: the Huber loss's switch from quadratic to linear (scaled units).
        window_norm: ``none``, or ``last``: subtract each window's last values from it
            and add them back to the net's forecast, so the net models changes, not
            levels ("NLinear", Zeng et al. 2023). A trending series (co2, airline) then
            stays inside the range the net saw in training.

    Shapes:
        batch: ``(x, y)`` with x (B, window, input_size), whose first ``output_size``
        columns are the targets, and y (B, horizon, output_size).
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., Optimizer],
        target_offset: Sequence[float],
        target_scale: Sequence[float],
        mase_scale: Sequence[float],
        scheduler: dict[str, Any] | None = None,
        loss: str = "mse",
        huber_delta: float = 1.0,
        window_norm: str = "none",
    ) -> None:
        super().__init__(net, optimizer, scheduler)
        if window_norm not in WINDOW_NORMS:
            raise ConfigError(f"task.window_norm={window_norm!r}; valid: {', '.join(WINDOW_NORMS)}")
        self.window_norm = window_norm
        if loss not in FORECAST_LOSSES:
            raise ConfigError(
                f"task.loss={loss!r} does not fit forecasting; valid: {', '.join(FORECAST_LOSSES)}"
            )
        if not len(target_offset) == len(target_scale) == len(mase_scale):
            raise ConfigError(
                "target_offset, target_scale and mase_scale need one value per target, got "
                f"{len(target_offset)}, {len(target_scale)} and {len(mase_scale)}"
            )
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"], logger=False)
        self.criterion = get_loss(loss, delta=huber_delta) if loss == "huber" else get_loss(loss)
        self.register_buffer("offset", torch.tensor(target_offset, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(target_scale, dtype=torch.float32))

        def metrics() -> MetricCollection:
            return MetricCollection(
                {
                    "mae": MeanAbsoluteError(),
                    "rmse": MeanSquaredError(squared=False),
                    "mase": MeanAbsoluteScaledError(mase_scale),
                }
            )

        self.val_metrics = metrics()
        self.test_metrics = metrics()
        self.val_naive = MeanAbsoluteScaledError(mase_scale)
        self.test_naive = MeanAbsoluteScaledError(mase_scale)
        # a few (history, truth, forecast, naive) windows in original units, per stage
        self.examples: dict[str, dict[str, torch.Tensor]] = {}

    @property
    def output_size(self) -> int:
        return int(self.scale.numel())

    def to_original(self, values: torch.Tensor) -> torch.Tensor:
        """Scaled target values back to the series' units.

        Shapes:
            values: (..., output_size) -> the same
        """
        return values * self.scale + self.offset

    def forecast(self, x: torch.Tensor) -> torch.Tensor:
        """The net's forecast in scaled units, with ``window_norm`` applied around it.

        Shapes:
            x: (B, window, input_size) -> (B, horizon, output_size)
        """
        if self.window_norm == "none":
            return self.net(x)
        last = x[:, -1:, :]  # (B, 1, F)
        return self.net(x - last) + last[..., : self.output_size]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forecast(x)

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        """The forecast in the series' own units, for a scaled window.

        Shapes:
            x: (B, window, input_size) -> (B, horizon, output_size)
        """
        return self.to_original(self.forecast(x))

    def prediction_table(
        self, names: list[str], predicted: torch.Tensor, datamodule: Any
    ) -> tuple[list[str], list[list[Any]]]:
        """``input, step, <target>...``: one row per forecast step, in the series' units.

        Shapes:
            predicted: (N, horizon, output_size), N == len(names)
        """
        targets = list(getattr(datamodule, "target_names", []) or range(predicted.shape[-1]))
        header = ["input", "step", *map(str, targets)]
        rows = [
            [name, step + 1, *(f"{v:.6g}" for v in values.tolist())]
            for name, forecast in zip(names, predicted, strict=True)
            for step, values in enumerate(forecast)
        ]
        return header, rows

    def _shared_step(self, batch: Any, stage: str) -> torch.Tensor:
        (x, *_), y = self.split_batch(batch)  # (B, W, F), (B, H, C)
        pred = self.forecast(x)  # (B, H, C)
        if pred.shape != y.shape:
            raise ConfigError(
                f"the net forecasts {tuple(pred.shape)} but the targets are {tuple(y.shape)} "
                "(batch, horizon, targets): the net's horizon / output_size must match the data"
            )
        loss = self.criterion(pred, y)
        self._accumulate(
            stage, torch.stack([loss.detach() * y.shape[0], loss.new_tensor(y.shape[0])])
        )
        if stage == "train":
            return loss
        pred, truth = self.to_original(pred.detach()), self.to_original(y)
        # the naive forecast: the last observed value of each target, for every step ahead
        naive = self.to_original(x[:, -1:, : self.output_size]).expand_as(truth)
        getattr(self, f"{stage}_metrics").update(pred, truth)
        getattr(self, f"{stage}_naive").update(naive, truth)
        if stage not in self.examples:
            self._keep_examples(stage, x, truth, pred, naive)
        return loss

    def _keep_examples(
        self,
        stage: str,
        x: torch.Tensor,
        truth: torch.Tensor,
        pred: torch.Tensor,
        naive: torch.Tensor,
    ) -> None:
        """Keep a few windows of the epoch's first batch, spread over it, for a figure."""
        pick = torch.linspace(0, x.shape[0] - 1, min(FIGURE_WINDOWS, x.shape[0])).long()
        pick = pick.unique().to(x.device)
        self.examples[stage] = {
            "history": self.to_original(x[pick, :, : self.output_size]).cpu(),
            "truth": truth[pick].cpu(),
            "forecast": pred[pick].cpu(),
            "naive": naive[pick].cpu(),
        }

    def _log_epoch(self, stage: str) -> None:
        sums = self._epoch_sums(stage)
        values: dict[str, torch.Tensor] = {}
        if sums is not None:
            values[f"{stage}/loss"] = sums[0] / sums[1]
        if stage != "train":
            collection = getattr(self, f"{stage}_metrics")
            naive = getattr(self, f"{stage}_naive")
            if naive.update_called:
                computed = {f"{stage}/{k}": v for k, v in collection.compute().items()}
                computed[f"{stage}/naive_mase"] = naive.compute()
                computed[f"{stage}/mase_vs_naive"] = (
                    computed[f"{stage}/mase"] / computed[f"{stage}/naive_mase"]
                )
                values.update(computed)
            collection.reset()
            naive.reset()
        self._log_epoch_values(values)

    def on_validation_epoch_start(self) -> None:
        self.examples.pop("val", None)

    def on_test_epoch_start(self) -> None:
        self.examples.pop("test", None)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")
