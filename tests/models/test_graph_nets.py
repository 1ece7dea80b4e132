"""The graph nets: output per node or per graph, what each reads (edges, edge features),
invariance to node order and batching, the presets built from a graph datamodule's
net_kwargs, and that ``import dlzoo.models`` never loads PyTorch Geometric."""

from __future__ import annotations

import inspect
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf

from dlzoo.errors import ConfigError
from dlzoo.graph import pyg
from dlzoo.models import create_model, model_config_dir
from dlzoo.models.graph_nets import GraphNet, example_batch
from dlzoo.run.nets import build_net

CONF = model_config_dir()
NETS = ["gcn", "sage", "gat", "gin", "graph_mlp", "gin0", "gcn_xu"]


def karate() -> Any:
    return pyg("datasets").KarateClub()[0]  # 34 nodes, 34 one-hot features, 4 classes


def test_import_dlzoo_models_does_not_load_pyg() -> None:
    code = "import dlzoo.models, sys; assert 'torch_geometric' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", NETS)
def test_node_level_gives_a_row_per_node(name: str) -> None:
    torch.manual_seed(0)
    data = karate()
    net = create_model(name, node_features=34, num_classes=4).eval()
    assert net.level == "node"
    out = net(data)
    assert out.shape == (34, 4) and torch.isfinite(out).all()
    assert net.forward_features(data).shape == (34, net.num_features)


