"""The console scripts' frame: the garbage collector is spared the imported modules,
once per process."""

from __future__ import annotations

import gc

import pytest

from dlzoo.cli.frame import freeze_imports


def test_the_imports_are_frozen_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen: list[int] = []
    collected: list[int] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(1))
    monkeypatch.setattr(gc, "get_freeze_count", lambda: len(frozen))
    monkeypatch.setattr(gc, "collect", lambda generation=2: collected.append(generation))
    freeze_imports()
    freeze_imports()  # a sweep's next trial: an earlier trial's garbage is not frozen
    # the young generations' garbage is collected first, never a full pass
    assert frozen == [1] and collected == [1]
