"""A convolutional net over word embeddings (lesson 5): Kim 2014, "Convolutional Neural
Networks for Sentence Classification".

Each kernel size is an n-gram detector: ``num_filters`` 1-d convolutions of width
``k`` slide over the token vectors, a ReLU keeps where a filter fires, and the maximum
over time says how strongly it fired anywhere in the document. The maxima of all
kernel sizes, concatenated, go through dropout into the head.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike
from dlzoo.layers.embedding import TokenEmbedding
from dlzoo.layers.temporal_pool import lengths_to_mask, masked_max_pool
from dlzoo.models.base import SequenceNet
from dlzoo.models.registry import register_model

__all__ = ["TextCNN"]


def _check_filters(kernel_sizes: Sequence[int], num_filters: int) -> None:
    if len(kernel_sizes) == 0:
        raise ConfigError("kernel_sizes is empty; give at least one kernel size, e.g. [3, 4, 5]")
    if any(int(k) < 1 for k in kernel_sizes):
        raise ConfigError(f"every kernel size must be >= 1, got kernel_sizes={list(kernel_sizes)}")
    if int(num_filters) < 1:
        raise ConfigError(f"num_filters must be >= 1, got {num_filters}")


@register_model("text_cnn")
class TextCNN(SequenceNet):
    """Parallel 1-d convolutions over token embeddings, max-pooled over time (Kim 2014).

    The convolutions use "same" padding (an even kernel of width ``k`` takes
    ``(k - 1) // 2`` steps before and ``k // 2`` after each position), so every real
    token gets a window and a document shorter than the widest kernel still works.
    Padding never changes the output: the vectors past each document's end are set to
    zero, which is exactly the zero padding the same document gets alone, and the
    maximum runs over the real positions only.

    Args:
        vocab_size: V, the vocabulary's size, from the data.
        padding_idx: the padding id, from the data (0).
        embed_dim: width of the learned token vectors.
        embed_dropout: dropout probability on the token vectors (training only).
        kernel_sizes: the n-gram widths, one bank of filters each.
        num_filters: filters per kernel size.
        head_hidden_sizes, dropout, activation, num_classes: the head (see
            :class:`~dlzoo.models.base.SequenceNet`); ``dropout`` acts on the
            concatenated maxima (Kim used 0.5) and after every hidden head layer.

    Attributes:
        embedding: the :class:`~dlzoo.layers.embedding.TokenEmbedding`.

    Raises:
        ConfigError: empty or non-positive ``kernel_sizes``, ``num_filters < 1``, a bad
            vocabulary, or no ``num_classes``.

    Net API (see :mod:`dlzoo.models.base`): the features are the concatenated maxima,
    (B, num_filters * len(kernel_sizes)).

    Shapes:
        input tokens (B, T) int64 and lengths (B,) int64 or ``None``; output
        (B, num_classes).
    """

    def __init__(
        self,
        vocab_size: int,
        padding_idx: int = 0,
        embed_dim: int = 64,
        embed_dropout: float = 0.0,
        kernel_sizes: Sequence[int] = (3, 4, 5),
        num_filters: int = 100,
        head_hidden_sizes: Sequence[int] = (),
        dropout: float = 0.5,
        activation: ActivationLike = "relu",
        num_classes: int | None = None,
    ) -> None:
        super().__init__(num_classes, None, None, head_hidden_sizes, dropout, activation)
        _check_filters(kernel_sizes, num_filters)
        self.embedding = TokenEmbedding(vocab_size, embed_dim, padding_idx, dropout=embed_dropout)
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        self.convs = nn.ModuleList(
            nn.Conv1d(self.embedding.out_features, int(num_filters), k) for k in self.kernel_sizes
        )
        self._add_head(int(num_filters) * len(self.kernel_sizes))

    def forward_features(
        self, tokens: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        vectors = self.embedding(tokens)  # (B, T, D)
        mask = None if lengths is None else lengths_to_mask(lengths, tokens.shape[1])  # (B, T)
        if mask is not None:
            # the padding ids embed to zero already; this also holds for a batch whose
            # padding is not padding_idx (e.g. a sliced batch)
            vectors = vectors.masked_fill(~mask.unsqueeze(-1), 0.0)
        x = vectors.transpose(1, 2)  # (B, D, T)
        pooled = []
        for k, conv in zip(self.kernel_sizes, self.convs, strict=True):
            window = F.pad(x, ((k - 1) // 2, k // 2))  # (B, D, T + k - 1)
            features = torch.relu(conv(window)).transpose(1, 2)  # (B, T, num_filters)
            pooled.append(masked_max_pool(features, mask))  # (B, num_filters)
        return torch.cat(pooled, dim=1)  # (B, num_filters * len(kernel_sizes))

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A small TextCNN with an even kernel, and (B, 3) token ids, shorter than its
        widest kernel."""
        net = cls(vocab_size=10, embed_dim=4, kernel_sizes=[2, 5], num_filters=3, num_classes=3)
        return net, torch.randint(1, 10, (batch_size, 3))
