"""How good is a learned representation? A linear probe and k-means on frozen features.

For a net trained without labels (an autoencoder, a siamese net, a JEPA) the labels of
the wrapped image data are still there for evaluation: logistic regression on the
frozen features of the training split scored on test, and k-means purity / NMI of the
test features, each beside the same on the raw inputs; the probe also beside the same
net untrained (every layer re-initialised), which says how much of the probe's score the
training earned and how much the architecture alone gives.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlzoo.errors import ConfigError
from dlzoo.run.baselines import logreg_accuracy, majority_accuracy
from dlzoo.tasks.embedding import embed_all, labelled_split


def cluster_purity(labels: np.ndarray, clusters: np.ndarray) -> float:
    """The share of samples whose cluster's most frequent label is their own.

    Shapes:
        labels, clusters: (N,) ints
    """
    total = 0
    for cluster in np.unique(clusters):
        total += np.bincount(labels[clusters == cluster]).max()
    return float(total / len(labels))


def kmeans_scores(features: np.ndarray, labels: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """``(adjusted Rand index, purity)`` of k-means with one cluster per label.

    Shapes:
        features: (N, D); labels: (N,)
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    k = len(np.unique(labels))
    clusters = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(features)
    return float(adjusted_rand_score(labels, clusters)), cluster_purity(labels, clusters)


def _standardised(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std == 0] = 1.0
    return (train - mean) / std, (test - mean) / std


@contextmanager
def untrained(task: torch.nn.Module, seed: int = 0) -> Iterator[None]:
    """Inside the block, ``task`` with every layer's ``reset_parameters`` called (a
    seeded fresh initialisation); its trained weights are back after it. The global
    random state is left as it was."""
    kept = {k: v.detach().clone() for k, v in task.state_dict().items()}
    try:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            for module in task.modules():
                reset = getattr(module, "reset_parameters", None)
                if callable(reset):
                    reset()
        yield
    finally:
        task.load_state_dict(kept)


def probe_metrics(task: Any, datamodule: Any, seed: int = 0) -> dict[str, float]:
    """The linear probe and k-means on ``task.embed`` and on the pixels (module doc).

    Returns:
        ``{}`` when the datamodule has no labelled train and test split.
    """
    train, test = labelled_split(datamodule, "train"), labelled_split(datamodule, "test")
    if train is None or test is None:
        return {}
    (x_train, y_train), (x_test, y_test) = train, test
    y_train, y_test = y_train.cpu().numpy(), y_test.cpu().numpy()
    embedded = embed_all(task, x_train), embed_all(task, x_test)
    with untrained(task, seed):
        at_init = embed_all(task, x_train), embed_all(task, x_test)
    pixels = (
        x_train.reshape(len(x_train), -1).float().cpu().numpy(),
        x_test.reshape(len(x_test), -1).float().cpu().numpy(),
    )
    out = {"test/baseline_majority_acc": majority_accuracy(y_train, y_test)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant features in sklearn
        if len(np.unique(y_train)) > 1:
            # both standardised alike: the same regression, the same regularisation
            probes = (
                ("probe", _standardised(*embedded)),
                ("baseline_untrained_probe", _standardised(*at_init)),
                ("baseline_logreg", _standardised(*pixels)),
            )
            for key, (train_x, test_x) in probes:
                out[f"test/{key}_acc"] = logreg_accuracy(train_x, y_train, test_x, y_test, seed)
        if len(np.unique(y_test)) > 1:
            # k-means on the features as they are: standardising would weigh a
            # near-constant feature (a border pixel) as much as an informative one
            for prefix, (_, test_x) in (("", embedded), ("baseline_", pixels)):
                ari, purity = kmeans_scores(test_x, y_test, seed)
                out[f"test/{prefix}kmeans_ari"] = ari
                out[f"test/{prefix}kmeans_purity"] = purity
    return out


def representation_metrics(task: Any, datamodule: Any, seed: int = 0) -> dict[str, float]:
    """:func:`probe_metrics` for a task that is not a classifier; ``{}`` for one
    (a classifier's result has its own baselines; ``dlzoo-probe`` probes it on request)."""
    from dlzoo.tasks.classification import ClassificationTask

    if isinstance(task, ClassificationTask):
        return {}
    return probe_metrics(task, datamodule, seed)


def probe_run(run_dir: str | Path, ckpt_path: str | Path | None = None) -> dict[str, float]:
    """:func:`probe_metrics` of the run in ``run_dir``; written to ``run_dir/probe.json``.

    Raises:
        ConfigError, DataError: a bad run directory or checkpoint.
    """
    from dlzoo.run.artefacts import write_json_atomic
    from dlzoo.run.rebuild import rebuild

    run = rebuild(run_dir, ckpt_path or None, setup_data=True, trainer=False)
    out = probe_metrics(run.task, run.datamodule, int(run.cfg.get("seed") or 0))
    if not out:
        raise ConfigError(f"run {run_dir} has no labelled train and test split to probe")
    write_json_atomic(Path(run_dir) / "probe.json", out)
    return out
