"""``last.ckpt`` under DDP: every rank writes when rank zero's clock says so."""

from __future__ import annotations

import math
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from lightning.pytorch.callbacks import ModelCheckpoint

from dlzoo.callbacks.checkpoints import LastCheckpoint


def _epoch_end(rank_zero_says: bool, written_at: float, tmp_path: Path, monkeypatch: Any) -> int:
    """How many times ``last.ckpt`` is written at a (not final) epoch end."""
    writes = []
    monkeypatch.setattr(ModelCheckpoint, "on_train_epoch_end", lambda *a: writes.append(a))
    callback = LastCheckpoint(tmp_path, min_interval_s=10.0)
    callback._written_at = written_at
    strategy = SimpleNamespace(broadcast=lambda obj, src=0: rank_zero_says)
    trainer = SimpleNamespace(
        max_steps=-1,
        should_stop=False,
        current_epoch=3,
        max_epochs=30,
        global_step=40,
        strategy=strategy,
    )
    callback.on_train_epoch_end(trainer, None)
    return len(writes)


@pytest.mark.parametrize(
    ("rank_zero_says", "due_here", "writes"),
    [
        (False, True, 0),  # this rank's clock says due, rank zero's does not
        (True, False, 1),  # rank zero's says due, this rank's not yet
        (False, False, 0),
    ],
)
def test_every_rank_follows_rank_zero(
    rank_zero_says: bool, due_here: bool, writes: int, tmp_path: Path, monkeypatch: Any
) -> None:
    written_at = -math.inf if due_here else time.monotonic()
    assert _epoch_end(rank_zero_says, written_at, tmp_path, monkeypatch) == writes
