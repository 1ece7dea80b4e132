"""``dlzoo-runs DIR plot=METRIC``: one metric per epoch across every run under a folder,
a line per run, from each run's ``history.csv``.

A line is labelled with the run's experiment and the overrides that tell the runs apart
(:func:`dlzoo.run.runs_table.swept_keys`); runs that share a label get their directory
beside it. A cross-validated run is one line, its folds' mean at each epoch. Runs
without the metric (another task, a run that trained nothing) are left out. Neither
Lightning nor pyplot is imported.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from dlzoo.errors import ConfigError
from dlzoo.run.curves import Columns, points, run_histories
from dlzoo.run.runs_table import RunRow, collect, swept_keys


def mean_curve(histories: list[tuple[int | None, Columns]], metric: str) -> tuple[list, list]:
    """The metric's epochs and values; over folds, the mean of those that reached each
    epoch (a fold stopped early counts up to its last epoch).

    Args:
        histories: ``(fold, columns)`` per history (:func:`dlzoo.run.curves.run_histories`).
        metric: a column name, e.g. ``val/acc``.
    """
    by_epoch: dict[float, list[float]] = {}
    for _, columns in histories:
        for epoch, value in zip(*points(columns, metric), strict=True):
            by_epoch.setdefault(epoch, []).append(value)
    epochs = sorted(by_epoch)
    return epochs, [sum(by_epoch[e]) / len(by_epoch[e]) for e in epochs]


def labels(rows: list[RunRow]) -> list[str]:
    """A legend entry per run: its experiment and swept overrides, unique."""
    swept = swept_keys(rows)
    names = [
        " ".join([r.experiment, *(f"{k}={r.params[k]}" for k in swept if k in r.params)]).strip()
        or r.run
        for r in rows
    ]
    # the same overrides twice (a rerun, seeds left out): their directories tell them apart
    counts = Counter(names)
    return [f"{n} ({r.run})" if counts[n] > 1 else n for n, r in zip(names, rows, strict=True)]


def runs_figure(root: str | Path, metric: str) -> Any:
    """Draw ``metric`` per epoch for every run under ``root`` that logged it.

    Args:
        root: a folder of runs (as ``dlzoo-runs`` takes it).
        metric: a ``history.csv`` column, e.g. ``val/acc`` or ``train/loss``.

    Returns:
        A matplotlib figure (without pyplot) with one line per run.

    Raises:
        ConfigError: ``root`` is not a folder, or no run under it has ``metric``.
    """
    from matplotlib.ticker import MaxNLocator

    from dlzoo.callbacks.drawing import new_figure

    rows, curves, known = [], [], set()
    for row in collect(root):
        histories = run_histories(Path(root) / row.run)
        known.update(c for _, columns in histories for c in columns)
        curve = mean_curve(histories, metric)
        if curve[0]:
            rows.append(row)
            curves.append(curve)
    if not curves:
        have = ", ".join(sorted(known - {"epoch"})) or "no history.csv"
        raise ConfigError(f"plot={metric}: no run under {root} has it per epoch; they have {have}")
    fig = new_figure(figsize=(8.0, 4.5))
    ax = fig.subplots()
    for label, (epochs, values) in zip(labels(rows), curves, strict=True):
        ax.plot(epochs, values, marker="o", markersize=3, label=label)
    ax.set(xlabel="epoch", ylabel=metric, title=f"{metric}: {len(curves)} runs under {root}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_runs(root: str | Path, metric: str, path: str | Path | None = None) -> Path:
    """Write :func:`runs_figure` as a PNG file; return its path.

    Args:
        root: a folder of runs.
        metric: the ``history.csv`` column to draw.
        path: the file; by default ``root/runs_<metric>.png`` (``/`` as ``_``).

    Raises:
        ConfigError: as :func:`runs_figure`.
    """
    from dlzoo.callbacks.drawing import save_figure

    fig = runs_figure(root, metric)
    target = Path(path) if path else Path(root) / f"runs_{metric.replace('/', '_')}.png"
    return save_figure(fig, target)
