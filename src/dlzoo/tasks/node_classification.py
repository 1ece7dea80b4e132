"""Node classification: a class per node of one graph, learned from a few labelled nodes.

The setting is transductive (Kipf & Welling 2017): every step sees the whole graph, all
its nodes' features and edges, so the unlabelled nodes pass messages too; only the
labels are split. The loss reads the nodes of ``data.train_mask``, validation and test
metrics those of ``data.val_mask`` / ``data.test_mask``; a node's label outside the
stage's mask never reaches that stage's numbers. Otherwise it is
:class:`~dlzoo.tasks.classification.ClassificationTask`: the same losses, metrics,
confusion matrix, ``infer`` (class probabilities, here for every node) and prediction
table (one row per node).
"""

from __future__ import annotations

from typing import Any

import torch

from dlzoo.errors import DataError
from dlzoo.tasks.classification import ClassificationTask


def stage_mask(data: Any, stage: str) -> torch.Tensor:
    """The boolean node mask of a stage: ``data.<stage>_mask``.

    Raises:
        DataError: the graph has no such mask or it selects no node.

    Shapes:
        -> (N,) bool
    """
    mask = getattr(data, f"{stage}_mask", None)
    if not torch.is_tensor(mask):
        raise DataError(
            f"node classification needs data.{stage}_mask on the graph, got "
            f"{type(data).__name__} without it: use a node-level graph datamodule "
            "(data=karate, planetoid, graph_csv); graph-level data takes task=classification"
        )
    if not bool(mask.any()):
        raise DataError(f"data.{stage}_mask selects no node: give the {stage} split some nodes")
    return mask.bool()


class NodeClassificationTask(ClassificationTask):
    """Classify the nodes of a graph: loss on the train mask, metrics on the val / test
    masks (see the module docstring).

    Args: as :class:`~dlzoo.tasks.classification.ClassificationTask`; ``num_classes``
    is filled in from the datamodule.

    Shapes:
        batch: a PyG ``Data`` with x (N, F), edge_index (2, E), y (N,) int64 and
        train_mask / val_mask / test_mask (N,) bool; the net returns logits (N, C).
    """

    def _shared_step(self, batch: Any, stage: str) -> torch.Tensor:
        inputs, y = self.split_batch(batch)
        mask = stage_mask(batch, stage)
        logits = self.net(*inputs)[mask]  # (n, C): every node computed, the stage's kept
        return self._score(logits, y[mask], stage)
