"""Dense (fully connected) networks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dlzoo.layers.activations import ActivationLike
from dlzoo.layers.dense import DenseStack
from dlzoo.models.base import ZooNet
from dlzoo.models.registry import register_model


@register_model("mlp")
class MLP(ZooNet):
    """A multilayer perceptron classifier: the input is flattened, passed through
    hidden ``Linear -> [BatchNorm1d] -> activation -> [Dropout]`` layers and a final
    ``Linear`` to logits (Rumelhart, Hinton & Williams 1986).

    Args:
        in_features: size of one flattened input sample (e.g. ``C * H * W``), from the
            datamodule.
        num_classes: number of output logits, from the datamodule.
        hidden_sizes: width of each hidden layer; empty gives multinomial logistic
            regression.
        activation: activation name of the hidden layers.
        dropout: dropout probability after every hidden layer.
        batch_norm: ``BatchNorm1d`` after every hidden linear map.

    Net API (see :mod:`dlzoo.models.base`): the features are the last hidden layer's
    output (after its dropout), or the flattened input without hidden layers; the head
    is the output layer alone.

    Shapes:
        input (B, *) with ``prod(*) == in_features``; output (B, num_classes);
        features (B, hidden_sizes[-1] or in_features).
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        hidden_sizes: Sequence[int] = (128,),
        activation: ActivationLike = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.flatten = nn.Flatten(1)
        self.layers = DenseStack(
            in_features, list(hidden_sizes), num_classes, activation, batch_norm, dropout
        )
        self.num_features = self.layers.hidden_features

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers.forward_hidden(self.flatten(x))  # (B, num_features)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers.forward_output(features)  # (B, num_classes)

    def reset_head(self, num_outputs: int) -> None:
        self.layers.reset_output(num_outputs)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A small MLP and a matching (B, 1, 4, 4) input."""
        net = cls(in_features=16, num_classes=3, hidden_sizes=[8, 8], batch_norm=True, dropout=0.1)
        return net, torch.randn(batch_size, 1, 4, 4)
