"""The linear probe and k-means on frozen features, beside the same on the pixels."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from dlzoo.data.image.packaged import DigitsDataModule
from dlzoo.run.pipeline import train
from dlzoo.run.probe import (
    cluster_purity,
    kmeans_scores,
    probe_metrics,
    representation_metrics,
    untrained,
)
from dlzoo.tasks.base import Task, embedding_table
from dlzoo.tasks.classification import ClassificationTask
from dlzoo.tasks.embedding import embed_all


class _Embedder(Task):
    """A task whose representation is a fixed map of the pixels."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__(net, optimizer=torch.optim.SGD)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def test_cluster_purity_by_hand() -> None:
    labels = np.array([0, 0, 1, 1, 1, 2])
    clusters = np.array([5, 5, 5, 7, 7, 7])
    # cluster 5: two 0s of three; cluster 7: two 1s of three -> 4 / 6
    assert cluster_purity(labels, clusters) == pytest.approx(4 / 6)
    assert cluster_purity(labels, labels) == 1.0


def test_kmeans_finds_separated_blobs() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    features = centres[labels] + rng.normal(scale=0.1, size=(60, 2))
    ari, purity = kmeans_scores(features, labels)
    assert ari == pytest.approx(1.0) and purity == 1.0


def test_embed_all_chunks_and_restores_the_mode() -> None:
    task = _Embedder(nn.Sequential(nn.Flatten(), nn.Dropout(0.5)))
    task.train()
    x = torch.randn(1100, 1, 2, 2)
    out = embed_all(task, x)
    # eval mode: dropout off, so the pixels come back exactly; the mode is restored
    assert out.shape == (1100, 4) and np.array_equal(out, x.reshape(1100, 4).numpy())
    assert task.training


@pytest.fixture(scope="module")
def digits() -> DigitsDataModule:
    dm = DigitsDataModule(batch_size=32, seed=0)
    dm.prepare_data()
    dm.setup()
    return dm


def test_identity_features_probe_like_the_pixels(digits: DigitsDataModule) -> None:
    out = probe_metrics(_Embedder(nn.Flatten()), digits)
    assert set(out) == {
        "test/baseline_majority_acc",
        "test/probe_acc",
        "test/baseline_untrained_probe_acc",
        "test/baseline_logreg_acc",
        "test/kmeans_ari",
        "test/kmeans_purity",
        "test/baseline_kmeans_ari",
        "test/baseline_kmeans_purity",
    }
    # the pixels are already standardised per channel: nearly the same regression
    assert out["test/probe_acc"] == pytest.approx(out["test/baseline_logreg_acc"], abs=0.03)
    assert out["test/probe_acc"] > 0.9 > 0.2 > out["test/baseline_majority_acc"]
    assert out["test/kmeans_ari"] == pytest.approx(out["test/baseline_kmeans_ari"], abs=0.1)


def test_random_features_probe_worse_than_the_pixels(digits: DigitsDataModule) -> None:
    torch.manual_seed(0)
    out = probe_metrics(_Embedder(nn.Sequential(nn.Flatten(), nn.Linear(64, 2))), digits)
    assert out["test/probe_acc"] < out["test/baseline_logreg_acc"] - 0.2


def test_the_untrained_probe_reads_a_fresh_initialisation(digits: DigitsDataModule) -> None:
    task = _Embedder(nn.Sequential(nn.Flatten(), nn.Linear(64, 8)))
    with torch.no_grad():  # "trained": the first 8 pixels
        task.net[1].weight.copy_(torch.eye(8, 64))
        task.net[1].bias.zero_()
    before = {k: v.clone() for k, v in task.state_dict().items()}
    state = torch.random.get_rng_state()
    torch.manual_seed(3)
    fresh = _Embedder(nn.Sequential(nn.Flatten(), nn.Linear(64, 8)))
    with untrained(task, seed=3):  # seeded: the same weights as a new net's
        assert torch.equal(task.net[1].weight, fresh.net[1].weight)
    torch.random.set_rng_state(state)
    with untrained(task, seed=3):
        pass
    # the trained weights and the global random state are back
    assert all(torch.equal(before[k], v) for k, v in task.state_dict().items())
    assert torch.equal(torch.random.get_rng_state(), state)
    out, new = probe_metrics(task, digits, seed=3), probe_metrics(fresh, digits, seed=3)
    assert out["test/baseline_untrained_probe_acc"] == new["test/probe_acc"]
    # the first 8 pixels of an 8x8 digit are its top row: near the majority class
    assert out["test/probe_acc"] < new["test/probe_acc"]


def test_classifiers_are_not_probed_by_the_pipeline(digits: DigitsDataModule) -> None:
    task = ClassificationTask(nn.Flatten(), 10, torch.optim.SGD)
    assert representation_metrics(task, digits) == {}
    assert probe_metrics(_Embedder(nn.Flatten()), object()) == {}


def test_embedding_table_rows() -> None:
    header, rows = embedding_table(["a.png", "b.png"], torch.tensor([[0.5, 1.0], [2.0, -3.0]]))
    assert header == ["input", "z_0", "z_1"]
    assert rows == [["a.png", "0.5", "1"], ["b.png", "2", "-3"]]


def test_probe_cli_on_a_classifier_run(make_cfg, tmp_path) -> None:
    cfg = make_cfg("debug=limit", "logger=none")
    train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    done = subprocess.run(
        [sys.executable, "-m", "dlzoo.cli.probe", f"run_dir={run_dir}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    written = json.loads((run_dir / "probe.json").read_text())
    assert f"test/probe_acc {written['test/probe_acc']:.4f}" in done.stdout
    assert 0.1 < written["test/probe_acc"] <= 1.0
    bad = subprocess.run(
        [sys.executable, "-m", "dlzoo.cli.probe", f"run_dir={tmp_path / 'nothing'}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
    assert len(bad.stderr.strip().splitlines()) == 1
