"""k-nearest-neighbour accuracy on hand-built embeddings."""

from __future__ import annotations

import pytest
import torch

from dlzoo.errors import ConfigError
from dlzoo.metrics.knn import knn_accuracy, knn_predict

# two classes on a line: 0 at 0 and 1, class 1 at 10, 11 and 12
REFERENCES = torch.tensor([[0.0], [1.0], [10.0], [11.0], [12.0]])
LABELS = torch.tensor([0, 0, 1, 1, 1])


def test_majority_of_the_k_nearest() -> None:
    queries = torch.tensor([[0.4], [11.0], [7.0]])
    # 0.4: 0, 1, 10 -> 0 by 2 votes; 11: 11, 10, 12; 7: 10, 11, 12 (k=3)
    assert knn_predict(queries, REFERENCES, LABELS, k=3).tolist() == [0, 1, 1]
    # with every reference voting, class 1 has 3 votes to 2
    assert knn_predict(queries, REFERENCES, LABELS, k=5).tolist() == [1, 1, 1]


def test_a_tie_goes_to_the_nearer_neighbour() -> None:
    # k=2: one neighbour of each class; 5.4 is nearer 1, 5.6 nearer 10
    queries = torch.tensor([[5.4], [5.6]])
    assert knn_predict(queries, REFERENCES, LABELS, k=2).tolist() == [0, 1]


def test_accuracy_and_cosine_distance() -> None:
    queries = torch.tensor([[0.4], [11.0], [0.6], [11.5]])
    assert knn_accuracy(queries, torch.tensor([0, 1, 1, 1]), REFERENCES, LABELS, k=1) == 0.75
    # by angle: (1, 0.1) is nearer the x axis (class 0), (0.1, 1) the y axis (class 1)
    refs = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    labels = torch.tensor([0, 0, 1, 1])
    queries = torch.tensor([[5.0, 0.5], [0.1, 1.0]])
    assert knn_predict(queries, refs, labels, k=2, kind="cosine").tolist() == [0, 1]


def test_k_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="knn_k=0"):
        knn_predict(REFERENCES, REFERENCES, LABELS, k=0)
