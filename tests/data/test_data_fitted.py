"""Fitted state: plain data, enough alone for a fresh datamodule, agreeing with the data."""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from dlzoo.data.base import DlzooDataModule
from dlzoo.data.image.folder import ImageFolderDataModule
from dlzoo.data.image.packaged import DigitsDataModule, MNISTDataModule
from dlzoo.data.memory import InMemoryDataModule
from dlzoo.data.series.packaged import SunspotsDataModule
from dlzoo.data.series.ucr import UCRDataModule, read_ucr
from dlzoo.data.series.windows import sliding_windows
from dlzoo.errors import DataError

KEYS = ["digits", "sunspots", "JapaneseVowels"]
PLAIN = (str, int, float, bool, type(None))


def assert_plain(value: Any) -> None:
    if isinstance(value, dict):
        assert all(isinstance(k, str) for k in value)
        for item in value.values():
            assert_plain(item)
    elif isinstance(value, list):
        for item in value:
            assert_plain(item)
    else:
        assert isinstance(value, PLAIN), type(value)


def weights_only_copy(value: Any) -> Any:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def net_inputs(dm: InMemoryDataModule, count: int = 4) -> tuple[torch.Tensor, ...]:
    """The first ``count`` test samples as the net gets them: everything but y."""
    x, _, *extra = dm.tensors["test"]
    return tuple(t[:count] for t in (x, *extra))


def loaded(built, key: str) -> InMemoryDataModule:
    """A fresh datamodule that only got the set-up one's state, through a checkpoint."""
    dm = built.fresh(key)
    dm.load_fitted_state(weights_only_copy(built.ready(key).fitted_state()))
    return dm


def test_every_datamodule_meets_the_contract() -> None:
    for cls in (DigitsDataModule, SunspotsDataModule, UCRDataModule, ImageFolderDataModule):
        assert issubclass(cls, DlzooDataModule)
    with pytest.raises(TypeError, match="abstract"):
        DlzooDataModule()


@pytest.mark.parametrize("key", KEYS)
def test_fitted_state_is_plain_and_survives_a_weights_only_load(built, key: str) -> None:
    state = built.ready(key).fitted_state()
    assert state["name"] == built.ready(key).name
    assert_plain(state)
    assert weights_only_copy(state) == state


@pytest.mark.parametrize("key", KEYS)
def test_the_state_alone_gives_the_same_facts(built, key: str) -> None:
    ready, fresh = built.ready(key), loaded(built, key)
    assert not fresh.tensors  # nothing was read
    assert fresh.net_kwargs() == ready.net_kwargs()
    assert fresh.task_kwargs() == ready.task_kwargs()
    assert fresh.fitted_state() == ready.fitted_state()
    assert getattr(fresh, "class_names", None) == getattr(ready, "class_names", None)
    for (name, a), (_, b) in zip(
        fresh.input_transform().named_buffers(),
        ready.input_transform().named_buffers(),
        strict=True,
    ):
        assert torch.equal(a, b), name


def test_what_each_family_keeps(built) -> None:
    digits = built.ready("digits").fitted_state()
    assert set(digits) == {"name", "class_names", "image_size", "scaler"}
    assert digits["class_names"] == [str(i) for i in range(10)] and digits["image_size"] == [8, 8]
    assert digits["scaler"]["kind"] == "standard" and len(digits["scaler"]["offset"]) == 1
    sunspots = built.ready("sunspots").fitted_state()
    assert set(sunspots) == {
        "name", "columns", "target_columns", "time_column", "window", "horizon", "scaler",
        "mase_scale",
    }  # fmt: skip
    assert sunspots["columns"] == sunspots["target_columns"] == ["SUNACTIVITY"]
    assert sunspots["time_column"] == "year" and sunspots["window"] == 11
    vowels = built.ready("JapaneseVowels").fitted_state()
    assert set(vowels) == {"name", "class_names", "scaler", "seq_len"}
    assert len(vowels["scaler"]["scale"]) == 12 and len(vowels["class_names"]) == 9
    assert vowels["seq_len"] == 26  # the longest training series (29 in the test part)


# ---------------------------------------------------------------------- input transform


