"""dlzoo's Optuna sweeper for Hydra (``hydra/sweeper=optuna``); see
:mod:`dlzoo.sweeps.optuna_sweep`. ``src/hydra_plugins`` is a namespace package (no
``__init__.py``), shared with the other Hydra plugins installed, as Hydra requires."""
