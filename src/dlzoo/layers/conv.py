"""The convolution unit that every conv block in dlzoo is built from."""

from __future__ import annotations

from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike, norm_act_dropout


def same_padding(kernel_size: int, stride: int = 1, dilation: int = 1) -> int | str:
    """Padding that keeps H and W at stride 1 (and gives ``ceil(H / stride)`` above it).

    At stride 1 PyTorch's own ``"same"`` is used, since it also handles even kernels
    (with uneven padding); PyTorch refuses ``"same"`` for strided convolutions, where
    the symmetric ``dilation * (kernel_size - 1) // 2`` is used instead.
    """
    return "same" if stride == 1 else dilation * (kernel_size - 1) // 2


class ConvNormAct(nn.Sequential):
    """``Conv2d -> BatchNorm2d (optional) -> activation -> Dropout (optional)``.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output (number of filters).
        kernel_size: square kernel size; 1 gives a pointwise (1x1) convolution.
        stride: convolution stride.
        padding: an int, ``"same"`` (the default; keeps H and W at stride 1, see
            :func:`same_padding`) or ``"valid"`` (no padding).
        dilation: spacing between kernel taps (atrous convolution).
        groups: channel groups (``out_channels`` for a depthwise convolution).
        activation: activation name (see :mod:`dlzoo.layers.activations`) or ``None``
            for a linear output, e.g. before a residual sum.
        batch_norm: add ``BatchNorm2d`` after the convolution; the conv bias is then
            dropped, because the norm's shift replaces it.
        dropout: element-wise dropout probability after the activation (0 adds no layer).

    Shapes:
        input (B, in_channels, H, W); output (B, out_channels, H', W') with
        ``H' = floor((H + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1``,
        i.e. ``H' = H`` for ``padding="same"`` and stride 1.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int | str = "same",
        dilation: int = 1,
        groups: int = 1,
        activation: ActivationLike | None = "relu",
        batch_norm: bool = True,
        dropout: float = 0.0,
    ) -> None:
        if padding == "same":
            padding = same_padding(kernel_size, stride, dilation)
        elif isinstance(padding, str) and padding != "valid":
            raise ConfigError(f"unknown padding {padding!r}; use an int, 'same' or 'valid'")
        conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=not batch_norm,
        )
        norm = nn.BatchNorm2d(out_channels) if batch_norm else None
        super().__init__(conv, *norm_act_dropout(norm, activation, dropout))
        self.out_channels = out_channels
