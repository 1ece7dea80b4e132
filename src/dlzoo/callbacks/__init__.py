"""Callbacks: a cheap progress bar, ``history.csv``, checkpoints, and figures for
TensorBoard and the run's ``figures/*.png``."""
