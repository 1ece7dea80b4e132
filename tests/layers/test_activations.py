"""Activations resolve by name, and a bad name lists the good ones."""

from __future__ import annotations

import pytest
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.activations import ACTIVATIONS, make_activation, resolve_activation

EXPECTED = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
}


@pytest.mark.parametrize(("name", "cls"), EXPECTED.items())
def test_each_name_gives_its_class(name: str, cls: type[nn.Module]) -> None:
    assert resolve_activation(name) is cls
    assert resolve_activation(name.upper()) is cls
    assert type(make_activation(name)) is cls


def test_every_registered_name_is_tested() -> None:
    assert set(ACTIVATIONS) == set(EXPECTED)


def test_a_module_class_and_none_pass_through() -> None:
    assert resolve_activation(nn.Hardswish) is nn.Hardswish
    assert isinstance(make_activation(None), nn.Identity)


@pytest.mark.parametrize("bad", ["relu6", "", 3])
def test_unknown_name_lists_valid_names(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_activation(bad)  # type: ignore[arg-type]
    message = str(info.value)
    assert repr(bad) in message
    assert all(name in message for name in EXPECTED)
