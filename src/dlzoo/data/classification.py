"""What the classification datamodules share: classes and split indices
(:class:`LabelledDataModule`, all of them), and the per-channel input scaler
(:class:`ClassificationDataModule`, images and UCR; text has none)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlzoo.data.base import STAGES
from dlzoo.data.memory import InMemoryDataModule, require_config
from dlzoo.data.preprocess import AffineScaler
from dlzoo.data.splits import fold_split, stratified_split
from dlzoo.data.state import get_field, string_list
from dlzoo.errors import ConfigError, DataError

__all__ = ["ClassificationDataModule", "LabelledDataModule", "class_order"]


def class_order(labels: Any) -> list[str]:
    """The classes of raw labels, sorted: numerically when every label is a number
    ("-1" < "1" < "10"), else as strings; class ``k`` is the k-th."""
    unique = [str(u) for u in np.unique(np.asarray(labels))]
    try:
        return sorted(unique, key=lambda s: (float(s), s))
    except ValueError:
        return unique


class LabelledDataModule(InMemoryDataModule):
    """Base class of in-memory classification datamodules: classes and split indices.

    Subclasses set ``class_names`` (class ``k`` is ``class_names[k]``) and
    ``split_indices`` (stage -> int64 indices into the loaded samples, in the row order
    of ``tensors``) in ``setup``; :meth:`load_fitted_state` sets ``class_names`` without
    data.

    Args:
        batch_size, eval_batch_size, seed: as :class:`InMemoryDataModule`.
    """

    def __init__(self, batch_size: int, eval_batch_size: int | None, seed: int | None) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        self.class_names: list[str] = []
        self.split_indices: dict[str, np.ndarray] = {}
        # (fold, folds) of a K-fold cross-validation run (see use_fold), else None
        self.fold: tuple[int, int] | None = None

    def use_fold(self, fold: int, folds: int) -> None:
        """Split as fold ``fold`` of a stratified ``folds``-fold cross-validation.

        Called before ``setup`` (``build`` does, for ``cv.fold``): the test split is
        then part ``fold`` of the pooled samples (an official test split is pooled with
        the training samples first), validation a share of the rest.

        Raises:
            ConfigError: a bad fold, or one requested after ``setup``.
        """
        fold_split(np.zeros(folds), folds, fold, 0.5)  # checks both numbers
        if self.tensors:
            raise ConfigError("use_fold must be called before setup()")
        self.fold = (int(fold), int(folds))

    def _stage_indices(
        self, labels: np.ndarray, val_fraction: float, test_fraction: float
    ) -> dict[str, np.ndarray]:
        """Stage -> indices into ``labels``: the seeded stratified three-way split, or
        this run's cross-validation fold (``val_fraction`` then is the share of the
        non-test samples, as in the three-way split)."""
        if self.fold is None:
            fractions = (1.0 - val_fraction - test_fraction, val_fraction, test_fraction)
            parts = stratified_split(labels, fractions, self.seed)
        else:
            share = val_fraction / (1.0 - test_fraction) if test_fraction else val_fraction
            parts = fold_split(labels, self.fold[1], self.fold[0], share, self.seed)
        return dict(zip(STAGES, parts, strict=True))

    @property
    def num_classes(self) -> int:
        """K: the number of classes (0 before ``setup`` / ``load_fitted_state``)."""
        return len(self.class_names)

    def _check_split_sizes(self, total: int, what: str, fix: str) -> None:
        """Every split must hold a sample: a DataError naming the empty one and ``fix``."""
        for stage, idx in self.split_indices.items():
            if len(idx) == 0:
                raise DataError(
                    f"data '{self.name}' has too few {what} ({total}) for a non-empty "
                    f"{stage} split: {fix}"
                )

    def labelled(self, stage: str) -> tuple[Tensor, Tensor]:
        """``(x, y)`` of a split: the inputs as the net sees them, and the labels.

        Raises:
            RuntimeError: before ``setup``.
        """
        self._require_setup()
        x, y = self.tensors[stage][:2]
        return x, y

    def split_record(self) -> dict[str, Any]:
        """The split, the seed, the name and the classes, for ``save_split``."""
        self._require_setup()
        return dict(
            **self.split_indices,
            seed=self.seed,
            name=self.name,
            class_names=np.asarray(self.class_names),
        )

    def _class_state(self) -> dict[str, Any]:
        """The fitted state's shared part: ``name`` and ``class_names``."""
        self._require_fitted()
        return {"name": self.name, "class_names": list(self.class_names)}


class ClassificationDataModule(LabelledDataModule):
    """:class:`LabelledDataModule` whose inputs a fitted per-channel scaler normalises.

    Subclasses also set ``input_scaler`` (per-channel mean / std of the training split,
    or ``none`` with ``normalize=False``) in ``setup``; :meth:`load_fitted_state` sets it
    without data.

    Args:
        batch_size, eval_batch_size, seed: as :class:`InMemoryDataModule`.
        normalize: standardise each channel with the training split's mean / std.
    """

    def __init__(
        self, batch_size: int, eval_batch_size: int | None, seed: int | None, normalize: bool
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        self.normalize = bool(normalize)

    @property
    def scaler_kind(self) -> str:
        """The input scaler that ``normalize`` asks for: ``standard`` or ``none``."""
        return "standard" if self.normalize else "none"

    @property
    def mean(self) -> Tensor:
        """Per-channel mean of the training split, (C,) float32 (0 without ``normalize``)."""
        self._require_fitted()
        return torch.as_tensor(self.input_scaler.offset, dtype=torch.float32)

    @property
    def std(self) -> Tensor:
        """Per-channel std of the training split, (C,) float32 (1 without ``normalize``)."""
        self._require_fitted()
        return torch.as_tensor(self.input_scaler.scale, dtype=torch.float32)

    def split_record(self) -> dict[str, Any]:
        """The split, the statistics and the classes, for ``save_split``."""
        return {**super().split_record(), "mean": self.mean.numpy(), "std": self.std.numpy()}

    def _class_state(self) -> dict[str, Any]:
        """The fitted state's shared part: ``name``, ``class_names`` and ``scaler``."""
        return {**super()._class_state(), "scaler": self.input_scaler.state()}

    def _parse_class_state(self, state: dict[str, Any]) -> tuple[list[str], AffineScaler]:
        """What :meth:`_class_state` wrote, checked: ``(class_names, scaler)``."""
        class_names = string_list(state, "class_names", self.name)
        scaler_state = get_field(state, "scaler", dict, self.name)
        scaler = AffineScaler.from_state(scaler_state, self.name)
        require_config(self.name, "normalize", scaler.kind != "none", self.normalize)
        return class_names, scaler
