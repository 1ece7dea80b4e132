"""The graph datamodules: TU parsing (MUTAG), karate, graph_csv and planetoid masks."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from graph_files import write_graph, write_planetoid

from dlzoo.data.graph.karate import KarateDataModule
from dlzoo.data.graph.tu import TUDataModule, grakel_mutag_folder, read_tu
from dlzoo.data.state import check_plain
from dlzoo.errors import ConfigError, DataError

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import torch_geometric  # noqa: F401  (the data modules import it lazily)

MUTAG = grakel_mutag_folder()


def lines(path: Path) -> int:
    return sum(1 for s in path.read_text().splitlines() if s.strip())


# ---------------------------------------------------------------------- TU / MUTAG


@pytest.fixture(scope="module")
def mutag() -> TUDataModule:
    dm = TUDataModule(seed=0)
    dm.setup()
    return dm


def test_mutag_parses_to_the_files_counts() -> None:
    arrays = read_tu(MUTAG, "MUTAG")
    assert arrays.num_graphs == 188 == lines(MUTAG / "MUTAG_graph_labels.txt")
    labels, counts = np.unique(arrays.graph_labels, return_counts=True)
    assert dict(zip(labels.tolist(), counts.tolist(), strict=True)) == {"-1": 63, "1": 125}
    assert len(arrays.graph_of_node) == 3371 == lines(MUTAG / "MUTAG_graph_indicator.txt")
    assert len(arrays.edges) == 7442 == lines(MUTAG / "MUTAG_A.txt")
    assert arrays.edges.min() == 0 and arrays.edges.max() == 3370  # ids made 0-based


def test_mutag_graphs_match_the_files_and_pyg(mutag: TUDataModule) -> None:
    from torch_geometric.io import read_tu_data

    graphs = mutag._read_graphs()  # file order
    assert len(graphs) == 188
    assert sum(g.num_nodes for g in graphs) == 3371
    assert sum(g.num_edges for g in graphs) == 7442
    assert mutag.class_names == ["-1", "1"]
    assert sorted(torch.cat([g.y for g in graphs]).bincount().tolist()) == [63, 125]
    # node labels 0..6 one-hot, edge labels 0..3 one-hot: as PyG's own TU reader
    data, slices, _ = read_tu_data(str(MUTAG), "MUTAG")
    for k in (0, 1, 100, 187):
        nodes = slice(slices["x"][k], slices["x"][k + 1])
        edges = slice(slices["edge_index"][k], slices["edge_index"][k + 1])
        assert torch.equal(graphs[k].x, data.x[nodes])
        ours = {
            tuple(e) for e in torch.cat([graphs[k].edge_index.T, graphs[k].edge_attr], 1).tolist()
        }
        theirs = torch.cat([data.edge_index[:, edges].T.float(), data.edge_attr[edges]], 1)
        assert ours == {tuple(e) for e in theirs.tolist()}
        assert int(graphs[k].y) == int(data.y[k] > 0)  # PyG maps -1, 1 to 0, 1 too


def test_mutag_net_kwargs_split_and_batches(mutag: TUDataModule) -> None:
    assert mutag.net_kwargs() == {
        "node_features": 7, "edge_features": 4, "level": "graph", "num_classes": 2,
    }  # fmt: skip
    idx = mutag.split_indices
    together = np.concatenate([idx[s] for s in ("train", "val", "test")])
    assert sorted(together.tolist()) == list(range(188))  # disjoint, every graph
    assert len(idx["val"]) in (18, 19) and len(idx["test"]) in (18, 19)  # 10 % of 188, rounded
    batch = next(iter(mutag.train_dataloader()))
    assert batch.x.shape[1] == 7 and batch.edge_attr.shape[1] == 4
    assert batch.y.shape == (32,) and int(batch.batch.max()) == 31
    x, y = mutag.labelled("test")
    assert x.shape == (len(idx["test"]), 14) and torch.equal(
        y, torch.cat([g.y for g in mutag.graphs["test"]])
    )
    g = mutag.graphs["test"][0]
    assert torch.allclose(x[0], torch.cat([g.x.mean(0), g.x.sum(0)]))


def test_mutag_split_and_order_are_seeded() -> None:
    a, b, c = (TUDataModule(seed=s) for s in (1, 1, 2))
    for dm in (a, b, c):
        dm.setup()
    assert all(np.array_equal(a.split_indices[s], b.split_indices[s]) for s in a.split_indices)
    assert not np.array_equal(a.split_indices["test"], c.split_indices["test"])
    first = [next(iter(dm.train_dataloader())).y for dm in (a, b)]
    assert torch.equal(*first)


def test_use_fold_gives_disjoint_test_folds_covering_all_graphs() -> None:
    tests = []
    for k in range(5):
        dm = TUDataModule(seed=0)
        dm.use_fold(k, 5)
        dm.setup()
        parts = [set(dm.split_indices[s].tolist()) for s in ("train", "val", "test")]
        assert sum(map(len, parts)) == len(set().union(*parts)) == 188
        tests.append(dm.split_indices["test"])
    together = np.concatenate(tests)
    assert sorted(together.tolist()) == list(range(188))
    with pytest.raises(ConfigError, match="before setup"):
        dm.use_fold(0, 5)


def test_mutag_state_alone_gives_the_facts_and_predicts(mutag: TUDataModule) -> None:
    state = mutag.fitted_state()
    check_plain(state)
    assert state["node_label_values"] == [list(range(7))]
    fresh = TUDataModule()
    fresh.load_fitted_state(state)
    assert fresh.net_kwargs() == mutag.net_kwargs() and fresh.class_names == ["-1", "1"]
    out = fresh.predict_inputs(MUTAG)
    (batch,) = out.inputs
    assert len(out) == 188 and out.names[0] == "MUTAG[1]"
    assert batch.num_graphs == 188 and batch.x.shape == (3371, 7)
    x = fresh.input_transform()(batch)
    assert x is batch
    bad = {**state, "level": "node"}
    with pytest.raises(DataError, match="level"):
        TUDataModule().load_fitted_state(bad)


def copy_tu(tmp_path: Path, name: str = "TINY") -> Path:
    """MUTAG's files under another name, in ``tmp_path/<name>``."""
    folder = tmp_path / name
    folder.mkdir()
    for f in MUTAG.glob("MUTAG_*.txt"):
        shutil.copy(f, folder / f.name.replace("MUTAG", name))
    return folder


