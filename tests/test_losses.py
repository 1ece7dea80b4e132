"""Losses by name."""

import math

import pytest
import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.losses import LOSSES, get_loss


def test_rmse_by_hand() -> None:
    pred, target = torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.0, 0.0, 1.0])
    # sqrt((0 + 4 + 9) / 3)
    assert get_loss("rmse")(pred, target).item() == pytest.approx(math.sqrt(13 / 3))


def test_names_map_to_torch_losses() -> None:
    assert isinstance(get_loss("bce"), nn.BCEWithLogitsLoss)
    assert isinstance(get_loss("nll"), nn.NLLLoss)
    assert get_loss("cross_entropy", label_smoothing=0.1).label_smoothing == 0.1
    assert set(LOSSES) >= {"mse", "rmse", "nll", "cross_entropy", "bce"}


def test_unknown_loss_lists_valid_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown loss 'hinge'.*cross_entropy.*rmse"):
        get_loss("hinge")
