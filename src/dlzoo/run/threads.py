"""How many torch threads a run uses, so parallel trials never oversubscribe the CPU.

Two ``digits_cnn`` runs side by side with torch's default threads (one per core each)
took 88 s of fit time each, against 2.0 s for one alone and 2.9-3.2 s each with one
thread apiece: threads fighting over cores cost far more than they bring. So in a
joblib multirun each trial gets ``max(1, cores // parallel trials)`` threads.
"""

from __future__ import annotations

import os

from omegaconf import DictConfig

from dlzoo.errors import ConfigError

__all__ = ["apply_threads", "cpu_count", "parallel_trials"]


def cpu_count() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _joblib_workers(n_jobs: int | None, cores: int) -> int:
    """joblib's meaning of ``n_jobs``: -1 all cores, -2 all but one, ..."""
    if n_jobs is None or n_jobs == 0:
        return 1
    return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)


def parallel_trials() -> int | None:
    """How many trials run at once in this Hydra multirun, or ``None`` outside a
    joblib multirun (one run: torch's default threads are right)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hydra_cfg = HydraConfig.get()
    launcher = hydra_cfg.get("launcher") or {}
    if hydra_cfg.mode != RunMode.MULTIRUN or "joblib" not in str(launcher.get("_target_", "")):
        return None
    workers = _joblib_workers(launcher.get("n_jobs"), cpu_count())
    sweeper = hydra_cfg.get("sweeper") or {}
    # an Optuna sweep asks for n_jobs trials at a time, the basic one max_batch_size
    batch = sweeper.get("n_jobs") or sweeper.get("max_batch_size")
    return min(workers, int(batch)) if batch else workers


def apply_threads(cfg: DictConfig) -> int:
    """Set torch's intra-op threads from ``cfg.threads`` (``null``: automatic).

    Args:
        cfg: the run's config; ``threads: N`` sets N threads, ``null`` gives each trial
            of a joblib multirun ``max(1, cores // parallel trials)`` and leaves a
            single run at torch's default.

    Returns:
        The number of threads the run uses (recorded in ``metrics.json``).

    Raises:
        ConfigError: ``threads`` is not a positive integer.
    """
    import torch

    threads = cfg.get("threads")
    if threads is None:
        parallel = parallel_trials()
        threads = None if parallel is None else max(1, cpu_count() // parallel)
    elif not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ConfigError(
            f"threads={threads}: give a positive number of torch threads, or null "
            "(automatic: cores // parallel trials in a joblib multirun)"
        )
    if threads is not None:
        # Lightning's DDP launcher sets cores // processes threads where this variable
        # is unset: it would undo the choice in rank zero and miss it in the others
        os.environ["OMP_NUM_THREADS"] = str(threads)
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
    return torch.get_num_threads()
