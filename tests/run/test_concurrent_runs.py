"""Runs started together share a logs folder: each claims its own run directory
(``${dlzoo.run_dir:...}``, :mod:`dlzoo.config.run_claim`), and none trips over another's files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlzoo.config.run_claim import claim_run_dir, forget_claims

WINDOWS_FORBIDDEN = set('<>:"/\\|?*')
# waits for the file `go`, then claims `same` under the folder it is given
CLAIM = """
import sys, time
from pathlib import Path
from dlzoo.config.run_claim import claim_run_dir
root = Path(sys.argv[1])
(root / f"ready-{sys.argv[2]}").touch()
while not (root / "go").exists():
    time.sleep(0.001)
print(claim_run_dir(str(root / "runs"), "same"))
"""


@pytest.fixture(autouse=True)
def _fresh_claims() -> Iterator[None]:
    forget_claims()
    yield
    forget_claims()


def test_a_process_keeps_its_directory_and_the_next_composition_gets_another(
    tmp_path: Path,
) -> None:
    first = claim_run_dir(str(tmp_path), "fixed")
    # Hydra resolves the run directory more than once in one process: one directory
    assert claim_run_dir(str(tmp_path), "fixed") == first
    forget_claims()  # what compose_config does: another run
    second = claim_run_dir(str(tmp_path), "fixed")
    assert [Path(first).name, Path(second).name] == ["fixed", "fixed-1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fixed", "fixed-1"]


def test_a_time_format_with_characters_windows_forbids_gives_a_valid_name(
    tmp_path: Path,
) -> None:
    name = Path(claim_run_dir(str(tmp_path), '%H:%M <"a"> b|c?*.')).name
    assert not set(name) & WINDOWS_FORBIDDEN and not name.endswith(".")
    assert (tmp_path / name).is_dir()


def test_processes_claiming_one_name_at_once_get_a_directory_each(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIM, str(tmp_path), str(i)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < len(procs) and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "go").touch()  # all of them claim now
    claimed = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs)
    assert sorted(Path(c).name for c in claimed) == ["same", "same-1", "same-2", "same-3"]


def test_three_trainings_started_together_into_one_logs_folder(tmp_path: Path) -> None:
    env = {**os.environ, "DLZOO_LOG_DIR": str(tmp_path), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "dlzoo.cli.train", "experiment=digits_cnn"]
    command += ["trainer.max_epochs=1", "logger=csv"]
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=300)[1].decode()[-2000:] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    runs = list((tmp_path / "digits_cnn" / "runs").iterdir())
    assert len(runs) == 3 and all((run / "metrics.json").is_file() for run in runs)
    # nothing else: no shared file, no multirun directory claimed by a single run
    assert [p.name for p in tmp_path.iterdir()] == ["digits_cnn"]
    assert [p.name for p in (tmp_path / "digits_cnn").iterdir()] == ["runs"]
