"""``seeds=N`` / ``seeds=[...]``: one run per seed under one run directory, their mean ±
std as one row, composable with ``cv.folds``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from dlzoo.config.compose import compose_config
from dlzoo.errors import ConfigError
from dlzoo.run.pipeline import train
from dlzoo.run.runs_table import collect
from dlzoo.run.seeds import check_seeds

FAST = ("experiment=digits_cnn", "trainer.max_epochs=1", "trainer.limit_train_batches=3",
        "logger=none")  # fmt: skip


@pytest.mark.parametrize(
    ("seeds", "want"), [(None, []), (1, [0]), (3, [0, 1, 2]), ([7, 0, 42], [7, 0, 42])]
)
def test_seeds_are_a_count_or_a_list(seeds: object, want: list[int]) -> None:
    assert check_seeds(OmegaConf.create({"seeds": seeds})) == want


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"seeds": 0}, "give a count"),
        ({"seeds": "five"}, "give a count"),
        ({"seeds": [1, 1.5]}, "list of integers"),
        ({"seeds": []}, "give a count"),
        ({"seeds": [3, 3]}, "repeats a seed"),
        ({"seeds": 2, "resume": True}, "fresh run per seed"),
    ],
)
def test_bad_seeds_are_one_line(node: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_seeds(OmegaConf.create(node))


def _train(tmp_path: Path, *overrides: str) -> tuple[Path, dict]:
    run = tmp_path / "run"
    train(compose_config([f"paths.log_dir={tmp_path}", *FAST, *overrides], run_dir=run))
    return run, json.loads((run / "metrics.json").read_text())


def test_one_run_per_seed_and_their_mean_and_std(tmp_path: Path) -> None:
    run, summary = _train(tmp_path, "seeds=[0,5]")
    children = [json.loads((run / f"seed_{s}" / "metrics.json").read_text()) for s in (0, 5)]
    assert [c["seed"] for c in children] == [0, 5]
    assert children[0]["test"] != children[1]["test"]  # the seed changes the run
    accs = np.array([c["test"]["test/acc"] for c in children])
    assert summary["test"]["test/acc"] == pytest.approx(accs.mean())
    assert summary["test_std"]["test/acc"] == pytest.approx(accs.std())
    # the baselines' mean too: the split is seeded, so they move with the seed
    logreg = [c["test"]["test/baseline_logreg_acc"] for c in children]
    assert summary["test"]["test/baseline_logreg_acc"] == pytest.approx(np.mean(logreg))
    assert summary["seed_count"] == 2 and [s["seed"] for s in summary["seeds"]] == [0, 5]
    (row,) = collect(tmp_path)  # one row, its seeds inside
    cells = row.cells()
    assert row.best_epoch == "2 seeds" and "±" in cells["value"]
    assert "logreg_acc" in cells["baselines"] and "±" in cells["baselines"]


def test_seeds_with_folds_are_a_cross_validation_per_seed(tmp_path: Path) -> None:
    run, summary = _train(tmp_path, "seeds=2", "cv.folds=2")
    means = []
    for seed in (0, 1):
        seed_summary = json.loads((run / f"seed_{seed}" / "metrics.json").read_text())
        assert seed_summary["cv_folds"] == 2
        folds = [json.loads((run / f"seed_{seed}" / f"fold_{k}" / "metrics.json").read_text())
                 for k in (0, 1)]  # fmt: skip
        assert {f["seed"] for f in folds} == {seed}
        means.append(np.mean([f["test"]["test/acc"] for f in folds]))
    assert summary["test"]["test/acc"] == pytest.approx(np.mean(means))
    assert len(collect(tmp_path)) == 1
