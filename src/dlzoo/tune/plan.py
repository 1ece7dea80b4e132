"""The ``dlzoo-tune`` command line composed into what a search needs.

``tune.*``, ``ray.*`` and ``tune_space=NAME`` compose ``conf/tune.yaml`` (the search);
every other override goes to the trials, which compose ``train.yaml`` as ``dlzoo-train``
would. Both are checked here, before Ray starts, so bad input is one ``error:`` line:
an unknown space file, a bad search space or setting, an unknown key of the trials'
config (checked with each swept key at its first value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dlzoo.config.compose import CONFIG_DIR
from dlzoo.config.overrides import check_overrides
from dlzoo.errors import ConfigError
from dlzoo.sweeps.space import Dimension, override_value, parse_space

__all__ = ["SCHEDULERS", "SEARCHERS", "TunePlan", "make_plan", "split_overrides"]

SCHEDULERS = {"asha": "ASHA", "hyperband": "HyperBand", "fifo": "FIFO"}
SEARCHERS = ("random", "optuna")
TUNE_KEYS = ("tune", "ray", "tune_space")


@dataclass
class TunePlan:
    """A checked search: its settings, space, trial overrides and directory.

    Args:
        tune: the ``tune:`` node of ``conf/tune.yaml`` (with the space file's values).
        ray: the ``ray:`` node.
        space: the search space.
        overrides: what every trial is composed with (experiment, the command line's).
        train_cfg: the trials' config with every swept key at its first value.
        metric: what the scheduler and the searcher compare; mode: ``max`` or ``min``.
        max_t: the epochs a trial may train.
        tune_dir: where the trials' run directories and Ray's storage go.
    """

    tune: DictConfig
    ray: DictConfig
    space: dict[str, Dimension]
    overrides: list[str]
    train_cfg: DictConfig
    metric: str
    mode: str
    max_t: int
    tune_dir: Path

    @property
    def scheduler_label(self) -> str:
        return SCHEDULERS[str(self.tune.scheduler.name)]


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def split_overrides(argv: list[str]) -> tuple[list[str], list[str]]:
    """``(search overrides, trial overrides)``: ``tune.*`` / ``ray.*`` / ``tune_space``
    compose ``conf/tune.yaml``; the rest go to every trial."""
    mine = [a for a in argv if _key(a).split(".", 1)[0] in TUNE_KEYS]
    return mine, [a for a in argv if a not in mine]


def _options(group: str) -> str:
    return ", ".join(sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml")))


def _compose_search(overrides: list[str]) -> DictConfig:
    """``conf/tune.yaml`` with ``overrides``; Hydra's errors as one line."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException, MissingConfigException

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name="tune", overrides=overrides)
    except MissingConfigException as exc:
        name = re.search(r"Could not find '(?:tune_space/)?([^']+)'", str(exc))
        unknown = f"unknown tune_space '{name.group(1)}'" if name else str(exc).splitlines()[0]
        raise ConfigError(f"{unknown}: choose one of {_options('tune_space')}") from None
    except HydraException as exc:
        key = re.search(r"Could not override '([^']+)'", str(exc))
        cause = str(exc.__cause__ or exc).strip().splitlines()[0]
        reason = f"unknown key '{key.group(1)}'" if key and "not in struct" in cause else cause
        raise ConfigError(
            f"{reason}; dlzoo-tune's own keys are tune.{{{', '.join(_search_keys('tune'))}}} "
            f"and ray.{{{', '.join(_search_keys('ray'))}}}"
        ) from None
    finally:
        GlobalHydra.instance().clear()


def _search_keys(node: str) -> list[str]:
    return sorted(OmegaConf.load(CONFIG_DIR / "tune.yaml")[node])


def _check_settings(tune: DictConfig) -> None:
    """The search's settings make sense together (Ray would fail later, or silently)."""
    sched = tune.scheduler
    checks = [
        (
            sched.name in SCHEDULERS,
            f"tune.scheduler.name={sched.name}: choose {'|'.join(SCHEDULERS)}",
        ),
        (
            tune.searcher in SEARCHERS,
            f"tune.searcher={tune.searcher}: choose {'|'.join(SEARCHERS)}",
        ),
        (tune.mode in (None, "max", "min"), f"tune.mode={tune.mode}: choose max or min"),
        (int(tune.num_samples) >= 1, f"tune.num_samples={tune.num_samples}: run at least 1 trial"),
        (
            float(tune.resources.cpu) > 0,
            f"tune.resources.cpu={tune.resources.cpu}: give each trial a CPU or more",
        ),
        (
            sched.name != "hyperband" or sched.grace_period is None,
            "tune.scheduler.grace_period: HyperBand has none (its brackets start at "
            "max_t / reduction_factor^k epochs); drop it or use asha",
        ),
        (
            sched.reduction_factor is None or float(sched.reduction_factor) >= 2,
            f"tune.scheduler.reduction_factor={sched.reduction_factor}: use 2 or more",
        ),
        (
            bool(tune.params),
            f"the search space is empty: pass tune_space=NAME ({_options('tune_space')})",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)


def _first_values(space: dict[str, Dimension]) -> list[str]:
    """Each swept key at a value it can take (to check the trials' config composes)."""
    return [
        f"{name}={override_value(dim.choices[0] if dim.kind == 'categorical' else dim.low)}"
        for name, dim in space.items()
    ]


def _trial_overrides(tune: DictConfig, argv: list[str]) -> list[str]:
    """The experiment (the command line's, else the space file's), then the epochs a
    trial may train (``max_t``), then the command line's overrides (they win)."""
    keys = {_key(a) for a in argv}
    head = [] if "experiment" in keys or not tune.experiment else [f"experiment={tune.experiment}"]
    if tune.scheduler.max_t is not None:
        head.append(f"trainer.max_epochs={int(tune.scheduler.max_t)}")
    return [*head, *argv]


def _train_config(overrides: list[str]) -> DictConfig:
    from dlzoo.config.compose import compose_config

    cfg = check_overrides(overrides)
    if cfg is not None:
        return cfg
    try:  # check_overrides leaves some failures to Hydra's own message
        return compose_config(overrides, run_dir="unused")  # only its values are read
    except Exception as exc:
        reason = str(exc.__cause__ or exc).strip().splitlines()[0]
        raise ConfigError(f"the trials' config does not compose: {reason}") from None


def make_plan(argv: list[str], now: datetime | None = None) -> TunePlan:
    """Check and compose a ``dlzoo-tune`` command line.

    Args:
        argv: the overrides (``tune_space=NAME``, ``tune.*``, ``ray.*``, train overrides).
        now: the time that names the search's directory (default: now).

    Raises:
        ConfigError: one line naming the problem and the fix.
    """
    search, train = split_overrides(argv)
    composed = _compose_search(search)
    tune = composed.tune
    _check_settings(tune)
    space = parse_space(OmegaConf.to_container(tune.params, resolve=True))
    overrides = _trial_overrides(tune, train)
    cfg = _train_config([*overrides, *_first_values(space)])
    max_t = int(tune.scheduler.max_t or cfg.trainer.max_epochs)
    grace = tune.scheduler.grace_period
    if grace is not None and not 1 <= int(grace) <= max_t:
        raise ConfigError(f"tune.scheduler.grace_period={grace}: use 1 to max_t ({max_t}) epochs")
    log_dir = Path(str(cfg.paths.log_dir)).resolve()
    stamp = (now or datetime.now()).strftime("%Y-%m-%d_%H-%M-%S_%f")
    return TunePlan(
        tune=tune,
        ray=composed.ray,
        space=space,
        # absolute: a trial's process may start in another directory (or machine)
        overrides=[
            *(o for o in overrides if _key(o) != "paths.log_dir"),
            f"paths.log_dir={log_dir}",
        ],
        train_cfg=cfg,
        metric=str(tune.metric or cfg.optimized_metric),
        mode=str(tune.mode or cfg.optimized_mode),
        max_t=max_t,
        tune_dir=log_dir / str(cfg.task_name) / "tunes" / stamp,
    )


def describe(plan: TunePlan) -> dict[str, Any]:
    """The search's settings as plain data (for ``summary.md`` and ``best.yaml``)."""
    return {
        "experiment": plan.train_cfg.get("task_name"),
        "scheduler": OmegaConf.to_container(plan.tune.scheduler, resolve=True),
        "searcher": str(plan.tune.searcher),
        "num_samples": int(plan.tune.num_samples),
        "metric": plan.metric,
        "mode": plan.mode,
        "max_t": plan.max_t,
        "params": OmegaConf.to_container(plan.tune.params, resolve=True),
    }
