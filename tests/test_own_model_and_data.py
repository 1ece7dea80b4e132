"""Your own net and your own data, as docs/guides/own-model.md and own-data.md show
them: the files, layouts and commands are read from the pages and run as they are,
with one epoch and batches that fit the tiny datasets written here.

The data commands go through ``dlzoo.fit``, which is ``dlzoo-train`` with the same
overrides in this process (the same checks, composition and training); the net's
command line runs the console script in a shell, and the notebook's cell runs as a
script (its class lives in ``__main__``, as a notebook's does).
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from docs_text import DOCS, code_blocks, command_lines, named_files

import dlzoo

DATA_PAGE = (DOCS / "guides" / "own-data.md").read_text()
MODEL_PAGE = (DOCS / "guides" / "own-model.md").read_text()
# one epoch, no TensorBoard, and batches smaller than the tiny training splits
LIMITS = ("trainer.max_epochs=1", "logger=none", "data.batch_size=8")
REVIEWS = {1: "awful poor dull bad", 3: "plain fine ok so", 5: "great lovely good fun"}


def _rows(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])


def _photos(root: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, name in enumerate(("cat", "dog")):
        (root / "photos" / name).mkdir(parents=True)
        for i in range(1, 13):
            pixels = rng.integers(0, 128, (10, 12, 3)) + 127 * k  # any size: resized
            Image.fromarray(pixels.astype(np.uint8)).save(root / "photos" / name / f"{i:03d}.png")


def _load(root: Path) -> None:
    steps = np.arange(400)  # 15 % of them hold a 48-step window and its target
    load, temp = 10 + np.sin(steps / 8), 20 + np.cos(steps / 24)
    rows = [[f"{a:.4f}", f"{b:.4f}"] for a, b in zip(load, temp, strict=True)]
    _rows(root / "load.csv", ["load", "temp"], rows)


def _texts(root: Path) -> None:
    for name, words in (("good", REVIEWS[5]), ("bad", REVIEWS[1])):
        (root / "texts" / name).mkdir(parents=True)
        for i in range(1, 13):
            (root / "texts" / name / f"{i:03d}.txt").write_text(f"{words} film number {i}\n")


def _reviews(root: Path) -> None:
    rows = [[f"{words} film {i}", stars] for stars, words in REVIEWS.items() for i in range(12)]
    _rows(root / "reviews.csv", ["review", "stars"], rows)


def _graph(root: Path) -> None:
    rng = np.random.default_rng(0)
    nodes = [
        [f"n{i}", f"{rng.normal() + i % 2:.3f}", f"{rng.normal():.3f}", "ab"[i % 2]]
        for i in range(40)
    ]
    _rows(root / "nodes.csv", ["id", "f1", "f2", "label"], nodes)
    edges = [[f"n{i}", f"n{(i + 2) % 40}"] for i in range(40)]  # rings of odd and even ids
    _rows(root / "edges.csv", ["source", "target"], edges)


def _clips(root: Path) -> None:
    rng = np.random.default_rng(0)
    for k, name in enumerate(("left", "right")):
        (root / "clips" / name).mkdir(parents=True)
        for i in range(1, 13):
            clip = rng.integers(0, 128, (8, 1, 16, 16)) + 127 * k  # (T, C, H, W)
            np.save(root / "clips" / name / f"{i:03d}.npy", clip.astype(np.uint8))


# each data option of the page: its files, and what the net is told about the data
DATASETS: dict[str, tuple[Callable[[Path], None], dict[str, object]]] = {
    "image_folder": (_photos, {"num_classes": 2, "in_channels": 3, "image_size": [64, 64]}),
    "series_csv": (_load, {"input_size": 2, "output_size": 1, "window": 48}),
    "text_folder": (_texts, {"num_classes": 2}),
    "text_csv": (_reviews, {"num_classes": 3}),
    "graph_csv": (_graph, {"num_classes": 2, "node_features": 2}),
    "video_folder": (_clips, {"num_classes": 2, "frames": 8, "in_channels": 1}),
}


def _net_kwargs(run_dir: Path) -> dict[str, object]:
    checkpoint = torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=True)
    return checkpoint["dlzoo"]["net_kwargs"]


def test_the_layout_block_is_what_is_written_here(tmp_path: Path) -> None:
    (layout,) = code_blocks(DATA_PAGE, "text")
    for write, _ in DATASETS.values():
        write(tmp_path)
    named = re.findall(r"[\w/-]+\.(?:png|csv|txt|npy)\b", layout)
    assert len(named) == 10
    missing = [name for name in named if not (tmp_path / name).is_file()]
    assert missing == []
    # a CSV file's header row, beside its name
    headers = dict(re.findall(r"^(\w+\.csv)\s+(\S+)", layout, re.M))
    assert set(headers) == {p.name for p in tmp_path.glob("*.csv")}
    for name, header in headers.items():
        assert (tmp_path / name).read_text().splitlines()[0] == header


@pytest.mark.parametrize("option", sorted(DATASETS))
def test_each_documented_dataset_trains(
    option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (line,) = [c for c in command_lines(DATA_PAGE, "dlzoo-train") if f"data={option} " in c + " "]
    write, expected = DATASETS[option]
    write(tmp_path)
    monkeypatch.chdir(tmp_path)  # the page's paths are relative to where it starts
    words = shlex.split(line)
    result = dlzoo.fit(None, *words[1:], *LIMITS, paths={"log_dir": str(tmp_path / "logs")})
    assert (result.run_dir / "metrics.json").is_file()
    assert result.metrics["data"] == option and result.test
    kwargs = _net_kwargs(result.run_dir)
    assert {k: kwargs[k] for k in expected} == expected


def _own_files(tmp_path: Path) -> None:
    """The page's named files (``# my_nets.py``, ``# my_conf/model/tiny.yaml``), written."""
    files = named_files(MODEL_PAGE)
    assert set(files) == {"my_nets.py", "my_conf/model/tiny.yaml"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)


