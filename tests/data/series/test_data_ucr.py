"""UCR / UEA datamodule: shipped problems only, padded batches, train-only statistics."""

from __future__ import annotations

import functools
import inspect
import socket
import urllib.request
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn

from dlzoo.config.compose import CONFIG_DIR
from dlzoo.data.loaders import TensorBatchLoader
from dlzoo.data.series import ucr
from dlzoo.data.series.ucr import PaddedSequenceLoader, SequenceArrays, UCRDataModule
from dlzoo.errors import ConfigError, DataError

CONF = CONFIG_DIR / "data" / "ucr.yaml"


@functools.cache
def ready(name: str, **kwargs) -> UCRDataModule:
    dm = UCRDataModule(name, **kwargs)
    dm.prepare_data()
    dm.setup("fit")
    return dm


@functools.cache
def raw(name: str, split: str) -> tuple[list[np.ndarray], np.ndarray]:
    """Each case as a (L_i, C) array and its label string, straight from sktime."""
    from sktime.datasets import load_UCR_UEA_dataset

    frame, labels = load_UCR_UEA_dataset(name, split=split, return_type="nested_univ")
    cases = [
        np.stack([frame.iat[i, c].to_numpy(dtype=np.float64) for c in range(frame.shape[1])], 1)
        for i in range(len(frame))
    ]
    return cases, np.asarray(labels).astype(str)


# name, official train / test cases, channels, (shortest, longest) sequence, classes
PROBLEMS = [
    ("BasicMotions", 40, 40, 6, (100, 100), 4),
    ("GunPoint", 50, 150, 1, (150, 150), 2),
    ("ArrowHead", 36, 175, 1, (251, 251), 3),
    ("ItalyPowerDemand", 67, 1029, 1, (24, 24), 2),
    ("JapaneseVowels", 270, 370, 12, (7, 29), 9),
]


@pytest.mark.parametrize(("name", "n_train", "n_test", "channels", "span", "k"), PROBLEMS)
def test_shipped_problems_load_with_their_published_shapes(
    name: str, n_train: int, n_test: int, channels: int, span: tuple[int, int], k: int
) -> None:
    dm = ready(name)
    assert dm.name == name
    longest_train = max(int(dm.tensors[s][2].max()) for s in ("train", "val"))
    assert dm.net_kwargs() == {"input_size": channels, "num_classes": k, "seq_len": longest_train}
    assert dm.num_classes == len(dm.class_names) == k
    sizes = {stage: len(t[1]) for stage, t in dm.tensors.items()}
    assert sizes["train"] + sizes["val"] == n_train and sizes["test"] == n_test
    assert sizes["val"] == pytest.approx(0.2 * n_train, abs=k)  # stratified rounding
    lengths = torch.cat([t[2] for t in dm.tensors.values()])
    assert (int(lengths.min()), int(lengths.max())) == span == (span[0], dm.max_length)
    for x, y, lens in dm.tensors.values():
        assert x.dtype == torch.float32 and y.dtype == lens.dtype == torch.int64
        assert x.shape == (len(y), int(lens.max()), channels)
        assert int(y.min()) >= 0 and int(y.max()) < k


def test_seq_len_is_the_longest_training_series_and_older_states_still_load() -> None:
    dm = ready("JapaneseVowels")
    assert dm.seq_len == 26 and dm.max_length == 29  # the test part has longer ones
    older = {k: v for k, v in dm.fitted_state().items() if k != "seq_len"}
    fresh = UCRDataModule("JapaneseVowels")
    fresh.load_fitted_state(older)  # an older run's state, saved without seq_len
    assert "seq_len" not in fresh.net_kwargs() and fresh.fitted_state() == older
    fresh.setup("fit")  # reading the data agrees with it
    assert fresh.fitted_state() == older
    dm.load_fitted_state(older)  # a set-up datamodule takes it too (a resumed older run)
    assert dm.net_kwargs()["seq_len"] == 26
    for bad in (0, True, "26"):
        with pytest.raises(DataError, match="seq_len"):
            UCRDataModule("JapaneseVowels").load_fitted_state({**older, "seq_len": bad})


def test_labels_follow_the_files_in_sorted_order() -> None:
    dm = ready("BasicMotions")
    assert dm.class_names == ["badminton", "running", "standing", "walking"]
    _, test_labels = raw("BasicMotions", "test")
    expected = [dm.class_names.index(s) for s in test_labels]
    assert dm.tensors["test"][1].tolist() == expected  # test kept in file order
    _, train_labels = raw("BasicMotions", "train")
    got = dm.tensors["val"][1].tolist()
    assert got == [dm.class_names.index(s) for s in train_labels[dm.split_indices["val"]]]


