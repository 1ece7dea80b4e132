"""Hydra multirun sweeps: the search-space syntax, trial status, pruning, thread budget
and the summary of a multirun directory."""
