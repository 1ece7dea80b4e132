"""Fully connected building blocks: one layer (:class:`LinearNormAct`), a stack of
them ending in an optional plain output layer (:class:`DenseStack`), and
:func:`fresh_linear`, which every ``reset_head`` uses to swap an output layer."""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Sequence

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike, norm_act_dropout


def fresh_linear(like: nn.Linear, out_features: int) -> nn.Linear:
    """A newly initialised ``Linear`` that takes ``like``'s inputs, with ``out_features``
    outputs.

    It keeps ``like``'s bias (or lack of one), device and dtype, so that a net moved to
    a GPU or to half precision gets a head that fits it.

    Args:
        like: the output layer to replace.
        out_features: outputs of the new layer (e.g. a new number of classes).

    Raises:
        ConfigError: ``out_features`` is not a positive int.

    Shapes:
        the new layer maps (B, like.in_features) to (B, out_features).
    """
    if (
        isinstance(out_features, bool)
        or not isinstance(out_features, numbers.Integral)
        or out_features < 1
    ):
        raise ConfigError(f"a head needs a positive int of outputs, got {out_features!r}")
    return nn.Linear(
        like.in_features,
        int(out_features),
        bias=like.bias is not None,
        device=like.weight.device,
        dtype=like.weight.dtype,
    )


class LinearNormAct(nn.Sequential):
    """``Linear -> BatchNorm1d (optional) -> activation -> Dropout (optional)``.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        activation: an activation name (see :mod:`dlzoo.layers.activations`) or ``None``.
        batch_norm: add ``BatchNorm1d`` after the linear map; the linear bias is then
            dropped, because the norm's shift replaces it.
        dropout: dropout probability after the activation (0 adds no layer).

    Shapes:
        input (B, in_features); output (B, out_features).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: ActivationLike | None = "relu",
        batch_norm: bool = False,
        dropout: float = 0.0,
    ) -> None:
        norm = nn.BatchNorm1d(out_features) if batch_norm else None
        linear = nn.Linear(in_features, out_features, bias=not batch_norm)
        super().__init__(linear, *norm_act_dropout(norm, activation, dropout))
        self.out_features = out_features


class DenseStack(nn.Sequential):
    """Hidden :class:`LinearNormAct` layers, then an optional plain ``Linear`` output.

    The output layer has no norm, activation or dropout, so with ``out_features`` set
    the stack returns logits (or unconstrained regression outputs).

    Args:
        in_features: size of each input sample.
        hidden_sizes: width of each hidden layer, in order (may be empty).
        out_features: width of the final plain linear layer; ``None`` ends the stack
            with the last hidden layer.
        activation: activation name for the hidden layers.
        batch_norm: ``BatchNorm1d`` in every hidden layer.
        dropout: dropout after every hidden layer.

    Attributes:
        hidden_features: width of the last hidden layer (``in_features`` without
            hidden layers): what the output layer takes.
        has_output: whether the stack ends in the plain output layer.

    Shapes:
        input (B, in_features); output (B, out_features or hidden_sizes[-1] or
        in_features).
    """

    def __init__(
        self,
        in_features: int,
        hidden_sizes: Sequence[int] = (),
        out_features: int | None = None,
        activation: ActivationLike | None = "relu",
        batch_norm: bool = False,
        dropout: float = 0.0,
    ) -> None:
        widths = [in_features, *hidden_sizes]
        layers: list[nn.Module] = [
            LinearNormAct(w_in, w_out, activation, batch_norm, dropout)
            for w_in, w_out in itertools.pairwise(widths)
        ]
        if out_features is not None:
            layers.append(nn.Linear(widths[-1], out_features))
        super().__init__(*layers)
        self.has_output = out_features is not None
        self.hidden_features = widths[-1]
        self.out_features = widths[-1] if out_features is None else out_features

    def forward_hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Every layer but the output layer.

        Shapes:
            input (B, in_features); output (B, hidden_features).
        """
        hidden = itertools.islice(self, len(self) - 1) if self.has_output else self
        for layer in hidden:
            x = layer(x)
        return x

    def forward_output(self, x: torch.Tensor) -> torch.Tensor:
        """The output layer alone (the identity without one), so that
        ``forward_output(forward_hidden(x)) == self(x)``.

        Shapes:
            input (B, hidden_features); output (B, out_features).
        """
        return self[-1](x) if self.has_output else x

    def reset_output(self, out_features: int) -> None:
        """Replace the output layer by a fresh one with ``out_features`` outputs; the
        hidden layers keep their weights.

        Raises:
            ConfigError: ``out_features`` is not a positive int.
            ValueError: the stack was built without an output layer.
        """
        if not self.has_output:
            raise ValueError("this DenseStack was built without an output layer to reset")
        self[-1] = fresh_linear(self[-1], out_features)
        self.out_features = self[-1].out_features
