"""dlzoo: one Lightning + Hydra framework for the deep-learning curriculum."""

__version__ = "0.1.0"
