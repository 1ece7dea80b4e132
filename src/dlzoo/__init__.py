"""dlzoo: one Lightning + Hydra framework for the deep-learning curriculum."""

__version__ = "0.1.0"

# ${dlzoo.run_name:...} names run directories (conf/hydra/default.yaml): registered on
# import, so every way of composing the config (the CLIs, compose_config, a Ray trial)
# resolves it
from dlzoo.run_dir import register_resolver as _register_resolver

_register_resolver()
