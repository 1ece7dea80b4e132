"""The streaming datamodule's one-pass preprocessing equals the in-memory fit, for each
source: an in-memory datamodule, an image folder (file by file) and a CSV series (in
chunks); its batches equal the in-memory ones; its fitted state serves predict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dlzoo.data.image.folder import ImageFolderDataModule
from dlzoo.data.image.packaged import DigitsDataModule
from dlzoo.data.preprocess import AffineScaler
from dlzoo.data.series.csv_files import CSVSeriesDataModule
from dlzoo.data.streaming import sources as streaming_sources
from dlzoo.data.streaming.datamodule import StreamingDataModule
from dlzoo.data.streaming.fit import OnePassScaler
from dlzoo.data.streaming.write import write_dataset
from dlzoo.errors import DataError


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_one_pass_scaler_equals_the_whole_array_fit(kind: str) -> None:
    rng = np.random.default_rng(0)
    images = (rng.random((301, 3, 5, 4)) * [[[2.0]], [[5.0]], [[0.1]]] + 7.0).astype(np.float32)
    fit = OnePassScaler(3, channel_axis=0, kind=kind)
    for start in range(0, len(images), 64):  # uneven chunks, as a stream gives them
        fit.update(images[start : start + 64])
    whole = AffineScaler.fit(images, channel_axis=1, kind=kind)
    np.testing.assert_allclose(fit.scaler().offset, whole.offset, rtol=1e-12)
    np.testing.assert_allclose(fit.scaler().scale, whole.scale, rtol=1e-9)


def _streaming(root: Path, **kwargs) -> StreamingDataModule:
    dm = StreamingDataModule(root, batch_size=16, seed=5, **kwargs)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def _assert_same_fit(streamed: dict, in_memory: dict) -> None:
    for key in ("offset", "scale"):
        np.testing.assert_allclose(streamed["scaler"][key], in_memory["scaler"][key], rtol=1e-9)
    assert streamed["scaler"]["kind"] == in_memory["scaler"]["kind"]


def test_in_memory_source_streams_its_splits_with_the_same_mean_std(tmp_path: Path) -> None:
    cfg = {"_target_": "dlzoo.data.image.packaged.DigitsDataModule", "seed": 5}
    write_dataset(cfg, tmp_path, samples_per_shard=300)
    dm, ref = _streaming(tmp_path), DigitsDataModule(seed=5)
    ref.setup()
    _assert_same_fit(dm.fitted_state(), ref.fitted_state())
    assert dm.net_kwargs() == ref.net_kwargs() and dm.class_names == ref.class_names
    val = torch.cat([x for x, _ in dm.val_dataloader()])
    torch.testing.assert_close(val, ref.tensors["val"][0], rtol=0, atol=1e-6)
    # the fitted state alone (a checkpoint's) serves predict, without the shards
    fresh = StreamingDataModule(tmp_path / "gone", batch_size=16)
    fresh.load_fitted_state(dm.fitted_state())
    assert fresh.net_kwargs() == ref.net_kwargs() and fresh.name == "digits"
    x = torch.rand(2, 1, 8, 8)
    torch.testing.assert_close(fresh.input_transform()(x), ref.input_transform()(x))


def test_image_folder_is_written_file_by_file_with_the_same_split_and_fit(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for name in ("cat", "dog", "eel"):
        (tmp_path / "images" / name).mkdir(parents=True)
        for i in range(7):
            pixels = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / name / f"{i}.png")
    cfg = {
        "_target_": "dlzoo.data.image.folder.ImageFolderDataModule",
        "root": str(tmp_path / "images"),
        "image_size": [6, 6],
        "seed": 2,
    }
    index = write_dataset(cfg, tmp_path / "shards", samples_per_shard=4)
    ref = ImageFolderDataModule(**{k: v for k, v in cfg.items() if k != "_target_"})
    ref.setup()
    counts = {s: index["splits"][s]["samples"] for s in ("train", "val", "test")}
    assert counts == {s: len(ref.tensors[s][0]) for s in counts}
    dm = _streaming(tmp_path / "shards")
    _assert_same_fit(dm.fitted_state(), ref.fitted_state())
    val = torch.cat([x for x, _ in dm.val_dataloader()])
    torch.testing.assert_close(val, ref.tensors["val"][0], rtol=0, atol=1e-5)


def test_csv_series_in_chunks_gives_the_in_memory_windows_scaler_and_mase(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(streaming_sources, "CSV_CHUNK_ROWS", 37)  # windows cross chunks
    t = np.arange(400)
    load, temp = np.sin(t / 9) * 50 + 200 + t * 0.1, np.cos(t / 17) * 8 + 15
    lines = ["load,temp"] + [f"{a:.4f},{b:.4f}" for a, b in zip(load, temp, strict=True)]
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n")
    cfg = {
        "_target_": "dlzoo.data.series.csv_files.CSVSeriesDataModule",
        "path": str(tmp_path / "s.csv"),
        "value_columns": ["temp", "load"],
        "target_columns": ["load"],
        "window": 12,
        "horizon": 3,
        "stride": 2,
    }
    write_dataset(cfg, tmp_path / "shards", samples_per_shard=50)
    dm = _streaming(tmp_path / "shards")
    ref = CSVSeriesDataModule(**{k: v for k, v in cfg.items() if k != "_target_"})
    ref.setup()
    _assert_same_fit(dm.fitted_state(), ref.fitted_state())
    np.testing.assert_allclose(dm.task_kwargs()["mase_scale"], ref.mase_scale, rtol=1e-9)
    assert dm.net_kwargs() == ref.net_kwargs()
    for stage in ("val", "test"):
        loader = getattr(dm, f"{stage}_dataloader")()
        x, y = (torch.cat(parts) for parts in zip(*loader, strict=True))
        torch.testing.assert_close(x, ref.tensors[stage][0], rtol=0, atol=1e-5)
        torch.testing.assert_close(y, ref.tensors[stage][1], rtol=0, atol=1e-5)


def test_a_source_cache_is_written_once_and_rewritten_when_corrupt(tmp_path: Path) -> None:
    source = {"_target_": "dlzoo.data.image.packaged.DigitsDataModule", "seed": 5, "batch_size": 8}
    dm = StreamingDataModule(tmp_path, source=source)
    dm.prepare_data()
    shard = Path(dm.root) / "train-000000.tar.gz"
    written = shard.read_bytes()
    # the loader's batch size does not change what is written: the same cache folder
    assert StreamingDataModule(tmp_path, source={**source, "batch_size": 32}).root == dm.root
    shard.write_bytes(written[:-10])
    with pytest.raises(DataError, match="is corrupt"):  # shards given as they are
        StreamingDataModule(dm.root).prepare_data()
    dm.prepare_data()  # a cache: written again
    assert shard.read_bytes() == written  # the same bytes (gzip and tar times fixed)
