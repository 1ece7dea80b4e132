"""Graph runs end to end: PyG stays out of other runs, dlzoo-predict on node and graph runs."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dlzoo.data.graph.karate import KarateDataModule
from dlzoo.data.graph.tu import grakel_mutag_folder
from dlzoo.run.pipeline import train
from dlzoo.run.predict import predict
from dlzoo.run.rebuild import rebuild

FAST = ("debug=limit", "logger=none")


def test_import_and_a_non_graph_run_never_load_torch_geometric(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import dlzoo, dlzoo.models, dlzoo.data, dlzoo.run.pipeline, dlzoo.tasks.classification\n"
        "from dlzoo.config.compose import compose_config\n"
        "from dlzoo.run.pipeline import train\n"
        f"train(compose_config(['debug=fast', 'logger=none'], {str(tmp_path / 'run')!r}))\n"
        "assert 'torch_geometric' not in sys.modules, 'torch_geometric was imported'\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "run" / "metrics.json").is_file()


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def _write_karate_folder(folder: Path, data) -> None:
    """The karate club as dlzoo-predict reads a graph: nodes.csv and edges.csv."""
    folder.mkdir()
    header = ["id", *(f"f{j}" for j in range(data.x.shape[1]))]
    nodes = [header] + [[f"m{i}", *map(str, row.tolist())] for i, row in enumerate(data.x)]
    edges = [["source", "target"]] + [[f"m{s}", f"m{t}"] for s, t in data.edge_index.T.tolist()]
    for name, rows in (("nodes.csv", nodes), ("edges.csv", edges)):
        with open(folder / name, "w", newline="") as f:
            csv.writer(f).writerows(rows)


def test_predict_on_a_node_run_gives_every_node_the_model_in_memory(make_cfg, tmp_path):
    cfg = make_cfg("experiment=karate_gcn", *FAST)
    train(cfg)
    run = rebuild(cfg.paths.output_dir, trainer=False)
    club = KarateDataModule(seed=0)
    club.setup("fit")
    data = club.data
    _write_karate_folder(tmp_path / "club", data)
    out = predict(cfg.paths.output_dir, tmp_path / "club")
    rows = _rows(out["path"])
    assert rows[0][:2] == ["input", "class"] and len(rows) == 1 + 34
    assert [r[0] for r in rows[1:]] == [f"m{i}" for i in range(34)]
    run.task.eval()
    with torch.no_grad():
        expected = run.task.infer(data)  # (34, 4)
    got = np.array([[float(v) for v in r[2:]] for r in rows[1:]])
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-5)


def test_predict_on_a_graph_run_in_a_fresh_process_gives_one_row_per_graph(make_cfg, tmp_path):
    cfg = make_cfg("experiment=mutag_gin", "cv.folds=1", *FAST)
    train(cfg)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out_csv = tmp_path / "mutag.csv"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dlzoo.cli.predict",
            f"run_dir={cfg.paths.output_dir}",
            f"input={grakel_mutag_folder()}",
            f"output={out_csv}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = _rows(out_csv)
    assert rows[0] == ["input", "class", "p_-1", "p_1"] and len(rows) == 1 + 188
    in_memory = predict(cfg.paths.output_dir, grakel_mutag_folder(), tmp_path / "again.csv")
    got = np.array([[float(v) for v in r[2:]] for r in rows[1:]])
    np.testing.assert_allclose(got, in_memory["predictions"].numpy(), atol=1e-5)
    assert {r[1] for r in rows[1:]} <= {"-1", "1"}


@pytest.mark.parametrize("experiment", ["karate_gcn", "mutag_gin"])
def test_graph_runs_report_the_edge_free_baselines(make_cfg, experiment):
    cfg = make_cfg(f"experiment={experiment}", "cv.folds=1", *FAST)
    train(cfg)
    test = json.loads((Path(cfg.paths.output_dir) / "metrics.json").read_text())["test"]
    # logistic regression on node features (node level) or on their mean and sum per graph
    assert {"test/baseline_majority_acc", "test/baseline_logreg_acc"} <= set(test)
