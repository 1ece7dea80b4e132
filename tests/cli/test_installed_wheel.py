"""``pip install .`` (not editable) into a fresh virtual environment, then
``dlzoo-train`` from another folder trains ``digits_cnn``: the config tree travels
inside the package."""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
@pytest.mark.ci
def test_a_wheel_installed_elsewhere_trains_from_another_folder(tmp_path: Path) -> None:
    fresh = tmp_path / "venv"
    venv.create(fresh, with_pip=True)
    bin_dir = fresh / ("Scripts" if os.name == "nt" else "bin")
    # the dependencies come from this environment (a .pth line, as a site directory of
    # the new one would hold them); dlzoo itself is installed from the source tree
    purelib = sysconfig.get_paths()["purelib"]
    fresh_site = next((fresh / "lib").glob("python*/site-packages"), None) or (
        fresh / "Lib" / "site-packages"
    )
    (fresh_site / "deps.pth").write_text(f"{purelib}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(OMP_NUM_THREADS="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
    _run([*pip, "--ignore-installed", str(REPO)], tmp_path, env)
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run([str(bin_dir / "python"), "-c", "import dlzoo; print(dlzoo.__file__)"], work, env)
    assert str(fresh) in where.stdout and str(REPO) not in where.stdout
    overrides = ["experiment=digits_cnn", "trainer.max_epochs=2", "logger=none"]
    _run([str(bin_dir / "dlzoo-train"), *overrides, f"paths.log_dir={work / 'logs'}"], work, env)
    (metrics,) = (work / "logs" / "digits_cnn" / "runs").glob("*/metrics.json")
    test = json.loads(metrics.read_text())["test"]
    assert test["test/acc"] > test["test/baseline_majority_acc"] + 0.5
