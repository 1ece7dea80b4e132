"""One device of this machine for a trained run scored or used again.

A run trained on a GPU, or with DDP on several processes, is evaluated on a laptop:
what its saved trainer asks for and this machine cannot give falls back, with a
one-line note, to one device this machine has (the CPU where it has no accelerator of
that kind). One device is also what Lightning advises for ``validate`` and ``test``:
every sample is scored once. What the command line chose (``trainer=gpu``,
``trainer.devices=2``) is never changed behind its back: it is kept, or refused in one
line that names the fix.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import torch
from omegaconf import DictConfig

from dlzoo.errors import ConfigError

# Lightning's names for the kinds of accelerator; "gpu" is CUDA or Apple's MPS
_KINDS = {"gpu": ("cuda", "mps"), "cuda": ("cuda",), "mps": ("mps",), "tpu": ("tpu",)}


def available(accelerator: Any) -> bool:
    """Whether this machine has ``accelerator`` (a Lightning name: cpu, gpu, cuda...).

    An accelerator object configured by hand (not a name) is Lightning's to check.
    """
    if not isinstance(accelerator, str) or accelerator.lower() in ("auto", "cpu"):
        return True
    from lightning.pytorch.accelerators import AcceleratorRegistry

    kinds = _KINDS.get(accelerator.lower(), (accelerator.lower(),))
    return any(
        kind in AcceleratorRegistry and AcceleratorRegistry[kind]["accelerator"].is_available()
        for kind in kinds
    )


def _is_one(value: Any) -> bool:
    """Whether a ``devices`` / ``num_nodes`` value means exactly one."""
    if isinstance(value, int | str):
        return str(value).strip() == "1"
    return hasattr(value, "__len__") and len(value) == 1  # device indices, e.g. [1]


def _to_cpu(trainer: DictConfig) -> list[str]:
    """Move ``trainer`` to the CPU, in 32-bit precision where it asked for 16 bits
    (mixed precision is a GPU's speed-up; on the CPU 32 bits is exact and as fast)."""
    changes = [f"accelerator={trainer.accelerator} (not on this machine)"]
    trainer.accelerator = "cpu"
    precision = str(trainer.get("precision", "32-true"))
    if precision.startswith(("16", "bf16")):
        trainer.precision = "32-true"
        changes.append(f"precision={precision}")
    return changes


def one_device(trainer: DictConfig, chosen: Collection[str]) -> str | None:
    """Make a trained run's ``trainer`` config run on one device of this machine.

    Args:
        trainer: the run's trainer node (its saved one, overrides applied), in place.
        chosen: the dotted keys that the command line chose (``trainer.devices``;
            :func:`dlzoo.config.rescore.apply_overrides`).

    Returns:
        A one-line note naming what the run's own config asked for and what runs
        instead, or ``None`` when nothing changed.

    Raises:
        ConfigError: a chosen accelerator that this machine lacks, or chosen several
            devices or nodes; naming the fix.
    """
    changes = []
    accelerator = trainer.get("accelerator", "auto")
    if not available(accelerator):
        if "trainer.accelerator" in chosen:
            raise ConfigError(
                f"trainer.accelerator={accelerator}: this machine has no {accelerator}; "
                "use trainer=cpu"
            )
        changes += _to_cpu(trainer)
    for key in ("devices", "num_nodes"):
        value = trainer.get(key, 1)
        if _is_one(value):
            continue
        if f"trainer.{key}" in chosen:
            raise ConfigError(
                f"trainer.{key}={value}: a trained run is scored on one device, so that "
                f"every sample counts once; set trainer.{key}=1 (or trainer=cpu)"
            )
        trainer[key] = 1
        changes.append(f"{key}={value}")
    strategy = trainer.get("strategy")
    if isinstance(strategy, str) and strategy != "auto" and "trainer.strategy" not in chosen:
        # DDP and its kin: one device needs none of them
        trainer.strategy = "auto"
        if trainer.get("sync_batchnorm"):
            trainer.sync_batchnorm = False
        changes.append(f"strategy={strategy}")
    if not changes:
        return None
    return (
        f"the run's trainer asks for {', '.join(changes)}: running on one "
        f"{trainer.accelerator} device instead (choose with trainer=NAME or trainer.KEY=VALUE)"
    )


def device_of(trainer: DictConfig) -> torch.device:
    """The torch device that a one-device ``trainer`` config runs on (the first of its
    kind, or the index it names, e.g. ``devices: [1]``)."""
    accelerator = str(trainer.get("accelerator", "auto")).lower()
    devices = trainer.get("devices", 1)
    index = int(devices[0]) if not isinstance(devices, int | str) else 0
    for kind in _KINDS.get(accelerator, ("cuda", "mps") if accelerator == "auto" else ()):
        if kind != "tpu" and available(kind):
            return torch.device(kind, index)
    return torch.device("cpu")
