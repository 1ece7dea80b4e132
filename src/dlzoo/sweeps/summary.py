"""``summary.csv`` and ``summary.md`` for every multirun directory.

One row per trial: its swept parameters as columns, the optimised metric's value, its
status (``ok`` / ``pruned`` / ``failed``, and the error line) and run directory; the
best trial is marked in the ``best`` column and named under the Markdown table. The
rows are :func:`dlzoo.run.runs_table.collect`'s, as ``dlzoo-runs`` shows them. Hydra calls
:class:`SweepSummary` at the end of every multirun (``hydra.callbacks`` in
``conf/hydra/default.yaml``), whichever sweeper and launcher ran it.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from dlzoo.run.runs_table import RunRow, collect, swept_keys

__all__ = ["SweepSummary", "best_row", "summary_table", "write_summary"]

SUMMARY_CSV, SUMMARY_MD = "summary.csv", "summary.md"


def _job_number(row: RunRow) -> tuple[int, str]:
    match = re.match(r"(\d+)", Path(row.run).name)
    return (int(match.group(1)) if match else math.inf, row.run)  # type: ignore[return-value]


def best_row(rows: list[RunRow], mode: str) -> RunRow | None:
    """The finished trial with the best finite optimised value (``mode``: max / min);
    a pruned trial stopped early and does not count, as for Optuna."""
    scored = [
        r
        for r in rows
        if r.status == "ok" and r.optimized_value is not None and math.isfinite(r.optimized_value)
    ]
    if not scored:
        return None
    pick = max if mode == "max" else min
    return pick(scored, key=lambda r: r.optimized_value)


def summary_table(
    rows: list[RunRow], metric: str, mode: str, declared: tuple[str, ...] = ()
) -> tuple[list[str], list[dict[str, str]]]:
    """The summary's columns and cells, trials in job order.

    Args:
        rows: the multirun's runs.
        metric: the optimised metric (a column of its own).
        mode: ``max`` or ``min``: which value is best.
        declared: the keys the sweeper was told to search.
    """
    rows = sorted(rows, key=_job_number)
    params = swept_keys(rows, declared)
    best = best_row(rows, mode)
    columns = ["trial", *params, metric, "status", "error", "best", "run"]
    table = []
    for row in rows:
        value = "" if row.optimized_value is None else f"{row.optimized_value:.6g}"
        cells = {"trial": str(_job_number(row)[0]), metric: value, "status": row.status}
        cells.update({k: row.params.get(k, "") for k in params})
        cells.update(error=row.error, best="*" if row is best else "", run=row.run)
        table.append(cells)
    return columns, table


def _markdown(columns: list[str], table: list[dict[str, str]], best: str) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(r[c].replace("|", "\\|") for c in columns) + " |" for r in table]
    return "\n".join([*lines, "", best]) + "\n"


def write_summary(
    sweep_dir: Path, metric: str, mode: str, declared: tuple[str, ...] = ()
) -> str | None:
    """Write ``summary.csv`` and ``summary.md`` into ``sweep_dir``.

    Returns:
        The line naming the best trial, or ``None`` when the directory has no runs.
    """
    if not sweep_dir.is_dir():
        return None
    rows = collect(sweep_dir)
    if not rows:
        return None
    columns, table = summary_table(rows, metric, mode, declared)
    best = best_row(rows, mode)
    line = (
        f"best: trial {_job_number(best)[0]} ({best.run}) {metric} {best.optimized_value:.6g}"
        if best
        else f"best: none (no trial reported {metric})"
    )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    (sweep_dir / SUMMARY_CSV).write_text(out.getvalue())
    (sweep_dir / SUMMARY_MD).write_text(_markdown(columns, table, line))
    return line


class SweepSummary(Callback):
    """Hydra callback: the summary of a multirun, written when it ends."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        sweeper = config.hydra.sweeper
        direction = str(sweeper.get("direction") or "")
        mode = {"maximize": "max", "minimize": "min"}.get(direction)
        mode = mode or str(config.get("optimized_mode", "max"))
        params = sweeper.get("params") or {}
        declared = tuple(OmegaConf.to_container(params)) if params else ()
        line = write_summary(sweep_dir, str(config.get("optimized_metric")), mode, declared)
        if line:
            print(f"[dlzoo] {line}; summary: {sweep_dir / SUMMARY_MD}")
