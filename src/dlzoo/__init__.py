"""dlzoo: one Lightning + Hydra framework for the deep-learning curriculum."""

__version__ = "0.1.0"

# the ${dlzoo.*:...} resolvers that name run, sweep and trial directories and the data
# cache (conf/hydra/default.yaml, conf/paths/default.yaml): registered on import
from dlzoo.config.resolvers import register_resolvers as _register_resolvers

_register_resolvers()
