"""FashionMNIST: downloaded once (checksummed IDX files), read with :func:`read_idx`."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dlzoo.data.download import RemoteFile, ensure_files
from dlzoo.data.image.datamodule import ImageArrays, ImageDataModule
from dlzoo.errors import DataError

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
