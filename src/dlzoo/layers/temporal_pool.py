"""Masks and pooling over time for batches of variable-length sequences.

A batch of sequences is ``(B, T, H)``, zero-padded after each sequence's end, with
``lengths`` (B,) or the equivalent ``mask`` (B, T) (``True`` on real steps). ``None``
for either means every sequence is full length. Every pool here gives the same result
for a sequence whether it is alone or padded in a batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from dlzoo.errors import ConfigError

__all__ = [
    "SEQUENCE_POOLS",
    "SequencePool",
    "last_step_pool",
    "lengths_to_mask",
    "masked_max_pool",
    "masked_mean_pool",
    "resolve_sequence_pool",
]


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """A padding mask from sequence lengths.

    Args:
        lengths: number of real steps of each sequence, each in ``[1, max_len]``.
        max_len: ``T``, the padded length.

    Shapes:
        lengths (B,); output (B, T) bool, ``True`` where ``t < lengths[b]``.
    """
    steps = torch.arange(max_len, device=lengths.device)  # (T,)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)


def masked_mean_pool(h: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over the real steps of each sequence.

    Shapes:
        h (B, T, H); mask (B, T) bool or ``None``; output (B, H).
    """
    if mask is None:
        return h.mean(dim=1)
    # masked_fill, not a product, so that a NaN in the padding cannot leak in
    total = h.masked_fill(~mask.unsqueeze(-1), 0.0).sum(dim=1)  # (B, H)
    return total / mask.sum(dim=1, keepdim=True).to(h.dtype)


def masked_max_pool(h: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Maximum over the real steps of each sequence (padding is never the maximum).

    Shapes:
        h (B, T, H); mask (B, T) bool or ``None``; output (B, H).
    """
    if mask is None:
        return h.amax(dim=1)
    return h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)  # (B, H)


def last_step_pool(h: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The last real step of each sequence, ``h[b, lengths[b] - 1]``.

    The mask must be a prefix mask (real steps first, then padding), as
    :func:`lengths_to_mask` makes.

    Shapes:
        h (B, T, H); mask (B, T) bool or ``None``; output (B, H).
    """
    if mask is None:
        return h[:, -1]
    last = mask.sum(dim=1) - 1  # (B,)
    index = last.view(-1, 1, 1).expand(-1, 1, h.shape[-1])  # (B, 1, H)
    return h.gather(1, index).squeeze(1)  # (B, H)


SequencePool = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]
SEQUENCE_POOLS: dict[str, SequencePool] = {
    "last": last_step_pool,
    "mean": masked_mean_pool,
    "max": masked_max_pool,
}


def resolve_sequence_pool(name: str) -> SequencePool:
    """The pooling function for ``last``, ``mean`` or ``max``.

    Raises:
        ConfigError: naming the bad value and the valid names.
    """
    try:
        return SEQUENCE_POOLS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown pooling {name!r}; valid poolings: {', '.join(SEQUENCE_POOLS)}"
        ) from None
