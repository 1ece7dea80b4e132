"""Pairs and triplets of a labelled image datamodule's samples, for siamese nets.

:class:`PairDataModule` serves pairs of images with a flag saying whether they show
the same class; :class:`TripletDataModule` serves (anchor, positive, negative)
triplets. Both draw from the splits of the wrapped datamodule (``base``, e.g. ``mnist``)
and never mix splits, so the test pairs hold test images only.

The draws are seeded and balanced:

- **pairs**: half same-class, half different-class (an odd count gives the extra one
  to the same-class half); the same-class pairs' class and the different-class pairs'
  first class go round every class of the split equally often (at most one apart), the
  second class of a different-class pair is uniform over the others; the two images of
  a same-class pair are two different samples;
- **triplets**: the anchors' classes go round every class equally often; the positive
  is another sample of the anchor's class, the negative's class uniform over the
  others.

Training draws afresh every epoch (the epoch clock that Lightning sets through the
loader's ``set_epoch``, as for shuffling: a resumed run draws what an uninterrupted one
would); validation and test draw once, so every epoch and every run with the same seed
scores the same pairs. Each split and epoch has its own random stream
(``numpy.random.SeedSequence([seed, split, epoch])``).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlzoo.data.base import STAGES, DlzooDataModule
from dlzoo.data.derived.wrapped import WrappedDataModule
from dlzoo.data.loaders import TensorBatchLoader
from dlzoo.data.options import positive_int
from dlzoo.errors import DataError

__all__ = ["ClassIndex", "DrawnBatchLoader", "PairDataModule", "TripletDataModule"]


def generator_for(seed: int, stage: str, epoch: int) -> torch.Generator:
    """A torch generator of its own for one split's draw in one epoch."""
    entropy = np.random.SeedSequence([int(seed), STAGES.index(stage), int(epoch)])
    return torch.Generator().manual_seed(int(entropy.generate_state(1, np.uint64)[0] >> 1))


