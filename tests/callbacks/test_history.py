"""history.csv: a row per epoch with every logged metric, in every run directory, kept
whole across a resume and written per cross-validation fold."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dlzoo.run.pipeline import train
from dlzoo.run.result import load


def rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_a_row_per_epoch_with_every_logged_metric_whatever_the_callbacks(make_cfg) -> None:
    cfg = make_cfg(
        "debug=limit",
        "trainer.max_epochs=3",
        "trainer.check_val_every_n_epoch=2",  # epochs 1 and 3 have no validation
        "callbacks=none",  # history.csv is not a configured callback: always there
        "logger=none",
    )
    train(cfg)
    history = rows(Path(cfg.paths.output_dir))
    assert [r["epoch"] for r in history] == ["1", "2", "3"]
    assert [r["step"] for r in history] == ["3", "6", "9"]  # 3 batches an epoch
    assert list(history[0])[:4] == ["epoch", "step", "lr", "seconds"]
    assert {"train/loss", "train/acc", "val/loss", "val/acc", "val/f1"} <= set(history[0])
    assert [r["val/acc"] != "" for r in history] == [False, True, False]
    assert all(float(r["train/loss"]) > 0 and float(r["lr"]) > 0 for r in history)


def test_a_resumed_run_keeps_its_rows_and_writes_each_epoch_once(make_cfg) -> None:
    cfg = make_cfg("debug=limit")  # a logger: the learning-rate monitor logs too
    train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    before = rows(run_dir)
    # each epoch's own rate (the monitor logs the next one before the row is written)
    rates = [float(r["lr-Adam/decay"]) for r in before]
    assert rates == pytest.approx([float(r["lr"]) for r in before], rel=1e-6)  # float32
    assert float(before[0]["lr"]) > float(before[1]["lr"])  # the cosine schedule
    # a row the checkpoint does not cover (last.ckpt may be older than the history)
    with open(run_dir / "history.csv", "a", newline="") as f:
        f.write("3,999,0.1,0.1\n")
    last = run_dir / "checkpoints" / "last.ckpt"
    train(make_cfg("debug=limit", "logger=none", "trainer.max_epochs=3", "resume=true",
                   f"ckpt_path={last}"))  # fmt: skip
    after = rows(run_dir)
    assert [r["epoch"] for r in after] == ["1", "2", "3"]
    assert after[:2] == before and after[2]["step"] == "9"


def test_every_cross_validation_fold_gets_its_history(make_cfg) -> None:
    cfg = make_cfg("debug=limit", "logger=none", "cv.folds=2")
    train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    for fold in (0, 1):
        assert [r["epoch"] for r in rows(run_dir / f"fold_{fold}")] == ["1", "2"]
    result = load(run_dir)  # the parent: the folds, one after the other
    assert list(result.history["fold"]) == [0, 0, 1, 1]
    assert list(result.history["epoch"]) == [1, 2, 1, 2]
    loss = result.plot().axes[0]  # train/loss and val/loss, a curve per fold
    assert [line.get_label() for line in loss.lines] == [
        *("train/loss (fold 0)", "val/loss (fold 0)", "train/loss (fold 1)", "val/loss (fold 1)")
    ]
    # the parent's figures/learning_curves.png draws the same curves
    assert (run_dir / "figures" / "learning_curves.png").stat().st_size > 0
