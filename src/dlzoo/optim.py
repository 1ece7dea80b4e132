"""Optimizer parameter groups and learning-rate schedulers built from config.

Optimizers arrive from config as ``functools.partial`` objects (``_partial_: true``);
:func:`param_groups` decides which parameters decay. Schedulers arrive as plain dicts:
the scheduler's own arguments plus three keys that tell Lightning how to step it
(``interval``, ``frequency``, ``monitor``). Arguments left ``null`` that depend on the
length of training (``total_steps``, ``T_max``, ``step_size_up``) are derived from the
trainer by :func:`build_scheduler`, so ``scheduler=onecycle`` works with any
``trainer.max_epochs`` and any dataset size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from hydra.utils import get_class
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from dlzoo.errors import ConfigError

# Parameters of these layers scale or shift activations; decaying them towards zero
# fights the normalisation instead of regularising the model.
_NORM_LAYERS: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.LocalResponseNorm,
)

# keys of a scheduler config that tell Lightning how to step it, not the scheduler
SCHEDULER_STEPPING_KEYS = ("interval", "frequency", "monitor")


def param_groups(
    module: nn.Module, weight_decay: float, lr: float | None = None, lr_scales: Any = None
) -> list[dict[str, Any]]:
    """Split parameters into a decayed group (weights) and a non-decayed group.

    Biases and every parameter of a normalisation layer go to the group with
    ``weight_decay=0``; all other trainable parameters get ``weight_decay``.

    Args:
        module: the model whose trainable parameters are grouped.
        weight_decay: the decay of the weight group.
        lr: the optimizer's learning rate (needed with ``lr_scales``).
        lr_scales: ``id(parameter) -> factor``: those parameters get their own groups
            with learning rate ``lr * factor`` (transfer learning's reused body).

    Returns:
        Parameter groups for a ``torch.optim`` optimizer (empty groups dropped).
    """
    scales = dict(lr_scales or {})
    groups: dict[tuple[bool, float], list[nn.Parameter]] = {}
    seen: set[int] = set()
    for sub in module.modules():
        for name, param in sub.named_parameters(recurse=False):
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            decays = not (isinstance(sub, _NORM_LAYERS) or name.endswith("bias"))
            groups.setdefault((decays, scales.get(id(param), 1.0)), []).append(param)
    out = []
    for (decays, scale), params in sorted(groups.items(), key=lambda kv: (-kv[0][1], not kv[0][0])):
        # the names label the groups in LearningRateMonitor's tags (lr-Adam/decay)
        group = {
            "params": params,
            "weight_decay": weight_decay if decays else 0.0,
            "name": ("decay" if decays else "no_decay") + ("" if scale == 1.0 else "_body"),
        }
        if scale != 1.0:
            if lr is None:
                raise ConfigError("a learning-rate scale needs the optimizer's lr to be set")
            group["lr"] = lr * scale
        out.append(group)
    return out


def build_optimizer(
    factory: Callable[..., Optimizer], module: nn.Module, lr_scales: Any = None
) -> Optimizer:
    """Call an optimizer partial on the parameter groups of ``module``.

    Args:
        factory: e.g. ``functools.partial(torch.optim.AdamW, lr=1e-3, weight_decay=0.01)``.
        module: the model to optimise.
        lr_scales: per-parameter learning-rate factors (see :func:`param_groups`).
    """
    keywords = getattr(factory, "keywords", {}) or {}
    lr = keywords.get("lr")
    groups = param_groups(
        module,
        float(keywords.get("weight_decay", 0.0)),
        None if lr is None else float(lr),
        lr_scales,
    )
    return factory(groups)


class WarmupCosine(LambdaLR):
    """Linear warmup from 0 to the base learning rate, then cosine decay.

    ``lr(t) = base * (t + 1) / (warmup + 1)`` for ``t < warmup``, then
    ``lr(t) = base * (r + (1 - r) * (1 + cos(pi * p)) / 2)`` with ``p`` the fraction of
    the decay phase done and ``r = min_lr_ratio`` (Loshchilov & Hutter 2017, with the
    warmup of Goyal et al. 2017). Meant to be stepped once per optimizer step.

    Args:
        optimizer: the wrapped optimizer.
        warmup_steps: steps of linear warmup (clipped to ``total_steps``).
        total_steps: steps in the whole schedule.
        min_lr_ratio: final learning rate as a fraction of the base one.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int,
        total_steps: int,
        min_lr_ratio: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if total_steps < 1:
            raise ConfigError(f"WarmupCosine needs total_steps >= 1, got {total_steps}")
        self.warmup_steps = min(int(warmup_steps), int(total_steps))
        self.total_steps = int(total_steps)
        self.min_lr_ratio = float(min_lr_ratio)
        super().__init__(optimizer, self._factor, last_epoch=last_epoch)

    def _factor(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / (self.warmup_steps + 1)
        decay_steps = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / decay_steps)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.min_lr_ratio + (1.0 - self.min_lr_ratio) * cosine


def _derived_lengths(interval: str, total_steps: int, max_epochs: int) -> dict[str, int]:
    """Values for schedule arguments left ``null``, from the length of training."""
    steps_per_epoch = max(1, total_steps // max(1, max_epochs))
    return {
        "total_steps": total_steps,
        "T_max": total_steps if interval == "step" else max_epochs,
        "step_size_up": 2 * steps_per_epoch,
    }


def build_scheduler(
    config: dict[str, Any], optimizer: Optimizer, total_steps: int, max_epochs: int
) -> dict[str, Any]:
    """Instantiate a scheduler config into Lightning's ``lr_scheduler`` dict.

    Args:
        config: ``_target_``, the scheduler's arguments, and optionally ``interval``
            (``epoch`` or ``step``), ``frequency`` and ``monitor``.
        optimizer: the optimizer to schedule.
        total_steps: optimizer steps in the whole fit (``trainer.estimated_stepping_batches``).
        max_epochs: ``trainer.max_epochs``.

    Returns:
        ``{"scheduler": ..., "interval": ..., "frequency": ...}`` plus ``monitor`` if set.
    """
    kwargs = dict(config)
    target = kwargs.pop("_target_")
    kwargs.pop("_partial_", None)
    interval = kwargs.pop("interval", "epoch")
    frequency = kwargs.pop("frequency", 1)
    monitor = kwargs.pop("monitor", None)
    if interval not in ("epoch", "step"):
        raise ConfigError(f"scheduler.interval must be 'epoch' or 'step', got {interval!r}")
    derived = _derived_lengths(interval, total_steps, max_epochs)
    for key, value in kwargs.items():
        if value is None and key in derived:
            if max_epochs is None or max_epochs < 1 or not math.isfinite(total_steps):
                raise ConfigError(
                    f"scheduler {target} needs '{key}', which is derived from "
                    f"trainer.max_epochs; set trainer.max_epochs or scheduler.{key}"
                )
            kwargs[key] = derived[key]
    scheduler = get_class(target)(optimizer, **kwargs)
    out: dict[str, Any] = {"scheduler": scheduler, "interval": interval, "frequency": frequency}
    if monitor is not None:
        out["monitor"] = monitor
    elif isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        raise ConfigError("scheduler ReduceLROnPlateau needs 'monitor' (e.g. val/loss)")
    return out
