"""The import contracts of ``pyproject.toml`` hold, and they fail, naming the modules,
on a planted upward import (inside a function) and a planted cycle."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dlzoo

REPO = Path(__file__).resolve().parents[1]
SOURCE = Path(dlzoo.__file__).resolve().parent


def _lint(src: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package found first on ``src`` (a fresh process, so the
    dlzoo it reads is the one under ``src``)."""
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [sys.executable, "-c", code, "pyproject.toml", "--no-cache"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_source_keeps_its_layers_and_has_no_cycle() -> None:
    proc = _lint(SOURCE.parent)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "2 kept, 0 broken" in proc.stdout


def _plant(path: Path, line: str, after: str) -> None:
    text = path.read_text()
    assert after in text
    path.write_text(text.replace(after, after + line, 1))


def test_a_planted_upward_import_and_cycle_break_the_contracts(tmp_path: Path) -> None:
    copy = tmp_path / "src" / "dlzoo"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("conf", "__pycache__"))
    # a net that reaches up into the console scripts, from inside a function
    _plant(
        copy / "models" / "base.py",
        "\n\ndef _planted() -> None:\n    from dlzoo.cli.frame import quick_exit  # noqa\n",
        "from __future__ import annotations\n",
    )
    # two sibling modules that import each other
    _plant(
        copy / "data" / "splits.py",
        "\nimport dlzoo.data.subsets  # noqa\n",
        "from __future__ import annotations\n",
    )
    _plant(
        copy / "data" / "subsets.py",
        "\nimport dlzoo.data.splits  # noqa\n",
        "from __future__ import annotations\n",
    )
    proc = _lint(copy.parent)
    assert proc.returncode == 1
    assert "0 kept, 2 broken" in proc.stdout
    assert "dlzoo.models.base -> dlzoo.cli.frame" in proc.stdout
    assert "No cycles are allowed in dlzoo.data." in proc.stdout
    assert ".subsets -> .splits" in proc.stdout or ".splits -> .subsets" in proc.stdout
