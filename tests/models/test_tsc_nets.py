"""The time series classification nets of the literature (MLP, FCN and ResNet of Wang et
al. 2017, InceptionTime of Ismail Fawaz et al. 2020): shapes for fixed and variable
lengths, padding that never counts, the parameter counts their layers imply, the
residual shortcuts, the presets, and each net trained by the pipeline on UCR data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.temporal_blocks import TemporalInceptionModule, TemporalResidual
from dlzoo.layers.temporal_conv import MaskedBatchNorm1d, TemporalConvBlock
from dlzoo.models import create_model
from dlzoo.models.fcn import FCN
from dlzoo.models.inception_time import InceptionTime
from dlzoo.models.mlp_ts import TimeSeriesMLP
from dlzoo.models.resnet_ts import TimeSeriesResNet
from dlzoo.run.pipeline import train

LENGTHS = torch.tensor([12, 5, 9, 1])
STEPS, CHANNELS, CLASSES = 12, 3, 4

# small nets of each architecture, with the paper's structure
NETS: dict[str, Callable[[], nn.Module]] = {
    "mlp_ts": lambda: TimeSeriesMLP(CHANNELS, STEPS, (6, 5), num_classes=CLASSES),
    "fcn": lambda: FCN(CHANNELS, (4, 6, 4), num_classes=CLASSES),
    "resnet_ts": lambda: TimeSeriesResNet(CHANNELS, (4, 5, 5), num_classes=CLASSES),
    "inception_time": lambda: InceptionTime(
        CHANNELS, depth=4, filters=2, kernel_sizes=(8, 4, 2), bottleneck_size=3, num_classes=CLASSES
    ),
}


def junk_padded(seed: int = 0) -> torch.Tensor:
    """(4, 12, 3) random series of LENGTHS, with large random junk after each length."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(len(LENGTHS), STEPS, CHANNELS, generator=gen)
    pad = torch.arange(STEPS)[None, :] >= LENGTHS[:, None]
    junk = 100 * torch.randn(x.shape, generator=gen)
    return torch.where(pad[..., None], junk, x)


def trained_stats(net: nn.Module) -> nn.Module:
    """The net after a few training passes, so batch norm's running statistics are
    not the identity, then in eval mode."""
    with torch.no_grad():
        for seed in range(3):
            net(junk_padded(seed + 10), LENGTHS)
    return net.eval()


@pytest.mark.parametrize("name", NETS)
def test_shapes_for_fixed_and_variable_lengths(name: str) -> None:
    torch.manual_seed(0)
    net = NETS[name]()
    x = junk_padded()
    assert net(x).shape == (4, CLASSES)  # fixed length: every series full
    assert net(x, LENGTHS).shape == (4, CLASSES)
    assert net.forward_features(x, LENGTHS).shape == (4, net.num_features)
    assert net(x[:, :7], LENGTHS.clamp(max=7)).shape == (4, CLASSES)  # a trimmed batch
    net.reset_head(2)
    assert net(x, LENGTHS).shape == (4, 2)


@pytest.mark.parametrize("name", NETS)
def test_junk_after_the_length_never_changes_the_output(name: str) -> None:
    torch.manual_seed(0)
    net = trained_stats(NETS[name]())
    x = junk_padded()
    with torch.no_grad():
        batched = net(x, LENGTHS)
        for b, n in enumerate(LENGTHS.tolist()):
            alone = net(x[b : b + 1, :n])  # the series alone, no padding
            torch.testing.assert_close(batched[b : b + 1], alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["fcn", "resnet_ts", "inception_time"])
def test_batch_statistics_count_real_steps_only(name: str) -> None:
    # in training mode too: junk or zeros after the lengths give the same batch norm
    torch.manual_seed(0)
    net = NETS[name]().train()
    x = junk_padded()
    zeros = x.masked_fill((torch.arange(STEPS)[None, :] >= LENGTHS[:, None])[..., None], 0.0)
    torch.testing.assert_close(net(x, LENGTHS), net(zeros, LENGTHS))


