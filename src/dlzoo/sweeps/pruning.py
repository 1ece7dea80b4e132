"""Pruning of bad Optuna trials through a Lightning callback.

The Optuna sweeper adds this callback to every trial when its ``pruner`` is set
(``+callbacks.optuna_pruning={...}``, an override like any other: contract 3). After
each validation epoch it reports the monitored metric to the trial; when the study's
pruner says so, training stops at the end of the epoch (``trainer.should_stop``) and
the run's ``metrics.json`` says ``"status": "pruned"``. The trial is found again in
the study's storage by its id, so the callback works in a joblib worker process too.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import lightning as L

__all__ = ["OptunaPruning", "open_storage"]

log = logging.getLogger(__name__)


def open_storage(spec: str) -> Any:
    """An Optuna storage from ``spec``: an RDB URL (``sqlite:///sweep.db``) or the path of
    a journal file (``.../optuna.journal``), which processes share without a server."""
    import optuna

    if "://" in spec:
        return optuna.storages.RDBStorage(spec)
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(spec))


class OptunaPruning(L.Callback):
    """Report ``monitor`` to an Optuna trial each epoch; stop the run when it is pruned.

    Args:
        study_name: the study the trial belongs to.
        storage: where the study lives (see :func:`open_storage`).
        trial_id: the trial's id in that storage.
        monitor: the validation metric reported (the sweep's ``optimized_metric``).
        pruner: the study's pruner (an ``optuna.pruners.BasePruner``), which decides.
    """

    def __init__(
        self, study_name: str, storage: str, trial_id: int, monitor: str, pruner: Any
    ) -> None:
        import optuna

        self.monitor = monitor
        study = optuna.load_study(
            study_name=study_name, storage=open_storage(storage), pruner=pruner
        )
        self.trial = optuna.Trial(study, int(trial_id))
        self.pruned = False
        self.pruned_epoch: int | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.pruned or self.monitor not in trainer.callback_metrics:
            return
        epoch = int(trainer.current_epoch)
        value = float(trainer.callback_metrics[self.monitor])
        prune = False
        if trainer.is_global_zero and math.isfinite(value):
            self.trial.report(value, step=epoch)
            prune = self.trial.should_prune()
        if trainer.strategy.broadcast(prune):  # every rank stops together
            self.pruned, self.pruned_epoch = True, epoch + 1
            trainer.should_stop = True

    def stop_reason(self) -> str | None:
        """A line saying the trial was pruned, or ``None``."""
        if not self.pruned:
            return None
        return f"pruned by Optuna after epoch {self.pruned_epoch}: {self.monitor} was not promising"


def _grammar(value: Any) -> str:
    """``value`` in Hydra's override grammar (strings quoted, so any text survives)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_grammar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_grammar(v) for v in value) + "]"
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if text.startswith("${"):  # an interpolation, resolved in the trial's own config
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pruning_override(study_name: str, storage: str, trial_id: int, pruner: Any) -> str:
    """The override that adds :class:`OptunaPruning` to one trial (contract 3).

    Args:
        study_name: the study's name.
        storage: the study's storage (see :func:`open_storage`).
        trial_id: the trial's id.
        pruner: the sweeper's ``pruner`` config (a ``{_target_: ...}`` mapping), built
            again in the trial's process.
    """
    node = {
        "_target_": f"{__name__}.OptunaPruning",
        "study_name": study_name,
        "storage": storage,
        "trial_id": int(trial_id),
        "monitor": "${optimized_metric}",
        "pruner": pruner,
    }
    return f"+callbacks.optuna_pruning={_grammar(node)}"
