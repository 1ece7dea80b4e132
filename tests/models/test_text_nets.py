"""Text nets: padding never changes an output, the bags pool what they should by hand,
one-hot and embedding bags have the parameters they should, the padding row never
learns, attention ignores padding, and bad configs are refused."""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.attention import DotAttentionPooling
from dlzoo.models import create_model, get_model_class, list_models
from dlzoo.models.text_bag import BagOfEmbeddings
from dlzoo.models.text_cnn import TextCNN
from dlzoo.models.text_rnn import TextAttentionRNN, TextRNN

with contextlib.suppress(ImportError):  # another family; covered here once it exists
    import dlzoo.models.transformer  # noqa: F401

VOCAB = 20
# what a text datamodule provides (test_create_model.py's TEXT)
TEXT = {"vocab_size": VOCAB, "padding_idx": 0, "num_classes": 3}


def text_net(name: str, **kwargs: Any) -> nn.Module:
    """The net ``name`` (its YAML), given the data's shapes that it takes."""
    params = inspect.signature(get_model_class(name)).parameters
    return create_model(name, **{k: v for k, v in TEXT.items() if k in params}, **kwargs)


SMALL_RNN = {"embed_dim": 5, "hidden_size": 4}
NETS: dict[str, Callable[[], nn.Module]] = {
    "bag_of_embeddings": lambda: text_net("bag_of_embeddings", embed_dim=6),
    "bag_of_onehot": lambda: text_net("bag_of_onehot", head_hidden_sizes=[5]),
    **{
        f"text_{cell}-{pooling}{'-bi' if bi else ''}": (
            lambda cell=cell, pooling=pooling, bi=bi: text_net(
                f"text_{cell}", num_layers=2, bidirectional=bi, pooling=pooling, **SMALL_RNN
            )
        )
        for cell in ("gru", "lstm")
        for pooling in ("last", "mean", "max")
        for bi in (False, True)
    },
    "text_gru_attention-additive": lambda: text_net("text_gru_attention", **SMALL_RNN),
    "text_gru_attention-dot": lambda: text_net(
        "text_gru_attention", attention="dot", attention_size=3, **SMALL_RNN
    ),
    "text_cnn": lambda: text_net("text_cnn", embed_dim=5, num_filters=4),
    "text_cnn-even-wide": lambda: text_net(
        "text_cnn", embed_dim=5, kernel_sizes=[2, 4, 9], num_filters=3
    ),
}
if "transformer" in list_models():
    NETS["transformer"] = lambda: text_net("transformer")


