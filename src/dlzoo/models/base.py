"""The one API of every registered net (the "timm seam"), and the base of the nets
that pool a sequence into a :class:`~dlzoo.layers.heads.SequenceHead`.

Every net in the zoo splits into a body and a head:

- ``forward_features(x, *extra)`` returns the pooled representation that the head
  takes, (B, ``num_features``); ``extra`` is what the net accepts after ``x`` (e.g. the
  sequence ``lengths``).
- ``forward_head(features)`` maps it to the net's output.
- ``forward(x, *extra)`` is ``forward_head(forward_features(x, *extra))``, so a linear
  probe, a siamese net or a fine-tuned head sees exactly what the trained net saw.
- ``reset_head(num_outputs)`` replaces the head's output layer by a freshly
  initialised one with ``num_outputs`` outputs. Hidden head layers keep their
  weights. The result is always a classifier with ``num_outputs`` classes: a
  forecasting net (output (B, horizon, output_size)) turns into one, since
  ``horizon * output_size`` outputs would not say which of the two to change. A net
  without a trainable head (the naive forecast) raises :class:`ConfigError`.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from torch import nn

from dlzoo.layers.activations import ActivationLike
from dlzoo.layers.heads import SequenceHead


class ZooNet(nn.Module, ABC):
    """Base of every registered net: ``forward`` composes the two halves of the seam.

    A subclass sets ``num_features`` in ``__init__`` and implements
    :meth:`forward_features`, :meth:`forward_head` and :meth:`reset_head`.

    Attributes:
        num_features: width of :meth:`forward_features`' output.

    Shapes:
        input x (B, ...) and the extra inputs the net takes; output that of
        :meth:`forward_head`.
    """

    num_features: int

    def forward(self, x: torch.Tensor, *extra: torch.Tensor | None) -> torch.Tensor:
        return self.forward_head(self.forward_features(x, *extra))

    @abstractmethod
    def forward_features(self, x: torch.Tensor, *extra: torch.Tensor | None) -> torch.Tensor:
        """The pooled representation that the head takes.

        Shapes:
            input x (B, ...) and the extra inputs the net takes; output
            (B, num_features).
        """

    @abstractmethod
    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """The head on :meth:`forward_features`' output.

        Shapes:
            input (B, num_features); output the net's output, e.g. (B, num_classes).
        """

    @abstractmethod
    def reset_head(self, num_outputs: int) -> None:
        """Replace the head's output layer by a fresh one with ``num_outputs`` class
        logits (see the module docstring for forecasters and hidden head layers).

        Raises:
            ConfigError: ``num_outputs`` is not a positive int, or the net has no
                trainable head.
        """


class SequenceNet(ZooNet):
    """Base of the nets that pool a sequence into one vector, then a
    :class:`~dlzoo.layers.heads.SequenceHead` (classification or forecasting).

    The subclass calls ``super().__init__`` with the head's arguments first, builds its
    encoder, then calls :meth:`_add_head` with the pooled width: the head's weights are
    drawn after the encoder's, so a seeded net starts from the same weights as before
    this base existed.

    Args:
        num_classes: class logits (classification), from the datamodule.
        horizon: forecast steps (forecasting, with ``output_size``), from the datamodule.
        output_size: target series (forecasting, with ``horizon``), from the datamodule.
        head_hidden_sizes: widths of dense layers between the pooled vector and the
            output layer.
        dropout: dropout probability on the pooled vector and after every hidden head
            layer.
        activation: activation name of the hidden head layers.

    Shapes:
        :meth:`forward_head`: input (B, num_features); output (B, num_classes) or
        (B, horizon, output_size).
    """

    head: SequenceHead

    def __init__(
        self,
        num_classes: int | None,
        horizon: int | None,
        output_size: int | None,
        head_hidden_sizes: Sequence[int] = (),
        dropout: float = 0.0,
        activation: ActivationLike = "relu",
    ) -> None:
        super().__init__()
        self._make_head = functools.partial(
            SequenceHead,
            num_classes=num_classes,
            horizon=horizon,
            output_size=output_size,
            hidden_sizes=head_hidden_sizes,
            dropout=dropout,
            activation=activation,
        )

    def _add_head(self, num_features: int) -> None:
        """Build the head on a pooled vector of ``num_features``.

        Raises:
            ConfigError: not exactly one head (see :class:`SequenceHead`).
        """
        self.num_features = num_features
        self.head = self._make_head(num_features)
        del self._make_head  # used once; a net should not carry a factory around

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, num_classes) or (B, horizon, output_size)

    def reset_head(self, num_outputs: int) -> None:
        self.head.reset_output(num_outputs)
