"""The streaming loader: every sample once per epoch (workers, ranks), seeded orders,
mid-epoch resume (by hand and through Lightning's fit loop), corrupt shards."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from dlzoo.data.streaming.index import FORMAT, load_index, verify_shards
from dlzoo.data.streaming.loader import StreamingLoader, worker_skips
from dlzoo.data.streaming.write import ShardSink
from dlzoo.errors import DataError

N, PER_SHARD = 103, 10


def write_counting(root: Path, n: int = N, per_shard: int = PER_SHARD) -> dict:
    """Shards of ``n`` samples ``(x, y)``: x = [i, i] float32, y = i, per split; the index."""
    import json

    splits = {}
    for stage in ("train", "val", "test"):
        sink = ShardSink(str(root), stage, per_shard, compress=True)
        for i in range(n):
            sink.add((np.full(2, i, np.float32), np.int64(i)))
        splits[stage] = sink.close()
    index = {
        "format": FORMAT,
        "kind": "tensors",
        "name": "counting",
        "fields": [{"name": "0"}, {"name": "1"}],
        "batch_fields": 2,
        "splits": splits,
        "source": {},
    }
    (root / "index.json").write_text(json.dumps(index))
    return load_index(root)


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("counting")
    return root, write_counting(root)


def ids(loader: StreamingLoader, epoch: int | None = None) -> list[int]:
    if epoch is not None:
        loader.set_epoch(epoch)
    return [int(i) for batch in loader for i in batch[1]]


def loader(shards, stage: str = "train", **kwargs) -> StreamingLoader:
    root, index = shards
    options = {"batch_size": 8, "shuffle": stage == "train", "seed": 3, "shuffle_buffer": 16}
    return StreamingLoader(str(root), index, stage, **{**options, **kwargs})


@pytest.mark.parametrize("workers", [0, 2])
def test_every_sample_once_per_epoch_in_a_seeded_order(shards, workers: int) -> None:
    train = loader(shards, num_workers=workers)
    first, second = ids(train, 0), ids(train, 1)
    assert sorted(first) == sorted(second) == list(range(N))
    assert first != second  # shards and blocks are reshuffled each epoch
    assert ids(loader(shards, num_workers=workers), 0) == first  # the same seed, the same order
    assert ids(loader(shards, num_workers=workers, seed=4), 0) != first
    assert len(train) == sum(1 for _ in train)


def test_val_is_in_index_order(shards) -> None:
    assert ids(loader(shards, "val"), 0) == ids(loader(shards, "val"), 5) == list(range(N))


def test_two_ranks_split_the_epoch_without_overlap(shards) -> None:
    ranks = [loader(shards, rank=r, world_size=2) for r in range(2)]
    seen = [ids(r, 1) for r in ranks]
    assert not set(seen[0]) & set(seen[1])
    assert len(seen[0]) == len(seen[1]) == N // 2  # N mod 2 = 1 sample left out this epoch
    assert len(set(seen[0]) | set(seen[1])) == N - 1
    assert len(ranks[0]) == len(ranks[1])
    # val / test: every sample, the shorter rank wrapping around to the first one
    val = [ids(loader(shards, "val", rank=r, world_size=2)) for r in range(2)]
    assert set(val[0]) | set(val[1]) == set(range(N)) and len(val[0]) == len(val[1])


def test_worker_skips_follow_the_round_robin() -> None:
    assert worker_skips([3, 2], 0) == ([0, 0], 0)
    assert worker_skips([3, 2], 3) == ([2, 1], 1)
    assert worker_skips([3, 2], 4) == ([2, 2], 0)
    assert worker_skips([3, 2], 5) == ([3, 2], 0)


@pytest.mark.parametrize("workers", [0, 2])
def test_resumed_epoch_yields_exactly_the_remaining_batches(shards, workers: int) -> None:
    full = loader(shards, num_workers=workers)
    full.set_epoch(2)
    batches = [b[1].tolist() for b in full]
    for k in (1, 5, len(batches) - 1):
        first = loader(shards, num_workers=workers)
        first.set_epoch(2)
        it = iter(first)
        seen = [next(it)[1].tolist() for _ in range(k)]
        state = first.state_dict()
        resumed = loader(shards, num_workers=workers)
        resumed.load_state_dict(state)
        resumed.set_epoch(2)
        rest = [b[1].tolist() for b in resumed]
        assert seen + rest == batches, k
    # a state of another epoch does not skip anything in this one
    stale = loader(shards, num_workers=workers)
    stale.load_state_dict({**state, "epoch": 1})
    assert len(ids(stale, 2)) == N


class _Recorder(L.LightningModule):
    """Records the sample ids of every training batch."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.seen: list[int] = []

    def training_step(self, batch, batch_idx):
        self.seen += batch[1].tolist()
        return self.layer(batch[0]).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)


def _trainer(**kwargs) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu", logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, **kwargs,
    )  # fmt: skip


class _SaveAt(L.Callback):
    """Saves a checkpoint after training step ``step`` (mid-epoch), as a crash would leave."""

    def __init__(self, step: int, path: Path) -> None:
        self.step, self.path, self.seen = step, path, 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            trainer.save_checkpoint(self.path)
            self.seen = len(pl_module.seen)


def test_lightning_resumes_mid_epoch_where_it_stopped(shards, tmp_path: Path) -> None:
    uninterrupted, save = _Recorder(), _SaveAt(17, tmp_path / "mid.ckpt")
    # 13 batches an epoch: the checkpoint is 4 batches into the second epoch
    _trainer(max_epochs=2, callbacks=[save]).fit(uninterrupted, loader(shards))
    state = torch.load(save.path, weights_only=True)["loops"]["fit_loop"]["state_dict"]
    assert state["combined_loader"] == [{"epoch": 1, "batches": 4, "world": 1, "workers": 0}]
    resumed = _Recorder()
    _trainer(max_epochs=2).fit(resumed, loader(shards), ckpt_path=save.path)
    assert uninterrupted.seen[: save.seen] + resumed.seen == uninterrupted.seen


def test_checksums_catch_a_corrupt_shard(tmp_path: Path) -> None:
    index = write_counting(tmp_path, n=30)
    verify_shards(tmp_path, index)
    shard = tmp_path / index["splits"]["train"]["shards"][1]["name"]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(DataError, match=rf"shard .*{shard.name} is corrupt"):
        verify_shards(tmp_path, index)
    with pytest.raises(DataError, match=shard.name):  # while streaming, too
        ids(StreamingLoader(str(tmp_path), index, "train", batch_size=4))
