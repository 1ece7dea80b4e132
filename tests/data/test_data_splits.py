"""Seeded stratified splits: disjoint, covering, stratified, reproducible."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlzoo.data.splits import carve_validation, stratified_split
from dlzoo.errors import ConfigError


def check_split(labels: np.ndarray, parts: tuple[np.ndarray, ...], fractions) -> None:
    everything = np.concatenate(parts)
    assert len(everything) == len(labels)
    np.testing.assert_array_equal(np.sort(everything), np.arange(len(labels)))  # disjoint, covering
    for cls in np.unique(labels):
        n_class = int((labels == cls).sum())
        for part, fraction in zip(parts, fractions, strict=True):
            assert abs(int((labels[part] == cls).sum()) - n_class * fraction) < 1


def test_default_split_is_stratified_70_15_15() -> None:
    labels = np.repeat(np.arange(10), 180)
    parts = stratified_split(labels, seed=0)
    check_split(labels, parts, (0.7, 0.15, 0.15))
    assert [len(p) for p in parts] == [1260, 270, 270]
    assert all(p.dtype == np.int64 for p in parts)
    # in random order, so the first batches of a part are not all one class
    assert len(np.unique(labels[parts[1][:30]])) > 5


def test_part_sizes_stay_close_to_their_share_over_many_classes() -> None:
    # 10 classes of uneven size: rounding per class must not pile up in one part
    labels = np.repeat(np.arange(10), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    parts = stratified_split(labels, (0.7, 0.15, 0.15), seed=3)
    for part, fraction in zip(parts, (0.7, 0.15, 0.15), strict=True):
        assert abs(len(part) - len(labels) * fraction) <= 1


def test_same_seed_same_split_other_seed_other_split() -> None:
    labels = np.random.default_rng(0).integers(0, 5, 500)
    a = stratified_split(labels, seed=7)
    b = stratified_split(labels, seed=7)
    c = stratified_split(labels, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


def test_string_labels_and_two_parts() -> None:
    labels = np.array(["cat", "dog", "eel"] * 20)
    parts = stratified_split(labels, (0.5, 0.5), seed=1)
    check_split(labels, parts, (0.5, 0.5))


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(0, 40), min_size=1, max_size=6),
    weights=st.lists(st.integers(0, 10), min_size=2, max_size=5).filter(lambda w: sum(w) > 0),
    seed=st.integers(0, 2**31),
)
def test_any_labels_any_fractions(counts: list[int], weights: list[int], seed: int) -> None:
    labels = np.repeat(np.arange(len(counts)), counts)
    fractions = [w / sum(weights) for w in weights]
    check_split(labels, stratified_split(labels, fractions, seed), fractions)


@pytest.mark.parametrize("fractions", [(0.7, 0.2), (0.5, -0.1, 0.6), (1.0,)])
def test_bad_fractions_are_config_errors(fractions) -> None:
    with pytest.raises(ConfigError, match="fractions"):
        stratified_split(np.zeros(10), fractions)


def test_carve_validation() -> None:
    labels = np.repeat(np.arange(4), 50)
    train, val = carve_validation(labels, 0.2, seed=0)
    check_split(labels, (train, val), (0.8, 0.2))
    assert len(val) == 40
    with pytest.raises(ConfigError, match="val_fraction"):
        carve_validation(labels, 1.0)
