"""The bad-input catalogue: every kind of mistake a user makes, through the command
line, gives exit status 2, exactly one ``error:`` line that names the problem and the
fix, no traceback, no ``metrics.json`` and no run directory left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
OFFLINE = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}


def cli(module: str, args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "DLZOO_LOG_DIR": str(tmp_path / "logs"),
        "DLZOO_DATA_DIR": str(tmp_path / "data"),
        "OMP_NUM_THREADS": "1",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short digits_cnn run to point checkpoints, resume and predict at."""
    root = tmp_path_factory.mktemp("trained")
    proc = cli("dlzoo.cli.train", ["debug=limit", "logger=none"], root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run,) = (root / "logs" / "digits_cnn" / "runs").iterdir()
    return run


def _files(tmp_path: Path) -> dict[str, Path]:
    """The broken inputs the cases below point at."""
    from PIL import Image

    one_class = tmp_path / "one_class" / "cats"
    one_class.mkdir(parents=True)
    for i in range(20):
        Image.fromarray(np.full((8, 8), 10 * i, np.uint8)).save(one_class / f"{i}.png")
    broken = tmp_path / "broken"
    for name in ("a", "b"):
        (broken / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((8, 8), 50 * i, np.uint8)).save(broken / name / f"{i}.png")
    (broken / "a" / "bad.png").write_bytes(b"not a png")
    series = tmp_path / "series.csv"
    values = "\n".join(f"{t},{v}" for t, v in enumerate(np.sin(np.arange(80) / 5)))
    series.write_text(f"t,value\n{values}\n")
    nan_series = tmp_path / "nan.csv"
    nan_series.write_text(f"t,value\n{values}\n80,\n81,0.5\n")
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"\x00" * 100)
    return {
        **_text_files(tmp_path),
        **_graph_files(tmp_path),
        **{
            "one_class": one_class.parent,
            "broken": broken,
            "series": series,
            "nan": nan_series,
            "garbage": garbage,
        },
    }


def _text_files(tmp_path: Path) -> dict[str, Path]:
    """Broken text corpora: empty, a cp1252 file, a label unseen in training, a CSV
    without the text column."""
    empty = tmp_path / "empty_texts"
    for name in ("a", "b"):
        (empty / name).mkdir(parents=True)
    latin = tmp_path / "latin_texts"
    for name in ("a", "b"):
        (latin / name).mkdir(parents=True)
        for i in range(10):
            (latin / name / f"{i}.txt").write_text(f"{name} news number {i}")
    (latin / "b" / "pound.txt").write_bytes("a \u00a315 fee".encode("cp1252"))
    rows = [f"{c} story {i},{c},train" for i in range(8) for c in "ab"]
    rows += ["a story,a,val", "b story,b,val", "a story,a,test", "c story,c,test"]
    unseen = tmp_path / "unseen.csv"
    unseen.write_text("text,label,split\n" + "\n".join(rows) + "\n")
    no_text = tmp_path / "no_text.csv"
    no_text.write_text("body,label\n" + "\n".join(f"x {i},{i % 2}" for i in range(20)) + "\n")
    return {"empty_texts": empty, "latin_texts": latin, "unseen": unseen, "no_text": no_text}


def _graph_files(tmp_path: Path) -> dict[str, Path]:
    """Broken graphs: an edge to an unknown node, an edge index past the last node row,
    and a TU folder without its graph labels."""
    import shutil

    from graph_files import write_graph

    from dlzoo.data.graph.tu import grakel_mutag_folder

    nodes, edges = write_graph(tmp_path / "graph")
    unknown = tmp_path / "unknown_edges.csv"
    unknown.write_text(edges.read_text() + "n3,ghost\n")
    by_row = tmp_path / "by_row_edges.csv"
    by_row.write_text("source,target\n0,1\n1,99\n")
    tu = tmp_path / "tu" / "MUTAG"
    shutil.copytree(grakel_mutag_folder(), tu)
    (tu / "MUTAG_graph_labels.txt").unlink()
    return {"nodes": nodes, "unknown_edges": unknown, "by_row_edges": by_row, "tu": tu.parent}


GRAPH_CSV = ["experiment=karate_gcn", "data=graph_csv", "data.nodes={nodes}"]

