"""Graph nets: stacks of message-passing layers over a PyTorch Geometric graph.

A message-passing layer updates every node from its neighbours, as a convolution
updates a pixel from the pixels around it; ``num_layers`` layers see ``num_layers``
hops. One base, :class:`GraphNet`, holds what the nets share (the layer stack, ReLU,
dropout, jumping knowledge, the readout, the head); each registered net only says
which layer it stacks:

- ``gcn``: our own :class:`~dlzoo.layers.gcn.GCNLayer` (Kipf & Welling 2017);
- ``sage``: PyG's ``SAGEConv`` (Hamilton et al. 2017, mean of the neighbours beside
  the node's own features);
- ``gat``: PyG's ``GATConv`` (Velickovic et al. 2018, attention weights per edge; edge
  features enter the attention when the data has them);
- ``gin``: PyG's ``GINConv`` with a 2-layer MLP (Xu et al. 2019), as strong as the
  Weisfeiler-Lehman test at telling graphs apart; the preset uses the paper's sum
  readout over every layer (jumping knowledge ``cat``);
- ``graph_mlp``: a per-node ``Linear`` in place of message passing: it ignores the
  edges, the baseline that shows what message passing adds.

The nets take a PyG ``Data`` (one graph) or ``Batch`` (many) and read ``data.x``,
``data.edge_index``, ``data.batch`` and ``data.edge_attr`` (``data.edge_weight`` for
``gcn``). ``level="node"`` gives a row per node, ``level="graph"`` a row per graph.
PyTorch Geometric is imported by the constructors that use it, so ``import
dlzoo.models`` never loads it.
"""

from __future__ import annotations

import itertools
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.graph import pyg
from dlzoo.layers.dense import DenseStack
from dlzoo.layers.gcn import GCNLayer
from dlzoo.layers.graph_readout import JUMPING_KNOWLEDGE, READOUTS, global_pool, jumping_knowledge
from dlzoo.models.base import ZooNet
from dlzoo.models.registry import register_model
from dlzoo.signatures import extends_signature

__all__ = ["GAT", "GCN", "GIN", "GraphMLP", "GraphNet", "GraphSAGE"]

LEVELS = ("node", "graph")


