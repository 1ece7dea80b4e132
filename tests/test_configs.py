"""Every YAML under conf/ composes, validates and instantiates."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from dlzoo.optim import build_optimizer, build_scheduler
from dlzoo.pipeline import build_net, instantiate_dict, validate_config
from dlzoo.tasks.base import Task
from dlzoo.train import CONFIG_DIR

GROUPS = sorted(p.name for p in CONFIG_DIR.iterdir() if p.is_dir())
OPTIONS = [(g, p.stem) for g in GROUPS for p in sorted((CONFIG_DIR / g).glob("*.yaml"))]
# these name hardware this machine may not have: composed and validated, not built
NEEDS_HARDWARE = {("trainer", "gpu"), ("trainer", "ddp")}


@functools.cache
def digits():
    from dlzoo.data.image import DigitsDataModule

    dm = DigitsDataModule(batch_size=16, seed=0)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_all_groups_are_covered() -> None:
    assert {
        "data",
        "model",
        "task",
        "optimizer",
        "scheduler",
        "trainer",
        "callbacks",
        "logger",
        "experiment",
        "debug",
        "paths",
        "hydra",
    } <= set(GROUPS)


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}/{o}" for g, o in OPTIONS])
def test_option_composes_and_instantiates(make_cfg, tmp_path: Path, group: str, option: str):
    overrides = [f"{group}={option}"]
    if (group, option) == ("data", "image_folder"):
        overrides.append(f"data.root={tmp_path}")
    cfg = make_cfg(*overrides)
    for key in cfg:  # every interpolation resolves (hydra's own keys need a running job)
        if key != "hydra":
            OmegaConf.to_container(cfg[key], resolve=True) if OmegaConf.is_config(
                cfg[key]
            ) else None
    validate_config(cfg)
    node = cfg.get(group)
    if group == "data":
        dm = instantiate(node, _convert_="all")
        assert hasattr(dm, "net_kwargs")
    elif group == "model":
        net = build_net(node, digits())
        assert net(next(iter(digits().val_dataloader()))[0]).shape[-1] == 10
    elif group == "task":
        task = instantiate(
            node,
            net=torch.nn.Linear(64, 10),
            num_classes=10,
            optimizer=instantiate(cfg.optimizer),
            _recursive_=False,
        )
        assert isinstance(task, Task)
    elif group == "optimizer":
        build_optimizer(instantiate(node), torch.nn.Linear(2, 2))
    elif group == "scheduler":
        opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1, momentum=0.9)
        build_scheduler(OmegaConf.to_container(node, resolve=True), opt, 100, 10)
    elif group == "trainer" and (group, option) not in NEEDS_HARDWARE:
        instantiate(node, logger=False)
    elif group in ("callbacks", "logger"):
        objects = instantiate_dict(node)
        assert len(objects) == len([v for v in node.values() if v is not None])
