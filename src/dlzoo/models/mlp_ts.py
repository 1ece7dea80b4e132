"""The multilayer perceptron baseline of Wang, Yan & Oates 2017 for time series
classification: a dense net on the whole series, flattened."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike
from dlzoo.layers.dense import LinearNormAct
from dlzoo.layers.temporal_pool import lengths_to_mask
from dlzoo.models.base import SequenceNet
from dlzoo.models.registry import register_model


@register_model("mlp_ts")
class TimeSeriesMLP(SequenceNet):
    """The MLP of Wang, Yan & Oates, "Time Series Classification from Scratch with Deep
    Neural Networks: A Strong Baseline" (IJCNN 2017).

    The series, ``seq_len`` steps of ``input_size`` channels, is flattened (step by
    step) into one vector; three dense layers of 500 ReLU units follow, each after a
    dropout: 0.1 on the input, 0.2 on the hidden layers, and 0.3 before the softmax
    layer. About 578 000 weights on a series of 150 steps.

    A dense net has one weight per input step, so it is built for a fixed length:
    ``seq_len``, from the datamodule (the longest series of the training part). A
    shorter series is zero-padded after its ``lengths`` (the UCR datamodule's padding:
    after standardisation, the training mean), whatever the padding held; steps past
    ``seq_len`` are dropped (JapaneseVowels: one test series of 29 steps against 26 in
    training). Ismail Fawaz et al. 2019 stretch every series of a variable-length
    archive to the longest by linear interpolation instead.

    Args:
        input_size: channels per time step, from the datamodule.
        seq_len: steps the net reads, from the datamodule.
        hidden_sizes: width of each dense layer, in order.
        input_dropout: dropout probability on the flattened input.
        hidden_dropout: dropout probability before every dense layer after the first.
        dropout: dropout probability on the last dense layer's output, before the
            softmax layer.
        activation: activation name of the dense layers.
        num_classes: class logits, from the datamodule.

    Raises:
        ConfigError: no dense layer, a size below 1, a probability outside [0, 1).

    Net API (see :mod:`dlzoo.models.base`): the features are the last dense layer's
    output, (B, hidden_sizes[-1]); the head is the dropout and the softmax layer.

    Shapes:
        input x (B, T, input_size), any T, and lengths (B,) int64 or ``None``; output
        (B, num_classes).
    """

    def __init__(
        self,
        input_size: int,
        seq_len: int,
        hidden_sizes: Sequence[int] = (500, 500, 500),
        input_dropout: float = 0.1,
        hidden_dropout: float = 0.2,
        dropout: float = 0.3,
        activation: ActivationLike = "relu",
        num_classes: int | None = None,
    ) -> None:
        super().__init__(num_classes, None, None, dropout=dropout)
        hidden_sizes = list(hidden_sizes)
        if not hidden_sizes or min(hidden_sizes) < 1 or min(input_size, seq_len) < 1:
            raise ConfigError(
                f"input_size, seq_len and hidden_sizes must be positive and hidden_sizes "
                f"non-empty, got {input_size}, {seq_len} and {hidden_sizes}"
            )
        for name, p in (("input_dropout", input_dropout), ("hidden_dropout", hidden_dropout)):
            if not 0.0 <= p < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {p}")
        self.seq_len = seq_len
        widths = [seq_len * input_size, *hidden_sizes]
        layers: list[nn.Module] = []
        for i in range(len(hidden_sizes)):
            layers.append(nn.Dropout(input_dropout if i == 0 else hidden_dropout))
            layers.append(LinearNormAct(widths[i], widths[i + 1], activation))
        self.body = nn.Sequential(*layers)
        self._add_head(hidden_sizes[-1])

    def flatten(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The series as the first dense layer reads it: zero after each length,
        padded or cut to ``seq_len`` steps, flattened step by step.

        Shapes:
            input x (B, T, input_size) and lengths (B,) or ``None``; output
            (B, seq_len * input_size).
        """
        if lengths is not None:
            mask = lengths_to_mask(lengths, x.shape[1])  # (B, T)
            x = x.masked_fill(~mask.unsqueeze(-1), 0.0)
        x = x[:, : self.seq_len]  # (B, min(T, seq_len), C)
        x = F.pad(x, (0, 0, 0, self.seq_len - x.shape[1]))  # (B, seq_len, C)
        return x.flatten(1)  # (B, seq_len * C)

    def forward_features(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.body(self.flatten(x, lengths))  # (B, hidden_sizes[-1])

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A narrow MLP on 8 steps and a shorter (B, 6, 2) input, padded to them."""
        net = cls(input_size=2, seq_len=8, hidden_sizes=(5, 4), num_classes=3)
        return net, torch.randn(batch_size, 6, 2)
