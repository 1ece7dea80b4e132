"""Real trainings of the experiments with their defaults, against published-level targets.

Marked slow: CI runs them after the default suite (`make test-slow`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlzoo.pipeline import train

# experiment -> minimum test accuracy of the best checkpoint with the defaults
TARGETS = {"digits_cnn": 0.98, "digits_resnet": 0.98, "digits_mlp": 0.95, "mnist_cnn": 0.95}


@pytest.mark.slow
@pytest.mark.parametrize("experiment", sorted(TARGETS))
def test_experiment_reaches_its_target(make_cfg, experiment: str) -> None:
    cfg = make_cfg(f"experiment={experiment}", "trainer.accelerator=cpu")
    train(cfg)
    metrics = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())
    assert metrics["test"]["test/acc"] >= TARGETS[experiment], metrics["test"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_digits_cnn_target_holds_across_seeds(make_cfg, seed: int) -> None:
    cfg = make_cfg("experiment=digits_cnn", f"seed={seed}", "trainer.accelerator=cpu")
    train(cfg)
    metrics = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())
    assert metrics["test"]["test/acc"] >= 0.98, metrics["test"]
