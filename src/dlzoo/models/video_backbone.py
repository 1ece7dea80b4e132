"""What the video nets built on an image net share: a nested ``backbone:`` (any image
net of the zoo, its shapes filled from the data by :func:`dlzoo.run.nets.build_net`) whose
own head classifies the clip (the default backbone of ``cnn_rnn`` and ``frame_average``
is in their ``conf/model`` YAMLs)."""

from __future__ import annotations

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.models.base import ZooNet

__all__ = ["BackboneVideoNet"]


class BackboneVideoNet(ZooNet):
    """Base of the video nets around an image ``backbone``: the backbone's head is theirs.

    A subclass computes (B, ``backbone.num_features``) clip features in
    :meth:`forward_features`; the backbone's own head (built with the data's
    ``num_classes``) classifies them, so every backbone weight is used, and
    ``reset_head`` is the backbone's (transfer learning swaps its output layer).

    Args:
        backbone: a built image net with the net API (``forward_features`` of
            (N, C, H, W) frames, ``forward_head``, ``reset_head``, ``num_features``).

    Raises:
        ConfigError: a backbone that is a config node or lacks the net API.
    """

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        if not isinstance(backbone, ZooNet):
            raise ConfigError(
                f"{type(self).__name__} takes a built image net as backbone, got "
                f"{type(backbone).__name__}: build the model config with "
                "dlzoo.run.nets.build_net, which fills the backbone's shapes"
            )
        self.backbone = backbone
        self.num_features = int(backbone.num_features)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.backbone.forward_head(features)  # (B, num_classes)

    def reset_head(self, num_outputs: int) -> None:
        self.backbone.reset_head(num_outputs)

    @staticmethod
    def _example_backbone() -> ZooNet:
        """A tiny CNN on 1x8x8 frames with a flatten head, 3 classes."""
        from dlzoo.models.cnn import CNN

        blocks = [{"type": "conv", "channels": 4, "pool": "max"}]
        return CNN(1, 3, (8, 8), blocks, head="flatten", dropout=0.1)
