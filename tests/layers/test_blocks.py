"""Blocks on tiny inputs, with shapes and values checked by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers import (
    ClassifierHead,
    ConvNormAct,
    DenseStack,
    InceptionBlock,
    LinearNormAct,
    ResidualBlock,
    SqueezeExcite,
    VGGBlock,
    make_pool2d,
)


def test_conv_norm_act_keeps_size_and_drops_bias_under_batch_norm() -> None:
    block = ConvNormAct(3, 5, kernel_size=3, dropout=0.5)
    assert block(torch.randn(2, 3, 7, 6)).shape == (2, 5, 7, 6)
    conv, norm, act, drop = block
    assert conv.bias is None and isinstance(norm, nn.BatchNorm2d)
    assert isinstance(act, nn.ReLU) and isinstance(drop, nn.Dropout)
    plain = ConvNormAct(3, 5, batch_norm=False, activation=None)
    assert plain[0].bias is not None and len(plain) == 2


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize(
    ("kwargs", "out_hw"),
    [
        ({"kernel_size": 1}, (8, 8)),
        ({"kernel_size": 4}, (8, 8)),  # even kernel, uneven "same" padding
        ({"kernel_size": 5, "dilation": 2}, (8, 8)),
        ({"kernel_size": 3, "stride": 2}, (4, 4)),
        ({"kernel_size": 3, "padding": "valid"}, (6, 6)),
        ({"kernel_size": 3, "padding": 0, "stride": 2}, (3, 3)),
    ],
)
def test_conv_norm_act_padding(kwargs: dict, out_hw: tuple[int, int]) -> None:
    assert ConvNormAct(1, 2, **kwargs)(torch.randn(2, 1, 8, 8)).shape[-2:] == out_hw


def test_conv_norm_act_rejects_unknown_padding() -> None:
    with pytest.raises(ConfigError, match="'full'"):
        ConvNormAct(1, 2, padding="full")


def test_vgg_block_halves_the_image() -> None:
    block = VGGBlock(3, 8)
    assert block(torch.randn(2, 3, 8, 6)).shape == (2, 8, 4, 3)
    assert sum(isinstance(m, ConvNormAct) for m in block) == 2


def test_inception_output_channels_are_the_sum_of_branches() -> None:
    x = torch.randn(2, 5, 6, 6)
    for double in (False, True):
        block = InceptionBlock(5, 2, 3, 4, 1, 6, 3, double_3x3=double)
        assert block.out_channels == 2 + 4 + 6 + 3
        assert block(x).shape == (2, 15, 6, 6)
    assert InceptionBlock(5, 2, 3, 4, 1, 6, 3).branch3[1][0].kernel_size == (5, 5)


def test_residual_block_with_stride_two_halves_the_image() -> None:
    block = ResidualBlock(4, 8, stride=2)
    assert block(torch.randn(2, 4, 8, 7)).shape == (2, 8, 4, 4)
    assert isinstance(block.shortcut, ConvNormAct)  # projection shortcut
    same = ResidualBlock(4, 4)
    assert isinstance(same.shortcut, nn.Identity) and same.se is None
    assert ResidualBlock(4, 4, se_reduction=2).se is not None


def test_residual_block_adds_the_identity() -> None:
    block = ResidualBlock(2, 2, batch_norm=False)
    nn.init.zeros_(block.conv2[0].weight)
    nn.init.zeros_(block.conv2[0].bias)
    x = torch.randn(1, 2, 3, 3)
    # with F(x) = 0 the block is relu(x + 0)
    assert torch.equal(block(x), torch.relu(x))


def test_squeeze_excite_gates_each_channel_by_hand() -> None:
    se = SqueezeExcite(2, reduction=2)  # hidden width 1
    with torch.no_grad():
        se.reduce[0].weight.copy_(torch.tensor([1.0, -1.0]).view(1, 2, 1, 1))
        se.reduce[0].bias.fill_(0.0)
        se.expand[0].weight.copy_(torch.tensor([2.0, -1.0]).view(2, 1, 1, 1))
        se.expand[0].bias.copy_(torch.tensor([0.0, 1.0]))
    x = torch.tensor([[[[1.0, 3.0]], [[0.0, 2.0]]]])  # (1, 2, 1, 2): means 2 and 1
    hidden = max(2.0 - 1.0, 0.0)  # relu(1 * 2 - 1 * 1) = 1
    gate = torch.sigmoid(torch.tensor([2.0 * hidden, -1.0 * hidden + 1.0]))  # (0.88, 0.5)
    y = se(x)
    assert y.shape == x.shape
    assert torch.allclose(y, x * gate.view(1, 2, 1, 1))
    assert torch.all((gate > 0) & (gate < 1))


def test_squeeze_excite_keeps_a_gate_for_narrow_layers() -> None:
    assert SqueezeExcite(4, reduction=16).reduce[0].out_channels == 1


def test_dense_stack_widths() -> None:
    stack = DenseStack(6, [5, 4], 3, batch_norm=True, dropout=0.1)
    assert stack(torch.randn(2, 6)).shape == (2, 3)
    assert [type(m) for m in stack] == [LinearNormAct, LinearNormAct, nn.Linear]
    assert stack[0][0].bias is None and stack.out_features == 3
    assert DenseStack(6).out_features == 6 and len(DenseStack(6)) == 0


@pytest.mark.parametrize(("pool", "in_features"), [("gap", 4), ("gmp", 4), ("flatten", 36)])
def test_classifier_head(pool: str, in_features: int) -> None:
    head = ClassifierHead(in_features, 7, pool, hidden_sizes=[5], dropout=0.2)
    assert head(torch.randn(2, 4, 3, 3)).shape == (2, 7)


def test_global_average_head_is_the_channel_mean() -> None:
    head = ClassifierHead(2, 2, "gap")
    with torch.no_grad():
        head.mlp[0].weight.copy_(torch.eye(2))
        head.mlp[0].bias.zero_()
    x = torch.arange(8.0).view(1, 2, 2, 2)
    assert torch.equal(head(x), torch.tensor([[1.5, 5.5]]))


def test_unknown_pool_and_head_list_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"'median'.*avg, max"):
        make_pool2d("median")
    with pytest.raises(ConfigError, match=r"'avg'.*gap, gmp, flatten"):
        ClassifierHead(4, 2, "avg")
