"""Small graph files in the formats dlzoo reads, written by tests (no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_graph(folder: Path, unlabelled: bool = True) -> tuple[Path, Path]:
    """Two 10-node rings, labels a / b, features (f1, f2); node u0 unlabelled."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [f"n{i},{i % 10},{i // 10},{'ab'[i // 10]}" for i in range(20)]
    if unlabelled:
        rows.append("u0,0.5,0.5,")
    (folder / "nodes.csv").write_text("id,f1,f2,label\n" + "\n".join(rows) + "\n")
    edges = [f"n{r * 10 + i},n{r * 10 + (i + 1) % 10}" for r in range(2) for i in range(10)]
    edges += ["n0,n1", "u0,n3"]  # a repeat counts once
    (folder / "edges.csv").write_text("source,target\n" + "\n".join(edges) + "\n")
    return folder / "nodes.csv", folder / "edges.csv"


def write_planetoid(raw: Path, name: str = "cora") -> None:
    """A tiny graph in the raw Planetoid format (pickled scipy / numpy, as PyG reads it).

    516 nodes (PyG's reader takes the 500 nodes after the training ones as validation):
    6 training nodes (``y``), 506 in ``allx`` / ``ally``, 10 test nodes (``tx`` / ``ty``)
    listed in ``test.index`` out of order; node i has label i % 3 and feature i % 5 (and
    feature 4 for odd i), and a ring joins node i to i + 1.
    """
    import pickle

    import scipy.sparse as sp

    raw.mkdir(parents=True)
    n, n_all = 516, 506
    test_index = np.array([510, 506, 515, 507, 514, 508, 513, 509, 512, 511])
    feats = np.zeros((n, 5))
    feats[np.arange(n), np.arange(n) % 5] = 1.0
    feats[1::2, 4] += 1.0
    labels = np.eye(3)[np.arange(n) % 3]
    parts = {
        "x": sp.csr_matrix(feats[:6]), "y": labels[:6],
        "allx": sp.csr_matrix(feats[:n_all]), "ally": labels[:n_all],
        "tx": sp.csr_matrix(feats[test_index]), "ty": labels[test_index],
        "graph": {i: [(i - 1) % n, (i + 1) % n] for i in range(n)},
    }  # fmt: skip
    for part, value in parts.items():
        with open(raw / f"ind.{name}.{part}", "wb") as f:
            pickle.dump(value, f)
    (raw / f"ind.{name}.test.index").write_text("\n".join(map(str, test_index)) + "\n")
