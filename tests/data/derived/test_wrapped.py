"""A wrapped datamodule delegates the contract to its base and serves its own batches."""

from __future__ import annotations

import pytest
import torch

from dlzoo.data.derived.wrapped import WrappedDataModule
from dlzoo.data.image.packaged import DigitsDataModule
from dlzoo.data.loaders import TensorBatchLoader
from dlzoo.errors import ConfigError


class _Inputs(WrappedDataModule):
    """Serves the base's images alone (no labels)."""

    def _wrap(self) -> None:
        self.tensors = {stage: (self.labelled(stage)[0],) for stage in ("train", "val", "test")}

    def _loader(self, stage: str) -> TensorBatchLoader:
        size = self.batch_size if stage == "train" else self.eval_batch_size
        return TensorBatchLoader(*self.tensors[stage], batch_size=size)


def test_wrapper_delegates_to_its_base() -> None:
    base = DigitsDataModule(batch_size=8, seed=0)
    dm = _Inputs(base, batch_size=16, seed=1)
    dm.prepare_data()
    dm.setup("fit")
    assert dm.name == "digits" and dm.class_names == base.class_names and dm.num_classes == 10
    # a representation net is not a classifier of the data's classes
    assert dm.net_kwargs() == {k: v for k, v in base.net_kwargs().items() if k != "num_classes"}
    x, y = dm.labelled("test")
    assert torch.equal(x, base.tensors["test"][0]) and torch.equal(y, base.tensors["test"][1])
    assert dm.fitted_state() == base.fitted_state()
    (batch,) = next(iter(dm.train_dataloader()))
    assert batch.shape == (16, 1, 8, 8) and dm.eval_batch_size == 64
    # the fitted state round-trips into a fresh wrapper without data
    fresh = _Inputs(DigitsDataModule(batch_size=8, seed=0))
    fresh.load_state_dict(dm.state_dict())
    assert fresh.net_kwargs() == dm.net_kwargs()


def test_wrapper_needs_an_in_memory_base() -> None:
    with pytest.raises(ConfigError, match="must be an in-memory dlzoo datamodule"):
        _Inputs(object())  # type: ignore[arg-type]
