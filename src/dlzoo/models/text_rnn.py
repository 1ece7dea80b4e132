"""Recurrent nets over word embeddings (lesson 5): token ids -> a learned embedding ->
:class:`~dlzoo.models.rnn.RecurrentNet` (packed, so padding never enters the
recurrence) -> pooled states -> a classification head.

:class:`TextRNN` pools like :class:`~dlzoo.models.rnn.RecurrentNet` (``last``,
``mean``, ``max`` or ``attention``); :class:`TextAttentionRNN` pools by attention by
default. Attention is additive (Bahdanau, Cho & Bengio 2015) or scaled dot-product
with a learned query (:class:`DotAttentionPooling`), chosen by ``attention``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ActivationLike
from dlzoo.layers.attention import DotAttentionPooling
from dlzoo.layers.embedding import TokenEmbedding
from dlzoo.models.registry import register_model
from dlzoo.models.rnn import RecurrentNet

__all__ = ["ATTENTIONS", "TextAttentionRNN", "TextRNN"]

ATTENTIONS = ("additive", "dot")


@register_model("text_gru")
class TextRNN(RecurrentNet):
    """A learned token embedding, then a :class:`~dlzoo.models.rnn.RecurrentNet`
    over the vectors (see it for the cells, pooling and their papers).

    Args:
        vocab_size: V, the vocabulary's size, from the data.
        padding_idx: the padding id, from the data (0).
        embed_dim: width of the learned token vectors (the recurrence's input size).
        embed_dropout: dropout probability on the token vectors (training only).
        cell, hidden_size, num_layers, dropout, bidirectional, pooling,
            attention_size, head_hidden_sizes, activation: as for
            :class:`~dlzoo.models.rnn.RecurrentNet`.
        attention: ``additive`` or ``dot`` (:class:`DotAttentionPooling`); only with
            ``attention`` pooling.
        num_classes: class logits, from the data.

    Attributes:
        embedding: the :class:`~dlzoo.layers.embedding.TokenEmbedding`
            (``embedding.weight`` is the (V, embed_dim) table).
        last_attention: with attention pooling, the latest weights (B, T), detached.

    Raises:
        ConfigError: an unknown attention kind, ``attention="dot"`` without attention
            pooling, a bad vocabulary, or what :class:`RecurrentNet` rejects.

    Shapes:
        input tokens (B, T) int64 and lengths (B,) int64 or ``None``; output
        (B, num_classes); ``last_attention`` (B, T).
    """

    def __init__(
        self,
        vocab_size: int,
        padding_idx: int = 0,
        embed_dim: int = 64,
        embed_dropout: float = 0.0,
        cell: str = "gru",
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        pooling: str | None = None,
        attention: str = "additive",
        attention_size: int | None = None,
        head_hidden_sizes: Sequence[int] = (),
        activation: ActivationLike = "relu",
        num_classes: int | None = None,
    ) -> None:
        if attention not in ATTENTIONS:
            raise ConfigError(
                f"unknown attention {attention!r}; valid attentions: {', '.join(ATTENTIONS)}"
            )
        # built before the body, so that its weights are drawn first (the module cannot
        # hold it until nn.Module.__init__ has run)
        embedding = TokenEmbedding(vocab_size, embed_dim, padding_idx, dropout=embed_dropout)
        super().__init__(
            embedding.out_features,
            cell,
            hidden_size,
            num_layers,
            dropout,
            bidirectional,
            pooling,
            attention_size,
            head_hidden_sizes,
            activation,
            num_classes,
        )
        if attention != "additive" and self.pooling != "attention":
            raise ConfigError(
                f"attention={attention!r} needs pooling='attention', got pooling={self.pooling!r}"
            )
        self.embedding = embedding
        self.attention_kind = attention
        if attention == "dot":
            # RecurrentNet builds the additive pooling; this replaces it in place
            self.attention = DotAttentionPooling(self.encoder.out_features, attention_size)

    def forward_features(
        self, tokens: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        return super().forward_features(self.embedding(tokens), lengths)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A two-layer LSTM over 5-wide embeddings, and (B, 7) token ids."""
        net = cls(
            vocab_size=13,
            embed_dim=5,
            embed_dropout=0.1,
            cell="lstm",
            hidden_size=4,
            num_layers=2,
            head_hidden_sizes=[3],
            num_classes=3,
        )
        return net, torch.randint(1, 13, (batch_size, 7))


@register_model("text_gru_attention")
class TextAttentionRNN(TextRNN):
    """:class:`TextRNN` with ``pooling="attention"`` by default (additive, or
    ``attention="dot"``); ``last_attention`` holds the latest weights over the tokens
    for attention figures. It takes :class:`TextRNN`'s arguments.
    """

    default_pooling = "attention"

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A bidirectional GRU with dot-product attention, and (B, 6) token ids."""
        net = cls(11, embed_dim=4, hidden_size=3, attention="dot", num_classes=2)
        return net, torch.randint(1, 11, (batch_size, 6))
