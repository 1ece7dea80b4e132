"""Run protocols one after another and read back what they gave.

Each protocol trains in this process, as ``dlzoo-train`` would with the protocol's
overrides, into ``LOG_DIR/<protocol name>`` (a repeated-seed or cross-validated run
directory: :mod:`dlzoo.run.repeats`), with a progress line before and after it. Its
outcome is read from that directory's ``metrics.json``. A finished protocol leaves
``reproduce.json`` (its wall time) beside it, so the same command with the same ``dir=``
goes on after a stop: what finished is read back, not trained again, and a folder whose
run was composed otherwise than the protocol is now is refused before anything trains.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from dlzoo.callbacks.progress import say
from dlzoo.config.layout import METRICS_FILE
from dlzoo.errors import ConfigError, TrainingError
from dlzoo.reproduce.protocols import Protocol
from dlzoo.reproduce.table import Outcome, verdict
from dlzoo.run.artefacts import write_json_atomic
from dlzoo.run.report import baseline_label

__all__ = ["finished_seconds", "outcome_of", "refuse_changed", "reproduce", "run_protocol"]

RECORD_FILE = "reproduce.json"


def _pair(payload: dict[str, Any], name: str) -> tuple[float, float] | None:
    """``(mean, std)`` of the test metric ``name`` (std 0 for a single run)."""
    value = (payload.get("test") or {}).get(name)
    if value is None:
        return None
    return float(value), float((payload.get("test_std") or {}).get(name, 0.0))


def _selected(payload: dict[str, Any], key: str) -> tuple[float, float] | None:
    """``(mean, std)`` of a selection :mod:`dlzoo.run.epoch_selection` wrote."""
    entry = payload.get(key)
    return None if not entry else (entry["test/acc"], entry["test_std/acc"])


def _label(name: str) -> str:
    """A baseline's short name: ``logreg_acc``, ``naive_mase``."""
    return baseline_label(name) if "baseline_" in name else name.removeprefix("test/")


def _runs(payload: dict[str, Any]) -> int:
    return len(payload.get("seeds") or payload.get("folds") or [None])


def outcome_of(
    protocol: Protocol, run_dir: Path, seconds: float, earlier: dict[str, Outcome]
) -> Outcome:
    """A finished protocol's :class:`~dlzoo.reproduce.table.Outcome`.

    Args:
        protocol: the protocol.
        run_dir: its run directory (``metrics.json`` written).
        seconds: its wall time.
        earlier: the outcomes so far, by name (for ``against``).

    Raises:
        TrainingError: the run reported no ``protocol.metric`` (or no ``best_mean_epoch``
            where the protocol selects by it).
    """
    payload = json.loads((run_dir / METRICS_FILE).read_text())
    judged, also = _pair(payload, protocol.metric), {}
    if protocol.selection == "best_mean_epoch":
        own, judged = judged, _selected(payload, "best_mean_epoch")
        also = {
            "each fold's checkpoint by validation": own,
            "the last epoch": _selected(payload, "last_epoch"),
        }
        also = {k: v for k, v in also.items() if v is not None}
    if judged is None:
        raise TrainingError(
            f"protocol {protocol.name}: {run_dir / METRICS_FILE} has no {protocol.metric} "
            f"({protocol.selection}): fix the protocol's metric in its protocol file"
        )
    names = protocol.baselines or sorted(k for k in payload.get("test") or {} if "baseline_" in k)
    baselines = {_label(n): pair for n in names if (pair := _pair(payload, n))}
    for name in protocol.against:
        baselines[name] = (earlier[name].mean, earlier[name].std)
    return Outcome(
        protocol=protocol,
        mean=judged[0],
        std=judged[1],
        runs=_runs(payload),
        seconds=seconds,
        run_dir=run_dir,
        baselines=baselines,
        also=also,
    )


