"""What a node classifier learned, for TensorBoard (and ``figures/graph.png``): the graph
coloured by predicted class, and the node embeddings in the projector.

- :class:`GraphFigure` (``infer(data)``): the graph drawn with a spring layout (the
  same seeded layout at every epoch, so figures compare), each node coloured by its
  predicted class; the stage's nodes that the net gets wrong are ringed in red, the
  training nodes drawn as squares -> ``val/graph`` / ``test/graph``.
- :class:`GraphProjector` (``embed(data)``): every node's embedding (the net's
  ``forward_features``) in TensorBoard's projector, with its label, predicted class
  and split as metadata -> tag ``node_embeddings``.

Both read the one graph that a node-level datamodule's loaders serve (a PyG ``Data``
with ``<stage>_mask``) and do nothing for other data, tasks without the method, or a
run without a TensorBoard logger (the graph figure is still drawn for ``figures/``).
networkx is imported when a figure is drawn.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.trainer.states import TrainerFn

from dlzoo.callbacks.drawing import new_figure
from dlzoo.callbacks.figures import _log_figure, _StageFigure, _wanted, _writers
from dlzoo.callbacks.latent_figures import _class_names
from dlzoo.data.base import STAGES

log = logging.getLogger(__name__)

__all__ = ["GraphFigure", "GraphProjector", "graph_figure", "node_graph"]


def node_graph(dm: Any, stage: str) -> Any | None:
    """The graph of a node-level datamodule: the first batch of its ``stage`` loader,
    ``None`` when that is not a graph with node masks (graph-level or other data)."""
    loader = getattr(dm, f"{stage}_dataloader", None)
    if not callable(loader):
        return None
    data = next(iter(loader()), None)
    if not (hasattr(data, "edge_index") and torch.is_tensor(getattr(data, f"{stage}_mask", None))):
        return None
    return data


def _on_graph(pl_module: L.LightningModule, fn: Any, data: Any) -> torch.Tensor:
    """``fn(data)`` on the task's device in eval mode (the mode restored), on the CPU.

    Shapes:
        data.x (N, F) -> (N, ...) as ``fn`` returns
    """
    was_training = pl_module.training
    pl_module.eval()
    try:
        with torch.no_grad():
            return fn(data.to(pl_module.device)).float().cpu()
    finally:
        pl_module.train(was_training)


def _split_names(data: Any) -> list[str]:
    """The split of every node (``train``, ``val``, ``test`` or ``-`` for none)."""
    names = np.full(data.num_nodes, "-", dtype=object)
    for split in STAGES:
        mask = getattr(data, f"{split}_mask", None)
        if torch.is_tensor(mask):
            names[mask.cpu().numpy()] = split
    return names.tolist()


def graph_figure(
    edge_index: torch.Tensor,
    predicted: torch.Tensor,
    wrong: torch.Tensor,
    train: torch.Tensor,
    class_names: list[str] | None,
    title: str = "",
    seed: int = 0,
) -> Any:
    """Draw a graph with its nodes coloured by predicted class.

    Args:
        edge_index: the edges (both directions or one; drawn undirected).
        predicted: the predicted class of every node.
        wrong: nodes to ring in red (a wrong prediction on a labelled node).
        train: nodes drawn as squares (the training nodes).
        class_names: legend entries; class indices when ``None``.
        title: the figure's title.
        seed: seeds the spring layout (the same picture for the same graph).

    Shapes:
        edge_index (2, E); predicted (N,) int64; wrong, train (N,) bool.

    Returns:
        A matplotlib figure.
    """
    import networkx as nx
    from matplotlib import colormaps

    n = len(predicted)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from((a, b) for a, b in edge_index.t().tolist() if a != b)
    pos = nx.spring_layout(graph, seed=seed)
    fig = new_figure(figsize=(7.0, 6.0))
    ax = fig.subplots()
    nx.draw_networkx_edges(graph, pos, ax=ax, alpha=0.3, width=0.6)
    classes = sorted(int(k) for k in predicted.unique())
    cmap = colormaps["tab10" if max(classes, default=0) < 10 else "tab20"]
    size = max(12.0, min(120.0, 6000.0 / max(n, 1)))
    for marker, chosen in (("o", ~train), ("s", train)):
        for k in classes:
            mine = ((predicted == k) & chosen).nonzero().squeeze(1).tolist()
            name = class_names[k] if class_names and k < len(class_names) else str(k)
            nx.draw_networkx_nodes(
                graph, pos, nodelist=mine, node_color=[cmap(k % cmap.N)], node_shape=marker,
                node_size=size, ax=ax, label=name if marker == "o" else None,
                edgecolors=["red" if bool(wrong[i]) else "none" for i in mine], linewidths=1.5,
            )  # fmt: skip
    ax.legend(title="predicted", fontsize=7, markerscale=0.8, loc="best")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


class GraphFigure(_StageFigure):
    """Log the graph coloured by predicted class (``infer(data)``) for node tasks.

    Args:
        every_n_epochs: also draw it every this many epochs of fit (0: never during fit).
        max_nodes: a larger graph is drawn as the subgraph of its first ``max_nodes``
            nodes (a spring layout of thousands of nodes costs seconds and shows little).
        seed: seeds the spring layout.
    """

    def __init__(self, every_n_epochs: int = 0, max_nodes: int = 500, seed: int = 0) -> None:
        super().__init__(every_n_epochs)
        self.max_nodes, self.seed = int(max_nodes), int(seed)

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        infer = getattr(pl_module, "infer", None)
        if not _wanted(trainer) or not callable(infer):
            return
        data = node_graph(trainer.datamodule, stage)
        if data is None:
            return
        predicted = _on_graph(pl_module, infer, data).argmax(dim=-1)  # (N,)
        y, mask = data.y.cpu(), getattr(data, f"{stage}_mask").cpu()
        accuracy = float((predicted[mask] == y[mask]).float().mean())
        n = min(int(data.num_nodes), self.max_nodes)
        edges = data.edge_index.cpu()
        edges = edges[:, (edges < n).all(dim=0)]  # the subgraph of the first n nodes
        train = getattr(data, "train_mask", torch.zeros_like(mask)).cpu()
        shown = "" if n == data.num_nodes else f", its first {n} of {data.num_nodes} nodes"
        title = (
            f"{stage}: predicted class per node ({stage} accuracy {accuracy:.0%}{shown})\n"
            f"red ring: wrong on a {stage} node, square: a training node"
        )
        fig = graph_figure(
            edges,
            predicted[:n],
            (mask & (predicted != y))[:n],
            train[:n].bool(),
            _class_names(trainer.datamodule),
            title,
            self.seed,
        )
        _log_figure(trainer, f"{stage}/graph", fig)


class GraphProjector(L.Callback):
    """Every node's embedding (``embed(data)``) in TensorBoard's projector (PROJECTOR
    tab), with its label, predicted class and split as metadata columns.

    Written once, when the pipeline validates the best checkpoint after fit.

    Args:
        max_points: the graph's first this many nodes.
    """

    def __init__(self, max_points: int = 5000) -> None:
        self.max_points = int(max_points)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        embed, infer = getattr(pl_module, "embed", None), getattr(pl_module, "infer", None)
        if trainer.state.fn != TrainerFn.VALIDATING or not _writers(trainer):
            return
        data = node_graph(trainer.datamodule, "val") if callable(embed) else None
        if data is None:
            return
        n = min(int(data.num_nodes), self.max_points)
        z = _on_graph(pl_module, embed, data)[:n]
        names = _class_names(trainer.datamodule)

        def name(k: int) -> str:
            return names[k] if names and k < len(names) else str(k)

        labels = [name(k) for k in data.y[:n].tolist()]
        predicted = ["?"] * n
        if callable(infer):
            predicted = [name(k) for k in _on_graph(pl_module, infer, data)[:n].argmax(-1)]
        rows = [list(r) for r in zip(labels, predicted, _split_names(data)[:n], strict=True)]
        for writer in _writers(trainer):
            writer.add_embedding(
                z.reshape(n, -1),
                metadata=rows,
                metadata_header=["label", "predicted", "split"],
                global_step=trainer.global_step,
                tag="node_embeddings",
            )
