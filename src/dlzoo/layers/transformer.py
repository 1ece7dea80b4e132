"""The transformer encoder: a stack of self-attention + feed-forward blocks (lesson 5).

Vaswani et al. 2017, "Attention Is All You Need", with the layer norm moved to the start
of each residual branch ("pre-norm", Xiong et al. 2020, "On Layer Normalization in the
Transformer Architecture"): the residual path from input to output is then a plain sum,
so gradients reach the first layers unscaled and training is stable without the
original's learning-rate warm-up. GPT-2 and nanoGPT use the same layout.
"""

from __future__ import annotations

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.multihead_attention import MultiHeadAttention

__all__ = ["TransformerEncoder", "TransformerEncoderBlock"]


class TransformerEncoderBlock(nn.Module):
    """One pre-norm encoder block:

    .. math::
        x \\leftarrow x + \\operatorname{drop}(\\operatorname{MHA}(\\operatorname{LN}(x))),
        \\quad
        x \\leftarrow x + \\operatorname{drop}(\\operatorname{FFN}(\\operatorname{LN}(x)))

    with ``FFN = Linear(d_model, ff_size) - GELU - Linear(ff_size, d_model)``, applied
    to each position on its own. Attention mixes the positions; the feed-forward net
    transforms each mixed vector.

    Args:
        d_model: width of every position's vector.
        num_heads: attention heads; must divide ``d_model``.
        ff_size: hidden width of the feed-forward net; ``None`` is ``4 * d_model``.
        dropout: dropout probability on both branches' outputs.
        attention_dropout: dropout probability on the attention weights (it costs a
            B*h*T^2 random mask per layer and step, the largest cost of a CPU training
            pass at T = 256: off by default).

    Attributes:
        attention: the block's :class:`MultiHeadAttention` (its ``keep_weights``
            keeps the latest weights for figures).

    Raises:
        ConfigError: a bad size or dropout (see :class:`MultiHeadAttention`).

    Shapes:
        input x (B, T, d_model), mask (B, T) bool (``True`` on real steps) or ``None``;
        output (B, T, d_model).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        ff_size: int | None = None,
        dropout: float = 0.1,
        attention_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        ff_size = 4 * d_model if ff_size is None else ff_size
        if ff_size < 1:
            raise ConfigError(f"ff_size must be >= 1, got {ff_size}")
        self.attention_norm = nn.LayerNorm(d_model)
        self.attention = MultiHeadAttention(d_model, num_heads, attention_dropout)
        self.ff_norm = nn.LayerNorm(d_model)
        self.feed_forward = nn.Sequential(
            nn.Linear(d_model, ff_size), nn.GELU(), nn.Linear(ff_size, d_model)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, causal: bool = False
    ) -> torch.Tensor:
        x = x + self.dropout(self.attention(self.attention_norm(x), mask=mask, causal=causal))
        return x + self.dropout(self.feed_forward(self.ff_norm(x)))  # (B, T, d_model)


class TransformerEncoder(nn.Module):
    """``num_layers`` :class:`TransformerEncoderBlock` s, then a final layer norm (the
    pre-norm blocks leave their sum unnormalised).

    A padding mask keeps every real position from attending the padding, so a sequence
    gives the same outputs on its real positions alone or padded in a batch (the
    outputs on padded positions are meaningless). ``causal=True`` also keeps each
    position from attending later ones, so output ``t`` depends on inputs ``<= t``.

    Args:
        d_model: width of every position's vector.
        num_heads: attention heads per block; must divide ``d_model``.
        num_layers: blocks.
        ff_size: hidden width of each feed-forward net; ``None`` is ``4 * d_model``.
        dropout: dropout probability on the blocks' branches.
        attention_dropout: dropout probability on the attention weights.

    Raises:
        ConfigError: ``num_layers < 1``, or a bad size or dropout.

    Shapes:
        input x (B, T, d_model), mask (B, T) bool or ``None``; output (B, T, d_model).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        num_layers: int = 2,
        ff_size: int | None = None,
        dropout: float = 0.1,
        attention_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ConfigError(f"num_layers must be >= 1, got {num_layers}")
        self.layers = nn.ModuleList(
            TransformerEncoderBlock(d_model, num_heads, ff_size, dropout, attention_dropout)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, causal: bool = False
    ) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, mask, causal)
        return self.norm(x)  # (B, T, d_model)
