"""The blocks of the time series classification nets, over (B, C, T) with a padding
mask: a residual connection around any stack of masked blocks
(:class:`TemporalResidual`, the ResNet of Wang et al. 2017 and the residual connections
of InceptionTime) and the Inception module of InceptionTime
(:class:`TemporalInceptionModule`, Ismail Fawaz et al. 2020).

Like :class:`~dlzoo.layers.temporal_conv.TemporalConvBlock`, every block keeps the
length ``T``, zeroes the padded steps of its output and normalises with batch
statistics of the real steps only, so a padded sequence gives the same outputs on its
real steps as the sequence alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.temporal_conv import MaskedBatchNorm1d, TemporalConvBlock

__all__ = ["TemporalInceptionModule", "TemporalResidual"]


def _zero_padding(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``x`` (B, C, T) with the padded steps set to 0."""
    return x if mask is None else x.masked_fill(~mask.unsqueeze(1), 0.0)


class TemporalResidual(nn.Module):
    r"""A residual connection around a stack of masked blocks (He et al. 2016, "Deep
    Residual Learning for Image Recognition", over time as in Wang, Yan & Oates 2017,
    "Time Series Classification from Scratch with Deep Neural Networks: A Strong
    Baseline").

    .. math::
        y = \mathrm{ReLU}(F(x) + S(x))

    ``F`` is the blocks in order; its last block should end linearly (batch norm, no
    activation), since the ReLU comes after the sum. The shortcut ``S`` is a 1x1
    convolution and batch norm (a projection) or batch norm alone, as in the papers'
    Keras code: the ResNet projects where the channels change, InceptionTime always.

    Args:
        blocks: modules that take ``(x (B, C, T), mask (B, T) or None)`` and keep ``T``,
            the first taking ``in_channels``, the last giving ``out_channels``.
        in_channels: channels of the input.
        out_channels: channels of the output.
        projection: a 1x1 convolution on the shortcut; ``None`` projects where
            ``in_channels != out_channels``.

    Raises:
        ConfigError: no blocks, or no projection where the channels change.

    Shapes:
        input x (B, in_channels, T) and mask (B, T) bool or ``None``; output
        (B, out_channels, T), zero on padded steps.
    """

    def __init__(
        self,
        blocks: Sequence[nn.Module],
        in_channels: int,
        out_channels: int,
        projection: bool | None = None,
    ) -> None:
        super().__init__()
        if not blocks:
            raise ConfigError("a residual connection needs at least one block")
        if projection is None:
            projection = in_channels != out_channels
        if not projection and in_channels != out_channels:
            raise ConfigError(
                f"a shortcut without projection keeps the channels, got {in_channels} -> "
                f"{out_channels}: set projection=True"
            )
        self.blocks = nn.ModuleList(blocks)
        self.shortcut: nn.Module = (
            TemporalConvBlock(in_channels, out_channels, 1, activation=None)
            if projection
            else MaskedBatchNorm1d(out_channels)
        )
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = x
        for block in self.blocks:
            h = block(h, mask)  # (B, C_i, T)
        y = F.relu(h + self.shortcut(x, mask))  # (B, C_out, T)
        return _zero_padding(y, mask)


class TemporalInceptionModule(nn.Module):
    """The Inception module of Ismail Fawaz et al. 2020, "InceptionTime: Finding AlexNet
    for Time Series Classification" (Data Mining and Knowledge Discovery 34).

    A bottleneck (a 1x1 convolution to ``bottleneck_size`` channels, where the input has
    more than one channel) feeds parallel convolutions of each of ``kernel_sizes``; a
    third-step max pool (stride 1) of the input feeds a 1x1 convolution. The branches,
    ``filters`` channels each and linear without bias, are concatenated, then batch norm
    and ReLU. Every convolution pads "same" as Keras does (an even kernel takes the extra
    step on the right), so the paper's kernels of 40, 20 and 10 are kept as they are.

    Args:
        in_channels: channels of the input.
        filters: output channels of each branch.
        kernel_sizes: the parallel convolutions' kernels (the paper: 40, 20, 10, from its
            ``kernel_size=41`` less one, halved twice).
        bottleneck_size: channels of the bottleneck; 0 leaves it out.

    Raises:
        ConfigError: no kernel, or a size below 1.

    Shapes:
        input x (B, in_channels, T) and mask (B, T) bool or ``None``; output
        (B, filters * (len(kernel_sizes) + 1), T), zero on padded steps.
    """

    def __init__(
        self,
        in_channels: int,
        filters: int = 32,
        kernel_sizes: Sequence[int] = (40, 20, 10),
        bottleneck_size: int = 32,
    ) -> None:
        super().__init__()
        kernel_sizes = list(kernel_sizes)
        if not kernel_sizes or min(kernel_sizes) < 1 or filters < 1 or bottleneck_size < 0:
            raise ConfigError(
                f"an Inception module needs kernels >= 1, filters >= 1 and a bottleneck "
                f">= 0, got kernel_sizes={kernel_sizes}, filters={filters}, "
                f"bottleneck_size={bottleneck_size}"
            )

        def linear(c_in: int, c_out: int, k: int) -> TemporalConvBlock:
            return TemporalConvBlock(c_in, c_out, k, activation=None, batch_norm=False, bias=False)

        use_bottleneck = bottleneck_size > 0 and in_channels > 1
        width = bottleneck_size if use_bottleneck else in_channels
        self.bottleneck = linear(in_channels, width, 1) if use_bottleneck else None
        self.convs = nn.ModuleList(linear(width, filters, k) for k in kernel_sizes)
        self.pool_conv = linear(in_channels, filters, 1)
        self.out_channels = filters * (len(kernel_sizes) + 1)
        self.norm = MaskedBatchNorm1d(self.out_channels)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = x if self.bottleneck is None else self.bottleneck(x, mask)  # (B, bottleneck, T)
        branches = [conv(h, mask) for conv in self.convs]  # each (B, filters, T)
        if mask is not None:  # padding never wins the max: pool the real steps only
            x = x.masked_fill(~mask.unsqueeze(1), float("-inf"))
        pooled = _zero_padding(F.max_pool1d(x, 3, stride=1, padding=1), mask)  # (B, C_in, T)
        branches.append(self.pool_conv(pooled, mask))
        h = self.norm(torch.cat(branches, dim=1), mask)  # (B, out_channels, T)
        return _zero_padding(F.relu(h), mask)