@pytest.mark.parametrize("missing", ["A", "graph_indicator", "graph_labels"])
def test_a_tu_folder_missing_a_file_is_one_data_error(tmp_path: Path, missing: str) -> None:
    folder = copy_tu(tmp_path)
    (folder / f"TINY_{missing}.txt").unlink()
    dm = TUDataModule(name="TINY", root=tmp_path, download=False)
    if missing == "A":  # without _A the folder is not found at all
        with pytest.raises(DataError, match=r"not in .*TINY_A.txt"):
            dm.setup()
        return
    with pytest.raises(DataError, match=f"has no TINY_{missing}.txt") as err:
        dm.setup()
    assert "\n" not in str(err.value)


def test_tu_bad_files_are_one_data_error(tmp_path: Path) -> None:
    folder = copy_tu(tmp_path)
    with open(folder / "TINY_A.txt", "a") as f:
        f.write("1, 9999\n")
    with pytest.raises(DataError, match=r"TINY_A.txt line 7443 refers to node 9999"):
        read_tu(folder, "TINY")
    (folder / "TINY_edge_labels.txt").unlink()
    (folder / "TINY_A.txt").write_text("1, 20\n")  # node 1 is in graph 1, node 20 in graph 2
    with pytest.raises(DataError, match="an edge must stay inside one graph"):
        read_tu(folder, "TINY")
    (folder / "TINY_A.txt").write_text("")
    with pytest.raises(DataError, match=r"TINY_A\.txt is empty"):
        read_tu(folder, "TINY")
    with pytest.raises(ConfigError, match=r"needs data\.root"):
        TUDataModule(name="PROTEINS")


def test_tu_without_node_labels_has_a_constant_feature(tmp_path: Path) -> None:
    folder = copy_tu(tmp_path)
    (folder / "TINY_node_labels.txt").unlink()
    (folder / "TINY_edge_labels.txt").unlink()
    dm = TUDataModule(name="TINY", root=tmp_path, download=False)
    dm.setup()
    assert dm.net_kwargs()["node_features"] == 1 and dm.net_kwargs()["edge_features"] == 0
    graph = dm.graphs["train"][0]
    assert torch.equal(graph.x, torch.ones(graph.num_nodes, 1)) and graph.edge_attr is None


