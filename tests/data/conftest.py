"""Fixtures for the data tests: a fake download server and tiny FashionMNIST files."""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.error import HTTPError, URLError

import numpy as np
import pytest

from dlzoo.data import download
from dlzoo.data.download import RemoteFile
from dlzoo.data.image import fashion

FAKE_URL = "http://files.example.invalid/fashion/"


def idx_gz(array: np.ndarray) -> bytes:
    """An unsigned-byte idx file, gzipped, as the MNIST files are."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return gzip.compress(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


@dataclass
class FakeServer:
    """Stands in for ``urlopen``: serves ``files`` by URL, or fails like a lost network."""

    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    offline: bool = False

    def urlopen(self, url: str, timeout: float | None = None) -> io.BytesIO:
        self.requests.append(url)
        if self.offline:
            raise URLError("[Errno -3] Temporary failure in name resolution")
        if url not in self.files:
            raise HTTPError(url, 404, "Not Found", None, None)  # type: ignore[arg-type]
        return io.BytesIO(self.files[url])


@pytest.fixture
def make_idx() -> Callable[[np.ndarray], bytes]:
    """The gzipped idx writer, for tests that build their own files."""
    return idx_gz


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    fake = FakeServer()
    monkeypatch.setattr(download, "urlopen", fake.urlopen)
    return fake


@dataclass
class TinyFashion:
    server: FakeServer
    arrays: dict[str, np.ndarray]


@pytest.fixture
def tiny_fashion(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> TinyFashion:
    """40 train and 20 test 28x28 images served with their real-looking MD5 table."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.tile(np.arange(10, dtype=np.uint8), 4),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.tile(np.arange(10, dtype=np.uint8), 2),
    }
    table = {}
    for name, array in arrays.items():
        payload = idx_gz(array)
        server.files[FAKE_URL + name] = payload
        table[name] = RemoteFile(FAKE_URL + name, hashlib.md5(payload).hexdigest())
    monkeypatch.setattr(fashion, "FASHION_MNIST_FILES", table)
    return TinyFashion(server, arrays)


# ---------------------------------------------------------------------- fitted datamodules

# key -> (class, constructor arguments) of the datamodules the fitted-state tests share
DATAMODULES: dict[str, tuple[str, dict]] = {
    "digits": ("dlzoo.data.image.packaged.DigitsDataModule", {}),
    "mnist": ("dlzoo.data.image.packaged.MNISTDataModule", {}),
    "sunspots": ("dlzoo.data.series.packaged.SunspotsDataModule", {}),
    "GunPoint": ("dlzoo.data.series.ucr.UCRDataModule", {"name": "GunPoint"}),
    "JapaneseVowels": ("dlzoo.data.series.ucr.UCRDataModule", {"name": "JapaneseVowels"}),
}


@dataclass
class Built:
    """Makes the shared datamodules: ``fresh(key)`` as configured, ``ready(key)`` set up."""

    cache: dict[str, object] = field(default_factory=dict)

    def fresh(self, key: str):
        from hydra.utils import get_class

        target, kwargs = DATAMODULES[key]
        return get_class(target)(**kwargs)

    def ready(self, key: str):
        """Set up once per session: tests must not change it."""
        if key not in self.cache:
            dm = self.fresh(key)
            dm.prepare_data()
            dm.setup("fit")
            self.cache[key] = dm
        return self.cache[key]


@pytest.fixture(scope="session")
def built() -> Built:
    return Built()
