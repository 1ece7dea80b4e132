"""The Inception network of InceptionTime (Ismail Fawaz et al. 2020) for time series
classification."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.temporal_blocks import TemporalInceptionModule, TemporalResidual
from dlzoo.layers.temporal_pool import masked_mean_pool
from dlzoo.models.conv1d import ConvSequenceNet
from dlzoo.models.registry import register_model

# modules per residual connection, as in the paper
MODULES_PER_RESIDUAL = 3


@register_model("inception_time")
class InceptionTime(ConvSequenceNet):
    """One Inception network of Ismail Fawaz et al., "InceptionTime: Finding AlexNet for
    Time Series Classification" (Data Mining and Knowledge Discovery 34, 2020).

    ``depth`` Inception modules (see
    :class:`~dlzoo.layers.temporal_blocks.TemporalInceptionModule`: a bottleneck of 32
    channels, convolutions of 40, 20 and 10 steps and a max-pool branch, 32 filters
    each, concatenated to 128 channels, batch norm, ReLU), a residual connection around
    every three modules (a 1x1 convolution and batch norm on the shortcut, then ReLU
    after the sum; a module past the last full three has none), global average pooling
    over the steps and a softmax layer. About 420 000 weights on one channel.

    The paper's InceptionTime is an ensemble: five of these networks, trained from
    different random initialisations, whose softmax outputs are averaged. This class is
    one of them; train it with five seeds and average the probabilities for the ensemble.

    As published (the kernels keep the paper's even sizes: the convolutions pad "same"
    as Keras does, the extra step on the right), except that with ``lengths`` every
    module zeroes the padded steps, max-pools and normalises over the real steps and the
    average covers them only, so padding never changes the output.

    Args:
        input_size: channels per time step, from the datamodule.
        depth: Inception modules.
        filters: output channels of each branch of a module.
        kernel_sizes: the parallel convolutions' kernels.
        bottleneck_size: channels of the bottleneck (0: none).
        residual: a residual connection around every three modules.
        num_classes, horizon, output_size: the head, a linear layer on the pooled
            vector (see :class:`~dlzoo.models.base.SequenceNet`).

    Raises:
        ConfigError: ``depth`` below 1, or a bad size (see the module).

    Net API (see :mod:`dlzoo.models.base`): the features are the last module's output
    averaged over each series' real steps.

    Shapes:
        x (B, T, input_size) with lengths (B,) int64 or ``None``; every module maps
        (B, C, T) to (B, F, T), F = filters * (len(kernel_sizes) + 1) (128); features
        (B, F); output (B, num_classes) or (B, horizon, output_size).
    """

    def __init__(
        self,
        input_size: int,
        depth: int = 6,
        filters: int = 32,
        kernel_sizes: Sequence[int] = (40, 20, 10),
        bottleneck_size: int = 32,
        residual: bool = True,
        num_classes: int | None = None,
        horizon: int | None = None,
        output_size: int | None = None,
    ) -> None:
        super().__init__(num_classes, horizon, output_size)
        if depth < 1:
            raise ConfigError(f"depth must be >= 1 Inception module, got {depth}")
        width = filters * (len(list(kernel_sizes)) + 1)
        modules = [
            TemporalInceptionModule(
                input_size if d == 0 else width, filters, kernel_sizes, bottleneck_size
            )
            for d in range(depth)
        ]
        layers: list[nn.Module] = []
        start = 0  # the first module of the current residual group
        while residual and start + MODULES_PER_RESIDUAL <= depth:
            group = modules[start : start + MODULES_PER_RESIDUAL]
            source = input_size if start == 0 else width
            layers.append(TemporalResidual(group, source, width, projection=True))
            start += MODULES_PER_RESIDUAL
        self.layers = nn.ModuleList([*layers, *modules[start:]])
        self.pool = masked_mean_pool  # global average pooling over the real steps
        self._add_head(width)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A narrow four-module network (one residual group, one module past it) and a
        matching (B, 12, 3) input."""
        net = cls(input_size=3, depth=4, filters=2, kernel_sizes=(6, 3), bottleneck_size=2,
                  num_classes=3)  # fmt: skip
        return net, torch.randn(batch_size, 12, 3)
