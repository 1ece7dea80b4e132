"""Reconstruction batches: (x, x), denoising noise (fresh per training batch, fixed for
val / test, clipped), and the normal-only training split of anomaly detection."""

from __future__ import annotations

import pytest
import torch

from dlzoo.data.derived.reconstruction import BATCH_KEYS, ReconstructionDataModule
from dlzoo.data.image.packaged import DigitsDataModule
from dlzoo.errors import ConfigError


def make_dm(normalize: bool = False, **kwargs) -> ReconstructionDataModule:
    dm = ReconstructionDataModule(DigitsDataModule(normalize=normalize), batch_size=32, **kwargs)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def all_batches(loader) -> dict[str, torch.Tensor]:
    batches = list(loader)
    return {k: torch.cat([b[k] for b in batches]) for k in BATCH_KEYS}


def test_batches_return_the_input_as_target() -> None:
    dm = make_dm()
    assert dm.net_kwargs() == {"in_channels": 1, "image_size": (8, 8), "in_features": 64}
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == set(BATCH_KEYS) and batch["x"].shape == (32, 1, 8, 8)
    assert torch.equal(batch["x"], batch["target"])
    assert batch["label"].dtype == torch.int64 and batch["anomaly"].dtype == torch.bool
    assert not batch["anomaly"].any()
    val = all_batches(dm.val_dataloader())
    x, y = dm.labelled("val")
    assert (
        torch.equal(val["x"], x) and torch.equal(val["target"], x) and torch.equal(val["label"], y)
    )
    assert len(dm.val_dataloader()) == -(-len(y) // dm.eval_batch_size)


def test_training_noise_is_fresh_per_batch_and_the_target_clean() -> None:
    dm = make_dm(noise_std=0.3)
    loader = dm.train_dataloader()
    loader.loader.shuffle = False  # the same images in both epochs, to compare the noise
    first, second = all_batches(loader), all_batches(loader)
    clean = dm.base.tensors["train"][0]
    assert torch.equal(first["target"], clean) and torch.equal(second["target"], clean)
    noise = first["x"] - clean
    assert not torch.equal(first["x"], second["x"])
    # clipped to the pixel range [0, 1]; unclipped pixels have the configured std
    assert first["x"].min() >= 0 and first["x"].max() <= 1
    inside = (first["x"] > 0) & (first["x"] < 1)
    assert noise[inside].std().item() == pytest.approx(0.3, rel=0.15)
    # two batches of one epoch draw different noise
    assert not torch.equal(noise[:32], noise[32:64])


def test_val_and_test_noise_is_fixed_and_seeded() -> None:
    dm = make_dm(noise_std=0.3)
    once, again = all_batches(dm.val_dataloader()), all_batches(dm.val_dataloader())
    assert torch.equal(once["x"], again["x"]) and not torch.equal(once["x"], once["target"])
    assert torch.equal(make_dm(noise_std=0.3).tensors["test"][0], dm.tensors["test"][0])
    assert not torch.equal(make_dm(noise_std=0.3, seed=1).tensors["test"][0], dm.tensors["test"][0])


def test_noise_is_clipped_to_the_pixel_range_in_normalised_units() -> None:
    dm = make_dm(normalize=True, noise_std=2.0)
    mean, std = (float(v[0]) for v in (dm.base.input_scaler.offset, dm.base.input_scaler.scale))
    x = dm.tensors["val"][0]
    assert x.min().item() == pytest.approx(-mean / std, abs=1e-5)
    assert x.max().item() == pytest.approx((1 - mean) / std, abs=1e-5)


def test_normal_classes_keep_the_training_split_normal() -> None:
    dm = make_dm(normal_classes=[1, 0, 1])
    assert dm.normal_classes == [0, 1] and dm.task_kwargs() == {"normal_classes": [0, 1]}
    x_train, _, label, anomaly = dm.tensors["train"]
    base_x, base_y = dm.labelled("train")
    keep = (base_y == 0) | (base_y == 1)
    assert torch.equal(label, base_y[keep]) and torch.equal(x_train, base_x[keep])
    assert not anomaly.any()
    for stage in ("val", "test"):
        _, _, y, flags = dm.tensors[stage]
        assert torch.equal(y, dm.labelled(stage)[1])  # every sample stays
        assert torch.equal(flags, (y != 0) & (y != 1)) and flags.any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"noise_std": -0.1}, "noise_std=-0.1 must be >= 0"),
        ({"normal_classes": []}, "must list class indices"),
        ({"normal_classes": [1.5]}, "must list class indices"),
    ],
)
def test_bad_options_are_config_errors(kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        ReconstructionDataModule(DigitsDataModule(), **kwargs)


@pytest.mark.parametrize(
    ("classes", "message"),
    [([3, 10], "beyond data 'digits''s 10 classes"), (list(range(10)), "lists all 10 classes")],
)
def test_normal_classes_must_leave_anomalies(classes, message) -> None:
    with pytest.raises(ConfigError, match=message):
        make_dm(normal_classes=classes)
