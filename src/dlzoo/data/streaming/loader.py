"""Batches streamed from tar shards: bounded memory, shuffled, sharded, resumable.

One epoch of a split, for ``rank`` of ``world`` processes and ``workers`` DataLoader
workers (0: the main process reads):

1. **Shard order**: the shards in the index's order (val / test), or a permutation drawn
   from ``(seed, epoch)`` (training): every rank draws the same one.
2. **Ranks**: the shards in that order are one stream of N samples; rank ``r`` takes
   positions ``r * S .. (r + 1) * S - 1`` of it. Training: ``S = N // world``, so the
   last ``N mod world`` samples of the epoch's stream are left out (fewer than
   ``world``, and other ones each epoch, as the shard order changes); val / test:
   ``S = ceil(N / world)``, the stream wrapping around to its start, so a few samples
   are seen twice (as with Lightning's ``DistributedSampler``). Every rank gets exactly
   S samples and yields the same number of batches (DDP waits for each rank at each
   step); with one process, every sample is seen exactly once.
3. **Workers**: a rank's range is cut into ``workers`` consecutive parts (sizes within 1);
   each worker reads only the shards its part covers, skipping into a shard without
   decoding where its part starts inside one.
4. **Shuffle** (training): each worker permutes consecutive blocks of
   ``shuffle_buffer`` samples (a seeded permutation per block). Together with the
   shard order this is webdataset's shard-then-buffer shuffle, made deterministic:
   memory holds one block per worker, however large the dataset.
5. **Batches**: each worker batches its own samples (the last batch short unless
   ``drop_last``); the DataLoader takes one batch of each worker in turn.

**Resuming mid-epoch**: the order is a function of (seed, epoch, world, workers), so
``state_dict()`` is ``{"epoch", "batches"}`` (batches yielded this epoch). After
``load_state_dict``, the iteration of that epoch works out how many batches each worker
had given (the DataLoader's round-robin order), skips their shards and samples
without decoding, and starts in the middle of the block it was in: exactly the batches
that were not yet yielded. Lightning saves this state in every checkpoint
(``fit_loop.state_dict()["combined_loader"]``) and restores it on resume.

Each shard that is read whole is checked against its SHA-256 in the index as it
streams (a corrupt shard fails with a message naming it).
"""

from __future__ import annotations

import io
import logging
import math
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from dlzoo.data.loaders import EpochClock, SequentialEpochClock, dist_rank_world
from dlzoo.data.streaming.index import (
    HashingReader,
    corrupt_shard,
    open_url,
    read_problem,
    shard_url,
)
from dlzoo.errors import ConfigError, DataError

