"""One run directory for every process of a distributed launch.

Under ``torchrun`` or SLURM's ``srun`` every process (one per GPU, on every node)
starts ``dlzoo-train`` itself and composes its own Hydra config. A run directory named
by ``${now:...}`` would then differ between processes (they start milliseconds or, on
other nodes, seconds apart): rank zero would write the checkpoints and ``metrics.json``
into one folder and every other rank would leave a folder of its own behind.

``conf/hydra/default.yaml``'s ``run.dir`` (``${dlzoo.run_dir:...}``, see
:mod:`dlzoo.config.run_claim`) and ``${dlzoo.run_name:FORMAT}`` name the run after the
launcher's job instead, which every process of the job sees alike:

- ``torchrun`` with more than one process: ``torchrun-<TORCHELASTIC_RUN_ID>`` (the
  ``--rdzv-id``; torchrun's default id ``none`` is not unique and is not used);
- an ``srun`` step with more than one task: ``slurm-<SLURM_JOB_ID>.<SLURM_STEP_ID>``;
- anything else (one process, or Lightning's own launcher, which hands its run
  directory to the processes it starts): the time, as ``${now:FORMAT}``.

A restarted job (``torchrun --max-restarts``, a requeued SLURM job) keeps its id, so it
lands in the same directory, where ``resume=true`` continues it.

:func:`quiet_other_ranks` keeps the run's log file rank zero's alone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import datetime

from omegaconf import OmegaConf

RESOLVER = "dlzoo.run_name"


# the rank variables a launcher sets: Lightning's own launcher (LOCAL_RANK, NODE_RANK),
# torchrun (RANK, LOCAL_RANK, GROUP_RANK) and srun (SLURM_PROCID, SLURM_LOCALID)
_RANK_VARIABLES = ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(env.get(name, default))
    except ValueError:
        return default


def _safe(name: str) -> str:
    """``name`` with anything but letters, digits, ``.``, ``_`` and ``-`` replaced."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def launcher_job_id(env: Mapping[str, str] | None = None) -> str | None:
    """The name every process of a multi-process ``torchrun`` / ``srun`` job shares.

    Args:
        env: the environment to read (default: ``os.environ``).

    Returns:
        ``torchrun-<run id>``, ``slurm-<job id>.<step id>``, or ``None`` outside such a
        job (a single process has no other process to agree with).
    """
    env = os.environ if env is None else env
    run_id = env.get("TORCHELASTIC_RUN_ID", "")
    if run_id and run_id != "none" and _int(env, "WORLD_SIZE", 1) > 1:
        return f"torchrun-{_safe(run_id)}"
    job = env.get("SLURM_JOB_ID", "")
    # SLURM_STEP_NUM_TASKS is set by srun only: a batch script's own python is not a step
    if job and _int(env, "SLURM_STEP_NUM_TASKS", 1) > 1:
        return f"slurm-{_safe(job)}.{_safe(env.get('SLURM_STEP_ID', '0'))}"
    return None


def run_name(time_format: str) -> str:
    """The run directory's name: the launcher's job id, else the time.

    Args:
        time_format: a ``strftime`` format, as for Hydra's ``${now:...}``.
    """
    return launcher_job_id() or datetime.now().strftime(time_format)


def register_resolver() -> None:
    """Register ``${dlzoo.run_name:FORMAT}``; cached like ``${now:}``, so a process
    reading the run directory twice (Lightning's launcher does) gets one name."""
    OmegaConf.register_new_resolver(RESOLVER, run_name, use_cache=True, replace=True)


def is_rank_zero_process(env: Mapping[str, str] | None = None) -> bool:
    """Whether this process is (or, before the process group exists, will be) global
    rank zero: every rank variable a launcher set is 0.

    Args:
        env: the environment to read (default: ``os.environ``).
    """
    env = os.environ if env is None else env
    return all(_int(env, name, 0) == 0 for name in _RANK_VARIABLES)
