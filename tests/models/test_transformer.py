"""TransformerNet: tokens or features in, padding never changes an output, the attention
map is a distribution over the real steps, order matters only with positions, bad
configs say so, and the net exports to ONNX with dynamic batch and sequence axes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

import dlzoo.models.transformer  # noqa: F401  (registers the net; models/__init__ may not yet)
from dlzoo.errors import ConfigError
from dlzoo.models import create_model, get_model_class, model_config_dir
from dlzoo.models.transformer import TransformerNet

VOCAB, FEATURES, STEPS = 13, 3, 7
LENGTHS = torch.tensor([7, 2, 5, 1])
YAML = model_config_dir() / "transformer.yaml"


def token_batch(seed: int = 0) -> torch.Tensor:
    """(4, 7) ids of LENGTHS, padded with 0 after each sequence."""
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randint(1, VOCAB, (len(LENGTHS), STEPS), generator=gen)
    return tokens.masked_fill(torch.arange(STEPS) >= LENGTHS[:, None], 0)


def feature_batch(seed: int = 0) -> torch.Tensor:
    """(4, 7, 3) features of LENGTHS; the padding holds 100, which no step may see."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(len(LENGTHS), STEPS, FEATURES, generator=gen)
    return x.masked_fill((torch.arange(STEPS) >= LENGTHS[:, None])[..., None], 100.0)


def small_net(tokens: bool, **kwargs: object) -> TransformerNet:
    torch.manual_seed(0)
    inputs = {"vocab_size": VOCAB} if tokens else {"input_size": FEATURES}
    settings = {"d_model": 8, "num_heads": 2, "num_layers": 2, "max_length": 16}
    return TransformerNet(**inputs, **{**settings, **kwargs}, num_classes=3)  # type: ignore[arg-type]


CASES = [
    (tokens, pooling, causal, positional)
    for tokens in (True, False)
    for pooling in ("mean", "max", "cls")
    for causal in (False, True)
    for positional in ("sinusoidal", "learned")
    if not (pooling == "cls" and causal)
]


