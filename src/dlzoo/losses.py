"""Losses by name, so a config says ``loss: huber`` instead of a class path."""

from __future__ import annotations

import torch
from torch import nn

from dlzoo.errors import ConfigError


class RMSELoss(nn.Module):
    """Root mean squared error, ``sqrt(mean((input - target)^2) + eps)``.

    The ``eps`` keeps the gradient finite when the error is exactly zero.

    Args:
        eps: added under the square root.

    Shapes:
        input, target: any shape, the same for both; output: a scalar.
    """

    def __init__(self, eps: float = 1e-12) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(nn.functional.mse_loss(input, target) + self.eps)


LOSSES: dict[str, type[nn.Module]] = {
    "mse": nn.MSELoss,
    "rmse": RMSELoss,
    "mae": nn.L1Loss,
    "huber": nn.HuberLoss,
    "nll": nn.NLLLoss,
    "cross_entropy": nn.CrossEntropyLoss,
    "bce": nn.BCEWithLogitsLoss,
}


def get_loss(name: str, **kwargs: object) -> nn.Module:
    """Build a loss module by name.

    Args:
        name: one of ``mse``, ``rmse``, ``mae``, ``huber``, ``nll`` (expects
            log-probabilities), ``cross_entropy`` (expects logits), ``bce`` (binary
            cross-entropy with logits).
        **kwargs: passed to the loss class (e.g. ``label_smoothing``).
    """
    try:
        cls = LOSSES[name]
    except KeyError:
        raise ConfigError(
            f"unknown loss {name!r}; valid losses: {', '.join(sorted(LOSSES))}"
        ) from None
    return cls(**kwargs)
