"""The epoch whose mean test accuracy over the folds is best: a published protocol's
number, reported beside the honest one.

Xu et al. (2019, "How powerful are graph neural networks?") give GIN-0 on MUTAG as
89.4 ± 5.6: each of 10 folds trained for 350 epochs, scored on its test fold after
every epoch, and the table's number is the epoch with the best mean over the folds
(their reference code; the paper says "the best cross-validation accuracy averaged over
the 10 folds"). That epoch is chosen by looking at the test folds, so it flatters the
net; dlzoo's own number picks each fold's checkpoint on its validation split and never
looks at the test fold. With ``callbacks=epoch_test`` every fold's ``history.csv``
holds ``epoch_test/acc``, and a cross-validation reports both (``RUN/metrics.json``
key ``best_mean_epoch``), and the folds' mean at their last epoch (``last_epoch``):
honest as well where the number of epochs was fixed beforehand, as the paper's 350.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from dlzoo.callbacks.epoch_test import EPOCH_TEST_ACC
from dlzoo.callbacks.progress import say
from dlzoo.config.layout import HISTORY_FILE, METRICS_FILE
from dlzoo.run.artefacts import write_json_atomic

__all__ = ["best_mean_epoch", "epoch_scores", "last_epoch", "report_best_mean_epoch"]


def epoch_scores(run_dir: Path) -> list[float]:
    """One run's ``epoch_test/acc`` per epoch, from its ``history.csv`` (empty when it
    has none: the run did not score its test split every epoch)."""
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [float(r[EPOCH_TEST_ACC]) for r in csv.DictReader(f) if r.get(EPOCH_TEST_ACC)]


def _table(scores: list[list[float]]) -> np.ndarray | None:
    """(runs, epochs) over the epochs every run has; ``None`` when one has none."""
    epochs = min((len(s) for s in scores), default=0)
    return np.array([s[:epochs] for s in scores]) if epochs else None


def _at(table: np.ndarray, epoch: int) -> dict[str, float]:
    """The runs' mean and std at ``epoch`` (0-based), with its 1-based number."""
    values = table[:, epoch]
    return {
        "epoch": epoch + 1,
        "test/acc": float(values.mean()),
        "test_std/acc": float(values.std()),
    }


def best_mean_epoch(scores: list[list[float]]) -> dict[str, float] | None:
    """The epoch with the best mean over runs, over the epochs every run has.

    Args:
        scores: each run's test accuracy per epoch (epoch 1 first).

    Returns:
        ``{"epoch": e, "test/acc": mean, "test_std/acc": population std}`` at the best
        epoch ``e`` (1-based; the first of ties), ``None`` when a run has no scores.
    """
    table = _table(scores)
    if table is None:
        return None
    return _at(table, int(table.mean(axis=0).argmax()))


def last_epoch(scores: list[list[float]]) -> dict[str, float] | None:
    """The runs' test accuracy at the last epoch they all have: an honest selection too,
    when the number of epochs was fixed before training (the paper's 350).

    Returns:
        ``{"epoch": e, "test/acc": mean, "test_std/acc": population std}``, ``None``
        when a run has no scores.
    """
    table = _table(scores)
    return None if table is None else _at(table, table.shape[1] - 1)


def report_best_mean_epoch(run_dir: Path, children: list[str]) -> dict[str, Any] | None:
    """Add ``best_mean_epoch`` and ``last_epoch`` to a cross-validation's
    ``RUN/metrics.json`` and say them.

    Args:
        run_dir: the cross-validation's run directory (its summary already written).
        children: the folds' subdirectories.

    Returns:
        The ``best_mean_epoch`` entry, ``None`` (and nothing written) when a fold did
        not score its test split every epoch.
    """
    scores = [epoch_scores(run_dir / c) for c in children]
    best, last = best_mean_epoch(scores), last_epoch(scores)
    if best is None or last is None:
        return None
    path = run_dir / METRICS_FILE
    payload = json.loads(path.read_text())
    write_json_atomic(path, {**payload, "best_mean_epoch": best, "last_epoch": last})
    say(
        f"the paper's selection (the epoch of the best mean test accuracy over the "
        f"folds: it looks at the test folds, so it flatters): test/acc "
        f"{best['test/acc']:.4g} ± {best['test_std/acc']:.2g} at epoch {best['epoch']}; "
        f"at the last epoch ({last['epoch']}): {last['test/acc']:.4g} ± "
        f"{last['test_std/acc']:.2g}"
    )
    return best