def test_image_transform_on_raw_pixels_equals_the_loaders(built) -> None:
    from sklearn.datasets import load_digits

    dm = built.ready("digits")
    raw = load_digits().images.astype(np.float32)[:, None] / 16.0  # as load() scales
    pixels = torch.from_numpy(raw[dm.split_indices["test"]])
    torch.testing.assert_close(
        loaded(built, "digits").input_transform()(pixels), dm.tensors["test"][0]
    )


def test_series_transform_on_raw_windows_equals_the_loaders(built) -> None:
    from statsmodels.datasets import sunspots

    dm = built.ready("sunspots")
    raw = np.array(sunspots.load_pandas().data[["SUNACTIVITY"]], dtype=np.float32)
    start, stop = dm.split_bounds["test"]
    x, _ = sliding_windows(torch.from_numpy(raw[start:stop]), 11, 1, 1, 1)
    transform = loaded(built, "sunspots").input_transform()
    torch.testing.assert_close(transform(x), dm.tensors["test"][0])


def test_sequence_transform_on_raw_cases_equals_the_loaders(built) -> None:
    dm = built.ready("JapaneseVowels")
    test = read_ucr("JapaneseVowels", "test")
    x = torch.from_numpy(test.x.astype(np.float32))  # zero-padded raw cases
    lengths = torch.from_numpy(test.lengths)
    out = loaded(built, "JapaneseVowels").input_transform()(x, lengths)
    torch.testing.assert_close(out, dm.tensors["test"][0])
    assert torch.equal(out == 0, dm.tensors["test"][0] == 0)  # padding exactly where it was


@pytest.mark.parametrize("key", KEYS)
def test_input_transform_traces_and_exports(built, key: str) -> None:
    dm = built.ready(key)
    transform = dm.input_transform()
    inputs = net_inputs(dm)
    expected = transform(*inputs)
    torch.testing.assert_close(torch.jit.trace(transform, inputs)(*inputs), expected)
    exported = torch.export.export(transform, inputs)
    torch.testing.assert_close(exported.module()(*inputs), expected)


@pytest.mark.parametrize("key", KEYS)
def test_input_transform_exports_to_onnx(built, key: str, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    dm = built.ready(key)
    names = ["x", "lengths"][: len(net_inputs(dm))]
    path = tmp_path / "transform.onnx"
    torch.onnx.export(
        dm.input_transform(), net_inputs(dm, 2), path, dynamo=False, input_names=names,
        dynamic_axes={name: {0: "batch"} for name in names},
    )  # fmt: skip
    inputs = net_inputs(dm, 5)  # another batch size than the export's
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})
    torch.testing.assert_close(torch.from_numpy(out), dm.input_transform()(*inputs))


# ---------------------------------------------------------------------- agreement


def shifted(state: dict) -> dict:
    changed = copy.deepcopy(state)
    changed["scaler"]["offset"][0] += 0.5
    return changed


def test_loading_after_setup_must_agree(built) -> None:
    dm = built.fresh("digits")
    dm.setup()
    tensors = dm.tensors["train"][0]
    dm.load_fitted_state(weights_only_copy(dm.fitted_state()))  # the same: nothing changes
    assert dm.tensors["train"][0] is tensors
    with pytest.raises(DataError, match=r"differs .*scaler\.offset\[0\]") as info:
        dm.load_fitted_state(shifted(dm.fitted_state()))
    assert "\n" not in str(info.value)
    assert dm.fitted_state() == built.ready("digits").fitted_state()


def test_setup_after_loading_must_agree(built) -> None:
    state = built.ready("sunspots").fitted_state()
    agreeing = built.fresh("sunspots")
    agreeing.load_fitted_state(state)
    agreeing.setup()
    assert agreeing.tensors and agreeing.fitted_state() == state
    dm = built.fresh("sunspots")
    dm.load_fitted_state(shifted(state))
    with pytest.raises(DataError, match="differs from the one fitted on this data"):
        dm.setup()
    # the model's preprocessing stays, and no tensors were kept that contradict it
    assert not dm.tensors and dm.fitted_state() == shifted(state)


