"""Metric-learning losses and distances against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from dlzoo.errors import ConfigError
from dlzoo.metric_losses import (
    check_distance,
    contrastive_loss,
    distance,
    distance_matrix,
    semi_hard_negatives,
    triplet_loss,
)


def test_euclidean_and_cosine_distances_by_hand() -> None:
    a = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]])
    b = torch.tensor([[0.0, 1.0], [0.0, 0.0], [2.0, 2.0]])
    torch.testing.assert_close(distance(a, b), torch.tensor([1.0, 5.0, math.sqrt(2)]))
    # cos = 0 (orthogonal), 0 (a zero vector has no direction), 1 (parallel)
    a = torch.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    b = torch.tensor([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    torch.testing.assert_close(distance(a, b, "cosine"), torch.tensor([1.0, 1.0, 0.0]))


@pytest.mark.parametrize("kind", ["euclidean", "cosine"])
def test_distance_matrix_is_every_pairwise_distance(kind: str) -> None:
    torch.manual_seed(0)
    a, b = torch.randn(4, 3), torch.randn(5, 3)
    expected = distance(a[:, None], b[None], kind)  # (4, 5) by broadcasting
    torch.testing.assert_close(distance_matrix(a, b, kind), expected, atol=1e-5, rtol=1e-5)


def test_identical_embeddings_have_finite_gradients() -> None:
    a = torch.ones(2, 3, requires_grad=True)
    distance(a, torch.ones(2, 3)).sum().backward()
    assert torch.isfinite(a.grad).all()


def test_unknown_distance_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="euclidean, cosine"):
        check_distance("manhattan")
    with pytest.raises(ConfigError, match="manhattan"):
        distance(torch.ones(1, 2), torch.ones(1, 2), "manhattan")


def test_contrastive_loss_by_hand_euclidean() -> None:
    # distances 1, 5, 0.5; margin 2
    a = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0]])
    b = torch.tensor([[0.0, 1.0], [0.0, 0.0], [1.0, 0.5]])
    same = torch.tensor([1.0, 0.0, 0.0])
    # same pair: d^2 = 1; far different pair: max(0, 2 - 5)^2 = 0; near one: 1.5^2
    expected = (1.0 + 0.0 + 2.25) / 3
    assert contrastive_loss(distance(a, b), same, margin=2.0).item() == pytest.approx(expected)


def test_contrastive_loss_by_hand_cosine() -> None:
    a = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    b = torch.tensor([[0.0, 1.0], [2.0, 2.0]])  # cosine distances 1 and 0
    same = torch.tensor([0, 1])  # an integer flag works too
    # different pair at 1 inside the margin 1.5: 0.5^2; same pair at 0: 0
    d = distance(a, b, "cosine")
    assert contrastive_loss(d, same, margin=1.5).item() == pytest.approx(0.25 / 2)


def test_triplet_loss_by_hand_euclidean() -> None:
    anchor = torch.zeros(2, 2)
    positive = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # d(a, p) = 1, 2
    negative = torch.tensor([[0.0, 3.0], [1.0, 0.0]])  # d(a, n) = 3, 1
    d_ap, d_an = distance(anchor, positive), distance(anchor, negative)
    # max(0, 1 - 3 + 0.5) = 0 (the margin holds), max(0, 2 - 1 + 0.5) = 1.5
    assert triplet_loss(d_ap, d_an, margin=0.5).item() == pytest.approx(0.75)


def test_triplet_loss_by_hand_cosine() -> None:
    anchor = torch.tensor([[1.0, 0.0]])
    d_ap = distance(anchor, torch.tensor([[1.0, 1.0]]), "cosine")  # 1 - 1/sqrt(2)
    d_an = distance(anchor, torch.tensor([[0.0, 1.0]]), "cosine")  # 1
    expected = (1 - 1 / math.sqrt(2)) - 1 + 1.0
    assert triplet_loss(d_ap, d_an, margin=1.0).item() == pytest.approx(expected)


def test_semi_hard_mining_picks_the_closest_negative_beyond_the_positive() -> None:
    d_ap = torch.tensor([1.0, 3.0, 0.2])
    d_an = torch.tensor(
        [
            [0.5, 1.2, 1.1, 2.0],  # negatives 0.5, 1.2, 2.0; column 2 is the anchor's class
            [0.5, 2.0, 9.0, 1.0],  # every negative is closer than the positive
            [0.1, 0.3, 0.25, 0.9],
        ]
    )
    is_negative = torch.tensor(
        [
            [True, True, False, True],
            [True, True, False, True],
            [True, False, False, True],
        ]
    )
    # row 0: 1.2, the closest negative farther than 1.0 (not the same-class 1.1)
    # row 1: none beyond 3.0: the farthest negative, 2.0
    # row 2: 0.9 (0.3 and 0.25 are of the anchor's class)
    assert semi_hard_negatives(d_ap, d_an, is_negative).tolist() == [1, 1, 3]


def test_semi_hard_mining_needs_a_negative_per_anchor() -> None:
    with pytest.raises(ValueError, match="negative candidate"):
        semi_hard_negatives(torch.ones(1), torch.ones(1, 2), torch.zeros(1, 2, dtype=torch.bool))
