"""dlzoo's Hydra sweeper over Optuna's ask-and-tell API (Optuna >= 4).

hydra-optuna-sweeper pins ``optuna<3`` (which Ray's ``OptunaSearch`` refuses and which
breaks Optuna's SQLite storage on SQLAlchemy 2), so dlzoo ships this thin sweeper
instead, registered as ``hydra/sweeper: optuna`` with the same fields (``sampler``,
``direction``, ``storage``, ``study_name``, ``n_trials``, ``n_jobs``, ``params``,
``custom_search_space``, ``max_failure_rate``) plus ``pruner``.

Each round asks the study for ``n_jobs`` trials, launches them through the configured
launcher (basic: one after another; joblib: side by side) and tells the study how each
ended: its value, ``FAIL`` (``error.json``, see :mod:`dlzoo.run.status`) or
``PRUNED`` (``metrics.json`` status, see :mod:`dlzoo.sweeps.pruning`). With a
``storage`` (``sqlite:///sweep.db``) the study outlives the sweep: running the same
command again continues it up to ``n_trials`` finished trials. At the end the best
trial's parameters and value are printed and written to ``optimization_results.yaml``
in the multirun directory, as hydra-optuna-sweeper did.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from dlzoo.errors import ConfigError
from dlzoo.run.status import read_status
from dlzoo.sweeps.pruning import pruning_override
from dlzoo.sweeps.space import Dimension, override_value, parse_space

__all__ = ["OptunaSweep", "to_distribution"]

log = logging.getLogger(__name__)
DIRECTIONS = {"max": "maximize", "min": "minimize"}
JOURNAL = "optuna.journal"


def to_distribution(dim: Dimension) -> Any:
    """The Optuna distribution of a :class:`~dlzoo.sweeps.space.Dimension`.

    Raises:
        ConfigError: a log scale with a step (Optuna samples one or the other).
    """
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if dim.kind == "categorical":
        return CategoricalDistribution(dim.choices)
    if dim.log and dim.step not in (None, 1):
        raise ConfigError(
            f"params.{dim.name}: a log scale takes no step; use tag(log, interval(a, b))"
        )
    if dim.kind == "int":
        return IntDistribution(int(dim.low), int(dim.high), log=dim.log, step=int(dim.step or 1))
    return FloatDistribution(float(dim.low), float(dim.high), log=dim.log, step=dim.step)


def split_arguments(
    params: Mapping[str, Any] | None, arguments: list[str]
) -> tuple[dict[str, Dimension], list[str]]:
    """The search space (``params:`` and the command line's sweeps) and the fixed
    overrides every trial gets (the command line's other overrides, verbatim)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    swept: dict[str, Any] = dict(params or {})
    fixed = []
    for override in OverridesParser.create().parse_overrides(arguments):
        if override.is_sweep_override():  # `-m optimizer.lr=interval(1e-4,1e-2)`
            swept[override.get_key_element()] = str(override.input_line).split("=", 1)[1]
        else:
            fixed.append(str(override.input_line))
    space = parse_space(swept)
    keys = {d.lstrip("+~") for d in space}
    return space, [f for f in fixed if f.split("=", 1)[0].lstrip("+~") not in keys]


class OptunaSweep(Sweeper):
    """The sweep itself; ``hydra_plugins.dlzoo_optuna_sweeper`` is the plugin face.

    Args:
        sampler: an Optuna sampler (or its ``{_target_: ...}`` config).
        direction: ``maximize`` / ``minimize``; ``null`` follows ``optimized_mode``.
        storage: an RDB URL (``sqlite:///sweep.db``) or ``null`` (in memory).
        study_name: the study's name (``null``: Optuna makes one up).
        n_trials: trials the study should have finished at the end.
        n_jobs: trials asked for and launched at a time.
        params: config key -> search-space value (:mod:`dlzoo.sweeps.space`).
        custom_search_space: ``module.function(cfg, trial)`` suggesting more params.
        max_failure_rate: stop when more than this share of the trials failed.
        pruner: an Optuna pruner config (``null``: no pruning).
    """

    def __init__(self, **kwargs: Any) -> None:
        self.options = kwargs
        self.config: DictConfig | None = None
        self.launcher: Any = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from hydra.core.plugins import Plugins

        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def _direction(self) -> str:
        mode = str(self.config.get("optimized_mode", "max"))
        direction = self.options.get("direction")
        if isinstance(direction, list | tuple) or OmegaConf.is_list(direction):
            raise ConfigError("hydra.sweeper.direction: dlzoo sweeps one objective; give one")
        direction = str(getattr(direction, "name", direction or DIRECTIONS[mode]))
        if direction not in DIRECTIONS.values():
            raise ConfigError(f"hydra.sweeper.direction={direction}: use maximize or minimize")
        if direction != DIRECTIONS[mode]:
            wanted = "max" if direction == "maximize" else "min"
            raise ConfigError(
                f"hydra.sweeper.direction={direction} but optimized_mode={mode}: set "
                f"optimized_mode: {wanted} too (checkpoints and early stopping use it)"
            )
        return direction

    def _storage(self) -> tuple[Any, str | None]:
        """The study's storage and its spec for the trials' pruning callback."""
        from dlzoo.sweeps.pruning import open_storage

        spec = self.options.get("storage")
        if spec is None and self._pruner_config() is not None:
            # pruning trials report from their own process (a joblib worker too): a
            # journal file in the multirun directory is a storage they all reach
            Path(self.config.hydra.sweep.dir).mkdir(parents=True, exist_ok=True)
            spec = str(Path(self.config.hydra.sweep.dir).resolve() / JOURNAL)
        return (None if spec is None else open_storage(str(spec))), spec

    def _pruner_config(self) -> dict | None:
        node = self.config.hydra.sweeper.get("pruner")
        return None if node is None else OmegaConf.to_container(node, resolve=True)

    def _study(self) -> tuple[Any, str | None]:
        import optuna
        from hydra.utils import instantiate

        sampler, pruner = self.options.get("sampler"), self.options.get("pruner")
        if isinstance(sampler, Mapping) or OmegaConf.is_config(sampler):
            sampler = instantiate(sampler)
        if isinstance(pruner, Mapping) or OmegaConf.is_config(pruner):
            pruner = instantiate(pruner)
        storage, spec = self._storage()
        study = optuna.create_study(
            study_name=self.options.get("study_name"),
            storage=storage,
            sampler=sampler,
            pruner=pruner or optuna.pruners.NopPruner(),
            direction=self._direction(),
            load_if_exists=True,
        )
        return study, spec

    def _trial_overrides(self, trial: Any, fixed: list[str], study: Any, spec: str | None):
        custom = self.options.get("custom_search_space")
        if custom:
            from hydra.utils import get_method

            get_method(custom)(self.config, trial)
        chosen = [f"{k}={override_value(v)}" for k, v in trial.params.items()]
        pruner = self._pruner_config()
        if pruner is not None:
            chosen.append(pruning_override(study.study_name, spec, trial._trial_id, pruner))
        return [*fixed, *chosen]

    def sweep(self, arguments: list[str]) -> list[JobReturn]:
        """Run the study; see the module docstring.

        Args:
            arguments: the command line's task overrides.

        Returns:
            Every launched job's return.
        """
        from optuna.trial import TrialState

        space, fixed = split_arguments(self.options.get("params"), list(arguments))
        distributions = {k: to_distribution(d) for k, d in space.items()}
        study, spec = self._study()
        done = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        remaining = int(self.options.get("n_trials", 20)) - len(study.get_trials(states=done))
        n_jobs, returns, failed = max(1, int(self.options.get("n_jobs", 1))), [], 0
        print(f"[dlzoo] Optuna study {study.study_name}: {max(remaining, 0)} trials to run")
        while remaining > 0:
            trials = [study.ask(distributions) for _ in range(min(n_jobs, remaining))]
            batch = [self._trial_overrides(t, fixed, study, spec) for t in trials]
            launched = self.launcher.launch(batch, initial_job_idx=len(returns))
            for trial, ret in zip(trials, launched, strict=True):
                failed += _tell(study, trial, ret) == TrialState.FAIL
            returns += launched
            remaining -= len(trials)
            if failed / len(returns) > float(self.options.get("max_failure_rate", 1.0)):
                raise ConfigError(
                    f"{failed} of {len(returns)} trials failed (above max_failure_rate); "
                    "see their error.json and logs"
                )
        _finish(study, Path(self.config.hydra.sweep.dir))
        return returns


def _outcome(ret: JobReturn) -> tuple[Any, float | None, str]:
    from optuna.trial import TrialState

    if ret.status == JobStatus.FAILED:
        return TrialState.FAIL, None, repr(ret._return_value)
    run_dir = Path(ret.hydra_cfg.hydra.runtime.output_dir)
    status, error, _ = read_status(run_dir)
    if status == "failed":
        return TrialState.FAIL, None, error
    if status == "pruned":
        return TrialState.PRUNED, None, ""
    value = ret.return_value
    if value is None or not math.isfinite(float(value)):
        return TrialState.FAIL, None, f"the trial returned {value}"
    return TrialState.COMPLETE, float(value), ""


def _tell(study: Any, trial: Any, ret: JobReturn) -> Any:
    """Tell the study how one trial ended; return its state."""
    state, value, error = _outcome(ret)
    study.tell(trial, value, state=state)
    if error:
        log.warning("trial %d failed: %s", trial.number, error)
    return state


def _finish(study: Any, sweep_dir: Path) -> None:
    """Print the best trial and write ``optimization_results.yaml``."""
    from optuna.trial import TrialState

    if not study.get_trials(states=(TrialState.COMPLETE,)):
        print("[dlzoo] no trial completed: no best parameters")
        return
    best = {"name": "optuna", "best_params": study.best_params, "best_value": study.best_value}
    sweep_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create(best), sweep_dir / "optimization_results.yaml")
    params = " ".join(f"{k}={override_value(v)}" for k, v in study.best_params.items())
    print(f"[dlzoo] best trial {study.best_trial.number}: {study.best_value:.6g}  {params}")
