"""Classifier heads: from a feature map to class logits."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike
from dlzoo.layers.dense import DenseStack
from dlzoo.layers.pooling import make_global_pool2d

# head name -> global pool mode; ``flatten`` keeps the whole map
HEAD_POOLS: dict[str, str | None] = {"gap": "avg", "gmp": "max", "flatten": None}


class ClassifierHead(nn.Module):
    """Pool (or flatten) a feature map, then dropout and dense layers to logits.

    ``gap`` (global average pooling, Lin et al. 2014, "Network In Network") makes the
    head independent of the image size and has no weights to overfit; ``flatten`` keeps
    where each feature is, at the cost of ``C * H * W`` inputs to the first layer.

    Args:
        in_features: ``C`` for ``gap``/``gmp``; ``C * H * W`` for ``flatten``.
        num_classes: number of output logits.
        pool: ``gap`` (global average), ``gmp`` (global max) or ``flatten``.
        hidden_sizes: widths of hidden dense layers before the output layer.
        dropout: dropout probability on the pooled features and after every hidden
            layer.
        activation: activation name of the hidden layers.
        batch_norm: ``BatchNorm1d`` in the hidden layers.

    Shapes:
        input (B, C, H, W); output (B, num_classes).
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        pool: str = "gap",
        hidden_sizes: Sequence[int] = (),
        dropout: float = 0.0,
        activation: ActivationLike = "relu",
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        if pool not in HEAD_POOLS:
            raise ConfigError(f"unknown head {pool!r}; valid heads: {', '.join(HEAD_POOLS)}")
        mode = HEAD_POOLS[pool]
        self.pool = nn.Identity() if mode is None else make_global_pool2d(mode)
        self.flatten = nn.Flatten(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.mlp = DenseStack(
            in_features, hidden_sizes, num_classes, activation, batch_norm, dropout
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(self.pool(x))  # (B, in_features)
        return self.mlp(self.dropout(x))  # (B, num_classes)
