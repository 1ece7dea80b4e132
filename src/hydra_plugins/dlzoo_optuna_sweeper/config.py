"""``hydra/sweeper: optuna`` and its samplers in Hydra's ConfigStore.

The fields are hydra-optuna-sweeper's, so lightning-hydra-template's search files
compose unchanged, plus ``pruner``. ``direction: null`` follows ``optimized_mode``.
(No ``from __future__ import annotations``: Hydra loads plugin modules outside
``sys.modules``, where dataclasses cannot read string annotations.)
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

TARGET = "hydra_plugins.dlzoo_optuna_sweeper.optuna_sweeper.OptunaSweeper"
# the original plugin's class: search files name it; dlzoo-train swaps it for TARGET
ORIGINAL_TARGET = "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper"

# Samplers as plain nodes: any argument of the Optuna class may be set in a search file
SAMPLERS = {
    "tpe": {"_target_": "optuna.samplers.TPESampler", "seed": None},
    "random": {"_target_": "optuna.samplers.RandomSampler", "seed": None},
    "cmaes": {"_target_": "optuna.samplers.CmaEsSampler", "seed": None},
    "qmc": {"_target_": "optuna.samplers.QMCSampler", "seed": None},
    "nsgaii": {"_target_": "optuna.samplers.NSGAIISampler", "seed": None},
}


@dataclass
class OptunaSweeperConf:
    _target_: str = TARGET
    defaults: list[Any] = field(default_factory=lambda: [{"sampler": "tpe"}])
    # the sampler option chosen above (MISSING: merging this node keeps it)
    sampler: Any = MISSING
    # maximize | minimize; null: from optimized_mode (max -> maximize)
    direction: Any = None
    # null: in memory (a journal file in the multirun directory when pruning);
    # sqlite:///sweep.db: a study that a second run of the same command continues
    storage: Any = None
    study_name: str | None = None
    # trials the study has finished at the end (a continued study runs the rest)
    n_trials: int = 20
    # trials launched at a time (side by side with hydra/launcher=joblib)
    n_jobs: int = 2
    # stop the sweep once more than this share of its trials failed (1.0: never)
    max_failure_rate: float = 1.0
    params: dict[str, Any] | None = None
    # module.function(cfg, trial) that suggests more (e.g. conditional) parameters
    custom_search_space: str | None = None
    # e.g. {_target_: optuna.pruners.MedianPruner, n_warmup_steps: 2}; null: no pruning
    pruner: Any = None


store = ConfigStore.instance()
store.store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider="dlzoo")
for name, node in SAMPLERS.items():
    store.store(group="hydra/sweeper/sampler", name=name, node=node, provider="dlzoo")
