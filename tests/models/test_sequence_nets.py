"""Sequence nets: padding never changes an output, causal convolutions do not look
ahead, the baselines forecast what they should by hand, one net serves both heads, and
every sequence model YAML builds and runs with the shapes the data provides."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest
import torch
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.models import get_model_class, model_config_dir
from dlzoo.models.conv1d import ConvNet1d
from dlzoo.models.forecast import LinearForecast, NaiveForecast
from dlzoo.models.rnn import AttentionRNN, RecurrentEncoder, RecurrentNet

LENGTHS = torch.tensor([5, 2, 4, 1])
STEPS, FEATURES = 5, 3


def padded_batch(seed: int = 0) -> torch.Tensor:
    """(4, 5, 3) random sequences of LENGTHS; the padding holds a large value, which no
    net may see (the contract pads with zeros, so this is the harder case)."""
    torch.manual_seed(seed)
    x = torch.randn(len(LENGTHS), STEPS, FEATURES)
    pad = torch.arange(STEPS)[None, :] >= LENGTHS[:, None]
    return x.masked_fill(pad[..., None], 100.0)


NETS: dict[str, Callable[[], nn.Module]] = {
    **{
        f"{cell}-{pooling}{'-bi' if bi else ''}": (
            lambda cell=cell, pooling=pooling, bi=bi: RecurrentNet(
                FEATURES, cell, 6, num_layers=2, bidirectional=bi, pooling=pooling, num_classes=3
            )
        )
        for cell in ("rnn", "gru", "lstm")
        for pooling in ("last", "mean", "max")
        for bi in (False, True)
    },
    "attention_gru-bi": lambda: AttentionRNN(
        FEATURES, "gru", 6, num_layers=2, bidirectional=True, num_classes=3
    ),
    "attention_lstm": lambda: AttentionRNN(FEATURES, "lstm", 6, horizon=2, output_size=2),
    **{
        f"conv1d-{pooling}{'-causal' if causal else ''}": (
            lambda pooling=pooling, causal=causal: ConvNet1d(
                FEATURES, (4, 5), dilation_base=2, causal=causal, pooling=pooling, num_classes=3
            )
        )
        for pooling in ("last", "mean", "max")
        for causal in (False, True)
    },
    "conv1d-even-kernel": lambda: ConvNet1d(
        FEATURES, (4,), kernel_size=4, pooling="mean", horizon=2, output_size=1
    ),
}


def _train_batch_norm(net: nn.Module) -> None:
    """A few training passes, so that batch norm's running statistics are not the
    identity and the eval-mode comparison below exercises them."""
    with torch.no_grad():
        for seed in range(3):
            net(padded_batch(seed + 10), LENGTHS)


@pytest.mark.parametrize("name", NETS)
def test_padding_never_changes_the_output(name: str) -> None:
    torch.manual_seed(0)
    net = NETS[name]()
    _train_batch_norm(net)
    net.eval()
    x = padded_batch()
    with torch.no_grad():
        batched = net(x, LENGTHS)
        features = net.forward_features(x, LENGTHS)  # lengths pass through the net API
        assert features.shape == (len(LENGTHS), net.num_features)
        torch.testing.assert_close(batched, net.forward_head(features), rtol=0, atol=0)
        for b, n in enumerate(LENGTHS.tolist()):
            alone = net(x[b : b + 1, :n])  # unpadded, lengths=None
            torch.testing.assert_close(batched[b : b + 1], alone, atol=1e-5, rtol=1e-5)
            alone = net.forward_features(x[b : b + 1, :n])
            torch.testing.assert_close(features[b : b + 1], alone, atol=1e-5, rtol=1e-5)


def test_attention_pooling_of_a_recurrent_net_is_the_attention_rnn() -> None:
    torch.manual_seed(0)
    pooled = RecurrentNet(FEATURES, "gru", 6, pooling="attention", attention_size=3, horizon=2,
                          output_size=1)  # fmt: skip
    torch.manual_seed(0)
    attention = AttentionRNN(FEATURES, "gru", 6, attention_size=3, horizon=2, output_size=1)
    assert pooled.state_dict().keys() == attention.state_dict().keys()
    for key, value in pooled.state_dict().items():
        torch.testing.assert_close(value, attention.state_dict()[key], msg=key)
    x = padded_batch()
    with torch.no_grad():
        torch.testing.assert_close(pooled.eval()(x, LENGTHS), attention.eval()(x, LENGTHS))
    torch.testing.assert_close(pooled.last_attention, attention.last_attention)
    assert attention.pooling == "attention" and RecurrentNet(2, num_classes=2).pooling == "last"
    # a recurrent net with another pooling keeps no weights
    assert RecurrentNet(2, pooling="mean", num_classes=2).last_attention is None


def test_recurrent_last_pooling_features_are_the_final_state() -> None:
    torch.manual_seed(0)
    net = RecurrentNet(FEATURES, "lstm", 4, bidirectional=True, num_classes=2).eval()
    x = padded_batch()
    with torch.no_grad():
        _, final = net.encoder(x, LENGTHS)
        torch.testing.assert_close(net.forward_features(x, LENGTHS), final)
    assert net.num_features == 8


def test_conv_features_are_the_pooled_last_layer() -> None:
    torch.manual_seed(0)
    net = ConvNet1d(FEATURES, (4, 5), pooling="max", num_classes=2).eval()
    x = padded_batch()
    with torch.no_grad():
        steps = net.features(x, LENGTHS)  # (B, T, 5), zero on padding
        expected = torch.stack([steps[b, :n].amax(0) for b, n in enumerate(LENGTHS.tolist())])
        torch.testing.assert_close(net.forward_features(x, LENGTHS), expected)
    assert net.num_features == 5


def test_sliced_batch_keeps_its_padded_length() -> None:
    # the pipeline's check runs the net on x[:2] whose lengths may all be < T
    net = RecurrentNet(FEATURES, "gru", 4, pooling="mean", num_classes=2).eval()
    x = padded_batch()
    with torch.no_grad():
        torch.testing.assert_close(net(x[1:2], LENGTHS[1:2]), net(x[1:2, :2]))


def test_bidirectional_last_state_is_forward_end_and_backward_start() -> None:
    torch.manual_seed(0)
    encoder = RecurrentEncoder(FEATURES, "lstm", 4, num_layers=2, bidirectional=True).eval()
    x = padded_batch()
    with torch.no_grad():
        states, final = encoder(x, LENGTHS)
    assert states.shape == (4, STEPS, 8) and final.shape == (4, 8)
    for b, n in enumerate(LENGTHS.tolist()):
        torch.testing.assert_close(final[b, :4], states[b, n - 1, :4])  # forward, at the end
        torch.testing.assert_close(final[b, 4:], states[b, 0, 4:])  # backward, at the start
        assert (states[b, n:] == 0).all()


def test_attention_weights_are_zero_on_padding_and_sum_to_one() -> None:
    torch.manual_seed(0)
    net = AttentionRNN(FEATURES, "gru", 6, num_classes=3).eval()
    assert net.last_attention is None
    with torch.no_grad():
        net(padded_batch(), LENGTHS)
    weights = net.last_attention
    pad = torch.arange(STEPS)[None, :] >= LENGTHS[:, None]
    assert weights.shape == (4, STEPS) and not weights.requires_grad
    assert (weights[pad] == 0).all() and (weights[~pad] > 0).all()
    torch.testing.assert_close(weights.sum(1), torch.ones(4))
    assert weights[3, 0].item() == pytest.approx(1.0)  # a one-step sequence


@pytest.mark.parametrize("causal", [True, False])
def test_causal_conv_features_ignore_later_inputs(causal: bool) -> None:
    torch.manual_seed(0)
    net = ConvNet1d(2, (4, 4, 4), dilation_base=2, causal=causal, num_classes=2).eval()
    x = torch.randn(1, 12, 2)
    changed = x.clone()
    changed[0, 6] += 1.0
    with torch.no_grad():
        diff = (net.features(changed) - net.features(x)).abs().sum(-1)[0]  # (T,)
    if causal:
        assert (diff[:6] == 0).all() and (diff[6:] > 0).all()
    else:
        assert (diff[:6] > 0).any()  # the test can tell causal from centred


def test_causal_conv_last_step_equals_the_truncated_sequence() -> None:
    # with pooling="last", the output for x[:, :t+1] is the head of step t's features
    torch.manual_seed(0)
    net = ConvNet1d(2, (3, 3), kernel_size=2, causal=True, pooling="last", num_classes=2).eval()
    x = torch.randn(1, 8, 2)
    with torch.no_grad():
        features = net.features(x)  # (1, 8, 3)
        for t in range(8):
            torch.testing.assert_close(net(x[:, : t + 1]), net.head(features[:, t]))


def test_conv_dilation_grows_the_receptive_field() -> None:
    torch.manual_seed(0)
    net = ConvNet1d(1, (2, 2, 2), kernel_size=3, dilation_base=2, causal=True, num_classes=2)
    assert net.receptive_field == 1 + 2 * (1 + 2 + 4)
    assert [layer.conv.dilation[0] for layer in net.layers] == [1, 2, 4]
    net = ConvNet1d(1, (2, 2, 2), dilation_base=2, causal=True, activation="tanh", num_classes=2)
    x = torch.randn(1, 20, 1)
    changed = x.clone()
    changed[0, 0] += 1.0
    with torch.no_grad():
        diff = (net.eval().features(changed) - net.features(x)).abs().sum(-1)[0]
    # step 0 reaches steps 0..14 and no further
    assert diff.nonzero().flatten().tolist() == list(range(15))


def test_naive_forecast_repeats_the_last_value() -> None:
    # two target series and a covariate that the forecast must ignore
    x = torch.tensor([[[1.0, 10.0, 0.5], [2.0, 20.0, 0.5], [3.0, 30.0, 0.5]]])
    out = NaiveForecast(window=3, horizon=2, output_size=2)(x)
    assert out.tolist() == [[[3.0, 30.0], [3.0, 30.0]]]


def test_seasonal_naive_forecast_repeats_the_last_season() -> None:
    series = torch.arange(1.0, 8.0).view(1, 7, 1)  # 1..7
    out = NaiveForecast(window=7, horizon=7, output_size=1, period=3)(series)
    # last season 5, 6, 7, repeated; y[t + h - 3 ceil(h / 3)] with t the last step
    assert out.flatten().tolist() == [5.0, 6.0, 7.0, 5.0, 6.0, 7.0, 5.0]
    assert list(NaiveForecast(7, 1, 1).parameters()) == []


def test_naive_forecast_rejects_a_season_longer_than_the_window() -> None:
    with pytest.raises(ConfigError, match="period=4 is longer than the input window=3"):
        NaiveForecast(window=3, horizon=2, output_size=1, period=4)
    with pytest.raises(ValueError, match="T >= period=3"):
        NaiveForecast(window=5, horizon=2, output_size=1, period=3)(torch.zeros(1, 2, 1))
    assert "num_classes" not in inspect.signature(NaiveForecast).parameters


def test_naive_forecast_features_are_the_last_season_of_the_targets() -> None:
    x = torch.arange(1.0, 13.0).view(1, 4, 3)  # steps 1..4, features (a, b, covariate)
    net = NaiveForecast(window=4, horizon=3, output_size=2, period=2)
    features = net.forward_features(x)
    assert net.num_features == 4
    assert features.tolist() == [[7.0, 8.0, 10.0, 11.0]]  # steps 3 and 4, targets only
    assert net.forward_head(features).tolist() == [[[7.0, 8.0], [10.0, 11.0], [7.0, 8.0]]]


def test_linear_forecast_reset_head_classifies_the_window() -> None:
    net = LinearForecast(window=2, input_size=2, horizon=3, output_size=1)
    x = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    assert net.num_features == 4 and net.forward_features(x).tolist() == [[1.0, 2.0, 3.0, 4.0]]
    net.reset_head(2)
    assert net.num_classes == 2 and net.linear.in_features == 4
    with torch.no_grad():
        net.linear.weight.copy_(torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]))
        net.linear.bias.fill_(0.5)
    assert net(x).tolist() == [[1.5, 4.5]]


def test_linear_forecast_by_hand() -> None:
    net = LinearForecast(window=2, input_size=1, horizon=1, output_size=1)
    with torch.no_grad():
        net.linear.weight.copy_(torch.tensor([[0.5, 2.0]]))
        net.linear.bias.fill_(1.0)
    assert net(torch.tensor([[[3.0], [4.0]]])).item() == 0.5 * 3 + 2 * 4 + 1


def test_linear_forecast_is_a_step_major_matrix_product() -> None:
    window, features, horizon, targets = 3, 2, 4, 2
    net = LinearForecast(window, features, horizon, targets)
    weight = torch.arange(horizon * targets * window * features, dtype=torch.float32) / 50
    bias = torch.arange(horizon * targets, dtype=torch.float32)
    with torch.no_grad():
        net.linear.weight.copy_(weight.view(horizon * targets, window * features))
        net.linear.bias.copy_(bias)
    x = torch.randn(5, window, features)
    expected = torch.zeros(5, horizon, targets)
    for h in range(horizon):
        for c in range(targets):
            row = h * targets + c
            for t in range(window):
                for f in range(features):
                    expected[:, h, c] += (
                        weight[row * window * features + t * features + f] * x[:, t, f]
                    )
            expected[:, h, c] += bias[row]
    torch.testing.assert_close(net(x), expected)
    with pytest.raises(ValueError, match="window=3, input_size=2"):
        net(torch.randn(5, 4, features))


@pytest.mark.parametrize("cls", [RecurrentNet, AttentionRNN, ConvNet1d])
def test_one_net_serves_both_heads(cls: type[nn.Module]) -> None:
    x = torch.randn(3, 6, 2)
    assert cls(2, num_classes=4)(x).shape == (3, 4)
    assert cls(2, horizon=5, output_size=2)(x).shape == (3, 5, 2)
    for bad in ({}, {"num_classes": 4, "horizon": 5, "output_size": 2}, {"horizon": 5}):
        with pytest.raises(ConfigError, match="horizon"):
            cls(2, **bad)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: RecurrentNet(2, "transformer", num_classes=2), "unknown cell 'transformer'"),
        (
            lambda: RecurrentNet(2, pooling="median", num_classes=2),
            r"unknown pooling 'median'.*last, mean, max, attention",
        ),
        (
            lambda: RecurrentNet(2, pooling="mean", attention_size=4, num_classes=2),
            "attention_size=4 needs pooling='attention'",
        ),
        (lambda: RecurrentNet(2, dropout=1.0, num_classes=2), "dropout must be in"),
        (lambda: ConvNet1d(2, channels=(), num_classes=2), "at least one positive width"),
        (lambda: ConvNet1d(2, activation="swish", num_classes=2), "unknown activation"),
        (lambda: LinearForecast(0, 1, 1, 1), "window must be >= 1"),
    ],
)
def test_bad_values_are_config_errors(build: Callable[[], nn.Module], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build()


def test_registered_names() -> None:
    assert get_model_class("recurrent") is RecurrentNet
    assert get_model_class("attention_rnn") is AttentionRNN
    assert get_model_class("conv1d") is ConvNet1d
    assert get_model_class("naive") is NaiveForecast
    assert get_model_class("linear") is LinearForecast


# --------------------------------------------------------------------------- model YAMLs

CONF = model_config_dir()
SEQUENCE_CONFIGS = ["rnn", "gru", "lstm", "gru_attention", "conv1d", "naive", "linear"]
DATA_SHAPES = {"input_size", "num_classes", "horizon", "output_size", "window"}
CLASSIFICATION = {"input_size": 3, "num_classes": 4}
FORECASTING = {"input_size": 3, "output_size": 2, "window": 8, "horizon": 5}


def build(name: str, provided: dict[str, int]) -> nn.Module | None:
    """The net of ``conf/model/<name>.yaml`` with the data's arguments it declares, or
    ``None`` when it lacks one it requires (the pipeline refuses that pair)."""
    cfg = OmegaConf.load(CONF / f"{name}.yaml")
    params = inspect.signature(get_class(cfg._target_)).parameters
    # keys match the constructor one to one, and no data shape is hard-coded
    assert set(cfg) - {"_target_"} <= set(params) - DATA_SHAPES
    required = {n for n, p in params.items() if p.default is p.empty}
    if not required <= set(provided):
        return None
    return instantiate(cfg, **{k: v for k, v in provided.items() if k in params})


@pytest.mark.parametrize("name", SEQUENCE_CONFIGS)
def test_model_config_builds_for_classification(name: str) -> None:
    net = build(name, CLASSIFICATION)
    if name in ("naive", "linear"):  # forecasters only
        assert net is None
        return
    out = net(torch.randn(2, 7, 3), torch.tensor([7, 4]))
    assert out.shape == (2, 4) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", SEQUENCE_CONFIGS)
def test_model_config_builds_for_forecasting(name: str) -> None:
    net = build(name, FORECASTING)
    out = net(torch.randn(2, 8, 3))
    assert out.shape == (2, 5, 2) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["rnn", "gru", "lstm"])
def test_recurrent_configs_pick_their_cell(name: str) -> None:
    net = build(name, CLASSIFICATION)
    assert net.encoder.cell == name and type(net.encoder.rnn).__name__ == name.upper()
