"""The heads that end every trainable net: :class:`ClassifierHead` (a feature map to
class logits) and :class:`SequenceHead` (a pooled sequence vector to class logits or a
multi-step forecast).

Both split into the representation the net exposes as ``forward_features`` and the
layers after it, and both can swap their output layer (``reset_output``), which is
what a net's ``reset_head`` does (see :mod:`dlzoo.models.base`).
"""

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

    Attributes:
        num_features: ``in_features``, the width of :meth:`pool_features`' output.

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
        self.num_features = in_features

    def pool_features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled (or flattened) features, before dropout and the dense layers.

        Shapes:
            input (B, C, H, W); output (B, in_features).
        """
        return self.flatten(self.pool(x))

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Dropout, the hidden dense layers and the output layer.

        Shapes:
            input (B, in_features); output (B, num_classes).
        """
        return self.mlp(self.dropout(features))

    def reset_output(self, num_classes: int) -> None:
        """A fresh output layer with ``num_classes`` logits; pooling and the hidden
        dense layers keep their weights.

        Raises:
            ConfigError: ``num_classes`` is not a positive int.
        """
        self.mlp.reset_output(num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.pool_features(x))  # (B, num_classes)


class SequenceHead(nn.Module):
    """The head of every sequence net: dropout, dense layers, then either class logits
    or a multi-step forecast.

    Which head is built depends on which arguments are given: ``num_classes``
    (classification) or ``horizon`` and ``output_size`` (forecasting). The pipeline
    fills them from the datamodule, so one net config serves both tasks.

    Args:
        in_features: size of the pooled sequence vector.
        num_classes: number of class logits (classification).
        horizon: steps ahead to forecast (forecasting, with ``output_size``).
        output_size: target series per step (forecasting, with ``horizon``).
        hidden_sizes: widths of dense layers before the output layer.
        dropout: dropout probability on the input and after every hidden layer.
        activation: activation name of the hidden layers.

    Raises:
        ConfigError: both heads, neither head, or only one of ``horizon`` and
            ``output_size``.

    Shapes:
        input (B, in_features); output (B, num_classes) or (B, horizon, output_size).
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int | None = None,
        horizon: int | None = None,
        output_size: int | None = None,
        hidden_sizes: Sequence[int] = (),
        dropout: float = 0.0,
        activation: ActivationLike = "relu",
    ) -> None:
        super().__init__()
        forecast = horizon is not None or output_size is not None
        if (num_classes is not None) == forecast:
            raise ConfigError(
                "a sequence net needs exactly one head, num_classes (classification) or "
                f"horizon and output_size (forecasting); got num_classes={num_classes}, "
                f"horizon={horizon}, output_size={output_size}"
            )
        if forecast and (horizon is None or output_size is None):
            raise ConfigError(
                "a forecasting head needs both horizon and output_size; got "
                f"horizon={horizon}, output_size={output_size}"
            )
        self.num_classes = num_classes
        self.horizon = horizon
        self.output_size = output_size
        out_features = num_classes if num_classes is not None else horizon * output_size
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.mlp = DenseStack(
            in_features, list(hidden_sizes), out_features, activation, dropout=dropout
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.mlp(self.dropout(x))  # (B, num_classes) or (B, horizon * output_size)
        if self.num_classes is None:
            out = out.view(-1, self.horizon, self.output_size)  # (B, horizon, output_size)
        return out

    def reset_output(self, num_classes: int) -> None:
        """A fresh output layer with ``num_classes`` logits; the hidden dense layers keep
        their weights.

        A forecasting head becomes a classification head: ``horizon * output_size``
        would not say which of the two to change, and a new forecast shape is a new
        net, not a new head.

        Raises:
            ConfigError: ``num_classes`` is not a positive int.
        """
        self.mlp.reset_output(num_classes)
        self.num_classes = num_classes
        self.horizon = self.output_size = None
