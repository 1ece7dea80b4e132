"""Your own graph for node classification: an edge list CSV and a node table CSV.

- **node table** (``data.nodes``): a header row, one row per node: an id column
  (``id_column``; ``null``: the nodes are numbered 0 .. N-1 in row order), the numeric
  feature columns (``feature_columns``; ``null``: every column but the id and the label)
  and a label column (``label_column``). An empty label leaves the node unlabelled: it
  is in the graph (and predicted) but in no mask.
- **edge list** (``data.edges``): a header row, one row per edge: ``source_column``,
  ``target_column`` holding node ids (or row numbers 0 .. N-1 without an id column).
  With ``directed=false`` each edge is taken in both directions; repeated edges count once.

Masks: the labelled nodes split per class through ``_stage_indices`` (seeded,
stratified ``val_fraction`` / ``test_fraction``, or the fold of ``use_fold``).

Every bad input is one :class:`~dlzoo.errors.DataError` naming the file and the fix: a
missing or empty file, a missing column, a non-numeric or empty feature, a repeated
node id, an edge to an unknown node id, an edge index out of range.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlzoo.data.classification import class_order
from dlzoo.data.graph.base import NodeDataModule, pyg
from dlzoo.data.graph.tables import read_edges, read_graph_folder, read_nodes
from dlzoo.data.options import check_fractions
from dlzoo.data.state import string_list
from dlzoo.errors import DataError

__all__ = ["GraphCSVDataModule"]


class GraphCSVDataModule(NodeDataModule):
    """A user's graph from two CSV files, node classification (see the module doc).

    ``net_kwargs()``: ``node_features`` (the feature columns), ``edge_features=0``,
    ``level="node"``, ``num_classes`` (the distinct labels; ``class_names`` sorted,
    numerically where numbers). The fitted state adds ``feature_columns``.
    ``predict_inputs(path)``: a folder with ``nodes.csv`` (the id and feature columns)
    and ``edges.csv`` (the source / target columns).

    Args:
        nodes: the node table CSV.
        edges: the edge list CSV.
        id_column: the node table's id column; ``None``: row numbers 0 .. N-1.
        label_column: the node table's label column (an empty cell: unlabelled).
        feature_columns: the feature columns; ``None``: every other column.
        source_column, target_column: the edge list's columns.
        directed: take each edge as given only (``False``: both directions).
        batch_size, eval_batch_size: unused by the one-graph loaders.
        seed: seeds the masks (``None``: 0).
        val_fraction, test_fraction: shares of the labelled nodes in the masks.
    """

    name = "graph_csv"

    def __init__(
        self,
        nodes: str | Path,
        edges: str | Path,
        id_column: str | None = "id",
        label_column: str = "label",
        feature_columns: list[str] | None = None,
        source_column: str = "source",
        target_column: str = "target",
        directed: bool = False,
        batch_size: int = 1,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        self.nodes, self.edges = Path(nodes), Path(edges)
        self.id_column, self.label_column = id_column, str(label_column)
        self.feature_columns = (
            None if feature_columns is None else [str(c) for c in feature_columns]
        )
        self.columns = (str(source_column), str(target_column))
        self.directed = bool(directed)
        self.val_fraction, self.test_fraction = check_fractions(val_fraction, test_fraction)

    def _read_graph(self) -> Any:
        table = read_nodes(self.nodes, self.id_column, self.label_column, self.feature_columns)
        labelled = sorted({s for s in table.labels if s})
        if not labelled:
            raise DataError(
                f"CSV file {self.nodes} has no labels in column '{self.label_column}': label "
                "at least the nodes to train on"
            )
        self.class_names = class_order(labelled)
        self.feature_columns = table.feature_columns
        index = {c: k for k, c in enumerate(self.class_names)}
        y = torch.tensor([index.get(s, -1) for s in table.labels], dtype=torch.int64)
        ids = table.ids if self.id_column else None
        edge_index = read_edges(self.edges, *self.columns, ids, len(table.ids), self.directed)
        self.node_ids = table.ids
        return pyg().data.Data(
            x=torch.from_numpy(table.x), edge_index=torch.from_numpy(edge_index), y=y
        )

    def _node_splits(self, data: Any) -> dict[str, np.ndarray]:
        labelled = np.flatnonzero(data.y.numpy() >= 0)
        parts = self._stage_indices(data.y.numpy()[labelled], self.val_fraction, self.test_fraction)
        return {stage: labelled[idx] for stage, idx in parts.items()}

    def _extra_state(self) -> dict[str, Any]:
        return {"feature_columns": list(self.feature_columns or [])}

    def _apply_extra_state(self, state: dict[str, Any]) -> None:
        columns = string_list(state, "feature_columns", self.name)
        if self.feature_columns is not None and columns != self.feature_columns:
            raise DataError(
                f"the fitted state of data '{self.name}' has feature_columns={columns} but "
                f"data.feature_columns={self.feature_columns}: use the run's data config"
            )
        self.feature_columns = columns

    def predict_inputs(self, path: str | Path) -> Any:
        """As :meth:`NodeDataModule.predict_inputs`, with this config's columns."""
        from dlzoo.data.base import PredictInputs

        self._require_fitted()
        data, names = read_graph_folder(
            Path(path), self.node_features, self.feature_columns, self.id_column, self.columns,
            self.directed,
        )  # fmt: skip
        return PredictInputs((data,), names)
