"""Seeded, stratified splits of a labelled dataset into index arrays.

Every datamodule splits through these two functions, so a split depends on nothing but
the labels and the seed: the same seed gives the same split on every machine and in
every process of a distributed run, and the index arrays can be saved next to a run.

Stratified means each class is divided in the requested proportions on its own: a
class of ``n_c`` samples puts ``floor(n_c * f_k)`` or ``ceil(n_c * f_k)`` of them into
part ``k``, so no part can miss a class that the others have by more than rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from dlzoo.errors import ConfigError

__all__ = ["carve_validation", "fold_split", "stratified_split"]


def _check_fractions(fractions: Sequence[float]) -> np.ndarray:
    frac = np.asarray(fractions, dtype=np.float64)
    if frac.ndim != 1 or len(frac) < 2:
        raise ConfigError(f"split fractions {list(fractions)} must list at least two parts")
    if np.any(frac < 0) or not np.isclose(frac.sum(), 1.0, atol=1e-6):
        raise ConfigError(
            f"split fractions {list(map(float, frac))} must be >= 0 and sum to 1 "
            f"(they sum to {frac.sum():.6g})"
        )
    return frac / frac.sum()


def _class_counts(n_class: int, frac: np.ndarray, deficit: np.ndarray) -> np.ndarray:
    """How many of one class's ``n_class`` samples go to each part.

    ``deficit`` is each part's exact share of all samples seen so far, this class
    included, minus what the earlier classes gave it.

    Each part gets the floor of its exact share; the samples left over go one each to
    parts with a fractional share, those furthest behind their running target first, so
    that the part sizes also stay close to ``n * fraction`` across classes.
    """
    exact = n_class * frac
    counts = np.floor(exact + 1e-9).astype(np.int64)
    left = n_class - int(counts.sum())
    if left:
        fractional = np.flatnonzero(exact - counts > 1e-9)
        # stable sort: ties go to the earlier part, so the result is deterministic
        behind = deficit - counts
        order = fractional[np.argsort(-behind[fractional], kind="stable")]
        counts[order[:left]] += 1
    return counts


def stratified_split(
    labels: ArrayLike,
    fractions: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 0,
) -> tuple[np.ndarray, ...]:
    """Split sample indices into disjoint, class-stratified parts.

    Args:
        labels: one label per sample (any values that ``np.unique`` can sort).
        fractions: the share of each part, ``>= 0`` and summing to 1; any number of parts.
        seed: picks which samples of each class land in which part.

    Returns:
        One ``int64`` index array per fraction, in a seeded random order. Together
        they hold every index ``0 .. N-1`` exactly once; each class's count in part
        ``k`` is within 1 of ``n_class * fractions[k]``.

    Shapes:
        - labels: (N,)
        - each returned array: (N_k,) with ``sum(N_k) == N``

    Raises:
        ConfigError: when the fractions are negative or do not sum to 1.
    """
    frac = _check_fractions(fractions)
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ConfigError(f"labels must be one-dimensional, got shape {labels.shape}")
    rng = np.random.default_rng(seed)
    _, inverse = np.unique(labels, return_inverse=True)
    seen = 0
    assigned = np.zeros(len(frac), dtype=np.int64)
    parts: list[list[np.ndarray]] = [[] for _ in frac]
    for cls in range(int(inverse.max()) + 1 if len(labels) else 0):
        members = rng.permutation(np.flatnonzero(inverse == cls))
        seen += len(members)
        # how far each part is behind its exact share of the classes seen so far
        counts = _class_counts(len(members), frac, seen * frac - assigned)
        assigned += counts
        for k, chunk in enumerate(np.split(members, np.cumsum(counts)[:-1])):
            parts[k].append(chunk)
    # shuffled, not sorted: datasets often come sorted by class, and a part's first
    # batches (e.g. Lightning's limit_val_batches) should be a fair sample of it
    return tuple(
        rng.permutation(np.concatenate(p)).astype(np.int64) if p else np.empty(0, np.int64)
        for p in parts
    )


def carve_validation(
    labels: ArrayLike, val_fraction: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Take a stratified validation part out of an official training split.

    For datasets that ship a train / test split (FashionMNIST): the test part stays as
    published and the validation part comes from the training samples only.

    Args:
        labels: the labels of the official training split.
        val_fraction: the share of those samples that becomes validation, in (0, 1).
        seed: picks the validation samples.

    Returns:
        ``(train_indices, val_indices)`` into the official training split.

    Shapes:
        - labels: (N,)
        - train_indices: (N - N_val,); val_indices: (N_val,)

    Raises:
        ConfigError: when ``val_fraction`` is not in (0, 1).
    """
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"val_fraction={val_fraction} must be between 0 and 1 (e.g. 0.1)")
    train, val = stratified_split(labels, (1.0 - val_fraction, val_fraction), seed)
    return train, val


def fold_split(
    labels: ArrayLike, folds: int, fold: int, val_fraction: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One fold of a stratified K-fold cross-validation: ``(train, val, test)`` indices.

    The samples are dealt into ``folds`` disjoint stratified parts (the same parts for
    every ``fold`` of one seed); part ``fold`` is the test split, and a stratified
    ``val_fraction`` of the other parts becomes validation (for early stopping and the
    best checkpoint), the rest training.

    Args:
        labels: one label per sample.
        folds: K >= 2.
        fold: which part is the test split, ``0 <= fold < folds``.
        val_fraction: the share of the non-test samples used for validation, in (0, 1).
        seed: picks the parts and the validation samples.

    Shapes:
        - labels: (N,)
        - train, val, test: index arrays that together hold ``0 .. N-1`` once each;
          over the K folds every index is a test index exactly once.

    Raises:
        ConfigError: ``folds`` < 2, ``fold`` out of range or a bad ``val_fraction``.
    """
    if isinstance(folds, bool) or int(folds) != folds or folds < 2:
        raise ConfigError(f"cv.folds={folds} must be an integer >= 2 (e.g. cv.folds=10)")
    if isinstance(fold, bool) or int(fold) != fold or not 0 <= fold < folds:
        raise ConfigError(f"cv.fold={fold} must be an integer in 0 .. {folds - 1}")
    labels = np.asarray(labels)
    parts = stratified_split(labels, [1.0 / folds] * int(folds), seed)
    test = parts[int(fold)]
    rest = np.sort(np.concatenate([p for k, p in enumerate(parts) if k != fold]))
    train, val = carve_validation(labels[rest], val_fraction, seed)
    return rest[train], rest[val], test
