"""What a run directory holds, by name, and the newest run of a task to resume."""

from __future__ import annotations

from pathlib import Path

METRICS_FILE = "metrics.json"
# every logged epoch-level metric, a row per epoch (dlzoo.callbacks.history)
HISTORY_FILE = "history.csv"
# the run's figures as PNG files, written once at its end (dlzoo.run.run_figures)
FIGURES_DIR = "figures"
CONFIG_FILE = Path(".hydra") / "config.yaml"
OVERRIDES_FILE = Path(".hydra") / "overrides.yaml"
# what resume=true continues from
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"


def latest_run(log_dir: str | Path, task_name: str) -> Path | None:
    """The newest run directory of ``task_name`` that has a ``last.ckpt`` to resume."""
    runs = Path(log_dir) / task_name / "runs"
    found = sorted(p for p in runs.glob("*") if (p / LAST_CHECKPOINT).is_file())
    return found[-1] if found else None
