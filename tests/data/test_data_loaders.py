"""TensorBatchLoader: whole-batch slices, one permutation per epoch, rank shards, Lightning."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch import nn

from dlzoo.data.loaders import TensorBatchLoader
from dlzoo.errors import ConfigError


def epoch_ids(loader: TensorBatchLoader) -> torch.Tensor:
    """The ids (second tensor) a loader yields in one epoch, in order."""
    return torch.cat([batch[1] for batch in loader])


def make_loader(n: int = 103, **kwargs) -> TensorBatchLoader:
    x = torch.arange(n, dtype=torch.float32)[:, None].repeat(1, 3)
    kwargs.setdefault("batch_size", 10)
    return TensorBatchLoader(x, torch.arange(n), **kwargs)


def test_batches_are_slices_of_the_same_samples() -> None:
    loader = make_loader(shuffle=True, seed=0)
    batches = list(loader)
    assert len(batches) == len(loader) == 11
    assert [len(b[0]) for b in batches] == [10] * 10 + [3]
    for x, ids in batches:
        assert isinstance(x, torch.Tensor) and x.shape[1:] == (3,)
        torch.testing.assert_close(x[:, 0], ids.float())  # inputs and labels stay paired


def test_every_sample_once_per_epoch_new_order_each_epoch() -> None:
    loader = make_loader(shuffle=True, seed=0)
    first, second = epoch_ids(loader), epoch_ids(loader)
    assert sorted(first.tolist()) == sorted(second.tolist()) == list(range(103))
    assert not torch.equal(first, second)


@pytest.mark.parametrize("chunk_batches", [1, 3, 64])
def test_chunked_gathers_serve_the_permutation_in_order(monkeypatch, chunk_batches) -> None:
    monkeypatch.setattr(TensorBatchLoader, "CHUNK_BATCHES", chunk_batches)
    loader = make_loader(shuffle=True, seed=3)
    batches = list(loader)
    assert [len(b[1]) for b in batches] == [10] * 10 + [3]
    # the batches follow the epoch's permutation across chunk boundaries
    torch.testing.assert_close(torch.cat([b[1] for b in batches]), loader.indices(0).long())
    for x, ids in batches:
        torch.testing.assert_close(x[:, 0], ids.float())


def test_orders_reproducible_from_the_seed() -> None:
    a, b, c = (make_loader(shuffle=True, seed=s) for s in (5, 5, 6))
    for _ in range(3):
        ids_a = epoch_ids(a)
        assert torch.equal(ids_a, epoch_ids(b))
        assert not torch.equal(ids_a, epoch_ids(c))


def test_set_epoch_picks_the_permutation() -> None:
    loader = make_loader(shuffle=True, seed=1)
    epochs = [epoch_ids(loader) for _ in range(3)]
    loader.set_epoch(1)
    assert torch.equal(epoch_ids(loader), epochs[1])
    assert torch.equal(loader.indices(2), epochs[2])


def test_a_saved_place_in_an_epoch_continues_with_the_batches_not_yet_served() -> None:
    """A checkpoint written mid-epoch (a run stopped by a signal) holds the loader's
    state; the resumed run's loader serves the rest of that epoch, then whole ones."""
    first = make_loader(shuffle=True, seed=3)
    first.set_epoch(2)
    served = iter(first)
    seen = [next(served)[1] for _ in range(4)]
    state = first.state_dict()
    assert state == {"epoch": 2, "batches": 4}
    resumed = make_loader(shuffle=True, seed=3)
    resumed.load_state_dict(state)
    resumed.set_epoch(2)
    whole = make_loader(shuffle=True, seed=3)
    whole.set_epoch(2)
    assert torch.equal(torch.cat([*seen, epoch_ids(resumed)]), epoch_ids(whole))
    assert resumed.state_dict() == {"epoch": 2, "batches": 11}
    resumed.set_epoch(3)  # the next epoch is whole
    whole.set_epoch(3)
    assert torch.equal(epoch_ids(resumed), epoch_ids(whole))


def test_an_epoch_end_state_changes_nothing_in_the_next_epoch() -> None:
    resumed = make_loader(shuffle=True, seed=3)
    resumed.load_state_dict({"epoch": 2, "batches": 11})
    resumed.set_epoch(3)
    whole = make_loader(shuffle=True, seed=3)
    whole.set_epoch(3)
    assert torch.equal(epoch_ids(resumed), epoch_ids(whole))


def test_no_shuffle_keeps_the_order_and_drop_last_drops() -> None:
    assert torch.equal(epoch_ids(make_loader()), torch.arange(103))
    loader = make_loader(shuffle=True, drop_last=True)
    assert len(loader) == 10 and all(len(b[0]) == 10 for b in loader)


def test_transform_applies_to_the_input_only() -> None:
    loader = make_loader(transform=lambda x: -x)
    for x, ids in loader:
        torch.testing.assert_close(x[:, 0], -ids.float())


@pytest.mark.parametrize(("n", "world", "batch_size"), [(103, 4, 10), (10, 3, 3), (64, 2, 8)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_rank_shards_disjoint_and_covering(n, world, batch_size, drop_last) -> None:
    shards = []
    for rank in range(world):
        loader = make_loader(
            n, batch_size=batch_size, shuffle=True, seed=3, drop_last=drop_last,
            rank=rank, world_size=world,
        )  # fmt: skip
        shards.append(set(epoch_ids(loader).tolist()))
        assert len(list(loader)) == len(loader)
    lengths = {len(make_loader(n, batch_size=batch_size, drop_last=drop_last, rank=r,
                               world_size=world)) for r in range(world)}  # fmt: skip
    assert len(lengths) == 1  # DDP needs the same number of steps on every rank
    for i in range(world):
        for j in range(i + 1, world):
            assert not shards[i] & shards[j]
    union = set().union(*shards)
    if drop_last:
        assert len(union) == world * len(loader) * batch_size
    else:
        assert union == set(range(n))


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="differ in length"):
        TensorBatchLoader(torch.zeros(3), torch.zeros(4), batch_size=2)
    with pytest.raises(ConfigError, match="batch_size"):
        TensorBatchLoader(torch.zeros(3), batch_size=0)
    with pytest.raises(ConfigError, match="rank"):
        TensorBatchLoader(torch.zeros(3), batch_size=1, rank=2, world_size=2)


class Recorder(L.LightningModule):
    """A linear model that records which sample ids each training epoch saw."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(3, 2)
        self.seen: dict[int, list[torch.Tensor]] = {}
        self.val_batches = 0

    def training_step(self, batch, batch_idx):
        x, ids = batch
        self.seen.setdefault(self.current_epoch, []).append(ids)
        return self.net(x).pow(2).mean()

    def validation_step(self, batch, batch_idx):
        self.val_batches += 1

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def test_works_as_lightning_dataloaders() -> None:
    train = make_loader(shuffle=True, seed=2)
    val = make_loader(40)
    model = Recorder()
    trainer = L.Trainer(
        max_epochs=3, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
    )  # fmt: skip
    trainer.fit(model, train_dataloaders=train, val_dataloaders=val)
    assert sorted(model.seen) == [0, 1, 2]
    reference = make_loader(shuffle=True, seed=2)
    for epoch, batches in model.seen.items():
        # Lightning drives the epoch through loader.sampler.set_epoch
        assert torch.equal(torch.cat(batches), reference.indices(epoch))
    assert model.val_batches == 3 * len(val)
