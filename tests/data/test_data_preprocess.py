"""The fitted affine scaler: statistics by hand, state round trip, the module form."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from dlzoo.data.preprocess import AffineScaler, MaskedAffineTransform
from dlzoo.errors import DataError


def test_standard_statistics_over_every_axis_but_the_channels_by_hand() -> None:
    # (N=2, C=2, H=1, W=2): channel 0 holds 1, 3, 5, 7; channel 1 is constant 2
    images = np.array([[[[1, 3]], [[2, 2]]], [[[5, 7]], [[2, 2]]]], dtype=np.float32)
    scaler = AffineScaler.fit(images, channel_axis=1)
    assert scaler.kind == "standard" and scaler.channels == 2
    # mean 4; squared deviations 9 + 1 + 1 + 9 = 20 over 4 values: std sqrt(5)
    np.testing.assert_allclose(scaler.offset, [4.0, 2.0])
    np.testing.assert_allclose(scaler.scale, [np.sqrt(5.0), 1.0])  # constant: scale 1
    out = scaler.transform(images, channel_axis=1)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_allclose(out[0, 0, 0], [-3 / np.sqrt(5), -1 / np.sqrt(5)], rtol=1e-6)
    assert (out[:, 1] == 0).all()


def test_minmax_maps_the_training_range_to_0_1_by_hand() -> None:
    train = np.array([[1.0, 10.0], [3.0, 30.0], [2.0, 20.0]])
    scaler = AffineScaler.fit(train, channel_axis=1, kind="minmax")
    np.testing.assert_array_equal(scaler.offset, [1.0, 10.0])
    np.testing.assert_array_equal(scaler.scale, [2.0, 20.0])
    np.testing.assert_array_equal(scaler.transform(train), [[0, 0], [1, 1], [0.5, 0.5]])
    np.testing.assert_array_equal(scaler.transform(np.array([[5.0, 0.0]])), [[2.0, -0.5]])


def test_none_is_the_identity_and_may_hand_back_its_input() -> None:
    values = np.arange(6, dtype=np.float32).reshape(3, 2)
    scaler = AffineScaler.fit(values, kind="none")
    assert scaler.offset.tolist() == [0, 0] and scaler.scale.tolist() == [1, 1]
    assert scaler.transform(values, copy=False) is values
    copied = scaler.transform(values)
    assert copied is not values and np.array_equal(copied, values)


def test_chunked_statistics_equal_numpys_over_many_chunks() -> None:
    rng = np.random.default_rng(0)
    # 300 x 3 x 20 x 20 = 360000 values: several chunks of 65536
    images = rng.normal(3.0, 2.0, size=(300, 3, 20, 20)).astype(np.float32)
    images[:, 2] *= 10
    scaler = AffineScaler.fit(images, channel_axis=1)
    as64 = images.astype(np.float64)
    np.testing.assert_allclose(scaler.offset, as64.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(scaler.scale, as64.std(axis=(0, 2, 3)), rtol=1e-12)
    out = scaler.transform(images, channel_axis=1).astype(np.float64)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, rtol=1e-6)


def test_inverse_undoes_the_transform_on_tensors() -> None:
    rng = np.random.default_rng(1)
    series = rng.normal([100.0, -5.0], [10.0, 0.1], size=(50, 2))
    scaler = AffineScaler.fit(series)
    scaled = torch.from_numpy(scaler.transform(series)).double()
    torch.testing.assert_close(scaler.inverse(scaled), torch.from_numpy(series), rtol=1e-6, atol=0)
    first = scaler.first(1)
    assert first.channels == 1 and first.offset[0] == scaler.offset[0]


def test_state_is_plain_and_survives_a_weights_only_load() -> None:
    scaler = AffineScaler.fit(np.array([[1.0, 2.0], [3.0, 6.0]]), kind="minmax")
    state = scaler.state()
    assert state == {"kind": "minmax", "offset": [1.0, 2.0], "scale": [2.0, 4.0]}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    again = AffineScaler.from_state(torch.load(buffer, weights_only=True), "toy")
    assert again.kind == "minmax"
    np.testing.assert_array_equal(again.offset, scaler.offset)
    np.testing.assert_array_equal(again.scale, scaler.scale)


@pytest.mark.parametrize(
    ("state", "match"),
    [
        ({"offset": [0.0], "scale": [1.0]}, "scaler kind"),
        ({"kind": "robust", "offset": [0.0], "scale": [1.0]}, "scaler kind 'robust'"),
        ({"kind": "standard", "offset": [], "scale": []}, "scaler offset"),
        ({"kind": "standard", "offset": [0.0], "scale": [0.0]}, "scaler scale"),
        ({"kind": "standard", "offset": [0.0, 1.0], "scale": [1.0]}, "list of 2"),
        ({"kind": "standard", "offset": ["0"], "scale": [1.0]}, "scaler offset"),
    ],
)
def test_a_malformed_state_is_one_data_error(state: dict, match: str) -> None:
    with pytest.raises(DataError, match=match) as info:
        AffineScaler.from_state(state, "toy")
    assert "data 'toy'" in str(info.value) and "\n" not in str(info.value)


def test_the_channel_axis_is_never_the_samples() -> None:
    with pytest.raises(ValueError, match="axis 0"):
        AffineScaler.fit(np.zeros((4, 3)), channel_axis=0)


def test_module_equals_transform_and_traces_for_other_batch_sizes() -> None:
    rng = np.random.default_rng(2)
    images = rng.uniform(0, 1, size=(10, 3, 4, 5)).astype(np.float32)
    scaler = AffineScaler.fit(images, channel_axis=1)
    module = scaler.module(channel_axis=1, ndim=4)
    assert {n for n, _ in module.named_buffers()} == {"offset", "scale"}
    expected = torch.from_numpy(scaler.transform(images, channel_axis=1))
    torch.testing.assert_close(module(torch.from_numpy(images)), expected)
    traced = torch.jit.trace(module, torch.from_numpy(images[:2]))
    torch.testing.assert_close(traced(torch.from_numpy(images)), expected)


def test_masked_module_keeps_padding_zero_by_hand() -> None:
    scaler = AffineScaler("standard", np.array([1.0, 10.0]), np.array([2.0, 5.0]))
    module = scaler.module(channel_axis=2, ndim=3, masked=True)
    assert isinstance(module, MaskedAffineTransform)
    x = torch.tensor([[[3.0, 20.0], [5.0, 0.0]], [[1.0, 15.0], [0.0, 0.0]]])  # (2, 2, 2)
    out = module(x, torch.tensor([2, 1]))
    expected = torch.tensor([[[1.0, 2.0], [2.0, -2.0]], [[0.0, 1.0], [0.0, 0.0]]])
    assert torch.equal(out, expected)
    assert not torch.signbit(out[1, 1]).any()  # +0, not -0: padding is exactly 0
    traced = torch.jit.trace(module, (x, torch.tensor([2, 1])))
    longer = torch.cat([x, x], dim=1)  # (2, 4, 2): the trace follows the length
    assert torch.equal(traced(longer, torch.tensor([4, 1]))[1, 1:], torch.zeros(3, 2))
