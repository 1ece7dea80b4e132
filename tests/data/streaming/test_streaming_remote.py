"""Shards read from where they are not a local folder: an ``http://`` folder served by a
real HTTP server on 127.0.0.1 (Python's ``http.server`` in its own process), and a
``pipe:`` command. Both train to exactly the metrics of the same shards read from the
local folder; a corrupt or missing shard, or a server that is not there, is one line."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.processes import free_port, process_group, wait_until

from dlzoo.config.compose import compose_config
from dlzoo.run.pipeline import train

BIN = Path(sys.executable).parent
# two short epochs of the streaming CNN on the digits' shards
RUN = ["experiment=mnist_streaming", "data.source=null", "trainer.max_epochs=2", "seed=0",
       "logger=none", "data.batch_size=128"]  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """``(folder, url)``: the folder holds ``digits/`` (as dlzoo-shard wrote it) and
    ``corrupt/`` (the same with one byte of one shard flipped); ``url`` serves it."""
    root = tmp_path_factory.mktemp("served")
    shard = [str(BIN / "dlzoo-shard"), "data=digits", f"out={root / 'digits'}"]
    subprocess.run([*shard, "samples_per_shard=400"], check=True, capture_output=True)
    shutil.copytree(root / "digits", root / "corrupt")
    victim = sorted((root / "corrupt").glob("train-*"))[1]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    port = free_port()
    server = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    with process_group([*server, "--directory", str(root)], {}, root / "server.log") as proc:
        wait_until(lambda: _listening(port), 30, "the HTTP server", proc)
        yield root, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def local_scores(served, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The metrics of the same run on the shards' local folder."""
    folder, _ = served
    return _train(tmp_path_factory.mktemp("local"), "local", str(folder / "digits"))


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _train(tmp_path: Path, name: str, root: str) -> dict:
    cfg = compose_config(
        [f"paths.log_dir={tmp_path}", *RUN, f"data.root={root}"], run_dir=tmp_path / name
    )
    train(cfg)
    return json.loads((tmp_path / name / "metrics.json").read_text())


def _cli_error(tmp_path: Path, root: str, own_lines: int = 0) -> str:
    """``dlzoo-train`` on ``root``: its one ``error:`` line (exit 2, no metrics.json),
    after ``own_lines`` lines that a ``pipe:`` command wrote itself."""
    command = [str(BIN / "dlzoo-train"), *RUN, f"data.root={root}", f"paths.log_dir={tmp_path}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()[own_lines:]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-3000:]
    assert not list(tmp_path.glob("**/metrics.json"))
    return lines[0]


def _same_scores(a: dict, b: dict) -> None:
    assert a["val"] == b["val"] and a["test"] == b["test"]
    assert a["global_steps"] == b["global_steps"] > 0


def test_shards_over_http_train_as_from_the_local_folder(
    served, local_scores: dict, tmp_path: Path
) -> None:
    _, url = served
    _same_scores(local_scores, _train(tmp_path, "http", f"{url}/digits"))
    assert local_scores["test"]["test/acc"] > 0.8  # two epochs: far past the majority's 0.10


def test_a_pipe_command_reads_the_same_shards(served, local_scores: dict, tmp_path: Path) -> None:
    folder, _ = served
    # quoted for Hydra, as on the command line: "data.root='pipe:cat DIR/{name}'"
    piped = _train(tmp_path, "pipe", f"'pipe:cat {folder / 'digits'}/{{name}}'")
    _same_scores(local_scores, piped)


def test_a_corrupt_shard_over_http_is_one_line_naming_it(served, tmp_path: Path) -> None:
    folder, url = served
    victim = sorted((folder / "corrupt").glob("train-*"))[1].name
    line = _cli_error(tmp_path, f"{url}/corrupt")
    assert f"shard {url}/corrupt/{victim} is corrupt" in line


def test_a_missing_folder_over_http_is_one_line(served, tmp_path: Path) -> None:
    _, url = served
    start = time.monotonic()
    line = _cli_error(tmp_path, f"{url}/nothing-here")
    assert f"{url}/nothing-here/index.json" in line and "404" in line
    assert time.monotonic() - start < 30


def test_a_server_that_is_not_there_is_one_line_within_seconds(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/digits"
    start = time.monotonic()
    line = _cli_error(tmp_path, url)
    assert f"{url}/index.json" in line and "refused" in line.lower()
    assert time.monotonic() - start < 30


def test_a_failing_pipe_command_is_one_line(served, tmp_path: Path) -> None:
    """The command's own complaint (cat's) comes first; dlzoo's is one line after it."""
    folder, _ = served
    line = _cli_error(tmp_path, f"'pipe:cat {folder}/nothing-here/{{name}}'", own_lines=1)
    assert "nothing-here/index.json cannot be read (its command exited with status 1)" in line
    assert "check data.root" in line
