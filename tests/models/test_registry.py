"""Every registered net: forward shape, no NaN, a gradient for every parameter."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.models import create_model, get_model_class, list_models, register_model
from dlzoo.models.cnn import CNN
from dlzoo.models.dense import MLP


def test_known_models_are_registered_sorted() -> None:
    names = list_models()
    assert {"cnn", "mlp"} <= set(names) and names == sorted(names)
    assert list_models("m*") == ["mlp"]
    assert get_model_class("cnn") is CNN and get_model_class("mlp") is MLP


@pytest.mark.parametrize("name", list_models())
def test_registered_net_forward_and_backward(name: str) -> None:
    torch.manual_seed(0)
    net, x = get_model_class(name).example(batch_size=3)
    out = net(x)
    # (B, classes) for classifiers, (B, horizon, targets) for forecasters
    assert out.ndim >= 2 and out.shape[0] == 3
    assert torch.isfinite(out).all()
    if any(p.requires_grad for p in net.parameters()):  # the naive forecast has none
        out.sum().backward()
    for pname, param in net.named_parameters():
        assert param.grad is not None, f"{name}: {pname} got no gradient"
        assert torch.isfinite(param.grad).all(), f"{name}: {pname} has a non-finite gradient"
    net.eval()
    with torch.no_grad():
        assert net(x[:1]).shape == (1, *out.shape[1:])


def test_create_model_passes_kwargs() -> None:
    net = create_model("mlp", in_features=4, num_classes=2, hidden_sizes=[])
    assert net(torch.randn(5, 4)).shape == (5, 2)


def test_unknown_model_lists_registered_names() -> None:
    with pytest.raises(ConfigError, match=r"'cnnn'.*cnn, .*mlp"):
        create_model("cnnn")


def test_register_model_checks_the_contract() -> None:
    with pytest.raises(TypeError, match="example"):
        register_model("no_example")(nn.Identity)
    with pytest.raises(ValueError, match="already registered"):

        @register_model("cnn")
        class Other(nn.Module):
            @classmethod
            def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
                return cls(), torch.zeros(batch_size)

    assert get_model_class("cnn") is CNN and "no_example" not in list_models()