class GraphNet(ZooNet):
    """Base of the graph nets: ``num_layers`` message-passing layers, each followed by
    ReLU, then jumping knowledge, a readout at graph level, and a dense head.

    Args:
        node_features: F, features per node, from the datamodule.
        num_classes: class logits, from the datamodule.
        level: ``node`` (a row per node) or ``graph`` (a row per graph), from the
            datamodule.
        hidden_size: width of every layer's node embeddings.
        num_layers: message-passing layers (hops a node sees).
        dropout: dropout on the input of every layer after the first and on the head's
            input (and after its hidden layers).
        input_dropout: dropout on the node features the first layer takes (Kipf &
            Welling drop the bag-of-words features too).
        readout: ``mean``, ``sum`` or ``max`` over a graph's nodes (graph level only).
        jumping_knowledge: ``null`` (the last layer's embeddings), ``cat`` or ``max``
            over every layer's (see :func:`~dlzoo.layers.graph_readout.jumping_knowledge`).
        edge_features: features per edge, from the datamodule (0: none); only the nets
            that can use them (``gat``) do.
        head_hidden_sizes: widths of dense layers between the embedding and the logits.
        layer_dropout: dropout on the input of every layer after the first; ``None``
            is ``dropout`` (Xu et al.'s GIN drops only before its head: 0).
        readout_input: jumping knowledge ``cat`` also takes the node features
            themselves, as Xu et al.'s readout over "all layers" does (the input is
            their layer 0).
        batch_norm: batch norm on every layer's output before its ReLU (Xu et al.'s
            reference code does, for GIN and their GCN alike).

    Net API (see :mod:`dlzoo.models.base`): the features are the node embeddings after
    jumping knowledge (node level) or their readout (graph level); the head is dropout
    and the dense layers.

    Shapes:
        input a PyG Data/Batch: x (N, F), edge_index (2, E), batch (N,) at graph level
        -> (N, num_classes) at node level, (B, num_classes) at graph level; features
        (N or B, num_features), num_features = hidden_size (x num_layers for ``cat``,
        plus F with ``readout_input``).
    """

    def __init__(
        self,
        node_features: int,
        num_classes: int,
        level: str = "node",
        hidden_size: int = 64,
        num_layers: int = 2,
        dropout: float = 0.5,
        input_dropout: float = 0.0,
        readout: str = "mean",
        jumping_knowledge: str | None = None,
        edge_features: int = 0,
        head_hidden_sizes: Sequence[int] = (),
        layer_dropout: float | None = None,
        readout_input: bool = False,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        _check_choices(level, readout, jumping_knowledge, num_layers)
        if readout_input and jumping_knowledge != "cat":
            raise ConfigError(
                f"model.readout_input=true reads the node features out beside every "
                f"layer: it needs model.jumping_knowledge=cat, not {jumping_knowledge}"
            )
        self.level, self.readout, self.jumping_knowledge = level, readout, jumping_knowledge
        self.edge_features = int(edge_features or 0)
        self.readout_input = bool(readout_input)
        widths = [node_features] + [hidden_size] * num_layers
        self.convs = nn.ModuleList(self.make_conv(a, b) for a, b in itertools.pairwise(widths))
        self.act = nn.ReLU()
        self.input_dropout = nn.Dropout(input_dropout)
        self.dropout = nn.Dropout(dropout)
        self.layer_dropout = nn.Dropout(dropout if layer_dropout is None else layer_dropout)
        norms = [nn.BatchNorm1d(hidden_size) if batch_norm else nn.Identity() for _ in widths[1:]]
        self.norms = nn.ModuleList(norms)
        self.num_features = hidden_size * (num_layers if jumping_knowledge == "cat" else 1)
        self.num_features += node_features if self.readout_input else 0
        self.head = DenseStack(
            self.num_features, list(head_hidden_sizes), num_classes, "relu", False, dropout
        )

    @abstractmethod
    def make_conv(self, in_features: int, out_features: int) -> nn.Module:
        """One message-passing layer from ``in_features`` to ``out_features`` per node."""

    def propagate(self, conv: nn.Module, h: torch.Tensor, data: Any) -> torch.Tensor:
        """One layer on the graph; a net whose layer takes edge features overrides it.

        Shapes:
            h (N, in) -> (N, out)
        """
        return conv(h, data.edge_index)

    def node_embeddings(self, data: Any) -> torch.Tensor:
        """Every layer's node embeddings, combined by jumping knowledge.

        Raises:
            ConfigError: the input is not a graph (no ``x`` / ``edge_index``).

        Shapes:
            data.x (N, F) -> (N, num_features)
        """
        if not (hasattr(data, "edge_index") and hasattr(data, "x")):
            raise ConfigError(
                f"graph nets take a PyG graph (data.x, data.edge_index), got "
                f"{type(data).__name__}: use a graph datamodule (data=karate, data=mutag, ...)"
            )
        h = self.input_dropout(data.x)
        layers = [data.x] if self.readout_input else []
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            h = self.act(norm(self.propagate(conv, self.layer_dropout(h) if i else h, data)))
            layers.append(h)
        return jumping_knowledge(layers, self.jumping_knowledge)

    def forward_features(self, data: Any) -> torch.Tensor:
        h = self.node_embeddings(data)  # (N, num_features)
        if self.level == "node":
            return h
        batch = getattr(data, "batch", None)
        return global_pool(h, batch, getattr(data, "num_graphs", None), self.readout)  # (B, D)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(features))  # (N or B, num_classes)

    def reset_head(self, num_outputs: int) -> None:
        self.head.reset_output(num_outputs)

    @classmethod
    def example(cls, batch_size: int = 2) -> tuple[nn.Module, Any]:
        """A small graph-level net and a PyG ``Batch`` of ``batch_size`` graphs (4 to 6
        nodes, 3 node features, 2 edge features): a row of output per graph."""
        net = cls(
            node_features=3,
            num_classes=3,
            level="graph",
            hidden_size=8,
            num_layers=2,
            dropout=0.1,
            jumping_knowledge="cat",
            edge_features=2,
        )
        return net, example_batch(batch_size)


def _check_choices(level: str, readout: str, jk: str | None, num_layers: int) -> None:
    if level not in LEVELS:
        raise ConfigError(f"model.level={level!r}; valid: node (a label per node), graph")
    if readout not in READOUTS:
        raise ConfigError(f"model.readout={readout!r}; valid: {', '.join(READOUTS)}")
    if jk is not None and jk not in JUMPING_KNOWLEDGE:
        raise ConfigError(
            f"model.jumping_knowledge={jk!r}; valid: null, {', '.join(JUMPING_KNOWLEDGE)}"
        )
    if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
        raise ConfigError(f"model.num_layers={num_layers!r}: a graph net needs at least 1 layer")


def example_batch(num_graphs: int, node_features: int = 3, edge_features: int = 2) -> Any:
    """A PyG ``Batch`` of ``num_graphs`` ring graphs of 4, 5, 6, 4, ... nodes (both edge
    directions), with random node and edge features."""
    geometric = pyg("data")
    graphs = []
    for g in range(num_graphs):
        n = 4 + g % 3
        ring = torch.arange(n)
        edge_index = torch.stack([ring, (ring + 1) % n])
        edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)  # (2, 2n)
        graphs.append(
            geometric.Data(
                x=torch.randn(n, node_features),
                edge_index=edge_index,
                edge_attr=torch.randn(2 * n, edge_features),
                y=torch.tensor([g % 3]),
            )
        )
    return geometric.Batch.from_data_list(graphs)


