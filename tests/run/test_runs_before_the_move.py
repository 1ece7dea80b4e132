"""Run directories written before the datamodules moved (``tests/fixtures``, made by
dlzoo 0.1.0 with ``experiment=digits_cnn`` / ``sunspots_gru``, one epoch, seed 7)
are evaluated, predicted from, exported, resumed and transferred from by today's code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlzoo.config.compose import compose_config
from dlzoo.run.evaluate import evaluate
from dlzoo.run.export import export
from dlzoo.run.pipeline import train
from dlzoo.run.predict import predict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs_before_the_move"


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "logs")
    return tmp_path / "logs"


def _run(logs: Path, task: str) -> Path:
    (run_dir,) = (logs / task / "runs").iterdir()
    return run_dir


@pytest.mark.parametrize("task", ["digits_cnn", "sunspots_gru"])
def test_an_old_run_evaluates_to_its_own_metrics(logs: Path, task: str) -> None:
    run_dir = _run(logs, task)
    got = json.loads(evaluate(run_dir).read_text())
    want = json.loads((run_dir / "metrics.json").read_text())
    assert got["test"] == pytest.approx(want["test"], rel=1e-5)
    assert got["val"] == pytest.approx(want["val"], rel=1e-5)


def test_an_old_run_predicts_and_exports(logs: Path, tmp_path: Path) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    run_dir = _run(logs, "digits_cnn")
    images = tmp_path / "images"
    images.mkdir()
    for i, image in enumerate(load_digits().images[:5]):
        Image.fromarray(np.round(image * 255 / 16).astype(np.uint8)).save(images / f"{i}.png")
    out = predict(run_dir, images, tmp_path / "out.csv")
    assert out["rows"] == 5
    assert np.allclose(out["predictions"].sum(dim=1).numpy(), 1.0, atol=1e-5)
    assert export(run_dir, "torchscript", tmp_path / "model.pt")["max_abs_diff"] <= 1e-4


def test_an_old_run_resumes_from_its_last_checkpoint(logs: Path) -> None:
    run_dir = _run(logs, "digits_cnn")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = ["experiment=digits_cnn", "resume=true", f"paths.log_dir={logs}"]
    proc = subprocess.run(
        [sys.executable, "-m", "dlzoo.cli.train", *command, "trainer.max_epochs=2"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and list((logs / "digits_cnn" / "runs").iterdir()) == [run_dir]


def test_an_old_run_serves_init_from(logs: Path, tmp_path: Path) -> None:
    source = _run(logs, "digits_cnn")
    cfg = compose_config(
        [
            "experiment=digits_cnn",
            f"init_from={source}",
            "transfer.freeze=all",
            "trainer.max_epochs=1",
            "logger=none",
            f"paths.log_dir={tmp_path / 'new'}",
        ]
    )
    train(cfg)
    metrics = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())
    assert metrics["test"]["test/acc"] > metrics["test"]["test/baseline_majority_acc"]