@pytest.mark.parametrize(
    ("tokens", "pooling", "causal", "positional"),
    CASES,
    ids=[
        f"{'tokens' if t else 'features'}-{p}-{'causal-' if c else ''}{e}" for t, p, c, e in CASES
    ],
)
def test_padding_never_changes_the_output(
    tokens: bool, pooling: str, causal: bool, positional: str
) -> None:
    net = small_net(tokens, pooling=pooling, causal=causal, positional=positional).eval()
    x = token_batch() if tokens else feature_batch()
    with torch.no_grad():
        batch = net(x, LENGTHS)
        for b, n in enumerate(LENGTHS.tolist()):
            alone = net(x[b : b + 1, :n])  # lengths=None: no padding at all
            torch.testing.assert_close(batch[b : b + 1], alone, rtol=0, atol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_last_attention_is_a_distribution_over_the_real_steps(pooling: str) -> None:
    net = small_net(True, pooling=pooling).eval()
    with torch.no_grad():
        net(token_batch(), LENGTHS)
    attention = net.last_attention
    assert attention is not None and attention.shape == (4, STEPS)
    assert not attention.requires_grad
    torch.testing.assert_close(attention.sum(1), torch.ones(4))
    padding = torch.arange(STEPS) >= LENGTHS[:, None]
    assert (attention[padding] == 0).all() and (attention[~padding] > 0).all()
    heads = net.encoder.layers[-1].attention.last_weights.mean(1)  # (B, T, T)
    if pooling == "cls":
        torch.testing.assert_close(attention, heads[:, 0], rtol=0, atol=0)
    else:  # sequence 1 has 2 real queries: the mean of their rows
        torch.testing.assert_close(attention[1], heads[1, :2].mean(0))


def test_tokens_are_embedded_and_scaled_by_the_root_of_d_model() -> None:
    net = small_net(True, positional="none")
    tokens = token_batch()
    expected = net.embedding.weight[tokens] * math.sqrt(8)
    torch.testing.assert_close(net._embed(tokens), expected, rtol=0, atol=0)
    assert (net._embed(tokens)[tokens == 0] == 0).all()  # the padding row stays zero
    assert net.input_projection is None and small_net(False).embedding is None


@pytest.mark.parametrize("positional", ["none", "sinusoidal"])
def test_order_matters_only_with_positions(positional: str) -> None:
    net = small_net(True, positional=positional).eval()
    tokens = torch.tensor([[1, 2, 3, 4, 5, 6]])
    with torch.no_grad():
        forward, backward = net(tokens), net(tokens.flip(1))
    # without positions, attention + mean pooling is a function of the set of tokens
    assert torch.allclose(forward, backward, atol=1e-5) == (positional == "none")


def test_a_forecasting_head_on_features() -> None:
    torch.manual_seed(0)
    net = TransformerNet(input_size=FEATURES, d_model=8, num_heads=2, horizon=4, output_size=2)
    assert net(feature_batch(), LENGTHS).shape == (4, 4, 2)
    assert net.num_features == 8 and net.forward_features(feature_batch()).shape == (4, 8)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of input_size .* got input_size=None, vocab_size=None"),
        ({"input_size": 3, "vocab_size": 9}, "exactly one of input_size"),
        ({"vocab_size": 9, "pooling": "last"}, "unknown pooling 'last'; valid poolings: mean"),
        ({"vocab_size": 9, "pooling": "cls", "causal": True}, "position 0 would see only"),
        ({"vocab_size": 9, "positional": "rope"}, "unknown positional encoding 'rope'"),
        ({"vocab_size": 9, "d_model": 10, "num_heads": 4}, "divide d_model=10"),
    ],
)
def test_bad_configs_say_what_to_change(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TransformerNet(**kwargs, num_classes=2)


def test_a_sequence_past_max_length_says_so() -> None:
    net = small_net(True, max_length=6)
    with pytest.raises(ConfigError, match="7 steps is longer than max_length=6"):
        net(token_batch(), LENGTHS)


def test_registered_and_the_yaml_builds_both_kinds() -> None:
    assert get_model_class("transformer") is TransformerNet
    cfg = OmegaConf.load(YAML)
    for shapes in ({"vocab_size": VOCAB, "padding_idx": 0}, {"input_size": FEATURES}):
        net = instantiate(cfg, _convert_="all", **shapes, num_classes=3)
        assert isinstance(net, TransformerNet) and net.num_features == cfg.d_model
        x = token_batch() if "vocab_size" in shapes else feature_batch()
        assert net(x, LENGTHS).shape == (4, 3)
    net = create_model("transformer", vocab_size=VOCAB, num_classes=2)
    assert len(net.encoder.layers) == cfg.num_layers and net.pooling == cfg.pooling


class TokensAndLengths(nn.Module):
    """The net as an exported graph sees it: two named inputs, logits out."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.net(tokens, lengths)


def test_onnx_export_takes_any_batch_and_length(tmp_path: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    model = TokensAndLengths(small_net(True, num_layers=1)).eval()
    path = tmp_path / "transformer.onnx"
    # as dlzoo.run.export._onnx does, with the sequence axis dynamic too
    batch, steps = torch.export.Dim("batch", min=1), torch.export.Dim("steps", min=1)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (token_batch(), LENGTHS),
            str(path),
            input_names=["tokens", "lengths"],
            output_names=["output"],
            dynamic_shapes=({0: batch, 1: steps}, {0: batch}),
            dynamo=True,
            verbose=False,
        )
    gen = torch.Generator().manual_seed(1)
    lengths = torch.tensor([11, 3, 9, 1, 6, 11])  # another batch size and length
    tokens = torch.randint(1, VOCAB, (6, 11), generator=gen)
    tokens = tokens.masked_fill(torch.arange(11) >= lengths[:, None], 0)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"tokens": tokens.numpy(), "lengths": lengths.numpy()})[0]
    with torch.no_grad():
        expected = model(tokens, lengths)
    torch.testing.assert_close(torch.from_numpy(got), expected, rtol=0, atol=1e-4)