def test_fcn_average_pools_the_real_steps_only() -> None:
    torch.manual_seed(0)
    net = trained_stats(FCN(CHANNELS, (4, 6, 4), num_classes=CLASSES))
    x = junk_padded()
    with torch.no_grad():
        steps = net.features(x, LENGTHS)  # (B, T, 4)
        expected = torch.stack([steps[b, :n].mean(0) for b, n in enumerate(LENGTHS.tolist())])
        torch.testing.assert_close(net.forward_features(x, LENGTHS), expected)
        assert (steps[1, 5:] == 0).all()  # zero after the length


def test_mlp_pads_short_series_and_cuts_long_ones() -> None:
    torch.manual_seed(0)
    net = TimeSeriesMLP(2, 6, (5,), num_classes=3).eval()
    x = torch.randn(1, 4, 2)
    padded = torch.cat([x, torch.zeros(1, 2, 2)], dim=1)  # (1, 6, 2)
    torch.testing.assert_close(net.flatten(x), padded.flatten(1))
    torch.testing.assert_close(net(x), net(padded))
    longer = torch.cat([padded, torch.randn(1, 3, 2)], dim=1)  # 9 steps: the last 3 cut
    torch.testing.assert_close(net(longer), net(padded))
    assert net.flatten(x)[0, :2].tolist() == x[0, 0].tolist()  # step by step


# --------------------------------------------------------------------------- parameters


def conv(c_in: int, c_out: int, k: int) -> int:
    """Weights of a Conv1d without bias (a batch norm or nothing follows)."""
    return c_in * c_out * k


def bn(c: int) -> int:
    return 2 * c  # scale and shift