def test_validation_is_stratified_disjoint_and_from_train_only() -> None:
    dm = ready("JapaneseVowels")
    train, val, test = (dm.split_indices[s] for s in ("train", "val", "test"))
    assert not set(train) & set(val)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(270))
    np.testing.assert_array_equal(test, np.arange(370))
    _, labels = raw("JapaneseVowels", "train")
    for cls in np.unique(labels):
        n_cls = int((labels == cls).sum())
        assert abs(int((labels[val] == cls).sum()) - 0.2 * n_cls) < 1


def test_split_is_seeded_and_recorded(tmp_path: Path) -> None:
    a, b = ready("GunPoint", seed=1), ready("GunPoint", seed=2)
    assert not np.array_equal(np.sort(a.split_indices["val"]), np.sort(b.split_indices["val"]))
    again = UCRDataModule("GunPoint", seed=1)
    again.setup()
    for stage in ("train", "val", "test"):
        np.testing.assert_array_equal(a.split_indices[stage], again.split_indices[stage])
        torch.testing.assert_close(a.tensors[stage], again.tensors[stage], rtol=0, atol=0)
    saved = np.load(a.save_split(tmp_path / "sub" / "split.npz"))
    np.testing.assert_array_equal(saved["val"], a.split_indices["val"])
    np.testing.assert_array_equal(saved["std"], a.std.numpy())
    assert int(saved["seed"]) == 1 and str(saved["name"]) == "GunPoint"
    assert saved["class_names"].tolist() == ["1", "2"]


@pytest.mark.parametrize("name", ["GunPoint", "JapaneseVowels"])
def test_statistics_are_the_training_parts_valid_steps(name: str) -> None:
    dm = ready(name)
    cases, _ = raw(name, "train")
    steps = np.concatenate([cases[i] for i in dm.split_indices["train"]])  # (sum L, C)
    np.testing.assert_allclose(dm.mean.numpy(), steps.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dm.std.numpy(), steps.std(0), rtol=1e-5)
    # the stored training part: valid steps standardised per channel
    x, _, lengths = dm.tensors["train"]
    valid = torch.arange(x.shape[1])[None, :] < lengths[:, None]  # (N, T)
    flat = x[valid].double()  # (sum L, C)
    torch.testing.assert_close(flat.mean(0), torch.zeros(x.shape[2]).double(), atol=1e-5, rtol=0)
    torch.testing.assert_close(flat.std(0, correction=0), torch.ones(x.shape[2]).double())
    # a validation case is the raw series scaled with the training statistics
    i = int(dm.split_indices["val"][0])
    expected = (cases[i] - steps.mean(0)) / steps.std(0)
    np.testing.assert_allclose(dm.tensors["val"][0][0, : len(cases[i])], expected, atol=1e-5)


def test_padding_stays_zero_after_normalisation() -> None:
    dm = ready("JapaneseVowels")
    assert bool((dm.mean.abs() > 0.1).any())  # shifting would move unmasked padding
    for x, _, lengths in dm.tensors.values():
        pad = torch.arange(x.shape[1])[None, :] >= lengths[:, None]  # (N, T)
        assert bool(pad.any()) and bool((x[pad] == 0).all())


def test_test_part_does_not_touch_the_statistics(monkeypatch: pytest.MonkeyPatch) -> None:
    clean = ready("BasicMotions")
    original = ucr.read_ucr

    def shifted(name: str, split: str) -> SequenceArrays:
        arrays = original(name, split)
        if split == "test":
            arrays.x = arrays.x * 100.0 + 50.0
        return arrays

    monkeypatch.setattr(ucr, "read_ucr", shifted)
    dm = UCRDataModule("BasicMotions")
    dm.setup()
    torch.testing.assert_close(dm.mean, clean.mean)
    torch.testing.assert_close(dm.std, clean.std)
    torch.testing.assert_close(dm.tensors["train"], clean.tensors["train"])
    assert not torch.allclose(dm.tensors["test"][0], clean.tensors["test"][0])


def test_normalize_false_keeps_the_raw_values() -> None:
    dm = ready("GunPoint", normalize=False)
    cases, _ = raw("GunPoint", "test")
    np.testing.assert_allclose(dm.tensors["test"][0][5].numpy(), cases[5], rtol=1e-6)
    assert dm.mean.tolist() == [0.0] and dm.std.tolist() == [1.0]


# ---------------------------------------------------------------------- batches