# (id, entry point, arguments, words the error line must contain); {name} is filled in
CASES = [
    (
        "unknown-key",
        "train",
        ["experiment=digits_mlp", "model.hidden_size=64"],
        ["unknown key 'model.hidden_size'", "hidden_sizes"],
    ),
    (
        "unknown-top-level-key",
        "train",
        ["nope.x=1"],
        ["unknown key 'nope.x': the root config has no 'nope'", "optimizer"],
    ),
    (
        "unknown-group-option",
        "train",
        ["model=cnnn"],
        ["unknown model option 'cnnn'", "resnet_small"],
    ),
    (
        "unknown-experiment",
        "train",
        ["experiment=digits_cnnn"],
        ["unknown experiment option 'digits_cnnn'", "mnist_cnn"],
    ),
    (
        "override-syntax",
        "train",
        ["optimizer.lr=1e-3", "model.dropout=[0.1"],
        ["cannot parse the override 'model.dropout=[0.1'", "brackets"],
    ),
    (
        "incompatible-net-data",
        "train",
        ["data=sunspots", "task=forecast", "optimized_metric=val/mase", "optimized_mode=min"],
        ["model 'cnn' does not fit data 'sunspots'", "in_channels"],
    ),
    (
        "batch-larger-than-train",
        "train",
        ["data.batch_size=5000"],
        ["data.batch_size=5000 is larger than the training split", "1258 samples"],
    ),
    (
        "labels-out-of-range",
        "train",
        ["+task.num_classes=3"],
        ["task sets num_classes=3 but data 'digits' has num_classes=10"],
    ),
    (
        "nan-in-series",
        "train",
        [
            "experiment=sunspots_gru",
            "data=series_csv",
            "data.path={nan}",
            "data.value_columns=[value]",
            "data.time_column=t",
        ],
        ["missing value", "impute"],
    ),
    (
        "csv-without-column",
        "train",
        [
            "experiment=sunspots_gru",
            "data=series_csv",
            "data.path={series}",
            "data.value_columns=[level]",
        ],
        ["level"],
    ),
    ("dataset-missing-offline", "train", ["data=fashion_mnist"], ["fashion"]),
    (
        "one-class-folder",
        "train",
        [
            "data=image_folder",
            "data.root={one_class}",
            "data.image_size=8",
            "data.grayscale=true",
            "data.batch_size=8",
        ],
        ["at least 2 classes"],
    ),
    (
        "unreadable-image",
        "train",
        ["data=image_folder", "data.root={broken}", "data.image_size=8", "data.grayscale=true"],
        ["cannot read image", "bad.png"],
    ),
    ("bad-optimizer-value", "train", ["optimizer.lr=abc"], ["optimizer.lr='abc'"]),
    ("endless-epochs", "train", ["trainer.max_epochs=-1"], ["trainer.max_epochs=-1"]),
    ("missing-checkpoint", "train", ["ckpt_path={name}/nope.ckpt"], ["does not exist"]),
    ("corrupt-checkpoint", "train", ["ckpt_path={garbage}"], ["cannot be read"]),
    (
        "checkpoint-of-another-net",
        "train",
        ["experiment=sunspots_gru", "ckpt_path={run}/checkpoints/last.ckpt"],
        ["holds a 'cnn' net that does not fit", "'gru'"],
    ),
    (
        "nothing-to-resume",
        "train",
        ["experiment=motions_gru", "resume=true"],
        ["no run of task 'motions_gru'", "last.ckpt"],
    ),
    (
        "unwritable-log-dir",
        "train",
        ["paths.log_dir=/proc/dlzoo"],
        ["cannot write to the log directory /proc/dlzoo"],
    ),
    (
        "empty-corpus",
        "train",
        ["experiment=bbc_bag", "data=text_folder", "data.root={empty_texts}"],
        ["empty_texts"],
    ),
    (
        "text-not-utf8",
        "train",
        ["experiment=bbc_bag", "data=text_folder", "data.root={latin_texts}"],
        ["pound.txt", "data.encoding_fallback=cp1252"],
    ),
    (
        "text-label-unseen-in-train",
        "train",
        ["experiment=bbc_bag", "data=text_csv", "data.path={unseen}", "data.split_column=split"],
        ["'c'"],
    ),
    (
        "text-column-missing",
        "train",
        ["experiment=bbc_bag", "data=text_csv", "data.path={no_text}"],
        ["'text'", "body"],
    ),
    (
        "graph-edge-to-unknown-node",
        "train",
        [*GRAPH_CSV, "data.edges={unknown_edges}"],
        ["ghost", "unknown_edges.csv"],
    ),
    (
        "graph-edge-index-out-of-range",
        "train",
        [
            *GRAPH_CSV,
            "data.edges={by_row_edges}",
            "data.id_column=null",
            "data.feature_columns=[f1,f2]",
        ],
        ["99", "by_row_edges.csv"],
    ),
    (
        "graph-feature-column-missing",
        "train",
        [*GRAPH_CSV, "data.edges={by_row_edges}", "data.feature_columns=[f9]"],
        ["f9", "nodes.csv"],
    ),
    (
        "tu-folder-missing-a-file",
        "train",
        ["experiment=mutag_gin", "data=tu", "data.root={tu}", "data.name=MUTAG"],
        ["MUTAG_graph_labels.txt"],
    ),
    ("cora-offline", "train", ["experiment=cora_gcn"], ["Cora", "ind.cora"]),
    (
        "node-task-on-graph-level-data",
        "train",
        ["experiment=mutag_gin", "task=node_classification", "cv.folds=1"],
        ["task=classification"],
    ),
    ("graph-net-on-images", "train", ["model=gcn"], ["model 'gcn' does not fit data 'digits'"]),
    (
        "cv-on-a-forecast",
        "train",
        ["experiment=sunspots_gru", "cv.folds=5"],
        ["cannot be cross-validated", "remove cv.folds"],
    ),
    ("eval-not-a-run", "evaluate", ["run_dir={name}"], ["is not a dlzoo run directory"]),
    ("eval-unknown-key", "evaluate", ["run={run}"], ["unknown key 'run'", "run_dir"]),
    ("predict-wrong-modality", "predict", ["run_dir={run}", "input={series}"], ["series.csv"]),
    (
        "export-unknown-format",
        "export",
        ["run_dir={run}", "format=tflite"],
        ["format=tflite", "onnx"],
    ),
]


@pytest.mark.parametrize(
    ("entry", "args", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_one_line_and_leaves_nothing(
    tmp_path: Path, trained: Path, entry: str, args: list[str], words: list[str]
) -> None:
    files = {k: str(v) for k, v in _files(tmp_path).items()}
    args = [a.format(name=tmp_path, run=trained, **files) for a in args]
    proc = cli(f"dlzoo.cli.{entry}", args, tmp_path, **OFFLINE)
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr[-3000:]
    for word in words:
        assert word in errors[0], errors[0]
    assert "Traceback" not in proc.stderr
    logs = tmp_path / "logs"
    assert not list(logs.rglob("metrics.json")) and not list(logs.rglob(".hydra"))
    assert not list(trained.glob("evals/*")) and not list(trained.glob("export/*"))
