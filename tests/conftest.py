"""Shared fixtures: compose dlzoo configs into a temporary run directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

from dlzoo.config.compose import compose_config


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose ``train.yaml`` as the CLI would, with every output under ``tmp_path``."""

    def _make(*overrides: str) -> DictConfig:
        return compose_config(
            [f"paths.log_dir={tmp_path}", f"paths.data_dir={tmp_path / 'data'}", *overrides],
            run_dir=tmp_path / "run",
        )

    return _make
