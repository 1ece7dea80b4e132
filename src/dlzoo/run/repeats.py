"""One row from several runs: K runs under one run directory, then their mean ± std.

Cross-validation (``cv.folds=K``: ``RUN/fold_k``) and repeated seeds (``seeds=N``:
``RUN/seed_s``) are both a list of child runs of the same config, each a whole run in
its own subdirectory (checkpoints, ``metrics.json``; ``dlzoo-eval`` and
``dlzoo-predict`` take it as any run directory), and a summary in ``RUN/metrics.json``:
the mean of every metric the children share in ``val`` / ``test`` (what a single run's
readers look for), their standard deviations in ``val_std`` / ``test_std``, and each
child's own numbers. The two compose: with both, each seed's run is a whole
cross-validation and the seeds' summary is over the seeds' means.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from dlzoo.callbacks.progress import say
from dlzoo.config.layout import METRICS_FILE
from dlzoo.run.artefacts import write_json_atomic
from dlzoo.run.report import HEADLINE, baseline_label
from dlzoo.run.run_figures import learning_curves

__all__ = ["Repeats", "child_config", "repeat", "summarize", "summary_line"]


@dataclass
class Repeats:
    """The child runs of one run directory.

    Args:
        label: what the summary line starts with (``10-fold cross-validation``).
        key: the summary's list of children in ``metrics.json`` (``folds``, ``seeds``).
        children: ``(subdirectory, config updates)`` of each child, in order.
        extra: more summary keys (``{"cv_folds": 10}``).
    """

    label: str
    key: str
    children: list[tuple[str, dict[str, Any]]]
    extra: dict[str, Any]


def child_config(cfg: DictConfig, subdir: str, updates: dict[str, Any]) -> DictConfig:
    """``cfg`` with ``updates`` set and its own directory ``RUN/subdir``."""
    out = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    # ${hydra:...} does not resolve outside Hydra's own call: fix the directory now
    base = Path(str(cfg.paths.output_dir))
    OmegaConf.update(out, "paths.output_dir", str(base / subdir), force_add=True)
    for key, value in updates.items():
        OmegaConf.update(out, key, value, force_add=True)
    return out


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation over runs of every metric all runs have.

    Args:
        runs: each run's ``metrics.json`` payload.

    Returns:
        ``val`` / ``test`` (means) and ``val_std`` / ``test_std`` (population standard
        deviations, as ``np.std`` and the GIN paper's table).
    """
    out: dict[str, dict[str, float]] = {}
    for stage in ("val", "test"):
        names = set.intersection(*(set(p.get(stage) or {}) for p in runs))
        values = {n: np.array([float(p[stage][n]) for p in runs]) for n in sorted(names)}
        out[stage] = {n: float(v.mean()) for n, v in values.items()}
        out[f"{stage}_std"] = {n: float(v.std()) for n, v in values.items()}
    return out


def summary_line(label: str, summary: dict[str, dict[str, float]]) -> str:
    """``10-fold cross-validation: test/acc 0.871 ± 0.052 (baselines: ...)``, the
    baselines' means and standard deviations beside the net's."""
    test, std = summary["test"], summary["test_std"]
    shown = [f"test/{n}" for n in HEADLINE if f"test/{n}" in test] or sorted(test)[:3]
    parts = [f"{k} {test[k]:.4g} ± {std[k]:.2g}" for k in shown]
    baselines = [
        f"{baseline_label(k)} {v:.4g} ± {std[k]:.2g}" for k, v in test.items() if "baseline_" in k
    ]
    if baselines:
        parts.append(f"(baselines: {', '.join(baselines)})")
    return f"{label}: " + "  ".join(parts)


def repeat(
    cfg: DictConfig, train: Callable[[DictConfig], float | None], repeats: Repeats
) -> float | None:
    """Train every child with ``train`` and write the summary ``metrics.json``.

    Args:
        cfg: the composed config of the parent run.
        train: trains one composed config (:func:`dlzoo.run.pipeline.train`).
        repeats: the children.

    Returns:
        The mean over children of ``cfg.optimized_metric``, ``None`` when a child did
        not finish (nothing is summarised then).
    """
    run_dir = Path(str(cfg.paths.output_dir))
    runs: list[dict[str, Any]] = []
    for k, (subdir, updates) in enumerate(repeats.children):
        say(f"{repeats.label}: {k + 1} of {len(repeats.children)} in {run_dir / subdir}")
        train(child_config(cfg, subdir, updates))
        path = run_dir / subdir / METRICS_FILE
        if not path.is_file():
            return None  # interrupted: the finished children keep their own results
        runs.append(json.loads(path.read_text()))
    summary = summarize(runs)
    name = str(cfg.optimized_metric)
    value = {**summary["val"], **summary["test"]}.get(name)
    listed = [
        {"dir": subdir, "seed": p.get("seed"), "val": p["val"], "test": p["test"]}
        for (subdir, _), p in zip(repeats.children, runs, strict=True)
    ]
    payload = {
        **summary,
        **repeats.extra,
        repeats.key: listed,
        "optimized_metric": name,
        "optimized_value": value,
        "data": runs[0].get("data"),
        "model": runs[0].get("model"),
        "seed": cfg.get("seed"),
    }
    write_json_atomic(run_dir / METRICS_FILE, payload)
    learning_curves(run_dir, name)  # the folds' curves together (each fold has its own)
    say(summary_line(repeats.label, summary))
    say(f"run directory: {run_dir.resolve()}")
    return value
