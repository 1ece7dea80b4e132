"""MASE against values computed by hand."""

from __future__ import annotations

import pytest
import torch

from dlzoo.errors import ConfigError
from dlzoo.metrics.mase import MeanAbsoluteScaledError, naive_scale


def test_naive_scale_is_the_mean_absolute_one_step_difference() -> None:
    # |3-1|, |2-3|, |6-2| = 2, 1, 4 -> 7/3
    assert naive_scale(torch.tensor([1.0, 3.0, 2.0, 6.0])).item() == pytest.approx(7 / 3)
    two = torch.tensor([[1.0, 0.0], [3.0, 10.0], [2.0, 20.0]])  # (T, C)
    assert naive_scale(two).tolist() == pytest.approx([1.5, 10.0])


def test_mase_by_hand_over_batches() -> None:
    metric = MeanAbsoluteScaledError([0.5])
    # errors 1 and 3 in one batch, 2 in the next: MAE 2, MASE 2 / 0.5
    metric.update(torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [0.0]]))
    metric.update(torch.tensor([[4.0]]), torch.tensor([[2.0]]))
    assert metric.compute().item() == pytest.approx(4.0)


def test_mase_averages_each_targets_own_scaled_error() -> None:
    metric = MeanAbsoluteScaledError([1.0, 10.0])
    preds = torch.tensor([[[2.0, 30.0]], [[0.0, 10.0]]])  # (B=2, H=1, C=2)
    target = torch.zeros_like(preds)
    # target 0: MAE 1 / 1; target 1: MAE 20 / 10 -> mean of 1 and 2
    metric.update(preds, target)
    assert metric.compute().item() == pytest.approx(1.5)


def test_mase_of_the_naive_forecast_on_its_own_training_series_is_one() -> None:
    series = torch.randn(50).cumsum(0)
    metric = MeanAbsoluteScaledError([naive_scale(series).item()])
    metric.update(series[:-1, None], series[1:, None])
    assert metric.compute().item() == pytest.approx(1.0, rel=1e-5)


def test_bad_scale_and_shapes_fail_clearly() -> None:
    with pytest.raises(ConfigError, match="positive"):
        MeanAbsoluteScaledError([0.0])
    with pytest.raises(ValueError, match="same shape"):
        MeanAbsoluteScaledError([1.0]).update(torch.zeros(2, 2), torch.zeros(2, 2))
