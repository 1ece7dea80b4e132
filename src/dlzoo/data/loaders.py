"""Whole-batch loaders for datasets that fit in memory.

A textbook ``DataLoader`` builds every batch by calling ``dataset[i]`` once per sample
and stacking the results in ``collate_fn``: for small tensors (an 8x8 digit) that
Python overhead costs more than the forward pass. :class:`TensorBatchLoader` keeps the
whole dataset as tensors and serves batches as slices of one index gather per tensor
for a chunk of batches: an epoch of digits costs about 0.1 ms to serve, against 3 ms
through a ``DataLoader``.

Lightning accepts it as a train / val / test dataloader: it is an iterable with
``__len__``, and it has a ``sampler.set_epoch`` that Lightning calls at the start of each
epoch (as it does for a ``DistributedSampler``), so a resumed run draws the same
permutations as an uninterrupted one. Its ``state_dict`` (the epoch and the batches
served of it), which Lightning keeps in every checkpoint, makes a run resumed from a
checkpoint written mid-epoch (a run stopped by a signal, :mod:`dlzoo.run.interrupt`) serve
exactly the batches of that epoch it had not yet trained on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import SequentialSampler

from dlzoo.errors import ConfigError

__all__ = ["EpochClock", "SequentialEpochClock", "TensorBatchLoader", "dist_rank_world"]


class EpochClock:
    """The epoch a loader draws its next permutation for; Lightning sets it.

    Lightning looks for ``loader.sampler.set_epoch`` on any dataloader and calls it at
    every epoch start; without Lightning the loader advances the epoch itself.
    """

    epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)


class SequentialEpochClock(EpochClock, SequentialSampler):
    """The clock of an unshuffled loader.

    A ``SequentialSampler`` to Lightning, which then knows that the loader does not
    shuffle (``overfit_batches`` and its val / test checks look for that class).
    """


def dist_rank_world() -> tuple[int, int]:
    """This process's rank and the world size (0, 1 outside torch.distributed)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class TensorBatchLoader:
    """Batches of in-memory tensors: slices of one index gather per chunk of batches.

    Every epoch draws a permutation from a ``torch.Generator`` seeded with
    ``seed + epoch`` (or uses ``0 .. N-1`` when ``shuffle`` is off), and yields
    ``tuple(t[idx] for t in tensors)`` for consecutive slices ``idx`` of it (gathered
    :attr:`CHUNK_BATCHES` batches at a time, each batch a view): every sample
    exactly once per epoch, a different order each epoch, the same orders for the same
    seed.

    Distributed runs: when ``torch.distributed`` is initialised (or ``rank`` and
    ``world_size`` are given) every rank draws the same permutation and keeps the
    positions ``rank, rank + world_size, ...`` of it, so the ranks see disjoint parts
    that together cover the dataset. All ranks yield the same number of batches (DDP
    waits for every rank at each step): with ``drop_last`` the permutation is cut to a
    multiple of ``world_size``; without it, a rank whose share is one sample short of
    filling its last batch repeats one of its own samples there.

    Args:
        *tensors: tensors with the same first dimension (e.g. inputs and labels).
        batch_size: samples per batch (per rank in a distributed run).
        shuffle: draw a new permutation each epoch (training) or keep the order.
        seed: seeds the permutations; use the same value on every rank.
        drop_last: skip the last batch when it is smaller than ``batch_size``.
        transform: applied to the first tensor's batch only (augmentation); give it to
            the training loader only.
        rank: this process's rank; ``None`` reads it from ``torch.distributed``.
        world_size: the number of processes; ``None`` reads it from ``torch.distributed``.

    Shapes:
        - tensors[i]: (N, ...)
        - each yielded tuple: ``(t[idx] for t in tensors)``, each (B, ...) with
          ``B <= batch_size``
    """

    # batches gathered at once, at most, and bytes gathered at once, at most: together
    # they bound the extra memory of an epoch (overlapping windows, views of one series,
    # copy to many times the series' size when gathered)
    CHUNK_BATCHES = 64
    CHUNK_BYTES = 4 << 20

    def __init__(
        self,
        *tensors: Tensor,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        transform: Callable[[Tensor], Tensor] | None = None,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        if not tensors:
            raise ConfigError("TensorBatchLoader needs at least one tensor")
        n = tensors[0].shape[0]
        if any(t.shape[0] != n for t in tensors):
            sizes = ", ".join(str(t.shape[0]) for t in tensors)
            raise ConfigError(f"TensorBatchLoader tensors differ in length: {sizes}")
        if int(batch_size) < 1:
            raise ConfigError(f"batch_size={batch_size} must be a positive integer")
        if (rank is None) != (world_size is None):
            raise ConfigError("give both rank and world_size, or neither")
        if world_size is not None and not 0 <= int(rank) < int(world_size):
            raise ConfigError(f"rank={rank} must be in [0, world_size={world_size})")
        self.tensors = tensors
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.drop_last = drop_last
        self.transform = transform
        self._rank = rank
        self._world_size = world_size
        # named `sampler` because that is where Lightning looks for `set_epoch`; Lightning
        # then also reads `batch_sampler`, which a loader without one has as None
        self.sampler = SequentialEpochClock(range(n)) if not shuffle else EpochClock()
        self.batch_sampler = None
        # the iteration in progress (epoch, batches served) and a checkpoint's to continue
        self._epoch, self._served = 0, 0
        self._resume: tuple[int, int] | None = None

    @property
    def num_samples(self) -> int:
        """The dataset size (all ranks together)."""
        return int(self.tensors[0].shape[0])

    def _rank_world(self) -> tuple[int, int]:
        # read at iteration time: Lightning starts the process group after the
        # datamodule (and possibly this loader) was built
        if self._world_size is not None:
            return int(self._rank), int(self._world_size)
        return dist_rank_world()

    def _shard_size(self, world: int) -> int:
        """Samples per rank (the largest share when the split is uneven)."""
        n = self.num_samples
        return n // world if self.drop_last else math.ceil(n / world)

    def __len__(self) -> int:
        """Batches per epoch on this rank (the same on every rank)."""
        _, world = self._rank_world()
        size = self._shard_size(world)
        if self.drop_last:
            return size // self.batch_size
        return math.ceil(size / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Draw the next iteration's permutation for ``epoch`` (as ``DistributedSampler``)."""
        self.sampler.set_epoch(epoch)

    def state_dict(self) -> dict[str, int]:
        """``{"epoch", "batches"}``: the epoch being served and how many of its batches
        were; Lightning keeps it in checkpoints (as ``fit_loop``'s ``combined_loader``)."""
        return {"epoch": self._epoch, "batches": self._served}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue epoch ``state["epoch"]`` after its first ``state["batches"]`` batches.

        The next iteration does, if it is of that epoch (Lightning sets the epoch before
        it iterates); an epoch-end checkpoint's state then names the finished epoch and
        changes nothing.
        """
        self._resume = (int(state["epoch"]), int(state["batches"]))

    def indices(self, epoch: int) -> Tensor:
        """The sample indices this rank visits in ``epoch``, in order.

        Shapes:
            - output: (len(self) * batch_size,) or fewer when the last batch is short
        """
        n = self.num_samples
        rank, world = self._rank_world()
        # int32 halves the permutation of a large dataset (index_select takes either)
        dtype = torch.int32 if n < 2**31 else torch.int64
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed + epoch)
            order = torch.randperm(n, generator=generator, dtype=dtype)
        else:
            order = torch.arange(n, dtype=dtype)
        if world > 1:
            if self.drop_last:
                order = order[: n - n % world]
            order = order[rank::world]
            short = self._shard_size(world) - len(order)
            # the one-sample-short rank would otherwise end an epoch a batch early
            if short and len(order) % self.batch_size == 0 and len(order):
                order = torch.cat([order, order[:short]])
        if self.drop_last:
            order = order[: len(order) - len(order) % self.batch_size]
        return order

    def chunk_batches(self) -> int:
        """Batches per gather: ``CHUNK_BATCHES``, fewer where they exceed ``CHUNK_BYTES``."""
        sample_bytes = sum(t[:1].numel() * t.element_size() for t in self.tensors)
        by_bytes = self.CHUNK_BYTES // max(1, sample_bytes * self.batch_size)
        return max(1, min(self.CHUNK_BATCHES, by_bytes))

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        epoch = self.sampler.epoch
        # advance for plain loops; Lightning overwrites it through set_epoch
        self.sampler.epoch = epoch + 1
        skip = self._resume[1] if self._resume and self._resume[0] == epoch else 0
        self._resume = None
        self._epoch, self._served = epoch, skip
        order = self.indices(epoch)[skip * self.batch_size :]
        # One gather per chunk of batches, then each batch is a view of the chunk: a
        # small gather per batch wakes the CPU's worker threads every time, which cost
        # more than the copy. index_select, not t[idx]: advanced indexing of a 4-d
        # tensor can cost milliseconds on CPU, index_select microseconds.
        chunk = self.batch_size * self.chunk_batches()
        for chunk_start in range(0, len(order), chunk):
            idx = order[chunk_start : chunk_start + chunk]
            gathered = [t.index_select(0, idx) for t in self.tensors]
            for start in range(0, len(idx), self.batch_size):
                first, *rest = (t[start : start + self.batch_size] for t in gathered)
                if self.transform is not None:  # augmentation: the inputs, always first
                    first = self.transform(first)
                self._served += 1
                yield (first, *rest)
