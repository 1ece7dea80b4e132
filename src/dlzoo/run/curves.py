"""Learning curves from ``history.csv``: read without pandas, drawn without pyplot.

One drawing serves :meth:`dlzoo.run.result.Result.plot` (a notebook), the run's own
``figures/learning_curves.png`` (:mod:`dlzoo.run.run_figures`) and ``dlzoo-runs
plot=`` (:mod:`dlzoo.run.runs_plot`). A cross-validated run has no ``history.csv`` of
its own: its folds' (``fold_K/history.csv``) stand for it.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dlzoo.config.layout import HISTORY_FILE

# a history's columns by name, a value per epoch (NaN for an epoch without it)
Columns = dict[str, list[float]]


def history_files(run_dir: str | Path) -> list[tuple[int | None, Path]]:
    """``(fold, path)`` of the run's ``history.csv`` (fold ``None``), or else of each
    fold's, in fold order; empty for a run that trained nothing."""
    run_dir = Path(run_dir)
    own = run_dir / HISTORY_FILE
    if own.is_file():
        return [(None, own)]
    found = run_dir.glob(f"fold_*/{HISTORY_FILE}")
    return sorted((int(p.parent.name.rsplit("_", 1)[-1]), p) for p in found)


def _number(cell: str | None) -> float:
    """A cell as a float: NaN when empty (an epoch without validation) or not a number."""
    try:
        return float(cell) if cell else math.nan
    except ValueError:
        return math.nan


def read_history(path: str | Path) -> Columns:
    """``history.csv``'s columns as floats (the ``csv`` module: pandas costs a second
    to import, more than a small run's figures)."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        names = list(reader.fieldnames or [])
    return {name: [_number(row.get(name)) for row in rows] for name in names}


def run_histories(run_dir: str | Path) -> list[tuple[int | None, Columns]]:
    """``(fold, columns)`` for each of :func:`history_files`."""
    return [(fold, read_history(path)) for fold, path in history_files(run_dir)]


def points(columns: Columns, name: str) -> tuple[list[float], list[float]]:
    """The epochs and values of one column, epochs without a value left out."""
    pairs = zip(columns.get("epoch", []), columns.get(name, []), strict=False)
    kept = [(e, v) for e, v in pairs if not math.isnan(v)]
    return [e for e, _ in kept], [v for _, v in kept]


def default_metrics(optimized_metric: str | None) -> list[str]:
    """``loss`` and the optimised metric's name (``acc`` of ``val/acc``)."""
    optimized = str(optimized_metric or "val/loss").rsplit("/", 1)[-1]
    return list(dict.fromkeys(["loss", optimized]))


def curves_figure(
    histories: Sequence[tuple[int | None, Columns]], metrics: Sequence[str], title: str = ""
) -> Any:
    """A panel per metric, each stage's curve of it against the epoch.

    Args:
        histories: ``(fold, columns)`` per history (fold ``None`` for a plain run).
        metrics: names matching a column (``lr``) or every stage's column of it
            (``loss``: ``train/loss`` and ``val/loss``).
        title: the figure's title (the run directory's name).

    Returns:
        A matplotlib figure, made without pyplot.
    """
    from matplotlib.ticker import MaxNLocator

    from dlzoo.callbacks.drawing import new_figure

    names = list(metrics) or ["loss"]
    fig = new_figure(figsize=(4.5 * len(names), 3.5))
    known = list(dict.fromkeys(c for _, columns in histories for c in columns))
    for ax, name in zip(fig.subplots(1, len(names), squeeze=False)[0], names, strict=True):
        matching = [c for c in known if c == name or c.endswith(f"/{name}")]
        for fold, columns in histories:
            for column in (c for c in matching if c in columns):
                label = column if fold is None else f"{column} (fold {fold})"
                ax.plot(*points(columns, column), marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(name)
        if matching:
            ax.legend(fontsize="small")
    if title:
        fig.suptitle(title, fontsize="small")
    fig.tight_layout()
    return fig
