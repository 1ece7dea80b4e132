"""The metric-learning task: batches, losses and mining by hand, the fitted decision
head, bad configs, and short real trainings that beat an untrained net and chance."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from dlzoo.errors import ConfigError
from dlzoo.metrics.knn import knn_accuracy
from dlzoo.models.dense import MLP
from dlzoo.models.siamese import SiameseNet
from dlzoo.run.pipeline import build, train
from dlzoo.tasks.embedding import embed_all
from dlzoo.tasks.metric_learning import MetricLearningTask


def identity_siamese() -> SiameseNet:
    """A siamese net whose embedding of a 2-vector is the vector itself."""
    encoder = MLP(in_features=2, num_classes=2, hidden_sizes=[])
    linear = next(m for m in encoder.modules() if isinstance(m, nn.Linear))
    with torch.no_grad():
        linear.weight.copy_(torch.eye(2))
        linear.bias.zero_()
    return SiameseNet(encoder, embedding_size=2, normalize=False)


def make_task(**kwargs) -> MetricLearningTask:
    optimizer = functools.partial(torch.optim.SGD, lr=0.1)
    return MetricLearningTask(identity_siamese(), optimizer=optimizer, **kwargs)


def pairs() -> dict[str, torch.Tensor]:
    return {
        "x": torch.tensor([[0.0, 0.0], [3.0, 4.0]]),
        "x2": torch.tensor([[0.0, 1.0], [0.0, 0.0]]),  # distances 1 and 5
        "same": torch.tensor([1.0, 0.0]),
        "label": torch.tensor([0, 1]),
        "label2": torch.tensor([0, 2]),
    }


def triplets() -> dict[str, torch.Tensor]:
    # anchor 0 (class 0): positive at 1, drawn negative at 5, anchor 1 (class 1) at 1.5
    # anchor 1: positive at 3, its drawn negative (class 0) at 10
    return {
        "x": torch.tensor([[0.0, 0.0], [1.5, 0.0]]),
        "positive": torch.tensor([[1.0, 0.0], [1.5, 3.0]]),
        "negative": torch.tensor([[5.0, 0.0], [1.5, 10.0]]),
        "label": torch.tensor([0, 1]),
        "negative_label": torch.tensor([1, 0]),
    }


def test_split_batch_for_pairs_and_triplets() -> None:
    inputs, same = MetricLearningTask.split_batch(pairs())
    assert len(inputs) == 2 and torch.equal(same, pairs()["same"])
    inputs, (label, negative_label) = MetricLearningTask.split_batch(triplets())
    assert len(inputs) == 3 and label.tolist() == [0, 1] and negative_label.tolist() == [1, 0]


def test_contrastive_step_by_hand_and_val_metrics() -> None:
    task = make_task(loss="contrastive", margin=2.0)
    # same pair: 1^2; different pair at 5, beyond the margin: 0
    assert task._shared_step(pairs(), "val").item() == pytest.approx(0.5)
    # p(same) with the initial head (threshold 0.5): the pair at 1 is called different
    assert task.verify_acc["val"].compute().item() == pytest.approx(0.5)
    assert task.auroc["val"].compute().item() == pytest.approx(1.0)  # nearer = same


def test_triplet_step_with_and_without_semi_hard_mining() -> None:
    plain = make_task(loss="triplet", margin=1.0)
    # drawn negatives at 5 and 10: the margin holds for both
    assert plain._shared_step(triplets(), "train").item() == pytest.approx(0.0)
    mined = make_task(loss="triplet", margin=1.0, mining="semi_hard")
    # anchor 0's semi-hard negative is anchor 1 (1 < 1.5 < 5): max(0, 1 - 1.5 + 1);
    # anchor 1's only negative beyond 3 is its own at 10: 0
    assert mined._shared_step(triplets(), "train").item() == pytest.approx(0.25)
    embeddings = mined(*MetricLearningTask.split_batch(triplets())[0])
    chosen = mined._mine(*embeddings, triplets()["label"], triplets()["negative_label"])
    assert chosen.tolist() == [[1.5, 0.0], [1.5, 10.0]]
    # evaluation keeps the drawn triplets
    assert mined._shared_step(triplets(), "val").item() == pytest.approx(0.0)


def test_contrastive_loss_on_triplets_takes_their_two_pairs() -> None:
    task = make_task(loss="contrastive", margin=6.0)
    # same pairs at 1 and 3; different pairs at 5 and 10 (margin 6: (6 - 5)^2 and 0)
    expected = (1.0 + 9.0 + 1.0 + 0.0) / 4
    assert task._shared_step(triplets(), "train").item() == pytest.approx(expected)


def test_the_decision_head_is_fitted_on_the_training_distances() -> None:
    task = make_task(loss="contrastive", margin=2.0)
    batch = {
        "x": torch.zeros(4, 2),
        "x2": torch.tensor([[2.0, 0.0], [2.2, 0.0], [2.9, 0.0], [3.3, 0.0]]),
        "same": torch.tensor([1.0, 1.0, 0.0, 0.0]),
    }
    task._shared_step(batch, "train")
    task.on_validation_epoch_start()
    assert 2.2 < task.net.decision.threshold < 2.9  # between the same and the others
    assert task._train_pairs == []  # each epoch fits on its own distances


def test_bad_configs_name_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"mining=semi_hard needs task\.loss=triplet"):
        make_task(loss="contrastive", mining="semi_hard")
    with pytest.raises(ConfigError, match="valid: contrastive, triplet"):
        make_task(loss="hinge")
    with pytest.raises(ConfigError, match="margin=0"):
        make_task(margin=0)
    with pytest.raises(ConfigError, match="needs a siamese net"):
        MetricLearningTask(nn.Linear(2, 2), optimizer=torch.optim.SGD)
    with pytest.raises(ConfigError, match="use data=triplets"):
        make_task(loss="triplet")._shared_step(pairs(), "train")


def test_infer_gives_unit_embeddings() -> None:
    torch.manual_seed(0)
    net, x = SiameseNet.example(batch_size=3)
    task = MetricLearningTask(net, optimizer=torch.optim.SGD).eval()
    z = task.infer(x)
    assert z.shape == (3, 4)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(3))
    header, rows = task.prediction_table(["a", "b", "c"], z, None)
    assert header == ["input", "z_0", "z_1", "z_2", "z_3"] and len(rows) == 3


def untrained_knn(run) -> float:
    """The test k-NN accuracy of a built run's net as it is."""
    dm = run.datamodule
    (x_train, y_train), (x_test, y_test) = dm.labelled("train"), dm.labelled("test")
    train_z = torch.from_numpy(embed_all(run.task, x_train))
    test_z = torch.from_numpy(embed_all(run.task, x_test))
    return knn_accuracy(test_z, y_test, train_z, y_train, k=5)


@pytest.mark.parametrize("experiment", ["mnist_siamese_triplet", "mnist_siamese_contrastive"])
def test_a_short_training_beats_the_untrained_net_and_chance(make_cfg, experiment) -> None:
    cfg = make_cfg(
        f"experiment={experiment}",
        "data@data.base=digits",  # 8x8 digits: a few seconds
        "trainer.max_epochs=3",
        "callbacks=none",
        "logger=none",
    )
    before = untrained_knn(build(cfg, trainer=False))
    train(cfg)
    metrics = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())["test"]
    assert metrics["test/knn_acc"] > max(0.9, before + 0.03)  # chance: 0.1
    assert metrics["test/auroc"] > 0.95 and metrics["test/verify_acc"] > 0.85  # chance: 0.5
