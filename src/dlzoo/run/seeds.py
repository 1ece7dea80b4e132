"""Repeated seeds: ``seeds=5`` (or ``seeds=[0,7,42]``) trains the run once per seed
under one run directory and reports every metric and baseline as mean ± std.

Seed ``s`` is a whole run in ``RUN/seed_s`` with ``seed=s`` (and, with ``cv.folds=K``,
a whole K-fold cross-validation there); ``RUN/metrics.json`` holds the seeds' mean ±
std and each seed's numbers in ``seeds`` (:mod:`dlzoo.run.repeats`), as one row of
``dlzoo-runs``. ``seeds=N`` means the seeds 0 to N - 1, as papers that report the mean
of N runs use them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, ListConfig

from dlzoo.errors import ConfigError
from dlzoo.run.repeats import Repeats, repeat

__all__ = ["check_seeds", "repeat_seeds"]


def check_seeds(cfg: DictConfig) -> list[int]:
    """The seeds that ``seeds`` names: ``[]`` for a single run (``seeds=null``).

    Raises:
        ConfigError: not a positive count or a list of distinct integers, or a run that
            continues a checkpoint.
    """
    value: Any = cfg.get("seeds")
    if value is None:
        return []
    if isinstance(value, ListConfig | list | tuple):
        seeds = list(value)
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        seeds = list(range(value))
    else:
        seeds = [None]
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ConfigError(
            f"seeds={value!r}: give a count (seeds=5: the seeds 0 to 4) or a list of "
            "integers (seeds=[0,7,42])"
        )
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds={value!r} repeats a seed: give each seed once")
    if cfg.get("ckpt_path") or cfg.get("resume"):
        raise ConfigError(
            "seeds trains a fresh run per seed: remove ckpt_path / resume (continue one "
            "seed with its own run directory instead)"
        )
    return seeds


def repeat_seeds(cfg: DictConfig, train: Callable[[DictConfig], float | None]) -> float | None:
    """Train the run once per seed with ``train`` and write the summary ``metrics.json``.

    Args:
        cfg: the composed config with ``seeds`` set.
        train: trains one composed config (:func:`dlzoo.run.pipeline.train`).

    Returns:
        The mean over seeds of ``cfg.optimized_metric``, ``None`` when a seed's run did
        not finish.
    """
    seeds = check_seeds(cfg)
    repeats = Repeats(
        label=f"{len(seeds)} seeds",
        key="seeds",
        children=[(f"seed_{s}", {"seed": s, "seeds": None}) for s in seeds],
        extra={"seed_count": len(seeds)},
    )
    return repeat(cfg, train, repeats)
