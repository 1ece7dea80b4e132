"""k-nearest-neighbour accuracy of embeddings: how well a metric space sorts classes.

Each query embedding (e.g. the test split's) takes the majority class of its ``k``
nearest reference embeddings (the training split's) under the distance the embedding was
trained for; the score is the share of queries whose vote is their own class. A tie
between classes goes to the class of the nearer neighbours.
"""

from __future__ import annotations

import torch

from dlzoo.errors import ConfigError
from dlzoo.metric_losses import distance_matrix

__all__ = ["knn_accuracy", "knn_predict"]

# query rows per distance matrix: bounded memory for any split size
_CHUNK = 1024


def knn_predict(
    queries: torch.Tensor,
    references: torch.Tensor,
    labels: torch.Tensor,
    k: int = 5,
    kind: str = "euclidean",
) -> torch.Tensor:
    """The majority class among each query's ``k`` nearest references.

    Every neighbour's vote counts 1, plus a tie-breaking bonus below 1 in total that
    grows with its rank (the nearest gets the largest), so counts decide and, among
    equal counts, the nearer neighbours do.

    Args:
        queries: embeddings to classify.
        references: labelled embeddings.
        labels: class indices of the references.
        k: neighbours per vote (capped at the number of references).
        kind: the distance (see :func:`dlzoo.metric_losses.distance`).

    Shapes:
        queries (M, D), references (N, D), labels (N,) int64 -> (M,) int64

    Raises:
        ConfigError: ``k`` is not a positive int.
    """
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ConfigError(f"task.knn_k={k} must be a positive integer")
    k = min(int(k), len(references))
    num_classes = int(labels.max()) + 1
    # rank r of k gets 1 + (k - r) / (k^2 + 1): the bonuses of all k sum below 1
    votes = 1.0 + (k - torch.arange(k, device=queries.device)) / (k * k + 1.0)  # (k,)
    predictions = []
    for start in range(0, len(queries), _CHUNK):
        chunk = queries[start : start + _CHUNK]
        d = distance_matrix(chunk, references, kind)  # (m, N)
        nearest = d.topk(k, dim=1, largest=False).indices  # (m, k), nearest first
        scores = torch.zeros(len(chunk), num_classes, device=queries.device)
        scores.scatter_add_(1, labels[nearest], votes.expand(len(chunk), k))
        predictions.append(scores.argmax(dim=1))
    return torch.cat(predictions)


def knn_accuracy(
    queries: torch.Tensor,
    query_labels: torch.Tensor,
    references: torch.Tensor,
    labels: torch.Tensor,
    k: int = 5,
    kind: str = "euclidean",
) -> float:
    """The share of queries that :func:`knn_predict` assigns their own class.

    Shapes:
        queries (M, D), query_labels (M,), references (N, D), labels (N,) -> float
    """
    predicted = knn_predict(queries, references, labels, k, kind)
    return float((predicted == query_labels.to(predicted.device)).float().mean())
