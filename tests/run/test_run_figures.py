"""Every run leaves its figures as PNG files: the learning curves and each modality's
figure, drawn once for the best checkpoint, with or without TensorBoard, and an MLflow
logger gets them as artifacts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from dlzoo.run.pipeline import train

FAST = ("trainer.max_epochs=2", "trainer.limit_train_batches=2", "trainer.limit_val_batches=2")
FAST += ("trainer.limit_test_batches=2", "trainer.accelerator=cpu", "trainer.devices=1")


def figures(cfg) -> dict[str, Path]:
    """Name -> path of the run's ``figures/*.png``."""
    return {p.stem: p for p in (Path(cfg.paths.output_dir) / "figures").glob("*.png")}


def assert_picture(path: Path) -> None:
    """A real PNG: an RGB image of some size, not one colour all over."""
    pixels = imread(path)
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4), pixels.shape
    assert min(pixels.shape[:2]) > 100
    assert len(np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0)) > 10


def test_a_classification_run_draws_its_curves_and_confusion_matrix(make_cfg) -> None:
    # no TensorBoard: the figures are drawn for figures/ alone; every_n_epochs also
    # draws during fit, which must not reach figures/ (written once, at the end)
    every = "callbacks.confusion_matrix.every_n_epochs=1"
    cfg = make_cfg("experiment=digits_cnn", *FAST, "logger=none", every)
    train(cfg)
    found = figures(cfg)
    assert set(found) == {"learning_curves", "confusion_matrix"}
    for path in found.values():
        assert_picture(path)
    history = Path(cfg.paths.output_dir) / "history.csv"
    assert found["confusion_matrix"].stat().st_mtime >= history.stat().st_mtime


@pytest.mark.parametrize(
    ("experiment", "callbacks", "expected"),
    [
        ("sunspots_gru", "default", {"learning_curves", "forecast"}),
        ("mnist_autoencoder", "latent", {"learning_curves", "reconstructions", "latent_scatter"}),
        ("karate_gcn", "graph", {"learning_curves", "graph", "confusion_matrix"}),
    ],
)
def test_each_modality_leaves_its_figure(make_cfg, experiment, callbacks, expected) -> None:
    cfg = make_cfg(f"experiment={experiment}", f"callbacks={callbacks}", *FAST)
    train(cfg)
    found = figures(cfg)
    assert expected <= set(found)
    for name in expected:
        assert_picture(found[name])


def test_a_run_without_training_has_no_learning_curves(make_cfg) -> None:
    cfg = make_cfg("experiment=sunspots_naive", *FAST)  # nothing to fit: scored as it is
    train(cfg)
    assert set(figures(cfg)) == {"forecast"}


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="mlflow not installed")
def test_mlflow_gets_the_figures_as_artifacts(make_cfg, tmp_path: Path) -> None:
    cfg = make_cfg("experiment=digits_mlp", *FAST, "logger=mlflow")
    train(cfg)
    logged = {p.name for p in (tmp_path / "mlartifacts").rglob("figures/*.png")}
    assert (
        logged
        == {"learning_curves.png", "confusion_matrix.png"}
        == {p.name for p in figures(cfg).values()}
    )
