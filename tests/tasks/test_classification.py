"""The classification task: losses, metrics by hand, parameter groups."""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.tasks.classification import ClassificationTask


class FixedLogits(nn.Module):
    """Returns the batch itself as logits, so a test chooses the predictions."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


def make_task(loss: str = "cross_entropy", **kwargs: object) -> ClassificationTask:
    return ClassificationTask(
        FixedLogits(),
        num_classes=3,
        optimizer=functools.partial(torch.optim.SGD, lr=0.1),
        loss=loss,
        **kwargs,
    )


def one_hot_logits(preds: list[int]) -> torch.Tensor:
    return F.one_hot(torch.tensor(preds), 3).float() * 5


def test_validation_metrics_by_hand() -> None:
    task = make_task()
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    preds = [0, 1, 1, 1, 2, 0]
    task._shared_step((one_hot_logits(preds), y), "val")
    values = task.val_metrics.compute()
    # per class: precision 1/2, 2/3, 1; recall 1/2, 1, 1/2
    precision = (1 / 2 + 2 / 3 + 1) / 3
    recall = (1 / 2 + 1 + 1 / 2) / 3
    f1 = (2 * (0.5 * 0.5) / 1.0 + 2 * (2 / 3) / (5 / 3) + 2 * 0.5 / 1.5) / 3
    assert values["acc"].item() == pytest.approx(4 / 6)
    assert values["precision"].item() == pytest.approx(precision)
    assert values["recall"].item() == pytest.approx(recall)
    assert values["f1"].item() == pytest.approx(f1)
    expected = torch.tensor([[1, 1, 0], [0, 2, 0], [1, 0, 1]])
    assert torch.equal(task.val_confmat.compute(), expected)


def test_epoch_sums_average_over_samples_not_batches() -> None:
    task = make_task()
    batches = [
        (one_hot_logits([0, 1, 2]), torch.tensor([0, 1, 0])),
        (one_hot_logits([2]), torch.tensor([2])),
    ]
    losses = [task._shared_step(b, "train") for b in batches]
    sums = task._sums["train"]
    assert sums[2].item() == 4
    assert sums[1].item() == 3  # correct predictions
    assert (sums[0] / sums[2]).item() == pytest.approx((losses[0] * 3 + losses[1]).item() / 4)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll", "bce", "mse", "rmse"])
def test_losses_match_their_definition(loss: str) -> None:
    task = make_task(loss)
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    y = torch.tensor([0, 2])
    target = F.one_hot(y, 3).float()
    expected = {
        "cross_entropy": F.cross_entropy(logits, y),
        "nll": F.nll_loss(F.log_softmax(logits, -1), y),
        "bce": F.binary_cross_entropy_with_logits(logits, target),
        "mse": F.mse_loss(logits.softmax(-1), target),
        "rmse": F.mse_loss(logits.softmax(-1), target).sqrt(),
    }[loss]
    assert task.compute_loss(logits, y).item() == pytest.approx(expected.item(), rel=1e-5)


def test_loss_and_smoothing_errors() -> None:
    with pytest.raises(ConfigError, match="huber"):
        make_task("huber")
    with pytest.raises(ConfigError, match="label_smoothing"):
        make_task("nll", label_smoothing=0.1)


def test_optimizer_gets_decay_groups() -> None:
    net = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 3))
    task = ClassificationTask(
        net, 3, functools.partial(torch.optim.AdamW, lr=1e-3, weight_decay=0.05)
    )
    optimizer = task.configure_optimizers()
    decays = sorted(g["weight_decay"] for g in optimizer.param_groups)
    assert decays == [0.0, 0.05]
    assert sum(len(g["params"]) for g in optimizer.param_groups) == 6


def test_fast_attribute_path_keeps_module_semantics() -> None:
    task = make_task()
    task._current_fx_name = "training_step"
    assert task._current_fx_name == "training_step"
    assert task.__dict__["_current_fx_name"] == "training_step"
    task.extra = nn.Linear(2, 2)  # every other attribute still goes through nn.Module
    assert "extra" in dict(task.named_children())
    assert any(name.startswith("extra.") for name, _ in task.named_parameters())
