"""A trial's status (``ok`` / ``pruned`` / ``failed`` / ``interrupted`` / ``unfinished``)
and what a trial that raises inside a multirun leaves behind.

In a multirun a trial that raises must not end the sweep: it writes
``<run_dir>/error.json`` (``{"status": "failed", "error": "Type: one line", ...}``),
logs its traceback to its own log, and returns the worst value of the optimised
metric, so a sampler learns to avoid it and the summary shows why it failed.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from dlzoo.config.layout import METRICS_FILE
from dlzoo.run.artefacts import write_json_atomic

__all__ = [
    "ERROR_FILE",
    "INTERRUPTED_FILE",
    "error_line",
    "in_multirun",
    "read_status",
    "record_failure",
    "worst_value",
]

ERROR_FILE = "error.json"
# a run stopped by SIGINT / SIGTERM, resumable from its last.ckpt (dlzoo.run.interrupt)
INTERRUPTED_FILE = "interrupted.json"
log = logging.getLogger(__name__)


def worst_value(mode: str) -> float:
    """The worst value a metric optimised with ``mode`` (``max`` / ``min``) can take."""
    return -math.inf if str(mode) == "max" else math.inf


def error_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (of the constructor's error, for one that
    Hydra's ``instantiate`` wrapped)."""
    from hydra.errors import InstantiationException

    if isinstance(exc, InstantiationException) and exc.__cause__ is not None:
        exc = exc.__cause__
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def in_multirun() -> bool:
    """Whether this process runs a job of a Hydra multirun."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _run_dir(cfg: DictConfig) -> Path:
    from hydra.core.hydra_config import HydraConfig

    try:
        return Path(cfg.paths.output_dir)
    except Exception:  # a config too broken to resolve its own paths
        return Path(HydraConfig.get().runtime.output_dir)


def _traceback_to_log_file(exc: BaseException) -> None:
    """The traceback in the trial's own log file; the console keeps the one line while
    the sweep goes on."""
    record = log.makeRecord(
        log.name, logging.ERROR, __file__, 0, "traceback:", (), (type(exc), exc, exc.__traceback__)
    )
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def record_failure(cfg: DictConfig, exc: BaseException) -> float:
    """Write ``error.json`` for a trial that raised, log its traceback, return the worst
    value of ``cfg.optimized_metric``.

    Args:
        cfg: the trial's config.
        exc: what it raised.
    """
    metric, mode = cfg.get("optimized_metric"), cfg.get("optimized_mode", "max")
    worst = worst_value(mode)
    run_dir = _run_dir(cfg)
    log.error("trial failed (%s): %s", run_dir, error_line(exc))
    _traceback_to_log_file(exc)
    payload = {
        "status": "failed",
        "error": error_line(exc),
        "optimized_metric": metric,
        "optimized_value": worst,
    }
    write_json_atomic(run_dir / ERROR_FILE, payload)
    return worst


def read_status(run_dir: Path) -> tuple[str, str, dict[str, Any]]:
    """What a run directory says about its run.

    Returns:
        ``(status, error line, payload)``: ``failed`` with its ``error.json``,
        ``ok`` / ``pruned`` with its ``metrics.json``, ``interrupted`` with its
        ``interrupted.json`` (a run finished after it was resumed is ``ok``), or
        ``unfinished`` with ``{}``.
    """
    error = run_dir / ERROR_FILE
    if error.is_file():
        payload = json.loads(error.read_text())
        return "failed", str(payload.get("error", "")), payload
    metrics = run_dir / METRICS_FILE
    if metrics.is_file():
        payload = json.loads(metrics.read_text())
        return str(payload.get("status", "ok")), "", payload
    interrupted = run_dir / INTERRUPTED_FILE
    if interrupted.is_file():
        return "interrupted", "", json.loads(interrupted.read_text())
    return "unfinished", "", {}
