"""``dlzoo-shard``: a dataset written and indexed; bad input as one ``error:`` line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from dlzoo.cli import shard


def run(monkeypatch, capsys, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["dlzoo-shard", *argv])
    code = 0
    try:
        shard.main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_writes_every_split_and_an_index(monkeypatch, capsys, tmp_path: Path) -> None:
    out = tmp_path / "digits"
    code, printed, _ = run(
        monkeypatch, capsys, "data=digits", f"out={out}", "samples_per_shard=500"
    )
    assert code == 0 and "wrote digits: 5 shards (train 1258, val 270, test 269" in printed
    index = json.loads((out / "index.json").read_text())
    shards = index["splits"]["train"]["shards"]
    assert [s["name"] for s in shards] == [f"train-00000{i}.tar.gz" for i in range(3)]
    assert [s["samples"] for s in shards] == [500, 500, 258]
    assert all(len(s["sha256"]) == 64 for s in shards)
    assert index["fields"][0] == {"name": "0", "dtype": "float32", "shape": [1, 8, 8]}
    assert index["net_kwargs"]["num_classes"] == 10 and index["class_names"][0] == "0"
    # a non-empty folder is refused, and replaced with overwrite=true
    code, _, err = run(monkeypatch, capsys, "data=digits", f"out={out}")
    assert code == 2 and err.startswith("error: out=") and "overwrite=true" in err
    code, _, _ = run(monkeypatch, capsys, "data=digits", f"out={out}", "overwrite=true")
    assert code == 0 and len(list(out.glob("train-*"))) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["data=digits"], "out=... is required"),
        (["out=X"], "data=NAME is required"),
        (["data=digits", "out=X", "samples_per_shard=0"], "must be a positive integer"),
        (["data=digits", "out=X", "compress=maybe"], "compress=maybe must be true or false"),
        (["data=nope", "out=X"], "unknown data option 'nope'"),
        (["data=digits", "data.nope=1", "out=X"], "unknown key 'data.nope'"),
        (["data=series_csv", "out=X"], "needs a file: set data.path"),
        (["data=streaming", "out=X"], "already sharded"),
    ],
)
def test_bad_input_is_one_error_line(monkeypatch, capsys, tmp_path: Path, argv, message) -> None:
    argv = [a.replace("out=X", f"out={tmp_path / 'x'}") for a in argv]
    code, _, err = run(monkeypatch, capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ")
    assert message in err
    assert not (tmp_path / "x").exists()  # nothing written


def test_a_file_where_the_folder_should_be(monkeypatch, capsys, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    code, _, err = run(
        monkeypatch, capsys, "data=digits", f"out={tmp_path / 'f'}", "overwrite=true"
    )
    assert code == 2 and "is a file" in err
