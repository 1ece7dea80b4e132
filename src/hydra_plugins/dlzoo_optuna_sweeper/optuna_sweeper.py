"""The Hydra plugin class; the sweep is :class:`dlzoo.sweeps.optuna_sweep.OptunaSweep`
(imported when a sweep starts: Hydra imports every plugin module at start-up)."""

from __future__ import annotations

from typing import Any

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class OptunaSweeper(Sweeper):
    """``hydra/sweeper=optuna``: Optuna's ask-and-tell over Hydra's launchers.

    Args:
        kwargs: the fields of ``config.OptunaSweeperConf``.
    """

    def __init__(self, **kwargs: Any) -> None:
        from dlzoo.sweeps.optuna_sweep import OptunaSweep

        self.sweep_impl = OptunaSweep(**kwargs)

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.sweep_impl.setup(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        return self.sweep_impl.sweep(arguments)
