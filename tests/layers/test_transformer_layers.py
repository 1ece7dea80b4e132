"""Attention, positional encodings and the transformer encoder: our attention equals
PyTorch's, masks hide what they should, the encodings hold the paper's values, causal
outputs do not look ahead, padding changes no real position."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.layers.multihead_attention import MultiHeadAttention, scaled_dot_product_attention
from dlzoo.layers.positional import (
    LearnedPositionalEncoding,
    SinusoidalPositionalEncoding,
    make_positional_encoding,
    sinusoidal_table,
)
from dlzoo.layers.temporal_pool import lengths_to_mask
from dlzoo.layers.transformer import TransformerEncoder, TransformerEncoderBlock

LENGTHS = torch.tensor([5, 2, 4])


def qkv(seed: int = 0, steps_q: int = 5, steps_k: int = 5) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(3, 2, steps_q, 4, generator=gen)  # (B, H, T_q, d_k)
    k = torch.randn(3, 2, steps_k, 4, generator=gen)
    v = torch.randn(3, 2, steps_k, 6, generator=gen)  # d_v != d_k
    return q, k, v


def test_scores_are_scaled_by_the_root_of_the_key_width() -> None:
    q = torch.tensor([[[2.0, 0.0]]])  # (1, T_q=1, d_k=2)
    k = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # (1, T_k=2, 2)
    v = torch.tensor([[[1.0], [0.0]]])
    out, weights = scaled_dot_product_attention(q, k, v)
    # scores [2 / sqrt(2), 0]; softmax of [sqrt 2, 0]
    first = math.exp(math.sqrt(2)) / (math.exp(math.sqrt(2)) + 1.0)
    torch.testing.assert_close(weights, torch.tensor([[[first, 1.0 - first]]]))
    torch.testing.assert_close(out, torch.tensor([[[first]]]))


@pytest.mark.parametrize("case", ["none", "padding", "causal", "padding+causal"])
def test_attention_equals_pytorchs(case: str) -> None:
    q, k, v = qkv()
    padding = lengths_to_mask(LENGTHS, 5) if "padding" in case else None
    causal = "causal" in case
    ours, _ = scaled_dot_product_attention(q, k, v, mask=padding, causal=causal)
    # PyTorch takes a broadcastable mask and not both a mask and is_causal
    theirs_mask = None if padding is None else padding[:, None, None, :]
    if causal and padding is not None:
        theirs_mask = theirs_mask & torch.ones(5, 5, dtype=torch.bool).tril()
    theirs = F.scaled_dot_product_attention(
        q, k, v, attn_mask=theirs_mask, is_causal=causal and padding is None
    )
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)


def test_a_full_mask_equals_pytorchs_and_rectangular_causal_aligns_top_left() -> None:
    q, k, v = qkv(1, steps_q=3, steps_k=5)
    full = torch.rand(3, 1, 3, 5, generator=torch.Generator().manual_seed(2)) > 0.3
    full[..., 0] = True  # every query keeps a key
    ours, _ = scaled_dot_product_attention(q, k, v, mask=full)
    theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=full)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
    ours, _ = scaled_dot_product_attention(q, k, v, causal=True)
    theirs = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)


def test_weights_sum_to_one_and_are_zero_on_hidden_keys() -> None:
    q, k, v = qkv()
    mask = lengths_to_mask(LENGTHS, 5)
    _, weights = scaled_dot_product_attention(q, k, v, mask=mask, causal=True)
    assert weights.shape == (3, 2, 5, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 2, 5))
    hidden = ~(mask[:, None, None, :] & torch.ones(5, 5, dtype=torch.bool).tril())
    assert (weights[hidden.expand_as(weights)] == 0).all()
    assert (weights[~hidden.expand_as(weights)] > 0).all()


def test_a_query_with_no_key_gets_zeros_not_nan() -> None:
    q, k, v = qkv()
    mask = torch.ones(3, 2, 5, 5, dtype=torch.bool)
    mask[0, 1, 2] = False  # query 2 of head 1 of sequence 0 may attend nothing
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    assert torch.isfinite(out).all()
    assert (out[0, 1, 2] == 0).all() and (weights[0, 1, 2] == 0).all()


def test_dropout_acts_in_training_only_and_the_weights_come_back_undropped() -> None:
    q, k, v = qkv()
    plain, weights = scaled_dot_product_attention(q, k, v)
    same, _ = scaled_dot_product_attention(q, k, v, dropout_p=0.5, training=False)
    torch.testing.assert_close(same, plain, rtol=0, atol=0)
    torch.manual_seed(0)
    dropped, dropped_weights = scaled_dot_product_attention(q, k, v, dropout_p=0.5, training=True)
    assert not torch.allclose(dropped, plain)
    torch.testing.assert_close(dropped_weights, weights, rtol=0, atol=0)


def test_multi_head_attention_shapes_and_kept_weights() -> None:
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_model=8, num_heads=2).eval()
    x = torch.randn(3, 5, 8)
    assert mha(x).shape == (3, 5, 8) and mha.last_weights is None
    mha.keep_weights = True
    mha.train()(x)  # training passes run the fused kernel: no weights to keep
    assert mha.last_weights is None
    mha.eval()
    memory = torch.randn(3, 7, 8)
    out = mha(x, memory, mask=torch.ones(3, 7, dtype=torch.bool))  # cross-attention
    assert out.shape == (3, 5, 8)
    assert mha.last_weights is not None and mha.last_weights.shape == (3, 2, 5, 7)
    assert not mha.last_weights.requires_grad


def test_multi_head_attention_equals_pytorchs_module() -> None:
    torch.manual_seed(0)
    ours = MultiHeadAttention(d_model=8, num_heads=2).eval()
    theirs = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    with torch.no_grad():
        q, k, v = ours.q_proj, ours.k_proj, ours.v_proj
        theirs.in_proj_weight.copy_(torch.cat([q.weight, k.weight, v.weight]))
        theirs.in_proj_bias.copy_(torch.cat([q.bias, k.bias, v.bias]))
        theirs.out_proj.weight.copy_(ours.out_proj.weight)
        theirs.out_proj.bias.copy_(ours.out_proj.bias)
    x = torch.randn(3, 5, 8)
    mask = lengths_to_mask(LENGTHS, 5)
    with torch.no_grad():
        expected, _ = theirs(x, x, x, key_padding_mask=~mask)  # theirs: True = ignore
        torch.testing.assert_close(ours(x, mask=mask), expected, rtol=0, atol=1e-6)


def test_heads_must_divide_the_width() -> None:
    with pytest.raises(ConfigError, match="num_heads=3 must be >= 1 and divide d_model=8"):
        MultiHeadAttention(8, 3)


def test_sinusoidal_encoding_holds_the_papers_values() -> None:
    d = 6
    pe = SinusoidalPositionalEncoding(d, max_length=10).pe
    assert pe.shape == (10, d) and pe.dtype == torch.float32
    torch.testing.assert_close(pe[0], torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]))
    assert pe[1, 0].item() == pytest.approx(math.sin(1.0))
    assert pe[1, 1].item() == pytest.approx(math.cos(1.0))
    # column pair i = 2: wavelength 10000 ** (4 / 6)
    assert pe[3, 4].item() == pytest.approx(math.sin(3 / 10000 ** (4 / d)), abs=1e-7)
    assert pe[3, 5].item() == pytest.approx(math.cos(3 / 10000 ** (4 / d)), abs=1e-7)
    odd = sinusoidal_table(4, 5)  # an odd width ends on a sine
    assert odd.shape == (4, 5) and odd[2, 4].item() == pytest.approx(math.sin(2 / 10000**0.8))


@pytest.mark.parametrize("kind", ["sinusoidal", "learned"])
def test_encodings_add_one_vector_per_position(kind: str) -> None:
    torch.manual_seed(0)
    encoding = make_positional_encoding(kind, d_model=4, max_length=8)
    table = encoding.pe if kind == "sinusoidal" else encoding.weight
    assert table.shape == (8, 4)
    x = torch.randn(2, 5, 4)
    torch.testing.assert_close(encoding(x), x + table[:5])
    assert isinstance(encoding, SinusoidalPositionalEncoding | LearnedPositionalEncoding)
    assert (kind == "learned") == any(p.requires_grad for p in encoding.parameters())


@pytest.mark.parametrize("kind", ["sinusoidal", "learned"])
def test_a_sequence_past_max_length_says_so(kind: str) -> None:
    encoding = make_positional_encoding(kind, d_model=4, max_length=8)
    encoding(torch.zeros(1, 8, 4))  # the longest allowed
    with pytest.raises(ConfigError, match="9 steps is longer than max_length=8; raise"):
        encoding(torch.zeros(1, 9, 4))


def test_no_encoding_is_the_identity_and_unknown_names_are_listed() -> None:
    x = torch.randn(2, 600, 4)
    assert make_positional_encoding("none", 4, 8)(x) is x
    with pytest.raises(ConfigError, match="'rotary'; valid: sinusoidal, learned, none"):
        make_positional_encoding("rotary", 4, 8)


def test_a_block_with_silent_branches_is_the_identity() -> None:
    # pre-norm: each branch adds to the residual path, so zero branches pass x through
    torch.manual_seed(0)
    block = TransformerEncoderBlock(d_model=8, num_heads=2, dropout=0.0)
    with torch.no_grad():
        for layer in (block.attention.out_proj, block.feed_forward[-1]):
            layer.weight.zero_()
            layer.bias.zero_()
    x = torch.randn(2, 5, 8)
    torch.testing.assert_close(block(x), x, rtol=0, atol=0)
    assert block.feed_forward[0].out_features == 32  # ff_size None = 4 * d_model


def encoder_and_input() -> tuple[TransformerEncoder, torch.Tensor]:
    torch.manual_seed(0)
    encoder = TransformerEncoder(d_model=8, num_heads=2, num_layers=2, dropout=0.1).eval()
    return encoder, torch.randn(3, 6, 8)


@pytest.mark.parametrize("causal", [True, False])
def test_causal_outputs_do_not_see_later_steps(causal: bool) -> None:
    encoder, x = encoder_and_input()
    changed = x.clone()
    changed[:, 4:] = torch.randn(3, 2, 8)
    with torch.no_grad():
        before, after = encoder(x, causal=causal), encoder(changed, causal=causal)
    if causal:
        torch.testing.assert_close(after[:, :4], before[:, :4], rtol=0, atol=1e-6)
    else:  # the check can fail: without the mask, step 0 sees step 5
        assert not torch.allclose(after[:, :4], before[:, :4], atol=1e-3)


@pytest.mark.parametrize("causal", [False, True])
def test_padding_changes_no_real_position(causal: bool) -> None:
    encoder, x = encoder_and_input()
    lengths = torch.tensor([6, 3, 1])
    padded = x.masked_fill(~lengths_to_mask(lengths, 6)[..., None], 100.0)
    with torch.no_grad():
        batch = encoder(padded, lengths_to_mask(lengths, 6), causal=causal)
        for b, n in enumerate(lengths.tolist()):
            alone = encoder(x[b : b + 1, :n], causal=causal)
            torch.testing.assert_close(batch[b : b + 1, :n], alone, rtol=0, atol=1e-5)


def test_the_encoder_ends_normalised_and_needs_a_layer() -> None:
    encoder, x = encoder_and_input()
    with torch.no_grad():
        out = encoder(x)
    torch.testing.assert_close(out.mean(-1), torch.zeros(3, 6), rtol=0, atol=1e-5)
    assert len(encoder.layers) == 2
    with pytest.raises(ConfigError, match="num_layers must be >= 1, got 0"):
        TransformerEncoder(8, 2, num_layers=0)


@pytest.mark.parametrize("causal", [False, True])
def test_fused_training_pass_equals_our_attention(causal: bool) -> None:
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_model=8, num_heads=2, dropout=0.0).train()
    x = torch.randn(3, 5, 8)
    mask = torch.arange(5)[None, :] < torch.tensor([5, 3, 1])[:, None]  # (B, T)
    fused = mha(x, mask=mask, causal=causal)
    mha.fused = False
    ours = mha(x, mask=mask, causal=causal)
    torch.testing.assert_close(fused, ours, atol=1e-6, rtol=1e-5)
