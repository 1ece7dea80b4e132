"""Pair and triplet datamodules: balanced, seeded, a fresh draw per training epoch,
fixed val / test draws, batches that hold what their indices say."""

from __future__ import annotations

import functools

import pytest
import torch

from dlzoo.data.derived.pairs import ClassIndex, PairDataModule, TripletDataModule
from dlzoo.data.image.packaged import DigitsDataModule
from dlzoo.errors import ConfigError, DataError


@functools.cache
def ready(cls: type, seed: int = 0, **kwargs) -> PairDataModule | TripletDataModule:
    dm = cls(DigitsDataModule(seed=0), batch_size=32, seed=seed, **kwargs)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def class_counts(labels: torch.Tensor) -> torch.Tensor:
    return torch.bincount(labels, minlength=10)


def pair_labels(dm: PairDataModule, stage: str, rows: tuple[torch.Tensor, ...]):
    y = dm.labelled(stage)[1]
    return y[rows[0]], y[rows[1]]


@pytest.mark.parametrize("stage", ["train", "val", "test"])
def test_pairs_are_half_same_with_balanced_classes(stage: str) -> None:
    dm = ready(PairDataModule)
    first, second = dm.tensors[stage]
    assert len(first) == len(dm.labelled(stage)[1])  # one pair per image by default
    a, b = pair_labels(dm, stage, (first, second))
    same = a == b
    assert same.sum().item() == len(first) - len(first) // 2  # half, the odd one same
    assert (first[same] != second[same]).all()  # two different images of one class
    for counts in (class_counts(a[same]), class_counts(a[~same])):
        assert counts.max() - counts.min() <= 1  # every class equally often
    # the second class of a different-class pair is spread over the others
    assert class_counts(b[~same]).min() > 0


def test_counts_are_configurable_and_checked() -> None:
    dm = ready(PairDataModule, pairs_per_epoch=100, eval_pairs=41)
    assert [len(dm.tensors[s][0]) for s in ("train", "val", "test")] == [100, 41, 41]
    assert len(dm.train_dataloader()) == 4 and len(dm.val_dataloader()) == 1
    with pytest.raises(ConfigError, match=r"data\.pairs_per_epoch=0"):
        PairDataModule(DigitsDataModule(), pairs_per_epoch=0)
    with pytest.raises(ConfigError, match=r"data\.eval_triplets=-1"):
        TripletDataModule(DigitsDataModule(), eval_triplets=-1)


def test_batches_hold_the_indexed_images_and_flags() -> None:
    dm = ready(PairDataModule)
    x, y = dm.labelled("val")
    batch = next(iter(dm.val_dataloader()))
    first, second = (t[: len(batch["x"])] for t in dm.tensors["val"])
    assert set(batch) == {"x", "x2", "same", "label", "label2"}
    assert torch.equal(batch["x"], x[first]) and torch.equal(batch["x2"], x[second])
    assert torch.equal(batch["label"], y[first]) and torch.equal(batch["label2"], y[second])
    assert batch["same"].dtype == torch.float32
    assert torch.equal(batch["same"], (y[first] == y[second]).float())


def rows_of(loader) -> list[tuple[int, ...]]:
    """One epoch of a pair loader as (label, label2, pixel sum) rows, in order."""
    rows = []
    for batch in loader:
        sums = batch["x"].flatten(1).sum(1) + 1000 * batch["x2"].flatten(1).sum(1)
        rows += list(
            zip(batch["label"].tolist(), batch["label2"].tolist(), sums.tolist(), strict=True)
        )
    return rows


def test_the_same_seed_draws_the_same_pairs_and_another_seed_others() -> None:
    one, other = ready(PairDataModule), ready(PairDataModule, 1)
    fresh = PairDataModule(DigitsDataModule(seed=0), batch_size=32, seed=0)
    fresh.prepare_data()
    fresh.setup("fit")
    for stage in ("train", "val"):
        assert all(
            torch.equal(a, b) for a, b in zip(one.tensors[stage], fresh.tensors[stage], strict=True)
        )
        assert not torch.equal(one.tensors[stage][0], other.tensors[stage][0])
    assert rows_of(one.train_dataloader()) == rows_of(fresh.train_dataloader())


def test_every_training_epoch_draws_new_pairs_and_val_keeps_its_own() -> None:
    dm = ready(PairDataModule)
    train, val = dm.train_dataloader(), dm.val_dataloader()
    epoch0, epoch1 = rows_of(train), rows_of(train)  # a plain loop advances the epoch
    assert len(epoch0) == len(epoch1) and set(epoch0) != set(epoch1)
    train.set_epoch(0)  # what Lightning calls at every epoch start (and on resume)
    assert rows_of(train) == epoch0
    assert rows_of(val) == rows_of(val)
    same = [a == b for a, b, _ in epoch1]
    assert sum(same) == len(same) - len(same) // 2  # every epoch balanced


@pytest.mark.parametrize("stage", ["train", "test"])
def test_triplets_have_a_positive_of_the_anchor_class_and_a_negative_of_another(stage) -> None:
    dm = ready(TripletDataModule)
    anchor, positive, negative = dm.tensors[stage]
    y = dm.labelled(stage)[1]
    assert (y[anchor] == y[positive]).all() and (anchor != positive).all()
    assert (y[anchor] != y[negative]).all()
    counts = class_counts(y[anchor])
    assert counts.max() - counts.min() <= 1
    assert class_counts(y[negative]).min() > 0


def test_triplet_batches_and_fresh_epochs() -> None:
    dm = ready(TripletDataModule)
    loader = dm.train_dataloader()
    first = next(iter(loader))
    assert set(first) == {"x", "positive", "negative", "label", "negative_label"}
    assert first["x"].shape == first["positive"].shape == first["negative"].shape
    assert (first["label"] != first["negative_label"]).all()
    second = next(iter(loader))  # the next epoch
    assert not torch.equal(first["x"], second["x"])


def test_the_wrapper_keeps_the_base_contract_without_num_classes() -> None:
    dm = ready(PairDataModule)
    assert dm.net_kwargs() == {"in_channels": 1, "image_size": (8, 8), "in_features": 64}
    assert dm.name == "digits" and dm.num_classes == 10


def test_a_class_with_one_image_cannot_make_same_class_pairs() -> None:
    with pytest.raises(DataError, match=r"class 3 has 1 sample.*train_per_class"):
        ClassIndex(torch.tensor([0, 0, 3, 1, 1]), "train")
    with pytest.raises(DataError, match="1 class"):
        ClassIndex(torch.tensor([2, 2, 2]), "val")
