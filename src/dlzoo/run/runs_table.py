"""Every run under a folder as one row: the experiment, the overrides typed for it,
the headline test metric beside its baselines, the best epoch, the fit time and a
status: ``ok``; ``pruned`` (stopped by an Optuna pruner); ``failed`` (a sweep's trial
that raised: its ``error.json``, whose line is in the ``error`` column); ``interrupted``
(stopped by SIGINT / SIGTERM, resumable: its ``interrupted.json``); ``unfinished`` for a
run without any of these (killed, still running, or stopped by bad input). A
cross-validated or repeated-seed run is one row with its mean ± std; its ``fold_k`` /
``seed_s`` directories are not listed again. ``dlzoo-runs`` prints these rows; a
multirun's summary holds them (:mod:`dlzoo.sweeps.summary`).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlzoo.config.layout import CONFIG_FILE, METRICS_FILE, OVERRIDES_FILE
from dlzoo.config.trial_names import is_bookkeeping
from dlzoo.errors import ConfigError
from dlzoo.run.report import HEADLINE, baseline_label
from dlzoo.run.status import ERROR_FILE, read_status

FORMATS = ("text", "markdown", "csv")
# the child runs of one row (dlzoo.run.repeats)
CHILD_PREFIXES = ("fold_", "seed_")
COLUMNS = (
    *("run", "experiment", "overrides", "metric", "value", "baselines"),
    *("best_epoch", "fit_s", "status", "error"),
)


@dataclass
class RunRow:
    """One run directory's line: what it is, what it scored, whether it finished."""

    run: str
    experiment: str
    overrides: str
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    std: dict[str, float] = field(default_factory=dict)
    best_epoch: Any = None
    fit_seconds: float | None = None
    error: str = ""
    # the run's overrides as key -> value (without the experiment and bookkeeping)
    params: dict[str, str] = field(default_factory=dict)
    optimized_metric: str | None = None
    optimized_value: float | None = None

    def headline(self) -> str | None:
        """The first of :data:`dlzoo.run.report.HEADLINE` the run reported, as ``test/..``."""
        return next((f"test/{n}" for n in HEADLINE if f"test/{n}" in self.metrics), None)

    def cells(self) -> dict[str, str]:
        name = self.headline()
        value = "" if name is None else f"{self.metrics[name]:.4g}"
        if name in self.std:
            value += f" ± {self.std[name]:.2g}"
        baselines = ", ".join(
            f"{baseline_label(k)} {v:.4g}" + (f" ± {self.std[k]:.2g}" if k in self.std else "")
            for k, v in self.metrics.items()
            if "baseline_" in k
        )
        fit = "" if self.fit_seconds is None else f"{self.fit_seconds:.1f}"
        best = "" if self.best_epoch is None else str(self.best_epoch)
        values = [self.run, self.experiment, self.overrides, name or "", value, baselines]
        values += [best, fit, self.status, self.error]
        return dict(zip(COLUMNS, values, strict=True))


def _overrides(run_dir: Path) -> list[str]:
    path = run_dir / OVERRIDES_FILE
    if not path.is_file():
        return []
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [line[2:].strip() for line in lines if line.startswith("- ")]


def _experiment(run_dir: Path, overrides: list[str]) -> str:
    for item in overrides:
        if item.startswith("experiment="):
            return item.split("=", 1)[1]
    config = run_dir / CONFIG_FILE
    for line in config.read_text().splitlines() if config.is_file() else []:
        if line.startswith("task_name:"):
            return line.split(":", 1)[1].strip()
    return ""


def _row(run_dir: Path, root: Path) -> RunRow:
    overrides = _overrides(run_dir)
    # the experiment has its column; where a run was written, or a sweep's bookkeeping
    # (dlzoo.config.trial_names), says nothing about it
    shown = [o for o in overrides if not is_bookkeeping(o)]
    status, error, payload = read_status(run_dir)
    row = RunRow(
        str(run_dir.relative_to(root)),
        _experiment(run_dir, overrides),
        " ".join(shown),
        status,
        error=error,
        params=dict(o.lstrip("+~").split("=", 1) for o in shown if "=" in o),
        optimized_metric=payload.get("optimized_metric"),
        optimized_value=payload.get("optimized_value"),
    )
    if status in ("unfinished", "failed"):
        return row
    row.metrics = {k: float(v) for k, v in (payload.get("test") or {}).items()}
    row.std = {k: float(v) for k, v in (payload.get("test_std") or {}).items()}
    row.best_epoch = payload.get("best_epoch")
    if "cv_folds" in payload:
        row.best_epoch = f"{payload['cv_folds']} folds"
    if "seed_count" in payload:
        row.best_epoch = f"{payload['seed_count']} seeds"
    row.fit_seconds = payload.get("fit_seconds")
    return row


def collect(root: str | Path) -> list[RunRow]:
    """A row per run directory under ``root`` (one with ``.hydra``, ``metrics.json`` or
    ``error.json``),
    in path order; a cross-validation's folds and a repeated run's seeds are inside its
    row.

    Raises:
        ConfigError: ``root`` is not a directory.
    """
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"{root} is not a directory: give dir=LOGS (a folder of runs)")
    found = {p.parent.parent for p in root.rglob(str(CONFIG_FILE))}
    found |= {p.parent for p in root.rglob(METRICS_FILE)}
    found |= {p.parent for p in root.rglob(ERROR_FILE)}
    children = {d for d in found if d.name.startswith(CHILD_PREFIXES) and d.parent in found}
    return [_row(d, root) for d in sorted(found - children)]


def swept_keys(rows: list[RunRow], declared: tuple[str, ...] = ()) -> list[str]:
    """The parameters a set of runs was swept over: ``declared`` (a search file's
    ``params``), then every override key whose value differs between the runs.

    Args:
        rows: the runs (e.g. one multirun's trials).
        declared: keys known to be swept, even where every run drew the same value.
    """
    keys = list(dict.fromkeys(k.lstrip("+~") for k in declared))
    seen = dict.fromkeys(k for r in rows for k in r.params)
    for key in seen:
        if key not in keys and len({r.params.get(key) for r in rows}) > 1:
            keys.append(key)
    return keys


def sort_rows(rows: list[RunRow], metric: str) -> list[RunRow]:
    """By ``metric`` (descending; ``-metric`` ascending); runs without it last."""
    if not metric:
        return rows
    name, descending = metric.lstrip("-"), not metric.startswith("-")
    if not any(name in r.metrics for r in rows):
        known = sorted({k for r in rows for k in r.metrics})
        raise ConfigError(f"sort={name}: no run reports it; the runs have {', '.join(known)}")

    def key(row: RunRow) -> tuple[bool, float]:
        value = row.metrics.get(name, math.nan)
        missing = math.isnan(value)
        return (missing, -value if descending and not missing else value)

    return sorted(rows, key=key)


def render(rows: list[RunRow], fmt: str = "text") -> str:
    """The table as aligned text, a Markdown table or CSV.

    Raises:
        ConfigError: an unknown format.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"format={fmt}: valid formats are {', '.join(FORMATS)}")
    table = [row.cells() for row in rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
        return out.getvalue()
    if fmt == "markdown":
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(r[c] for c in COLUMNS) + " |" for r in table]
        return "\n".join(lines) + "\n"
    widths = {c: max([len(c), *(len(r[c]) for r in table)]) for c in COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS)]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in COLUMNS) for r in table]
    return "\n".join(line.rstrip() for line in lines) + "\n"
