"""Run directories that runs started at the same moment never share.

``conf/hydra/default.yaml`` names a run's directory ``${dlzoo.run_dir:PARENT,FORMAT}``:
``PARENT/<the time as FORMAT>``, created here with ``mkdir`` (atomic: of two processes
asking for one name, exactly one gets it; the other takes ``<name>-1``, then ``-2``, ...).
Any number of runs, sweeps and notebooks can share a logs folder, however close together
they start. Under a multi-process ``torchrun`` / ``srun`` job the name is the launcher's
job id instead (see :mod:`dlzoo.config.run_names`), which every process of the job shares.

Hydra resolves a run's directory more than once in one process, each time in a freshly
composed config (a multirun resolves its sweep directory for every trial), so the
directory claimed for a ``(PARENT, FORMAT)`` is kept for the rest of the process;
:func:`forget_claims` (called by :func:`dlzoo.config.compose.compose_config`) lets the next
composition claim a new one.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from datetime import datetime
from pathlib import Path

from omegaconf import OmegaConf

from dlzoo.config.run_names import launcher_job_id

__all__ = ["RESOLVER", "claim_run_dir", "forget_claims", "register_resolver", "safe_name"]

RESOLVER = "dlzoo.run_dir"
# what Windows forbids in a file name (and control characters)
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_claimed: dict[tuple[str, str], str] = {}


def safe_name(name: str) -> str:
    """``name`` as one file name on every system: the characters Windows forbids
    (``<>:"/\\|?*``) replaced with ``_``, without a trailing dot or space (Windows drops
    them, and two names would then be one)."""
    return _FORBIDDEN.sub("_", name).rstrip(". ") or "_"


def _claim(parent: Path, name: str) -> Path:
    """Create ``parent/name`` (or ``name-1``, ``name-2``, ... where taken) and return it."""
    parent.mkdir(parents=True, exist_ok=True)
    for n in itertools.count():
        path = parent / (name if n == 0 else f"{name}-{n}")
        with contextlib.suppress(FileExistsError):  # another process got there first
            path.mkdir()  # atomic: exactly one process creates it
            return path
    raise AssertionError("itertools.count() does not end")


def claim_run_dir(parent: str, time_format: str) -> str:
    """A new run directory under ``parent``, created: its name is the time as
    ``time_format`` (the launcher's job id under torchrun / srun: shared, not claimed).

    Args:
        parent: the folder of runs, e.g. ``logs/digits_cnn/runs``.
        time_format: a ``strftime`` format, as for Hydra's ``${now:...}``.

    Returns:
        The directory's path; the same one for the same arguments for the rest of the
        process (until :func:`forget_claims`).
    """
    key = (str(parent), str(time_format))
    if key not in _claimed:
        job = launcher_job_id()
        if job:  # every process of the job composes this name and must land in it
            _claimed[key] = str(Path(parent) / job)
        else:
            name = safe_name(datetime.now().strftime(time_format))
            _claimed[key] = str(_claim(Path(parent), name))
    return _claimed[key]


def forget_claims() -> None:
    """Let the next composition in this process claim new run directories."""
    _claimed.clear()


def register_resolver() -> None:
    """Register ``${dlzoo.run_dir:PARENT,FORMAT}``."""
    OmegaConf.register_new_resolver(RESOLVER, claim_run_dir, use_cache=True, replace=True)
