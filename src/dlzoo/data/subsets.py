"""Subsets of a labelled dataset: some of its classes, a few labelled samples per class.

Transfer learning and few-shot exercises need both: pretrain on digits 0-4, then learn
digits 5-9 from ten labelled images each (``data.classes=[5,6,7,8,9]
data.train_per_class=10``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlzoo.errors import ConfigError, DataError

__all__ = ["class_subset", "first_per_class"]


def class_subset(
    labels: np.ndarray, class_names: Sequence[str], wanted: Sequence[str | int]
) -> tuple[np.ndarray, np.ndarray]:
    """Which samples belong to the ``wanted`` classes, and their new labels.

    Class ``wanted[k]`` (a class name; ints are read as names, so ``5`` is MNIST's
    ``"5"``) becomes label ``k``.

    Args:
        labels: (N,) int labels into ``class_names``.
        class_names: the dataset's classes.
        wanted: the classes to keep, in their new order.

    Returns:
        ``(keep, new_labels)``: a (N,) bool mask and the kept samples' labels (M,).

    Raises:
        ConfigError: an unknown, repeated or single class, naming the valid ones.
    """
    names = [str(c) for c in wanted]
    unknown = [n for n in names if n not in class_names]
    if unknown:
        raise ConfigError(
            f"data.classes has unknown class {unknown[0]!r}; valid: {', '.join(class_names)}"
        )
    if len(set(names)) != len(names) or len(names) < 2:
        raise ConfigError(f"data.classes={names} must name at least 2 distinct classes")
    old = np.array([list(class_names).index(n) for n in names])
    keep = np.isin(labels, old)
    remap = np.full(len(class_names), -1, dtype=np.int64)
    remap[old] = np.arange(len(old))
    return keep, remap[labels[keep]]


def first_per_class(indices: np.ndarray, labels: np.ndarray, per_class: int) -> np.ndarray:
    """The first ``per_class`` of ``indices`` of every class, in their order.

    Args:
        indices: (N,) sample indices in a seeded random order (a split).
        labels: the labels of all samples (``labels[indices]`` are the split's).
        per_class: samples kept per class.

    Returns:
        The kept indices, (K * per_class,), in their original order.

    Raises:
        DataError: a class has fewer than ``per_class`` samples in the split.
    """
    split_labels = labels[indices]
    keep = np.zeros(len(indices), dtype=bool)
    for label in np.unique(split_labels):
        where = np.flatnonzero(split_labels == label)
        if len(where) < per_class:
            raise DataError(
                f"class {label} has {len(where)} training samples, fewer than "
                f"data.train_per_class={per_class}: lower it"
            )
        keep[where[:per_class]] = True
    return indices[keep]