@register_model("gcn")
class GCN(GraphNet):
    """Graph convolutional network (Kipf & Welling 2017) of our own
    :class:`~dlzoo.layers.gcn.GCNLayer`; ``data.edge_weight`` (E,) weighs the edges
    when the graph has it. See :class:`GraphNet` for the arguments."""

    def make_conv(self, in_features: int, out_features: int) -> nn.Module:
        return GCNLayer(in_features, out_features)

    def propagate(self, conv: nn.Module, h: torch.Tensor, data: Any) -> torch.Tensor:
        return conv(h, data.edge_index, getattr(data, "edge_weight", None))


@register_model("sage")
@extends_signature(GraphNet)
class GraphSAGE(GraphNet):
    """GraphSAGE (Hamilton et al. 2017): PyG's ``SAGEConv``, a node's own features and
    the ``aggr`` of its neighbours', each through its own weights.

    Args:
        aggr: ``mean``, ``max`` or ``sum`` over the neighbours.
        others: see :class:`GraphNet`.
    """

    def __init__(self, aggr: str = "mean", **kwargs: Any) -> None:
        self.aggr = aggr  # read by make_conv, which the base's __init__ calls
        super().__init__(**kwargs)

    def make_conv(self, in_features: int, out_features: int) -> nn.Module:
        return pyg("nn").SAGEConv(in_features, out_features, aggr=self.aggr)


@register_model("gat")
@extends_signature(GraphNet)
class GAT(GraphNet):
    """Graph attention network (Velickovic et al. 2018): PyG's ``GATConv`` with
    ``heads`` attention heads of ``hidden_size / heads`` features each, concatenated.
    With ``edge_features`` > 0 the edge features (``data.edge_attr``) enter the
    attention scores.

    Args:
        heads: attention heads per layer; must divide ``hidden_size``.
        attention_dropout: dropout on the attention weights.
        others: see :class:`GraphNet`.

    Raises:
        ConfigError: ``heads`` does not divide ``hidden_size``.
    """

    def __init__(
        self,
        heads: int = 4,
        attention_dropout: float = 0.0,
        hidden_size: int = 64,
        edge_features: int = 0,
        **kwargs: Any,
    ) -> None:
        if heads < 1 or hidden_size % heads:
            raise ConfigError(f"model.heads={heads} must divide model.hidden_size={hidden_size}")
        # read by make_conv, which the base's __init__ calls
        self.heads, self.attention_dropout = heads, attention_dropout
        self._edge_dim = int(edge_features or 0) or None
        super().__init__(hidden_size=hidden_size, edge_features=edge_features, **kwargs)

    def make_conv(self, in_features: int, out_features: int) -> nn.Module:
        return pyg("nn").GATConv(
            in_features,
            out_features // self.heads,
            heads=self.heads,
            dropout=self.attention_dropout,
            edge_dim=self._edge_dim,
        )

    def propagate(self, conv: nn.Module, h: torch.Tensor, data: Any) -> torch.Tensor:
        if self._edge_dim is None:
            return conv(h, data.edge_index)
        return conv(h, data.edge_index, data.edge_attr)


@register_model("gin")
@extends_signature(GraphNet)
class GIN(GraphNet):
    """Graph isomorphism network (Xu et al. 2019, "How powerful are graph neural
    networks?"): PyG's ``GINConv``, an MLP (Linear, BatchNorm, ReLU, Linear) on
    ``(1 + eps) * own + sum of the neighbours``.

    The paper's net for graph classification (``model=gin0``): GIN-0 (``eps`` fixed at
    0), 4 GIN layers after the input (its "5 layers" count the input as layer 0),
    batch norm after every MLP, a sum readout of every layer *and the input*
    (``jumping_knowledge=cat``, ``readout_input=true``) into one linear head, dropout
    0.5 before the head only.

    Args:
        train_eps: learn ``eps`` (0 and fixed otherwise: GIN-0, the paper's best).
        others: see :class:`GraphNet`.
    """

    def __init__(self, train_eps: bool = False, **kwargs: Any) -> None:
        self.train_eps = train_eps  # read by make_conv, which the base's __init__ calls
        super().__init__(**kwargs)

    def make_conv(self, in_features: int, out_features: int) -> nn.Module:
        mlp = nn.Sequential(
            nn.Linear(in_features, out_features),
            nn.BatchNorm1d(out_features),
            nn.ReLU(),
            nn.Linear(out_features, out_features),
        )
        return pyg("nn").GINConv(mlp, train_eps=self.train_eps)


class _NodeLinear(nn.Linear):
    """A ``Linear`` per node that takes (and ignores) the graph's edges."""

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor | None = None) -> torch.Tensor:
        return super().forward(x)


@register_model("graph_mlp")
class GraphMLP(GraphNet):
    """The edge-free baseline: the same stack with a per-node ``Linear`` in place of
    each message-passing layer, so every node is classified from its own features
    alone (at graph level, the readout of per-node features). See :class:`GraphNet`."""

    def make_conv(self, in_features: int, out_features: int) -> nn.Module:
        return _NodeLinear(in_features, out_features)