def padded(*sequences: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids padded with 0 after each sequence, and the lengths."""
    lengths = torch.tensor([len(s) for s in sequences])
    tokens = torch.zeros(len(sequences), int(lengths.max()), dtype=torch.int64)
    for row, seq in enumerate(sequences):
        tokens[row, : len(seq)] = torch.tensor(seq)
    return tokens, lengths


SHORT, LONG = [4, 9, 4], [7, 1, 15, 3, 3, 11, 19, 2]


@pytest.mark.parametrize("name", NETS)
def test_padding_never_changes_the_output(name: str) -> None:
    torch.manual_seed(0)
    net = NETS[name]().eval()
    tokens, lengths = padded(SHORT, LONG, [5])
    with torch.no_grad():
        batch = net(tokens, lengths)
        for row, seq in enumerate((SHORT, LONG, [5])):
            alone = net(torch.tensor([seq]))
            torch.testing.assert_close(batch[row], alone[0], rtol=0, atol=1e-5)
        # the full-length batch needs no lengths
        torch.testing.assert_close(net(tokens[1:2], lengths[1:2]), net(tokens[1:2]))


def test_onehot_bag_is_the_term_frequencies() -> None:
    net = BagOfEmbeddings(vocab_size=5, one_hot=True, num_classes=2)
    tokens, lengths = padded([3, 1, 3], [2, 2, 4, 1, 0])
    features = net.forward_features(tokens, lengths)
    # counts / length over the real tokens; the padding is not a word
    expected = torch.tensor([[0, 1 / 3, 0, 2 / 3, 0], [1 / 5, 1 / 5, 2 / 5, 0, 1 / 5]])
    torch.testing.assert_close(features, expected)
    assert net.num_features == 5 and not list(net.embedding.parameters())


def test_sublinear_onehot_bag_is_log_counts_of_unit_length() -> None:
    net = BagOfEmbeddings(vocab_size=5, one_hot=True, sublinear=True, num_classes=2)
    tokens, lengths = padded([3, 1, 3], [2, 2, 4, 1, 0])
    features = net.forward_features(tokens, lengths)
    # 1 + log(count) per word that occurs, then each row divided by its length
    two = 1 + math.log(2)
    first = torch.tensor([0, 1, 0, two, 0]) / math.sqrt(1 + two**2)
    second = torch.tensor([1, 1, two, 0, 1]) / math.sqrt(3 + two**2)
    torch.testing.assert_close(features, torch.stack([first, second]))
    with pytest.raises(ConfigError, match="sublinear=true scales one-hot counts"):
        BagOfEmbeddings(vocab_size=5, sublinear=True, num_classes=2)


def test_embedding_bag_is_the_mean_of_the_real_tokens_rows() -> None:
    torch.manual_seed(0)
    net = BagOfEmbeddings(vocab_size=6, embed_dim=3, num_classes=2)
    table = net.embedding.weight.detach()
    tokens, lengths = padded([3, 1, 3], [5, 2, 4, 1, 2])
    features = net.forward_features(tokens, lengths)
    expected = torch.stack(
        [(2 * table[3] + table[1]) / 3, (table[5] + 2 * table[2] + table[4] + table[1]) / 5]
    )
    torch.testing.assert_close(features, expected)
    assert net.word_vectors() is net.embedding.weight


@pytest.mark.parametrize(
    ("hidden", "embedding_count", "onehot_count"),
    [
        # V*D + (D*K + K) against V*K + K
        ([], 50 * 8 + 8 * 4 + 4, 50 * 4 + 4),
        # V*D + (D*H + H) + (H*K + K) against (V*H + H) + (H*K + K)
        ([6], 50 * 8 + 8 * 6 + 6 + 6 * 4 + 4, 50 * 6 + 6 + 6 * 4 + 4),
    ],
)
def test_bag_parameter_counts(hidden: list[int], embedding_count: int, onehot_count: int) -> None:
    def count(net: nn.Module) -> int:
        return sum(p.numel() for p in net.parameters())

    shapes = {"vocab_size": 50, "num_classes": 4, "head_hidden_sizes": hidden}
    assert count(create_model("bag_of_embeddings", embed_dim=8, **shapes)) == embedding_count
    onehot = create_model("bag_of_onehot", embed_dim=8, **shapes)
    assert count(onehot) == onehot_count
    # the one-hot net's word vectors are its first layer's columns
    first = onehot.head.mlp[0][0] if hidden else onehot.head.mlp[0]
    assert onehot.word_vectors().shape == (50, (hidden or [4])[0])
    torch.testing.assert_close(onehot.word_vectors(), first.weight.t(), rtol=0, atol=0)


EMBEDDING_NETS = [n for n in NETS if n not in ("bag_of_onehot", "transformer")]


@pytest.mark.parametrize("name", EMBEDDING_NETS)
def test_gradient_reaches_the_embedding_but_not_the_padding_row(name: str) -> None:
    torch.manual_seed(0)
    net = NETS[name]()
    tokens, lengths = padded(SHORT, LONG)
    net(tokens, lengths).logsumexp(1).sum().backward()
    grad = net.embedding.weight.grad  # (V, D)
    used = torch.zeros(VOCAB, dtype=torch.bool)
    used[SHORT + LONG] = True
    reached = grad.abs().sum(1).gt(0)  # (V,)
    # a max pool may pass no gradient to some tokens; a mean pool passes it to all
    assert reached.any()
    if "mean" in name or name.startswith("bag"):
        assert reached[used].all()
    # the padding row (id 0) and the ids that never occur stay as they are
    assert not used[0] and not reached[~used].any()


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_packed_rnn_states_equal_the_unpadded_sequences(cell: str) -> None:
    torch.manual_seed(0)
    net = TextRNN(
        VOCAB, cell=cell, hidden_size=4, bidirectional=True, pooling="last", num_classes=2
    )
    tokens, lengths = padded(SHORT, LONG)
    vectors = net.embedding(tokens)
    states, final = net.encoder(vectors, lengths)
    for row, seq in enumerate((SHORT, LONG)):
        alone, _ = net.encoder.rnn(net.embedding(torch.tensor([seq])))  # (1, L, 2 * 4)
        torch.testing.assert_close(states[row, : len(seq)], alone[0], atol=1e-6, rtol=0)
        assert (states[row, len(seq) :] == 0).all()
        # forward: the state after the last real token; backward: after the first
        torch.testing.assert_close(final[row, :4], alone[0, -1, :4], atol=1e-6, rtol=0)
        torch.testing.assert_close(final[row, 4:], alone[0, 0, 4:], atol=1e-6, rtol=0)


@pytest.mark.parametrize("attention", ["additive", "dot"])
def test_attention_is_zero_on_padding_and_sums_to_one(attention: str) -> None:
    torch.manual_seed(0)
    net = TextAttentionRNN(VOCAB, embed_dim=5, hidden_size=4, attention=attention, num_classes=2)
    assert net.pooling == "attention" and net.attention_kind == attention
    assert isinstance(net.attention, DotAttentionPooling) == (attention == "dot")
    tokens, lengths = padded(SHORT, LONG, [6])
    net(tokens, lengths)
    weights = net.last_attention  # (B, T)
    assert weights.shape == tokens.shape and not weights.requires_grad
    pad = torch.arange(tokens.shape[1])[None, :] >= lengths[:, None]
    assert weights[pad].abs().max() == 0 and weights[~pad].gt(0).all()
    torch.testing.assert_close(weights.sum(1), torch.ones(3))
    assert weights[2, 0] == 1.0  # a single token takes all the weight


def test_dot_attention_pooling_by_hand() -> None:
    torch.manual_seed(0)
    pool = DotAttentionPooling(3, attention_size=2)
    h = torch.randn(1, 4, 3)
    mask = torch.tensor([[True, True, True, False]])
    pooled, weights = pool(h, mask)
    keys = h[0, :3] @ pool.key.weight.t()  # (3, A)
    scores = keys @ pool.query.detach() / math.sqrt(2)
    expected = torch.softmax(scores, 0)
    torch.testing.assert_close(weights[0], torch.cat([expected, torch.zeros(1)]).detach())
    torch.testing.assert_close(pooled[0], (expected[:, None] * h[0, :3]).sum(0).detach())


def test_text_cnn_even_kernel_pads_one_before_and_two_after() -> None:
    torch.manual_seed(0)
    net = TextCNN(VOCAB, embed_dim=3, kernel_sizes=[4, 5], num_filters=2, num_classes=2)
    # one token, shorter than both kernels: each window holds it at offset (k - 1) // 2
    features = net.forward_features(torch.tensor([[6]]))
    x = net.embedding.weight[6]  # (D,)
    expected = [
        torch.relu(conv.weight[:, :, (k - 1) // 2] @ x + conv.bias)
        for k, conv in zip((4, 5), net.convs, strict=True)
    ]
    torch.testing.assert_close(features[0], torch.cat(expected))
    assert net.num_features == 4


def test_text_cnn_sequences_shorter_than_the_widest_kernel() -> None:
    torch.manual_seed(0)
    net = create_model("text_cnn", vocab_size=VOCAB, num_classes=3, embed_dim=4).eval()
    tokens, lengths = padded([3], [8, 2])
    with torch.no_grad():
        out = net(tokens, lengths)
        assert out.shape == (2, 3) and torch.isfinite(out).all()
        torch.testing.assert_close(out[0], net(torch.tensor([[3]]))[0], rtol=0, atol=1e-6)
    assert net.kernel_sizes == (3, 4, 5) and net.num_features == 300


def test_presets_build_their_nets() -> None:
    assert get_model_class("bag_of_onehot") is get_model_class("bag_of_embeddings")
    assert text_net("bag_of_onehot").embedding.one_hot
    assert not text_net("bag_of_embeddings").embedding.one_hot
    lstm = text_net("text_lstm")
    assert type(lstm) is TextRNN and type(lstm.encoder.rnn) is nn.LSTM and lstm.pooling == "mean"
    attention = text_net("text_gru_attention")
    assert type(attention) is TextAttentionRNN and attention.encoder.num_directions == 2
    assert attention.attention_kind == "additive" and attention.num_features == 128


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: TextAttentionRNN(VOCAB, attention="cosine", num_classes=2),
            "unknown attention 'cosine'.*additive, dot",
        ),
        (
            lambda: TextRNN(VOCAB, attention="dot", pooling="mean", num_classes=2),
            "needs pooling='attention'",
        ),
        (lambda: TextRNN(VOCAB, pooling="first", num_classes=2), "unknown pooling 'first'"),
        (lambda: TextCNN(VOCAB, kernel_sizes=[], num_classes=2), "kernel_sizes is empty"),
        (lambda: TextCNN(VOCAB, kernel_sizes=[3, 0], num_classes=2), "kernel size must be >= 1"),
        (lambda: TextCNN(VOCAB, num_filters=0, num_classes=2), "num_filters must be >= 1"),
        (lambda: BagOfEmbeddings(1, num_classes=2), "vocab_size must be >= 2"),
        (lambda: TextCNN(VOCAB, padding_idx=VOCAB, num_classes=2), "padding_idx=20"),
        (lambda: BagOfEmbeddings(VOCAB), "exactly one head"),
    ],
)
def test_bad_configs_are_refused(make: Callable[[], nn.Module], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make()


def test_one_hot_codes_have_no_table_to_project() -> None:
    net = BagOfEmbeddings(vocab_size=5, one_hot=True, num_classes=2)
    with pytest.raises(ConfigError, match="no learned table"):
        _ = net.embedding.weight
