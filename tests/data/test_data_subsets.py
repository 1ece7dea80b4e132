"""Class subsets and few-shot training splits of the image datamodules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlzoo.data.image.packaged import DigitsDataModule
from dlzoo.data.subsets import class_subset, first_per_class
from dlzoo.errors import ConfigError, DataError


def test_class_subset_relabels_in_the_given_order() -> None:
    labels = np.array([0, 1, 2, 3, 2, 1])
    keep, new = class_subset(labels, ["a", "b", "c", "d"], ["c", "b"])
    assert keep.tolist() == [False, True, True, False, True, True]
    assert new.tolist() == [1, 0, 0, 1]  # c -> 0, b -> 1
    with pytest.raises(ConfigError, match="unknown class 'z'; valid: a, b, c, d"):
        class_subset(labels, ["a", "b", "c", "d"], ["z", "a"])
    with pytest.raises(ConfigError, match="at least 2 distinct"):
        class_subset(labels, ["a", "b", "c", "d"], ["a", "a"])


def test_first_per_class_keeps_the_split_order() -> None:
    labels = np.array([0, 0, 1, 1, 0, 1, 0])
    indices = np.array([6, 5, 4, 3, 2, 1, 0])  # the split's (seeded) order
    assert first_per_class(indices, labels, 2).tolist() == [6, 5, 4, 3]
    with pytest.raises(DataError, match=r"fewer than data\.train_per_class=5"):
        first_per_class(indices, labels, 5)


def test_digits_five_to_nine_from_ten_images_each() -> None:
    dm = DigitsDataModule(batch_size=8, seed=3, classes=[5, 6, 7, 8, 9], train_per_class=10)
    dm.setup()
    assert dm.class_names == ["5", "6", "7", "8", "9"] and dm.num_classes == 5
    x, y = dm.tensors["train"]
    assert len(x) == 50 and torch.bincount(y).tolist() == [10] * 5
    # val and test keep their 15 % each of those classes' images
    of_those = int((dm.load().labels >= 5).sum())
    for stage in ("val", "test"):
        assert abs(len(dm.tensors[stage][0]) - 0.15 * of_those) <= 5
        assert set(dm.tensors[stage][1].tolist()) == set(range(5))
    # the state says which classes; a datamodule configured for others refuses it
    other = DigitsDataModule(batch_size=8, classes=[0, 1, 2, 3, 4])
    with pytest.raises(DataError, match="classes"):
        other.load_fitted_state(dm.fitted_state())
