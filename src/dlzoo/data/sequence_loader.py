"""Whole-batch loaders of padded sequences: token ids (N, T) or series (N, T, C).

A dataset of sequences of unequal length is stored padded to its longest one. Served
as is, a batch of short sequences would carry (and make a recurrent net step through)
many padded steps; :class:`PaddedSequenceLoader` trims each batch to its own longest
sequence. With ``bucket=True`` the training batches are also made of sequences of
similar length (length bucketing), so that little padding is left to trim.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor

from dlzoo.data.loaders import TensorBatchLoader
from dlzoo.errors import ConfigError

__all__ = ["PaddedSequenceLoader"]


class PaddedSequenceLoader(TensorBatchLoader):
    """:class:`TensorBatchLoader` of padded sequences, each batch trimmed to its longest.

    Sampling, ``set_epoch``, ``len`` and the distributed sharding are the base class's.

    Length bucketing (``bucket=True``, shuffled loaders only): each epoch's seeded
    permutation (this rank's share of it) is cut into chunks of :attr:`BUCKET_BATCHES`
    batches; each chunk is sorted by length and cut into batches, and then the order of
    all full batches is shuffled (seeded by ``seed`` and the epoch; a short last batch
    stays last). Every sample is still served exactly once per epoch, in batches of
    sequences of similar length, so far fewer padded steps are left after trimming. An
    unshuffled loader (val / test / predict) keeps the samples' order, as its
    predictions must line up with the split.

    Args:
        x: the sequences, padded after each one's length: integer token ids (padded
            with 0), or series (padded with zeros).
        y: the labels.
        lengths: each sequence's valid length (>= 1).
        bucket: batch sequences of similar length (see above).
        **kwargs: as :class:`TensorBatchLoader` (``batch_size``, ``shuffle``, ``seed``,
            ``drop_last``, ``transform``, ``rank``, ``world_size``).

    Shapes:
        - x: (N, T_max) or (N, T_max, C); y: (N,); lengths: (N,) int64
        - each batch: ``(x, y, lengths)`` with x: (B, T) or (B, T, C),
          ``T = lengths.max()`` of this batch, y: (B,), lengths: (B,)
    """

    # batches sorted by length together: enough for similar lengths in each, few enough
    # that a batch's neighbours in the epoch still come from all over the dataset
    BUCKET_BATCHES = 50

    def __init__(
        self, x: Tensor, y: Tensor, lengths: Tensor, bucket: bool = False, **kwargs: Any
    ) -> None:
        tokens = x.ndim == 2 and not x.dtype.is_floating_point
        if not (tokens or x.ndim == 3) or lengths.ndim != 1:
            raise ConfigError(
                f"PaddedSequenceLoader needs x (N, T) integer token ids or (N, T, C) series "
                f"and lengths (N,), got {x.dtype} {tuple(x.shape)} and {tuple(lengths.shape)}"
            )
        super().__init__(x, y, lengths, **kwargs)
        self.bucket = bool(bucket)

    def indices(self, epoch: int) -> Tensor:
        """This rank's sample indices in ``epoch``, bucketed by length when asked.

        Shapes:
            - output: as :meth:`TensorBatchLoader.indices`, the same indices reordered
        """
        order = super().indices(epoch)
        if not (self.bucket and self.shuffle):
            return order
        return self._bucketed(order, epoch)

    def _bucketed(self, order: Tensor, epoch: int) -> Tensor:
        """``order`` sorted by length within chunks, cut into batches, batches shuffled."""
        size = self.batch_size
        lengths = self.tensors[2].index_select(0, order)
        chunk = size * self.BUCKET_BATCHES
        pieces = []
        for start in range(0, len(order), chunk):
            by_length = torch.argsort(lengths[start : start + chunk], stable=True)
            pieces.append(order[start : start + chunk][by_length])
        order = torch.cat(pieces) if pieces else order
        full = len(order) // size
        # another seed than the permutations' (seed + epoch), so the two are unrelated
        generator = torch.Generator().manual_seed(self.seed + epoch + (1 << 40))
        batches = torch.randperm(full, generator=generator)
        positions = (batches[:, None] * size + torch.arange(size)).reshape(-1)
        return torch.cat([order[positions], order[full * size :]])

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        for x, y, lengths in super().__iter__():
            longest = int(lengths.max())
            # contiguous: nets may .view() their input; a copy only when actually trimmed
            yield x[:, :longest].contiguous(), y, lengths  # (B, T[, C]), (B,), (B,)
