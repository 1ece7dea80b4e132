"""The console scripts' frame: no garbage collection while torch and Lightning import,
and those modules frozen out of later passes, once per process."""

from __future__ import annotations

import gc

import pytest

from dlzoo.cli.frame import frozen_imports


def test_imports_run_without_the_collector_and_are_frozen_once(monkeypatch) -> None:
    frozen: list[int] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(1))
    monkeypatch.setattr(gc, "get_freeze_count", lambda: len(frozen))
    assert gc.isenabled()
    with frozen_imports():
        assert not gc.isenabled()
    assert gc.isenabled() and frozen == [1]
    # a sweep's next trial: an earlier trial's garbage is not frozen; an error inside
    # still switches the collector back on
    with pytest.raises(ImportError), frozen_imports():
        raise ImportError("no such module")
    assert gc.isenabled() and frozen == [1]
