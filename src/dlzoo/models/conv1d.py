"""One-dimensional convolutional networks over time, for sequence classification and
forecasting: :class:`ConvSequenceNet`, the base of the nets that run masked 1-d
convolution blocks over the steps and pool them (the FCN, ResNet and InceptionTime of
the time series classification papers subclass it too), and :class:`ConvNet1d`, a
stack of (dilated, causal) convolutions."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike, resolve_activation
from dlzoo.layers.temporal_conv import TemporalConvBlock
from dlzoo.layers.temporal_pool import (
    SequencePool,
    lengths_to_mask,
    masked_mean_pool,
    resolve_sequence_pool,
)
from dlzoo.models.base import SequenceNet
from dlzoo.models.registry import register_model


class ConvSequenceNet(SequenceNet):
    """Base of the nets that run blocks of 1-d convolutions over time, pool their
    output over the real steps and pass it to a
    :class:`~dlzoo.layers.heads.SequenceHead`.

    The subclass builds ``self.layers``, blocks that take ``(x (B, C, T), mask (B, T)
    or None)``, keep ``T`` and leave the padded steps at zero (as
    :class:`~dlzoo.layers.temporal_conv.TemporalConvBlock` does), sets ``self.pool``,
    a pooling over time of :mod:`dlzoo.layers.temporal_pool`, and adds the head
    (:meth:`_build_stack` does all three for a chain of blocks). The padded steps of the
    input are zeroed first, whatever they held, so a padded sequence gives the same
    output as the sequence alone.

    Shapes:
        input x (B, T, input_size) and lengths (B,) int64 or ``None``; features
        (B, C) of the last block's C channels.
    """

    layers: nn.ModuleList
    pool: SequencePool

    def _build_stack(
        self,
        input_size: int,
        channels: Sequence[int],
        block: Callable[[int, int, int], nn.Module],
        pool: SequencePool = masked_mean_pool,
    ) -> None:
        """Build ``self.layers``, block ``i`` by ``block(c_in, c_out, i)`` from the
        widths ``input_size, *channels``, then ``self.pool`` and the head on the last.

        Raises:
            ConfigError: ``channels`` is empty or holds a width below 1.
        """
        channels = list(channels)
        if not channels or min(channels) < 1:
            raise ConfigError(f"channels must list at least one positive width, got {channels}")
        widths = [input_size, *channels]
        self.layers = nn.ModuleList(
            block(widths[i], widths[i + 1], i) for i in range(len(channels))
        )
        self.pool = pool
        self._add_head(channels[-1])

    def features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The last block's features at every step (zero on padded steps).

        Shapes:
            input x (B, T, input_size) and lengths (B,) or ``None``; output (B, T, C).
        """
        mask = None if lengths is None else lengths_to_mask(lengths, x.shape[1])
        return self._encode(x, mask)

    def _encode(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        h = x.transpose(1, 2)  # (B, C, T): Conv1d wants channels first
        if mask is not None:
            h = h.masked_fill(~mask.unsqueeze(1), 0.0)  # the padding is zero, whatever it held
        for layer in self.layers:
            h = layer(h, mask)  # (B, C_i, T)
        return h.transpose(1, 2)  # (B, T, C)

    def forward_features(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        mask = None if lengths is None else lengths_to_mask(lengths, x.shape[1])  # (B, T)
        h = self._encode(x, mask)  # (B, T, C)
        return self.pool(h, mask)  # (B, C)


@register_model("conv1d")
class ConvNet1d(ConvSequenceNet):
    """A stack of 1-d convolutions over time, pooled over the steps, then a head.

    Layer ``i`` has ``channels[i]`` filters of ``kernel_size`` taps with dilation
    ``dilation_base ** i``. ``dilation_base=2`` doubles the spacing every layer, so the
    receptive field, ``1 + (kernel_size - 1) * sum_i dilation_base ** i`` steps, grows
    exponentially with depth (van den Oord et al. 2016, "WaveNet"; Bai, Kolter & Koltun
    2018, temporal convolutional networks); ``causal=True`` pads only on the left, so
    the features at step ``t`` see the inputs at ``<= t``. Every layer keeps the length
    ``T`` (see :class:`~dlzoo.layers.temporal_conv.TemporalConvBlock`).

    With ``lengths``, the padded steps are zeroed after every layer (which equals the
    convolution's own zero padding) and batch norm counts the real steps only, so a
    padded sequence gives the same output as the sequence alone; pooling covers the
    real steps, and ``last`` takes step ``lengths - 1``.

    Args:
        input_size: features per time step, from the datamodule.
        channels: filters of each layer, in order (at least one layer).
        kernel_size: taps per filter.
        dilation_base: layer ``i`` uses dilation ``dilation_base ** i``; 1 keeps every
            layer undilated.
        causal: pad only on the left (no layer sees the future).
        batch_norm: batch norm after every convolution.
        dropout: dropout probability after every layer, on the pooled vector and after
            every hidden head layer.
        activation: activation name of the layers and the hidden head layers.
        pooling: ``last``, ``mean`` or ``max`` over time.
        head_hidden_sizes, num_classes, horizon, output_size: the head (see
            :class:`~dlzoo.models.base.SequenceNet`).

    Raises:
        ConfigError: no layers, a bad size, an unknown pooling or activation, or not
            exactly one head.

    Net API (see :mod:`dlzoo.models.base`): the features are the pooled vector of
    the last layer, (B, channels[-1]).

    Shapes:
        input x (B, T, input_size) and lengths (B,) int64 or ``None``; output
        (B, num_classes) or (B, horizon, output_size).
    """

    def __init__(
        self,
        input_size: int,
        channels: Sequence[int] = (32, 32, 32),
        kernel_size: int = 3,
        dilation_base: int = 1,
        causal: bool = False,
        batch_norm: bool = True,
        dropout: float = 0.0,
        activation: ActivationLike = "relu",
        pooling: str = "mean",
        head_hidden_sizes: Sequence[int] = (),
        num_classes: int | None = None,
        horizon: int | None = None,
        output_size: int | None = None,
    ) -> None:
        super().__init__(num_classes, horizon, output_size, head_hidden_sizes, dropout, activation)
        if dilation_base < 1:
            raise ConfigError(f"dilation_base must be >= 1, got {dilation_base}")
        resolve_activation(activation)  # fail on a bad name before building anything

        def layer(c_in: int, c_out: int, i: int) -> TemporalConvBlock:
            return TemporalConvBlock(
                c_in, c_out, kernel_size, dilation_base**i, causal, activation, batch_norm, dropout
            )

        self._build_stack(input_size, channels, layer, resolve_sequence_pool(pooling))
        self.receptive_field = 1 + sum(block.receptive_field - 1 for block in self.layers)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A small causal, dilated classifier and a matching (B, 9, 3) input."""
        net = cls(
            input_size=3,
            channels=(4, 5),
            dilation_base=2,
            causal=True,
            dropout=0.1,
            pooling="last",
            head_hidden_sizes=[6],
            num_classes=3,
        )
        return net, torch.randn(batch_size, 9, 3)