def test_tu_offline_download_is_one_data_error(tmp_path: Path, monkeypatch) -> None:
    import torch_geometric.data

    def offline(url: str, folder: str, log: bool = True) -> str:
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch_geometric.data, "download_url", offline)
    dm = TUDataModule(name="PROTEINS", root=tmp_path / "tu")
    with pytest.raises(DataError, match=r"cannot download TU dataset 'PROTEINS' .*offline, put"):
        dm.setup()


# ---------------------------------------------------------------------- karate


def karate(seed: int = 0, fold: tuple[int, int] | None = None) -> KarateDataModule:
    dm = KarateDataModule(seed=seed)
    if fold is not None:
        dm.use_fold(*fold)
    dm.setup()
    return dm


def masks(dm) -> dict[str, torch.Tensor]:
    return {s: dm.data[f"{s}_mask"] for s in ("train", "val", "test")}


def test_karate_masks_are_disjoint_and_cover_every_node() -> None:
    dm = karate()
    m = masks(dm)
    assert dm.net_kwargs() == {
        "node_features": 34, "edge_features": 0, "level": "node", "num_classes": 4,
    }  # fmt: skip
    assert (m["train"].int() + m["val"].int() + m["test"].int()).tolist() == [1] * 34
    assert m["train"].nonzero().ravel().tolist() == [0, 4, 8, 24]  # PyG's one per class
    assert dm.data.y[m["train"]].sort().values.tolist() == [0, 1, 2, 3]
    # the other 30 (12, 11, 3, 4 per class): half of each class, rounded, is validation
    counts = {s: torch.bincount(dm.data.y[m[s]], minlength=4).tolist() for s in ("val", "test")}
    assert [a + b for a, b in zip(counts["val"], counts["test"], strict=True)] == [12, 11, 3, 4]
    assert all(abs(v - t) <= 1 for v, t in zip(counts["val"], counts["test"], strict=True))
    for s in ("train", "val", "test"):
        assert sorted(dm.split_indices[s].tolist()) == m[s].nonzero().ravel().tolist()
    (batch,) = list(dm.train_dataloader())
    assert batch is dm.data and list(dm.test_dataloader()) == [dm.data]
    x, y = dm.labelled("val")
    assert torch.equal(x, dm.data.x[m["val"]]) and torch.equal(y, dm.data.y[m["val"]])


def test_karate_masks_are_seeded() -> None:
    a, b, c = karate(1), karate(1), karate(2)
    assert all(torch.equal(x, y) for x, y in zip(masks(a).values(), masks(b).values(), strict=True))
    assert not torch.equal(masks(a)["test"], masks(c)["test"])


def test_karate_folds_cover_the_unlabelled_nodes_once() -> None:
    tests = [masks(karate(fold=(k, 3))) for k in range(3)]
    assert all(t["train"].sum() == 4 for t in tests)
    assert torch.stack([t["test"] for t in tests]).int().sum(0).tolist() == [
        0 if i in (0, 4, 8, 24) else 1 for i in range(34)
    ]


def test_karate_state_without_data_gives_net_kwargs() -> None:
    dm = karate()
    state = dm.fitted_state()
    check_plain(state)
    assert state == {
        "name": "karate", "class_names": ["0", "1", "2", "3"], "node_features": 34,
        "edge_features": 0, "level": "node",
    }  # fmt: skip
    fresh = KarateDataModule()
    fresh.load_fitted_state(state)
    assert fresh.net_kwargs() == dm.net_kwargs()
    with pytest.raises(RuntimeError, match="setup"):
        fresh.labelled("train")
    with pytest.raises(DataError, match="not 'karate'"):
        fresh.load_fitted_state({**state, "name": "cora"})
    record = dm.split_record()
    assert record["name"] == "karate" and len(record["test"]) == int(masks(dm)["test"].sum())


# ---------------------------------------------------------------------- graph_csv


