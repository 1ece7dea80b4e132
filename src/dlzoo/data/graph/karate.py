"""Zachary's karate club (1977): node classification on one 34-node graph, offline.

PyG's ``KarateClub`` (built in, nothing downloaded): 34 members, 156 directed edges
(78 friendships, both directions), node features the 34 x 34 identity (a node is only
its id), and 4 classes: the communities PyG assigns by modularity-based clustering
(13, 12, 4 and 5 members; ``class_names`` ``"0"`` .. ``"3"``).

Masks (disjoint, together every node):

- ``train``: PyG's own mask, one member per class (nodes 0, 4, 8 and 24);
- ``val`` / ``test``: the other 30 nodes, split per class with
  :func:`~dlzoo.data.splits.stratified_split` seeded with ``seed``: a share
  ``val_fraction`` of each class's remaining members (rounded as the split rounds,
  class by class) becomes validation, the rest test. Under ``use_fold(k, K)`` (k-fold
  cross-validation) the 30 are dealt into K stratified parts instead: part k is
  the test mask, the other parts the validation mask; train stays PyG's four.

Reference: W. W. Zachary, "An information flow model for conflict and fission in small
groups", 1977.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlzoo.data.graph.base import NodeDataModule, pyg
from dlzoo.data.options import check_fractions
from dlzoo.data.splits import stratified_split

__all__ = ["KarateDataModule"]


class KarateDataModule(NodeDataModule):
    """The karate club graph with PyG's one-per-class train mask (see the module doc).

    ``net_kwargs()``: ``node_features=34``, ``edge_features=0``, ``level="node"``,
    ``num_classes=4``. Every loader yields the one ``Data`` (x (34, 34), edge_index
    (2, 156), y (34,), train / val / test masks). ``split_indices``: stage -> node ids.

    Args:
        batch_size, eval_batch_size: unused by the one-graph loaders; kept so every
            datamodule takes them.
        seed: picks the validation / test nodes (``None``: 0).
        val_fraction: the share of the 30 non-training nodes that is validation.
    """

    name = "karate"

    def __init__(
        self,
        batch_size: int = 1,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        val_fraction: float = 0.5,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        self.val_fraction, _ = check_fractions(float(val_fraction))

    def _read_graph(self) -> Any:
        pyg()  # a clear ConfigError where PyG is missing
        from torch_geometric.datasets import KarateClub

        data = KarateClub()[0]
        self.class_names = [str(k) for k in range(int(data.y.max()) + 1)]
        return data

    def _node_splits(self, data: Any) -> dict[str, np.ndarray]:
        y = data.y.numpy()
        train = np.flatnonzero(data.train_mask.numpy())
        rest = np.setdiff1d(np.arange(len(y)), train)
        if self.fold is None:
            fractions = (self.val_fraction, 1.0 - self.val_fraction)
            val, test = stratified_split(y[rest], fractions, self.seed)
        else:
            fold, folds = self.fold
            parts = stratified_split(y[rest], [1.0 / folds] * folds, self.seed)
            test = parts[fold]
            val = np.concatenate([p for k, p in enumerate(parts) if k != fold])
        return {"train": train, "val": rest[val], "test": rest[test]}
