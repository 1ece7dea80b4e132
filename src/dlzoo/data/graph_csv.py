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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlzoo.data.classification import class_order
from dlzoo.data.graph_base import NodeDataModule, pyg
from dlzoo.data.options import check_fractions
from dlzoo.data.readers import missing_column, numeric_columns, read_csv
from dlzoo.data.state import string_list
from dlzoo.errors import DataError

__all__ = ["GraphCSVDataModule", "NodeTable", "read_edges", "read_graph_folder", "read_nodes"]


@dataclass
class NodeTable:
    """A node table as read: ids, features, labels (``""`` where a node has none).

    Shapes:
        - x: (N, F) float32; ids, labels: N strings
    """

    ids: list[str]
    x: np.ndarray
    labels: list[str] | None
    feature_columns: list[str]


def _read_table(path: Path, what: str) -> Any:
    frame = read_csv(path, f"give the {what} CSV file (data.{what})")
    if len(frame) == 0:
        raise DataError(
            f"CSV file {path} is empty: the {what} table needs a header row and one row per "
            f"{'node' if what == 'nodes' else 'edge'}"
        )
    return frame


def _id_strings(values: Any) -> list[str]:
    """Cells as id strings: whole numbers without a fraction (``3.0`` reads as ``"3"``)."""
    out = []
    for v in values.tolist():
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        out.append(str(v).strip())
    return out


def read_nodes(
    path: Path,
    id_column: str | None,
    label_column: str | None,
    feature_columns: list[str] | None,
) -> NodeTable:
    """Read a node table (see the module doc); ``label_column=None``: no labels read.

    Raises:
        DataError: a missing / empty file, a missing column, a bad feature, a repeated id.
    """
    frame = _read_table(path, "nodes")
    named = [c for c in (id_column, label_column) if c is not None]
    hint = "set data.id_column / data.label_column / data.feature_columns to its columns"
    for column in [*named, *(feature_columns or [])]:
        if column not in frame.columns:
            raise missing_column(path, frame, column, hint)
    columns = feature_columns or [str(c) for c in frame.columns if c not in named]
    if not columns:
        raise DataError(
            f"CSV file {path} has no feature columns (only {', '.join(named)}): add numeric "
            "columns of node features"
        )
    x = numeric_columns(path, frame, columns, "")
    if np.isnan(x).any():
        row, col = np.argwhere(np.isnan(x))[0]
        raise DataError(
            f"CSV file {path} has an empty feature '{columns[col]}' in data row {row + 1}: "
            "every node needs every feature"
        )
    ids = _id_strings(frame[id_column]) if id_column else [str(i) for i in range(len(frame))]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        first = next(i for i in ids if i in seen or seen.add(i))
        raise DataError(f"CSV file {path} lists node id {first!r} twice: give each node once")
    labels = None
    if label_column is not None:
        cells = frame[label_column]
        labels = [
            "" if v != v else s for v, s in zip(cells.tolist(), _id_strings(cells), strict=True)
        ]
    return NodeTable(ids, x.astype(np.float32), labels, columns)


def read_edges(
    path: Path, source: str, target: str, ids: list[str] | None, num_nodes: int, directed: bool
) -> np.ndarray:
    """Read an edge list: node ids mapped through ``ids`` (or row numbers without ids).

    Shapes:
        - output: (2, E) int64, both directions unless ``directed``, no repeats

    Raises:
        DataError: a missing / empty file, a missing column, an unknown node id, an
            index out of range.
    """
    frame = _read_table(path, "edges")
    for column in (source, target):
        if column not in frame.columns:
            raise missing_column(path, frame, column, "set data.source_column / target_column")
    ends = []
    for column in (source, target):
        cells = _id_strings(frame[column])
        if ids is not None:
            index = {node: i for i, node in enumerate(ids)}
            unknown = [(r, c) for r, c in enumerate(cells) if c not in index]
            if unknown:
                row, cell = unknown[0]
                raise DataError(
                    f"CSV file {path} has {len(unknown)} edge end(s) in '{column}' that are "
                    f"not node ids of the node table, first {cell!r} in data row {row + 1}: "
                    "add the node or remove the edge"
                )
            ends.append(np.array([index[c] for c in cells], np.int64))
        else:
            ends.append(_row_numbers(path, column, cells, num_nodes))
    edges = np.stack(ends)
    if not directed:
        edges = np.concatenate([edges, edges[::-1]], axis=1)
    return np.unique(edges, axis=1)  # sorted by source, repeats once


def _row_numbers(path: Path, column: str, cells: list[str], num_nodes: int) -> np.ndarray:
    """Edge ends given as node row numbers 0 .. N-1 (no id column)."""
    try:
        values = np.array([int(c) for c in cells], np.int64)
    except ValueError:
        bad = next(c for c in cells if not c.lstrip("-").isdigit())
        raise DataError(
            f"CSV file {path} column '{column}' holds {bad!r}: without an id column edge ends "
            "are node row numbers 0 .. N-1 (or set data.id_column)"
        ) from None
    out = np.flatnonzero((values < 0) | (values >= num_nodes))
    if len(out):
        raise DataError(
            f"CSV file {path} has edge index {values[out[0]]} in '{column}' (data row "
            f"{out[0] + 1}) out of range: the node table has {num_nodes} nodes, 0 .. "
            f"{num_nodes - 1}"
        )
    return values


def read_graph_folder(
    folder: Path,
    node_features: int,
    feature_columns: list[str] | None = None,
    id_column: str | None = "id",
    columns: tuple[str, str] = ("source", "target"),
    directed: bool = False,
) -> tuple[Any, list[str]]:
    """A graph to predict on: ``folder/nodes.csv`` and ``folder/edges.csv``.

    The node table's ``label`` column, if any, is ignored; without ``feature_columns``
    every other column but ``id_column`` is a feature. An ``id_column`` the table lacks
    numbers the nodes by row.

    Returns:
        ``(data, names)``: a ``Data`` with x (N, F) float32 and edge_index (2, E) int64,
        and the node ids.

    Raises:
        DataError: no such folder or files, a bad table, or not ``node_features`` features.
    """
    nodes, edges = folder / "nodes.csv", folder / "edges.csv"
    if not (nodes.is_file() and edges.is_file()):
        raise DataError(
            f"{folder} is not a folder with nodes.csv and edges.csv: give a folder holding "
            "the node table (id, features) and the edge list (source,target)"
        )
    frame_columns = _read_table(nodes, "nodes").columns
    id_column = id_column if id_column in frame_columns else None
    label = "label" if "label" in frame_columns and feature_columns is None else None
    table = read_nodes(nodes, id_column, label, feature_columns)
    if table.x.shape[1] != node_features:
        raise DataError(
            f"CSV file {nodes} has {table.x.shape[1]} feature columns "
            f"({', '.join(table.feature_columns[:5])}...), the model expects {node_features}: "
            "give the nodes the training graph's features"
        )
    ids = table.ids if id_column else None
    edge_index = read_edges(edges, *columns, ids, len(table.ids), directed)
    data = pyg().data.Data(x=torch.from_numpy(table.x), edge_index=torch.from_numpy(edge_index))
    return data, table.ids


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
