"""Fully connected building blocks: one layer (:class:`LinearNormAct`) and a stack of
them ending in an optional plain output layer (:class:`DenseStack`)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from torch import nn

from dlzoo.layers.activations import ActivationLike, norm_act_dropout


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
        self.out_features = widths[-1] if out_features is None else out_features
