"""What every in-memory datamodule shares: whole-batch loaders over its split tensors,
the guard against use before ``setup``, and the split record each run directory keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
from torch import Tensor

from dlzoo.data.loaders import TensorBatchLoader
from dlzoo.errors import ConfigError

STAGES = ("train", "val", "test")


def positive_int(key: str, value: Any) -> int:
    """``value`` as an int, or a ConfigError naming ``data.<key>``."""
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ConfigError(f"data.{key}={value} must be a positive integer")
    return int(value)


class InMemoryDataModule(L.LightningDataModule):
    """Base class of the datamodules whose splits are tensors in memory.

    A subclass fills ``tensors`` (stage -> tensors with the samples first, e.g.
    ``(x, y)``) in ``setup`` and implements :meth:`split_record`. It may set
    ``loader_class`` (a :class:`TensorBatchLoader` subclass) and override
    :meth:`train_transform`.

    Args:
        batch_size: samples per training batch.
        eval_batch_size: samples per val / test batch; ``None`` is 4 x ``batch_size``.
        seed: seeds the split and the training batches' order; ``None`` means 0.
    """

    name: str = "data"
    loader_class: type[TensorBatchLoader] = TensorBatchLoader

    def __init__(self, batch_size: int, eval_batch_size: int | None, seed: int | None) -> None:
        super().__init__()
        self.batch_size = positive_int("batch_size", batch_size)
        if eval_batch_size is not None:
            positive_int("eval_batch_size", eval_batch_size)
        self.eval_batch_size = int(eval_batch_size or 4 * self.batch_size)
        self.seed = 0 if seed is None else int(seed)
        self.tensors: dict[str, tuple[Tensor, ...]] = {}

    def _require_setup(self) -> None:
        if not self.tensors:
            raise RuntimeError(
                f"{type(self).__name__}: call prepare_data() and setup() before using it"
            )

    def train_transform(self) -> Callable[[Tensor], Tensor] | None:
        """Applied to the inputs of training batches only (e.g. augmentation)."""
        return None

    def split_record(self) -> dict[str, Any]:
        """The arrays that let a run's split and preprocessing be rebuilt."""
        raise NotImplementedError

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
