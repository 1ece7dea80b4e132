"""A user's images: one folder per class (``root/<class>/*.png``), resized on load."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dlzoo.data.image.datamodule import ImageArrays, ImageDataModule
from dlzoo.data.memory import require_config
from dlzoo.data.readers import IMAGE_EXTENSIONS, class_files, read_image
from dlzoo.errors import ConfigError


def _image_size(value: int | Sequence[int]) -> tuple[int, int]:
    size = (value, value) if isinstance(value, int) else tuple(value)
    if len(size) != 2 or any(int(s) != s or s < 1 for s in size):
        raise ConfigError(f"data.image_size={value} must be a positive int or [height, width]")
    return int(size[0]), int(size[1])


class ImageFolderDataModule(ImageDataModule):
    """Your own images, one subfolder per class: ``root/<class_name>/<image>``.

    Class names are the sorted subfolder names (hidden folders are skipped); every
    image is converted to grey or RGB, resized to ``image_size`` and held in memory.
    No official split: seeded stratified train / val / test.

    Args:
        root: the folder that holds one subfolder per class.
        image_size: ``[height, width]`` (or one int for square) every image is resized to.
        grayscale: one channel instead of three.
        batch_size: samples per batch.
        seed: seeds the split, the loaders and the augmentation.
        val_fraction: share of the images used for validation.
        test_fraction: share of the images used for testing.
        augment: training-batch augmentation config, or ``None``.
        normalize: standardise with the training split's per-channel mean and std.
        eval_batch_size: samples per val / test batch (``None``: 4 x ``batch_size``).
    """

    name = "image_folder"

    def __init__(
        self,
        root: str | Path,
        image_size: int | Sequence[int] = (32, 32),
        grayscale: bool = False,
        batch_size: int = 64,
        seed: int | None = 0,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        augment: Mapping[str, Any] | None = None,
        normalize: bool = True,
        eval_batch_size: int | None = None,
    ) -> None:
        super().__init__(
            batch_size, seed, val_fraction, test_fraction, augment, normalize, eval_batch_size
        )
        self.root = Path(root)
        self.image_size = _image_size(image_size)
        self.grayscale = bool(grayscale)

    def _class_files(self) -> dict[str, list[Path]]:
        kinds = ", ".join(sorted(IMAGE_EXTENSIONS))
        hint = "put each class's images in <root>/<class_name>/"
        return class_files(self.root, "image", IMAGE_EXTENSIONS, f"images ({kinds})", hint)

    def _check_channels(self, channels: int) -> None:
        require_config(self.name, "grayscale", channels == 1, self.grayscale)

    def load(self) -> ImageArrays:
        files = self._class_files()
        images, labels = [], []
        for label, paths in enumerate(files.values()):
            images.extend(read_image(p, self.image_size, self.grayscale) for p in paths)
            labels.extend([label] * len(paths))
        return ImageArrays(np.stack(images), np.asarray(labels, dtype=np.int64), list(files))
