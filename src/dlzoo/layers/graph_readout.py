"""From node embeddings to one vector per graph (readout), and jumping knowledge.

- :func:`global_pool`: the mean, sum or max of each graph's node embeddings, the graphs
  of a batch told apart by PyTorch Geometric's ``batch`` vector (graph index per node).
  Sum keeps how many nodes carry a feature, which the GIN paper (Xu et al. 2019, "How
  Powerful are Graph Neural Networks?") shows mean and max cannot tell apart.
- :func:`jumping_knowledge`: combine every layer's node embeddings (Xu et al. 2018,
  "Representation Learning on Graphs with Jumping Knowledge Networks"), so the readout
  sees small neighbourhoods (early layers) as well as large ones (late layers).

Pure torch (``index_add_`` / ``scatter_reduce``): no compiled extension.
"""

from __future__ import annotations

import torch

from dlzoo.errors import ConfigError

__all__ = ["JUMPING_KNOWLEDGE", "READOUTS", "global_pool", "jumping_knowledge"]

READOUTS = ("mean", "sum", "max")
JUMPING_KNOWLEDGE = ("cat", "max", "last")


def global_pool(
    x: torch.Tensor, batch: torch.Tensor | None, num_graphs: int | None = None, mode: str = "mean"
) -> torch.Tensor:
    """Pool the node embeddings of each graph into one vector.

    Args:
        x: node embeddings.
        batch: the graph index of every node; ``None`` for a single graph.
        num_graphs: B; ``batch.max() + 1`` when ``None`` (a graph without nodes then
            pools to zeros).
        mode: ``mean``, ``sum`` or ``max``.

    Raises:
        ConfigError: an unknown ``mode``.

    Shapes:
        x (N, D), batch (N,) int64 -> (B, D)
    """
    if mode not in READOUTS:
        raise ConfigError(f"unknown readout {mode!r}; valid: {', '.join(READOUTS)}")
    if batch is None:
        batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    if num_graphs is None:
        num_graphs = int(batch.max()) + 1 if batch.numel() else 0
    out = x.new_zeros(num_graphs, x.shape[1])
    if mode == "max":
        index = batch.unsqueeze(-1).expand_as(x)
        # include_self=False: a graph's max is over its nodes only, not the zeros
        return out.scatter_reduce(0, index, x, reduce="amax", include_self=False)
    out = out.index_add(0, batch, x)
    if mode == "sum":
        return out
    counts = torch.zeros(num_graphs, dtype=x.dtype, device=x.device)
    counts.index_add_(0, batch, torch.ones_like(batch, dtype=x.dtype))
    return out / counts.clamp_min(1).unsqueeze(-1)


def jumping_knowledge(layers: list[torch.Tensor], mode: str | None) -> torch.Tensor:
    """Combine the node embeddings of every layer.

    Args:
        layers: each layer's node embeddings, first layer first.
        mode: ``cat`` (concatenate: width L * D), ``max`` (feature-wise max over the
            layers) or ``last`` / ``None`` (the last layer only: no jumping knowledge).

    Raises:
        ConfigError: an unknown ``mode``.

    Shapes:
        layers: L tensors (N, D) -> (N, L * D) for ``cat``, else (N, D)
    """
    if mode is None or mode == "last":
        return layers[-1]
    if mode == "cat":
        return torch.cat(layers, dim=-1)
    if mode == "max":
        return torch.stack(layers).amax(dim=0)
    raise ConfigError(
        f"unknown jumping_knowledge {mode!r}; valid: null, {', '.join(JUMPING_KNOWLEDGE)}"
    )