def test_unequal_length_batches_are_trimmed_and_zero_padded() -> None:
    dm = ready("JapaneseVowels", batch_size=16)
    loaders = {"train": dm.train_dataloader(), "val": dm.val_dataloader()}
    loaders["test"] = dm.test_dataloader()
    for stage, loader in loaders.items():
        assert isinstance(loader, TensorBatchLoader)
        widths = set()
        for x, y, lengths in loader:
            assert x.shape == (len(y), int(lengths.max()), 12) and x.is_contiguous()
            assert bool((lengths >= 1).all())
            pad = torch.arange(x.shape[1])[None, :] >= lengths[:, None]
            assert bool((x[pad] == 0).all())
            widths.add(x.shape[1])
        if stage != "val":  # val is one batch of 54
            assert len(widths) > 1  # trimmed per batch, not to the split's longest


def test_train_loader_serves_every_case_once_per_epoch_shuffled() -> None:
    dm = ready("JapaneseVowels", batch_size=16)
    x_all, y_all, len_all = dm.tensors["train"]
    loader = dm.train_dataloader()
    assert loader.shuffle and not loader.drop_last and len(loader) == 216 // 16 + 1
    orders = []
    for epoch in range(2):
        order = loader.indices(epoch)
        assert sorted(order.tolist()) == list(range(len(y_all)))
        batches = list(loader)
        assert len(batches) == len(loader)
        start = 0
        for x, y, lengths in batches:
            idx = order[start : start + len(y)]
            start += len(y)
            assert torch.equal(y, y_all[idx]) and torch.equal(lengths, len_all[idx])
            assert torch.equal(x, x_all[idx, : int(lengths.max())])
        orders.append(order)
    assert not torch.equal(*orders)
    eval_order = torch.cat([y for _, y, _ in dm.val_dataloader()])
    assert torch.equal(eval_order, dm.tensors["val"][1])  # eval loaders keep the order


def test_padded_loader_by_hand() -> None:
    x = torch.zeros(3, 4, 2)
    x[0, :1], x[1, :3], x[2, :2] = 1.0, 2.0, 3.0
    loader = PaddedSequenceLoader(x, torch.tensor([0, 1, 0]), torch.tensor([1, 3, 2]), batch_size=2)
    (x1, y1, l1), (x2, y2, l2) = list(loader)
    assert l2.tolist() == [2]
    assert x1.shape == (2, 3, 2) and l1.tolist() == [1, 3] and y1.tolist() == [0, 1]
    assert x2.shape == (1, 2, 2) and torch.equal(x2, x[2:, :2]) and y2.tolist() == [0]
    assert len(loader) == 2
    with pytest.raises(ConfigError, match="lengths"):
        PaddedSequenceLoader(x[0], torch.zeros(4), torch.ones(4), batch_size=2)


def test_single_sample_last_batch_is_dropped_in_training_only() -> None:
    dm = ready("GunPoint", batch_size=13)  # 40 training cases: 13 + 13 + 13 + 1
    assert dm.train_dataloader().drop_last and len(dm.train_dataloader()) == 3
    assert not ready("GunPoint", batch_size=16).train_dataloader().drop_last
    assert dm.val_dataloader().batch_size == dm.eval_batch_size == 52


# ---------------------------------------------------------------------- bad input


