"""A datamodule that serves another datamodule's samples in a new form.

Representation learning reuses the labelled image datamodules: an autoencoder sees
``(x, x)`` (or ``(noisy x, x)``) batches, a siamese net pairs or triplets. The samples,
the split, the fitted preprocessing and the way new inputs are read are those of the
wrapped datamodule (``base``); only the batches differ. :class:`WrappedDataModule`
delegates the whole :class:`~dlzoo.data.base.DlzooDataModule` contract to ``base`` and
leaves the serving to its subclasses, so a run directory of a wrapped datamodule
predicts from image files exactly as the base's does.

Config: the wrapper's YAML puts the base under ``base`` with Hydra's defaults list,
``defaults: [/data@base: mnist]``; pick another base with ``data@data.base=digits``.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from dlzoo.data.base import DlzooDataModule, PredictInputs
from dlzoo.data.options import batch_sizes
from dlzoo.errors import ConfigError

__all__ = ["WrappedDataModule"]


class WrappedDataModule(DlzooDataModule):
    """Base class of the datamodules that re-serve a labelled in-memory datamodule.

    A subclass implements :meth:`_wrap` (called once, after the base's ``setup``:
    fill ``tensors`` with what it serves, per stage) and :meth:`_loader` (one stage's
    loader; the train / val / test / predict loaders call it). Labels stay available
    for evaluation (:meth:`labelled`), not for training.

    Args:
        base: the wrapped datamodule (instantiated by Hydra from ``data.base``); it
            must hold its splits in memory as ``tensors[stage] = (x, y, ...)``.
        batch_size: samples (pairs, triplets) per training batch.
        eval_batch_size: per val / test batch; ``None`` is 4 x ``batch_size``.
        seed: seeds what the wrapper draws (noise, pairs); ``None`` means 0.
    """

    def __init__(
        self,
        base: DlzooDataModule,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
    ) -> None:
        super().__init__()
        if not isinstance(base, DlzooDataModule) or not hasattr(base, "tensors"):
            raise ConfigError(
                f"data.base must be an in-memory dlzoo datamodule (e.g. data@data.base=mnist), "
                f"got {type(base).__name__}"
            )
        self.base = base
        self.batch_size, self.eval_batch_size = batch_sizes(batch_size, eval_batch_size)
        self.seed = 0 if seed is None else int(seed)
        # what this datamodule serves, per stage; filled by _wrap
        self.tensors: dict[str, tuple[Tensor, ...]] = {}

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.base.name

    @property
    def class_names(self) -> list[str]:
        """The base's classes (for evaluation and figures)."""
        return list(getattr(self.base, "class_names", []))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    # ------------------------------------------------------------------ lifecycle

    def prepare_data(self) -> None:
        self.base.prepare_data()

    def setup(self, stage: str | None = None) -> None:
        """Set the base up, then wrap its splits once."""
        self.base.setup(stage)
        if not self.tensors:
            self._wrap()

    @abstractmethod
    def _wrap(self) -> None:
        """Fill ``tensors`` from the base's splits (see :meth:`labelled`)."""

    @abstractmethod
    def _loader(self, stage: str) -> Any:
        """The loader of one stage's batches (``train``: shuffled, augmented)."""

    def train_dataloader(self) -> Any:
        return self._loader("train")

    def val_dataloader(self) -> Any:
        return self._loader("val")

    def test_dataloader(self) -> Any:
        return self._loader("test")

    def predict_dataloader(self) -> Any:
        return self._loader("test")

    def labelled(self, stage: str) -> tuple[Tensor, Tensor]:
        """The base's ``(x, y)`` of a split: inputs as the net sees them, and labels.

        Raises:
            RuntimeError: before ``setup``.
        """
        if not getattr(self.base, "tensors", None):
            raise RuntimeError(f"{type(self).__name__}: call setup() before labelled()")
        x, y = self.base.tensors[stage][:2]
        return x, y

    # ------------------------------------------------------------------ contract

    def net_kwargs(self) -> dict[str, Any]:
        """The base's shape arguments without ``num_classes``: a representation net is
        not a classifier of the data's classes (an encoder sets its own output width)."""
        kwargs = dict(self.base.net_kwargs())
        kwargs.pop("num_classes", None)
        return kwargs

    def task_kwargs(self) -> dict[str, Any]:
        return self.base.task_kwargs()

    def split_record(self) -> dict[str, Any]:
        return self.base.split_record()

    def save_split(self, path: str | Path) -> Path:
        return self.base.save_split(path)

    def fitted_state(self) -> dict[str, Any]:
        return self.base.fitted_state()

    def load_fitted_state(self, state: dict[str, Any]) -> None:
        self.base.load_fitted_state(state)

    def predict_inputs(self, path: str | Path) -> PredictInputs:
        return self.base.predict_inputs(path)

    def predict_values(self, values: Any) -> PredictInputs:
        return self.base.predict_values(values)

    @property
    def strings_are_documents(self) -> bool:  # type: ignore[override]
        return bool(getattr(self.base, "strings_are_documents", False))

    def input_transform(self) -> nn.Module:
        return self.base.input_transform()

    def denormalize(self, x: Tensor) -> Tensor:
        """The base's inverse normalisation (to draw images).

        Shapes:
            x: (B, C, H, W) -> (B, C, H, W)
        """
        return self.base.denormalize(x)
