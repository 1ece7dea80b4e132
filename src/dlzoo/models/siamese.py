"""Siamese nets: one encoder, shared by every image of a pair or triplet, maps images
to embeddings that a distance compares (Bromley et al. 1993, "Signature Verification
using a Siamese Time Delay Neural Network"; Chopra, Hadsell & LeCun 2005).

The encoder is any registered image net (``encoder:`` in the config, its own
``_target_``); its output layer gives the embedding, so the config sets the encoder's
``num_classes`` to the embedding size. A decision head turns a distance into the
probability that two images show the same class, for verification.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.metric_losses import check_distance, distance
from dlzoo.models.base import ZooNet
from dlzoo.models.dense import MLP
from dlzoo.models.registry import register_model

__all__ = ["DistanceDecision", "SiameseNet"]


class DistanceDecision(nn.Module):
    """``p(same) = sigmoid(w * d + b)``: a one-feature logistic regression on a distance.

    ``w`` starts negative (a larger distance, a smaller chance of the same class) and
    the threshold ``-b / w`` at 0.5. Scale and bias are buffers, not parameters: they are
    *fitted* (:meth:`fit`, by the metric-learning task after every training epoch, on
    that epoch's training distances), not trained by gradient, so the metric loss alone
    shapes the embedding and the fit is exact. Being buffers, they travel with the
    checkpoint.

    Shapes:
        input d (...); output p (...) in (0, 1).
    """

    weight: torch.Tensor
    bias: torch.Tensor

    def __init__(self, weight: float = -10.0, bias: float = 5.0) -> None:
        super().__init__()
        self.register_buffer("weight", torch.tensor(float(weight)))
        self.register_buffer("bias", torch.tensor(float(bias)))

    def forward(self, d: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.weight * d + self.bias)

    @property
    def threshold(self) -> float:
        """The distance where ``p(same) = 0.5``."""
        return float(-self.bias / self.weight)

    @torch.no_grad()
    def fit(self, d: torch.Tensor, same: torch.Tensor, l2: float = 1e-3, steps: int = 25) -> None:
        """Fit ``w`` and ``b`` by Newton's method on the log-likelihood of ``same``.

        The distances are standardised first (Newton's steps are then well scaled for
        any range of distances); the small L2 penalty on the standardised weight keeps
        the fit finite when the pairs are perfectly separated.

        Shapes:
            d (N,) distances, same (N,) 1 for same-class pairs, 0 otherwise.
        """
        d, same = d.detach().double().flatten(), same.detach().double().flatten()
        if len(d) < 2 or not 0 < float(same.mean()) < 1:
            return  # nothing to separate: keep the current head
        mean, std = d.mean(), d.std().clamp_min(1e-12)
        features = torch.stack([(d - mean) / std, torch.ones_like(d)], dim=1)  # (N, 2)
        theta = torch.zeros(2, dtype=d.dtype, device=d.device)
        penalty = torch.diag(torch.tensor([l2, 0.0], dtype=d.dtype, device=d.device)) * len(d)
        for _ in range(steps):
            p = torch.sigmoid(features @ theta)
            gradient = features.T @ (p - same) + penalty @ theta
            hessian = (features.T * (p * (1 - p))) @ features + penalty
            theta = theta - torch.linalg.solve(hessian + 1e-9 * torch.eye(2).to(d), gradient)
        weight = theta[0] / std
        self.weight.copy_(weight)
        self.bias.copy_(theta[1] - weight * mean)


class SiameseNet(ZooNet):
    """A shared encoder that maps an image to an embedding, a distance between
    embeddings and a decision head on the distance.

    Args:
        encoder: any image net of the zoo (its output layer gives the embedding).
        embedding_size: the width of the encoder's output; the config passes it on as
            ``encoder.num_classes: ${..embedding_size}``.
        distance: ``euclidean`` or ``cosine`` (1 - cosine similarity).
        normalize: scale every embedding to unit L2 norm (FaceNet): distances are then
            bounded (euclidean in [0, 2]) and a margin means the same for every run.

    Net API (see :mod:`dlzoo.models.base`): ``forward_features`` is the encoder's,
    ``forward_head`` its head, which gives the embedding (normalised with
    ``normalize``). ``reset_head(n)`` gives the encoder a fresh ``n``-class output
    layer: the net is then a classifier on the same features (transfer learning), and
    its outputs are logits, not normalised.

    Shapes:
        input x (B, ...) as the encoder takes it; output (B, embedding_size);
        :meth:`distance` of (..., embedding_size) embeddings -> (...).

    Raises:
        ConfigError: an unknown distance, or (at the first forward) an encoder whose
            output is not ``embedding_size`` wide.
    """

    def __init__(
        self,
        encoder: nn.Module,
        embedding_size: int = 32,
        distance: str = "euclidean",
        normalize: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module):
            raise ConfigError(
                f"SiameseNet takes a built encoder, got {type(encoder).__name__}: build the "
                "model config with dlzoo.run.nets.build_net, which fills its shapes"
            )
        self.encoder = encoder
        self.embedding_size = int(embedding_size)
        self.distance_name = check_distance(distance)
        self.normalize = bool(normalize)
        self.decision = DistanceDecision()
        self.num_features = int(encoder.num_features)
        # after reset_head the net is a classifier of the encoder's features
        self.is_classifier = False

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder.forward_features(x)  # (B, num_features)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        out = self.encoder.forward_head(features)  # (B, embedding_size) or logits
        if self.is_classifier:
            return out
        if out.shape[-1] != self.embedding_size:
            raise ConfigError(
                f"the siamese encoder gives {out.shape[-1]}-wide outputs but "
                f"embedding_size={self.embedding_size}: set "
                "model.encoder.num_classes: ${..embedding_size}"
            )
        return F.normalize(out, dim=-1) if self.normalize else out

    def reset_head(self, num_outputs: int) -> None:
        self.encoder.reset_head(num_outputs)
        self.is_classifier = True

    def distance(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The configured distance between embeddings.

        Shapes:
            a (..., D), b (..., D) broadcastable -> (...)
        """
        return distance(a, b, self.distance_name)

    def same_probability(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """p(same class) of pairs of embeddings, by the decision head.

        Shapes:
            a (B, D), b (B, D) -> (B,)
        """
        return self.decision(self.distance(a, b))

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, torch.Tensor]:
        """A siamese MLP with 4-wide embeddings and a matching (B, 1, 4, 4) input."""
        encoder = MLP(in_features=16, num_classes=4, hidden_sizes=[8], batch_norm=True)
        return cls(encoder, embedding_size=4), torch.randn(batch_size, 1, 4, 4)


register_model("siamese")(SiameseNet)
