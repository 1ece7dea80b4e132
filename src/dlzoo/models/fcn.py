"""The fully convolutional network (FCN) of Wang, Yan & Oates 2017, the strongest of
their baselines for time series classification."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.temporal_conv import TemporalConvBlock
from dlzoo.layers.temporal_pool import masked_mean_pool
from dlzoo.models.conv1d import ConvSequenceNet
from dlzoo.models.registry import register_model


@register_model("fcn")
class FCN(ConvSequenceNet):
    """The FCN of Wang, Yan & Oates, "Time Series Classification from Scratch with Deep
    Neural Networks: A Strong Baseline" (IJCNN 2017).

    Three convolution blocks, ``Conv1d -> batch norm -> ReLU``, of 128, 256 and 128
    filters with kernels of 8, 5 and 3 steps, "same" padding (an even kernel takes the
    extra step on the right, as Keras does), no pooling and no stride, so every block
    keeps the length; then global average pooling over the steps and a softmax layer.
    About 265 000 weights on one channel; the same net fits any length.

    As published, with two differences that change nothing the net computes: the
    convolutions have no bias (batch norm's shift replaces it; the reference Keras code
    keeps one, ``sum(channels)`` more weights), and with ``lengths`` the padded steps are
    zero after every block, batch norm counts the real steps only and the average covers
    the real steps only, so a padded series gives the same output as the series alone.

    Args:
        input_size: channels per time step, from the datamodule.
        channels: filters of each block, in order.
        kernel_sizes: taps of each block's filters, one per block.
        num_classes, horizon, output_size: the head, a linear layer on the pooled
            vector (see :class:`~dlzoo.models.base.SequenceNet`).

    Raises:
        ConfigError: no blocks, not one kernel per block, or a width below 1.

    Net API (see :mod:`dlzoo.models.base`): the features are the average of the last
    block over the real steps.

    Shapes:
        x (B, T, input_size), any T, with lengths (B,) int64 (``None``: every series
        is T steps long) -> features (B, channels[-1]) -> logits (B, num_classes), or a
        forecast (B, horizon, output_size).
    """

    def __init__(
        self,
        input_size: int,
        channels: Sequence[int] = (128, 256, 128),
        kernel_sizes: Sequence[int] = (8, 5, 3),
        num_classes: int | None = None,
        horizon: int | None = None,
        output_size: int | None = None,
    ) -> None:
        super().__init__(num_classes, horizon, output_size)
        kernel_sizes = list(kernel_sizes)
        if len(kernel_sizes) != len(list(channels)):
            raise ConfigError(
                f"kernel_sizes must give one kernel per block, got kernel_sizes={kernel_sizes} "
                f"for channels={list(channels)}"
            )

        def block(c_in: int, c_out: int, i: int) -> TemporalConvBlock:
            return TemporalConvBlock(c_in, c_out, kernel_sizes[i])  # conv, batch norm, ReLU

        # global average pooling over the real steps
        self._build_stack(input_size, channels, block, masked_mean_pool)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A narrow FCN classifier and a matching (B, 9, 2) input."""
        net = cls(input_size=2, channels=(4, 6, 4), num_classes=3)
        return net, torch.randn(batch_size, 9, 2)
