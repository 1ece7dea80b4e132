"""Losses of metric learning: distances between embeddings, the contrastive and triplet
losses with a margin, and semi-hard negative mining inside a batch.

A siamese net maps images to embeddings so that images of one class lie close together
and images of different classes far apart. Two classic objectives say so:

- **contrastive** (Hadsell, Chopra & LeCun 2006, "Dimensionality Reduction by Learning
  an Invariant Mapping"): for a pair at distance ``d`` with ``y = 1`` for the same class,
  ``y * d^2 + (1 - y) * max(0, m - d)^2``, averaged over the pairs (the paper's factors
  of 1/2 are left out: they only scale the learning rate);
- **triplet** (Schroff, Kalenichenko & Philbin 2015, "FaceNet"): for an anchor, a
  positive of its class and a negative of another,
  ``max(0, d(a, p) - d(a, n) + m)``, averaged over the triplets.

Random triplets soon satisfy the margin and teach nothing; FaceNet's **semi-hard**
negatives are those farther from the anchor than the positive but within the margin,
``d(a, p) < d(a, n) < d(a, p) + m`` (:func:`semi_hard_negatives`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dlzoo.errors import ConfigError

__all__ = [
    "DISTANCES",
    "check_distance",
    "contrastive_loss",
    "distance",
    "distance_matrix",
    "semi_hard_negatives",
    "triplet_loss",
]

DISTANCES = ("euclidean", "cosine")
# below this squared distance the square root's gradient would blow up (identical
# embeddings, e.g. two copies of one image); the distance itself is then 1e-6
_MIN_SQUARED = 1e-12


def check_distance(name: str, where: str = "model.distance") -> str:
    """``name`` if it is a known distance, else a ConfigError naming ``where``."""
    if name not in DISTANCES:
        raise ConfigError(f"{where}={name!r} is not a distance; valid: {', '.join(DISTANCES)}")
    return name


def distance(a: torch.Tensor, b: torch.Tensor, kind: str = "euclidean") -> torch.Tensor:
    """The distance between embeddings along the last dimension, broadcasting the rest.

    ``euclidean``: ``||a - b||_2``; ``cosine``: ``1 - cos(a, b)``, in [0, 2]. A
    distance matrix is ``distance(a[:, None], b[None])``.

    Shapes:
        a (..., D), b (..., D) broadcastable -> (...)
    """
    if kind == "euclidean":
        return (a - b).pow(2).sum(-1).clamp_min(_MIN_SQUARED).sqrt()
    if kind == "cosine":
        return 1.0 - F.cosine_similarity(a, b, dim=-1, eps=1e-8)
    raise ConfigError(f"distance {kind!r} is unknown; valid: {', '.join(DISTANCES)}")


def distance_matrix(a: torch.Tensor, b: torch.Tensor, kind: str = "euclidean") -> torch.Tensor:
    """Every row of ``a`` against every row of ``b``, in O(N M) memory (not O(N M D)).

    Euclidean through ``|a|^2 + |b|^2 - 2 a.b``: it loses precision for nearly equal
    rows (a distance of 0 may come out as about 1e-3), so use it to rank and select,
    and :func:`distance` for the values a loss differentiates.

    Shapes:
        a (N, D), b (M, D) -> (N, M)
    """
    if kind == "euclidean":
        squared = a.pow(2).sum(1)[:, None] + b.pow(2).sum(1)[None] - 2.0 * a @ b.T
        return squared.clamp_min(_MIN_SQUARED).sqrt()
    if kind == "cosine":
        return 1.0 - F.normalize(a, dim=1, eps=1e-8) @ F.normalize(b, dim=1, eps=1e-8).T
    raise ConfigError(f"distance {kind!r} is unknown; valid: {', '.join(DISTANCES)}")


def contrastive_loss(d: torch.Tensor, same: torch.Tensor, margin: float) -> torch.Tensor:
    """Hadsell et al.'s contrastive loss: pull same-class pairs together, push
    different-class pairs apart until they are ``margin`` away.

    Args:
        d: the pairs' distances.
        same: 1 for a same-class pair, 0 for a different-class pair.
        margin: ``m``; different-class pairs farther apart cost nothing.

    Shapes:
        d (B,), same (B,) -> scalar
    """
    same = same.to(d.dtype)
    push = F.relu(margin - d).pow(2)
    return (same * d.pow(2) + (1.0 - same) * push).mean()


def triplet_loss(d_ap: torch.Tensor, d_an: torch.Tensor, margin: float) -> torch.Tensor:
    """FaceNet's triplet loss: the negative must be ``margin`` farther from the anchor
    than the positive.

    Shapes:
        d_ap (B,) anchor-positive distances, d_an (B,) anchor-negative -> scalar
    """
    return F.relu(d_ap - d_an + margin).mean()


def semi_hard_negatives(
    d_ap: torch.Tensor, d_an: torch.Tensor, is_negative: torch.Tensor
) -> torch.Tensor:
    """Per anchor, the column of its semi-hard negative among a batch's candidates.

    The semi-hard negative is the closest candidate of another class that is farther
    from the anchor than the positive (FaceNet); if the margin holds for it, it holds
    for every negative and the triplet costs nothing, as it should. An anchor whose
    negatives are all closer than its positive takes the farthest of them (the easiest
    hard one, as TensorFlow Addons' ``triplet_semihard_loss`` does): the hardest
    negatives make training collapse early on (FaceNet, section 3.2).

    Args:
        d_ap: each anchor's distance to its positive.
        d_an: each anchor's distance to every candidate.
        is_negative: whether each candidate is of another class than the anchor; every
            row needs at least one (e.g. the anchor's own given negative).

    Shapes:
        d_ap (B,), d_an (B, M), is_negative (B, M) bool -> (B,) int64 columns of d_an

    Raises:
        ValueError: an anchor without a single negative candidate.
    """
    if not bool(is_negative.any(dim=1).all()):
        raise ValueError("every anchor needs at least one negative candidate")
    farther = is_negative & (d_an > d_ap[:, None])
    inf = torch.full_like(d_an, float("inf"))
    semi_hard = torch.where(farther, d_an, inf).argmin(dim=1)
    easiest_hard = torch.where(is_negative, d_an, -inf).argmax(dim=1)
    return torch.where(farther.any(dim=1), semi_hard, easiest_hard)