def _environment(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DLZOO_LOG_DIR": str(tmp_path / "logs"),
        "OMP_NUM_THREADS": "1",
    }


def test_own_net_from_the_command_line(tmp_path: Path) -> None:
    _own_files(tmp_path)
    lines = command_lines(MODEL_PAGE, "dlzoo-train")
    own = [line for line in lines if "hydra.searchpath" in line]
    assert len(own) == 2
    # the test's own PYTHONPATH (this checkout's src) stays behind the reader's $PWD
    script = "set -e\n" + "\n".join(
        f"{line.replace('PYTHONPATH=$PWD', 'PYTHONPATH=$PWD:$PYTHONPATH')} {' '.join(LIMITS)}"
        for line in own
    )
    env = _environment(tmp_path)
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = sorted((tmp_path / "logs" / "digits_cnn" / "runs").iterdir())
    assert len(runs) == 2 and all((r / "metrics.json").is_file() for r in runs)
    for run, hidden in zip(runs, (32, 64), strict=True):  # the YAML's, then the override's
        head = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
        assert head["net.head.weight"].shape == (10, hidden)
        assert _net_kwargs(run)["num_classes"] == 10


def test_own_net_from_python_with_the_search_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _own_files(tmp_path)
    (cell,) = [b for b in code_blocks(MODEL_PAGE, "python") if "hydra.searchpath" in b]
    monkeypatch.chdir(tmp_path)  # a notebook started next to my_nets.py
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("DLZOO_LOG_DIR", str(tmp_path / "logs"))
    namespace: dict[str, object] = {}
    try:
        exec(cell, namespace)
    finally:
        sys.modules.pop("my_nets", None)  # the next test's my_nets is another file
    result = namespace["result"]
    assert result.metrics["model"] == "tiny"
    assert type(result.net).__module__ == "my_nets"


def test_a_net_defined_in_a_notebook(tmp_path: Path) -> None:
    (cell,) = [b for b in code_blocks(MODEL_PAGE, "python") if "@register_model(" in b]
    (tmp_path / "notebook.py").write_text(cell)
    done = subprocess.run(
        [sys.executable, "notebook.py"],
        cwd=tmp_path,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = (tmp_path / "logs" / "digits_cnn" / "runs").iterdir()
    metrics = (run / "metrics.json").read_text()
    assert '"model": "tiny"' in metrics
    state = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    assert state["net.head.weight"].shape == (10, 64)  # model.hidden_size=64
    assert "TinyNet(" in done.stdout  # print(result.net)
