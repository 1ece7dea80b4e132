"""CNN assembly from block specs, and the errors a bad spec gives."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from dlzoo.errors import ConfigError
from dlzoo.models.cnn import BLOCK_TYPES, CNN, block_keys


def cnn(blocks: list, image_size=(8, 8), **kwargs) -> CNN:
    return CNN(in_channels=1, num_classes=10, image_size=image_size, blocks=blocks, **kwargs)


def test_channels_and_sizes_flow_through_the_stack() -> None:
    net = cnn([
        {"type": "conv", "channels": 4, "pool": "avg"},
        {"type": "conv", "channels": 6, "kernel_size": 1},
        {"type": "residual", "channels": 8, "stride": 2},
        {"type": "pool", "mode": "max", "size": 2},
    ])  # fmt: skip
    assert net.feature_shape == (8, 1, 1)
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_flatten_head_is_sized_from_image_size() -> None:
    net = cnn([{"type": "vgg", "channels": 3}], image_size=(8, 6), head="flatten")
    assert net.head.mlp[0].in_features == 3 * 4 * 3
    assert net(torch.randn(2, 1, 8, 6)).shape == (2, 10)


def test_block_overrides_net_wide_values() -> None:
    net = cnn([{"type": "conv", "channels": 4, "batch_norm": False, "activation": "tanh"},
               {"type": "conv", "channels": 4}], activation="gelu")  # fmt: skip
    first, second = net.features
    assert len(first) == 2 and isinstance(first[1], torch.nn.Tanh)
    assert isinstance(second[1], torch.nn.BatchNorm2d) and isinstance(second[2], torch.nn.GELU)


def test_accepts_omegaconf_containers() -> None:
    cfg = OmegaConf.create({"blocks": [{"type": "conv", "channels": 2}], "size": [8, 8]})
    assert cnn(cfg.blocks, image_size=cfg.size)(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_unknown_block_type_names_index_and_valid_types() -> None:
    with pytest.raises(ConfigError) as info:
        cnn([{"type": "conv", "channels": 2}, {"type": "dense", "channels": 2}])
    message = str(info.value)
    assert "blocks[1]" in message and "'dense'" in message
    assert all(kind in message for kind in BLOCK_TYPES)


def test_unknown_key_names_index_key_and_valid_keys() -> None:
    with pytest.raises(ConfigError) as info:
        cnn([{"type": "conv", "channels": 2, "kernel": 3}])
    message = str(info.value)
    assert "blocks[0]" in message and "'kernel'" in message
    assert all(key in message for key in block_keys("conv"))


def test_missing_type_or_required_key() -> None:
    with pytest.raises(ConfigError, match=r"blocks\[0\].*'type'"):
        cnn([{"channels": 2}])
    with pytest.raises(ConfigError, match=r"blocks\[0\] \(residual\) needs 'channels'"):
        cnn([{"type": "residual"}])


def test_bad_values_name_the_block() -> None:
    with pytest.raises(ConfigError, match=r"blocks\[0\] \(conv\).*'median'"):
        cnn([{"type": "conv", "channels": 2, "pool": "median"}])
    with pytest.raises(ConfigError, match="unknown activation 'swish'"):
        cnn([], activation="swish")
    with pytest.raises(ConfigError, match="unknown head"):
        cnn([], head="attention")
    with pytest.raises(ConfigError, match="image_size"):
        cnn([], image_size=(8, 8, 1))


def test_image_too_small_names_the_block() -> None:
    blocks = [{"type": "vgg", "channels": 4}] * 4  # 8 -> 4 -> 2 -> 1 -> 0
    with pytest.raises(ConfigError) as info:
        cnn(blocks)
    message = str(info.value)
    assert "blocks[3] (vgg)" in message and "1x1" in message and "(8, 8)" in message
    assert cnn(blocks, image_size=(16, 16))(torch.randn(2, 1, 16, 16)).shape == (2, 10)


def test_valid_padding_too_large_a_kernel_names_the_block() -> None:
    with pytest.raises(ConfigError, match=r"blocks\[1\] \(conv\)"):
        cnn([{"type": "pool"}, {"type": "conv", "channels": 2, "kernel_size": 5,
                                "padding": "valid"}])  # fmt: skip
