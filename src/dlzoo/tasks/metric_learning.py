"""Metric learning: a siamese net's embeddings, trained on pairs or triplets.

The loss is the contrastive loss on pairs (Hadsell et al. 2006) or the triplet loss on
triplets (FaceNet), each with a margin (see :mod:`dlzoo.metric_losses`); with
``mining: semi_hard`` every training anchor takes the semi-hard negative of its batch
(all anchors, positives and negatives of the batch are candidates) instead of its
drawn one. Validation and test use the drawn triplets as they are, so their losses
compare across epochs.

The verification head (:class:`~dlzoo.models.siamese.DistanceDecision`,
``p(same) = sigmoid(w d + b)``) is *fitted* after every training epoch by logistic
regression on that epoch's training distances (taken during the training steps, so in
training mode), before validation runs; val and test pairs are therefore judged with a
head that never saw them, and the best checkpoint carries its own head.

Metrics, on the val / test pairs (a triplet gives two: anchor-positive, same, and
anchor-negative, different): ``verify_acc`` (the head's p(same) > 0.5), ``auroc``
(ROC-AUC of the negated distances: how well distance alone ranks same-class pairs
first, for any threshold) and ``loss``; and ``knn_acc``: the k-nearest-neighbour
accuracy of the split's embeddings classified against the training split's embeddings
(labels from the wrapped datamodule's ``labelled``), on test always, on val with
``knn_on_val``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer
from torchmetrics.classification import BinaryAccuracy, BinaryAUROC

from dlzoo.errors import ConfigError
from dlzoo.metric_losses import contrastive_loss, distance_matrix, semi_hard_negatives, triplet_loss
from dlzoo.metrics.knn import knn_accuracy
from dlzoo.models.siamese import DistanceDecision
from dlzoo.tasks.base import Task
from dlzoo.tasks.embedding import embed_all, labelled_split

METRIC_LOSSES = ("contrastive", "triplet")
MINING = ("none", "semi_hard")


class MetricLearningTask(Task):
    """Train a siamese net's embedding with a contrastive or triplet loss.

    Args:
        net: a siamese net (``model=siamese``): an embedding, ``distance(a, b)`` and a
            ``decision`` head.
        optimizer: a partial that takes parameter groups.
        scheduler: a scheduler config dict or ``None``.
        loss: ``contrastive`` (pairs, or the two pairs of each triplet) or ``triplet``
            (triplets only).
        margin: the loss's margin ``m`` (in the net's distance: with normalised
            embeddings euclidean distances lie in [0, 2], cosine ones too).
        mining: ``none`` or ``semi_hard`` (triplet loss only; training batches only).
        knn_k: neighbours of the k-NN accuracy.
        knn_on_val: also measure ``val/knn_acc`` at every validation epoch (it embeds
            the training split each time).

    Shapes:
        batch: pairs ``{"x", "x2", "same", ...}`` or triplets ``{"x", "positive",
        "negative", "label", "negative_label"}`` (see :mod:`dlzoo.data.derived.pairs`), images
        (B, C, H, W); the net maps images to embeddings (B, D).
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., Optimizer],
        scheduler: dict[str, Any] | None = None,
        loss: str = "contrastive",
        margin: float = 1.0,
        mining: str = "none",
        knn_k: int = 5,
        knn_on_val: bool = True,
    ) -> None:
        super().__init__(net, optimizer, scheduler)
        if not isinstance(getattr(net, "decision", None), DistanceDecision):
            raise ConfigError(
                "task=metric_learning needs a siamese net (model=siamese), "
                f"got {type(net).__name__}"
            )
        if loss not in METRIC_LOSSES:
            raise ConfigError(f"task.loss={loss!r}; valid: {', '.join(METRIC_LOSSES)}")
        if mining not in MINING:
            raise ConfigError(f"task.mining={mining!r}; valid: {', '.join(MINING)}")
        if mining != "none" and loss != "triplet":
            raise ConfigError(f"task.mining={mining} needs task.loss=triplet (and data=triplets)")
        if not margin > 0:
            raise ConfigError(f"task.margin={margin} must be positive")
        if isinstance(knn_k, bool) or int(knn_k) != knn_k or knn_k < 1:
            raise ConfigError(f"task.knn_k={knn_k} must be a positive integer")
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"], logger=False)
        self.loss_name, self.margin, self.mining = loss, float(margin), mining
        self.knn_k, self.knn_on_val = int(knn_k), bool(knn_on_val)
        self.verify_acc = nn.ModuleDict(
            {s: BinaryAccuracy(validate_args=False) for s in ("val", "test")}
        )
        self.auroc = nn.ModuleDict({s: BinaryAUROC(validate_args=False) for s in ("val", "test")})
        # this training epoch's (distances, same) batches, for fitting the decision head
        self._train_pairs: list[tuple[torch.Tensor, torch.Tensor]] = []

    @staticmethod
    def split_batch(batch: Any) -> tuple[tuple[Any, ...], Any]:
        """Pairs: inputs ``(x, x2)``, target ``same``; triplets: inputs ``(x, positive,
        negative)``, target ``(label, negative_label)``; anything else as
        :meth:`Task.split_batch`."""
        if isinstance(batch, Mapping) and "x2" in batch:
            return (batch["x"], batch["x2"]), batch["same"]
        if isinstance(batch, Mapping) and "positive" in batch:
            inputs = (batch["x"], batch["positive"], batch["negative"])
            return inputs, (batch["label"], batch["negative_label"])
        return Task.split_batch(batch)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The embeddings of every input, from one pass of the shared encoder.

        Shapes:
            inputs: k tensors (B_i, C, H, W) -> k embeddings (B_i, D)
        """
        sizes = [len(t) for t in inputs]
        return self.net(torch.cat(inputs) if len(inputs) > 1 else inputs[0]).split(sizes)

    def embed(self, x: torch.Tensor, *extra: Any) -> torch.Tensor:
        """The embedding (the net's output, normalised where the net normalises).

        Shapes:
            x (B, C, H, W) -> (B, D)
        """
        return self.net(x)

    def infer(self, x: torch.Tensor, *extra: Any) -> torch.Tensor:
        """Embeddings of images (``dlzoo-predict`` writes them as ``z_0 .. z_{D-1}``).

        Shapes:
            x (B, C, H, W) -> (B, D)
        """
        return self.embed(x)

    # ------------------------------------------------------------------ steps

    def _pair_step(self, embeddings: tuple[torch.Tensor, ...], same: torch.Tensor) -> tuple:
        if self.loss_name == "triplet":
            raise ConfigError(
                "task.loss=triplet needs triplets (anchor, positive, negative): use data=triplets"
            )
        d = self.net.distance(*embeddings)  # (B,)
        return contrastive_loss(d, same, self.margin), d, same.to(d.dtype)

    def _triplet_step(
        self, embeddings: tuple[torch.Tensor, ...], labels: tuple[torch.Tensor, ...], stage: str
    ) -> tuple:
        anchor, positive, negative = embeddings
        d_ap = self.net.distance(anchor, positive)  # (B,)
        d_an = self.net.distance(anchor, negative)  # (B,) the drawn negatives
        # the drawn pairs, not the mined ones, fit the decision head: they are drawn as
        # the val / test pairs are, which mined (hard) negatives are not
        d = torch.cat([d_ap, d_an])
        same = torch.cat([torch.ones_like(d_ap), torch.zeros_like(d_an)])
        if self.loss_name == "contrastive":
            return contrastive_loss(d, same, self.margin), d, same
        if self.mining == "semi_hard" and stage == "train":
            d_an = self.net.distance(anchor, self._mine(anchor, positive, negative, *labels))
        return triplet_loss(d_ap, d_an, self.margin), d, same

    def _mine(
        self,
        anchor: torch.Tensor,
        positive: torch.Tensor,
        negative: torch.Tensor,
        label: torch.Tensor,
        negative_label: torch.Tensor,
    ) -> torch.Tensor:
        """Each anchor's semi-hard negative among the batch's embeddings.

        Shapes:
            anchor, positive, negative (B, D); label, negative_label (B,) -> (B, D)
        """
        candidates = torch.cat([anchor, positive, negative])  # (3B, D)
        candidate_labels = torch.cat([label, label, negative_label])  # (3B,)
        with torch.no_grad():  # the choice is not differentiated, the chosen rows are
            kind = self.net.distance_name
            d_an = distance_matrix(anchor, candidates, kind)  # (B, 3B)
            d_ap = self.net.distance(anchor, positive)
            is_negative = label[:, None] != candidate_labels[None]
            chosen = semi_hard_negatives(d_ap, d_an, is_negative)
        return candidates[chosen]

    def _shared_step(self, batch: Any, stage: str) -> torch.Tensor:
        inputs, target = self.split_batch(batch)
        embeddings = self(*inputs)
        if len(embeddings) == 2:
            loss, d, same = self._pair_step(embeddings, target)
        else:
            loss, d, same = self._triplet_step(embeddings, target, stage)
        n = len(inputs[0])
        self._accumulate(stage, torch.stack([loss.detach() * n, loss.new_tensor(n)]))
        if stage == "train":
            self._train_pairs.append((d.detach(), same))
        elif stage in self.verify_acc:
            self.verify_acc[stage].update(self.net.decision(d), same.long())
            self.auroc[stage].update(-d, same.long())
        return loss

    # ------------------------------------------------------------------ epochs

    def _fit_decision(self) -> None:
        """Fit the decision head on this epoch's training distances, then forget them."""
        if self._train_pairs:
            d, same = (torch.cat(parts) for parts in zip(*self._train_pairs, strict=True))
            self.net.decision.fit(d, same)
            self._train_pairs = []

    def on_validation_epoch_start(self) -> None:
        self._fit_decision()

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        self._fit_decision()  # when no validation ran this epoch

    def _knn(self, stage: str) -> dict[str, torch.Tensor]:
        """``{stage}/knn_acc`` of the split's embeddings against the training split's."""
        if self.trainer.sanity_checking or (stage == "val" and not self.knn_on_val):
            return {}
        datamodule = self.trainer.datamodule
        train, queries = labelled_split(datamodule, "train"), labelled_split(datamodule, stage)
        if train is None or queries is None:
            return {}
        references = torch.from_numpy(embed_all(self, train[0]))
        embedded = torch.from_numpy(embed_all(self, queries[0]))
        kind = self.net.distance_name
        accuracy = knn_accuracy(embedded, queries[1], references, train[1], self.knn_k, kind)
        return {f"{stage}/knn_acc": torch.tensor(accuracy, device=self.device)}

    def _log_epoch(self, stage: str) -> None:
        values: dict[str, torch.Tensor] = {}
        sums = self._epoch_sums(stage)
        if sums is not None:
            values[f"{stage}/loss"] = sums[0] / sums[1]
        if stage in self.verify_acc:
            for name, metric in (("verify_acc", self.verify_acc), ("auroc", self.auroc)):
                values[f"{stage}/{name}"] = metric[stage].compute()
                metric[stage].reset()
            threshold = self.net.decision.threshold
            values[f"{stage}/threshold"] = torch.tensor(threshold, device=self.device)
            values.update(self._knn(stage))
        self._log_epoch_values(values)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")
