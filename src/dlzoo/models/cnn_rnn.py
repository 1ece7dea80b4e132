"""An image net on every frame, then a recurrent net over the frames (Donahue et al.
2015, "Long-term Recurrent Convolutional Networks"): the image net sees *what* is
where in each frame, the GRU how that changes over time."""

from __future__ import annotations

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.models.registry import register_model
from dlzoo.models.rnn import CELLS
from dlzoo.models.video_backbone import BackboneVideoNet

__all__ = ["CnnRnn"]


class CnnRnn(BackboneVideoNet):
    """``backbone.forward_features`` on every frame, a GRU (or LSTM / RNN) over the
    frame features, the last hidden state to the backbone's head.

    The recurrent net's width is the backbone's ``num_features`` D, so its last hidden
    state takes the place of an image's features in front of the backbone's head (a
    linear layer for the ``cnn`` backbone): every weight is used, and ``reset_head`` and
    transfer learning work as on the image net.

    Args:
        backbone: any built image net of the zoo (a nested ``backbone:`` config node;
            the pipeline fills its ``in_channels``, ``image_size`` and ``num_classes``).
        cell: ``gru``, ``lstm`` or ``rnn``.
        num_layers: stacked recurrent layers.
        dropout: dropout between stacked recurrent layers (needs ``num_layers`` > 1).

    Raises:
        ConfigError: an unknown cell, a bad layer count, or a backbone that is not a
            built zoo net.

    Net API (see :mod:`dlzoo.models.base`): the features are the last layer's hidden
    state after the last frame (B, D); the head and ``reset_head`` are the backbone's.

    Shapes:
        input x (B, T, C, H, W); per-frame features (B, T, D); output (B, num_classes);
        features (B, D)
    """

    def __init__(
        self, backbone: nn.Module, cell: str = "gru", num_layers: int = 1, dropout: float = 0.0
    ) -> None:
        super().__init__(backbone)
        if cell not in CELLS:
            raise ConfigError(f"unknown cell {cell!r}; valid cells: {', '.join(CELLS)}")
        if isinstance(num_layers, bool) or int(num_layers) != num_layers or num_layers < 1:
            raise ConfigError(f"model.num_layers={num_layers} must be a positive integer")
        self.cell = cell
        width = self.num_features
        self.rnn = CELLS[cell](
            width,
            width,
            int(num_layers),
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        batch, frames = x.shape[:2]
        # every frame through the image net at once: (B * T, C, H, W) -> (B * T, D)
        per_frame = self.backbone.forward_features(x.flatten(0, 1))
        _, hidden = self.rnn(per_frame.view(batch, frames, -1))  # (B, T, D) in
        if self.cell == "lstm":
            hidden = hidden[0]  # (h, c): the hidden state, not the cell
        return hidden[-1]  # (B, D): the last layer after the last frame

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A GRU over a tiny CNN's features of (B, 4, 1, 8, 8) clips, 3 classes."""
        return cls(cls._example_backbone()), torch.randn(batch_size, 4, 1, 8, 8)


register_model("cnn_rnn")(CnnRnn)
