"""What the graph datamodules share: the contract, the fitted state and the loaders.

Two levels (``net_kwargs()["level"]``):

- **node** (:class:`NodeDataModule`: karate, planetoid, graph_csv): one graph, a label
  per node, transductive. Every loader (train / val / test / predict) yields that graph
  once per epoch as a ``torch_geometric.data.Data`` with ``x`` (N, F) float32,
  ``edge_index`` (2, E) int64, ``y`` (N,) int64 and disjoint ``train_mask`` /
  ``val_mask`` / ``test_mask`` (N,) bool; the task picks its stage's mask.
- **graph** (:class:`GraphLevelDataModule`: tu, mutag): a label per graph, served as
  ``torch_geometric.loader.DataLoader`` batches (a PyG ``Batch``: x, edge_index,
  edge_attr, batch, y (B,)), shuffled with a seeded generator for training.

There are no split tensors (``tensors`` stays empty, so code that reads ``tensors``
sees nothing to misread); :meth:`GraphDataModule.labelled` gives ``(x, y)`` tensors a
logistic regression can read instead: node level ``(x[mask], y[mask])``, graph level
the mean and the sum of each graph's node features side by side (B, 2F).

The fitted state is plain data: ``name``, ``class_names``, ``node_features``,
``edge_features``, ``level`` and what a subclass adds (e.g. the TU label values that
its one-hot features stand for). There is no fitted preprocessing:
:meth:`GraphDataModule.input_transform` is the identity.

PyTorch Geometric is imported lazily (:func:`pyg`), so importing this module does not.
"""

from __future__ import annotations

import copy
from abc import abstractmethod
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from dlzoo.data.base import STAGES, PredictInputs
from dlzoo.data.classification import LabelledDataModule
from dlzoo.data.state import first_difference, get_field, string_list
from dlzoo.errors import ConfigError, DataError
from dlzoo.graph import pyg as import_pyg

__all__ = [
    "GraphDataModule",
    "GraphLevelDataModule",
    "NodeDataModule",
    "RowNormalize",
    "SingleGraphLoader",
    "pyg",
]

LEVELS = ("node", "graph")


def pyg() -> ModuleType:
    """``torch_geometric`` with its ``data`` and ``loader`` modules, imported on first use
    (see :func:`dlzoo.graph.pyg`)."""
    for submodule in ("data", "loader"):
        import_pyg(submodule)
    return import_pyg()


class SingleGraphLoader:
    """Yields one graph once per epoch: the loader of a transductive node-level split.

    Lightning accepts it as a dataloader (an iterable with ``__len__``) and moves the
    ``Data`` to the device with its ``.to``.
    """

    def __init__(self, data: Any) -> None:
        self.data = data

    def __iter__(self) -> Iterator[Any]:
        yield self.data

    def __len__(self) -> int:
        return 1


class RowNormalize(nn.Module):
    """Each node's features divided by their sum (a node whose features sum to 0 stays 0).

    Called with a graph (anything with ``x``), it returns a shallow copy with ``x``
    normalised; the graph given is not changed.

    Shapes:
        - x: (N, F) -> (N, F)
    """

    @staticmethod
    def apply(x: Tensor) -> Tensor:
        total = x.sum(dim=-1, keepdim=True)
        return x / torch.where(total == 0, torch.ones_like(total), total)

    def forward(self, data: Any) -> Any:
        out = copy.copy(data)
        out.x = self.apply(data.x)
        return out


