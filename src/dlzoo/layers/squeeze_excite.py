"""Squeeze-and-excitation: channel attention from globally pooled features."""

from __future__ import annotations

import torch
from torch import nn

from dlzoo.layers.activations import ActivationLike
from dlzoo.layers.conv import ConvNormAct


class SqueezeExcite(nn.Module):
    r"""Squeeze-and-excitation block from Hu et al., "Squeeze-and-Excitation Networks"
    (CVPR 2018).

    Each channel is rescaled by a gate in (0, 1) computed from the whole image:

    .. math::
        s = \sigma(W_2\, \delta(W_1\, \mathrm{GAP}(x))), \qquad y_c = s_c \, x_c

    where GAP averages each channel over H and W, :math:`W_1` reduces ``channels`` to
    ``channels // reduction``, :math:`\delta` is the activation and :math:`\sigma` the
    sigmoid. The two fully connected maps are 1x1 convolutions on the (B, C, 1, 1)
    pooled tensor, which is the same map without a reshape.

    Args:
        channels: channels of the input (and the output).
        reduction: bottleneck ratio r (the paper uses 16); the hidden width is
            ``max(1, channels // reduction)`` so that narrow layers keep a gate.
        activation: activation name between the two maps.

    Shapes:
        input (B, channels, H, W); output (B, channels, H, W).
    """

    def __init__(self, channels: int, reduction: int = 16, activation: ActivationLike = "relu"):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = ConvNormAct(channels, hidden, 1, activation=activation, batch_norm=False)
        self.expand = ConvNormAct(hidden, channels, 1, activation="sigmoid", batch_norm=False)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.pool(x)  # (B, C, 1, 1)
        gate = self.expand(self.reduce(gate))  # (B, C, 1, 1), each in (0, 1)
        return x * gate  # (B, C, H, W)
