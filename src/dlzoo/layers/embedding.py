"""Token ids in, vectors out: learned embeddings or one-hot codes (lessons 4 and 5).

A text batch is ``(tokens, y, lengths)``: ``tokens`` (B, T) int64 ids, padded after
each sequence's ``lengths`` with ``padding_idx``. :class:`TokenEmbedding` turns the ids
into (B, T, D) vectors that a sequence net reads like any other (B, T, F) input; the
vector of a padding position is exactly zero, so padding never adds to a sum or a
convolution.

:func:`bag_of_tokens` pools without building (B, T, vocab_size) one-hot tensors: the
mean of one-hot codes over a sequence is its normalised term-frequency vector, which a
scatter-add builds from the ids directly (a 512-token batch of 32 over a 20 000-word
vocabulary would otherwise take 1.3 GB).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dlzoo.errors import ConfigError

__all__ = ["TokenEmbedding", "bag_of_tokens"]


def _check_vocabulary(vocab_size: int, padding_idx: int | None) -> None:
    if int(vocab_size) < 2:
        raise ConfigError(f"vocab_size must be >= 2 (padding and one word), got {vocab_size}")
    if padding_idx is not None and not 0 <= int(padding_idx) < int(vocab_size):
        raise ConfigError(f"padding_idx={padding_idx} must be in [0, vocab_size={vocab_size})")


class TokenEmbedding(nn.Module):
    """Token ids -> vectors, zero at padding positions.

    ``one_hot=False``: a learned ``nn.Embedding`` of width ``embed_dim`` (the padding
    row is zero and gets no gradient). ``one_hot=True``: the fixed one-hot code of each
    id, width ``vocab_size``, with no parameters (the lesson's comparison; only for
    small vocabularies, since the output is dense).

    Args:
        vocab_size: V, the tokenizer's vocabulary size (ids 0 .. V-1), from the data.
        embed_dim: D of a learned embedding (ignored with ``one_hot``).
        padding_idx: the id that pads sequences, from the data; ``None`` when nothing
            is padded.
        one_hot: one-hot codes instead of a learned table.
        dropout: dropout probability on the vectors (training only).

    Attributes:
        out_features: D, or V with ``one_hot``.

    Raises:
        ConfigError: a vocabulary below 2, a padding id outside it, or ``embed_dim < 1``.

    Shapes:
        input tokens (B, T) int64; output (B, T, out_features)
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 64,
        padding_idx: int | None = 0,
        one_hot: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _check_vocabulary(vocab_size, padding_idx)
        if not one_hot and int(embed_dim) < 1:
            raise ConfigError(f"embed_dim must be >= 1, got {embed_dim}")
        self.vocab_size = int(vocab_size)
        self.padding_idx = None if padding_idx is None else int(padding_idx)
        self.one_hot = bool(one_hot)
        self.out_features = self.vocab_size if self.one_hot else int(embed_dim)
        self.table = (
            None
            if self.one_hot
            else nn.Embedding(self.vocab_size, self.out_features, padding_idx=self.padding_idx)
        )
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    @property
    def weight(self) -> torch.Tensor:
        """The (V, embed_dim) learned vectors of every id.

        Raises:
            ConfigError: with ``one_hot``, which has no table (its codes are the (V, V)
                identity, too large to build for a real vocabulary).
        """
        if self.table is None:
            raise ConfigError("one-hot token codes have no learned table (one_hot=true)")
        return self.table.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.table is not None:
            vectors = self.table(tokens)  # (B, T, D); the padding row is zero
        else:
            vectors = F.one_hot(tokens, self.vocab_size).float()  # (B, T, V)
            if self.padding_idx is not None:
                vectors[..., self.padding_idx] = 0.0
        return self.dropout(vectors)


def bag_of_tokens(
    tokens: torch.Tensor,
    vocab_size: int,
    lengths: torch.Tensor | None = None,
    sublinear: bool = False,
) -> torch.Tensor:
    """Each sequence's mean one-hot code: its term frequencies over its real tokens.

    Args:
        tokens: token ids, padded after ``lengths``.
        vocab_size: V.
        lengths: each sequence's real length; ``None`` counts every position.
        sublinear: ``1 + log(count)`` for every id that occurs, each row scaled to unit
            length, as TF-IDF's ``sublinear_tf`` with its L2 norm: a word said ten
            times weighs about three times a word said once, not ten, and long and
            short documents weigh alike.

    Shapes:
        tokens (B, T) int64, lengths (B,) -> (B, V) float32, each row summing to 1
        (with ``sublinear``, of unit L2 norm; 0 for an empty sequence)
    """
    batch, steps = tokens.shape
    weights = torch.ones(batch, steps, device=tokens.device)
    if lengths is not None:
        positions = torch.arange(steps, device=tokens.device)
        weights = (positions < lengths.to(tokens.device)[:, None]).float()  # (B, T)
    counts = torch.zeros(batch, vocab_size, device=tokens.device)
    counts.scatter_add_(1, tokens, weights)  # (B, V)
    if sublinear:
        scaled = torch.where(counts > 0, 1.0 + counts.clamp_min(1.0).log(), counts)
        return scaled / scaled.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return counts / weights.sum(1, keepdim=True).clamp_min(1.0)
