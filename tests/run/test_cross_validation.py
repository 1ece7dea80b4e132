"""k-fold cross-validation: the folds' split, every datamodule's fold, the K-run driver."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from dlzoo.data.image.packaged import DigitsDataModule
from dlzoo.data.series.ucr import UCRDataModule
from dlzoo.data.splits import fold_split
from dlzoo.errors import ConfigError
from dlzoo.run.cross_validation import check_cv
from dlzoo.run.pipeline import train
from dlzoo.run.repeats import summarize

FAST = ("trainer.max_epochs=1", "trainer.limit_train_batches=2", "logger=none")


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(3, 30), min_size=2, max_size=5),
    folds=st.integers(2, 6),
    seed=st.integers(0, 1000),
)
def test_folds_are_disjoint_stratified_and_cover_every_sample(counts, folds, seed):
    labels = np.repeat(np.arange(len(counts)), counts)
    tests = []
    for fold in range(folds):
        train_idx, val_idx, test_idx = fold_split(labels, folds, fold, 0.2, seed)
        parts = np.concatenate([train_idx, val_idx, test_idx])
        assert sorted(parts.tolist()) == list(range(len(labels)))  # one split each
        for cls, n in enumerate(counts):  # each class's share of the test fold
            in_test = int((labels[test_idx] == cls).sum())
            assert abs(in_test - n / folds) < 1 + 1e-9
        tests.append(test_idx)
    # over the folds every sample is tested exactly once
    assert sorted(np.concatenate(tests).tolist()) == list(range(len(labels)))


def test_the_folds_do_not_depend_on_which_fold_is_asked_for():
    labels = np.repeat([0, 1, 2], [10, 7, 5])
    a = fold_split(labels, 4, 1, 0.25, seed=3)
    b = fold_split(labels, 4, 1, 0.25, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(fold_split(labels, 4, 2, 0.25, seed=3)[2], a[2])


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"folds": 0}, "cv.folds=0 must be an integer >= 1"),
        ({"folds": 2.5}, "must be an integer"),
        ({"folds": 1, "fold": 0}, "needs cv.folds >= 2"),
        ({"folds": 3, "fold": 3}, "cv.fold=3 must be below cv.folds=3"),
        ({"folds": 3, "k": 1}, "unknown key cv.k"),
    ],
)
def test_bad_cv_values_name_the_key(node, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("+", r"\+")):
        check_cv(OmegaConf.create({"cv": node}))


def test_summary_is_the_mean_and_std_of_what_every_fold_has():
    per_fold = [
        {"val": {"val/acc": 0.5}, "test": {"test/acc": 0.6, "test/only_here": 1.0}},
        {"val": {"val/acc": 0.7}, "test": {"test/acc": 0.8}},
    ]
    summary = summarize(per_fold)
    assert summary["test"] == pytest.approx({"test/acc": 0.7})
    assert summary["test_std"] == pytest.approx({"test/acc": 0.1})
    assert summary["val"] == pytest.approx({"val/acc": 0.6})


def test_image_folds_test_on_disjoint_parts_and_fit_on_the_training_part():
    seen = []
    for fold in range(3):
        dm = DigitsDataModule(seed=0)
        dm.use_fold(fold, 3)
        dm.setup("fit")
        idx = dm.split_indices
        assert set(idx["train"]).isdisjoint(idx["test"]) and set(idx["val"]).isdisjoint(idx["test"])
        assert len(idx["train"]) + len(idx["val"]) + len(idx["test"]) == 1797
        assert abs(len(idx["test"]) - 1797 / 3) <= 10  # one per class of rounding at most
        seen.append(idx["test"])
    assert sorted(np.concatenate(seen).tolist()) == list(range(1797))


def test_ucr_folds_pool_the_official_train_and_test_cases():
    plain = UCRDataModule("GunPoint", seed=0)
    plain.setup("fit")
    total = sum(len(t[0]) for t in plain.tensors.values())
    dm = UCRDataModule("GunPoint", seed=0)
    dm.use_fold(0, 5)
    dm.setup("fit")
    sizes = {s: len(t[0]) for s, t in dm.tensors.items()}
    assert sum(sizes.values()) == total  # 50 train + 150 test cases
    assert sizes["test"] == total // 5
    assert len(dm.tensors["test"][1].unique()) == 2


def test_a_fold_is_refused_after_setup():
    dm = DigitsDataModule(seed=0)
    dm.setup("fit")
    with pytest.raises(ConfigError, match="before setup"):
        dm.use_fold(0, 3)


def test_a_cv_run_trains_every_fold_and_writes_their_mean(make_cfg):
    cfg = make_cfg("experiment=digits_cnn", "cv.folds=3", *FAST)
    value = train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    summary = json.loads((run_dir / "metrics.json").read_text())
    folds = [json.loads((run_dir / f"fold_{k}" / "metrics.json").read_text()) for k in range(3)]
    accs = [f["test"]["test/acc"] for f in folds]
    assert summary["cv_folds"] == 3
    assert summary["test"]["test/acc"] == pytest.approx(np.mean(accs))
    assert summary["test_std"]["test/acc"] == pytest.approx(np.std(accs))
    assert "test/baseline_majority_acc" in summary["test"]
    assert value == pytest.approx(np.mean([f["val"]["val/acc"] for f in folds]))
    tests = [np.load(run_dir / f"fold_{k}" / "split.npz")["test"] for k in range(3)]
    assert sorted(np.concatenate(tests).tolist()) == list(range(1797))
    saved = OmegaConf.load(run_dir / "fold_1" / ".hydra" / "config.yaml")
    assert saved.cv.fold == 1  # a fold's run directory rebuilds its own split


def test_cv_on_a_forecast_is_refused_with_one_line(make_cfg):
    cfg = make_cfg("experiment=sunspots_gru", "cv.folds=3", *FAST)
    with pytest.raises(ConfigError, match="cannot be cross-validated"):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "metrics.json").exists()