def dense(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_fcn_has_the_weights_of_its_layers() -> None:
    # one channel, two classes: conv 128x8, 256x5, 128x3, each with batch norm
    expected = conv(1, 128, 8) + bn(128) + conv(128, 256, 5) + bn(256)
    expected += conv(256, 128, 3) + bn(128) + dense(128, 2)
    assert count(FCN(1, num_classes=2)) == expected == 264_450
    # the reference Keras code keeps a bias on each convolution before batch norm
    assert expected + 128 + 256 + 128 == 264_962


def test_resnet_has_the_weights_of_its_layers() -> None:
    def block(c_in: int, c_out: int) -> int:
        body = conv(c_in, c_out, 8) + conv(c_out, c_out, 5) + conv(c_out, c_out, 3)
        shortcut = conv(c_in, c_out, 1) + bn(c_out) if c_in != c_out else bn(c_out)
        return body + 3 * bn(c_out) + shortcut

    expected = block(1, 64) + block(64, 128) + block(128, 128) + dense(128, 2)
    assert count(TimeSeriesResNet(1, num_classes=2)) == expected == 503_106


def test_inception_time_has_the_weights_of_its_layers() -> None:
    def module(c_in: int) -> int:
        bottleneck = conv(c_in, 32, 1) if c_in > 1 else 0
        width = 32 if c_in > 1 else c_in
        branches = sum(conv(width, 32, k) for k in (40, 20, 10)) + conv(c_in, 32, 1)
        return bottleneck + branches + bn(128)

    shortcuts = conv(1, 128, 1) + bn(128) + conv(128, 128, 1) + bn(128)
    expected = module(1) + 5 * module(128) + shortcuts + dense(128, 2)
    assert count(InceptionTime(1, num_classes=2)) == expected == 420_450
    # 12 channels (JapaneseVowels): the first module gets a bottleneck too
    expected_12 = module(12) + 5 * module(128) + conv(12, 128, 1) + bn(128)
    expected_12 += conv(128, 128, 1) + bn(128) + dense(128, 9)
    assert count(InceptionTime(12, num_classes=9)) == expected_12


def test_mlp_has_the_weights_of_its_layers() -> None:
    expected = dense(150, 500) + 2 * dense(500, 500) + dense(500, 2)
    assert count(TimeSeriesMLP(1, 150, num_classes=2)) == expected == 577_502


def test_mlp_dropouts_are_the_papers() -> None:
    net = TimeSeriesMLP(1, 150, num_classes=2)
    drops = [m.p for m in net.body if isinstance(m, nn.Dropout)]
    assert drops == [0.1, 0.2, 0.2]
    assert net.head.dropout.p == 0.3 and net.num_features == 500


# --------------------------------------------------------------------------- shortcuts


def test_resnet_shortcuts_project_where_the_channels_change() -> None:
    net = TimeSeriesResNet(1, num_classes=2)
    first, second, third = net.layers
    assert isinstance(first.shortcut, TemporalConvBlock)
    assert first.shortcut.conv.weight.shape == (64, 1, 1)
    assert second.shortcut.conv.weight.shape == (128, 64, 1)
    assert isinstance(third.shortcut, MaskedBatchNorm1d) and third.shortcut.num_features == 128
    assert [b.conv.kernel_size[0] for b in first.blocks] == [8, 5, 3]
    h = torch.randn(2, 1, 20)
    assert first(h).shape == (2, 64, 20) and first.shortcut(h).shape == (2, 64, 20)


def test_inception_time_has_a_residual_every_three_modules() -> None:
    net = InceptionTime(1, num_classes=2)
    assert [type(layer) for layer in net.layers] == [TemporalResidual, TemporalResidual]
    assert all(len(layer.blocks) == 3 for layer in net.layers)
    # the reference code projects every shortcut, even 128 -> 128
    assert [layer.shortcut.conv.weight.shape for layer in net.layers] == [
        (128, 1, 1),
        (128, 128, 1),
    ]
    first = net.layers[0].blocks[0]
    assert first.bottleneck is None  # one channel: nothing to squeeze
    assert [c.conv.kernel_size[0] for c in first.convs] == [40, 20, 10]
    assert net.layers[0].blocks[1].bottleneck.conv.weight.shape == (32, 128, 1)
    # depth 7: two residual groups, then one module without
    net = InceptionTime(1, depth=7, num_classes=2)
    assert isinstance(net.layers[2], TemporalInceptionModule) and len(net.layers) == 3
    plain = InceptionTime(1, residual=False, num_classes=2)
    assert not any(isinstance(m, TemporalResidual) for m in plain.layers)


def test_even_kernels_pad_same_as_keras() -> None:
    # "same" for a kernel of 40: 19 steps before, 20 after
    block = TemporalInceptionModule(1).convs[0]
    assert block.padding == (19, 20)
    h = torch.randn(1, 1, 50)
    assert TemporalInceptionModule(1)(h).shape == (1, 128, 50)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: FCN(1, (128, 256), (8, 5, 3), num_classes=2), "one kernel per block"),
        (lambda: TimeSeriesResNet(1, (), num_classes=2), "at least one"),
        (lambda: InceptionTime(1, depth=0, num_classes=2), "depth must be >= 1"),
        (lambda: InceptionTime(1, kernel_sizes=(), num_classes=2), "kernels >= 1"),
        (lambda: TimeSeriesMLP(1, 0, num_classes=2), "seq_len"),
        (lambda: TimeSeriesMLP(1, 9, input_dropout=1.0, num_classes=2), "input_dropout"),
        (lambda: TemporalResidual([nn.Identity()], 3, 4, projection=False), "projection=True"),
    ],
)
def test_bad_values_are_config_errors(build: Callable[[], nn.Module], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build()


# --------------------------------------------------------------------------- presets


@pytest.mark.parametrize(
    ("name", "params"),
    [("fcn", 264_450), ("resnet_ts", 503_106), ("inception_time", 420_450), ("mlp_ts", 577_502)],
)
def test_presets_build_the_published_nets(name: str, params: int) -> None:
    shapes = {"input_size": 1, "num_classes": 2}
    net = create_model(name, **shapes, **({"seq_len": 150} if name == "mlp_ts" else {}))
    assert count(net) == params
    assert net(torch.randn(2, 150, 1)).shape == (2, 2)


@pytest.mark.parametrize("model", list(NETS))
def test_each_net_trains_on_variable_length_series(make_cfg, model: str) -> None:
    # the model swap on an experiment of another net: JapaneseVowels, 7-29 steps, 12 channels
    cfg = make_cfg("experiment=vowels_gru", f"model={model}", "debug=limit", "trainer.max_epochs=1")
    train(cfg)
    metrics = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())
    assert metrics["model"] == model and 0 <= metrics["test"]["test/acc"] <= 1
