"""Old ``_target_`` paths (before the datamodules moved) map to today's classes."""

from __future__ import annotations

import pytest
from hydra.utils import get_object
from omegaconf import OmegaConf

from dlzoo.config.legacy import MOVED, SPLIT, current_target, upgrade_targets


@pytest.mark.parametrize("old", sorted(SPLIT))
def test_every_split_object_has_a_new_home(old: str) -> None:
    new = current_target(old)
    assert new != old and get_object(new).__name__ == old.rsplit(".", 1)[1]


@pytest.mark.parametrize("module", sorted(MOVED))
def test_every_moved_module_exists(module: str) -> None:
    get_object(MOVED[module])


def test_new_paths_and_other_targets_stay() -> None:
    for target in (
        "dlzoo.data.image.packaged.DigitsDataModule",
        "dlzoo.data.text.folder.TextFolderDataModule",
        "dlzoo.models.cnn.CNN",
        "torch.optim.Adam",
    ):
        assert current_target(target) == target
    assert current_target("dlzoo.data.text.TextDataModule") == (
        "dlzoo.data.text.datamodule.TextDataModule"
    )


def test_upgrade_walks_nested_nodes_and_keeps_interpolations() -> None:
    cfg = OmegaConf.create(
        {
            "data": {"_target_": "dlzoo.data.timeseries.SunspotsDataModule", "root": "${x}"},
            "callbacks": [{"_target_": "dlzoo.data.ucr.UCRDataModule"}],
            "x": "${hydra:runtime.output_dir}",  # unresolvable here: must not be read
        }
    )
    assert upgrade_targets(cfg) == 2
    assert cfg.data._target_ == "dlzoo.data.series.packaged.SunspotsDataModule"
    assert cfg.callbacks[0]._target_ == "dlzoo.data.series.ucr.UCRDataModule"
    assert OmegaConf.to_yaml(cfg).count("${") == 2
    assert upgrade_targets(cfg) == 0
