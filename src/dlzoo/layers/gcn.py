"""The graph convolution of Kipf & Welling (2017), "Semi-Supervised Classification with
Graph Convolutional Networks", written out in plain torch.

One layer computes ``H' = D^-1/2 (A + I) D^-1/2 H W + b``: every node averages its own
and its neighbours' transformed features, each message scaled by ``1 / sqrt(d_i d_j)``
so that high-degree nodes neither dominate nor get drowned out (the degrees ``d``
count the self-loop). It is the graph counterpart of a 3x3 convolution: a shared
weight applied to a node's neighbourhood instead of a pixel's.

The sums over edges use ``index_add_`` (no torch-scatter or other compiled extension),
and the layer keeps PyTorch Geometric's ``GCNConv`` parameter names (``lin.weight``,
``bias``), so the weights of one load into the other.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["GCNLayer", "gcn_norm"]


def gcn_norm(
    edge_index: torch.Tensor, num_nodes: int, edge_weight: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The edges of ``A + I`` and their weights in ``D^-1/2 (A + I) D^-1/2``.

    A node that already has a self-loop keeps that loop's weight in place of the added
    1 (as PyTorch Geometric's ``add_remaining_self_loops`` does), so a graph that lists
    its self-loops is not counted twice.

    Args:
        edge_index: ``[source, target]`` node indices; an undirected graph lists both
            directions.
        num_nodes: N, the number of nodes.
        edge_weight: a weight per edge; 1 for every edge when ``None``.

    Shapes:
        edge_index: (2, E) int64; edge_weight: (E,) -> edge_index (2, E' + N) and the
        normalised weights (E' + N,), E' the edges that are not self-loops.
    """
    source, target = edge_index[0], edge_index[1]
    if edge_weight is None:
        edge_weight = torch.ones(source.numel(), device=edge_index.device)
    loop_weight = torch.ones(num_nodes, dtype=edge_weight.dtype, device=edge_index.device)
    is_loop = source == target
    loop_weight[source[is_loop]] = edge_weight[is_loop]
    nodes = torch.arange(num_nodes, device=edge_index.device)
    source = torch.cat([source[~is_loop], nodes])
    target = torch.cat([target[~is_loop], nodes])
    weight = torch.cat([edge_weight[~is_loop], loop_weight])
    # degree of the node that receives the messages (row sums of A + I)
    degree = torch.zeros(num_nodes, dtype=weight.dtype, device=weight.device)
    degree.index_add_(0, target, weight)
    inv_sqrt = degree.pow(-0.5).masked_fill(degree == 0, 0.0)
    return torch.stack([source, target]), inv_sqrt[source] * weight * inv_sqrt[target]


class GCNLayer(nn.Module):
    """One graph convolution: ``D^-1/2 (A + I) D^-1/2 X W + b``.

    Args:
        in_features: features per input node.
        out_features: features per output node.
        bias: add a learned bias per output feature.

    Shapes:
        x (N, in_features), edge_index (2, E) int64 ``[source, target]``, edge_weight
        (E,) or ``None`` -> (N, out_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.lin = nn.Linear(in_features, out_features, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Glorot & Bengio (2010), as in the paper; the bias starts at zero
        nn.init.xavier_uniform_(self.lin.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(
        self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        num_nodes = x.shape[0]
        edges, norm = gcn_norm(edge_index, num_nodes, edge_weight)
        h = self.lin(x)  # (N, out); transform first: cheaper when out < in
        messages = h[edges[0]] * norm.to(h.dtype).unsqueeze(-1)  # (E' + N, out)
        out = torch.zeros_like(h).index_add_(0, edges[1], messages)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"
