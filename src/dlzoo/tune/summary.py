"""What a search leaves at its end: the results table, the best trial (its overrides,
run directory and checkpoint), how many trials the scheduler stopped early, and the
trials that failed; printed, and written to ``summary.md`` and ``best.yaml`` in the
search's directory.

Everything is read from the trials' run directories (their ``metrics.json``, or
``error.json`` for a failed one), as ``dlzoo-runs`` reads them; Ray's own results add
only the errors of trials that failed before their run directory had a config.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from dlzoo.config.layout import OVERRIDES_FILE
from dlzoo.run.runs_table import collect, render
from dlzoo.run.status import error_line, read_status
from dlzoo.tune.plan import TunePlan, describe

__all__ = ["BEST_FILE", "SUMMARY_FILE", "TuneSummary", "summarize"]

SUMMARY_FILE = "summary.md"
BEST_FILE = "best.yaml"


@dataclass
class TuneSummary:
    """A finished search, as printed and written.

    Args:
        plan: the search.
        trials: trial name -> ``(status, metrics.json or error.json payload)``.
        best: the best finished trial's name (``None``: no trial finished).
        errors: ``trial: error line`` of every failed trial.
        nodes: trial name -> the Ray node (its id) that trained it.
    """

    plan: TunePlan
    trials: dict[str, tuple[str, dict[str, Any]]]
    best: str | None
    errors: list[str] = field(default_factory=list)
    nodes: dict[str, str] = field(default_factory=dict)

    @property
    def stopped(self) -> int:
        """Trials the scheduler stopped before ``max_t`` epochs (status ``pruned``)."""
        return sum(status == "pruned" for status, _ in self.trials.values())

    def stopped_line(self) -> str:
        epochs = ", ".join(str(p.get("epochs", "?")) for _, p in self.trials.values())
        return (
            f"{self.plan.scheduler_label} stopped {self.stopped} of {len(self.trials)} "
            f"trials early (max_t {self.plan.max_t} epochs; epochs trained: {epochs})"
        )

    def nodes_line(self) -> str:
        """How many trials each Ray node trained (node ids shortened as Ray's CLI does)."""
        counts = Counter(self.nodes.values())
        spread = ", ".join(f"{n} on {node[:8]}" for node, n in counts.most_common())
        plural = "s" if len(counts) != 1 else ""
        return f"trials ran on {len(counts)} Ray node{plural}: {spread}"

    def best_record(self) -> dict[str, Any]:
        """The best trial as plain data: what ``best.yaml`` holds."""
        if self.best is None:
            return {"best": None, "search": describe(self.plan)}
        run_dir = self.plan.tune_dir / self.best
        payload = self.trials[self.best][1]
        checkpoint = payload.get("best_ckpt_path") or payload.get("last_ckpt_path")
        return {
            "trial": self.best,
            "metric": self.plan.metric,
            "value": _value(payload, self.plan.metric),
            "overrides": _overrides(run_dir),
            "run_dir": str(run_dir),
            "checkpoint": checkpoint,
            "evaluate": f"dlzoo-eval run_dir={run_dir}",
            "predict": f"dlzoo-predict run_dir={run_dir} input=FILE",
            "search": describe(self.plan),
        }

    def best_lines(self) -> list[str]:
        if self.best is None:
            return ["no trial finished: see the errors above and the trials' logs"]
        record = self.best_record()
        return [
            f"best trial: {record['trial']} ({record['metric']} = {record['value']:.4g})",
            f"  overrides: {' '.join(record['overrides'])}",
            f"  run directory: {record['run_dir']}",
            f"  checkpoint: {record['checkpoint']}",
            f"  {record['evaluate']}",
        ]

    def text(self, fmt: str = "text") -> str:
        """The results table, the failures, the best trial and the stopped line."""
        rows = collect(self.plan.tune_dir)
        lines = [render(rows, fmt).rstrip(), ""]
        lines += [f"failed: {e}" for e in self.errors]
        lines += [*self.best_lines(), self.stopped_line()]
        if self.plan.ray.address and self.nodes:
            lines.append(self.nodes_line())
        return "\n".join(lines)

    def write(self) -> Path:
        """Write ``summary.md`` and ``best.yaml`` into the search's directory."""
        tune_dir = self.plan.tune_dir
        title = f"# dlzoo-tune: {self.plan.train_cfg.get('task_name')}\n\n"
        (tune_dir / SUMMARY_FILE).write_text(title + self.text("markdown") + "\n")
        OmegaConf.save(OmegaConf.create(self.best_record()), tune_dir / BEST_FILE)
        return tune_dir / SUMMARY_FILE


def _overrides(run_dir: Path) -> list[str]:
    path = run_dir / OVERRIDES_FILE
    return [str(o) for o in OmegaConf.load(path)] if path.is_file() else []


def _value(payload: dict[str, Any], metric: str) -> float:
    """The trial's ``metric`` at its best checkpoint (NaN when it has none)."""
    if metric in payload.get("val", {}):
        return float(payload["val"][metric])
    if payload.get("optimized_metric") == metric and payload.get("optimized_value") is not None:
        return float(payload["optimized_value"])
    return math.nan


def _best(trials: dict[str, tuple[str, dict[str, Any]]], metric: str, mode: str) -> str | None:
    values = {
        name: _value(payload, metric)
        for name, (status, payload) in trials.items()
        if status in ("ok", "pruned")
    }
    finite = {k: v for k, v in values.items() if math.isfinite(v)}
    if not finite:
        return None
    pick = max if mode == "max" else min
    return pick(finite, key=finite.__getitem__)


def summarize(plan: TunePlan, results: Any) -> TuneSummary:
    """The summary of a finished search.

    Args:
        plan: the search.
        results: Ray's ``ResultGrid`` (for the errors of failed trials).
    """
    dirs = sorted(p.parent.parent for p in plan.tune_dir.glob(f"*/{OVERRIDES_FILE}"))
    trials = {}
    for run_dir in dirs:
        status, _, payload = read_status(run_dir)
        trials[run_dir.name] = (status, payload)
    errors = [
        f"{Path(result.path).name}: {error_line(result.error)}"
        for result in results
        if result.error is not None
    ]
    nodes = {
        Path(result.path).name: str(result.metrics["node"])
        for result in results
        if result.metrics and result.metrics.get("node")
    }
    return TuneSummary(plan, trials, _best(trials, plan.metric, plan.mode), errors, nodes)
