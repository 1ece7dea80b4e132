"""Batch augmentation: shapes kept, each op does what it says, config checked."""

from __future__ import annotations

import pytest
import torch

from dlzoo.data.augment import BatchAugment, build_augment
from dlzoo.errors import ConfigError


def dots(b: int = 64, c: int = 2, h: int = 9, w: int = 11) -> torch.Tensor:
    """Images that are zero but for one bright pixel in the middle."""
    x = torch.zeros(b, c, h, w)
    x[:, :, h // 2, w // 2] = 1.0
    return x


def test_shift_moves_each_image_by_at_most_shift_pixels() -> None:
    x = dots()
    out = BatchAugment(shift=2, seed=0)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    offsets = set()
    for image in out:
        assert torch.equal(image[0], image[1])  # both channels move together
        rows, cols = torch.nonzero(image[0], as_tuple=True)
        assert len(rows) == 1  # the dot moved, nothing smeared or lost
        dy, dx = int(rows[0]) - 4, int(cols[0]) - 5
        assert abs(dy) <= 2 and abs(dx) <= 2
        offsets.add((dy, dx))
    assert len(offsets) > 5  # each image draws its own shift


def test_hflip_mirrors_about_half_of_the_images() -> None:
    x = torch.randn(200, 1, 5, 6)
    out = BatchAugment(hflip=True, seed=0)(x)
    flipped = torch.tensor([torch.equal(o, i.flip(-1)) for o, i in zip(out, x, strict=True)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, x, strict=True)])
    assert torch.all(flipped | kept)
    assert 60 < int(flipped.sum()) < 140


def test_noise_has_the_requested_std_and_is_seeded() -> None:
    x = torch.zeros(100, 1, 8, 8)
    out = BatchAugment(noise_std=0.5, seed=1)(x)
    assert abs(out.std().item() - 0.5) < 0.02
    assert torch.equal(out, BatchAugment(noise_std=0.5, seed=1)(x))


def test_build_augment_from_config() -> None:
    assert build_augment(None) is None
    assert build_augment({"shift": 0, "hflip": False, "noise_std": 0.0}) is None
    augment = build_augment({"shift": 1}, seed=3)
    assert isinstance(augment, BatchAugment) and augment.shift == 1 and not augment.hflip
    with pytest.raises(ConfigError, match=r"augment\.flip.*valid keys"):
        build_augment({"flip": True})
    with pytest.raises(ConfigError, match="shift"):
        build_augment({"shift": -1})
    with pytest.raises(ConfigError, match="noise_std"):
        build_augment({"noise_std": -0.1})
