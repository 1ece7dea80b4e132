"""dlzoo.fit / dlzoo.load, a notebook's entry: a new run directory per call, the
command line's metrics, history.csv, and predict with dlzoo-predict's numbers; a run
directory that holds another run is refused, from Python and from the command line;
dlzoo.compare tables results beside their baselines; dlzoo.datamodule is a run's data."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

import dlzoo
from dlzoo.config.compose import compose_config
from dlzoo.errors import ConfigError, DataError
from dlzoo.run.notebook import command_line
from dlzoo.run.pipeline import train
from dlzoo.run.predict import predict

REPO = Path(__file__).resolve().parents[2]
FAST = ("debug=limit", "logger=none")


def fit(tmp_path: Path, *args: str, **values) -> dlzoo.Result:
    """``dlzoo.fit`` with every run under ``tmp_path``."""
    return dlzoo.fit(*args, *FAST, paths={"log_dir": str(tmp_path / "logs")}, **values)


def cli(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "train.py"), *overrides],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def csv_numbers(path: Path) -> np.ndarray:
    """The numbers of a dlzoo-predict CSV (the columns after ``input`` and the class or
    step)."""
    with open(path, newline="") as f:
        return np.array([[float(v) for v in row[2:]] for row in list(csv.reader(f))[1:]])


def same_as_dlzoo_predict(result: dlzoo.Result, raw, path: Path, tmp_path: Path) -> None:
    """``result.predict(raw)`` gives what dlzoo-predict gives for the file ``path``, and
    so does the run loaded again from its directory."""
    out = predict(result.run_dir, path, tmp_path / "predicted.csv")
    got = result.predict(raw)
    torch.testing.assert_close(got, out["predictions"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        csv_numbers(out["path"]), got.reshape(len(csv_numbers(out["path"])), -1), rtol=1e-5
    )
    assert torch.equal(dlzoo.load(result.run_dir).predict(raw), got)


def test_keywords_are_overrides_as_the_command_line_writes_them() -> None:
    line = command_line(
        "digits_cnn",
        ["model.dropout=0.2"],
        {"seed": 0, "trainer": {"max_epochs": 3, "fast_dev_run": False}, "ckpt_path": None,
         "model": {"channels": [8, 16]}, "tags": ["a b", "c"]},
    )  # fmt: skip
    assert line == [
        "experiment=digits_cnn",
        "model.dropout=0.2",
        "seed=0",
        "trainer.max_epochs=3",
        "trainer.fast_dev_run=false",
        "ckpt_path=null",
        "model.channels=[8,16]",
        "tags=['a b',c]",
    ]


def test_fit_twice_gives_two_runs_with_their_configs_and_the_command_lines_metrics(
    tmp_path: Path,
) -> None:
    first = fit(tmp_path, "digits_cnn", "model.dropout=0.2", seed=0)
    second = fit(tmp_path, "digits_mlp", seed=1)
    assert first.run_dir != second.run_dir
    assert first.run_dir.parent == tmp_path / "logs" / "digits_cnn" / "runs"
    config = OmegaConf.load(first.run_dir / ".hydra" / "config.yaml")
    assert config.seed == 0 and config.model.dropout == 0.2 and config.task_name == "digits_cnn"
    config = OmegaConf.load(second.run_dir / ".hydra" / "config.yaml")
    assert config.seed == 1 and config.task_name == "digits_mlp"
    # the same metrics as the command line with the same overrides and seed
    proc = cli(tmp_path, "experiment=digits_cnn", "model.dropout=0.2", *FAST, "seed=0",
               f"paths.log_dir={tmp_path / 'cli'}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    cli_dir = Path(re.search(r"run directory: (\S+)", proc.stdout).group(1))
    on_cli = json.loads((cli_dir / "metrics.json").read_text())
    assert first.val == pytest.approx(on_cli["val"], rel=1e-4)
    assert first.test == pytest.approx(on_cli["test"], rel=1e-4)
    # history.csv: a row per epoch, every logged epoch metric
    history = first.history
    assert list(history["epoch"]) == [1, 2] == list(range(1, first.metrics["epochs"] + 1))
    assert {"step", "lr", "train/loss", "train/acc", "val/loss", "val/acc"} <= set(history)
    best = history.set_index("epoch").loc[first.metrics["best_epoch"]]
    assert best["val/acc"] == pytest.approx(first.val["val/acc"])
    assert not first.net.training and not first.task.training
    fig = first.plot()
    assert [ax.get_title() for ax in fig.axes] == ["loss", "acc"]


def test_predict_images_in_the_datas_own_units_as_dlzoo_predict(tmp_path: Path) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    result = fit(tmp_path, "digits_cnn")
    # 0 or 16 only: an 8-bit PNG holds them exactly (0 or 255), so file and array agree
    digits = np.where(load_digits().images[:6] > 8, 16.0, 0.0)
    (tmp_path / "png").mkdir()
    for i, image in enumerate(digits):
        Image.fromarray((image / 16 * 255).astype(np.uint8)).save(tmp_path / "png" / f"{i}.png")
    for raw in (digits, torch.tensor(digits)[:, None], str(tmp_path / "png"), tmp_path / "png"):
        same_as_dlzoo_predict(result, raw, tmp_path / "png", tmp_path)
    assert result.predict(digits).shape == (6, 10)
    with pytest.raises(DataError, match=r"shape \(6, 1, 8, 9\): give images of shape \(N, 8, 8\)"):
        result.predict(np.zeros((6, 8, 9)))


def test_predict_a_series_from_its_last_values_as_dlzoo_predict(tmp_path: Path) -> None:
    result = fit(tmp_path, "sunspots_linear")
    data = result.datamodule
    values = 80 + 60 * np.sin(np.arange(data.window + 4)[:, None] / 2.0)  # raw units
    with open(tmp_path / "series.csv", "w", newline="") as f:
        csv.writer(f).writerows([data.columns, *(map(repr, row) for row in values.tolist())])
    same_as_dlzoo_predict(result, values, tmp_path / "series.csv", tmp_path)
    assert torch.equal(result.predict(values[:, 0]), result.predict(values))
    assert result.predict(values).shape == (1, data.horizon, 1)


def test_predict_strings_as_dlzoo_predict_a_text_file(tmp_path: Path) -> None:
    words = {"sport": "goal match team league", "tech": "chip phone software network"}
    for topic, vocabulary in words.items():
        (tmp_path / "corpus" / topic).mkdir(parents=True)
        for i in range(20):
            picked = [vocabulary.split()[(i + k) % 4] for k in range(3 + i % 3)]
            (tmp_path / "corpus" / topic / f"{i}.txt").write_text(" and ".join(picked))
    result = fit(tmp_path, "bbc_bag", "data=text_folder", f"data.root={tmp_path / 'corpus'}",
                 "data.batch_size=8", "data.tokenizer.min_frequency=1")  # fmt: skip
    texts = ["the team scored a goal", "a new phone chip"]
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n")
    same_as_dlzoo_predict(result, texts, tmp_path / "texts.txt", tmp_path)
    same_as_dlzoo_predict(result, str(tmp_path / "texts.txt"), tmp_path / "texts.txt", tmp_path)
    assert torch.equal(result.predict(texts[0]), result.predict(texts)[:1])


def test_predict_graphs_as_dlzoo_predict(tmp_path: Path) -> None:
    from dlzoo.data.graph.tu import grakel_mutag_folder

    result = fit(tmp_path, "mutag_gin", "cv.folds=1")
    same_as_dlzoo_predict(result, grakel_mutag_folder(), grakel_mutag_folder(), tmp_path)
    with pytest.raises(DataError, match="predicts from files only"):
        result.predict(np.zeros((3, 4)))


def test_a_directory_that_holds_another_run_is_refused_unless_resumed(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    logs = f"paths.log_dir={tmp_path / 'logs'}"
    train(compose_config([logs, *FAST], run_dir))
    metrics = (run_dir / "metrics.json").read_text()
    refused = rf"run directory {re.escape(str(run_dir))} holds another run \(.*seed=42, this run seed=1\).*resume=true"  # noqa: E501
    with pytest.raises(ConfigError, match=refused):
        train(compose_config([logs, *FAST, "seed=1"], run_dir))
    assert (run_dir / "metrics.json").read_text() == metrics  # nothing was touched
    # the command line: one line, exit 2, the run's config left as it was
    config = (run_dir / ".hydra" / "config.yaml").read_text()
    proc = cli(tmp_path, logs, *FAST, "seed=1", f"hydra.run.dir={run_dir}")
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert re.search(refused, line) and "Traceback" not in proc.stderr
    assert (run_dir / ".hydra" / "config.yaml").read_text() == config
    # resume=true continues it there, with its own new settings, from Python and the CLI
    last = run_dir / "checkpoints" / "last.ckpt"
    train(compose_config([logs, *FAST, "trainer.max_epochs=3", "resume=true",
                          f"ckpt_path={last}"], run_dir))  # fmt: skip
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 3
    proc = cli(tmp_path, logs, *FAST, "trainer.max_epochs=4", "resume=true",
               f"hydra.run.dir={run_dir}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 4


def test_importing_dlzoo_stays_light_and_fit_load_result_load_on_use(tmp_path: Path) -> None:
    code = (
        "import sys, dlzoo\n"
        "assert not {'torch', 'lightning', 'pandas'} & set(sys.modules), sorted(sys.modules)\n"
        "assert {'fit', 'load', 'Result', 'compare', 'datamodule'} <= set(dir(dlzoo))\n"
        "assert dlzoo.load is dlzoo.run.result.load and callable(dlzoo.fit)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")})  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]


def fake_run(path: Path, metrics: dict) -> dlzoo.Result:
    """A run directory with a config and ``metrics.json`` only: what compare reads."""
    (path / ".hydra").mkdir(parents=True)
    OmegaConf.save(
        OmegaConf.create({"paths": {"output_dir": str(path)}}), path / ".hydra" / "config.yaml"
    )
    (path / "metrics.json").write_text(json.dumps(metrics))
    return dlzoo.load(path)


def test_compare_puts_each_run_beside_its_baselines_validation_first(tmp_path: Path) -> None:
    baselines = {"test/baseline_majority_acc": 0.1, "test/baseline_logreg_acc": 0.95}
    mlp = fake_run(tmp_path / "mlp", {
        "optimized_metric": "val/acc", "optimized_value": 0.97, "best_epoch": 9, "epochs": 10,
        "fit_seconds": 1.5, "test": {"test/acc": 0.96, "test/loss": 0.2, **baselines},
    })  # fmt: skip
    gin = fake_run(tmp_path / "gin", {
        "optimized_metric": "val/loss", "optimized_value": 0.4, "cv_folds": 3,
        "test": {"test/acc": 0.8, "test/f1": 0.7, "test/baseline_logreg_acc": 0.86},
        "test_std": {"test/acc": 0.05, "test/f1": 0.1, "test/baseline_logreg_acc": 0.02},
    })  # fmt: skip
    table = dlzoo.compare({"mlp": mlp, "gin": gin})
    assert list(table.index) == ["mlp", "gin"]
    # the given order, even where the runs' columns differ (pandas would sort them)
    assert list(dlzoo.compare({"b": mlp, "c": gin, "a": mlp}).index) == ["b", "c", "a"]
    assert list(table.columns) == [
        "val/acc", "val/loss", "test/acc", "test/f1", "test/acc std", "test/f1 std",
        "baseline majority_acc", "baseline logreg_acc", "baseline logreg_acc std",
        "best_epoch", "epochs", "fit_s", "folds",
    ]  # fmt: skip
    assert table.loc["mlp", "test/acc"] == 0.96 and table.loc["mlp", "baseline logreg_acc"] == 0.95
    assert table.loc["gin", "val/loss"] == 0.4 and np.isnan(table.loc["gin", "val/acc"])
    assert table.loc["gin", "test/acc std"] == 0.05 and np.isnan(table.loc["mlp", "test/f1"])
    # chosen metrics only; a list is labelled by the run directories' names
    table = dlzoo.compare([mlp, gin], metrics=["loss"])
    assert list(table.index) == ["mlp", "gin"] and "test/acc" not in table
    assert table["test/loss"].tolist()[0] == 0.2 and np.isnan(table["test/loss"].tolist()[1])


def test_datamodule_is_the_runs_data_set_up_without_a_run(tmp_path: Path) -> None:
    data = dlzoo.datamodule("digits_cnn", "data.batch_size=16", seed=0,
                            paths={"log_dir": str(tmp_path / "logs")})  # fmt: skip
    x, y = next(iter(data.train_dataloader()))
    assert x.shape == (16, 1, 8, 8) and y.shape == (16,)
    result = fit(tmp_path, "digits_cnn", "data.batch_size=16", seed=0)
    split = np.load(result.run_dir / "split.npz")
    assert np.array_equal(split["train"], data.split_indices["train"])
    assert np.array_equal(split["mean"], data.mean)  # fitted on the same training images
    # the datamodule wrote no run of its own
    assert list(result.run_dir.parent.iterdir()) == [result.run_dir]
    with pytest.raises(ConfigError, match="data has no 'nope'"):
        dlzoo.datamodule("digits_cnn", "data.nope=1")
