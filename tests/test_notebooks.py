"""Every lesson's notebook runs top to bottom at the small budget and ends on its
comparison: ``notebooks/lesson_N_*.py`` (jupytext percent scripts) made into notebooks
in memory and executed by nbclient, in a kernel of this very interpreter, with every run
written under a temporary folder."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("lesson_*.py"))
# a lesson's notebook runs in about a minute at the small budget, all seven in about five
# on two cores; a cell that hangs fails its test instead of stalling the suite
CELL_TIMEOUT_S = 300

pytestmark = pytest.mark.notebooks


def test_there_is_a_notebook_per_lesson() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert [int(re.match(r"lesson_(\d)_\w+\.py$", n).group(1)) for n in names] == list(
        range(1, 8)
    ), names


def kernel_manager(folder: Path):
    """A kernel manager whose only kernel is ``sys.executable`` running ipykernel: not a
    ``python3`` kernelspec of another interpreter that a machine may have installed."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    spec = folder / "kernels" / "dlzoo-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "dlzoo test", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    specs = KernelSpecManager(kernel_dirs=[str(spec.parent)], ensure_native_kernel=False)
    return AsyncKernelManager(kernel_name="dlzoo-test", kernel_spec_manager=specs)


def stdout_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_notebook_runs_at_the_small_budget(path: Path, tmp_path: Path) -> None:
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = jupytext.read(path)
    env = {
        **os.environ,
        "DLZOO_NOTEBOOK_BUDGET": "small",
        "DLZOO_LOG_DIR": str(tmp_path / "logs"),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    client = nbclient.NotebookClient(
        notebook,
        km=kernel_manager(tmp_path),
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
    )
    start = time.perf_counter()
    client.execute(env=env)  # a cell that raises fails here, naming the cell
    seconds = time.perf_counter() - start
    code = [c for c in notebook.cells if c.cell_type == "code"]
    # no cell wrote a traceback to stderr without raising either
    assert not [c for c in code if "Traceback" in json.dumps(c.get("outputs", []))]
    # the last cell is the lesson's comparison: one line, at the budget it ran at
    lesson = re.match(r"lesson_(\d)", path.name).group(1)
    last = stdout_of(code[-1])
    assert re.search(rf"^lesson {lesson} \(small budget\): \S", last, re.M), last
    print(f"{path.name}: {seconds:.0f} s")
