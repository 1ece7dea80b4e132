"""Node classification: the loss reads the train mask only, the metrics the val / test
masks, probabilities for every node; on Zachary's karate club a GCN trained on 2 nodes
per class beats the edge-free graph_mlp on the held-out nodes."""

from __future__ import annotations

import functools
from typing import Any

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from dlzoo.errors import DataError
from dlzoo.graph import pyg
from dlzoo.models import create_model
from dlzoo.models.graph_nets import example_batch
from dlzoo.tasks.node_classification import NodeClassificationTask


def karate() -> Any:
    """KarateClub (34 nodes, 4 classes) with masks: the first 2 nodes of each class to
    train on, the next 1 to validate on, the other 22 to test on."""
    data = pyg("datasets").KarateClub()[0]
    rank = torch.zeros(34, dtype=torch.long)
    for k in range(4):
        mine = (data.y == k).nonzero().squeeze(1)
        rank[mine] = torch.arange(len(mine))
    data.train_mask, data.val_mask, data.test_mask = rank < 2, rank == 2, rank > 2
    return data


def make_task(name: str = "gcn", **kwargs: Any) -> NodeClassificationTask:
    net = create_model(name, node_features=34, num_classes=4, **kwargs)
    optimizer = functools.partial(torch.optim.Adam, lr=0.01, weight_decay=5e-4)
    return NodeClassificationTask(net, num_classes=4, optimizer=optimizer)


def test_the_loss_reads_only_the_train_mask() -> None:
    torch.manual_seed(0)
    data = karate()
    task = make_task().eval()  # no dropout: two passes agree
    with torch.no_grad():
        loss = task._shared_step(data, "train")
        outside = data.clone()
        outside.y = torch.where(data.train_mask, data.y, (data.y + 1) % 4)
        assert torch.equal(task._shared_step(outside, "train"), loss)
        inside = data.clone()
        inside.y = torch.where(data.train_mask, (data.y + 1) % 4, data.y)
        assert not torch.allclose(task._shared_step(inside, "train"), loss)
        # the loss is the cross-entropy of the train nodes' logits
        expected = torch.nn.functional.cross_entropy(
            task.net(data)[data.train_mask], data.y[data.train_mask]
        )
        torch.testing.assert_close(loss, expected)


@pytest.mark.parametrize("stage", ["val", "test"])
def test_metrics_count_the_stage_nodes(stage: str) -> None:
    torch.manual_seed(0)
    data = karate()
    task = make_task().eval()
    with torch.no_grad():
        task._shared_step(data, stage)
    mask = data[f"{stage}_mask"]
    confmat = getattr(task, f"{stage}_confmat").compute()
    assert int(confmat.sum()) == int(mask.sum())
    assert torch.equal(confmat.sum(dim=1), torch.bincount(data.y[mask], minlength=4))
    preds = task.net(data).argmax(-1)[mask]
    acc = getattr(task, f"{stage}_metrics").compute()["acc"]
    assert acc.item() == pytest.approx((preds == data.y[mask]).float().mean().item())


def test_infer_and_prediction_table_cover_every_node() -> None:
    torch.manual_seed(0)
    data = karate()
    task = make_task().eval()
    with torch.no_grad():
        probs = task.infer(data)
        assert task.embed(data).shape == (34, task.net.num_features)
    assert probs.shape == (34, 4)
    torch.testing.assert_close(probs.sum(-1), torch.ones(34))
    dm = type("DM", (), {"class_names": ["a", "b", "c", "d"]})()
    header, rows = task.prediction_table([f"node_{i}" for i in range(34)], probs, dm)
    assert header == ["input", "class", "p_a", "p_b", "p_c", "p_d"] and len(rows) == 34
    assert rows[5][1] == "abcd"[int(probs[5].argmax())]


def test_graphs_without_masks_are_one_line_data_errors() -> None:
    task = make_task()
    data = karate()
    del data.val_mask
    with pytest.raises(DataError, match=r"data\.val_mask.*data=karate.*task=classification"):
        task._shared_step(data, "val")
    data.val_mask = torch.zeros(34, dtype=torch.bool)
    with pytest.raises(DataError, match=r"val_mask selects no node"):
        task._shared_step(data, "val")
    with pytest.raises(DataError, match="train_mask"):
        task._shared_step(example_batch(2), "train")


def fit_and_test(name: str, data: Any) -> float:
    """Train ``name`` for 150 full-graph steps; the test accuracy on the test mask."""
    L.seed_everything(0, verbose=False)
    task = make_task(name)
    loader = DataLoader([data], batch_size=None)  # the one graph, as a batch of its own
    trainer = L.Trainer(
        max_epochs=150,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        check_val_every_n_epoch=50,
        num_sanity_val_steps=0,
    )
    trainer.fit(task, train_dataloaders=loader, val_dataloaders=loader)
    (result,) = trainer.test(task, dataloaders=loader, verbose=False)
    return result["test/acc"]


def test_gcn_beats_the_edge_free_baseline_on_held_out_nodes() -> None:
    data = karate()
    gcn, mlp = fit_and_test("gcn", data), fit_and_test("graph_mlp", data)
    # one-hot node ids: without edges a held-out node's features say nothing about it
    assert gcn >= 0.7 and gcn >= mlp + 0.3, (gcn, mlp)