@pytest.mark.parametrize("name", NETS)
def test_node_level_is_equivariant_to_node_order(name: str) -> None:
    torch.manual_seed(0)
    data = karate()
    net = create_model(name, node_features=34, num_classes=4).eval()
    perm = torch.randperm(34)
    inverse = torch.argsort(perm)
    moved = data.clone()
    moved.x = data.x[perm]  # new node i is old node perm[i]
    moved.edge_index = inverse[data.edge_index]
    with torch.no_grad():
        torch.testing.assert_close(net(moved), net(data)[perm], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", NETS)
def test_graph_level_rows_do_not_depend_on_the_batch(name: str) -> None:
    torch.manual_seed(0)
    net, batch = type(create_model(name, node_features=3, num_classes=3)).example(3)
    net.eval()
    with torch.no_grad():
        together = net(batch)
        alone = [net(type(batch).from_data_list([g])) for g in batch.to_data_list()]
    assert together.shape == (3, 3)
    torch.testing.assert_close(together, torch.cat(alone), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", NETS)
def test_only_graph_mlp_ignores_the_edges(name: str) -> None:
    torch.manual_seed(0)
    data = karate()
    net = create_model(name, node_features=34, num_classes=4).eval()
    cut = data.clone()
    cut.edge_index = data.edge_index[:, :10]
    with torch.no_grad():
        same = torch.allclose(net(data), net(cut))
    assert same == (name == "graph_mlp")


def test_gat_reads_edge_features_only_when_it_has_them() -> None:
    torch.manual_seed(0)
    batch = example_batch(2)
    other = batch.clone()
    other.edge_attr = torch.randn_like(batch.edge_attr)
    for edge_features, reads in ((2, True), (0, False)):
        net = create_model(
            "gat", node_features=3, num_classes=2, level="graph", edge_features=edge_features
        ).eval()
        with torch.no_grad():
            assert torch.allclose(net(batch), net(other)) != reads


def test_gcn_reads_edge_weights() -> None:
    torch.manual_seed(0)
    data = karate()
    net = create_model("gcn", node_features=34, num_classes=4).eval()
    weighted = data.clone()
    weighted.edge_weight = torch.rand(data.edge_index.shape[1]) + 0.5
    with torch.no_grad():
        assert not torch.allclose(net(data), net(weighted))


def test_readout_and_jumping_knowledge() -> None:
    torch.manual_seed(0)
    batch = example_batch(3)
    common = {"node_features": 3, "num_classes": 2, "hidden_size": 8, "num_layers": 3}
    sum_net = create_model("graph_mlp", level="graph", readout="sum", **common).eval()
    mean_net = create_model("graph_mlp", level="graph", readout="mean", **common)
    mean_net.load_state_dict(sum_net.state_dict())
    mean_net.eval()
    nodes = torch.bincount(batch.batch).unsqueeze(-1).float()  # 4, 5, 6 nodes
    with torch.no_grad():
        torch.testing.assert_close(
            sum_net.forward_features(batch), mean_net.forward_features(batch) * nodes
        )
    cat = create_model("gin", level="graph", jumping_knowledge="cat", **common)
    assert cat.num_features == 24 and cat.forward_features(batch).shape == (3, 24)
    jk_max = create_model("gin", level="graph", jumping_knowledge="max", **common)
    assert jk_max.num_features == 8


def test_gin_preset_is_the_paper_setup() -> None:
    net = create_model("gin", node_features=7, num_classes=2, level="graph")
    assert (net.readout, net.jumping_knowledge) == ("sum", "cat")
    assert net.num_features == 32 * 4


def test_gin0_is_xu_et_als_net() -> None:
    net = create_model("gin0", node_features=7, num_classes=2, level="graph")
    # GIN-0: eps a fixed 0, no parameter
    assert len(net.convs) == 4 and all(float(c.eps) == 0 for c in net.convs)
    assert not any("eps" in name for name, _ in net.named_parameters())
    assert all(isinstance(n, torch.nn.BatchNorm1d) for n in net.norms)
    assert (net.layer_dropout.p, net.dropout.p) == (0.0, 0.5)  # dropout before the head only
    assert net.num_features == 7 + 4 * 32  # the input is read out beside every layer


def test_the_input_is_read_out_beside_the_layers() -> None:
    torch.manual_seed(0)
    batch = example_batch(3)
    common = {"node_features": 3, "num_classes": 2, "hidden_size": 8, "num_layers": 2}
    net = create_model("gin", level="graph", readout="sum", readout_input=True, **common)
    features = net.eval().forward_features(batch)  # (3, 3 + 2 * 8)
    assert features.shape == (3, 19)
    per_graph = torch.zeros(3, 3).index_add_(0, batch.batch, batch.x)  # sum of the atoms
    torch.testing.assert_close(features[:, :3], per_graph)
    with pytest.raises(ConfigError, match=r"readout_input=true.*jumping_knowledge=cat"):
        create_model("gin", readout_input=True, jumping_knowledge="max", **common)


def test_a_net_that_adds_arguments_shows_its_bases_too() -> None:
    from dlzoo.models.graph_nets import GAT, GIN

    gin = inspect.signature(GIN).parameters
    assert {"train_eps", "hidden_size", "readout_input", "batch_norm"} <= set(gin)
    assert not any(p.kind is p.VAR_KEYWORD for p in gin.values())
    gat = inspect.signature(GAT).parameters
    assert list(gat)[:2] == ["heads", "attention_dropout"] and "node_features" in gat


def test_reset_head_keeps_the_body() -> None:
    torch.manual_seed(0)
    data = karate()
    net = create_model("gcn", node_features=34, num_classes=4, head_hidden_sizes=[16]).eval()
    before = net.forward_features(data)
    net.reset_head(2)
    torch.testing.assert_close(net.forward_features(data), before)
    assert net(data).shape == (34, 2)


def test_bad_choices_are_one_line_config_errors() -> None:
    shapes = {"node_features": 3, "num_classes": 2}
    with pytest.raises(ConfigError, match=r"model.level='edge'"):
        create_model("gcn", level="edge", **shapes)
    with pytest.raises(ConfigError, match=r"model.readout='median'"):
        create_model("gcn", readout="median", **shapes)
    with pytest.raises(ConfigError, match=r"model.jumping_knowledge='lstm'"):
        create_model("gin", jumping_knowledge="lstm", **shapes)
    with pytest.raises(ConfigError, match=r"model.heads=3 must divide model.hidden_size=64"):
        create_model("gat", heads=3, **shapes)
    with pytest.raises(ConfigError, match="at least 1 layer"):
        create_model("sage", num_layers=0, **shapes)
    with pytest.raises(ConfigError, match=r"take a PyG graph.*data=karate"):
        create_model("gcn", **shapes)(torch.randn(4, 3))


@pytest.mark.parametrize("name", NETS)
def test_build_net_fills_the_graph_shapes(name: str) -> None:
    cfg = OmegaConf.load(CONF / f"{name}.yaml")
    provided = {"node_features": 7, "num_classes": 2, "level": "graph", "edge_features": 4}
    data = SimpleNamespace(net_kwargs=lambda: provided, name="mutag")
    net = build_net(cfg, data)
    assert isinstance(net, GraphNet) and net.level == "graph" and net.edge_features == 4
    batch = example_batch(2, node_features=7, edge_features=4)
    assert net.eval()(batch).shape == (2, 2)
