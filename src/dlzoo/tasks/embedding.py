"""A task's embedding of a whole split, in chunks: what probes, k-means and the latent
figures read.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

# rows embedded per forward pass: bounded memory for any split size
_CHUNK = 512


@torch.no_grad()
def batched(task: Any, fn: Any, x: torch.Tensor, size: int = _CHUNK) -> torch.Tensor:
    """``fn`` (e.g. ``task.embed``) over ``x`` in chunks of ``size`` rows on the task's
    device, in eval mode (the mode restored afterwards), as float32 on the CPU.

    Shapes:
        x: (N, ...) -> (N, ...) as ``fn`` returns
    """
    was_training = task.training
    task.eval()
    try:
        parts = [fn(x[i : i + size].to(task.device)).float().cpu() for i in range(0, len(x), size)]
    finally:
        task.train(was_training)
    return torch.cat(parts)


def embed_all(task: Any, x: torch.Tensor) -> np.ndarray:
    """``task.embed`` of every row of ``x`` (see :func:`batched`), as numpy.

    Shapes:
        x: (N, ...) -> (N, D)
    """
    return batched(task, task.embed, x).reshape(len(x), -1).numpy()


def labelled_split(datamodule: Any, stage: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(x, y)`` of a split of a labelled datamodule, or ``None`` where it has none."""
    labelled = getattr(datamodule, "labelled", None)
    if labelled is None:
        return None
    try:
        return labelled(stage)
    except (KeyError, RuntimeError):
        return None