class GraphDataModule(LabelledDataModule):
    """Base class of the graph datamodules: setup once, the fitted state, the contract.

    A subclass sets ``level`` and implements :meth:`_setup_once` (read, split, set
    ``class_names``, ``split_indices``, ``node_features``, ``edge_features``), the
    loaders, :meth:`labelled`, :meth:`predict_inputs`, and optionally
    :meth:`_extra_state` / :meth:`_apply_extra_state` for more fitted state.

    Args:
        batch_size, eval_batch_size, seed: as :class:`InMemoryDataModule`.
    """

    level: str = "node"

    def __init__(self, batch_size: int, eval_batch_size: int | None, seed: int | None) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        self.node_features = 0
        self.edge_features = 0
        self._is_set_up = False
        self._fitted = False

    # ------------------------------------------------------------------ life cycle

    def prepare_data(self) -> None:
        """Nothing here: :meth:`setup` reads (and if needed downloads) the data."""

    def setup(self, stage: str | None = None) -> None:
        """Read and split once; later calls do nothing. A state loaded before must agree."""
        if self._is_set_up:
            return
        self._setup_once()
        self._is_set_up = self._fitted = True
        if self._loaded_state is None:
            return
        difference = first_difference(self.fitted_state(), self._loaded_state)
        if difference:
            # keep the loaded state, the one the model needs, and no data read without it
            self._is_set_up = False
            self._apply_fitted_state(self._loaded_state)
            raise self._mismatch(difference)

    @abstractmethod
    def _setup_once(self) -> None:
        """Read, split and set the facts of the class doc."""

    def use_fold(self, fold: int, folds: int) -> None:
        """As :meth:`LabelledDataModule.use_fold` (before ``setup`` only)."""
        if self._is_set_up:
            raise ConfigError("use_fold must be called before setup()")
        super().use_fold(fold, folds)

    @property
    def is_fitted(self) -> bool:
        """Whether the facts are there: after ``setup`` or ``load_fitted_state``."""
        return self._fitted

    def _require_setup(self) -> None:
        if not self._is_set_up:
            raise RuntimeError(
                f"{type(self).__name__}: call prepare_data() and setup() before using it"
            )

    # ------------------------------------------------------------------ facts

    def net_kwargs(self) -> dict[str, Any]:
        """``node_features``, ``edge_features`` (0: none), ``level`` and ``num_classes``."""
        self._require_fitted()
        return {
            "node_features": self.node_features,
            "edge_features": self.edge_features,
            "level": self.level,
            "num_classes": self.num_classes,
        }

    def fitted_state(self) -> dict[str, Any]:
        """``name``, ``class_names``, ``node_features``, ``edge_features``, ``level``
        and what :meth:`_extra_state` adds."""
        return {
            **self._class_state(),
            "node_features": self.node_features,
            "edge_features": self.edge_features,
            "level": self.level,
            **self._extra_state(),
        }

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _apply_fitted_state(self, state: dict[str, Any]) -> None:
        class_names = string_list(state, "class_names", self.name)
        node_features = get_field(state, "node_features", int, self.name)
        edge_features = get_field(state, "edge_features", int, self.name)
        level = get_field(state, "level", str, self.name)
        if level != self.level or node_features < 1 or edge_features < 0:
            raise DataError(
                f"the fitted state of data '{self.name}' has level={level!r}, node_features="
                f"{node_features}, edge_features={edge_features}, expected level "
                f"'{self.level}' and positive feature counts: load a state this data wrote"
            )
        self._apply_extra_state(state)
        self.class_names = class_names
        self.node_features, self.edge_features = node_features, edge_features
        self._fitted = True

    def _apply_extra_state(self, state: dict[str, Any]) -> None:
        """Check and take over what :meth:`_extra_state` wrote (nothing by default)."""

    def input_transform(self) -> nn.Module:
        """The identity: graph inputs reach the net as the loaders serve them."""
        self._require_fitted()
        return nn.Identity()

    def _check_graph(self, data: Any, where: str) -> None:
        """``edge_index`` must index the nodes of ``x``: a DataError naming ``where``."""
        n = int(data.x.size(0))
        edge_index = data.edge_index
        if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= n):
            raise DataError(
                f"{where}: edge_index holds node {int(edge_index.max())} (or a negative one) "
                f"but the graph has {n} nodes (0 .. {n - 1}): fix the edges or the node table"
            )


class NodeDataModule(GraphDataModule):
    """One graph with a label per node, served whole with train / val / test masks.

    A subclass implements :meth:`_read_graph` (a ``Data`` with x, edge_index, y) and
    :meth:`_node_splits` (stage -> node indices); ``setup`` turns the splits into masks.
    After ``setup``: ``data`` (the graph), ``split_indices`` (stage -> node indices).
    """

    level = "node"

    def __init__(self, batch_size: int, eval_batch_size: int | None, seed: int | None) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        self.data: Any = None

    @abstractmethod
    def _read_graph(self) -> Any:
        """The graph as a ``Data``: x (N, F) float32, edge_index (2, E) int64, y (N,) int64."""

    @abstractmethod
    def _node_splits(self, data: Any) -> dict[str, np.ndarray]:
        """Stage -> int64 indices of the nodes in that split (disjoint)."""

    def _setup_once(self) -> None:
        data = self._read_graph()
        data.x = data.x.float()
        data.y = data.y.long()
        self._check_graph(data, f"data '{self.name}'")
        self.split_indices = {
            s: np.asarray(i, np.int64) for s, i in self._node_splits(data).items()
        }
        self._check_split_sizes(len(data.y), "labelled nodes", "change data.val_fraction")
        n = int(data.x.size(0))
        for stage in STAGES:
            mask = torch.zeros(n, dtype=torch.bool)
            mask[torch.from_numpy(self.split_indices[stage])] = True
            data[f"{stage}_mask"] = mask
        self.node_features = int(data.x.size(1))
        edge_attr = getattr(data, "edge_attr", None)
        self.edge_features = (
            0 if edge_attr is None else int(edge_attr.view(len(edge_attr), -1).size(1))
        )
        self.data = data

    def labelled(self, stage: str) -> tuple[Tensor, Tensor]:
        """``(x[mask], y[mask])`` of the stage's nodes: x (N_s, F), y (N_s,)."""
        self._require_setup()
        mask = self.data[f"{stage}_mask"]
        return self.data.x[mask], self.data.y[mask]

    def _loader(self, stage: str, train: bool = False) -> SingleGraphLoader:
        self._require_setup()
        return SingleGraphLoader(self.data)

    def predict_inputs(self, path: str | Path) -> PredictInputs:
        """A graph to classify every node of: a folder with ``nodes.csv`` and ``edges.csv``.

        ``nodes.csv``: a header row, an ``id`` column and ``node_features`` feature
        columns (every other column; a ``label`` column is ignored); ``edges.csv``:
        ``source,target`` node ids, each edge taken in both directions.

        Returns:
            ``inputs = (data,)``: a ``Data`` with x (N, F) float32 and edge_index (2, E);
            ``names``: the node ids, in the table's order.
        """
        from dlzoo.data.graph.tables import read_graph_folder

        self._require_fitted()
        data, names = read_graph_folder(Path(path), self.node_features)
        return PredictInputs((data,), names)


