"""The graph figures: the drawing by hand, and the figure and the node-embedding
projector read back from a real TensorBoard run of a GCN on the karate club (nothing
for graph-level data or without TensorBoard)."""

from __future__ import annotations

import csv
import functools
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from matplotlib.collections import PathCollection
from torch.utils.data import DataLoader

from dlzoo.callbacks import graph_figures as gf
from dlzoo.graph import pyg
from dlzoo.models import create_model
from dlzoo.models.graph_nets import example_batch
from dlzoo.tasks.classification import ClassificationTask
from dlzoo.tasks.node_classification import NodeClassificationTask

CLASSES = ["red", "green", "blue", "gold"]


def karate() -> Any:
    """The karate club with masks: nodes 0..11 train, 12..19 val, the rest test."""
    data = pyg("datasets").KarateClub()[0]
    node = torch.arange(34)
    data.train_mask, data.val_mask, data.test_mask = (
        node < 12,
        (node >= 12) & (node < 20),
        node >= 20,
    )
    return data


class OneGraph(L.LightningDataModule):
    """Serves one graph (or a graph batch) to every stage, as the graph datamodules do."""

    def __init__(self, data: Any) -> None:
        super().__init__()
        self.data, self.class_names = data, list(CLASSES)

    def _loader(self) -> DataLoader:
        return DataLoader([self.data], batch_size=None)

    train_dataloader = val_dataloader = test_dataloader = _loader


def run(task: L.LightningModule, dm: L.LightningDataModule, logger: Any, epochs: int = 5) -> None:
    trainer = L.Trainer(
        max_epochs=epochs,
        logger=logger,
        callbacks=[gf.GraphFigure(max_nodes=30), gf.GraphProjector()],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        num_sanity_val_steps=0,
    )
    trainer.fit(task, datamodule=dm)
    trainer.validate(task, datamodule=dm, verbose=False)
    trainer.test(task, datamodule=dm, verbose=False)


def node_task() -> NodeClassificationTask:
    torch.manual_seed(0)
    net = create_model("gcn", node_features=34, num_classes=4, hidden_size=8)
    optimizer = functools.partial(torch.optim.Adam, lr=0.01)
    return NodeClassificationTask(net, num_classes=4, optimizer=optimizer)


def test_graph_figure_draws_every_node_once_with_rings_and_squares() -> None:
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 3], [1, 0, 2, 1, 4, 3]])  # a self-loop on 3
    predicted = torch.tensor([0, 0, 2, 2, 2])
    wrong = torch.tensor([False, True, False, False, True])
    train = torch.tensor([True, False, False, False, False])
    fig = gf.graph_figure(edge_index, predicted, wrong, train, CLASSES, "t")
    ax = fig.axes[0]
    nodes = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sum(len(c.get_offsets()) for c in nodes) == 5
    rings = sum(
        int((c.get_edgecolors()[:, :3] == [1.0, 0.0, 0.0]).all(axis=1).sum())
        for c in nodes
        if len(c.get_offsets()) and len(c.get_edgecolors()) == len(c.get_offsets())
    )
    assert rings == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["red", "blue"]
    # the same seed, the same layout
    again = gf.graph_figure(edge_index, predicted, wrong, train, CLASSES, "t")
    first = [c.get_offsets().tolist() for c in nodes]
    assert first == [
        c.get_offsets().tolist() for c in again.axes[0].collections if isinstance(c, PathCollection)
    ]


def test_the_figure_and_projector_reach_tensorboard(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = TensorBoardLogger(tmp_path, name="tb")
    task = node_task()
    run(task, OneGraph(karate()), logger)
    events = Path(logger.log_dir)
    accumulator = EventAccumulator(str(events), size_guidance={"images": 0})
    accumulator.Reload()
    assert {"val/graph", "test/graph"} <= set(accumulator.Tags()["images"])
    (image,) = accumulator.Images("val/graph")  # the final validation only (every_n_epochs 0)
    assert image.width > 100 and image.height > 100
    assert "node_embeddings" in (events / "projector_config.pbtxt").read_text()
    (metadata,) = events.rglob("metadata.tsv")
    rows = list(csv.reader(metadata.open(), delimiter="\t"))
    assert rows[0] == ["label", "predicted", "split"] and len(rows) == 35
    data = karate()
    assert [r[0] for r in rows[1:]] == [CLASSES[k] for k in data.y.tolist()]
    assert [r[2] for r in rows[1:]] == ["train"] * 12 + ["val"] * 8 + ["test"] * 14
    predicted = task.eval().infer(data).argmax(-1).tolist()
    assert [r[1] for r in rows[1:]] == [CLASSES[k] for k in predicted]
    (tensors,) = events.rglob("tensors.tsv")
    vectors = [line.split("\t") for line in tensors.read_text().splitlines()]
    assert len(vectors) == 34 and {len(v) for v in vectors} == {task.net.num_features}


def test_nothing_for_graph_level_data_or_without_tensorboard(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = create_model("gin", node_features=3, num_classes=3, level="graph")
    task = ClassificationTask(net, num_classes=3, optimizer=torch.optim.Adam)
    logger = TensorBoardLogger(tmp_path, name="tb")
    run(task, OneGraph(example_batch(4)), logger, epochs=1)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(logger.log_dir, size_guidance={"images": 0})
    accumulator.Reload()
    assert not accumulator.Tags()["images"]
    assert not list(tmp_path.rglob("projector_config.pbtxt"))
    run(node_task(), OneGraph(karate()), CSVLogger(tmp_path / "csv"), epochs=1)
    assert not list((tmp_path / "csv").rglob("events.out.tfevents.*"))
