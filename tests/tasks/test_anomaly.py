"""Anomaly detection: the threshold rules on hand-built scores, the threshold fitted on
the validation split only, the loss on normal samples, scores and flags out."""

from __future__ import annotations

import functools

import pytest
import torch

from dlzoo.errors import ConfigError, TrainingError
from dlzoo.models.autoencoder import Autoencoder
from dlzoo.run.pipeline import build, fit, score
from dlzoo.tasks.anomaly import (
    AnomalyTask,
    f1_threshold,
    percentile_threshold,
    threshold_metrics,
)
from dlzoo.tasks.reconstruction import ReconstructionTask

SGD = functools.partial(torch.optim.SGD, lr=0.1)


def flags(*values: int) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.bool)


def test_percentile_of_the_normal_scores_only() -> None:
    scores = torch.tensor([5.0, 1.0, 100.0, 3.0, 2.0, 4.0])
    anomaly = flags(0, 0, 1, 0, 0, 0)
    assert percentile_threshold(scores, anomaly, 50) == pytest.approx(3.0)
    # linear interpolation at position 0.95 * 4 = 3.8 of the sorted 1 .. 5
    assert percentile_threshold(scores, anomaly, 95) == pytest.approx(4.8)
    with pytest.raises(TrainingError, match="no normal sample"):
        percentile_threshold(scores[2:3], anomaly[2:3], 95)


def test_f1_threshold_by_hand() -> None:
    scores = torch.tensor([0.1, 0.2, 0.3, 0.9, 0.8, 0.25])
    anomaly = flags(0, 0, 0, 1, 1, 1)
    # calling the top k anomalies: F1 = 2 TP / (k + 3) = 1/2, 4/5, 4/6, 6/7, 6/8, 6/9
    threshold = f1_threshold(scores, anomaly)
    assert threshold == pytest.approx((0.25 + 0.2) / 2)
    metrics = threshold_metrics(scores, anomaly, threshold)
    assert metrics == pytest.approx({"precision": 3 / 4, "recall": 1.0, "f1": 6 / 7})


def test_f1_threshold_does_not_cut_equal_scores() -> None:
    # k = 1 would split the tie at 0.5; k = 2 (F1 2/3) beats k = 3 (1/2)
    assert f1_threshold(torch.tensor([0.5, 0.5, 0.1]), flags(1, 0, 0)) == pytest.approx(0.3)
    # every sample an anomaly: the threshold is just below the lowest score
    scores = torch.tensor([0.2, 0.1])
    threshold = f1_threshold(scores, flags(1, 1))
    assert threshold == pytest.approx(0.1) and (scores > threshold).all()
    with pytest.raises(TrainingError, match=r"use task\.threshold=percentile"):
        f1_threshold(torch.tensor([0.2, 0.1]), flags(0, 0))


def test_threshold_metrics_when_nothing_is_called() -> None:
    metrics = threshold_metrics(torch.tensor([0.1, 0.2]), flags(0, 1), 1.0)
    assert metrics == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def make_task(**kwargs) -> AnomalyTask:
    torch.manual_seed(0)
    net, _ = Autoencoder.example()
    return AnomalyTask(net.eval(), optimizer=SGD, **{"normal_classes": [0], **kwargs})


def test_the_loss_counts_normal_samples_only() -> None:
    task = make_task()
    x = torch.rand(6, 1, 4, 4)
    anomaly = flags(0, 1, 0, 0, 1, 0)
    batch = {"x": x, "target": x, "label": anomaly.long(), "anomaly": anomaly}
    loss = task._shared_step(batch, "val")
    normal = {k: v[~anomaly] for k, v in batch.items()}
    plain = ReconstructionTask(task.net, optimizer=SGD, loss="mse")
    torch.testing.assert_close(loss, plain._shared_step(normal, "val"))
    assert task._sums["val"][-1].item() == 4  # samples counted
    # the scores keep every sample: the mean squared error per pixel
    torch.testing.assert_close(task.scores["val"].compute(), task.score(x))
    expected = (task.net(x) - x).square().flatten(1).mean(dim=1)
    torch.testing.assert_close(task.score(x), expected)


def test_infer_gives_scores_and_flags_at_the_threshold() -> None:
    task = make_task().requires_grad_(False)
    x = torch.rand(4, 1, 4, 4)
    scores = task.score(x)
    task.threshold.fill_(float(scores.median()))
    predicted = task.infer(x)
    assert predicted.shape == (4, 2)
    torch.testing.assert_close(predicted[:, 0], scores)
    assert torch.equal(predicted[:, 1], (scores > task.threshold).float())
    header, rows = task.prediction_table(["a", "b", "c", "d"], predicted, None)
    assert header == ["input", "score", "anomaly"]
    assert [row[2] for row in rows] == predicted[:, 1].int().tolist()
    assert "threshold" in task.state_dict()  # the checkpoint carries it


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"normal_classes": None}, "set data.normal_classes"),
        ({"threshold": "median"}, "task.threshold='median'; valid: percentile, f1"),
        ({"percentile": 100}, "task.percentile=100 must be in"),
    ],
)
def test_bad_anomaly_options_are_config_errors(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        make_task(**kwargs)


@pytest.mark.parametrize("rule", ["percentile", "f1"])
def test_threshold_is_fitted_on_validation_data_only(make_cfg, rule: str) -> None:
    cfg = make_cfg(
        "experiment=mnist_anomaly_one_class",
        "data@data.base=digits",
        f"task.threshold={rule}",
        "trainer.max_epochs=3",
        "callbacks=none",
        "logger=none",
    )
    run = build(cfg)
    fit(run)
    scores = score(run, None, fitted=True)
    task, dm = run.task, run.datamodule
    threshold = float(task.threshold)
    assert scores.val["val/threshold"] == pytest.approx(threshold)
    # the stored threshold is the rule applied to the validation scores
    x_val, _, _, val_flags = dm.tensors["val"]
    with torch.no_grad():
        assert task.eval().fit_threshold(task.score(x_val), val_flags) == pytest.approx(threshold)
    assert {"test/auroc", "test/pr_auc", "test/precision", "test/recall", "test/f1"} <= set(
        scores.test
    )
    assert torch.equal(task.test_flags, dm.tensors["test"][3])
    assert len(task.test_scores) == len(dm.tensors["test"][0])
    # other test data give other test scores, never another threshold
    x, target, label, anomaly = dm.tensors["test"]
    dm.tensors["test"] = (x.flip(-1), target.flip(-1), label, anomaly)
    tested = run.trainer.test(task, datamodule=dm, verbose=False)[0]
    assert float(task.threshold) == threshold
    assert tested["test/auroc"] != pytest.approx(scores.test["test/auroc"])