__all__ = ["FieldScaler", "Segment", "StreamingLoader", "iter_samples", "worker_skips"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Segment:
    """Samples ``start .. stop - 1`` of shard number ``shard`` of a split."""

    shard: int
    start: int
    stop: int


def _segments(counts: list[int], order: list[int], start: int, stop: int) -> list[Segment]:
    """Positions ``start .. stop - 1`` of the stream of shards ``order`` as segments."""
    out, position = [], 0
    for shard in order:
        first, last = max(start, position), min(stop, position + counts[shard])
        if first < last:
            out.append(Segment(shard, first - position, last - position))
        position += counts[shard]
    return out


def _wrapped(counts: list[int], order: list[int], start: int, stop: int, n: int) -> list[Segment]:
    """Positions ``start .. stop - 1`` of the stream repeated end to end (val / test
    ranks past its end wrap around to its start)."""
    out = []
    while start < stop:
        base = start - start % n
        end = min(stop, base + n)
        out += _segments(counts, order, start - base, end - base)
        start = end
    return out


def _cut(segments: list[Segment], skip: int) -> list[Segment]:
    """``segments`` without their first ``skip`` samples."""
    out = []
    for seg in segments:
        size = seg.stop - seg.start
        if skip >= size:
            skip -= size
            continue
        out.append(Segment(seg.shard, seg.start + skip, seg.stop))
        skip = 0
    return out


def worker_skips(batches: list[int], consumed: int) -> tuple[list[int], int]:
    """Where the first ``consumed`` batches of an epoch leave each worker.

    A DataLoader over an iterable dataset takes one batch from each worker in turn,
    passing over a worker once it has none left.

    Args:
        batches: each worker's batches this epoch.
        consumed: batches yielded so far.

    Returns:
        Each worker's batches among them, and the worker whose batch comes next (a
        resumed DataLoader starts its turns there; 0 when none is left).
    """
    skips = [0] * len(batches)
    for round_ in range(max(batches, default=0)):
        for worker, count in enumerate(batches):
            if round_ < count:
                if not consumed:
                    return skips, worker
                skips[worker] += 1
                consumed -= 1
    return skips, 0


def _decode(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def iter_samples(
    root: str, shards: list[dict[str, Any]], segment: Segment, fields: int, decode: int
) -> Iterator[tuple[np.ndarray, ...]]:
    """The samples of one segment: their first ``decode`` of ``fields`` fields, decoded.

    Samples before ``segment.start`` are passed over undecoded. A shard read to its end
    is checked against its SHA-256.

    Raises:
        DataError: the shard cannot be read, holds other samples than the index says, or
            its checksum differs.
    """
    from webdataset.tariterators import tar_file_iterator

    shard = shards[segment.shard]
    url = shard_url(root, shard["name"])
    whole = segment.stop == shard["samples"]
    try:
        with open_url(url, "rb") as raw:
            stream = HashingReader(raw)
            index, parts = 0, []
            for member in tar_file_iterator(stream):
                if index >= segment.stop:
                    break
                name = member["fname"].split(".", 1)[1]
                if index >= segment.start and len(parts) < decode and name == f"{len(parts)}.npy":
                    parts.append(_decode(member["data"]))
                if name == f"{fields - 1}.npy":  # the sample's last member
                    if index >= segment.start:
                        yield tuple(parts)
                    index, parts = index + 1, []
            if index < segment.stop:
                raise DataError(
                    f"shard {url} holds {index} samples, the index {shard['samples']}: it is "
                    "truncated or from another write; write the shards again"
                )
            if whole and stream.hexdigest_to_end() != shard["sha256"]:
                raise corrupt_shard(url)
    except OSError as exc:  # a pipe: command that failed, a server that went away
        raise DataError(f"shard {url} cannot be read ({read_problem(exc)})") from None
    except (tarfile.TarError, zlib.error, EOFError, ValueError, IndexError) as exc:
        raise DataError(
            f"shard {url} cannot be read ({type(exc).__name__}: {exc}): it is corrupt or "
            "truncated; write the shards again with dlzoo-shard ... overwrite=true"
        ) from None


class FieldScaler:
    """The fitted input scaling, applied to a batch's fields: ``(f - offset) / scale``.

    Args:
        scalings: field number -> (offset, scale), each shaped to broadcast against
            that field's batch (e.g. (1, C, 1, 1) for images).
    """

    def __init__(self, scalings: dict[int, tuple[Tensor, Tensor]]) -> None:
        self.scalings = scalings

    def __call__(self, batch: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        out = list(batch)
        for i, (offset, scale) in self.scalings.items():
            out[i] = (out[i] - offset) / scale
        return tuple(out)


@dataclass
class _Plan:
    """One epoch of one rank: each worker's segments and batch count."""

    rank: int
    segments: list[list[Segment]]
    samples: list[int]
    batches: list[int]


class _ShardStream(IterableDataset):
    """The batches of one epoch for the worker that iterates it (see the module doc)."""

    def __init__(
        self, loader: StreamingLoader, epoch: int, plan: _Plan, skips: list[int], turn: int
    ) -> None:
        self.loader, self.epoch, self.plan, self.skips, self.turn = loader, epoch, plan, skips, turn

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        info = get_worker_info()
        # a resumed epoch's DataLoader starts its turns at worker 0: the workers play
        # the parts rotated so that the part whose batch came next goes first
        worker = 0 if info is None else (info.id + self.turn) % info.num_workers
        yield from self.loader._worker_batches(self.epoch, self.plan, worker, self.skips[worker])


class StreamingLoader:
    """Batches of one split of a sharded dataset; see the module doc.

    Lightning accepts it as a dataloader: it has ``__len__`` (from the index's counts),
    a ``sampler.set_epoch`` that Lightning calls at every epoch start, and
    ``state_dict`` / ``load_state_dict``, which Lightning keeps in checkpoints.

    Args:
        root: the shards' location (see :func:`~dlzoo.data.streaming.index.shard_url`).
        index: the dataset's index.
        stage: ``train``, ``val`` or ``test``.
        batch_size: samples per batch (per rank).
        shuffle: shuffle shard order and blocks (training), else index order.
        seed: seeds the shuffling; the same on every rank.
        shuffle_buffer: samples per shuffled block, per worker (the memory bound).
        drop_last: drop each worker's last short batch; ``None``: only where it would
            hold a single sample (BatchNorm fails on one in training).
        num_workers: DataLoader worker processes (0: read in this process).
        transform: applied to each batch (the fitted scaling), in the worker.
        rank, world_size: this process's place; ``None`` reads ``torch.distributed``.

    Shapes:
        - each batch: the index's first ``batch_fields`` fields, each (B, *shape)
    """

    def __init__(
        self,
        root: str,
        index: dict[str, Any],
        stage: str,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        shuffle_buffer: int = 1024,
        drop_last: bool | None = False,
        num_workers: int = 0,
        transform: FieldScaler | None = None,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        if int(shuffle_buffer) < 1 or int(batch_size) < 1 or int(num_workers) < 0:
            raise ConfigError(
                f"batch_size={batch_size} and shuffle_buffer={shuffle_buffer} must be >= 1, "
                f"num_workers={num_workers} >= 0"
            )
        self.root, self.stage = str(root), stage
        self.shards = index["splits"][stage]["shards"]
        self.counts = [int(s["samples"]) for s in self.shards]
        self.fields, self.batch_fields = len(index["fields"]), int(index["batch_fields"])
        self.batch_size, self.shuffle, self.seed = int(batch_size), bool(shuffle), int(seed)
        self.shuffle_buffer, self.drop_last = int(shuffle_buffer), drop_last
        self.num_workers, self.transform = int(num_workers), transform
        self._place = (rank, world_size)
        n = sum(self.counts)
        self.sampler = EpochClock() if shuffle else SequentialEpochClock(range(n))
        self.batch_sampler = None  # Lightning reads it beside `sampler`
        self._resume: tuple[int, int] | None = None
        self._epoch, self._consumed = 0, 0

    @property
    def num_samples(self) -> int:
        """The split's size (all ranks together)."""
        return sum(self.counts)

    def _rank_world(self) -> tuple[int, int]:
        rank, world = self._place
        return (int(rank), int(world)) if world is not None else dist_rank_world()

    def plan(self, epoch: int) -> _Plan:
        """This rank's workers' segments and batch counts in ``epoch``."""
        rank, world = self._rank_world()
        order = list(range(len(self.counts)))
        if self.shuffle:
            order = [int(i) for i in np.random.default_rng([self.seed, epoch]).permutation(order)]
        n = self.num_samples
        share = n // world if self.shuffle else math.ceil(n / world)
        workers = max(1, self.num_workers)
        sizes = [share // workers + (w < share % workers) for w in range(workers)]
        segments, start = [], rank * share
        for size in sizes:
            segments.append(_wrapped(self.counts, order, start, start + size, n))
            start += size
        drop = self.drop_last
        if drop is None:
            drop = any(size % self.batch_size == 1 for size in sizes)
        rounding = math.floor if drop else math.ceil
        batches = [rounding(s / self.batch_size) for s in sizes]
        return _Plan(rank, segments, sizes, batches)

    def __len__(self) -> int:
        """Batches per epoch on this rank (the same on every rank)."""
        return sum(self.plan(0).batches)

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next iteration draws its order for (as ``DistributedSampler``)."""
        self.sampler.set_epoch(epoch)

    def state_dict(self) -> dict[str, Any]:
        """``{"epoch", "batches", "world", "workers"}``: where this epoch's iteration is."""
        _, world = self._rank_world()
        return {
            "epoch": self._epoch,
            "batches": self._consumed,
            "world": world,
            "workers": self.num_workers,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue epoch ``state["epoch"]`` after its first ``state["batches"]`` batches.

        The next iteration does, if it is of that epoch (Lightning sets the epoch first);
        a state of another world size or worker count cannot be continued exactly, and
        that epoch starts over (with a warning).
        """
        _, world = self._rank_world()
        if state.get("world") != world or state.get("workers") != self.num_workers:
            log.warning(
                "the saved %s loader state is for %s processes x %s workers, this run has "
                "%s x %s: its epoch starts over", self.stage, state.get("world"),
                state.get("workers"), world, self.num_workers,
            )  # fmt: skip
            return
        self._resume = (int(state["epoch"]), int(state["batches"]))

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        epoch = self.sampler.epoch
        self.sampler.epoch = epoch + 1  # for plain loops; Lightning sets it each epoch
        consumed = self._resume[1] if self._resume and self._resume[0] == epoch else 0
        self._resume = None
        self._epoch, self._consumed = epoch, consumed
        plan = self.plan(epoch)
        stream = _ShardStream(self, epoch, plan, *worker_skips(plan.batches, consumed))
        batches: Any = stream
        if self.num_workers:
            batches = DataLoader(stream, batch_size=None, num_workers=self.num_workers)
        for batch in batches:
            self._consumed += 1
            yield tuple(batch)  # a DataLoader hands a worker's tuple over as a list

    # ------------------------------------------------------------------ in a worker

    def _worker_samples(
        self, segments: list[Segment], skip: int, epoch: int, rank: int, worker: int
    ) -> Iterator[tuple[np.ndarray, ...]]:
        """The worker's samples in order, shuffled per block, the first ``skip`` left out."""
        block = self.shuffle_buffer if self.shuffle else 1
        first_block, offset = divmod(skip, block)
        samples = (
            sample
            for seg in _cut(segments, first_block * block)
            for sample in iter_samples(self.root, self.shards, seg, self.fields, self.batch_fields)
        )
        if not self.shuffle:
            yield from samples
            return
        number = first_block
        while True:
            buffer = [s for _, s in zip(range(block), samples, strict=False)]
            if not buffer:
                return
            rng = np.random.default_rng([self.seed, epoch, rank, worker, number])
            for i in rng.permutation(len(buffer))[offset:]:
                yield buffer[i]
            number, offset = number + 1, 0

    def _worker_batches(
        self, epoch: int, plan: _Plan, worker: int, skip_batches: int
    ) -> Iterator[tuple[Tensor, ...]]:
        """The worker's batches of the epoch, after its first ``skip_batches``."""
        left = plan.batches[worker] - skip_batches
        samples = self._worker_samples(
            plan.segments[worker], skip_batches * self.batch_size, epoch, plan.rank, worker
        )
        for _ in range(left):
            chunk = [s for _, s in zip(range(self.batch_size), samples, strict=False)]
            if not chunk:
                return
            batch = tuple(torch.from_numpy(np.stack(f)) for f in zip(*chunk, strict=True))
            yield self.transform(batch) if self.transform is not None else batch
