"""The residual network for time series classification of Wang, Yan & Oates 2017, the
best of the nets compared by Ismail Fawaz et al. 2019."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.temporal_blocks import TemporalResidual
from dlzoo.layers.temporal_conv import TemporalConvBlock
from dlzoo.layers.temporal_pool import masked_mean_pool
from dlzoo.models.conv1d import ConvSequenceNet
from dlzoo.models.registry import register_model


@register_model("resnet_ts")
class TimeSeriesResNet(ConvSequenceNet):
    r"""The ResNet of Wang, Yan & Oates, "Time Series Classification from Scratch with
    Deep Neural Networks: A Strong Baseline" (IJCNN 2017), as Ismail Fawaz et al., "Deep
    learning for time series classification: a review" (Data Mining and Knowledge
    Discovery 33, 2019) train it.

    Three residual blocks of 64, 128 and 128 filters. Each block is three convolutions
    with kernels of 8, 5 and 3 steps ("same" padding), each followed by batch norm, the
    first two by ReLU; its shortcut is a 1x1 convolution and batch norm where the
    channels change, batch norm alone where they do not, and a ReLU follows the sum
    (see :class:`~dlzoo.layers.temporal_blocks.TemporalResidual`):

    .. math::
        y = \mathrm{ReLU}(\mathrm{BN}(W_3 * \mathrm{ReLU}(\mathrm{BN}(W_2 *
        \mathrm{ReLU}(\mathrm{BN}(W_1 * x))))) + S(x))

    Then global average pooling over the steps and a softmax layer. About 504 000
    weights on one channel. As published, except that the convolutions before batch
    norm have no bias (the norm's shift replaces it; the Keras code keeps them), and
    that with ``lengths`` every block zeroes the padded steps, batch norm counts the
    real steps and the average covers them only, so padding never changes the output.

    Args:
        input_size: channels per time step, from the datamodule.
        channels: filters of each residual block, in order.
        kernel_sizes: the kernels of the convolutions in every block, in order.
        num_classes, horizon, output_size: the head, a linear layer on the pooled
            vector (see :class:`~dlzoo.models.base.SequenceNet`).

    Raises:
        ConfigError: no blocks, no convolution per block, or a width below 1.

    Net API (see :mod:`dlzoo.models.base`): the features (B, channels[-1]) are the
    last residual block's output averaged over each series' real steps.

    Shapes:
        input x (B, T, input_size) of any length T, and lengths (B,) int64 or ``None``
        (full length); every block keeps T; output (B, num_classes), or
        (B, horizon, output_size) with a forecasting head.
    """

    def __init__(
        self,
        input_size: int,
        channels: Sequence[int] = (64, 128, 128),
        kernel_sizes: Sequence[int] = (8, 5, 3),
        num_classes: int | None = None,
        horizon: int | None = None,
        output_size: int | None = None,
    ) -> None:
        super().__init__(num_classes, horizon, output_size)
        kernels = list(kernel_sizes)
        if not kernels:
            raise ConfigError("kernel_sizes must list the kernel of each convolution of a block")

        def residual_block(c_in: int, c_out: int, _: int) -> TemporalResidual:
            # the last convolution is linear: the ReLU comes after the sum
            relus = ["relu"] * (len(kernels) - 1) + [None]
            widths = [c_in] + [c_out] * len(kernels)
            convs = [
                TemporalConvBlock(widths[j], c_out, k, activation=relu)
                for j, (k, relu) in enumerate(zip(kernels, relus, strict=True))
            ]
            return TemporalResidual(convs, c_in, c_out)

        # global average pooling over the real steps
        self._build_stack(input_size, channels, residual_block, masked_mean_pool)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A narrow ResNet forecaster (a projected and a plain shortcut) and a matching
        (B, 10, 2) input."""
        net = cls(input_size=2, channels=(4, 4), horizon=2, output_size=1)
        return net, torch.randn(batch_size, 10, 2)
