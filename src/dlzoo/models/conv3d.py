"""A 3-D convolutional net for video clips: filters that span frames as well as pixels
(Ji et al. 2013, "3D Convolutional Neural Networks for Human Action Recognition"; Tran
et al. 2015, C3D), so that motion is a pattern a filter can match."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike, norm_act_dropout, resolve_activation
from dlzoo.layers.dense import fresh_linear
from dlzoo.models.base import ZooNet
from dlzoo.models.registry import register_model

__all__ = ["Conv3dNet"]


def conv3d_block(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    temporal_pool: int,
    activation: ActivationLike,
    batch_norm: bool,
) -> nn.Sequential:
    """``Conv3d -> BatchNorm3d (optional) -> activation -> MaxPool3d``.

    The convolution keeps T, H and W (odd kernel, padding ``kernel_size // 2``); the
    pool halves H and W and divides T by ``temporal_pool``, rounding up, so that no
    size falls below 1.

    Shapes:
        input (B, in_channels, T, H, W); output (B, out_channels, ceil(T / temporal_pool),
        ceil(H / 2), ceil(W / 2))
    """
    conv = nn.Conv3d(
        in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=not batch_norm
    )
    norm = nn.BatchNorm3d(out_channels) if batch_norm else None
    pool = nn.MaxPool3d((temporal_pool, 2, 2), ceil_mode=True)
    return nn.Sequential(conv, *norm_act_dropout(norm, activation), pool)


class Conv3dNet(ZooNet):
    """Conv3d blocks over time and space, global average pooling, a linear head.

    Each block is ``Conv3d -> BatchNorm3d -> activation -> MaxPool3d``: the pool halves
    H and W, and T too while at least two frames remain (``frames`` from the data; if
    unknown, T is halved rounding up). The last block's map is averaged over its frames
    and pixels into ``channels[-1]`` features.

    Args:
        in_channels: C of the frames, from the datamodule.
        num_classes: class logits, from the datamodule.
        frames: T of the clips, from the datamodule; sets where the pools stop halving
            time. Any T works at run time.
        channels: output channels of each block.
        kernel_size: odd side of the cubic kernels (frames x pixels x pixels).
        dropout: dropout probability on the pooled features.
        activation: activation name of the blocks.
        batch_norm: ``BatchNorm3d`` after every convolution.

    Raises:
        ConfigError: no blocks, an even or non-positive kernel, or a bad activation.

    Net API (see :mod:`dlzoo.models.base`): the features are the globally averaged last
    map (B, ``channels[-1]``); ``reset_head`` replaces the linear head.

    Shapes:
        input x (B, T, C, H, W); output (B, num_classes); features (B, channels[-1])
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        frames: int | None = None,
        channels: Sequence[int] = (16, 32, 64),
        kernel_size: int = 3,
        dropout: float = 0.0,
        activation: ActivationLike = "relu",
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        resolve_activation(activation)
        channels = [int(c) for c in channels]
        if not channels or min(channels) < 1:
            raise ConfigError(f"model.channels={channels} must be one or more positive ints")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(f"model.kernel_size={kernel_size} must be a positive odd int")
        blocks, width, t = [], int(in_channels), frames
        for out in channels:
            temporal_pool = 2 if t is None or t >= 2 else 1
            blocks.append(
                conv3d_block(width, out, kernel_size, temporal_pool, activation, batch_norm)
            )
            width, t = out, None if t is None else -(-t // temporal_pool)
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(width, int(num_classes))
        self.num_features = width

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        # (B, T, C, H, W) -> (B, C, T, H, W): Conv3d wants channels before the 3 axes
        maps = self.blocks(x.transpose(1, 2))
        return self.pool(maps).flatten(1)  # (B, channels[-1])

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(features))  # (B, num_classes)

    def reset_head(self, num_outputs: int) -> None:
        self.fc = fresh_linear(self.fc, num_outputs)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """Two blocks on (B, 4, 1, 8, 8) clips, 3 classes."""
        net = cls(in_channels=1, num_classes=3, frames=4, channels=[4, 6], dropout=0.1)
        return net, torch.randn(batch_size, 4, 1, 8, 8)


register_model("conv3d")(Conv3dNet)
