"""The forecast task: metrics in the series' units and the naive reference, by hand."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch
from torch import nn

from dlzoo.data.loaders import TensorBatchLoader
from dlzoo.errors import ConfigError
from dlzoo.tasks.forecasting import ForecastTask


class LastPlus(nn.Module):
    """Forecast = the last input value plus a learnable shift (scaled units)."""

    def __init__(self, shift: float) -> None:
        super().__init__()
        self.shift = nn.Parameter(torch.tensor(shift))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, -1:, :1] + self.shift  # (B, 1, 1)


def quiet_trainer(**kwargs) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def task_for(net: nn.Module, **kwargs) -> ForecastTask:
    scaling = {"target_offset": [0.0], "target_scale": [1.0], "mase_scale": [1.0]}
    return ForecastTask(net, optimizer=torch.optim.Adam, **{**scaling, **kwargs})


def test_val_metrics_by_hand() -> None:
    # original = scaled * 2 + 10
    task = task_for(LastPlus(1.5), target_offset=[10.0], target_scale=[2.0], mase_scale=[0.5])
    x = torch.tensor([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]]).unsqueeze(-1)  # (2, 3, 1)
    y = torch.tensor([[3.0], [0.0]]).unsqueeze(-1)  # (2, 1, 1): 16 and 10
    # forecasts 3.5 and 2.5 -> 17 and 15: errors 1 and 5; naive 14 and 12: errors 2, 2
    loader = TensorBatchLoader(x, y, batch_size=1)  # two batches: sums across batches
    metrics = quiet_trainer().validate(task, dataloaders=loader, verbose=False)[0]
    assert metrics["val/mae"] == pytest.approx(3.0)
    assert metrics["val/rmse"] == pytest.approx(math.sqrt(13.0))
    assert metrics["val/mase"] == pytest.approx(6.0)
    assert metrics["val/naive_mase"] == pytest.approx(4.0)
    assert metrics["val/mase_vs_naive"] == pytest.approx(1.5)
    # the loss is on scaled values: (0.5^2 + 2.5^2) / 2
    assert metrics["val/loss"] == pytest.approx(3.25)
    kept = task.examples["val"]
    assert kept["history"].shape == (1, 3, 1) and kept["truth"].shape == (1, 1, 1)


def test_training_beats_the_naive_forecast_on_a_trending_series() -> None:
    # every step rises by 1: the naive forecast is always 1 short; the net learns the shift
    torch.manual_seed(0)
    start = torch.rand(64, 1, 1) * 10
    x = start + torch.arange(5.0).view(1, 5, 1)
    y = start + 5.0
    task = task_for(LastPlus(0.0), mase_scale=[1.0])
    task.optimizer_factory = lambda params: torch.optim.SGD(params, lr=0.5)
    loader = TensorBatchLoader(x, y, batch_size=16, shuffle=True)
    trainer = quiet_trainer(max_epochs=10)
    trainer.fit(task, train_dataloaders=loader)
    metrics = trainer.validate(task, dataloaders=TensorBatchLoader(x, y, batch_size=64))[0]
    assert metrics["val/naive_mase"] == pytest.approx(1.0)
    assert metrics["val/mase_vs_naive"] < 0.05


def test_bad_loss_and_mismatched_scaling_fail_clearly() -> None:
    with pytest.raises(ConfigError, match="valid: mse"):
        task_for(LastPlus(0.0), loss="cross_entropy")
    with pytest.raises(ConfigError, match="one value per target"):
        task_for(LastPlus(0.0), target_offset=[0.0, 1.0])


def test_a_forecast_of_the_wrong_shape_names_both_shapes() -> None:
    task = task_for(LastPlus(0.0))
    with pytest.raises(ConfigError, match=r"forecasts \(2, 1, 1\).*targets are \(2, 3, 1\)"):
        task._shared_step((torch.zeros(2, 4, 1), torch.zeros(2, 3, 1)), "train")


def test_window_norm_last_feeds_changes_and_adds_the_last_value_back() -> None:
    seen = []

    class Spy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x)
            return torch.zeros(x.shape[0], 2, 1) + self.w

    task = task_for(Spy(), window_norm="last")
    x = torch.tensor([[[5.0, 1.0], [7.0, 3.0]]])  # (1, 2, 2): a target and a covariate
    # the net sees the window minus its last row and forecasts no change: 7, 7
    assert task.forecast(x).flatten().tolist() == [7.0, 7.0]
    assert seen[0].tolist() == [[[-2.0, -2.0], [0.0, 0.0]]]
    with pytest.raises(ConfigError, match="window_norm"):
        task_for(Spy(), window_norm="first")
