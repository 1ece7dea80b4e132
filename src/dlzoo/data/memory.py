"""Datamodules whose splits are tensors in memory, served as whole-batch loaders.

:class:`InMemoryDataModule` meets :class:`~dlzoo.data.base.DlzooDataModule` for the
image, forecasting and UCR datamodules: the loaders over its split tensors, the guard
against use before ``setup``, the split record each run directory keeps, and the rules
by which a loaded fitted state and a fitted one live together.
"""

from __future__ import annotations

import copy
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from dlzoo.data.base import DlzooDataModule
from dlzoo.data.loaders import TensorBatchLoader
from dlzoo.data.options import batch_sizes
from dlzoo.data.preprocess import AffineScaler
from dlzoo.data.state import check_plain, first_difference, get_field
from dlzoo.errors import DataError

__all__ = ["InMemoryDataModule", "require_config"]


def require_config(owner: str, key: str, fitted: Any, configured: Any) -> None:
    """A DataError unless the fitted state's ``key`` matches the config's ``data.<key>``."""
    if fitted != configured:
        raise DataError(
            f"the fitted state of data '{owner}' has {key}={fitted!r} but data.{key}="
            f"{configured!r}: use the data config of the run that fitted it"
        )


class InMemoryDataModule(DlzooDataModule):
    """Base class of the datamodules whose splits are tensors in memory.

    A subclass implements :meth:`_setup_once` (load, split, fit ``input_scaler`` on the
    training split and fill ``tensors``: stage -> tensors with the samples first, e.g.
    ``(x, y)``), :meth:`_apply_fitted_state` and the rest of the contract. It may set
    ``loader_class`` (a :class:`TensorBatchLoader` subclass) and override
    :meth:`train_transform`.

    A loaded fitted state and the one ``setup`` fits must agree (a model must see its
    inputs preprocessed as in training): ``load_fitted_state`` after ``setup``, or
    ``setup`` after ``load_fitted_state``, raises a DataError where they differ.

    Args:
        batch_size: samples per training batch.
        eval_batch_size: samples per val / test batch; ``None`` is 4 x ``batch_size``.
        seed: seeds the split and the training batches' order; ``None`` means 0.
    """

    name: str = "data"
    loader_class: type[TensorBatchLoader] = TensorBatchLoader

    def __init__(self, batch_size: int, eval_batch_size: int | None, seed: int | None) -> None:
        super().__init__()
        self.batch_size, self.eval_batch_size = batch_sizes(batch_size, eval_batch_size)
        self.seed = 0 if seed is None else int(seed)
        self.tensors: dict[str, tuple[Tensor, ...]] = {}
        # the fitted preprocessing of the net's inputs: set by setup or load_fitted_state
        self.input_scaler: AffineScaler | None = None
        self._loaded_state: dict[str, Any] | None = None

    # ------------------------------------------------------------------ fitting

    def setup(self, stage: str | None = None) -> None:
        """Load, split, fit and fill every split once; later calls do nothing."""
        if self.tensors:
            return
        self._setup_once()
        if self._loaded_state is None:
            return
        difference = first_difference(self.fitted_state(), self._loaded_state)
        if difference:
            # keep the loaded state, the one the model needs, and no tensors made without it
            self.tensors = {}
            self._apply_fitted_state(self._loaded_state)
            raise self._mismatch(difference)

    @abstractmethod
    def _setup_once(self) -> None:
        """Load, split, fit ``input_scaler`` (and the rest) and fill ``tensors``."""

    @abstractmethod
    def _apply_fitted_state(self, state: dict[str, Any]) -> None:
        """Check ``state`` against the config and take it over (no data is read)."""

    @property
    def is_fitted(self) -> bool:
        """Whether the preprocessing is there: after ``setup`` or ``load_fitted_state``."""
        return self.input_scaler is not None

    def load_fitted_state(self, state: dict[str, Any]) -> None:
        """Take over ``state`` (see :meth:`DlzooDataModule.load_fitted_state`).

        Before fitting, the state is checked and applied; after, it must agree with what
        was fitted (within a relative 1e-9) and nothing changes.
        """
        check_plain(state)
        if not isinstance(state, dict):
            raise DataError(f"a fitted state is a dict, got a {type(state).__name__}")
        owner = get_field(state, "name", str, self.name)
        if owner != self.name:
            raise DataError(
                f"the fitted state is for data '{owner}', not '{self.name}': load it into "
                "a datamodule of the data it was fitted on"
            )
        if self.is_fitted:
            difference = first_difference(self.fitted_state(), state)
            if difference:
                raise self._mismatch(difference)
            return
        self._apply_fitted_state(state)
        self._loaded_state = copy.deepcopy(state)

    def _mismatch(self, difference: str) -> DataError:
        return DataError(
            f"data '{self.name}': the loaded fitted state differs from the one fitted on "
            f"this data ({difference}): use the data the model was trained on, or do not "
            "load the state"
        )

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise RuntimeError(
                f"{type(self).__name__}: call prepare_data() and setup(), or "
                "load_fitted_state(), before using it"
            )

    def _require_setup(self) -> None:
        if not self.tensors:
            raise RuntimeError(
                f"{type(self).__name__}: call prepare_data() and setup() before using it"
            )

    # ------------------------------------------------------------------ records

    def save_split(self, path: str | Path) -> Path:
        """Write :meth:`split_record` to an ``.npz`` file (the pipeline does, per run).

        Returns:
            The path written.
        """
        self._require_setup()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:  # an open file keeps numpy from appending ".npz"
            np.savez(f, **self.split_record())
        return path

    # ------------------------------------------------------------------ loaders

    def train_transform(self) -> Callable[[Tensor], Tensor] | None:
        """Applied to the inputs of training batches only (e.g. augmentation)."""
        return None

    def _loader(self, stage: str, train: bool = False) -> TensorBatchLoader:
        self._require_setup()
        tensors = self.tensors[stage]
        if not train:
            return self.loader_class(*tensors, batch_size=self.eval_batch_size, seed=self.seed)
        # Lightning's overfit_batches reuses the first batches; it cannot switch off
        # shuffling in a loader that is not a DataLoader, so do it here
        overfit = self.trainer is not None and self.trainer.overfit_batches > 0
        return self.loader_class(
            *tensors,
            batch_size=self.batch_size,
            shuffle=not overfit,
            seed=self.seed,
            # a last batch of one sample makes BatchNorm fail in training: drop only that
            drop_last=len(tensors[0]) % self.batch_size == 1,
            transform=self.train_transform(),
        )

    def train_dataloader(self) -> TensorBatchLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> TensorBatchLoader:
        return self._loader("val")

    def test_dataloader(self) -> TensorBatchLoader:
        return self._loader("test")

    def predict_dataloader(self) -> TensorBatchLoader:
        return self._loader("test")
