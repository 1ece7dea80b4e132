"""The head side of the net API: a dense stack split at its output layer, heads that
swap that layer, and the image size check that nets and datamodules share."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.dense import DenseStack, fresh_linear
from dlzoo.layers.heads import ClassifierHead, SequenceHead
from dlzoo.layers.shapes import image_size_pair


def test_dense_stack_hidden_then_output_is_the_stack() -> None:
    torch.manual_seed(0)
    stack = DenseStack(4, [6, 5], 3, batch_norm=True, dropout=0.2).eval()
    x = torch.randn(7, 4)
    hidden = stack.forward_hidden(x)
    assert stack.hidden_features == 5 and hidden.shape == (7, 5)
    # the hidden part ends in the last hidden layer's activation: ReLU, so >= 0
    assert (hidden >= 0).all()
    torch.testing.assert_close(stack.forward_output(hidden), stack(x), rtol=0, atol=0)


def test_dense_stack_without_hidden_layers_or_output() -> None:
    x = torch.randn(2, 4)
    logistic = DenseStack(4, [], 3)
    assert logistic.hidden_features == 4 and torch.equal(logistic.forward_hidden(x), x)
    body = DenseStack(4, [6])
    assert not body.has_output and torch.equal(body.forward_output(x), x)
    with pytest.raises(ValueError, match="without an output layer"):
        body.reset_output(2)


def test_reset_output_keeps_the_hidden_layers() -> None:
    torch.manual_seed(0)
    stack = DenseStack(4, [6], 3)
    hidden_weight = stack[0][0].weight.clone()
    old_output = stack[-1]
    stack.reset_output(9)
    assert stack[-1] is not old_output and stack[-1].in_features == 6
    assert stack.out_features == 9 and stack(torch.randn(2, 4)).shape == (2, 9)
    assert torch.equal(stack[0][0].weight, hidden_weight)
    # the state dict keys stay, so a checkpoint of the body still loads
    assert set(stack.state_dict()) == {"0.0.weight", "0.0.bias", "1.weight", "1.bias"}


def test_fresh_linear_copies_inputs_bias_and_dtype() -> None:
    like = nn.Linear(5, 2, bias=False, dtype=torch.float64)
    new = fresh_linear(like, 4)
    assert (new.in_features, new.out_features) == (5, 4)
    assert new.bias is None and new.weight.dtype == torch.float64
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(ConfigError, match="positive int"):
            fresh_linear(like, bad)  # type: ignore[arg-type]


def test_classifier_head_pools_then_classifies() -> None:
    torch.manual_seed(0)
    head = ClassifierHead(3, 4, "gap", hidden_sizes=[5], dropout=0.3).eval()
    x = torch.randn(2, 3, 4, 4)
    pooled = head.pool_features(x)
    torch.testing.assert_close(pooled, x.mean(dim=(2, 3)))
    assert head.num_features == 3
    torch.testing.assert_close(head.classify(pooled), head(x), rtol=0, atol=0)
    head.reset_output(6)
    assert head(x).shape == (2, 6) and head.mlp[0][0].in_features == 3


def test_sequence_head_reset_turns_a_forecaster_into_a_classifier() -> None:
    torch.manual_seed(0)
    head = SequenceHead(6, horizon=5, output_size=2, hidden_sizes=[7])
    hidden_weight = head.mlp[0][0].weight.clone()
    head.reset_output(3)
    assert (head.num_classes, head.horizon, head.output_size) == (3, None, None)
    assert head(torch.randn(4, 6)).shape == (4, 3)
    assert torch.equal(head.mlp[0][0].weight, hidden_weight)
    with pytest.raises(ConfigError, match="positive int"):
        head.reset_output(0)
    assert head.num_classes == 3  # a refused reset changes nothing


@pytest.mark.parametrize(
    ("value", "expected"),
    [(8, (8, 8)), ((8, 6), (8, 6)), ([28.0, 28], (28, 28)), (np.int64(5), (5, 5))],
)
def test_image_size_pair(value: object, expected: tuple[int, int]) -> None:
    size = image_size_pair(value)  # type: ignore[arg-type]
    assert size == expected and all(type(s) is int for s in size)


def test_image_size_pair_takes_omegaconf_lists() -> None:
    assert image_size_pair(OmegaConf.create({"s": [3, 4]}).s) == (3, 4)


@pytest.mark.parametrize("value", [0, -3, (8, 8, 1), (8,), (8, 0), (8, 6.5), "88", None, True])
def test_image_size_pair_names_the_key(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^data\.image_size=.* must be a positive int"):
        image_size_pair(value, "data.image_size")  # type: ignore[arg-type]
