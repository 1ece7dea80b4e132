"""A run killed with SIGKILL in the middle of an epoch and resumed with ``resume=true``
ends with the same metrics as an uninterrupted run (deterministic mode), in the same
run directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HELPERS = Path(__file__).parent / "helpers"
CASES = {
    # experiment, epochs, the step to die at (mid-epoch: not a multiple of the batches)
    "image": ("digits_cnn", 4, 45),
    "series": ("sunspots_gru", 4, 13),
    # BasicMotions: 32 training cases in batches of 16, 2 steps an epoch
    "sequence": ("motions_gru", 4, 5),
}


def _train(log_dir: Path, *overrides: str, kill: bool = False) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": f"{HELPERS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "DLZOO_LOG_DIR": str(log_dir),
        "OMP_NUM_THREADS": "1",
        "DLZOO_TEST_KILL": "1" if kill else "0",
    }
    return subprocess.run(
        [sys.executable, "-m", "dlzoo.cli.train", *overrides],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _metrics(log_dir: Path, task: str) -> tuple[Path, dict]:
    (run,) = (log_dir / task / "runs").iterdir()
    return run, json.loads((run / "metrics.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_killed_mid_epoch_and_resumed_matches_uninterrupted(tmp_path: Path, case: str) -> None:
    experiment, epochs, step = CASES[case]
    kill = ["+callbacks.kill._target_=killer.KillAtStep", f"+callbacks.kill.step={step}"]
    common = [
        f"experiment={experiment}",
        f"trainer.max_epochs={epochs}",
        "trainer.deterministic=true",
        "logger=csv",
        "callbacks.last_checkpoint.min_interval_s=0",  # a last.ckpt after every epoch
        *kill,
    ]
    whole = _train(tmp_path / "whole", *common)
    assert whole.returncode == 0, whole.stderr[-2000:]
    killed = _train(tmp_path / "killed", *common, kill=True)
    assert killed.returncode == -signal.SIGKILL
    run = next((tmp_path / "killed" / experiment / "runs").iterdir())
    assert (run / "checkpoints" / "last.ckpt").is_file() and not (run / "metrics.json").exists()
    resumed = _train(tmp_path / "killed", f"experiment={experiment}", "resume=true")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    resumed_run, got = _metrics(tmp_path / "killed", experiment)
    _, want = _metrics(tmp_path / "whole", experiment)
    assert resumed_run == run  # the same run directory
    assert got["epochs"] == want["epochs"] == epochs
    assert got["global_steps"] == want["global_steps"]
    assert got["best_epoch"] == want["best_epoch"]
    assert got["test"] == pytest.approx(want["test"], rel=1e-6, abs=1e-7)
    assert got["val"] == pytest.approx(want["val"], rel=1e-6, abs=1e-7)
