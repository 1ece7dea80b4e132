"""Attention pooling over the real steps of padded sequences: additive or dot-product."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["AttentionPooling", "DotAttentionPooling", "masked_attention_pool"]


def masked_attention_pool(
    h: torch.Tensor, scores: torch.Tensor, mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax the scores over the real steps, then the weighted sum of the steps.

    Padded steps get a score of ``-inf``, so their weight is exactly 0.

    Shapes:
        h (B, T, H), scores (B, T), mask (B, T) bool or ``None`` -> the pooled vector
        (B, H) and the weights (B, T)
    """
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=1)  # (B, T)
    return torch.bmm(weights.unsqueeze(1), h).squeeze(1), weights


class AttentionPooling(nn.Module):
    """Additive attention pooling over time (Bahdanau, Cho & Bengio 2015, "Neural Machine
    Translation by Jointly Learning to Align and Translate"), with a learned query in
    place of the decoder state, as in Yang et al. 2016 and Raffel & Ellis 2016:

    .. math::
        e_t = v^\\top \\tanh(W h_t + b), \\quad
        \\alpha = \\operatorname{softmax}_{t \\in \\text{valid}}(e), \\quad
        c = \\sum_t \\alpha_t h_t

    Padded steps get a score of ``-inf`` before the softmax, so their weight is exactly 0
    and the weights of each sequence sum to 1 over its real steps.

    Args:
        hidden_size: ``H``, the size of each step's vector.
        attention_size: width of the hidden layer ``W``; ``None`` uses ``hidden_size``.

    Shapes:
        input h (B, T, H) and mask (B, T) bool or ``None``; output the pooled vector
        (B, H) and the weights (B, T).
    """

    def __init__(self, hidden_size: int, attention_size: int | None = None) -> None:
        super().__init__()
        attention_size = attention_size or hidden_size
        self.proj = nn.Linear(hidden_size, attention_size)
        self.score = nn.Linear(attention_size, 1, bias=False)

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.score(torch.tanh(self.proj(h))).squeeze(-1)  # (B, T)
        return masked_attention_pool(h, scores, mask)


class DotAttentionPooling(nn.Module):
    """Scaled dot-product attention pooling with one learned query (the pooling of
    Vaswani et al. 2017's attention with a single trained query, as in Lin et al.
    2017's structured self-attention with one head):

    .. math::
        k_t = W h_t, \\quad
        \\alpha = \\operatorname{softmax}_{t \\in \\text{valid}}(q^\\top k_t / \\sqrt{A}),
        \\quad c = \\sum_t \\alpha_t h_t

    Cheaper than additive attention (no ``tanh`` layer); the ``1 / sqrt(A)`` keeps the
    scores' scale independent of the key width. Padded steps get ``-inf`` before the
    softmax, so their weight is exactly 0.

    Args:
        hidden_size: ``H``, the size of each step's vector.
        attention_size: ``A``, the width of the keys and the query; ``None`` uses
            ``hidden_size``.

    Shapes:
        input h (B, T, H) and mask (B, T) bool or ``None``; output the pooled vector
        (B, H) and the weights (B, T).
    """

    def __init__(self, hidden_size: int, attention_size: int | None = None) -> None:
        super().__init__()
        attention_size = attention_size or hidden_size
        self.key = nn.Linear(hidden_size, attention_size, bias=False)
        self.query = nn.Parameter(torch.randn(attention_size))
        self.scale = 1.0 / math.sqrt(attention_size)

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.key(h) @ self.query * self.scale  # (B, T)
        return masked_attention_pool(h, scores, mask)
