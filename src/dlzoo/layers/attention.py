"""Additive attention pooling over the real steps of padded sequences."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["AttentionPooling"]


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
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=1)  # (B, T)
        pooled = torch.bmm(weights.unsqueeze(1), h).squeeze(1)  # (B, H)
        return pooled, weights
