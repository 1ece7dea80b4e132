"""A run killed with SIGKILL in the middle of an epoch and resumed with ``resume=true``
ends with the same metrics as an uninterrupted run (deterministic mode), in the same
run directory. A run stopped by SIGTERM or SIGINT there writes ``last.ckpt`` at that
step, says so in one line with the command that continues it, is listed as
``interrupted``, exits 143 / 130, and continued by that command ends as an
uninterrupted one; in a multirun the sweep stops with it."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.training import train_process

CASES = {
    # experiment, epochs, the step to die at (mid-epoch: not a multiple of the batches)
    "image": ("digits_cnn", 4, 45),
    "series": ("sunspots_gru", 4, 13),
    # BasicMotions: 32 training cases in batches of 16, 2 steps an epoch
    "sequence": ("motions_gru", 4, 5),
}
_train = train_process


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


# a scheduler's SIGTERM and Ctrl-C's SIGINT: the exit status a shell shows for each
SIGNALS = {"SIGTERM": 143, "SIGINT": 130}
LINE = re.compile(
    r"interrupted by (SIG\w+) at step (\d+) \(epoch (\d+)/(\d+)\) in run (\S+): "
    r"checkpoints/last.ckpt written now; continue with: (dlzoo-train .*)"
)


def _runs_status(log_dir: Path) -> dict[str, str]:
    """``dlzoo-runs``'s status column, by run."""
    listed = subprocess.run(
        [sys.executable, "-m", "dlzoo.cli.runs", str(log_dir), "format=csv"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {row["run"]: row["status"] for row in csv.DictReader(io.StringIO(listed.stdout))}


def _interrupt(log_dir: Path, name: str, *overrides: str, step: int) -> list[str]:
    """Train with ``name`` sent at ``step``; check what the run leaves and says.

    Returns:
        The command that the run's line gives to continue it.
    """
    kill = ["+callbacks.kill._target_=killer.KillAtStep", f"+callbacks.kill.step={step}"]
    stopped = _train(log_dir, *overrides, *kill, f"+callbacks.kill.signal={name}", kill=True)
    assert stopped.returncode == SIGNALS[name], stopped.stderr[-2000:]
    said = [m for m in map(LINE.fullmatch, (stopped.stdout + stopped.stderr).splitlines()) if m]
    assert len(said) == 1, stopped.stderr[-2000:]
    got, at_step, epoch, epochs, run, command = said[0].groups()
    assert (got, int(at_step), int(epoch)) == (name, step, step // 20 + 1)  # 20 steps an epoch
    assert f"trainer.max_epochs={epochs}" in overrides
    run_dir = Path(run)
    assert run_dir.parent == log_dir / "digits_cnn" / "runs"
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert not (run_dir / "metrics.json").exists()  # not a finished run
    record = json.loads((run_dir / "interrupted.json").read_text())
    assert (record["signal"], record["global_steps"]) == (name, step)
    assert _runs_status(log_dir) == {str(run_dir.relative_to(log_dir)): "interrupted"}
    return shlex.split(command)


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_a_signal_stops_the_run_with_a_checkpoint_and_a_line(tmp_path: Path, name: str) -> None:
    _interrupt(tmp_path, name, "experiment=digits_cnn", "trainer.max_epochs=2", step=25)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.ci) if n == "SIGTERM" else n for n in sorted(SIGNALS)],
)
def test_a_signal_then_its_command_matches_uninterrupted(tmp_path: Path, name: str) -> None:
    common = [
        "experiment=digits_cnn",
        "trainer.max_epochs=4",
        "trainer.deterministic=true",
        "logger=csv",
    ]  # last.ckpt at most every 10 s: here the signal's is the only one before the end
    whole = _train(tmp_path / "whole", *common)
    assert whole.returncode == 0, whole.stderr[-2000:]
    command = _interrupt(tmp_path / "stopped", name, *common, step=45)  # in epoch 3 of 4
    assert command[0] == "dlzoo-train"
    resumed = _train(tmp_path / "stopped", *command[1:])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    run, got = _metrics(tmp_path / "stopped", "digits_cnn")
    _, want = _metrics(tmp_path / "whole", "digits_cnn")
    assert not (run / "interrupted.json").exists()
    assert _runs_status(tmp_path / "stopped") == {str(run.relative_to(tmp_path / "stopped")): "ok"}
    for key in ("epochs", "global_steps", "best_epoch"):
        assert got[key] == want[key]
    assert got["test"] == pytest.approx(want["test"], rel=1e-6, abs=1e-7)
    assert got["val"] == pytest.approx(want["val"], rel=1e-6, abs=1e-7)


@pytest.mark.slow
def test_a_signal_stops_a_multirun(tmp_path: Path) -> None:
    kill = ["+callbacks.kill._target_=killer.KillAtStep", "+callbacks.kill.step=5"]
    sweep = ["-m", "experiment=digits_cnn", "trainer.max_epochs=1", "optimizer.lr=0.001,0.002"]
    stopped = _train(tmp_path, *sweep, *kill, "+callbacks.kill.signal=SIGTERM", kill=True)
    assert stopped.returncode == 143, stopped.stderr[-2000:]
    # one directory claimed: the sweep's (none of the runs/ a single run claims)
    assert [p.name for p in (tmp_path / "digits_cnn").iterdir()] == ["multiruns"]
    (multirun,) = (tmp_path / "digits_cnn" / "multiruns").iterdir()
    # the first trial stopped, and the sweep with it: not one failed trial of two
    (trial,) = [p for p in multirun.iterdir() if p.is_dir()]
    assert (trial / "interrupted.json").is_file() and not (trial / "error.json").exists()
    assert "interrupted by SIGTERM at step 5" in stopped.stderr
