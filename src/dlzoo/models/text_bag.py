"""Bags of words: a document is the mean of its tokens' vectors, then a head (lesson 4).

The order of the words is thrown away; what is left is which words occur and how
often. Two ways to give each word a vector, two presets (YAMLs) of one net:

- ``bag_of_embeddings``: a learned embedding table of width ``embed_dim``, so similar
  words can end up with similar vectors and the head sees ``embed_dim`` features
  (Joulin et al. 2017, "Bag of Tricks for Efficient Text Classification"); with
  ``bigram_buckets`` the word pairs get hashed vectors of their own too, as in that
  paper, so "prime minister" is more than "prime" and "minister".
- ``bag_of_onehot``: one-hot codes, whose mean is the document's normalised term
  frequencies; the head is then a linear model on ``vocab_size`` features (with no
  hidden layer, multinomial logistic regression on term frequencies), and each word's
  vector is its column in the head's first layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike
from dlzoo.layers.attention import AttentionPooling
from dlzoo.layers.embedding import TokenEmbedding, bag_of_tokens
from dlzoo.layers.temporal_pool import lengths_to_mask, masked_max_pool, masked_mean_pool
from dlzoo.models.base import SequenceNet
from dlzoo.models.registry import register_model

__all__ = ["BagOfEmbeddings", "bigram_ids"]

POOLINGS = ("mean", "max", "attention")

# multiplies the first id of a pair before hashing (a prime above any vocabulary)
_PAIR_PRIME = 1_000_003


def bigram_ids(tokens: torch.Tensor, buckets: int) -> torch.Tensor:
    """Hash every pair of neighbouring token ids into ``0 .. buckets-1``.

    Shapes:
        tokens (B, T) int64 -> (B, T-1) int64: entry t hashes (tokens[t], tokens[t+1])
    """
    return (tokens[:, :-1] * _PAIR_PRIME + tokens[:, 1:]) % buckets


@register_model("bag_of_embeddings")
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
        sublinear: with ``one_hot``, log-scaled counts of unit length instead of term
            frequencies (see :func:`~dlzoo.layers.embedding.bag_of_tokens`).
        bigram_buckets: 0 for words alone; else the number of hashed vectors for word
            pairs (e.g. 100 000), averaged with the words' vectors (learned vectors
            and mean pooling only).
        pooling: ``mean`` over the real tokens; ``max`` per dimension; ``attention``,
            a learned weight per token (additive attention, softmax over the real
            tokens; it learns which words matter, as IDF weights do by counting), kept
            on ``last_attention`` (Shen et al. 2018, "Baseline Needs More Love", SWEM).
            Learned vectors only.
        head_hidden_sizes, dropout, activation, num_classes: the head (see
            :class:`~dlzoo.models.base.SequenceNet`); ``dropout`` acts on the pooled
            vector and after every hidden head layer.

    Attributes:
        embedding: the :class:`~dlzoo.layers.embedding.TokenEmbedding`; with
            ``one_hot`` it has no table, so an embedding projector reads
            :meth:`word_vectors` instead.

    Raises:
        ConfigError: a vocabulary below 2, a padding id outside it, a bad
            ``embed_dim``, negative ``bigram_buckets``, bigrams or a pooling other than
            ``mean`` with ``one_hot`` (or bigrams with another pooling), an unknown
            pooling, ``sublinear`` without ``one_hot``, or no ``num_classes``.

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
        sublinear: bool = False,
        bigram_buckets: int = 0,
        pooling: str = "mean",
        head_hidden_sizes: Sequence[int] = (),
        dropout: float = 0.0,
        activation: ActivationLike = "relu",
        num_classes: int | None = None,
    ) -> None:
        super().__init__(num_classes, None, None, head_hidden_sizes, dropout, activation)
        if int(bigram_buckets) < 0 or (bigram_buckets and (one_hot or pooling != "mean")):
            raise ConfigError(
                f"bigram_buckets={bigram_buckets} must be >= 0, and 0 with one_hot=true or "
                "a pooling other than mean"
            )
        if pooling not in POOLINGS or (one_hot and pooling != "mean"):
            raise ConfigError(
                f"pooling={pooling!r} must be one of {', '.join(POOLINGS)} (mean with one_hot)"
            )
        if sublinear and not one_hot:
            raise ConfigError("sublinear=true scales one-hot counts: set one_hot=true too")
        self.pooling = pooling
        self.sublinear = bool(sublinear)
        self.embedding = TokenEmbedding(vocab_size, embed_dim, padding_idx, one_hot)
        self.bigram_buckets = int(bigram_buckets)
        self.bigrams = (
            nn.Embedding(self.bigram_buckets, self.embedding.out_features)
            if self.bigram_buckets
            else None
        )
        width = self.embedding.out_features
        self.attention = AttentionPooling(width) if pooling == "attention" else None
        self.last_attention: torch.Tensor | None = None
        self._add_head(width)

    def forward_features(
        self, tokens: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.embedding.one_hot:
            vocab = self.embedding.vocab_size
            return bag_of_tokens(tokens, vocab, lengths, self.sublinear)  # (B, V)
        steps = tokens.shape[1]
        if lengths is None:
            lengths = torch.full(tokens.shape[:1], steps, device=tokens.device)
        mask = lengths_to_mask(lengths, steps)  # (B, T)
        if self.attention is not None:
            pooled, weights = self.attention(self.embedding(tokens), mask)  # (B, D), (B, T)
            self.last_attention = weights.detach()
            return pooled
        if self.pooling == "max":
            return masked_max_pool(self.embedding(tokens), mask)  # (B, D)
        if self.bigrams is None or steps < 2:
            return masked_mean_pool(self.embedding(tokens), mask)  # (B, D)
        # every vector of a word or a pair counts once: sum both, divide by their number
        words = (self.embedding(tokens) * mask[..., None]).sum(1)  # (B, D)
        pair_mask = mask[:, 1:]  # a pair is real when its second word is
        pairs = self.bigrams(bigram_ids(tokens, self.bigram_buckets)) * pair_mask[..., None]
        count = mask.sum(1, keepdim=True) + pair_mask.sum(1, keepdim=True)
        return (words + pairs.sum(1)) / count.clamp_min(1)  # (B, D)

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
