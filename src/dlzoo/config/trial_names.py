"""Run names that show a trial's overrides, without the sweep's bookkeeping.

``hydra.sweep.subdir: ${dlzoo.trial_name:${hydra.job.num},${hydra.overrides.task}}``
names a multirun's job directories ``3_model.dropout=0.2,optimizer.lr=0.003``, so the
runs line up under readable names in TensorBoard's HPARAMS tab (Hydra's default
``3``). The resolver is registered when :mod:`dlzoo` is imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from omegaconf import OmegaConf

__all__ = ["RESOLVER", "is_bookkeeping", "register_resolver", "run_name", "shown_overrides"]

RESOLVER = "dlzoo.trial_name"
# what every trial of a sweep shares (its experiment, search file, log folder) or what
# the Optuna sweeper adds for pruning: not what tells the trials apart
BOOKKEEPING_KEYS = ("experiment", "hparams_search", "callbacks.optuna_pruning")
BOOKKEEPING_PREFIXES = ("paths.", "hydra.", "callbacks.optuna_pruning.")
MAX_NAME = 120
# anything else (``/``, ``:`` of ``data.root=C:/x``, the rest of what Windows forbids in
# a file name) becomes ``_``
_UNSAFE = re.compile(r"[^\w.,=+\-\[\]{}]")
# a sampler's float (optimizer.lr=0.0030271829277346246) shown to 4 digits in the name
_LONG_FLOAT = re.compile(r"(?<![\w.])\d+\.\d{5,}(e-?\d+)?(?![\w.])")


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def is_bookkeeping(override: str) -> bool:
    """Whether ``override`` (``key=value``) is the sweep's bookkeeping, not a choice."""
    key = _key(override)
    return key in BOOKKEEPING_KEYS or key.startswith(BOOKKEEPING_PREFIXES)


def shown_overrides(overrides: Iterable[str]) -> list[str]:
    """The overrides that tell a run apart, sorted (as Hydra's ``override_dirname``)."""
    return sorted(o for o in overrides if not is_bookkeeping(str(o)))


def run_name(num: int | str, overrides: Iterable[str]) -> str:
    """``<num>_<overrides>``: safe as one directory name on every system (no ``/`` or
    ``:``), long floats to 4 digits, at most :data:`MAX_NAME` characters (the job number
    keeps names unique).

    Args:
        num: the job number in its multirun.
        overrides: the job's task overrides.
    """
    shown = _LONG_FLOAT.sub(
        lambda m: f"{float(m.group()):.4g}", ",".join(shown_overrides(overrides))
    )
    name = f"{num}_{_UNSAFE.sub('_', shown)}" if shown else str(num)
    return name[:MAX_NAME].rstrip(".")  # Windows drops a trailing dot


def register_resolver() -> None:
    """Register ``${dlzoo.trial_name:NUM,OVERRIDES}`` once per process."""
    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, lambda num, overrides: run_name(num, overrides))
