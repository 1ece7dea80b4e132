"""The published protocol's epoch selection (the best mean test accuracy over folds),
computed by hand and from a real cross-validation's per-epoch test scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlzoo.errors import ConfigError
from dlzoo.run.epoch_selection import best_mean_epoch, epoch_scores, last_epoch
from dlzoo.run.pipeline import train


def test_the_best_epoch_of_the_mean_over_runs() -> None:
    # the second run has a 4th epoch the first lacks: only epochs 1-3 count
    best = best_mean_epoch([[0.5, 0.8, 0.7], [0.7, 0.6, 0.9, 1.0]])
    assert best == pytest.approx({"epoch": 3, "test/acc": 0.8, "test_std/acc": 0.1})
    assert best_mean_epoch([[0.5, 0.5], [0.6, 0.6]])["epoch"] == 1  # the first of ties
    assert best_mean_epoch([[0.5], []]) is None
    last = last_epoch([[0.5, 0.8, 0.7], [0.7, 0.6, 0.9, 1.0]])  # epoch 3: the last of both
    assert last == pytest.approx({"epoch": 3, "test/acc": 0.8, "test_std/acc": 0.1})
    assert last_epoch([[0.6, 0.8], [0.8, 0.6]])["test/acc"] == pytest.approx(0.7)


def test_a_cross_validation_reports_both_selections(make_cfg) -> None:
    # with no monitor the "best" checkpoint is the last epoch's, so each fold's test/acc
    # must be the test score its last epoch logged
    cfg = make_cfg(
        "experiment=mutag_gin0",
        "cv.folds=2",
        "trainer.max_epochs=3",
        "callbacks.model_checkpoint.monitor=null",
        "logger=none",
    )
    train(cfg)
    run = Path(cfg.paths.output_dir)
    scores = [epoch_scores(run / f"fold_{k}") for k in range(2)]
    assert [len(s) for s in scores] == [3, 3] and all(0 <= v <= 1 for s in scores for v in s)
    payload = json.loads((run / "metrics.json").read_text())
    for k, fold in enumerate(payload["folds"]):
        assert fold["test"]["test/acc"] == pytest.approx(scores[k][-1], abs=1e-6)
    assert payload["best_mean_epoch"] == pytest.approx(best_mean_epoch(scores))
    assert payload["last_epoch"] == pytest.approx(last_epoch(scores))


def test_epoch_test_refuses_a_node_task(make_cfg) -> None:
    cfg = make_cfg(
        "experiment=karate_gcn",
        "+callbacks.epoch_test._target_=dlzoo.callbacks.epoch_test.EpochTestScore",
        "logger=none",
    )
    with pytest.raises(ConfigError, match=r"epoch_test.*NodeClassificationTask"):
        train(cfg)