def test_graph_csv_round_trip(tmp_path: Path) -> None:
    from dlzoo.data.graph.csv_files import GraphCSVDataModule

    nodes, edges = write_graph(tmp_path / "g")
    dm = GraphCSVDataModule(nodes=nodes, edges=edges, seed=0)
    dm.setup()
    data = dm.data
    assert dm.net_kwargs() == {
        "node_features": 2, "edge_features": 0, "level": "node", "num_classes": 2,
    }  # fmt: skip
    assert dm.class_names == ["a", "b"] and data.y.tolist() == [0] * 10 + [1] * 10 + [-1]
    assert torch.equal(data.x[3], torch.tensor([3.0, 0.0])) and data.x.dtype == torch.float32
    assert data.edge_index.shape == (2, 42)  # 21 edges both ways, the repeat once
    pairs = set(map(tuple, data.edge_index.T.tolist()))
    assert (0, 1) in pairs and (1, 0) in pairs and (20, 3) in pairs and (3, 20) in pairs
    m = masks(dm)
    assert (m["train"].int() + m["val"].int() + m["test"].int()).tolist() == [1] * 20 + [0]
    for s in ("val", "test"):  # 15 % of 20: 3, 1.5 of each class rounded down or up
        assert sorted(torch.bincount(data.y[m[s]], minlength=2).tolist()) == [1, 2]
    again = GraphCSVDataModule(nodes=nodes, edges=edges, seed=0)
    again.setup()
    assert all(
        torch.equal(a, b) for a, b in zip(masks(dm).values(), masks(again).values(), strict=True)
    )
    # the state alone, then predict on the same files
    fresh = GraphCSVDataModule(nodes=nodes, edges=edges)
    fresh.load_fitted_state(dm.fitted_state())
    assert fresh.net_kwargs() == dm.net_kwargs() and fresh.feature_columns == ["f1", "f2"]
    out = fresh.predict_inputs(tmp_path / "g")
    (graph,) = out.inputs
    assert out.names[:2] == ["n0", "n1"] and out.names[-1] == "u0"
    assert torch.equal(graph.x, data.x) and torch.equal(graph.edge_index, data.edge_index)


def test_graph_csv_folds_cover_the_labelled_nodes(tmp_path: Path) -> None:
    from dlzoo.data.graph.csv_files import GraphCSVDataModule

    nodes, edges = write_graph(tmp_path / "g")
    tests = []
    for k in range(4):
        dm = GraphCSVDataModule(nodes=nodes, edges=edges, seed=0)
        dm.use_fold(k, 4)
        dm.setup()
        tests.append(masks(dm)["test"])
    assert torch.stack(tests).int().sum(0).tolist() == [1] * 20 + [0]


def bad_graph(tmp_path: Path, nodes: str | None = None, edges: str | None = None, **kwargs):
    from dlzoo.data.graph.csv_files import GraphCSVDataModule

    node_file, edge_file = write_graph(tmp_path / "bad")
    if nodes is not None:
        node_file.write_text(nodes)
    if edges is not None:
        edge_file.write_text(edges)
    dm = GraphCSVDataModule(nodes=node_file, edges=edge_file, **kwargs)
    with pytest.raises(DataError) as err:
        dm.setup()
    assert "\n" not in str(err.value)
    return str(err.value)


NODES = "id,f1,label\na,1,x\nb,2,y\nc,3,x\nd,4,y\n"


@pytest.mark.parametrize(
    ("nodes", "edges", "kwargs", "match"),
    [
        (NODES, "source,target\na,b\nb,z\n", {}, r"not node ids.* first 'z' in data row 2"),
        (NODES, None, {"feature_columns": ["f1", "f9"]}, r"nodes\.csv has no column 'f9'"),
        (NODES, None, {"label_column": "class"}, r"nodes\.csv has no column 'class'"),
        ("id,label\na,x\nb,y\n", None, {}, r"nodes\.csv has no feature columns"),
        ("id,f1,label\na,1,x\nb,,y\n", None, {}, r"empty feature 'f1' in data row 2"),
        ("id,f1,label\na,1,x\nb,oops,y\n", None, {}, r"'f1' .* non-numeric .* 'oops'"),
        ("id,f1,label\na,1,x\na,2,y\n", None, {}, r"lists node id 'a' twice"),
        ("f1,label\n1,x\n2,y\n3,x\n", "source,target\n0,1\n1,3\n", {"id_column": None},
         r"edge index 3 in 'target' \(data row 2\) out of range: .* 3 nodes"),
        ("", None, {}, r"cannot read CSV file .*nodes\.csv"),
        ("id,f1,label\n", None, {}, r"nodes\.csv is empty"),
        (NODES, "source,target\n", {}, r"edges\.csv is empty"),
        (NODES, "from,to\na,b\n", {}, r"edges\.csv has no column 'source'"),
        ("id,f1,label\na,1,\nb,2,\n", "source,target\na,b\n", {}, r"has no labels"),
    ],
)  # fmt: skip
def test_graph_csv_bad_input_is_one_data_error(tmp_path, nodes, edges, kwargs, match) -> None:
    import re

    assert re.search(match, bad_graph(tmp_path, nodes, edges, **kwargs))