class GraphLevelDataModule(GraphDataModule):
    """Many graphs with a label each, served as PyG ``Batch`` es.

    A subclass implements :meth:`_read_graphs` (a list of ``Data``, each with ``y`` of
    shape (1,)); ``setup`` splits them through ``_stage_indices`` (seeded, stratified,
    or the cross-validation fold of ``use_fold``). After ``setup``: ``graphs`` (stage
    -> list of ``Data``), ``split_indices`` (stage -> indices into the read graphs).

    Args:
        batch_size, eval_batch_size, seed: as :class:`InMemoryDataModule`.
        val_fraction, test_fraction: the split's shares (stratified by graph label).
    """

    level = "graph"

    def __init__(
        self,
        batch_size: int,
        eval_batch_size: int | None,
        seed: int | None,
        val_fraction: float,
        test_fraction: float,
    ) -> None:
        from dlzoo.data.options import check_fractions

        super().__init__(batch_size, eval_batch_size, seed)
        self.val_fraction, self.test_fraction = check_fractions(val_fraction, test_fraction)
        self.graphs: dict[str, list[Any]] = {}

    @abstractmethod
    def _read_graphs(self) -> list[Any]:
        """Every graph as a ``Data`` (x, edge_index, optional edge_attr, y (1,)); sets
        ``class_names`` (graph ``y`` indexes it)."""

    def _setup_once(self) -> None:
        graphs = self._read_graphs()
        labels = np.array([int(g.y) for g in graphs], dtype=np.int64)
        self.split_indices = self._stage_indices(labels, self.val_fraction, self.test_fraction)
        self._check_split_sizes(len(graphs), "graphs", "change data.val_fraction / test_fraction")
        self.graphs = {s: [graphs[i] for i in idx] for s, idx in self.split_indices.items()}
        first = graphs[0]
        self.node_features = int(first.x.size(1))
        edge_attr = getattr(first, "edge_attr", None)
        self.edge_features = 0 if edge_attr is None else int(edge_attr.size(1))

    def labelled(self, stage: str) -> tuple[Tensor, Tensor]:
        """Per graph, the mean and the sum of its node features side by side, and its label.

        Shapes:
            - x: (B, 2F) float32; y: (B,) int64, B the stage's graphs
        """
        self._require_setup()
        return graph_summaries(self.graphs[stage])

    def _loader(self, stage: str, train: bool = False) -> Any:
        self._require_setup()
        loader = pyg().loader.DataLoader
        graphs = self.graphs[stage]
        if not train:
            return loader(graphs, batch_size=self.eval_batch_size, shuffle=False)
        # as InMemoryDataModule: no shuffling under overfit_batches, and no last batch of
        # one graph (BatchNorm fails on it in training)
        overfit = self.trainer is not None and self.trainer.overfit_batches > 0
        return loader(
            graphs,
            batch_size=self.batch_size,
            shuffle=not overfit,
            drop_last=len(graphs) % self.batch_size == 1,
            generator=torch.Generator().manual_seed(self.seed),
        )


def graph_summaries(graphs: list[Any]) -> tuple[Tensor, Tensor]:
    """Mean and sum of each graph's node features, side by side, and the graph labels.

    Shapes:
        - graphs[i].x: (N_i, F) -> x: (B, 2F) float32; y: (B,) int64
    """
    rows = []
    for g in graphs:
        x = g.x.float()
        total = x.sum(0)
        rows.append(torch.cat([total / max(len(x), 1), total]))
    x = torch.stack(rows) if rows else torch.zeros(0, 0)
    y = torch.tensor([int(g.y) for g in graphs], dtype=torch.int64)
    return x, y
