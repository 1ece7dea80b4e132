"""A graph from CSV tables: the node table, the edge list and the graph they make."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlzoo.data.readers import missing_column, numeric_columns, read_csv
from dlzoo.errors import DataError
from dlzoo.graph import pyg


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
    data = pyg("data").Data(x=torch.from_numpy(table.x), edge_index=torch.from_numpy(edge_index))
    return data, table.ids