def finished_seconds(run_dir: Path) -> float | None:
    """The wall time of a protocol that finished in ``run_dir``, or ``None`` where
    none did (no record, or it stopped before its summary). Whether it ran this
    protocol's config is :func:`refuse_changed`'s question."""
    record = run_dir / RECORD_FILE
    if not record.is_file() or not (run_dir / METRICS_FILE).is_file():
        return None
    return float(json.loads(record.read_text())["seconds"])


def refuse_changed(protocol: Protocol, run_dir: Path, budget: bool) -> None:
    """Refuse a ``run_dir`` whose run was composed otherwise than the protocol is now
    (its experiment's YAML changed since): its numbers are not this protocol's.

    Raises:
        ConfigError: naming the protocol, the folder and the first differing key.
    """
    from dlzoo.config.compose import compose_config
    from dlzoo.config.run_claim import config_difference

    found = config_difference(run_dir, compose_config(protocol.command(budget), run_dir))
    if found is not None:
        key, was, now = found
        raise ConfigError(
            f"protocol {protocol.name}: {run_dir} holds a run of another config ({key}={was}, "
            f"now {now}): give a new dir=, or remove that folder to train it again"
        )


def run_protocol(protocol: Protocol, run_dir: Path, budget: bool) -> float:
    """Train one protocol into ``run_dir`` and record its wall time there
    (:data:`RECORD_FILE`); its wall time in seconds.

    Raises:
        TrainingError: the run stopped before writing its summary (a signal): what
            finished stays in ``run_dir``, and the message says how to go on.
    """
    from dlzoo.config.compose import compose_config
    from dlzoo.run.pipeline import train

    started = time.perf_counter()
    train(compose_config(protocol.command(budget), run_dir))
    if not (run_dir / METRICS_FILE).is_file():
        raise TrainingError(
            f"protocol {protocol.name} stopped before its summary (its runs so far are in "
            f"{run_dir}): run the same command with dir={run_dir.parent} to go on"
        )
    seconds = time.perf_counter() - started
    write_json_atomic(run_dir / RECORD_FILE, {"seconds": seconds})
    return seconds


def reproduce(protocols: list[Protocol], log_dir: Path, budget: bool) -> list[Outcome]:
    """Run every protocol into ``log_dir/<name>``, one after another.

    Args:
        protocols: the protocols, in order (those named by ``against`` first).
        log_dir: the folder of their run directories; a protocol already finished
            there with the same config is read back, not trained again.
        budget: run each with its ``budget`` overrides.

    Returns:
        Each protocol's outcome, in order.

    Raises:
        ConfigError: a protocol's overrides do not compose, or its folder holds a run
            of another config (before anything runs).
        TrainingError: a protocol stopped before its summary (a signal).
    """
    from dlzoo.config.preflight import preflight

    # every protocol's overrides before the first training: a typo in the last one
    # fails now, not after the others have run
    for protocol in protocols:
        preflight(protocol.command(budget))
        if (log_dir / protocol.name).is_dir():
            refuse_changed(protocol, log_dir / protocol.name, budget)
    outcomes: dict[str, Outcome] = {}
    for i, protocol in enumerate(protocols, start=1):
        head = f"[{i}/{len(protocols)}] {protocol.name}"
        seconds = finished_seconds(log_dir / protocol.name)
        if seconds is None:
            say(f"{head}: {' '.join(protocol.command(budget))}")
            seconds = run_protocol(protocol, log_dir / protocol.name, budget)
        else:
            say(f"{head}: finished before in {log_dir / protocol.name}, read back")
        outcome = outcome_of(protocol, log_dir / protocol.name, seconds, outcomes)
        outcomes[protocol.name] = outcome
        published = "" if protocol.published is None else f", published {protocol.published:.3f}"
        say(
            f"{head}: {protocol.metric} {outcome.mean:.4g} ± {outcome.std:.2g}{published} "
            f"({verdict(outcome)}) in {seconds:.0f} s"
        )
    return list(outcomes.values())
