"""K-fold cross-validation: ``cv.folds=K`` trains K runs under one run directory.

Fold ``k`` is a whole run in ``RUN/fold_k`` (its own checkpoints, ``metrics.json``,
split record and TensorBoard events; ``dlzoo-predict`` and ``dlzoo-eval`` take it as any
run directory), built with ``cv.fold=k``: the datamodule deals its samples into K
disjoint stratified parts (:func:`dlzoo.data.splits.fold_split`), tests on part ``k``
and validates on a share of the rest. ``RUN/metrics.json`` then holds the mean of every
metric over the folds in ``val`` / ``test`` (what a single run's readers look for),
their standard deviations in ``val_std`` / ``test_std`` and each fold's own numbers in
``folds``; ``RUN/figures/learning_curves.png`` draws every fold's curves together;
the log shows ``mean ± std`` beside the baselines' means.

Small datasets (MUTAG's 188 graphs, UCR problems) give test accuracies that move by
several points with the split alone; the mean over folds is the number published for
them (GIN on MUTAG: 89.4 ± 5.6 over 10 folds).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from dlzoo.callbacks.progress import say
from dlzoo.config.layout import METRICS_FILE
from dlzoo.errors import ConfigError
from dlzoo.run.artefacts import write_json_atomic
from dlzoo.run.report import HEADLINE, baseline_label
from dlzoo.run.run_figures import learning_curves

__all__ = ["check_cv", "cross_validate", "summarize"]

CV_KEYS = {"folds", "fold"}


def _int(value: Any, key: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"cv.{key}={value!r} must be an integer >= {low} (e.g. cv.folds=10)")
    return value


def check_cv(cfg: DictConfig) -> tuple[int, int | None]:
    """``(folds, fold)`` of the config's ``cv`` node: ``(1, None)`` without one.

    Raises:
        ConfigError: an unknown key, a non-integer or out-of-range value, or a fold run
            that resumes or continues from a checkpoint.
    """
    node = cfg.get("cv") or {}
    unknown = sorted(set(node) - CV_KEYS)
    if unknown:
        raise ConfigError(f"unknown key cv.{unknown[0]}; valid: fold, folds")
    folds = _int(node.get("folds", 1), "folds", 1)
    fold = node.get("fold")
    if fold is not None:
        if folds < 2:
            raise ConfigError(f"cv.fold={fold} needs cv.folds >= 2 (e.g. cv.folds=10)")
        if _int(fold, "fold", 0) >= folds:
            raise ConfigError(f"cv.fold={fold} must be below cv.folds={folds}")
    if folds > 1 and (cfg.get("ckpt_path") or cfg.get("resume")):
        raise ConfigError(
            "cv.folds trains a fresh run per fold: remove ckpt_path / resume (continue one "
            "fold with its own run directory instead)"
        )
    return folds, fold


def _fold_config(cfg: DictConfig, fold: int) -> DictConfig:
    """``cfg`` for fold ``fold``: ``cv.fold`` set, its own directory under the run's."""
    out = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    # ${hydra:...} does not resolve outside Hydra's own call: fix the directory now
    base = Path(str(cfg.paths.output_dir))
    OmegaConf.update(out, "paths.output_dir", str(base / f"fold_{fold}"), force_add=True)
    OmegaConf.update(out, "cv.fold", fold, force_add=True)
    return out


def summarize(per_fold: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation over folds of every metric all folds have.

    Args:
        per_fold: each fold's ``metrics.json`` payload.

    Returns:
        ``val`` / ``test`` (means) and ``val_std`` / ``test_std`` (population standard
        deviations, as ``np.std`` and the GIN paper's table).
    """
    out: dict[str, dict[str, float]] = {}
    for stage in ("val", "test"):
        names = set.intersection(*(set(p.get(stage) or {}) for p in per_fold))
        values = {n: np.array([float(p[stage][n]) for p in per_fold]) for n in sorted(names)}
        out[stage] = {n: float(v.mean()) for n, v in values.items()}
        out[f"{stage}_std"] = {n: float(v.std()) for n, v in values.items()}
    return out


def summary_line(folds: int, summary: dict[str, dict[str, float]]) -> str:
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
    return f"{folds}-fold cross-validation: " + "  ".join(parts)


def cross_validate(cfg: DictConfig, train: Callable[[DictConfig], float | None]) -> float | None:
    """Train every fold with ``train`` and write the summary ``metrics.json``.

    Args:
        cfg: the composed config with ``cv.folds`` >= 2 and no ``cv.fold``.
        train: trains one composed config (:func:`dlzoo.run.pipeline.train`).

    Returns:
        The mean over folds of ``cfg.optimized_metric``, ``None`` when a fold did not
        finish (nothing is summarised then).
    """
    folds, _ = check_cv(cfg)
    run_dir = Path(str(cfg.paths.output_dir))
    per_fold: list[dict[str, Any]] = []
    for fold in range(folds):
        say(f"cross-validation: fold {fold + 1} of {folds} in {run_dir / f'fold_{fold}'}")
        train(_fold_config(cfg, fold))
        path = run_dir / f"fold_{fold}" / METRICS_FILE
        if not path.is_file():
            return None  # interrupted: the finished folds keep their own results
        per_fold.append(json.loads(path.read_text()))
    summary = summarize(per_fold)
    name = str(cfg.optimized_metric)
    value = {**summary["val"], **summary["test"]}.get(name)
    payload = {
        **summary,
        "cv_folds": folds,
        "folds": [
            {"dir": f"fold_{k}", "val": p["val"], "test": p["test"]} for k, p in enumerate(per_fold)
        ],
        "optimized_metric": name,
        "optimized_value": value,
        "data": per_fold[0].get("data"),
        "model": per_fold[0].get("model"),
        "seed": cfg.get("seed"),
    }
    write_json_atomic(run_dir / METRICS_FILE, payload)
    learning_curves(run_dir, name)  # the folds' curves together (each fold has its own)
    say(summary_line(folds, summary))
    say(f"run directory: {run_dir.resolve()}")
    return value
