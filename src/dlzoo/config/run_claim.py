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

A directory named by hand (``hydra.run.dir=RUN``, ``compose_config(..., run_dir=RUN)``)
may hold a run already. :func:`refuse_other_run` refuses it when its
``.hydra/config.yaml`` is another run's (a config that differs from this one), unless
this run continues that one (``resume=true``, or ``ckpt_path=`` a checkpoint): two
runs' checkpoints, ``metrics.json`` and ``history.csv`` would otherwise mix in one
folder, and the config would describe only the last. The same config may run there
again, and replaces the earlier results.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dlzoo.config.layout import CONFIG_FILE
from dlzoo.config.legacy import upgrade_targets
from dlzoo.config.run_names import launcher_job_id
from dlzoo.errors import ConfigError

__all__ = [
    "RESOLVER",
    "claim_run_dir",
    "config_difference",
    "forget_claims",
    "refuse_other_run",
    "register_resolver",
    "safe_name",
]

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


def _comparable(cfg: DictConfig) -> dict[str, Any]:
    """The config as plain data, unresolved, without what names the directory itself
    (Hydra writes ``paths.output_dir`` as an interpolation, a run from Python as a path)."""
    plain = OmegaConf.to_container(cfg, resolve=False)
    plain.pop("hydra", None)
    if isinstance(plain.get("paths"), dict):
        plain["paths"].pop("output_dir", None)
    return plain


def _difference(held: Any, new: Any, prefix: str = "") -> tuple[str, Any, Any] | None:
    """The first key whose value differs between two plain configs (``None``: equal)."""
    if isinstance(held, dict) and isinstance(new, dict):
        for key in sorted({*held, *new}, key=str):
            found = _difference(
                held.get(key, "<unset>"), new.get(key, "<unset>"), f"{prefix}{key}."
            )
            if found:
                return found
        return None
    return None if held == new else (prefix.rstrip("."), held, new)


def config_difference(run_dir: str | Path, cfg: DictConfig) -> tuple[str, Any, Any] | None:
    """The first key where ``run_dir``'s saved config and ``cfg`` differ, with both
    values; ``None`` when they agree or ``run_dir`` holds no config."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        return None
    held = OmegaConf.load(path)
    upgrade_targets(held)  # a run written before the datamodules moved
    return _difference(_comparable(held), _comparable(cfg))


def refuse_other_run(run_dir: str | Path, cfg: DictConfig) -> None:
    """Refuse ``run_dir`` when it holds another run's config (see the module docstring).

    Args:
        run_dir: the directory this run writes to.
        cfg: this run's composed config (with or without Hydra's own node).

    Raises:
        ConfigError: naming the directory, the first differing key and the fixes.
    """
    # a run continued from a checkpoint (Lightning restores its epochs and optimizer)
    # may change its settings: resume=true, or ckpt_path= as Tune resumes a paused trial
    continued = cfg.get("resume") or cfg.get("ckpt_path")
    found = None if continued else config_difference(run_dir, cfg)
    if found is None:
        return
    key, was, now = found
    raise ConfigError(
        f"run directory {run_dir} holds another run (its {CONFIG_FILE} has {key}={was}, "
        f"this run {key}={now}): train into a new directory (leave hydra.run.dir out, or "
        "use dlzoo.fit, which makes one), or continue that run with resume=true"
    )
