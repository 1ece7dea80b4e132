"""The Planetoid citation graphs (Yang et al. 2016): Cora, CiteSeer, PubMed.

Node classification on one graph of papers (nodes: bag-of-words features; edges:
citations, both directions; labels: the topic), with the public split of Kipf &
Welling (2017), kept as published: 20 training nodes per class, 500 validation and
1000 test nodes (the other nodes are in the graph but in no mask).

==========  =======  =========  ========  =======
name        nodes    edges      features  classes
==========  =======  =========  ========  =======
Cora        2708     10556      1433      7
CiteSeer    3327     9104       3703      6
PubMed      19717    88648      500       3
==========  =======  =========  ========  =======

The files come through PyG's ``Planetoid`` (its real download from the Planetoid
repository, once, into ``root/<name>/raw``; PyG writes its processed copy beside).
Offline, or with ``download=false``, a missing file is one DataError naming the
dataset, the folder and the eight files to put there.

With ``row_normalize`` (Kipf & Welling's preprocessing) each node's features are
divided by their sum; ``input_transform`` then does the same to a graph's ``x``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from dlzoo.data.graph.base import NodeDataModule, RowNormalize, pyg
from dlzoo.data.state import get_field
from dlzoo.errors import ConfigError, DataError

__all__ = ["PLANETOID_NAMES", "PlanetoidDataModule", "planetoid_files"]

PLANETOID_NAMES = ("Cora", "CiteSeer", "PubMed")
PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data"
_PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


def planetoid_files(name: str) -> list[str]:
    """The eight raw files of a Planetoid dataset: ``ind.<name>.x``, ... (lower case)."""
    return [f"ind.{name.lower()}.{part}" for part in _PARTS]


class PlanetoidDataModule(NodeDataModule):
    """Cora / CiteSeer / PubMed with the public split (see the module doc).

    ``net_kwargs()``: ``node_features`` (1433 / 3703 / 500), ``edge_features=0``,
    ``level="node"``, ``num_classes`` (7 / 6 / 3; ``class_names`` ``"0"`` ..). The fitted
    state adds ``row_normalize``. Every loader yields the one ``Data`` with its masks.

    Args:
        name: ``Cora``, ``CiteSeer`` or ``PubMed`` (any case).
        root: the download cache; the files go to ``root/<name>/raw``.
        batch_size, eval_batch_size: unused by the one-graph loaders.
        seed: unused by the public split (kept for the config's ``${seed}``).
        row_normalize: divide each node's features by their sum.
        download: fetch missing files (``False``: fail and say where to put them).
    """

    def __init__(
        self,
        name: str = "Cora",
        root: str | Path = "data/planetoid",
        batch_size: int = 1,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        row_normalize: bool = True,
        download: bool = True,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        canonical = {n.lower(): n for n in PLANETOID_NAMES}
        if str(name).lower() not in canonical:
            raise ConfigError(
                f"data.name={name} is not a Planetoid dataset: use one of "
                f"{', '.join(PLANETOID_NAMES)}"
            )
        self.name = canonical[str(name).lower()]
        self.root = Path(root)
        self.row_normalize = bool(row_normalize)
        self.download = bool(download)

    @property
    def raw_dir(self) -> Path:
        return self.root / self.name / "raw"

    def use_fold(self, fold: int, folds: int) -> None:
        """Refused: the public split is what Planetoid results are compared on."""
        raise ConfigError(
            f"data '{self.name}' keeps Planetoid's public split: cv.folds is not supported "
            "for it (use graph_csv for cross-validated masks of your own graph)"
        )

    def _read_graph(self) -> Any:
        missing = [f for f in planetoid_files(self.name) if not (self.raw_dir / f).is_file()]
        how = (
            f"put the eight files {', '.join(planetoid_files(self.name))} from "
            f"{PLANETOID_URL} into {self.raw_dir}"
        )
        if missing and not self.download:
            raise DataError(
                f"Planetoid '{self.name}' is not in {self.raw_dir} (no {missing[0]}; "
                f"data.download=false): {how}"
            )
        pyg()  # a clear ConfigError where PyG is missing
        from torch_geometric.datasets import Planetoid

        try:
            data = Planetoid(str(self.root), self.name, split="public")[0]
        except Exception as exc:  # offline, HTTP errors, a corrupt file: all one line
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            action = "download" if missing else "read"
            raise DataError(
                f"cannot {action} Planetoid '{self.name}' into {self.raw_dir} ({reason}): "
                f"offline, {how}"
            ) from None
        self.class_names = [str(k) for k in range(int(data.y.max()) + 1)]
        if self.row_normalize:
            data.x = RowNormalize.apply(data.x)
        return data

    def _node_splits(self, data: Any) -> dict[str, np.ndarray]:
        return {s: data[f"{s}_mask"].nonzero().view(-1).numpy() for s in ("train", "val", "test")}

    def _extra_state(self) -> dict[str, Any]:
        return {"row_normalize": self.row_normalize}

    def _apply_extra_state(self, state: dict[str, Any]) -> None:
        fitted = get_field(state, "row_normalize", bool, self.name)
        if fitted != self.row_normalize:
            raise DataError(
                f"the fitted state of data '{self.name}' has row_normalize={fitted} but "
                f"data.row_normalize={self.row_normalize}: use the run's data config"
            )

    def predict_inputs(self, path: str | Path) -> Any:
        """As :meth:`NodeDataModule.predict_inputs`, features row-normalised as in training."""
        out = super().predict_inputs(path)
        if self.row_normalize:
            out.inputs[0].x = RowNormalize.apply(out.inputs[0].x)
        return out

    def input_transform(self) -> nn.Module:
        """``RowNormalize`` with ``row_normalize``, else the identity."""
        self._require_fitted()
        return RowNormalize() if self.row_normalize else nn.Identity()
