"""The video baseline that cannot see the order of motion: an image net on the mean of
a clip's frames. The mean keeps the path a digit took but not which way along it, so
opposite directions of motion look the same to it."""

from __future__ import annotations

import torch
from torch import nn

from dlzoo.models.registry import register_model
from dlzoo.models.video_backbone import BackboneVideoNet

__all__ = ["FrameAverage"]


class FrameAverage(BackboneVideoNet):
    """``backbone`` on the average frame: features and head are the image net's.

    Permuting a clip's frames does not change its output (up to float rounding).

    Args:
        backbone: any built image net of the zoo (a nested ``backbone:`` config node;
            the pipeline fills its ``in_channels``, ``image_size`` and ``num_classes``).

    Net API (see :mod:`dlzoo.models.base`): the backbone's features of the mean frame;
    the head and ``reset_head`` are the backbone's.

    Shapes:
        input x (B, T, C, H, W); mean frame (B, C, H, W); output (B, num_classes);
        features (B, backbone.num_features)
    """

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone.forward_features(x.mean(dim=1))  # (B, D)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A tiny CNN on the mean of (B, 4, 1, 8, 8) clips, 3 classes."""
        return cls(cls._example_backbone()), torch.randn(batch_size, 4, 1, 8, 8)


register_model("frame_average")(FrameAverage)
