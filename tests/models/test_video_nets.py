"""The video nets: shapes on (B, T, C, H, W) clips, their YAMLs built by the pipeline from
a video datamodule's shapes, and which of them can see the order of the frames."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.models import model_config_dir
from dlzoo.models.cnn import CNN
from dlzoo.models.cnn_rnn import CnnRnn
from dlzoo.models.conv3d import Conv3dNet
from dlzoo.models.frame_average import FrameAverage
from dlzoo.run.nets import build_net

CONF = model_config_dir()
VIDEO = ("conv3d", "cnn_rnn", "frame_average")
# what a moving-digits datamodule provides
SHAPES = {
    "in_channels": 1,
    "image_size": (32, 32),
    "in_features": 1024,
    "frames": 8,
    "num_classes": 8,
}


def from_yaml(name: str, **shapes) -> nn.Module:
    data = SimpleNamespace(net_kwargs=lambda: {**SHAPES, **shapes}, name="moving_digits")
    return build_net(OmegaConf.load(CONF / f"{name}.yaml"), data)


@pytest.mark.parametrize("name", VIDEO)
def test_yaml_nets_classify_clips(name: str) -> None:
    torch.manual_seed(0)
    net = from_yaml(name).eval()
    with torch.no_grad():
        out = net(torch.randn(3, 8, 1, 32, 32))
        assert out.shape == (3, 8) and torch.isfinite(out).all()
        assert net.forward_features(torch.randn(3, 8, 1, 32, 32)).shape == (3, net.num_features)


@pytest.mark.parametrize("name", VIDEO)
def test_nets_take_colour_and_other_clip_lengths(name: str) -> None:
    torch.manual_seed(0)
    net = from_yaml(name, in_channels=3, image_size=(20, 24), frames=3, num_classes=5).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 3, 3, 20, 24)).shape == (2, 5)


def test_the_backbone_gets_the_data_shapes() -> None:
    net = from_yaml("cnn_rnn", in_channels=3, num_classes=5)
    assert isinstance(net, CnnRnn) and isinstance(net.backbone, CNN)
    assert net.backbone.features[0][0][0].in_channels == 3
    # flatten head of the 32 -> 4 pixel map: 16 channels * 4 * 4 features per frame
    assert net.num_features == net.rnn.hidden_size == net.rnn.input_size == 256
    assert net.cell == "gru" and isinstance(net.rnn, nn.GRU)


def permuted(x: torch.Tensor) -> torch.Tensor:
    return x[:, torch.tensor([3, 0, 2, 1, 5, 4, 7, 6])]


@pytest.mark.parametrize("name", ["cnn_rnn", "conv3d"])
def test_nets_of_the_frames_in_order_depend_on_it(name: str) -> None:
    torch.manual_seed(0)
    net = from_yaml(name).eval()
    x = torch.randn(4, 8, 1, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(net(x), net(permuted(x)), atol=1e-4)
        assert not torch.allclose(net(x), net(x.flip(1)), atol=1e-4)


def test_frame_average_does_not_see_the_order() -> None:
    torch.manual_seed(0)
    net = from_yaml("frame_average").eval()
    x = torch.randn(4, 8, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(net(permuted(x)), net(x), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(net(x.flip(1)), net(x), atol=1e-5, rtol=1e-5)
        # it is the image net on the mean frame
        torch.testing.assert_close(net(x), net.backbone(x.mean(1)), atol=0, rtol=0)


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_cnn_rnn_cells(cell: str) -> None:
    torch.manual_seed(0)
    net = CnnRnn(CnnRnn._example_backbone(), cell=cell, num_layers=2, dropout=0.1)
    assert type(net.rnn).__name__ == cell.upper() and net.rnn.num_layers == 2
    out = net(torch.randn(3, 5, 1, 8, 8))
    assert out.shape == (3, 3) and torch.isfinite(out).all()


def test_cnn_rnn_features_are_the_last_hidden_state() -> None:
    torch.manual_seed(0)
    net = CnnRnn(CnnRnn._example_backbone()).eval()
    x = torch.randn(2, 4, 1, 8, 8)
    with torch.no_grad():
        frames = torch.stack([net.backbone.forward_features(x[:, t]) for t in range(4)], 1)
        outputs, _ = net.rnn(frames)  # (B, T, D), one frame at a time through the CNN
        torch.testing.assert_close(net.forward_features(x), outputs[:, -1])


def test_reset_head_is_the_backbones() -> None:
    net = from_yaml("cnn_rnn")
    net.reset_head(3)
    assert net(torch.randn(2, 8, 1, 32, 32)).shape == (2, 3)
    assert net.backbone.head.mlp[-1].out_features == 3


def test_conv3d_pools_time_while_two_frames_remain() -> None:
    net = Conv3dNet(in_channels=1, num_classes=2, frames=2, channels=[4, 4, 4])
    pools = [block[-1].kernel_size for block in net.blocks]
    assert pools == [(2, 2, 2), (1, 2, 2), (1, 2, 2)]
    maps = net.blocks(torch.randn(1, 1, 2, 8, 8))
    assert maps.shape == (1, 4, 1, 1, 1)
    # a single frame works too (ceil-mode pools never shrink a size to 0)
    assert Conv3dNet(1, 2)(torch.randn(2, 1, 1, 5, 5)).shape == (2, 2)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Conv3dNet(1, 2, channels=[]), "one or more positive"),
        (lambda: Conv3dNet(1, 2, kernel_size=4), "positive odd"),
        (lambda: CnnRnn(CnnRnn._example_backbone(), cell="tcn"), "unknown cell 'tcn'"),
        (lambda: CnnRnn(CnnRnn._example_backbone(), num_layers=0), "num_layers=0"),
        (lambda: FrameAverage({"_target_": "dlzoo.models.cnn.CNN"}), "takes a built image net"),
    ],
)
def test_bad_values_are_config_errors(build, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build()