class ClassIndex:
    """Where each class's samples are in a split's labels, to draw samples by class.

    Classes are numbered by position ``0 .. K-1`` among the labels present in the split
    (a class subset of the data has fewer than the data's classes).

    Args:
        y: the split's labels.
        stage: the split's name, for messages.
        min_per_class: every class needs at least this many samples (2 to pair two
            different samples of one class).

    Raises:
        DataError: fewer than 2 classes, or a class with too few samples.

    Shapes:
        y (N,) int64
    """

    def __init__(self, y: Tensor, stage: str, min_per_class: int = 2) -> None:
        y = y.cpu()
        self.labels, self.counts = torch.unique(y, return_counts=True)
        if len(self.labels) < 2:
            raise DataError(
                f"the {stage} split has {len(self.labels)} class: pairs and triplets need "
                "2 classes or more (data.base.classes)"
            )
        if int(self.counts.min()) < min_per_class:
            label = int(self.labels[self.counts.argmin()])
            raise DataError(
                f"class {label} has {int(self.counts.min())} sample(s) in the {stage} split; "
                f"same-class pairs need {min_per_class}: raise data.base.train_per_class "
                "or the split's fraction"
            )
        self.order = torch.argsort(y, stable=True)  # samples grouped by class
        self.starts = torch.cumsum(self.counts, 0) - self.counts

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def round_robin(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` class positions, every class equally often (at most one apart), shuffled.

        Shapes:
            output (n,) int64 in [0, K)
        """
        classes = torch.arange(n) % self.num_classes
        return classes[torch.randperm(n, generator=generator)]

    def others(self, classes: Tensor, generator: torch.Generator) -> Tensor:
        """Per class position, another class position, uniform over the other classes.

        Shapes:
            classes (n,) -> (n,)
        """
        shift = torch.randint(1, self.num_classes, classes.shape, generator=generator)
        return (classes + shift) % self.num_classes

    def samples(self, classes: Tensor, generator: torch.Generator) -> Tensor:
        """A uniform sample index of each given class position.

        Shapes:
            classes (n,) -> (n,) indices into the split
        """
        ranks = (torch.rand(classes.shape, generator=generator) * self.counts[classes]).long()
        return self.order[self.starts[classes] + ranks]

    def two_samples(self, classes: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Two different sample indices of each given class position.

        Shapes:
            classes (n,) -> two (n,) indices into the split
        """
        counts = self.counts[classes]
        first = (torch.rand(classes.shape, generator=generator) * counts).long()
        # a shift in 1 .. count-1 never lands on the first sample again
        shift = 1 + (torch.rand(classes.shape, generator=generator) * (counts - 1)).long()
        second = (first + shift) % counts
        starts = self.starts[classes]
        return self.order[starts + first], self.order[starts + second]


class DrawnBatchLoader(TensorBatchLoader):
    """Batches of samples that a seeded draw picks afresh every epoch.

    ``draw(epoch)`` returns index tensors of a fixed length (one row per pair or
    triplet); the loader serves them as a :class:`TensorBatchLoader` does (slices of
    one gather, shuffled by ``seed + epoch`` when ``shuffle``, sharded across ranks),
    and ``make_batch`` turns each batch of indices into the batch a task sees.

    Args:
        draw: epoch -> index tensors (each (n,)); a fixed draw ignores the epoch.
        make_batch: a batch of index tensors -> the batch (a dict of tensors).
        **kwargs: :class:`TensorBatchLoader`'s (``batch_size``, ``shuffle``, ...).
    """

    def __init__(
        self,
        draw: Callable[[int], tuple[Tensor, ...]],
        make_batch: Callable[[tuple[Tensor, ...]], dict[str, Tensor]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*draw(0), **kwargs)
        self.draw = draw
        self.make_batch = make_batch

    def __iter__(self) -> Iterator[dict[str, Tensor]]:  # type: ignore[override]
        # the epoch TensorBatchLoader is about to serve (it advances the clock itself)
        self.tensors = self.draw(self.sampler.epoch)
        for indices in super().__iter__():
            yield self.make_batch(indices)


class SampledDataModule(WrappedDataModule):
    """Base of the pair and triplet datamodules: per split, a class index, a drawn set
    of index rows, and the loaders over them.

    A subclass implements :meth:`draw` (index rows into a split) and
    :meth:`make_batch` (those rows to a batch), and names its counts.

    Args:
        base: the wrapped labelled image datamodule.
        per_epoch: rows drawn per training epoch; ``None``: the training split's size.
        per_eval_split: rows drawn once per val / test split; ``None``: its size.
        batch_size, eval_batch_size, seed: see :class:`WrappedDataModule`.

    Attributes:
        tensors: per split, the index rows into the base's split (training: the first
            epoch's draw).
    """

    # the subclass's names of (per_epoch, per_eval_split), for messages
    count_keys: tuple[str, str] = ("per_epoch", "per_eval_split")

    def __init__(
        self,
        base: DlzooDataModule,
        per_epoch: int | None,
        per_eval_split: int | None,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
    ) -> None:
        super().__init__(base, batch_size, eval_batch_size, seed)
        train_key, eval_key = self.count_keys
        self.per_epoch = None if per_epoch is None else positive_int(train_key, per_epoch)
        self.per_eval_split = (
            None if per_eval_split is None else positive_int(eval_key, per_eval_split)
        )
        self.index: dict[str, ClassIndex] = {}

    @abstractmethod
    def draw(self, stage: str, count: int, generator: torch.Generator) -> tuple[Tensor, ...]:
        """``count`` index rows into the split ``stage``, drawn with ``generator``."""

    @abstractmethod
    def make_batch(self, stage: str, indices: tuple[Tensor, ...]) -> dict[str, Tensor]:
        """The batch of one slice of index rows into the split ``stage``."""

    def _count(self, stage: str) -> int:
        count = self.per_epoch if stage == "train" else self.per_eval_split
        return count or len(self.labelled(stage)[1])

    def _draw_epoch(self, stage: str, epoch: int) -> tuple[Tensor, ...]:
        generator = generator_for(self.seed, stage, epoch)
        return self.draw(stage, self._count(stage), generator)

    def _wrap(self) -> None:
        for stage in STAGES:
            self.index[stage] = ClassIndex(self.labelled(stage)[1], stage)
            self.tensors[stage] = self._draw_epoch(stage, 0)

    def _gather(self, stage: str, indices: Tensor, train: bool) -> tuple[Tensor, Tensor]:
        """Images and labels of one batch of sample indices (training: augmented)."""
        x, y = self.labelled(stage)
        images = x.index_select(0, indices)
        # the base's augmentation (if any), on every image of a training pair / triplet
        make_transform = getattr(self.base, "train_transform", None)
        transform = make_transform() if train and make_transform else None
        return (images if transform is None else transform(images)), y.index_select(0, indices)

    def _loader(self, stage: str) -> DrawnBatchLoader:
        if not self.tensors:
            raise RuntimeError(f"{type(self).__name__}: call setup() before the loaders")
        train = stage == "train"
        fixed = self.tensors[stage]

        def draw(epoch: int) -> tuple[Tensor, ...]:
            return self._draw_epoch(stage, epoch) if train else fixed

        count = len(fixed[0])
        return DrawnBatchLoader(
            draw,
            lambda indices: self.make_batch(stage, indices),
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            seed=self.seed,
            # a last batch of one row makes BatchNorm fail in training: drop only that
            drop_last=train and count % self.batch_size == 1,
        )


class PairDataModule(SampledDataModule):
    """Balanced, seeded pairs of a labelled image datamodule's samples (module doc).

    Args:
        base: the wrapped labelled image datamodule (``data.base``).
        batch_size: pairs per training batch.
        eval_batch_size: pairs per val / test batch; ``None`` is 4 x ``batch_size``.
        seed: seeds the draws; ``None`` means 0.
        pairs_per_epoch: pairs drawn per training epoch; ``None``: one per training
            sample.
        eval_pairs: pairs drawn once for each of val and test; ``None``: one per sample
            of the split.

    Shapes:
        a batch: ``{"x": (B, C, H, W), "x2": (B, C, H, W), "same": (B,) float32 (1.0 for
        the same class), "label": (B,) int64, "label2": (B,) int64}``; the labels are
        for evaluation and mining only.
    """

    count_keys = ("pairs_per_epoch", "eval_pairs")

    def __init__(
        self,
        base: DlzooDataModule,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        pairs_per_epoch: int | None = None,
        eval_pairs: int | None = None,
    ) -> None:
        super().__init__(base, pairs_per_epoch, eval_pairs, batch_size, eval_batch_size, seed)

    def draw(self, stage: str, count: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``(first, second)`` sample indices of ``count`` pairs, shuffled together.

        Shapes:
            two (count,) int64 indices into the split
        """
        index = self.index[stage]
        positives = count - count // 2
        first_pos, second_pos = index.two_samples(
            index.round_robin(positives, generator), generator
        )
        classes = index.round_robin(count - positives, generator)
        first_neg = index.samples(classes, generator)
        second_neg = index.samples(index.others(classes, generator), generator)
        order = torch.randperm(count, generator=generator)
        first = torch.cat([first_pos, first_neg])[order]
        second = torch.cat([second_pos, second_neg])[order]
        return first, second

    def make_batch(self, stage: str, indices: tuple[Tensor, ...]) -> dict[str, Tensor]:
        first, second = indices
        x, label = self._gather(stage, first, stage == "train")
        x2, label2 = self._gather(stage, second, stage == "train")
        same = (label == label2).float()
        return {"x": x, "x2": x2, "same": same, "label": label, "label2": label2}


class TripletDataModule(SampledDataModule):
    """Balanced, seeded (anchor, positive, negative) triplets (module doc).

    Args:
        base: the wrapped labelled image datamodule (``data.base``).
        batch_size: triplets per training batch.
        eval_batch_size: triplets per val / test batch; ``None`` is 4 x ``batch_size``.
        seed: seeds the draws; ``None`` means 0.
        triplets_per_epoch: triplets drawn per training epoch; ``None``: one per
            training sample.
        eval_triplets: triplets drawn once for each of val and test; ``None``: one per
            sample of the split.

    Shapes:
        a batch: ``{"x": anchors (B, C, H, W), "positive": (B, C, H, W), "negative":
        (B, C, H, W), "label": (B,) int64 (the anchor's and the positive's class),
        "negative_label": (B,) int64}``.
    """

    count_keys = ("triplets_per_epoch", "eval_triplets")

    def __init__(
        self,
        base: DlzooDataModule,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        triplets_per_epoch: int | None = None,
        eval_triplets: int | None = None,
    ) -> None:
        super().__init__(base, triplets_per_epoch, eval_triplets, batch_size, eval_batch_size, seed)

    def draw(self, stage: str, count: int, generator: torch.Generator) -> tuple[Tensor, ...]:
        """``(anchor, positive, negative)`` sample indices of ``count`` triplets.

        Shapes:
            three (count,) int64 indices into the split
        """
        index = self.index[stage]
        classes = index.round_robin(count, generator)
        anchor, positive = index.two_samples(classes, generator)
        negative = index.samples(index.others(classes, generator), generator)
        return anchor, positive, negative

    def make_batch(self, stage: str, indices: tuple[Tensor, ...]) -> dict[str, Tensor]:
        train = stage == "train"
        anchor, label = self._gather(stage, indices[0], train)
        positive, _ = self._gather(stage, indices[1], train)
        negative, negative_label = self._gather(stage, indices[2], train)
        return {
            "x": anchor,
            "positive": positive,
            "negative": negative,
            "label": label,
            "negative_label": negative_label,
        }
