"""Every image conf/model/*.yaml instantiates with data-provided shapes and runs on
digits- and MNIST-sized images (the sequence nets' YAMLs: tests/models/test_sequence_nets.py)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

from dlzoo.models import model_config_dir

CONF = model_config_dir()
SHAPE_ARGS = {"in_channels", "image_size", "in_features", "num_classes"}


def takes_images(path: Path) -> bool:
    params = inspect.signature(get_class(OmegaConf.load(path)._target_)).parameters
    # video nets (they take `frames`) read (B, T, C, H, W) clips: test_video_nets.py
    return bool({"in_channels", "in_features"} & set(params)) and "frames" not in params


CONFIGS = sorted(p for p in CONF.glob("*.yaml") if takes_images(p))


def build(path: Path, channels: int, height: int, width: int) -> torch.nn.Module:
    cfg = OmegaConf.load(path)
    provided = {
        "in_channels": channels,
        "image_size": (height, width),
        "in_features": channels * height * width,
        "num_classes": 10,
    }
    params = inspect.signature(get_class(cfg._target_)).parameters
    # keys match the constructor one to one, and no shape is hard-coded
    assert set(cfg) - {"_target_"} <= set(params) - SHAPE_ARGS
    return instantiate(cfg, **{k: v for k, v in provided.items() if k in params})


def test_there_are_model_configs() -> None:
    names = {p.stem for p in CONFIGS}
    assert {"mlp", "cnn", "vgg_small", "resnet_small", "inception_small"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
@pytest.mark.parametrize("size", [8, 28])
def test_model_config_instantiates_and_forwards(path: Path, size: int) -> None:
    net = build(path, 1, size, size)
    out = net(torch.randn(2, 1, size, size))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