def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every way out to the network fail loudly, and record attempts."""
    attempts: list[str] = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise AssertionError(f"network access attempted: {args[:2]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(urllib.request, "urlretrieve", refuse)
    return attempts


@pytest.mark.parametrize("name", ["NoSuchProblem", "Coffee", "basicmotions", "Tecator"])
def test_names_not_shipped_are_refused_without_network(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = no_network(monkeypatch)
    with pytest.raises(DataError, match=f"'{name}'") as info:
        UCRDataModule(name)
    message = str(info.value)
    assert "\n" not in message
    for shipped in ("ArrowHead", "BasicMotions", "GunPoint", "JapaneseVowels", "PLAID"):
        assert shipped in message
    assert "Tecator" not in message.split("use one of")[1]  # regression, not offered
    with pytest.raises(DataError, match=name):
        ucr.read_ucr(name, "train")
    assert attempts == []


def test_shipped_names_are_the_classification_problems() -> None:
    names = ucr.shipped_ucr_names()
    assert {"ACSF1", "ArrowHead", "BasicMotions", "GunPoint", "ItalyPowerDemand",
            "JapaneseVowels", "OSULeaf", "PLAID"} <= set(names)  # fmt: skip
    assert not {"Covid3Month", "Tecator", "Airline", "segmentation"} & set(names)


def fake_reader(train_labels: list[str], test_labels: list[str]):
    def read(name: str, split: str) -> SequenceArrays:
        labels = train_labels if split == "train" else test_labels
        n = len(labels)
        x = np.arange(n * 3, dtype=np.float64).reshape(n, 3, 1)
        return SequenceArrays(x, np.full(n, 3, dtype=np.int64), np.asarray(labels))

    return read


def test_numeric_labels_sort_as_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    labels = ["10", "2", "1", "10", "2", "1", "10", "2", "1", "10"]
    monkeypatch.setattr(ucr, "read_ucr", fake_reader(labels, ["2", "10"]))
    dm = UCRDataModule("GunPoint", val_fraction=0.3)
    dm.setup()
    assert dm.class_names == ["1", "2", "10"]
    assert dm.tensors["test"][1].tolist() == [1, 2]


def test_a_test_label_unseen_in_training_is_a_data_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ucr, "read_ucr", fake_reader(["a", "b"] * 5, ["a", "c"]))
    with pytest.raises(DataError, match=r"\['c'\]"):
        UCRDataModule("GunPoint").setup()


def test_nested_frames_become_padded_arrays() -> None:
    # case 1 ends in NaNs as some archive files pad short cases; they are padding
    frame = pd.DataFrame(
        {
            "dim_0": [pd.Series([1.0, 2.0, 3.0]), pd.Series([4.0, np.nan])],
            "dim_1": [pd.Series([5.0, 6.0, 7.0]), pd.Series([8.0, np.nan])],
        }
    )
    arrays = ucr._to_padded("T", "train", frame, np.array([1, 2]))
    assert arrays.lengths.tolist() == [3, 1] and arrays.labels.tolist() == ["1", "2"]
    np.testing.assert_array_equal(arrays.x[1], [[4.0, 8.0], [0.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(arrays.x[0, :, 1], [5.0, 6.0, 7.0])
    frame.iat[0, 1] = pd.Series([5.0, np.nan, 7.0])
    with pytest.raises(DataError, match="missing"):
        ucr._to_padded("T", "train", frame, np.array([1, 2]))
    frame.iat[0, 1] = pd.Series([5.0, 6.0])
    with pytest.raises(DataError, match="different lengths"):
        ucr._to_padded("T", "train", frame, np.array([1, 2]))


def test_bad_options_and_early_use() -> None:
    with pytest.raises(ConfigError, match="val_fraction"):
        UCRDataModule(val_fraction=1.0)
    with pytest.raises(ConfigError, match="batch_size"):
        UCRDataModule(batch_size=0)
    with pytest.raises(ConfigError, match="eval_batch_size"):
        UCRDataModule(eval_batch_size=0)
    with pytest.raises(RuntimeError, match="setup"):
        UCRDataModule().net_kwargs()


def test_setup_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = ucr.read_ucr
    monkeypatch.setattr(ucr, "read_ucr", lambda n, s: calls.append(s) or original(n, s))
    dm = UCRDataModule("ItalyPowerDemand")
    dm.setup("fit")
    tensors = dm.tensors["train"][0]
    dm.setup("test")
    assert calls == ["train", "test"] and dm.tensors["train"][0] is tensors


# ---------------------------------------------------------------------- config, Lightning


def test_config_keys_match_init_and_instantiate() -> None:
    root = OmegaConf.create({"seed": 3})
    root.data = OmegaConf.load(CONF)
    assert set(root.data) - {"_target_"} == set(inspect.signature(UCRDataModule).parameters)
    dm = instantiate(root.data, name="ArrowHead", _convert_="all")
    assert isinstance(dm, UCRDataModule) and dm.seed == 3 and dm.name == "ArrowHead"
    assert root.data.name == "BasicMotions" and dm.batch_size == 16


class MeanPoolClassifier(L.LightningModule):
    """Averages the valid steps: proves batches reach a step as (x, y, lengths)."""

    def __init__(self, input_size: int, num_classes: int) -> None:
        super().__init__()
        self.head = nn.Linear(input_size, num_classes)

    def _loss(self, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        x, y, lengths = batch  # (B, T, C), (B,), (B,)
        pooled = x.sum(1) / lengths[:, None].to(x.dtype)  # (B, C); padding adds 0
        return nn.functional.cross_entropy(self.head(pooled), y)

    def training_step(self, batch, batch_idx):
        return self._loss(batch)

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", self._loss(batch), batch_size=len(batch[1]))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-2)


def test_trains_in_lightning() -> None:
    dm = UCRDataModule("JapaneseVowels", batch_size=32)
    dm.setup("fit")
    trainer = L.Trainer(
        accelerator="cpu", devices=1, max_epochs=2, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(MeanPoolClassifier(dm.input_size, dm.num_classes), datamodule=dm)
    assert trainer.current_epoch == 2 and trainer.callback_metrics["val/loss"] > 0
