"""Checks of a composed config before anything is built or loaded.

Hydra accepts any key under a ``_target_`` node and lets the constructor fail later
with a traceback; these checks name the unknown key, the class and the valid keys.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from hydra.utils import get_class
from omegaconf import DictConfig, ListConfig

from dlzoo.errors import ConfigError
from dlzoo.optim import SCHEDULER_STEPPING_KEYS

# Keys Hydra's instantiate reads itself.
HYDRA_KEYS = {"_target_", "_partial_", "_convert_", "_recursive_", "_args_"}
# Arguments the pipeline passes itself; a config must not set them.
INJECTED = {
    "task": {"net", "optimizer", "scheduler"},
    "trainer": {"callbacks", "logger", "enable_checkpointing", "enable_progress_bar"},
}


# conf/transfer/*.yaml; `source` is written by a rebuilt run (see dlzoo.run.transfer)
TRANSFER_KEYS = {"freeze", "unfreeze_at_epoch", "backbone_lr_scale", "pretrained", "source"}


def signature(target: str, where: str) -> inspect.Signature:
    """The constructor signature of the class ``target`` names.

    Raises:
        ConfigError: the class cannot be imported.
    """
    try:
        cls = get_class(target)
    except Exception as exc:
        raise ConfigError(f"{where}._target_={target!r} cannot be imported: {exc}") from None
    return inspect.signature(cls)


def check_keys(node: Any, where: str, extra: set[str] = frozenset()) -> None:
    """Fail on keys that the ``_target_`` class does not take, recursively.

    Args:
        node: a config node (any ``_target_`` nodes inside it are checked).
        where: the node's dotted path, for the message (e.g. ``model``).
        extra: keys that are allowed besides the constructor arguments.

    Raises:
        ConfigError: naming the unknown key, the class and the valid keys.
    """
    if isinstance(node, DictConfig | Mapping):
        target = node.get("_target_")
        if target is not None:
            params = signature(str(target), where).parameters
            takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
            valid = {n for n, p in params.items() if p.kind is not p.VAR_POSITIONAL}
            unknown = sorted(set(node.keys()) - valid - HYDRA_KEYS - extra)
            if unknown and not takes_any:
                raise ConfigError(
                    f"unknown key {where}.{unknown[0]}: {target} takes "
                    f"{', '.join(sorted(valid - {'self'}))}"
                )
        for key, value in node.items():
            check_keys(value, f"{where}.{key}")
    elif isinstance(node, ListConfig | list):
        for i, value in enumerate(node):
            check_keys(value, f"{where}[{i}]")


def _check_trainer_values(trainer: DictConfig) -> None:
    max_epochs = trainer.get("max_epochs")
    if max_epochs is not None and (isinstance(max_epochs, bool) or int(max_epochs) < 1):
        # Lightning reads -1 as "train forever": never what a course exercise wants
        raise ConfigError(
            f"trainer.max_epochs={max_epochs} must be a positive number of epochs "
            "(Lightning would read -1 as 'forever'; use trainer.max_time to bound by time)"
        )


def validate_config(cfg: DictConfig) -> None:
    """Check the composed config before anything is built or loaded.

    Raises:
        ConfigError: unknown keys, keys the pipeline sets itself, a bad value, or a
            missing ``optimized_metric``.
    """
    for group in ("data", "model", "task", "optimizer", "trainer"):
        if cfg.get(group) is None or "_target_" not in cfg[group]:
            raise ConfigError(f"config group '{group}' is missing or has no _target_")
        check_keys(cfg[group], group)
        clash = sorted(INJECTED.get(group, set()) & set(cfg[group].keys()))
        if clash:
            raise ConfigError(f"{group}.{clash[0]} is set by the pipeline; remove it")
    if cfg.get("scheduler"):
        check_keys(cfg.scheduler, "scheduler", extra=set(SCHEDULER_STEPPING_KEYS))
    for group in ("callbacks", "logger"):
        for name, node in (cfg.get(group) or {}).items():
            if node is not None:
                check_keys(node, f"{group}.{name}")
    _check_trainer_values(cfg.trainer)
    unknown = sorted(set(cfg.get("transfer") or {}) - TRANSFER_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown key transfer.{unknown[0]}; "
            f"valid: {', '.join(sorted(TRANSFER_KEYS - {'source'}))}"
        )
    if not cfg.get("optimized_metric"):
        raise ConfigError("optimized_metric is not set (e.g. optimized_metric=val/acc)")
    if cfg.get("optimized_mode", "max") not in ("max", "min"):
        raise ConfigError(f"optimized_mode must be max or min, got {cfg.optimized_mode!r}")
