"""Sequence blocks on tiny hand-built batches: masks, pooling over time, attention,
masked batch norm, the temporal conv unit and the sequence head."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import dlzoo.layers
import dlzoo.layers.sequence
from dlzoo.errors import ConfigError
from dlzoo.layers.attention import AttentionPooling
from dlzoo.layers.heads import SequenceHead
from dlzoo.layers.temporal_conv import MaskedBatchNorm1d, TemporalConvBlock
from dlzoo.layers.temporal_pool import (
    last_step_pool,
    lengths_to_mask,
    masked_max_pool,
    masked_mean_pool,
    resolve_sequence_pool,
)


def test_old_import_paths_reexport_the_same_objects() -> None:
    # other modules import these from dlzoo.layers.sequence and dlzoo.layers
    names = {"AttentionPooling", "MaskedBatchNorm1d", "SequenceHead", "TemporalConvBlock"}
    names |= {"lengths_to_mask", "masked_mean_pool", "resolve_sequence_pool", "SEQUENCE_POOLS"}
    assert names <= set(dlzoo.layers.sequence.__all__)
    assert names <= set(dlzoo.layers.__all__)
    for name in names:
        assert getattr(dlzoo.layers, name) is getattr(dlzoo.layers.sequence, name)
    assert dlzoo.layers.sequence.SequenceHead is SequenceHead
    assert dlzoo.layers.sequence.lengths_to_mask is lengths_to_mask


# two sequences of lengths 3 and 1, one feature and a second feature = -first;
# the padding holds large values that no pooling may see
H = torch.tensor(
    [
        [[1.0, -1.0], [2.0, -2.0], [6.0, -6.0]],
        [[4.0, -4.0], [99.0, 99.0], [99.0, 99.0]],
    ]
)
LENGTHS = torch.tensor([3, 1])


def test_lengths_to_mask() -> None:
    mask = lengths_to_mask(torch.tensor([2, 4, 1]), 4)
    expected = [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]
    assert mask.dtype == torch.bool and mask.tolist() == [[bool(v) for v in r] for r in expected]


def test_masked_pools_by_hand() -> None:
    mask = lengths_to_mask(LENGTHS, 3)
    assert masked_mean_pool(H, mask).tolist() == [[3.0, -3.0], [4.0, -4.0]]
    assert masked_max_pool(H, mask).tolist() == [[6.0, -1.0], [4.0, -4.0]]
    assert last_step_pool(H, mask).tolist() == [[6.0, -6.0], [4.0, -4.0]]


def test_pools_without_mask_use_every_step() -> None:
    assert masked_mean_pool(H[:1]).tolist() == [[3.0, -3.0]]
    assert masked_max_pool(H[:1]).tolist() == [[6.0, -1.0]]
    assert last_step_pool(H).tolist() == [[6.0, -6.0], [99.0, 99.0]]


def test_mean_pool_ignores_nan_padding() -> None:
    h = H.clone()
    h[1, 1:] = float("nan")
    assert masked_mean_pool(h, lengths_to_mask(LENGTHS, 3)).tolist() == [[3.0, -3.0], [4.0, -4.0]]


def test_unknown_pooling_lists_the_valid_ones() -> None:
    assert resolve_sequence_pool("max") is masked_max_pool
    with pytest.raises(ConfigError, match=r"'median'.*last, mean, max"):
        resolve_sequence_pool("median")


def test_attention_pooling_by_hand() -> None:
    att = AttentionPooling(2, attention_size=1)
    with torch.no_grad():
        att.proj.weight.copy_(torch.tensor([[1.0, 0.0]]))  # W picks the first feature
        att.proj.bias.zero_()
        att.score.weight.fill_(2.0)  # v
    h = torch.tensor([[[0.0, 5.0], [1.0, 7.0], [3.0, 9.0]]])  # (1, 3, 2)
    scores = 2.0 * torch.tanh(torch.tensor([0.0, 1.0, 3.0]))
    alpha = torch.softmax(scores, 0)
    pooled, weights = att(h)
    torch.testing.assert_close(weights[0], alpha)
    torch.testing.assert_close(pooled[0], (alpha[:, None] * h[0]).sum(0))
    # with the last step masked out, the softmax runs over the first two only
    pooled, weights = att(h, torch.tensor([[True, True, False]]))
    alpha2 = torch.softmax(scores[:2], 0)
    assert weights[0, 2].item() == 0.0
    torch.testing.assert_close(weights[0, :2], alpha2)
    torch.testing.assert_close(pooled[0], (alpha2[:, None] * h[0, :2]).sum(0))


def test_attention_weights_are_zero_on_padding_and_sum_to_one() -> None:
    torch.manual_seed(0)
    att = AttentionPooling(4)
    lengths = torch.tensor([5, 2, 3])
    mask = lengths_to_mask(lengths, 5)
    h = torch.randn(3, 5, 4)
    pooled, weights = att(h, mask)
    assert (weights[~mask] == 0).all() and (weights[mask] > 0).all()
    torch.testing.assert_close(weights.sum(1), torch.ones(3))
    for b, n in enumerate(lengths.tolist()):  # same as the sequence alone
        alone, _ = att(h[b : b + 1, :n])
        torch.testing.assert_close(pooled[b : b + 1], alone)


def test_masked_batch_norm_without_padding_is_batch_norm() -> None:
    torch.manual_seed(0)
    masked, plain = MaskedBatchNorm1d(3), nn.BatchNorm1d(3)
    x = torch.randn(4, 3, 5) * 3 + 1
    full = torch.ones(4, 5, dtype=torch.bool)
    torch.testing.assert_close(masked(x, full), plain(x))
    torch.testing.assert_close(masked.running_mean, plain.running_mean)
    torch.testing.assert_close(masked.running_var, plain.running_var)
    masked.eval(), plain.eval()
    torch.testing.assert_close(masked(x, full), plain(x))


def test_masked_batch_norm_counts_real_steps_only() -> None:
    torch.manual_seed(0)
    masked, plain = MaskedBatchNorm1d(2, momentum=None), nn.BatchNorm1d(2, momentum=None)
    x = torch.randn(2, 2, 4) * 2 + 3
    x[1, :, 2:] = 50.0  # padding
    mask = lengths_to_mask(torch.tensor([4, 2]), 4)
    # the real steps side by side as one sequence: what plain batch norm should see
    real = torch.cat([x[0], x[1, :, :2]], dim=1).unsqueeze(0)  # (1, 2, 6)
    out, expected = masked(x, mask), plain(real)
    torch.testing.assert_close(torch.cat([out[0], out[1, :, :2]], 1).unsqueeze(0), expected)
    torch.testing.assert_close(masked.running_mean, plain.running_mean)
    torch.testing.assert_close(masked.running_var, plain.running_var)
    assert masked.num_batches_tracked.item() == 1


@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4])
@pytest.mark.parametrize("causal", [False, True])
def test_temporal_conv_keeps_length(kernel_size: int, causal: bool) -> None:
    block = TemporalConvBlock(3, 5, kernel_size, dilation=2, causal=causal)
    assert block(torch.randn(2, 3, 7)).shape == (2, 5, 7)
    assert block.receptive_field == 2 * (kernel_size - 1) + 1


@pytest.mark.parametrize("causal", [False, True])
def test_temporal_conv_sees_the_future_only_when_not_causal(causal: bool) -> None:
    torch.manual_seed(0)
    block = TemporalConvBlock(1, 2, kernel_size=3, causal=causal, activation="tanh").eval()
    x = torch.randn(1, 1, 8)
    changed = x.clone()
    changed[0, 0, 5] += 1.0
    diff = (block(changed) - block(x)).abs().sum(1)[0]  # (T,)
    # a kernel of 3 sees steps t-2..t when causal, t-1..t+1 when centred
    expected = [5, 6, 7] if causal else [4, 5, 6]
    assert diff.nonzero().flatten().tolist() == expected


def test_temporal_conv_zeroes_padding() -> None:
    block = TemporalConvBlock(2, 3, batch_norm=False, activation="elu")
    mask = lengths_to_mask(torch.tensor([4, 2]), 4)
    out = block(torch.randn(2, 2, 4), mask)
    assert (out[1, :, 2:] == 0).all() and (out[0] != 0).any()


def test_temporal_conv_rejects_bad_sizes() -> None:
    with pytest.raises(ConfigError, match="kernel_size and dilation"):
        TemporalConvBlock(1, 1, kernel_size=0)


def test_sequence_head_shapes() -> None:
    x = torch.randn(4, 6)
    assert SequenceHead(6, num_classes=3)(x).shape == (4, 3)
    head = SequenceHead(6, horizon=5, output_size=2, hidden_sizes=[7], dropout=0.1)
    assert head(x).shape == (4, 5, 2)
    assert head.mlp[0][0].in_features == 6 and head.mlp[-1].out_features == 10


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "exactly one head"),
        ({"num_classes": 3, "horizon": 2, "output_size": 1}, "exactly one head"),
        ({"num_classes": 3, "horizon": 2}, "exactly one head"),
        ({"horizon": 2}, "needs both horizon and output_size"),
        ({"output_size": 2}, "needs both horizon and output_size"),
    ],
)
def test_sequence_head_needs_exactly_one_head(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        SequenceHead(6, **kwargs)
