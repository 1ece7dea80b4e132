"""On-the-fly augmentation of whole image batches, for training loaders only.

Augmentations work on a batch tensor at once (no per-image Python loop), so they keep
:class:`~dlzoo.data.loaders.TensorBatchLoader`'s cost per batch to a few tensor ops.
They are chosen in config as a mapping, e.g. ``augment: {shift: 1, hflip: false,
noise_std: 0.0}``, or ``augment: null`` for none. Horizontal flips are off by default:
a flipped digit is a different (or no) digit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from dlzoo.errors import ConfigError

__all__ = ["BatchAugment", "build_augment"]


class BatchAugment:
    """Random shifts, horizontal flips and Gaussian noise on a batch of images.

    Each image gets its own random shift ``(dy, dx)`` in ``[-shift, shift]`` pixels (the
    border is filled by repeating the edge pixels, which is background for centred
    objects), is mirrored left-right with probability 0.5 when ``hflip`` is on, and gets
    ``noise_std * N(0, 1)`` added. The random draws come from the augmentation's own
    generator, so they are reproducible from ``seed`` and do not disturb the global RNG.

    Args:
        shift: largest translation in pixels (0: none).
        hflip: mirror half of the images left-right.
        noise_std: standard deviation of the additive Gaussian noise (0: none), in the
            units of the (normalised) input.
        seed: seeds the augmentation's generator.

    Shapes:
        - input: (B, C, H, W)
        - output: (B, C, H, W), same dtype
    """

    def __init__(
        self, shift: int = 0, hflip: bool = False, noise_std: float = 0.0, seed: int = 0
    ) -> None:
        if int(shift) != shift or shift < 0:
            raise ConfigError(f"augment.shift={shift} must be a whole number of pixels >= 0")
        if noise_std < 0:
            raise ConfigError(f"augment.noise_std={noise_std} must be >= 0")
        self.shift = int(shift)
        self.hflip = bool(hflip)
        self.noise_std = float(noise_std)
        self.generator = torch.Generator().manual_seed(int(seed))

    @property
    def active(self) -> bool:
        """Whether any augmentation is switched on."""
        return self.shift > 0 or self.hflip or self.noise_std > 0

    def __repr__(self) -> str:
        return f"BatchAugment(shift={self.shift}, hflip={self.hflip}, noise_std={self.noise_std})"

    def _translate(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        s = self.shift
        padded = torch.nn.functional.pad(x, (s, s, s, s), mode="replicate")  # (B, C, H+2s, W+2s)
        width = w + 2 * s
        dy, dx = torch.randint(0, 2 * s + 1, (2, b, 1, 1), generator=self.generator)
        # each image's crop as flat positions in its padded image: one gather for the
        # whole batch (several times faster than 4-d advanced indexing on CPU)
        rows = dy + torch.arange(h)[:, None]  # (B, H, 1)
        cols = dx + torch.arange(w)  # (B, 1, W)
        flat = (rows * width + cols).reshape(b, 1, h * w).expand(b, c, h * w)
        return padded.reshape(b, c, -1).gather(2, flat).reshape(b, c, h, w)

    def __call__(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"BatchAugment expects (B, C, H, W) images, got {tuple(x.shape)}")
        if self.shift:
            x = self._translate(x)
        if self.hflip:
            flip = torch.rand(x.shape[0], generator=self.generator) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        if self.noise_std:
            noise = torch.randn(x.shape, generator=self.generator, dtype=x.dtype)
            x = x + self.noise_std * noise
        return x


def build_augment(config: Mapping[str, Any] | None, seed: int = 0) -> BatchAugment | None:
    """Turn an ``augment`` config mapping into a :class:`BatchAugment`, or ``None``.

    Args:
        config: ``{shift, hflip, noise_std}`` (any subset) or ``None``.
        seed: seeds the augmentation's generator.

    Returns:
        The augmentation, or ``None`` when the config is ``None`` or switches nothing on.

    Raises:
        ConfigError: naming an unknown key and the valid ones, or a bad value.
    """
    if config is None:
        return None
    if not isinstance(config, Mapping):
        raise ConfigError(f"augment must be a mapping like {{shift: 1}} or null, got {config!r}")
    valid = {"shift", "hflip", "noise_std"}
    unknown = sorted(set(config) - valid)
    if unknown:
        raise ConfigError(f"unknown key augment.{unknown[0]}: valid keys are {sorted(valid)}")
    augment = BatchAugment(**dict(config), seed=seed)
    return augment if augment.active else None
