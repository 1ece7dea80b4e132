"""Ray Tune for dlzoo (``dlzoo-tune``): the same experiments as ``dlzoo-train``, searched
with ASHA / HyperBand and random or Optuna (TPE) sampling, locally or on a Ray cluster.

- :mod:`dlzoo.tune.space`: a search space (``dlzoo.sweeps.space.Dimension``) as Ray
  Tune's sampling domains, and a trial's sampled values as overrides;
- :mod:`dlzoo.tune.callback`: the Lightning callback that reports each epoch's
  validation metrics and a checkpoint to Tune;
- :mod:`dlzoo.tune.trial`: one trial = one dlzoo run directory;
- :mod:`dlzoo.tune.plan`: the command line composed into what the search needs;
- :mod:`dlzoo.tune.search`: schedulers, searchers, the Tuner;
- :mod:`dlzoo.tune.summary`: the results table, the best trial, what the scheduler
  stopped;
- :mod:`dlzoo.cli.tune`: the console script.
"""
