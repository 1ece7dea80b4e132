"""The nets of an image JEPA (Assran et al. 2023, "Self-Supervised Learning from Images
with a Joint-Embedding Predictive Architecture", I-JEPA), lesson 6.

A JEPA learns by prediction in representation space, not in pixel space: from the
visible (context) patches of an image, predict what an encoder makes of the hidden
(target) patches. An autoencoder must spend its capacity on every pixel; a JEPA only
on what can be predicted from the rest of the image, which is the digit's shape more
than its stroke noise.

Two nets here:

- :class:`JEPAEncoder` (registered as ``jepa``): a small vision transformer over
  patches (Dosovitskiy et al. 2021). It is both the context encoder, which the task
  trains, and, as an exponential-moving-average copy that the task keeps outside the
  optimizer, the target encoder. It is the net a JEPA run keeps: its pooled patch
  embeddings are the features that linear probes and transfer learning read.
- :class:`JEPAPredictor`: a narrow transformer that takes the context tokens plus one
  learned mask token per target patch, each at its grid position, and predicts the
  target encoder's embeddings of those patches. It is part of the pretext task and
  is dropped after training, as in I-JEPA.

The task, the masks and the moving average are in :mod:`dlzoo.tasks.jepa`.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from dlzoo.layers.dense import fresh_linear
from dlzoo.layers.patches import PatchPositionalEncoding, patch_grid, patchify
from dlzoo.layers.transformer import TransformerEncoder
from dlzoo.models.base import ZooNet
from dlzoo.models.registry import register_model


@register_model("jepa")
class JEPAEncoder(ZooNet):
    """A vision transformer over image patches: the encoder of a JEPA.

    Patches (:func:`~dlzoo.layers.patches.patchify`) -> a linear embedding to
    ``d_model`` -> plus their 2-D grid positions -> a pre-norm
    :class:`~dlzoo.layers.transformer.TransformerEncoder` (final layer norm included)
    -> one vector per patch. :meth:`encode` can take a subset of the patches: each one
    keeps its own position, and the others are not there at all (not zeroed), as the
    context encoder of I-JEPA sees them.

    Args:
        in_channels: image channels, from the datamodule.
        image_size: (H, W) of the images, from the datamodule.
        patch_size: side of the square patches; must divide both sides of the images
            (4 cuts 28x28 MNIST into 7x7 = 49 patches and 8x8 digits into 2x2).
        d_model: width of every patch token, and of the features.
        num_heads: attention heads; must divide ``d_model``.
        num_layers: transformer blocks.
        ff_size: hidden width of the feed-forward nets; ``None`` is ``4 * d_model``.
        dropout: dropout probability inside the blocks (I-JEPA uses none).
        positional: ``sinusoidal`` (fixed 2-D sine / cosine) or ``learned``.
        num_classes: logits of the linear head, from the datamodule; ``None`` for no
            head (``forward`` is then the features) until :meth:`reset_head` adds one.

    Raises:
        ConfigError: ``patch_size`` does not divide ``image_size``; a bad size, an
            odd ``d_model`` with sinusoidal positions, an unknown positional encoding.

    Net API (see :mod:`dlzoo.models.base`): the features are the mean of all patch
    embeddings, (B, d_model); the head is one ``Linear``.

    Shapes:
        input x (B, in_channels, H, W); output (B, num_classes) (or (B, d_model)
        without a head).
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int | Iterable[int],
        patch_size: int = 4,
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 4,
        ff_size: int | None = None,
        dropout: float = 0.0,
        positional: str = "sinusoidal",
        num_classes: int | None = None,
    ) -> None:
        super().__init__()
        self.grid = patch_grid(image_size, patch_size)
        self.patch_size = patch_size
        self.num_patches = self.grid[0] * self.grid[1]
        self.d_model = self.num_features = d_model
        self.patch_embedding = nn.Linear(in_channels * patch_size * patch_size, d_model)
        self.positional = PatchPositionalEncoding(self.grid, d_model, positional)
        self.encoder = TransformerEncoder(d_model, num_heads, num_layers, ff_size, dropout)
        self.head: nn.Module = nn.Identity()
        if num_classes is not None:
            self.reset_head(num_classes)

    def encode(self, x: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
        """One embedding per patch, of the patches in ``index`` only.

        Args:
            x: the images.
            index: the patches to encode (row by row numbering, see
                :mod:`dlzoo.layers.patches`), the same for the whole batch; ``None``
                for all of them, in order.

        Shapes:
            x (B, C, H, W), index (K,) int64 or ``None``; output (B, K, d_model)
            (K = num_patches for ``None``).
        """
        patches = patchify(x, self.patch_size)  # (B, N, C * p * p)
        if index is not None:
            patches = patches[:, index]  # (B, K, C * p * p)
        tokens = self.positional(self.patch_embedding(patches), index)  # (B, K, d_model)
        return self.encoder(tokens)  # (B, K, d_model)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x).mean(dim=1)  # (B, d_model)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, num_classes)

    def reset_head(self, num_outputs: int) -> None:
        weight = self.patch_embedding.weight  # the new head goes where the net is
        like = nn.Linear(self.d_model, 1, device=weight.device, dtype=weight.dtype)
        self.head = fresh_linear(like, num_outputs)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A two-block encoder of 2x2 patches with a 3-class head and a matching
        (B, 1, 8, 8) batch (16 patches)."""
        net = cls(
            in_channels=1,
            image_size=8,
            patch_size=2,
            d_model=8,
            num_heads=2,
            num_layers=2,
            positional="learned",
            num_classes=3,
        )
        return net, torch.randn(batch_size, 1, 8, 8)


class JEPAPredictor(nn.Module):
    """The predictor of I-JEPA: from the context patches' embeddings, those of the
    target patches.

    The context embeddings are projected to the predictor's narrower ``width``; each
    target patch gets one shared learned mask token; every token (context and mask)
    gets its grid position, so a mask token says *which* patch to predict. A
    transformer mixes them, and the outputs at the mask tokens are projected back to
    the encoder's width. The narrow bottleneck is I-JEPA's: a predictor as wide as the
    encoder could do the encoder's work, and the encoder would learn less.

    Args:
        grid: rows and columns of patches (the encoder's ``grid``).
        d_model: width of the encoder's embeddings.
        width: width of the predictor's tokens.
        num_heads: attention heads; must divide ``width``.
        num_layers: transformer blocks.

    Raises:
        ConfigError: a bad size (see :class:`~dlzoo.layers.transformer.TransformerEncoder`).

    Shapes:
        context (B, K, d_model), context_index (K,) int64, target_index (T,) int64;
        output (B, T, d_model), in the order of ``target_index``.
    """

    def __init__(
        self, grid: tuple[int, int], d_model: int, width: int, num_heads: int, num_layers: int
    ) -> None:
        super().__init__()
        self.input_projection = nn.Linear(d_model, width)
        # I-JEPA's initialisation of the mask token (as its other small weights)
        self.mask_token = nn.Parameter(torch.randn(width) * 0.02)
        self.positional = PatchPositionalEncoding(grid, width, "sinusoidal")
        self.encoder = TransformerEncoder(width, num_heads, num_layers, dropout=0.0)
        self.output_projection = nn.Linear(width, d_model)

    def forward(
        self, context: torch.Tensor, context_index: torch.Tensor, target_index: torch.Tensor
    ) -> torch.Tensor:
        batch, targets = context.shape[0], target_index.numel()
        seen = self.positional(self.input_projection(context), context_index)  # (B, K, w)
        masks = self.mask_token.expand(batch, targets, -1)  # (B, T, w)
        asked = self.positional(masks, target_index)  # (B, T, w)
        mixed = self.encoder(torch.cat([seen, asked], dim=1))  # (B, K + T, w)
        return self.output_projection(mixed[:, -targets:])  # (B, T, d_model)