def test_a_state_for_other_data_or_another_config_is_refused(built) -> None:
    digits = built.ready("digits").fitted_state()
    with pytest.raises(DataError, match="for data 'digits', not 'mnist'"):
        MNISTDataModule().load_fitted_state(digits)
    with pytest.raises(DataError, match=r"window=11 but data\.window=5"):
        SunspotsDataModule(window=5).load_fitted_state(built.ready("sunspots").fitted_state())
    with pytest.raises(DataError, match=r"scaler='standard' but data\.scaler='minmax'"):
        SunspotsDataModule(scaler="minmax").load_fitted_state(
            built.ready("sunspots").fitted_state()
        )
    with pytest.raises(DataError, match=r"normalize=True but data\.normalize=False"):
        UCRDataModule("GunPoint", normalize=False).load_fitted_state(
            built.ready("GunPoint").fitted_state()
        )
    with pytest.raises(DataError, match="for data 'GunPoint', not 'JapaneseVowels'"):
        built.fresh("JapaneseVowels").load_fitted_state(built.ready("GunPoint").fitted_state())


def test_image_folder_state_must_fit_its_size_and_colour(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(7):
            Image.new("RGB", (9, 7), (i * 30, 90, 0)).save(tmp_path / name / f"{i}.png")
    dm = ImageFolderDataModule(tmp_path, image_size=[6, 5])
    dm.setup()
    state = dm.fitted_state()
    assert state["image_size"] == [6, 5] and len(state["scaler"]["offset"]) == 3
    fresh = ImageFolderDataModule(tmp_path / "elsewhere", image_size=[6, 5])
    fresh.load_fitted_state(state)
    assert fresh.net_kwargs() == dm.net_kwargs() and fresh.class_names == ["a", "b"]
    with pytest.raises(DataError, match=r"image_size=\[6, 5\] but data\.image_size=\[8, 8\]"):
        ImageFolderDataModule(tmp_path, image_size=8).load_fitted_state(state)
    with pytest.raises(DataError, match=r"grayscale=False but data\.grayscale=True"):
        ImageFolderDataModule(tmp_path, image_size=[6, 5], grayscale=True).load_fitted_state(state)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.pop("class_names"), "class_names"),
        (lambda s: s.update(class_names=[]), "non-empty list of strings"),
        (lambda s: s.update(image_size=[8]), "image_size"),
        (lambda s: s.update(image_size=[8, True]), "image_size"),
        (lambda s: s.update(scaler=None), "scaler"),
        (lambda s: s.update(name=3), "name=3"),
        (lambda s: s.update(extra=np.zeros(2)), "plain data"),
    ],
)
def test_a_malformed_state_is_one_data_error(built, change, match: str) -> None:
    state = copy.deepcopy(built.ready("digits").fitted_state())
    change(state)
    with pytest.raises(DataError, match=match) as info:
        DigitsDataModule().load_fitted_state(state)
    assert "\n" not in str(info.value)


def test_before_fitting_there_is_no_state() -> None:
    for dm in (DigitsDataModule(), SunspotsDataModule(), UCRDataModule("GunPoint")):
        with pytest.raises(RuntimeError, match="setup"):
            dm.fitted_state()
        with pytest.raises(RuntimeError, match="load_fitted_state"):
            dm.input_transform()


# ---------------------------------------------------------------------- Lightning


class Flat(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def training_step(self, batch, batch_idx):
        return nn.functional.cross_entropy(self.net(batch[0]), batch[1])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_lightning_checkpoints_carry_the_state(tmp_path: Path) -> None:
    dm = DigitsDataModule(batch_size=32)
    trainer = L.Trainer(
        accelerator="cpu", devices=1, max_epochs=1, limit_train_batches=2, limit_val_batches=0,
        logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(Flat(), datamodule=dm)
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    checkpoint = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert checkpoint["DigitsDataModule"] == {"fitted": dm.fitted_state()}
    fresh = DigitsDataModule()
    fresh.load_state_dict(checkpoint["DigitsDataModule"])
    assert fresh.net_kwargs() == dm.net_kwargs()
    with pytest.raises(DataError, match="no 'fitted' entry"):
        DigitsDataModule().load_state_dict({})
    # resuming restores the state into the set-up datamodule: it agrees, so it goes on
    again = L.Trainer(
        accelerator="cpu", devices=1, max_epochs=2, limit_train_batches=2, limit_val_batches=0,
        logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, default_root_dir=tmp_path,
    )  # fmt: skip
    again.fit(Flat(), datamodule=DigitsDataModule(batch_size=32), ckpt_path=tmp_path / "last.ckpt")
    assert again.current_epoch == 2