def test_graph_predict_needs_the_folder_and_the_features(tmp_path: Path) -> None:
    dm = karate()
    with pytest.raises(DataError, match=r"nodes\.csv and edges\.csv"):
        dm.predict_inputs(tmp_path)
    write_graph(tmp_path / "g")
    with pytest.raises(DataError, match=r"has 2 feature columns .* expects 34"):
        dm.predict_inputs(tmp_path / "g")


# ---------------------------------------------------------------------- planetoid


def test_planetoid_fixture_loads_offline_with_the_public_split(tmp_path: Path) -> None:
    from dlzoo.data.graph.planetoid import PlanetoidDataModule

    write_planetoid(tmp_path / "Cora" / "raw")
    dm = PlanetoidDataModule(name="cora", root=tmp_path, download=False)
    dm.setup()
    data = dm.data
    assert dm.name == "Cora" and dm.net_kwargs() == {
        "node_features": 5, "edge_features": 0, "level": "node", "num_classes": 3,
    }  # fmt: skip
    assert data.y.tolist() == [i % 3 for i in range(516)]  # test nodes put back in place
    m = masks(dm)
    assert m["train"].nonzero().ravel().tolist() == list(range(6))
    assert m["val"].nonzero().ravel().tolist() == list(range(6, 506))
    assert m["test"].nonzero().ravel().tolist() == list(range(506, 516))
    assert int((m["train"].int() + m["val"].int() + m["test"].int()).max()) == 1
    # row-normalised: odd nodes have two features, 1/2 each (node 3: features 3 and 4)
    assert torch.allclose(data.x.sum(1), torch.ones(516))
    assert torch.allclose(data.x[3], torch.tensor([0.0, 0.0, 0.0, 0.5, 0.5]))
    assert data.edge_index.shape == (2, 2 * 516)
    raw = PlanetoidDataModule(name="Cora", root=tmp_path, row_normalize=False, download=False)
    raw.setup()
    assert torch.equal(raw.data.x[3], torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0]))
    # the state alone, and its transform
    fresh = PlanetoidDataModule(name="Cora", root=tmp_path / "nothing")
    fresh.load_fitted_state(dm.fitted_state())
    assert fresh.net_kwargs() == dm.net_kwargs()
    out = fresh.input_transform()(raw.data)
    assert torch.allclose(out.x, data.x) and raw.data.x[3, 3] == 1.0  # input unchanged
    with pytest.raises(ConfigError, match="public split"):
        PlanetoidDataModule(root=tmp_path).use_fold(0, 5)
    with pytest.raises(ConfigError, match="not a Planetoid dataset"):
        PlanetoidDataModule(name="Flickr", root=tmp_path)


def test_planetoid_offline_is_one_data_error(tmp_path: Path, monkeypatch) -> None:
    from torch_geometric.datasets import Planetoid

    from dlzoo.data.graph.planetoid import PlanetoidDataModule

    def offline(self) -> None:
        raise OSError("Cannot connect to host github.com:443")

    monkeypatch.setattr(Planetoid, "download", offline)
    dm = PlanetoidDataModule(name="Cora", root=tmp_path)
    with pytest.raises(DataError) as err:
        dm.setup()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"cannot download Planetoid 'Cora' into {tmp_path / 'Cora' / 'raw'}")
    assert "Cannot connect" in message and "ind.cora.test.index" in message
    dm = PlanetoidDataModule(name="PubMed", root=tmp_path, download=False)
    with pytest.raises(DataError, match=r"'PubMed' is not in .*PubMed/raw .*put the eight files"):
        dm.setup()
