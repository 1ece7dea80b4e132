"""dlzoo: one Lightning + Hydra framework for the deep-learning curriculum."""

__version__ = "0.1.0"

# ${dlzoo.run_dir:...}, ${dlzoo.run_name:...} and ${dlzoo.trial_name:...} name run and
# multirun trial directories (conf/hydra/default.yaml): registered on import, so every way
# of composing the config (the CLIs, compose_config, a joblib worker, a Ray trial)
# resolves them
from dlzoo.config.run_claim import register_resolver as _register_run_dir
from dlzoo.config.run_names import register_resolver as _register_run_name
from dlzoo.config.trial_names import register_resolver as _register_trial_name

_register_run_dir()
_register_run_name()
_register_trial_name()
