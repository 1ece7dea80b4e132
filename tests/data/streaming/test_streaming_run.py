"""experiment=mnist_streaming end to end: the shards written on first use, a short
training run through the pipeline, then dlzoo-eval (from the shards) and
dlzoo-predict (from the checkpoint alone, with the shards gone)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dlzoo.data.image.packaged import MNISTDataModule
from dlzoo.run.evaluate import evaluate
from dlzoo.run.pipeline import train
from dlzoo.run.predict import predict


def test_mnist_streaming_trains_evaluates_and_predicts(make_cfg, tmp_path: Path) -> None:
    limits = ["trainer.limit_train_batches=2", "trainer.limit_val_batches=1"]
    cfg = make_cfg("experiment=mnist_streaming", "trainer.max_epochs=1", *limits,
                   "trainer.limit_test_batches=1")  # fmt: skip
    train(cfg)
    run = Path(cfg.paths.output_dir)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"] == "mnist" and metrics["global_steps"] == 2
    (cache,) = (tmp_path / "data" / "shards" / "mnist").iterdir()  # one source config
    index = json.loads((cache / "index.json").read_text())
    assert {s: index["splits"][s]["samples"] for s in index["splits"]} == {
        "train": 3500, "val": 750, "test": 750,
    }  # fmt: skip
    # the majority baseline from the streamed labels alone, as the in-memory split's
    ref = MNISTDataModule(seed=int(cfg.seed))
    ref.setup()
    (_, y_train), (_, y_test) = ref.labelled("train"), ref.labelled("test")
    majority = (y_test == torch.bincount(y_train).argmax()).float().mean().item()
    assert metrics["test"]["test/baseline_majority_acc"] == pytest.approx(majority)
    assert "test/baseline_logreg_acc" not in metrics["test"]  # the inputs stay on disk
    # dlzoo-eval sets the data up from the shards again: the same test batch, the same score
    scores = json.loads(evaluate(run).read_text())
    assert scores["test"]["test/acc"] == metrics["test"]["test/acc"]
    # dlzoo-predict needs the checkpoint only: the MNIST reader with the streamed fit
    digit = (ref.denormalize(ref.tensors["test"][0][:1])[0, 0].numpy() * 255).round()
    Image.fromarray(digit.astype(np.uint8)).save(tmp_path / "digit.png")
    shutil.rmtree(cache)
    out = predict(run, tmp_path / "digit.png")
    assert out["rows"] == 1 and out["predictions"].shape[0] == 1
    state = torch.load(metrics["best_ckpt_path"], weights_only=True)["StreamingDataModule"]
    np.testing.assert_allclose(state["fitted"]["scaler"]["offset"], ref.mean.numpy(), rtol=1e-6)
