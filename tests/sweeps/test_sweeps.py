"""Hydra multiruns end to end: dlzoo's Optuna sweeper, the basic sweeper under the
joblib launcher, failed and pruned trials, the summary, SQLite studies, run names."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dlzoo.run.threads import cpu_count

TINY = [
    "experiment=digits_cnn",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "callbacks.confusion_matrix=null",
]


def _multirun(log_dir: Path, *overrides: str) -> Path:
    """Run ``scripts/train.py`` (a multirun) and return its multirun directory."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "scripts/train.py", "-m", *TINY, f"paths.log_dir={log_dir}", *overrides],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (sweep,) = (log_dir / "digits_cnn" / "multiruns").iterdir()
    return sweep


def _summary(sweep: Path) -> list[dict[str, str]]:
    with (sweep / "summary.csv").open() as f:
        return list(csv.DictReader(f))


def _trial_dirs(sweep: Path) -> list[Path]:
    return sorted(
        (p for p in sweep.iterdir() if p.is_dir()), key=lambda p: int(p.name.split("_")[0])
    )


def test_a_3_trial_optuna_sweep_in_sqlite_writes_the_summary(tmp_path: Path) -> None:
    db = tmp_path / "study.db"
    sweep = _multirun(
        tmp_path,
        "hparams_search=digits_cnn_tpe",
        "hydra.sweeper.n_trials=3",
        f"hydra.sweeper.storage=sqlite:///{db}",
        "hydra.sweeper.study_name=digits",
    )
    rows = _summary(sweep)
    assert [(r["trial"], r["status"]) for r in rows] == [("0", "ok"), ("1", "ok"), ("2", "ok")]
    assert list(rows[0])[:4] == ["trial", "optimizer.lr", "model.dropout", "optimizer.weight_decay"]
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    best = max(rows, key=lambda r: float(r["val/acc"]))
    assert best["best"] == "*" and sum(r["best"] == "*" for r in rows) == 1
    assert results["best_value"] == pytest.approx(float(best["val/acc"]), abs=1e-5)
    assert float(results["best_params"]["model.dropout"]) == float(best["model.dropout"])
    names = [p.name for p in _trial_dirs(sweep)]
    for name, row in zip(names, rows, strict=True):  # <num>_<overrides>, no bookkeeping
        assert name.startswith(f"{row['trial']}_") and "optimizer.lr=" in name
        assert "paths." not in name and "experiment=" not in name
    assert "best: trial" in (sweep / "summary.md").read_text().splitlines()[-1]
    import optuna

    study = optuna.load_study(study_name="digits", storage=f"sqlite:///{db}")
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3
    assert study.best_value == pytest.approx(results["best_value"])


@pytest.mark.slow
@pytest.mark.ci
def test_the_same_command_continues_a_sqlite_study(tmp_path: Path) -> None:
    storage = [f"hydra.sweeper.storage=sqlite:///{tmp_path / 'study.db'}"]
    storage.append("hydra.sweeper.study_name=digits")
    search = ["hparams_search=digits_cnn_tpe", *storage]
    _multirun(tmp_path / "a", *search, "hydra.sweeper.n_trials=1")
    # n_trials is the study's total: the second command runs the one trial missing
    again = _multirun(tmp_path / "b", *search, "hydra.sweeper.n_trials=2")
    assert [r["trial"] for r in _summary(again)] == ["0"]
    import optuna

    study = optuna.load_study(study_name="digits", storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert len(study.trials) == 2


def test_a_2x2_grid_completes_with_its_failing_trials_marked(tmp_path: Path) -> None:
    sweep = _multirun(
        tmp_path,
        "optimizer.lr=1e-3,3e-3",
        "model.dropout=0.1,2.0",  # 2.0 is no dropout probability: those trials raise
    )
    rows = _summary(sweep)
    cells = sorted((r["optimizer.lr"], r["model.dropout"], r["status"]) for r in rows)
    assert cells == [
        *(("0.001", "0.1", "ok"), ("0.001", "2.0", "failed")),
        *(("0.003", "0.1", "ok"), ("0.003", "2.0", "failed")),
    ]
    failed = [r for r in rows if r["status"] == "failed"]
    assert failed[0]["error"].startswith(
        "ValueError: dropout probability has to be between 0 and 1"
    )
    assert failed[0]["val/acc"] == "-inf" and sum(r["best"] == "*" for r in rows) == 1
    bad = next(t for t in _trial_dirs(sweep) if t.name.startswith(failed[0]["trial"] + "_"))
    error = json.loads((bad / "error.json").read_text())
    assert error["status"] == "failed" and error["optimized_metric"] == "val/acc"
    assert "Traceback" in (bad / "digits_cnn.log").read_text()


@pytest.mark.slow
def test_joblib_trials_share_the_cores_and_a_failing_one_does_not_stop_the_sweep(
    tmp_path: Path,
) -> None:
    sweep = _multirun(
        tmp_path,
        "model.dropout=0.1,2.0",  # 2.0 is no dropout probability: that trial raises
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
    )
    ok, failed = _summary(sweep)
    assert (ok["status"], failed["status"], failed["model.dropout"]) == ("ok", "failed", "2.0")
    assert failed["error"].startswith("ValueError: dropout probability has to be between 0 and 1")
    assert failed["val/acc"] == "-inf" and (ok["best"], failed["best"]) == ("*", "")
    good, bad = _trial_dirs(sweep)
    error = json.loads((bad / "error.json").read_text())
    assert error["status"] == "failed" and error["optimized_metric"] == "val/acc"
    assert "Traceback" in (bad / "digits_cnn.log").read_text()
    metrics = json.loads((good / "metrics.json").read_text())
    assert metrics["threads"] == max(1, cpu_count() // 2) and metrics["status"] == "ok"


TEMPLATE = """\
# @package _global_
# as in lightning-hydra-template: hydra-optuna-sweeper's class named explicitly
defaults:
  - override /hydra/sweeper: optuna
optimized_metric: val/acc
hydra:
  mode: MULTIRUN
  sweeper:
    _target_: hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper
    storage: null
    study_name: null
    n_jobs: 1
    direction: maximize
    n_trials: 1
    sampler:
      _target_: optuna.samplers.TPESampler
      seed: 1234
      n_startup_trials: 10
    params:
      optimizer.lr: interval(0.0001, 0.1)
      data.batch_size: choice(32, 64)
"""


def test_a_template_search_file_runs_unchanged_and_a_pruned_trial_is_marked(tmp_path: Path):
    extra = tmp_path / "conf" / "hparams_search"
    extra.mkdir(parents=True)
    (extra / "template_optuna.yaml").write_text(TEMPLATE)
    sweep = _multirun(
        tmp_path / "logs",
        f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
        "hparams_search=template_optuna",
        "trainer.max_epochs=3",
        # a pruner that prunes every trial after its first epoch (accuracy <= 1 < 1.1)
        "hydra.sweeper.pruner={_target_:optuna.pruners.ThresholdPruner,lower:1.1}",
    )
    (row,) = _summary(sweep)
    assert row["status"] == "pruned" and set(row) >= {"optimizer.lr", "data.batch_size"}
    (trial,) = _trial_dirs(sweep)
    metrics = json.loads((trial / "metrics.json").read_text())
    assert metrics["status"] == "pruned" and metrics["epochs"] == 1
    assert "callbacks.optuna_pruning" not in trial.name
    assert (sweep / "optuna.journal").is_file()  # the trial reported to the study there
