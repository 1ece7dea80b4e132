"""Every registered net: forward shape, no NaN, a gradient for every parameter, and the
net API (forward_features, num_features, forward_head, reset_head)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.models import create_model, get_model_class, list_models, register_model
from dlzoo.models.cnn import CNN
from dlzoo.models.dense import MLP
from dlzoo.models.forecast import NaiveForecast

# one name per registered class (presets share their class's example)
CLASS_NAMES = sorted({get_model_class(n).model_name for n in list_models()})


def test_known_models_are_registered_sorted() -> None:
    names = list_models()
    assert {"cnn", "mlp"} <= set(names) and names == sorted(names)
    assert list_models("m*") == ["mlp", "mlp_ts"]
    assert get_model_class("cnn") is CNN and get_model_class("mlp") is MLP


def test_every_registered_name_is_covered_by_its_class() -> None:
    classes = {get_model_class(n) for n in list_models()}
    assert {get_model_class(n) for n in CLASS_NAMES} == classes
    assert {"recurrent", "attention_rnn", "conv1d", "naive", "linear"} <= set(CLASS_NAMES)


def assert_finite_gradients(name: str, net: nn.Module) -> None:
    for pname, param in net.named_parameters():
        assert param.grad is not None, f"{name}: {pname} got no gradient"
        assert torch.isfinite(param.grad).all(), f"{name}: {pname} has a non-finite gradient"


def first_sample(x: Any) -> Any:
    """The first sample of an example input: a tensor's first row, a PyG batch's first
    graph (slicing a ``Batch`` gives a list of graphs)."""
    return x[:1] if torch.is_tensor(x) else type(x).from_data_list(x[:1])


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_registered_net_forward_and_backward(name: str) -> None:
    torch.manual_seed(0)
    net, x = get_model_class(name).example(batch_size=3)
    out = net(x)
    # (B, classes) for classifiers, (B, horizon, targets) for forecasters
    assert out.ndim >= 2 and out.shape[0] == 3
    assert torch.isfinite(out).all()
    if any(p.requires_grad for p in net.parameters()):  # the naive forecast has none
        out.sum().backward()
    assert_finite_gradients(name, net)
    net.eval()
    with torch.no_grad():
        assert net(first_sample(x)).shape == (1, *out.shape[1:])


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_forward_is_head_of_features(name: str) -> None:
    torch.manual_seed(0)
    net, x = get_model_class(name).example(batch_size=3)
    net.eval()  # dropout off, so that two passes can agree
    with torch.no_grad():
        features = net.forward_features(x)
        assert isinstance(net.num_features, int) and net.num_features >= 1
        assert features.shape == (3, net.num_features) and torch.isfinite(features).all()
        torch.testing.assert_close(net(x), net.forward_head(features), rtol=0, atol=0)


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_reset_head_gives_new_logits_with_gradients(name: str) -> None:
    torch.manual_seed(0)
    net, x = get_model_class(name).example(batch_size=3)
    if isinstance(net, NaiveForecast):
        with pytest.raises(ConfigError, match="no trainable head"):
            net.reset_head(7)
        return
    with torch.no_grad():
        before = net.eval().forward_features(x)
    net.reset_head(7)
    with torch.no_grad():
        # the body is untouched, only the head's output layer is new
        torch.testing.assert_close(net.forward_features(x), before, rtol=0, atol=0)
    net.train()
    out = net(x)
    assert out.shape == (3, 7) and torch.isfinite(out).all()
    out.sum().backward()
    assert_finite_gradients(name, net)
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ConfigError, match="positive int"):
            net.reset_head(bad)


def test_create_model_passes_kwargs() -> None:
    net = create_model("mlp", in_features=4, num_classes=2, hidden_sizes=[])
    assert net(torch.randn(5, 4)).shape == (5, 2)


def test_unknown_model_lists_registered_names() -> None:
    with pytest.raises(ConfigError, match=r"'cnnn'.*cnn, .*mlp"):
        create_model("cnnn")


def test_register_model_checks_the_contract() -> None:
    with pytest.raises(TypeError, match="example"):
        register_model("no_example")(nn.Identity)

    class NoApi(nn.Module):
        @classmethod
        def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
            return cls(), torch.zeros(batch_size)

    with pytest.raises(TypeError, match="forward_features, forward_head, reset_head"):
        register_model("no_api")(NoApi)
    with pytest.raises(ValueError, match="already registered"):

        @register_model("cnn")
        class Other(nn.Module):
            @classmethod
            def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
                return cls(), torch.zeros(batch_size)

    assert get_model_class("cnn") is CNN
    assert not {"no_example", "no_api"} & set(list_models())
