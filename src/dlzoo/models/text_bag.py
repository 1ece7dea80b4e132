"""Bags of words: a document is the mean of its tokens' vectors, then a head (lesson 4).

The order of the words is thrown away; what is left is which words occur and how
often. Two ways to give each word a vector, registered as two presets of one net:

- ``bag_of_embeddings``: a learned embedding table of width ``embed_dim``, so similar
  words can end up with similar vectors and the head sees ``embed_dim`` features
  (Joulin et al. 2017, "Bag of Tricks for Efficient Text Classification", without the
  n-grams).
- ``bag_of_onehot``: one-hot codes, whose mean is the document's normalised term
  frequencies; the head is then a linear model on ``vocab_size`` features (with no
  hidden layer, multinomial logistic regression on term frequencies), and each word's
  vector is its column in the head's first layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dlzoo.layers.activations import ActivationLike
from dlzoo.layers.embedding import TokenEmbedding, bag_of_tokens
from dlzoo.layers.temporal_pool import lengths_to_mask, masked_mean_pool
from dlzoo.models.base import SequenceNet
from dlzoo.models.registry import register_model

__all__ = ["BagOfEmbeddings"]


# the presets of conf/model/{bag_of_embeddings,bag_of_onehot}.yaml
@register_model("bag_of_onehot", one_hot=True)
@register_model("bag_of_embeddings", one_hot=False)
class BagOfEmbeddings(SequenceNet):
    """The mean of a document's token vectors over its real tokens, then a head.

    With ``one_hot`` the pooled vector is computed by :func:`bag_of_tokens` from the
    ids (a scatter-add), never as a dense (B, T, vocab_size) one-hot tensor.

    Args:
        vocab_size: V, the vocabulary's size, from the data.
        padding_idx: the padding id, from the data (0).
        embed_dim: D, the width of the learned vectors (ignored with ``one_hot``).
        one_hot: fixed one-hot codes (width V, no embedding parameters) instead of a
            learned table.
        head_hidden_sizes, dropout, activation, num_classes: the head (see
            :class:`~dlzoo.models.base.SequenceNet`); ``dropout`` acts on the pooled
            vector and after every hidden head layer.

    Attributes:
        embedding: the :class:`~dlzoo.layers.embedding.TokenEmbedding`; with
            ``one_hot`` it has no table (its ``weight`` is the (V, V) identity), so an
            embedding projector should read :meth:`word_vectors` instead.

    Raises:
        ConfigError: a vocabulary below 2, a padding id outside it, a bad
            ``embed_dim``, or no ``num_classes``.

    Net API (see :mod:`dlzoo.models.base`): the features are the pooled vector,
    (B, D), or (B, V) term frequencies with ``one_hot``.

    Shapes:
        input tokens (B, T) int64 and lengths (B,) int64 or ``None``; output
        (B, num_classes).
    """

    def __init__(
        self,
        vocab_size: int,
        padding_idx: int = 0,
        embed_dim: int = 64,
        one_hot: bool = False,
        head_hidden_sizes: Sequence[int] = (),
        dropout: float = 0.0,
        activation: ActivationLike = "relu",
        num_classes: int | None = None,
    ) -> None:
        super().__init__(num_classes, None, None, head_hidden_sizes, dropout, activation)
        self.embedding = TokenEmbedding(vocab_size, embed_dim, padding_idx, one_hot)
        self._add_head(self.embedding.out_features)

    def forward_features(
        self, tokens: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.embedding.one_hot:
            return bag_of_tokens(tokens, self.embedding.vocab_size, lengths)  # (B, V)
        mask = None if lengths is None else lengths_to_mask(lengths, tokens.shape[1])
        return masked_mean_pool(self.embedding(tokens), mask)  # (B, D)

    def word_vectors(self) -> torch.Tensor:
        """One learned vector per vocabulary id, for embedding projections.

        The embedding table, or with ``one_hot`` the head's first linear layer
        transposed: a document's first-layer activation is the term-frequency-weighted
        mean of these columns, so they play the part of the embedding.

        Shapes:
            output (V, D), or (V, first head layer's width) with ``one_hot``.
        """
        if not self.embedding.one_hot:
            return self.embedding.weight
        first = next(m for m in self.head.modules() if isinstance(m, nn.Linear))
        return first.weight.t()

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A small bag of embeddings with a hidden head layer, and (B, 6) token ids."""
        net = cls(vocab_size=12, embed_dim=5, head_hidden_sizes=[4], num_classes=3)
        return net, torch.randint(1, 12, (batch_size, 6))
