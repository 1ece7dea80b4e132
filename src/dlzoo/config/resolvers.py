"""dlzoo's OmegaConf resolvers, registered once on ``import dlzoo`` so that every way
of composing the config (the console scripts, ``compose_config``, a joblib worker, a
Ray trial) resolves them:

- ``${dlzoo.run_dir:PARENT,FORMAT}`` creates a run's (or sweep's) directory atomically
  (:mod:`dlzoo.config.run_claim`);
- ``${dlzoo.run_name:FORMAT}`` names it after a torchrun / srun job, else the time
  (:mod:`dlzoo.config.run_names`);
- ``${dlzoo.trial_name:NUM,OVERRIDES}`` names a multirun's trial by its overrides
  (:mod:`dlzoo.config.trial_names`);
- ``${dlzoo.home:}`` is the user's home folder on every system (``HOME`` is not set
  on Windows), where the data cache goes.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from dlzoo.config import run_claim, run_names, trial_names

HOME = "dlzoo.home"


def home() -> str:
    """The user's home folder (``Path.home()``), as a string with ``/`` separators."""
    return Path.home().as_posix()


def register_resolvers() -> None:
    """Register every ``${dlzoo.*:...}`` resolver (again: replacing them)."""
    run_claim.register_resolver()
    run_names.register_resolver()
    trial_names.register_resolver()
    OmegaConf.register_new_resolver(HOME, home, replace=True)
