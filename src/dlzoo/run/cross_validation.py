"""K-fold cross-validation: ``cv.folds=K`` trains K runs under one run directory.

Fold ``k`` is a whole run in ``RUN/fold_k``, built with ``cv.fold=k``: the datamodule
deals its samples into K disjoint stratified parts (:func:`dlzoo.data.splits.
fold_split`), tests on part ``k`` and validates on a share of the rest. ``RUN/metrics.
json`` holds the folds' mean ± std and each fold's numbers in ``folds``
(:mod:`dlzoo.run.repeats`); the log shows ``mean ± std`` beside the baselines' means.

Small datasets (MUTAG's 188 graphs, UCR problems) give test accuracies that move by
several points with the split alone; the mean over folds is the number published for
them (GIN on MUTAG: 89.4 ± 5.6 over 10 folds). Folds trained with
``callbacks=epoch_test`` also report the published protocol's epoch selection beside
the honest one (:mod:`dlzoo.run.epoch_selection`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from dlzoo.errors import ConfigError
from dlzoo.run.epoch_selection import report_best_mean_epoch
from dlzoo.run.repeats import Repeats, repeat

__all__ = ["check_cv", "cross_validate"]

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
    repeats = Repeats(
        label=f"{folds}-fold cross-validation",
        key="folds",
        children=[(f"fold_{k}", {"cv.fold": k}) for k in range(folds)],
        extra={"cv_folds": folds},
    )
    value = repeat(cfg, train, repeats)
    if value is not None:  # folds that scored their test split every epoch: the
        # published protocol's selection beside the honest one (see epoch_selection)
        run_dir = Path(str(cfg.paths.output_dir))
        report_best_mean_epoch(run_dir, [subdir for subdir, _ in repeats.children])
    return value
