"""Optimizer and scheduler stepping for the tasks' manual optimisation.

Lightning's automatic optimisation wraps every step in a closure and a dozen hooks;
on a small net that costs about as much as the step itself. The tasks optimise
manually instead, and this module keeps what the Trainer's automatic loop offered:
gradient accumulation (``trainer.accumulate_grad_batches``), gradient clipping
(``trainer.gradient_clip_val`` / ``gradient_clip_algorithm``) and the schedulers'
``interval`` / ``frequency`` / ``monitor`` keys. The pipeline takes the clipping and
accumulation values from the trainer config and hands them here, so configs keep
setting them on the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightning as L
import torch

from dlzoo.errors import ConfigError


@dataclass
class Stepping:
    """How the task steps its optimizer.

    Args:
        accumulate_grad_batches: batches whose gradients are summed per optimizer step.
        gradient_clip_val: clip gradients to this norm (or value); ``None``: no clipping.
        gradient_clip_algorithm: ``norm`` or ``value``.
        monitor: the metric the scheduler steps on (ReduceLROnPlateau); set by the task.
    """

    accumulate_grad_batches: int = 1
    gradient_clip_val: float | None = None
    gradient_clip_algorithm: str = "norm"
    # the metric a ReduceLROnPlateau scheduler is stepped with (set by the task)
    monitor: str | None = None


def backward_and_step(task: L.LightningModule, loss: torch.Tensor, batch_idx: int) -> None:
    """Backward pass for one batch; an optimizer step when the accumulation is full
    or the epoch's batches are done; step-interval schedulers after each step."""
    stepping: Stepping = task.stepping
    accumulate = stepping.accumulate_grad_batches
    task.manual_backward(loss / accumulate if accumulate > 1 else loss)
    last = batch_idx + 1 >= task.trainer.num_training_batches
    if (batch_idx + 1) % accumulate and not last:
        return
    optimizer = task.optimizers()
    if stepping.gradient_clip_val:
        task.clip_gradients(
            optimizer,
            gradient_clip_val=stepping.gradient_clip_val,
            gradient_clip_algorithm=stepping.gradient_clip_algorithm,
        )
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    _step_schedulers(task, "step", task.trainer.global_step)


def step_epoch_schedulers(task: L.LightningModule) -> None:
    """Step the epoch-interval schedulers (after the epoch's validation)."""
    _step_schedulers(task, "epoch", task.trainer.current_epoch + 1)


def _step_schedulers(task: L.LightningModule, interval: str, count: int) -> None:
    monitor = task.stepping.monitor
    for config in task.trainer.lr_scheduler_configs:
        if config.interval != interval or count % config.frequency:
            continue
        if monitor:  # e.g. ReduceLROnPlateau
            value: Any = task.trainer.callback_metrics.get(monitor)
            if value is None:
                available = ", ".join(task.trainer.callback_metrics) or "none yet"
                raise ConfigError(
                    f"scheduler.monitor={monitor} was not logged; logged: {available}"
                )
            config.scheduler.step(value)
        else:
            config.scheduler.step()
