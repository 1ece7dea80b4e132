"""Our GCN layer (by hand on a path graph, and equal to PyG's GCNConv) and the graph
readouts and jumping knowledge, by hand."""

from __future__ import annotations

import math

import pytest
import torch

from dlzoo.errors import ConfigError
from dlzoo.graph import pyg
from dlzoo.layers.gcn import GCNLayer, gcn_norm
from dlzoo.layers.graph_readout import global_pool, jumping_knowledge

# the path 0 - 1 - 2, both directions
PATH = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])


def test_gcn_on_a_path_is_the_normalised_adjacency_by_hand() -> None:
    # degrees with the self-loop: 2, 3, 2; entry (i, j) of D^-1/2 (A + I) D^-1/2 is
    # 1 / sqrt(d_i d_j) for every edge and self-loop
    layer = GCNLayer(3, 3)
    with torch.no_grad():
        layer.lin.weight.copy_(torch.eye(3))
        layer.bias.copy_(torch.tensor([0.0, 0.0, 1.0]))
    out = layer(torch.eye(3), PATH)  # H = I: the output is the matrix itself, + b
    s6 = 1 / math.sqrt(6)
    expected = torch.tensor([[1 / 2, s6, 0.0], [s6, 1 / 3, s6], [0.0, s6, 1 / 2]])
    torch.testing.assert_close(out, expected + torch.tensor([0.0, 0.0, 1.0]))


def test_an_isolated_node_keeps_its_own_features_and_weights_scale_messages() -> None:
    layer = GCNLayer(1, 1, bias=False)
    with torch.no_grad():
        layer.lin.weight.fill_(1.0)
    x = torch.tensor([[1.0], [2.0], [5.0]])
    edges = torch.tensor([[0, 1], [1, 0]])  # node 2 has no edge: only its self-loop
    out = layer(x, edges, torch.tensor([3.0, 3.0]))
    # nodes 0 and 1: degree 1 + 3 = 4 each; (x_i + 3 x_j) / 4
    torch.testing.assert_close(out, torch.tensor([[7 / 4], [5 / 4], [5.0]]))


def test_an_existing_self_loop_is_not_counted_twice() -> None:
    with_loop = torch.cat([PATH, torch.tensor([[1], [1]])], dim=1)
    edges, norm = gcn_norm(with_loop, 3)
    assert edges.shape == (2, 4 + 3)  # the listed loop replaced by the added one
    edges_plain, norm_plain = gcn_norm(PATH, 3)
    torch.testing.assert_close(norm, norm_plain)
    assert torch.equal(edges, edges_plain)


def pyg_gcn(in_features: int, out_features: int) -> torch.nn.Module:
    return pyg("nn").GCNConv(in_features, out_features)


@pytest.mark.parametrize("weighted", [False, True])
def test_gcn_equals_pyg_gcnconv(weighted: bool) -> None:
    torch.manual_seed(0)
    # a hand-built graph: a triangle 0-1-2, a tail 2-3-4, node 5 alone, a self-loop on 4
    pairs = [(0, 1), (1, 2), (0, 2), (2, 3), (3, 4)]
    edge_index = torch.tensor(
        [
            [a for a, b in pairs] + [b for a, b in pairs] + [4],
            [b for a, b in pairs] + [a for a, b in pairs] + [4],
        ]
    )
    weight = torch.rand(edge_index.shape[1]) + 0.5 if weighted else None
    x = torch.randn(6, 4)
    theirs = pyg_gcn(4, 3)
    with torch.no_grad():
        theirs.bias.normal_()  # PyG starts it at zero: make the copy count
    ours = GCNLayer(4, 3)
    ours.load_state_dict(theirs.state_dict())  # the same parameter names
    expected = theirs(x, edge_index, weight)
    torch.testing.assert_close(ours(x, edge_index, weight), expected, rtol=1e-5, atol=1e-6)
    # and the gradients with respect to the input agree
    x.requires_grad_(True)
    (g_ours,) = torch.autograd.grad(ours(x, edge_index, weight).square().sum(), x)
    (g_theirs,) = torch.autograd.grad(theirs(x, edge_index, weight).square().sum(), x)
    torch.testing.assert_close(g_ours, g_theirs, rtol=1e-5, atol=1e-6)


def test_global_pools_by_hand() -> None:
    x = torch.tensor([[1.0, -1.0], [3.0, 2.0], [-4.0, 0.5], [2.0, 2.0], [0.0, -3.0]])
    batch = torch.tensor([0, 0, 1, 1, 1])
    torch.testing.assert_close(
        global_pool(x, batch, mode="sum"), torch.tensor([[4.0, 1.0], [-2.0, -0.5]])
    )
    torch.testing.assert_close(
        global_pool(x, batch, mode="mean"), torch.tensor([[2.0, 0.5], [-2 / 3, -0.5 / 3]])
    )
    # negative maxima stay negative (no zeros mixed in)
    torch.testing.assert_close(
        global_pool(x, batch, mode="max"), torch.tensor([[3.0, 2.0], [2.0, 2.0]])
    )
    torch.testing.assert_close(global_pool(-x[:2], None, mode="max"), torch.tensor([[-1.0, 1.0]]))
    # a graph without nodes (index 1 of 3) pools to zeros
    empty = global_pool(x[:2], torch.tensor([0, 2]), num_graphs=3, mode="mean")
    torch.testing.assert_close(empty, torch.tensor([[1.0, -1.0], [0.0, 0.0], [3.0, 2.0]]))
    with pytest.raises(ConfigError, match="readout 'median'"):
        global_pool(x, batch, mode="median")


def test_jumping_knowledge_by_hand() -> None:
    a = torch.tensor([[1.0, 5.0], [0.0, -2.0]])
    b = torch.tensor([[2.0, 3.0], [-1.0, -1.0]])
    cat = torch.tensor([[1.0, 5, 2, 3], [0, -2, -1, -1]])
    assert torch.equal(jumping_knowledge([a, b], "cat"), cat)
    assert torch.equal(jumping_knowledge([a, b], "max"), torch.tensor([[2.0, 5.0], [0.0, -1.0]]))
    assert jumping_knowledge([a, b], None) is b and jumping_knowledge([a, b], "last") is b
    with pytest.raises(ConfigError, match="jumping_knowledge 'sum'"):
        jumping_knowledge([a, b], "sum")
