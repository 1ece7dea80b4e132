"""The masked 1-d convolution unit of the temporal conv nets: batch norm that counts
real steps only, and a (causal) convolution that keeps the padding at zero."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike, make_activation

__all__ = ["MaskedBatchNorm1d", "TemporalConvBlock"]


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """``BatchNorm1d`` over (B, C, T) whose training statistics count real steps only
    (Ioffe & Szegedy 2015).

    Plain batch norm would average the zero padding into the batch mean and variance,
    so a batch of short sequences would be normalised differently from the same
    sequences unpadded, and the running statistics used at evaluation would not match
    training. Without a mask, or in evaluation mode, this is ``nn.BatchNorm1d``.

    Args:
        num_features: ``C``, the number of channels.
        eps: added to the variance for numerical stability.
        momentum: weight of the new batch in the running statistics; ``None`` gives a
            cumulative average, as in ``nn.BatchNorm1d``.

    Shapes:
        input x (B, C, T) and mask (B, T) bool or ``None``; output (B, C, T).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
        super().__init__(num_features, eps=eps, momentum=momentum)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None or not self.training:
            return super().forward(x)
        keep = mask.unsqueeze(1).to(x.dtype)  # (B, 1, T)
        count = keep.sum()
        mean = (x * keep).sum(dim=(0, 2)) / count  # (C,)
        var = ((x - mean[:, None]).square() * keep).sum(dim=(0, 2)) / count  # (C,), biased
        with torch.no_grad():
            self.num_batches_tracked.add_(1)
            momentum = self.momentum
            if momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked)
            # the running variance is unbiased, as in nn.BatchNorm1d
            unbiased = var * count / (count - 1).clamp(min=1)
            self.running_mean.lerp_(mean, momentum)
            self.running_var.lerp_(unbiased, momentum)
        x = (x - mean[:, None]) * torch.rsqrt(var[:, None] + self.eps)  # (B, C, T)
        return x * self.weight[:, None] + self.bias[:, None]


class TemporalConvBlock(nn.Module):
    """``Conv1d -> MaskedBatchNorm1d (optional) -> activation -> Dropout (optional)``,
    then zero on the padded steps.

    The output keeps the length ``T``. A causal block pads only on the left, so the
    output at ``t`` depends on the inputs at ``<= t`` (van den Oord et al. 2016,
    "WaveNet"; Bai, Kolter & Koltun 2018, "An Empirical Evaluation of Generic
    Convolutional and Recurrent Networks for Sequence Modeling"); a non-causal block
    pads both sides ("same"). Zeroing the padded steps after the block makes the batch
    padding act like the convolution's own zero padding, so a padded sequence gives
    the same outputs on its real steps as the sequence alone.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        kernel_size: taps per filter.
        dilation: spacing between taps; the block sees ``dilation * (kernel_size - 1)
            + 1`` steps.
        causal: pad only on the left.
        activation: activation name (see :mod:`dlzoo.layers.activations`), or ``None``
            for a linear output (e.g. before a residual sum).
        batch_norm: add :class:`MaskedBatchNorm1d` after the convolution (whose bias is
            then dropped, because the norm's shift replaces it).
        dropout: dropout probability after the activation (0 adds no layer).
        bias: give the convolution a bias; ``None`` gives it one without batch norm
            only. ``activation=None, batch_norm=False, bias=False`` is a plain linear
            convolution (the branches of an Inception module).

    Shapes:
        input x (B, in_channels, T) and mask (B, T) bool or ``None``; output
        (B, out_channels, T).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        dilation: int = 1,
        causal: bool = False,
        activation: ActivationLike | None = "relu",
        batch_norm: bool = True,
        dropout: float = 0.0,
        bias: bool | None = None,
    ) -> None:
        super().__init__()
        if kernel_size < 1 or dilation < 1:
            raise ConfigError(
                f"kernel_size and dilation must be >= 1, got {kernel_size} and {dilation}"
            )
        reach = dilation * (kernel_size - 1)
        # an even kernel cannot centre: the extra step goes on the right, as "same" does
        self.padding = (reach, 0) if causal else (reach // 2, reach - reach // 2)
        self.conv = nn.Conv1d(
            in_channels,
            out_channels,
            kernel_size,
            dilation=dilation,
            bias=not batch_norm if bias is None else bias,
        )
        self.norm = MaskedBatchNorm1d(out_channels) if batch_norm else None
        self.act = make_activation(activation)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.receptive_field = reach + 1

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.conv(F.pad(x, self.padding))  # (B, C_out, T)
        if self.norm is not None:
            x = self.norm(x, mask)
        x = self.dropout(self.act(x))
        if mask is not None:
            x = x * mask.unsqueeze(1).to(x.dtype)  # (B, C_out, T), zero on padding
        return x
