"""Shared fixtures: compose dlzoo configs into a temporary run directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from dlzoo.train import CONFIG_DIR

REPO = Path(__file__).resolve().parents[1]


def compose_config(tmp_path: Path, overrides: list[str]) -> DictConfig:
    """Compose ``train.yaml`` as the CLI would, with every output under ``tmp_path``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=[
                f"paths.log_dir={tmp_path}",
                f"paths.output_dir={tmp_path / 'run'}",
                f"paths.data_dir={tmp_path / 'data'}",
                *overrides,
            ],
            return_hydra_config=True,
        )
    # lets ${hydra:...} interpolations and the pipeline's choice names resolve
    HydraConfig.instance().set_config(cfg)
    return cfg


@pytest.fixture
def make_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    def _make(*overrides: str) -> DictConfig:
        return compose_config(tmp_path, list(overrides))

    return _make
